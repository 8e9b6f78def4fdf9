// Validation and time alignment of decoded frames, with per-sensor counters. No I/O: SensorIngest feeds it.

import type { SensorConfig, SensorKind } from '../../runtime/config/types.js';
import { OBJECT_CLASSES, type Box2D, type Box3D, type DetectedObject, type DetectionFrame, type Vec3 } from './frame.js';
import { isZeroNs, nsToMs, type WireFrame, type WireObject } from './wire.js';

export const FRAME_DROP_REASONS = [
  'decode_error', // not a valid protobuf / JSON frame (malformed, truncated, random bytes)
  'empty', // a UDP datagram of zero bytes
  'oversize', // larger than ingest.maxFrameBytes (or an over-long JSON line)
  'bad_header', // no header or no sensor id
  'bad_field', // a header field of the wrong type or out of range (JSON: "captureTimeNs": "abc", "frameNumber": -1)
  'wrong_source', // from an address (or port) other than the sensor's configured source (sensors[].source)
  'unknown_sensor', // sensor id not in the config
  'disabled_sensor', // sensor configured with enabled: false
  'too_many_objects', // more than ingest.maxObjectsPerFrame
  'truncated', // fewer (or more) objects than the header's object_count
  'future', // capture time too far ahead of the RSU clock
  'stale', // capture time too far behind
  'out_of_order', // older than the sensor's last accepted frame
  'duplicate', // same capture time as the last accepted frame
  'queue_full', // accepted, but a frames() consumer was too slow and its oldest frame was dropped
] as const;
export type FrameDropReason = (typeof FRAME_DROP_REASONS)[number];

export const OBJECT_DROP_REASONS = [
  'non_finite', // NaN or infinite value
  'out_of_range', // absurd value: beyond the sensor's range, box size or speed limits, confidence outside 0..1
  'missing_box', // lidar/radar object without box3d, camera object without box2d
  'bad_covariance', // not 9 values, or a negative variance
] as const;
export type ObjectDropReason = (typeof OBJECT_DROP_REASONS)[number];

/** Bounds beyond which a value is absurd rather than a rare real object. */
export const LIMITS = {
  lengthM: 30, // a truck with a full trailer is ~25 m
  widthM: 6,
  heightM: 8,
  speedMps: 100, // 360 km/h
} as const;

export interface SensorStats {
  kind: SensorKind;
  /** Frames and objects accepted. */
  frames: number;
  objects: number;
  framesDropped: Partial<Record<FrameDropReason, number>>;
  objectsDropped: Partial<Record<ObjectDropReason, number>>;
  /** Frames missing from the sequence of frame numbers. */
  framesMissed: number;
  /** Frame numbers that did not follow the sequence (a restarted sensor, a bogus number): not counted as missed. */
  frameNumberJumps: number;
  /** Accepted frames and objects per second, over the last second or so. */
  frameRateHz: number;
  objectRatePerS: number;
  /** Since the last accepted frame arrived; null before the first. */
  lastFrameAgeMs: number | null;
  /** Arrival minus capture time (RSU timeline) of the last accepted frame. */
  lastLatencyMs: number | null;
}

export type Verdict =
  | { ok: true; frame: DetectionFrame; droppedObjects: Array<{ index: number; reason: ObjectDropReason }> }
  | { ok: false; reason: FrameDropReason; sensorId?: string; detail: string };

/** Where a frame came from (the UDP datagram's or TCP connection's peer); absent for frames fed in-process. */
export interface FrameSource {
  address: string;
  port: number;
}

export interface ProcessorOptions {
  sensors: readonly SensorConfig[];
  /** Told of every dropped frame and object, with its reason (the daemon's metrics). */
  onDrop?: (what: 'frame' | 'object', reason: FrameDropReason | ObjectDropReason) => void;
  maxFutureMs: number;
  maxAgeMs: number;
  maxObjectsPerFrame: number;
}

const RATE_WINDOW_MS = 1000;

