// The perception stage: validates frames, keeps time order, converts detections into local-frame measurements,
// hands them to the fusion backend, and turns its estimates into georeferenced Tracks. Never throws on input.

import type { RsuConfig, SensorKind } from '../../runtime/config/types.js';
import type { DetectionFrame } from '../../hw/sensors/frame.js';
import { Georef } from './georef.js';
import { buildSensorModels, DEFAULT_MEASUREMENT_OPTIONS, toMeasurements, type DetectionDropReason, type MeasurementOptions, type SensorModel } from './measure.js';
import { createPlainFusion } from './plain.js';
import { DEFAULT_TRACKER_OPTIONS, type TrackEstimate } from './tracker.js';
import type {
  FrameDropReason,
  FusionBackend,
  FusionFactory,
  PerceptionOptions,
  PerceptionStage,
  PerceptionStats,
  SensorPerceptionStats,
  TimingStats,
  Track,
} from './types.js';

const RAD_TO_DEG = 180 / Math.PI;

const FUSION_MODES = new Map<string, FusionFactory>([['plain', createPlainFusion]]);

/** Makes a backend available as `createPerception(cfg, { mode })`. */
export function registerFusion(mode: string, factory: FusionFactory): void {
  FUSION_MODES.set(mode, factory);
}

export function fusionModes(): string[] {
  return [...FUSION_MODES.keys()];
}

export const DEFAULT_PERCEPTION_OPTIONS: Omit<PerceptionOptions, 'measurement' | 'tracker'> = {
  mode: 'plain',
  lateToleranceMs: 200,
  timingWindow: 1024,
};

export type CreatePerceptionOptions = Partial<Omit<PerceptionOptions, 'measurement' | 'tracker'>> & {
  measurement?: Partial<MeasurementOptions>;
  tracker?: Partial<PerceptionOptions['tracker']>;
  /** A backend factory to use instead of a registered mode (its own `mode` names it). */
  backend?: FusionFactory;
  /** Where dropped frames and backend errors are reported (at most once per reason and sensor per 10 s). */
  logger?: PerceptionLogger;
};

/** The part of a pino logger the stage uses. */
export interface PerceptionLogger {
  warn(msg: string): void;
  error(msg: string): void;
}

const LOG_INTERVAL_MS = 10_000;

const bump = <K extends string>(rec: Partial<Record<K, number>>, k: K, n = 1) => {
  rec[k] = (rec[k] ?? 0) + n;
};

class Timing {
  private readonly ring: Float64Array;
  private n = 0;
  private sum = 0;
  private last = 0;

  constructor(size: number) {
    this.ring = new Float64Array(Math.max(1, size));
  }

  add(ms: number): void {
    this.ring[this.n % this.ring.length] = ms;
    this.n++;
    this.sum += ms;
    this.last = ms;
  }

  stats(): TimingStats {
    const k = Math.min(this.n, this.ring.length);
    if (k === 0) return { frames: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, lastMs: 0 };
    const s = Float64Array.from(this.ring.subarray(0, k)).sort();
    const q = (p: number) => s[Math.min(k - 1, Math.ceil(p * k) - 1)]!;
    return { frames: this.n, meanMs: this.sum / this.n, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: s[k - 1]!, lastMs: this.last };
  }
}

interface SensorCounters extends SensorPerceptionStats {
  model: SensorModel;
}

class Stage implements PerceptionStage {
  readonly mode: string;
  private readonly georef: Georef;
  private readonly sensors = new Map<string, SensorCounters>();
  private readonly groundFromLidar: SensorModel[];
  private readonly lidarCovers: (x: number, y: number, z: number) => boolean;
  private readonly backend: FusionBackend;
  private readonly meas: MeasurementOptions;
  private readonly lateToleranceMs: number;
  private readonly maxObjects: number;
  private readonly maxFutureMs: number;
  private readonly timing: Timing;
  private latest = -Infinity;
  private framesReceived = 0;
  private framesProcessed = 0;
  private readonly framesDropped: Partial<Record<FrameDropReason, number>> = {};
  private detReceived = 0;
  private detUsed = 0;
  private readonly detDropped: Partial<Record<DetectionDropReason, number>> = {};
  private readonly logger?: PerceptionLogger;
  private readonly logged = new Map<string, { at: number; held: number }>();

