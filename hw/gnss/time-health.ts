// The RSU's own time and position health: which source, how far the system clock is from GNSS time, the fix.
//
// Offset estimates, best first:
//   pps   gpsd PPS reports: system time of the pulse edge vs the GNSS second it marks (sub-ms).
//   toff  gpsd TOFF reports: system time when the receiver's first sentence of a cycle arrived vs the cycle's
//         GNSS time. Includes the receiver's output delay (typically 10-200 ms).
//   tpv   gpsd TPV reports: arrival of the report vs its fix time. Includes the output delay and gpsd's.
//   nmea  NMEA sentences: arrival of the sentence's first byte (its transmission time at the configured baud
//         rate subtracted) vs its time, minus the configured receiver latency.
// Delayed samples overestimate the offset (system − GNSS) by the delay, so for toff, tpv and nmea the estimate
// is the smallest sample of the last `window`; with pps, the latest sample.

import { EventEmitter } from 'node:events';
import type { TimeSourceKind } from '../../runtime/config/types.js';

export type OffsetMethod = 'pps' | 'toff' | 'tpv' | 'nmea';
const METHODS_BEST_FIRST: readonly OffsetMethod[] = ['pps', 'toff', 'tpv', 'nmea'];

export type FixMode = 'unknown' | 'none' | '2d' | '3d';

export interface PositionFix {
  lat: number;
  lon: number;
  /** Meters; above mean sea level when the source says so, else as reported. */
  altM?: number;
  /** Horizontal error estimate, m. */
  hAccM?: number;
  speedMps?: number;
  courseDeg?: number;
  /** GNSS time of the fix, ms since the epoch. */
  timeMs?: number;
}

export interface ClockStatus {
  /** False only while the clock is known to be off by more than the bound: withhold SPAT and RSM then. */
  trusted: boolean;
  /** An offset estimate exists. */
  known: boolean;
  offsetMs: number | null;
  boundMs: number;
  reason: string;
}

export interface TimeHealthSnapshot {
  source: TimeSourceKind;
  /** The source is reachable (gpsd connected, serial device open); always true for the system clock. */
  connected: boolean;
  /** System clock minus GNSS time, ms; null when unknown (system source, or no GNSS time yet). */
  offsetMs: number | null;
  offsetMethod: OffsetMethod | null;
  /** Age of the newest sample behind the estimate, ms. */
  offsetAgeMs: number | null;
  fix: FixMode;
  position: PositionFix | null;
  satellites: { visible: number; used: number } | null;
  /** Since the source last said anything, ms; null before it did. */
  lastMessageAgeMs: number | null;
  clock: ClockStatus;
}

export interface TimeHealthOptions {
  source: TimeSourceKind;
  /** Bound for clockTrusted() and the alarm events, ms. */
  maxOffsetMs: number;
  now?: () => number;
  /** Samples kept per method. */
  window?: number;
}

interface Sample {
  atMs: number;
  offsetMs: number;
}

/**
 * Emits `alarm` (ClockStatus) when the clock becomes known to be off by more than maxOffsetMs, and `clear`
 * (ClockStatus) when an estimate within the bound replaces it. The last estimate stands until a newer one
 * replaces it, even if the source goes quiet; snapshot().offsetAgeMs tells how old it is.
 */
export class TimeHealth extends EventEmitter {
  readonly source: TimeSourceKind;
  readonly maxOffsetMs: number;
  private readonly now: () => number;
  private readonly window: number;
  private readonly samples = new Map<OffsetMethod, Sample[]>();
  private connected: boolean;
  private fix: FixMode = 'unknown';
  private position: PositionFix | null = null;
  private satellites: { visible: number; used: number } | null = null;
  private lastMessageMs: number | null = null;
  private alarmed = false;

  constructor(opts: TimeHealthOptions) {
    super();
    this.source = opts.source;
    this.maxOffsetMs = opts.maxOffsetMs;
    this.now = opts.now ?? Date.now;
    this.window = opts.window ?? 16;
    this.connected = opts.source === 'system';
  }

  /** A sample: `systemMs` (system clock) observed while GNSS time was `gnssMs`. */
  addOffsetSample(method: OffsetMethod, systemMs: number, gnssMs: number): void {
    if (!Number.isFinite(systemMs) || !Number.isFinite(gnssMs)) return;
    let list = this.samples.get(method);
    if (!list) this.samples.set(method, (list = []));
    list.push({ atMs: this.now(), offsetMs: systemMs - gnssMs });
    if (list.length > this.window) list.shift();
    this.noteMessage();
    this.evaluate();
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
  }

  get fixMode(): FixMode {
    return this.fix;
  }

  setFix(fix: FixMode, position?: PositionFix | null): void {
    this.fix = fix;
    if (position !== undefined) this.position = position;
    this.noteMessage();
  }

  setSatellites(visible: number, used: number): void {
    this.satellites = { visible, used };
    this.noteMessage();
  }

  noteMessage(): void {
    this.lastMessageMs = this.now();
  }

  /** The current estimate from the best method that has samples. */
  offset(): { offsetMs: number; method: OffsetMethod; ageMs: number } | null {
    for (const method of METHODS_BEST_FIRST) {
      const list = this.samples.get(method);
      if (!list || list.length === 0) continue;
      const last = list[list.length - 1]!;
      const offsetMs = method === 'pps' ? last.offsetMs : Math.min(...list.map((s) => s.offsetMs));
      return { offsetMs, method, ageMs: this.now() - last.atMs };
    }
    return null;
  }

  clockStatus(maxOffsetMs = this.maxOffsetMs): ClockStatus {
    const o = this.offset();
    if (!o) {
      const reason = this.source === 'system' ? 'system clock: no GNSS reference, offset unknown' : `no GNSS time from ${this.source} yet, offset unknown`;
      return { trusted: true, known: false, offsetMs: null, boundMs: maxOffsetMs, reason };
    }
    const off = Math.abs(o.offsetMs) > maxOffsetMs;
    const reason = `system clock ${o.offsetMs >= 0 ? 'ahead of' : 'behind'} GNSS by ${Math.abs(o.offsetMs).toFixed(1)} ms (${o.method}), bound ${maxOffsetMs} ms`;
    return { trusted: !off, known: true, offsetMs: o.offsetMs, boundMs: maxOffsetMs, reason };
  }

  /** False while the system clock is known to be off GNSS time by more than the bound. */
  clockTrusted(maxOffsetMs = this.maxOffsetMs): boolean {
    return this.clockStatus(maxOffsetMs).trusted;
  }

  snapshot(): TimeHealthSnapshot {
    const o = this.offset();
    return {
      source: this.source,
      connected: this.connected,
      offsetMs: o?.offsetMs ?? null,
      offsetMethod: o?.method ?? null,
      offsetAgeMs: o?.ageMs ?? null,
      fix: this.fix,
      position: this.position,
      satellites: this.satellites,
      lastMessageAgeMs: this.lastMessageMs === null ? null : this.now() - this.lastMessageMs,
      clock: this.clockStatus(),
    };
  }

  private evaluate(): void {
    const st = this.clockStatus();
    if (!st.trusted && !this.alarmed) {
      this.alarmed = true;
      this.emit('alarm', st);
    } else if (st.trusted && this.alarmed) {
      this.alarmed = false;
      this.emit('clear', st);
    }
  }
}
