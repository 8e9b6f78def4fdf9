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
//
// Clock steps: the minimum follows a step back at once, but a step ahead only once the window's older samples
// have left it (16 samples: up to 16 s). So when every sample of the last second (STEP_WINDOW_MS; at least the
// newest, at least two for a source of several samples a second) lies above the estimate by more than the bound plus twice the delay spread the source has shown, the
// clock has stepped ahead: the older samples are dropped and the estimate restarts from the recent ones. A single
// very late sample can look like that too; it costs at most the time to the next sample (which, less delayed,
// lowers the minimum again).

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
  /** Steps ahead of the system clock detected (each restarted the offset estimate). */
  clockSteps: number;
}

export interface TimeHealthOptions {
  source: TimeSourceKind;
  /** Bound for clockTrusted() and the alarm events, ms. */
  maxOffsetMs: number;
  now?: () => number;
  /** Samples kept per method. */
  window?: number;
}

/** Samples newer than this decide whether the clock stepped ahead, ms. */
export const STEP_WINDOW_MS = 1000;

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
  private steps = 0;

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
      if (method !== 'pps') this.detectStepAhead(list);
      const offsetMs = method === 'pps' ? last.offsetMs : Math.min(...list.map((s) => s.offsetMs));
      return { offsetMs, method, ageMs: this.now() - last.atMs };
    }
    return null;
  }

  /** Clock steps ahead detected (each restarted the estimate). */
  get clockSteps(): number {
    return this.steps;
  }

  /** Drops the samples before a step ahead of the clock (see the top of this file). */
  private detectStepAhead(list: Sample[]): void {
    const now = this.now();
    let recent = list.length - 1;
    while (recent > 0 && now - list[recent - 1]!.atMs < STEP_WINDOW_MS) recent--;
    if (recent === 0) return;
    // A source of several samples a second (NMEA: a time per sentence) needs two recent ones: one late sentence is no step.
    const rate = recent >= 2 ? (list[recent - 1]!.atMs - list[0]!.atMs) / (recent - 1) : Infinity;
    if (rate < STEP_WINDOW_MS / 2 && list.length - recent < 2) return;
    const older = list.slice(0, recent).map((s) => s.offsetMs).sort((a, b) => a - b);
    const min = older[0]!;
    // The bound, plus twice the spread the source's delays showed (median above minimum): jitter is no step.
    const threshold = this.maxOffsetMs + 2 * (older[older.length >> 1]! - min);
    for (let i = recent; i < list.length; i++) if (list[i]!.offsetMs - min <= threshold) return;
    list.splice(0, recent);
    this.steps++;
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
      clockSteps: this.steps,
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