  constructor(cfg: RsuConfig, opts: CreatePerceptionOptions) {
    const o = { ...DEFAULT_PERCEPTION_OPTIONS, ...stripUndefined(opts) };
    this.meas = { ...DEFAULT_MEASUREMENT_OPTIONS, ...stripUndefined(opts.measurement ?? {}) };
    if (opts.measurement?.coverageRangeM) this.meas.coverageRangeM = { ...DEFAULT_MEASUREMENT_OPTIONS.coverageRangeM, ...opts.measurement.coverageRangeM };
    // The config's perception.tracker settings, then the caller's overrides.
    const tracker = { ...DEFAULT_TRACKER_OPTIONS, ...stripUndefined(cfg.perception?.tracker ?? {}), ...stripUndefined(opts.tracker ?? {}) };
    this.lateToleranceMs = o.lateToleranceMs;
    this.maxObjects = cfg.ingest?.maxObjectsPerFrame ?? 1000;
    this.maxFutureMs = cfg.ingest?.maxFutureMs ?? Infinity;
    this.timing = new Timing(o.timingWindow);
    this.logger = opts.logger;
    this.georef = new Georef(cfg.rsu.reference, cfg.rsu.stationFrame);
    const models = buildSensorModels(cfg, this.georef, this.meas);
    for (const m of models) {
      this.sensors.set(m.id, {
        model: m,
        kind: m.kind,
        frames: 0,
        framesDropped: {},
        detections: 0,
        used: 0,
        detectionsDropped: {},
        lastTimeMs: null,
      });
    }
    this.groundFromLidar = models.filter((m) => m.ground?.fromLidar);
    const lidars = models.filter((m) => m.kind === 'lidar' && m.enabled);
    this.lidarCovers = (x, y, z) => lidars.some((l) => l.covers(x, y, z));
    const factory = opts.backend ?? FUSION_MODES.get(o.mode);
    if (!factory) throw new Error(`unknown perception mode ${JSON.stringify(o.mode)} (known: ${fusionModes().join(', ')})`);
    this.backend = factory({ config: cfg, georef: this.georef, sensors: models, measurement: this.meas, tracker });
    this.mode = this.backend.mode;
  }

  private drop(reason: FrameDropReason, s?: SensorCounters, detail?: string): void {
    bump(this.framesDropped, reason);
    if (s) bump(s.framesDropped, reason);
    if (this.logger) this.log(reason === 'internal_error' ? 'error' : 'warn', `${s?.model.id ?? ''}:${reason}`, `frame ${s ? `of ${s.model.id} ` : ''}dropped: ${reason}${detail ? ` (${detail})` : ''}`);
  }

  /** Logs at most once per key per LOG_INTERVAL_MS, saying how many were held back. */
  private log(level: 'warn' | 'error', key: string, msg: string): void {
    const now = Date.now();
    const e = this.logged.get(key);
    if (e && now - e.at < LOG_INTERVAL_MS) {
      e.held++;
      return;
    }
    const held = e?.held ?? 0;
    this.logged.set(key, { at: now, held: 0 });
    try {
      this.logger![level](held > 0 ? `${msg}; ${held} more since the last report` : msg);
    } catch {
      // a failing logger must not stop perception
    }
  }