class SensorState {
  frames = 0;
  objects = 0;
  framesDropped: Partial<Record<FrameDropReason, number>> = {};
  objectsDropped: Partial<Record<ObjectDropReason, number>> = {};
  framesMissed = 0;
  frameNumberJumps = 0;
  lastTimeMs = -Infinity;
  lastFrameNumber = -1;
  /** The number of a frame that jumped: a sequence restarting there is adopted when the next frame follows it. */
  jumpedTo = -1;
  lastReceivedMs: number | null = null;
  lastLatencyMs: number | null = null;
  windowStart = 0;
  windowFrames = 0;
  windowObjects = 0;
  frameRate = 0;
  objectRate = 0;

  constructor(readonly cfg: SensorConfig) {}

  accepted(receivedMs: number, objects: number): void {
    this.frames++;
    this.objects += objects;
    if (this.windowFrames === 0 && this.windowStart === 0) this.windowStart = receivedMs;
    this.windowFrames++;
    this.windowObjects += objects;
    const span = receivedMs - this.windowStart;
    if (span >= RATE_WINDOW_MS) {
      this.frameRate = (this.windowFrames * 1000) / span;
      this.objectRate = (this.windowObjects * 1000) / span;
      this.windowStart = receivedMs;
      this.windowFrames = 0;
      this.windowObjects = 0;
    }
    this.lastReceivedMs = receivedMs;
  }

  stats(now: number): SensorStats {
    // A sensor that went quiet: its rate falls with the time since the window started, instead of freezing.
    const span = now - this.windowStart;
    const quiet = this.windowStart > 0 && span >= 2 * RATE_WINDOW_MS;
    return {
      kind: this.cfg.kind,
      frames: this.frames,
      objects: this.objects,
      framesDropped: { ...this.framesDropped },
      objectsDropped: { ...this.objectsDropped },
      framesMissed: this.framesMissed,
      frameNumberJumps: this.frameNumberJumps,
      frameRateHz: quiet ? (this.windowFrames * 1000) / span : this.frameRate,
      objectRatePerS: quiet ? (this.windowObjects * 1000) / span : this.objectRate,
      lastFrameAgeMs: this.lastReceivedMs === null ? null : now - this.lastReceivedMs,
      lastLatencyMs: this.lastLatencyMs,
    };
  }
}

const bump = <K extends string>(rec: Partial<Record<K, number>>, k: K, n = 1) => {
  rec[k] = (rec[k] ?? 0) + n;
};

const finite = (...v: number[]) => v.every(Number.isFinite);

function box3d(b: NonNullable<WireObject['box3d']>, maxRange: number): Box3D | ObjectDropReason {
  if (!finite(b.x, b.y, b.z, b.length, b.width, b.height, b.yaw)) return 'non_finite';
  if (Math.hypot(b.x, b.y, b.z) > maxRange) return 'out_of_range';
  if (!(b.length > 0 && b.length <= LIMITS.lengthM && b.width > 0 && b.width <= LIMITS.widthM && b.height > 0 && b.height <= LIMITS.heightM))
    return 'out_of_range';
  return { x: b.x, y: b.y, z: b.z, length: b.length, width: b.width, height: b.height, yaw: b.yaw };
}

function box2d(b: NonNullable<WireObject['box2d']>, cfg: SensorConfig): Box2D | ObjectDropReason {
  if (!finite(b.x, b.y, b.width, b.height)) return 'non_finite';
  if (!(b.width > 0 && b.height > 0)) return 'out_of_range';
  const img = cfg.intrinsics;
  // The box must overlap the image.
  if (img && (b.x >= img.width || b.y >= img.height || b.x + b.width <= 0 || b.y + b.height <= 0)) return 'out_of_range';
  return { x: b.x, y: b.y, width: b.width, height: b.height };
}

function covariance(c: number[]): number[] | undefined | ObjectDropReason {
  if (c.length === 0) return undefined;
  if (c.length !== 9 || !finite(...c) || c[0]! < 0 || c[4]! < 0 || c[8]! < 0) return 'bad_covariance';
  return Array.from(c);
}

