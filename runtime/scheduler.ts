// Builds and sends V2X messages at the rates the standards expect: RSM after each processed sensor frame (at
// most every rsm.intervalMs) from the tracks, SPAT every spat.intervalMs, MAP every map.intervalMs, RSI while
// events or signs are active. SPAT and RSM are withheld while the clock is known to be off; SPAT while the
// signal controller has no current state (`controller_stale`); RSM while perception is not valid. Nothing here throws at its caller: a message that fails to build or encode is
// counted and logged.
import type { Logger } from 'pino';
import type { MessageSet as Codec } from '../codecs/index.js';
import type { RsiEvent, RsiSign, RsuConfig, SignedMessageType } from './config/types.js';
import { MsgCounter } from './apps/clock.js';
import { rsuIdHex, type MessageType } from './apps/messages.js';
import { buildRsi } from './apps/rsi.js';
import { buildRsm, ParticipantIds, type LeftOutReason, type TrackLike } from './apps/rsm.js';
import type { SignalSnapshot } from './apps/signal-plan.js';
import { buildSpat } from './apps/spat.js';

export interface Outgoing {
  type: MessageType;
  /** What goes on the air: the signed SPDU, or the UPER frame when unsigned. */
  bytes: Uint8Array;
  /** The UPER MessageFrame (what the uplink carries). */
  uper: Uint8Array;
  signed: boolean;
  frame: unknown;
  atMs: number;
  /** Arrival time of the sensor frame this message was built from (RSM), for the latency histogram. */
  triggerMs?: number;
}

export interface SchedulerDeps {
  cfg: RsuConfig;
  codec: Codec;
  now: () => number;
  tracks: (atMs: number) => TrackLike[];
  /** Why perception output must not be broadcast now (stale or missing sensors), or undefined when it is valid. */
  perceptionInvalid: (nowMs: number) => string | undefined;
  clockTrusted: () => boolean;
  /**
   * The source of the SPAT's signal states (a hw/signal SignalController, or the fixed-time plan); no SPAT
   * without one. `snapshot()` returns undefined while the state is unknown or stale: SPAT is then withheld.
   */
  signals?: { snapshot(atMs: number): SignalSnapshot | undefined };
  /** The MAP frame to send (built from the lane map), given its msgCnt; undefined when there is none. */
  mapFrame?: (msgCnt: number, atMs: number) => unknown;
  rsiEvents: () => RsiEvent[];
  /** Active road signs (RSI RTSData; J2735 TIM road signage). */
  rsiSigns?: () => RsiSign[];
  /**
   * SN-SIGN (runtime/security RsuSecurity.sign): the bytes to send, signed under the message's PSID/AID, or why the
   * message is withheld. Without it messages go out unsigned.
   */
  sign?: (type: SignedMessageType, payload: Uint8Array, atMs: number) => { bytes: Uint8Array; signed: boolean } | { withheld: string };
  send: (m: Outgoing) => void;
  withheld: (type: MessageType, reason: string) => void;
  /** Tracked road users left out of an RSM cycle, by reason (also counted in stats, logged and alarmed). */
  participantsLeftOut?: (reason: LeftOutReason, n: number) => void;
  log: Logger;
}

export interface SchedulerStats {
  sent: Record<string, number>;
  withheld: Record<string, number>;
  lastRsmMs: number;
  participantIdsExhausted: number;
  /** Participant ids in use (of 65535). */
  participantIdsInUse: number;
  /** Tracked road users left out of RSM cycles, by reason; and when that last happened, by reason. */
  participantsLeftOut: Partial<Record<LeftOutReason, number>>;
  lastLeftOutMs: Partial<Record<LeftOutReason, number>>;
}

/** Participants in an RSM (or 1 for a PSM) frame. */
function participantsOf(frame: unknown): number {
  const f = frame as { rsmFrame?: { participants?: unknown[] } };
  return f.rsmFrame?.participants?.length ?? 1;
}

export class Scheduler {
  private timers: NodeJS.Timeout[] = [];
  private counter = new MsgCounter();
  private ids = new ParticipantIds();
  private lastRsmMs = 0;
  private sent: Record<string, number> = {};
  private withheldCount: Record<string, number> = {};
  private lastLog = new Map<string, number>();
  private leftOut: Partial<Record<LeftOutReason, number>> = {};
  private lastLeftOutMs: Partial<Record<LeftOutReason, number>> = {};
  private readonly idHex: string;

  constructor(private readonly d: SchedulerDeps) {
    this.idHex = rsuIdHex(d.cfg.rsu.id);
  }

  /** Timers for every application; each tick looks at `enabled` again, so config/down can switch them. */
  start(): void {
    const a = this.d.cfg.applications;
    if (this.d.signals) this.every(a.spat.intervalMs, () => a.spat.enabled && this.spat());
    if (this.d.mapFrame) this.every(a.map.intervalMs, () => a.map.enabled && this.map());
    this.every(a.rsi.intervalMs, () => a.rsi.enabled && this.rsi());
    this.every(a.rsm.intervalMs, () => a.rsm.enabled && this.rsmTimer());
  }

  stop(): void {
    this.timers.forEach(clearInterval);
    this.timers = [];
  }

  /** After perception has processed a frame that arrived at arrivalMs: send RSM if one is due. */
  onFrameProcessed(arrivalMs: number): void {
    const cfg = this.d.cfg.applications.rsm;
    if (!cfg.enabled) return;
    const now = this.d.now();
    if (now - this.lastRsmMs >= cfg.intervalMs * 0.9) this.rsm(now, arrivalMs);
  }