  push(frame: DetectionFrame): void {
    const t0 = performance.now();
    this.framesReceived++;
    const f = frame as Partial<DetectionFrame> | null | undefined;
    if (!f || typeof f !== 'object') return this.drop('bad_frame');
    const objects = f.objects;
    if (Array.isArray(objects)) this.detReceived += objects.length;
    if (typeof f.sensorId !== 'string') return this.drop('bad_frame');
    const s = this.sensors.get(f.sensorId);
    if (!s) return this.drop('unknown_sensor');
    if (!s.model.enabled) return this.drop('disabled_sensor', s);
    if (!Number.isFinite(f.timeMs) || !Array.isArray(objects) || (f.sensorKind !== undefined && f.sensorKind !== s.kind)) return this.drop('bad_frame', s);
    const timeMs = f.timeMs!;
    if (objects.length > this.maxObjects) return this.drop('too_many_objects', s);
    if (Number.isFinite(f.receivedMs) && timeMs > f.receivedMs! + this.maxFutureMs) return this.drop('future', s);
    if (s.lastTimeMs !== null && timeMs === s.lastTimeMs) return this.drop('duplicate', s);
    if ((s.lastTimeMs !== null && timeMs < s.lastTimeMs) || timeMs < this.latest - this.lateToleranceMs) return this.drop('out_of_order', s);

    const conv = toMeasurements(frame, s.model, this.meas);
    // Cameras that take their ground from the lidar: this frame's boxes on the ground, before the next camera frame.
    if (s.kind === 'lidar') for (const c of this.groundFromLidar) c.observeGround(conv.measurements, timeMs);
    try {
      this.backend.process({
        frame,
        sensor: s.model,
        sensorId: s.model.id,
        sensorKind: s.kind,
        timeMs,
        measurements: conv.measurements,
        covers: (x, y, z, cls, radiusM) => (cls === undefined || s.model.detects(cls)) && s.model.covers(x, y, z, radiusM),
        lidarCovers: this.lidarCovers,
      });
    } catch (e) {
      return this.drop('internal_error', s, e instanceof Error ? e.message : String(e));
    }
    s.frames++;
    s.lastTimeMs = timeMs;
    s.detections += objects.length;
    s.used += conv.measurements.length;
    for (const d of conv.drops) {
      bump(this.detDropped, d.reason);
      bump(s.detectionsDropped, d.reason);
    }
    this.detUsed += conv.measurements.length;
    this.framesProcessed++;
    if (timeMs > this.latest) this.latest = timeMs;
    this.timing.add(performance.now() - t0);
  }

  tracks(atMs: number): Track[] {
    if (!Number.isFinite(atMs)) return [];
    let est: TrackEstimate[];
    try {
      est = this.backend.estimates(atMs);
    } catch {
      return [];
    }
    return est.map((e) => this.toTrack(e));
  }

  private toTrack(e: TrackEstimate): Track {
    const geo = this.georef.localToGeodetic({ x: e.x, y: e.y, z: e.z });
    const yawKnown = Number.isFinite(e.yaw);
    return {
      id: e.id,
      classification: e.classification,
      classConfidence: e.classConfidence,
      existence: e.existence,
      enu: { x: e.x, y: e.y, z: e.z },
      lat: geo.lat,
      lon: geo.lon,
      elevation: geo.elevation,
      velocity: { east: e.vx, north: e.vy },
      speed: e.speed,
      headingDeg: yawKnown ? this.georef.trueHeadingDeg(e.yaw, geo) : 0,
      accel: e.accel,
      size: e.size,
      posStdM: e.posStdM,
      speedStdMs: e.speedStdMs,
      headingStdDeg: yawKnown ? Math.min(180, e.yawStd * RAD_TO_DEG) : 180,
      sources: e.sources,
      firstSeenMs: e.firstSeenMs,
      lastUpdateMs: e.lastUpdateMs,
      coasting: e.coasting,
      confidence: e.confidence,
    };
  }

  stats(): PerceptionStats {
    const tracks = this.backend.counts();
    const perSensor: Record<string, SensorPerceptionStats> = {};
    for (const [id, s] of this.sensors) {
      perSensor[id] = {
        kind: s.kind,
        frames: s.frames,
        framesDropped: { ...s.framesDropped },
        detections: s.detections,
        used: s.used,
        detectionsDropped: { ...s.detectionsDropped },
        lastTimeMs: s.lastTimeMs,
      };
    }
    return {
      mode: this.mode,
      frames: { received: this.framesReceived, processed: this.framesProcessed, dropped: { ...this.framesDropped } },
      detections: { received: this.detReceived, used: this.detUsed, dropped: { ...this.detDropped } },
      tracks,
      confirmedTracks: tracks.confirmed,
      processing: this.timing.stats(),
      perSensor,
      timeMs: this.latest > -Infinity ? this.latest : null,
    };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** The perception stage for a configuration. Throws only for an unknown mode. */
export function createPerception(cfg: RsuConfig, opts: CreatePerceptionOptions = {}): PerceptionStage {
  return new Stage(cfg, opts);
}

export type { SensorKind };