/** A validated copy of a wire object, or why it was dropped. */
export function checkObject(o: WireObject, cfg: SensorConfig): DetectedObject | ObjectDropReason {
  if (!Number.isFinite(o.confidence)) return 'non_finite';
  if (o.confidence < 0 || o.confidence > 1) return 'out_of_range';
  const out: DetectedObject = { id: o.id, classification: OBJECT_CLASSES[o.classification] ?? 'unknown', confidence: o.confidence };
  const wants2d = cfg.kind === 'camera';
  if (o.box3d) {
    const b = box3d(o.box3d, cfg.maxRangeM);
    if (typeof b === 'string') return b;
    out.box3d = b;
  } else if (!wants2d) return 'missing_box';
  if (o.box2d) {
    const b = box2d(o.box2d, cfg);
    if (typeof b === 'string') return b;
    out.box2d = b;
  } else if (wants2d) return 'missing_box';
  if (o.velocity) {
    const v: Vec3 = { x: o.velocity.x, y: o.velocity.y, z: o.velocity.z };
    if (!finite(v.x, v.y, v.z)) return 'non_finite';
    if (Math.hypot(v.x, v.y, v.z) > LIMITS.speedMps) return 'out_of_range';
    out.velocity = v;
  }
  const pc = covariance(o.positionCovariance);
  if (typeof pc === 'string') return pc;
  if (pc) out.positionCovariance = pc;
  const vc = covariance(o.velocityCovariance);
  if (typeof vc === 'string') return vc;
  if (vc) out.velocityCovariance = vc;
  return out;
}