  stats(): SchedulerStats {
    return {
      sent: { ...this.sent },
      withheld: { ...this.withheldCount },
      lastRsmMs: this.lastRsmMs,
      participantIdsExhausted: this.ids.exhausted,
      participantIdsInUse: this.ids.inUse,
      participantsLeftOut: { ...this.leftOut },
      lastLeftOutMs: { ...this.lastLeftOutMs },
    };
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn();
      } catch (e) {
        this.warn('scheduler', `a scheduled message failed: ${(e as Error).message}`);
      }
    }, ms);
    t.unref?.();
    this.timers.push(t);
  }

  /** Without frames, RSM still goes out at its rate from predicted tracks, as long as perception is valid. */
  private rsmTimer(): void {
    const now = this.d.now();
    if (now - this.lastRsmMs >= this.d.cfg.applications.rsm.intervalMs * 1.5) this.rsm(now, undefined);
  }

  private rsm(now: number, triggerMs: number | undefined): void {
    this.lastRsmMs = now;
    if (!this.d.clockTrusted()) return this.withhold('rsm', 'clock_untrusted');
    const invalid = this.d.perceptionInvalid(now);
    if (invalid) return this.withhold('rsm', invalid);
    const tracks = this.d.tracks(now);
    if (!tracks.length) return;
    const frames = buildRsm(tracks, now, {
      std: this.d.cfg.messageSet,
      rsuIdHex: this.idHex,
      ref: { lat: this.d.cfg.rsu.reference.lat, lon: this.d.cfg.rsu.reference.lon, elevation: this.d.cfg.rsu.reference.elevation },
      nextMsgCnt: () => this.counter.next('rsm'),
      maxParticipants: this.d.cfg.applications.rsm.maxParticipants,
      ids: this.ids,
      leftOut: (reason, n) => this.countLeftOut(reason, n, now),
    });
    for (const f of frames) {
      const ok = this.emit('rsm', f, now, triggerMs);
      if (!ok) this.countLeftOut('encode_error', participantsOf(f), now);
    }
  }

  private countLeftOut(reason: LeftOutReason, n: number, now: number): void {
    this.leftOut[reason] = (this.leftOut[reason] ?? 0) + n;
    this.lastLeftOutMs[reason] = now;
    this.d.participantsLeftOut?.(reason, n);
    this.warn(`left-out:${reason}`, `RSM: ${n} tracked road user(s) left out of this cycle: ${reason.replace(/_/g, ' ')}`);
  }

  private spat(): void {
    const now = this.d.now();
    if (!this.d.clockTrusted()) return this.withhold('spat', 'clock_untrusted');
    const s = this.d.cfg.applications.spat;
    const snap = this.d.signals!.snapshot(now);
    if (!snap) return this.withhold('spat', 'controller_stale');
    this.emit('spat', buildSpat(snap, { std: this.d.cfg.messageSet, msgCnt: this.counter.next('spat'), intersection: s.intersection }), now);
  }

  private map(): void {
    const now = this.d.now();
    const f = this.d.mapFrame!(this.counter.next('map'), now);
    if (f) this.emit('map', f, now);
  }

  private rsi(): void {
    const now = this.d.now();
    const frames = buildRsi(
      this.d.rsiEvents(),
      now,
      {
        std: this.d.cfg.messageSet,
        rsuIdHex: this.idHex,
        ref: { lat: this.d.cfg.rsu.reference.lat, lon: this.d.cfg.rsu.reference.lon, elevation: this.d.cfg.rsu.reference.elevation },
        nextMsgCnt: () => this.counter.next('rsi'),
      },
      this.d.rsiSigns?.() ?? [],
    );
    for (const f of frames) this.emit('rsi', f, now);
  }

  /** Encodes, signs and sends one frame; false when it failed to encode (counted as withheld, like a signing failure). */
  private emit(type: MessageType, frame: unknown, atMs: number, triggerMs?: number): boolean {
    let bytes: Uint8Array;
    try {
      bytes = this.d.codec.encodeTrusted('MessageFrame', frame as never); // built by our own code
    } catch (e) {
      this.warn(`encode:${type}`, `${type} not sent: ${(e as Error).message}`);
      this.withhold(type, 'encode_error');
      return false;
    }
    const out = this.d.sign ? this.d.sign(type as SignedMessageType, bytes, atMs) : { bytes, signed: false };
    if ('withheld' in out) {
      this.withhold(type, out.withheld); // counted under its own reason, not as road users left out
      return true;
    }
    this.sent[type] = (this.sent[type] ?? 0) + 1;
    this.d.send({ type, bytes: out.bytes, uper: bytes, signed: out.signed, frame, atMs, triggerMs });
    return true;
  }

  private withhold(type: MessageType, reason: string): void {
    const k = `${type}:${reason}`;
    this.withheldCount[k] = (this.withheldCount[k] ?? 0) + 1;
    this.d.withheld(type, reason);
    this.warn(k, `${type} withheld: ${reason.replace(/_/g, ' ')}`);
  }

  /** At most one log line per key every 10 s. */
  private warn(key: string, msg: string): void {
    const now = Date.now();
    if (now - (this.lastLog.get(key) ?? 0) < 10_000) return;
    this.lastLog.set(key, now);
    this.d.log.warn(msg);
  }
}