const v4mapped = (a: string) => (a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a).toLowerCase();
const fromSource = (from: FrameSource, src: NonNullable<SensorConfig['source']>) => v4mapped(from.address) === v4mapped(src.address) && (src.port === undefined || src.port === from.port);
const showPeer = (p: FrameSource) => (p.address.includes(':') ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`);

/**
 * Counts the frames missing between frame numbers (uint32, wrapping). A number that does not follow within what
 * the sensor could have sent since its last frame (at most one a millisecond) is a jump (a restarted sensor, or a
 * bogus number such as -1 sent as 4294967295): counted as such, never as four billion missed frames; the sequence
 * carries on from the old number, or from the jump when the next frame follows it (the sensor restarted).
 */
function sequence(s: SensorState, n: number, receivedMs: number): void {
  if (s.lastFrameNumber < 0) {
    s.lastFrameNumber = n;
    return;
  }
  const window = Math.max(16, receivedMs - (s.lastReceivedMs ?? receivedMs));
  const gap = (from: number) => {
    const g = (n - from) >>> 0;
    return g >= 1 && g <= window ? g : 0;
  };
  const g = gap(s.lastFrameNumber);
  if (g) s.framesMissed += g - 1;
  else if (n === s.lastFrameNumber) return;
  else if (!(s.jumpedTo >= 0 && gap(s.jumpedTo))) {
    s.frameNumberJumps++;
    s.jumpedTo = n;
    return;
  }
  s.lastFrameNumber = n;
  s.jumpedTo = -1;
}

/** Validates decoded frames, puts them on the RSU timeline, and counts what it accepts and drops. */
export class FrameProcessor {
  private readonly sensors = new Map<string, SensorState>();
  private readonly unattributed: Partial<Record<FrameDropReason, number>> = {};

  constructor(private readonly opts: ProcessorOptions) {
    for (const s of opts.sensors) this.sensors.set(s.id, new SensorState(s));
  }

  /** Counts a drop that happened before a frame could be attributed to a sensor (decode errors, oversize). */
  countDrop(reason: FrameDropReason, sensorId?: string): void {
    const s = sensorId === undefined ? undefined : this.sensors.get(sensorId);
    bump(s ? s.framesDropped : this.unattributed, reason);
    this.opts.onDrop?.('frame', reason);
  }

  /**
   * `from`: the peer the frame came from; a sensor with a configured `source` accepts frames from there only.
   * Frames fed in-process (replay, tests) carry none and are not checked.
   */
  process(wire: WireFrame, receivedMs: number, from?: FrameSource): Verdict {
    const h = wire.header;
    if (!h || typeof h.sensorId !== 'string' || h.sensorId === '') {
      this.countDrop('bad_header');
      return { ok: false, reason: 'bad_header', detail: 'frame without a header or sensor id' };
    }
    const s = this.sensors.get(h.sensorId);
    const drop = (reason: FrameDropReason, detail: string): Verdict => {
      this.countDrop(reason, s ? h.sensorId : undefined);
      return { ok: false, reason, sensorId: h.sensorId, detail };
    };
    if (!s) return drop('unknown_sensor', `sensor id ${JSON.stringify(h.sensorId.slice(0, 64))} is not in the config`);
    const cfg = s.cfg;
    if (!cfg.enabled) return drop('disabled_sensor', 'sensor is disabled in the config');
    if (cfg.source && from && !fromSource(from, cfg.source))
      return drop('wrong_source', `from ${showPeer(from)}, but sensors[].source of ${h.sensorId} is ${cfg.source.address}${cfg.source.port ? ` port ${cfg.source.port}` : ''}`);
    const n = wire.objects.length;
    if (n > this.opts.maxObjectsPerFrame) return drop('too_many_objects', `${n} objects, limit ${this.opts.maxObjectsPerFrame}`);
    if (h.objectCount !== 0 && h.objectCount !== n) return drop('truncated', `header says ${h.objectCount} objects, the frame has ${n}`);

    // 0 means no capture time (not 1 ns, which would round to 0 ms and be taken as none).
    const clockless = isZeroNs(h.captureTimeNs);
    const sensorMs = nsToMs(h.captureTimeNs);
    const timeMs = (clockless ? receivedMs : sensorMs - cfg.clockOffsetMs) - cfg.latencyMs;
    // Frames without a capture time are placed by arrival: their order is the arrival order.
    if (!clockless) {
      if (timeMs > receivedMs + this.opts.maxFutureMs) return drop('future', `header.captureTimeNs ${(timeMs - receivedMs).toFixed(1)} ms ahead of the RSU clock`);
      if (timeMs < receivedMs - this.opts.maxAgeMs) return drop('stale', `header.captureTimeNs ${(receivedMs - timeMs).toFixed(1)} ms old`);
      if (timeMs === s.lastTimeMs) return drop('duplicate', `frame ${h.frameNumber} has the capture time of the previous frame`);
      if (timeMs < s.lastTimeMs) return drop('out_of_order', `frame ${h.frameNumber} is ${(s.lastTimeMs - timeMs).toFixed(1)} ms older than the previous frame`);
    }

    const objects: DetectedObject[] = [];
    const droppedObjects: Array<{ index: number; reason: ObjectDropReason }> = [];
    for (let i = 0; i < n; i++) {
      const r = checkObject(wire.objects[i]!, cfg);
      if (typeof r === 'string') {
        bump(s.objectsDropped, r);
        this.opts.onDrop?.('object', r);
        droppedObjects.push({ index: i, reason: r });
      } else objects.push(r);
    }
    sequence(s, h.frameNumber, receivedMs);
    s.lastTimeMs = timeMs;
    s.lastLatencyMs = receivedMs - timeMs;
    s.accepted(receivedMs, objects.length);
    return {
      ok: true,
      droppedObjects,
      frame: {
        sensorId: h.sensorId,
        sensorKind: cfg.kind,
        frameNumber: h.frameNumber,
        sensorTimeMs: sensorMs,
        timeMs,
        receivedMs,
        objects,
      },
    };
  }

  stats(now: number): { sensors: Record<string, SensorStats>; unattributed: Partial<Record<FrameDropReason, number>> } {
    const sensors: Record<string, SensorStats> = {};
    for (const [id, s] of this.sensors) sensors[id] = s.stats(now);
    return { sensors, unattributed: { ...this.unattributed } };
  }
}
