// Evaluation runner: simulates a held-out scenario once (every sensor of the site, as fast as possible, with the
// ground truth and what each sensor could see), then replays its frames into a perception stage built for each
// configuration (lidar only, camera only, rule-based fusion, ONNX fusion), samples the tracks at 10 Hz and scores
// them against the ground truth with metrics.ts. See README.md for the definitions.

import { defaultConfig, type RsuConfig, type SensorKind } from '../config/index.js';
import { demoLaneMapPath, loadLaneMap, type LaneMap } from '../map/index.js';
import { createPerception, fusionModes, headingDegToYaw, type PerceptionStats, type Track } from '../perception/index.js';
import { runSimulation, type Seed, type SpawnOptions, type TruthObject } from '../sim/index.js';
import { FrameProcessor } from '../../hw/sensors/process.js';
import { OBJECT_CLASSES, type DetectionFrame, type DetectionFrameInput } from '../../hw/sensors/frame.js';
import type { WireFrame } from '../../hw/sensors/wire.js';
import { DEFAULT_EVAL_PROFILE, type EvalProfile } from './profile.js';
import { combine, evaluateSequence, summarize, type EvalFrame, type GtObject, type MetricOptions, type SequenceCounts, type Summary, type TrackObject } from './metrics.js';

/** The configurations compared, in the order reports list them. */
export const EVAL_CONFIGS = ['lidar', 'camera', 'rule', 'onnx'] as const;
export type EvalConfigName = (typeof EVAL_CONFIGS)[number];

/**
 * Held-out rule: seeds >= 1000 are for training the learned fusion (scripts/train-fusion/gen-data.ts refuses
 * others); evaluation uses seeds below 1000, by default 1-5. String seeds starting with "train" count as training.
 */
export const TRAINING_SEEDS = { min: 1000 } as const;
export const DEFAULT_EVAL_SEEDS: readonly number[] = [1, 2, 3, 4, 5];

export function isTrainingSeed(seed: Seed): boolean {
  if (typeof seed === 'string') return /^train/i.test(seed) || (/^\d+$/.test(seed) && isTrainingSeed(Number(seed)));
  return seed >= TRAINING_SEEDS.min;
}

export interface EvalOptions {
  /** Simulated seconds per scenario (after the simulator's own warm-up). Default 120. */
  durationS: number;
  /** Seconds at the start of each scenario that are not scored (tracks need a few frames to confirm). Default 2. */
  burnInS: number;
  /** Track sampling rate (the RSM rate), Hz. Default 10. */
  sampleHz: number;
  /** An object is covered by a sensor when that sensor's last frame gave it at least this detection probability. Default 0.5. */
  coverageMinP: number;
  /** Radius around the intersection reference of the "within 50 m" figures, m. Default 50. */
  nearRadiusM: number;
  metric: Partial<MetricOptions>;
  /** Traffic and sensor degradation (profile.ts). Default the rush-hour profile. */
  profile: EvalProfile;
  /** Overrides the profile's traffic. */
  spawn?: Partial<SpawnOptions>;
}

export const DEFAULT_EVAL_OPTIONS: EvalOptions = { durationS: 120, burnInS: 2, sampleHz: 10, coverageMinP: 0.5, nearRadiusM: 50, metric: {}, profile: DEFAULT_EVAL_PROFILE };

/** One sampling instant: the ground truth and which objects the site's lidars and cameras cover. */
export interface Sample {
  timeMs: number;
  objects: TruthObject[];
  lidar: Set<number>;
  camera: Set<number>;
}

/** A simulated scenario, ready to be replayed into any configuration. */
export interface Scenario {
  seed: Seed;
  /** The site's config (every sensor enabled as configured). */
  config: RsuConfig;
  laneMap: LaneMap;
  /** Frames as the ingest hands them to perception (RSU timeline), in capture-time order. */
  frames: DetectionFrame[];
  samples: Sample[];
  /** Frames the ingest rules refused (none expected). */
  ingestDrops: number;
  simWallMs: number;
}

/** Which objects a configuration is scored on: those the whole site covers (default), or its own sensors. */
export type CoverageScope = 'site' | 'own';

const wireObject = (o: DetectionFrameInput['objects'][number]): WireFrame['objects'][number] => ({
  id: o.id,
  classification: OBJECT_CLASSES.indexOf(o.classification),
  confidence: o.confidence,
  box3d: o.box3d ?? null,
  box2d: o.box2d ?? null,
  velocity: o.velocity ?? null,
  positionCovariance: o.positionCovariance ?? [],
  velocityCovariance: o.velocityCovariance ?? [],
});

/** The frame as the ingest decodes it from the wire (the same shape protobuf.js gives `FrameProcessor`). */
export function toWireFrame(f: DetectionFrameInput): WireFrame {
  const t = BigInt.asUintN(64, f.captureTimeNs);
  return {
    header: { sensorId: f.sensorId, captureTimeNs: { low: Number(t & 0xffffffffn), high: Number(t >> 32n), unsigned: true }, frameNumber: f.frameNumber, objectCount: f.objects.length },
    objects: f.objects.map(wireObject),
  };
}

const nsToMs = (ns: bigint) => Number(ns / 1000n) / 1000;

/** Runs one seed through the simulator with every sensor of the site and records frames, truth and coverage. */
export async function simulateScenario(seed: Seed, options: Partial<EvalOptions> & { config?: RsuConfig; laneMap?: LaneMap } = {}): Promise<Scenario> {
  const o = { ...DEFAULT_EVAL_OPTIONS, ...options };
  const config = options.config ?? defaultConfig();
  const laneMap = options.laneMap ?? loadLaneMap(config.applications.map.file ?? demoLaneMapPath());
  const kindOf = new Map(config.sensors.map((s) => [s.id, s]));
  // The ingest's own checks and time placement (hw/sensors/process.ts), without the sockets.
  const processor = new FrameProcessor({ sensors: config.sensors, maxFutureMs: config.ingest.maxFutureMs, maxAgeMs: config.ingest.maxAgeMs, maxObjectsPerFrame: config.ingest.maxObjectsPerFrame });
  const frames: DetectionFrame[] = [];
  let ingestDrops = 0;
  let tickMs = 0;
  // Coverage at an instant: the latest frame of each sensor at or before it. A tick (capture instant) is
  // finished when the next one starts (its observations come after its truth); the first tick at or after each
  // point of the sampling grid is a sample.
  const samples: Sample[] = [];
  const latest = new Map<string, { kind: SensorKind; ids: Set<number> }>(); // sensor id → its last frame's coverage
  const periodMs = 1000 / o.sampleHz;
  let grid = NaN;
  let pending: { timeMs: number; objects: TruthObject[] } | undefined;
  const finish = () => {
    if (!pending) return;
    if (Number.isNaN(grid)) grid = pending.timeMs + o.burnInS * 1000;
    if (pending.timeMs + 1e-6 >= grid) {
      const lidar = new Set<number>();
      const camera = new Set<number>();
      for (const s of latest.values()) for (const id of s.ids) (s.kind === 'camera' ? camera : lidar).add(id);
      samples.push({ timeMs: pending.timeMs, objects: pending.objects, lidar, camera });
      while (grid <= pending.timeMs + 1e-6) grid += periodMs;
    }
    pending = undefined;
  };
  const res = await runSimulation({
    config,
    laneMap,
    seed,
    realtime: false,
    durationS: o.durationS,
    collectTruth: false,
    spawn: { ...o.profile.spawn, ...o.spawn },
    ...o.profile.sensors,
    onTruth: (tick) => {
      finish();
      tickMs = nsToMs(tick.timeNs);
      pending = { timeMs: tickMs, objects: tick.objects };
    },
    onObservation: (obs, model) => {
      const ids = new Set<number>();
      for (const v of obs.visibility) if (v.pDetect >= o.coverageMinP) ids.add(v.truthId);
      latest.set(model.sensor.id, { kind: model.sensor.kind, ids });
    },
    send: (f) => {
      const s = kindOf.get(f.sensorId);
      const v = processor.process(toWireFrame(f), tickMs + Math.max(0, s?.latencyMs ?? 0));
      if (v.ok) frames.push(v.frame);
      else ingestDrops++;
    },
  });
  finish();
  return { seed, config, laneMap, frames, samples, ingestDrops, simWallMs: res.wallMs };
}

/** The config and fusion mode of an evaluated configuration. */
export function configFor(name: EvalConfigName, site: RsuConfig): { config: RsuConfig; mode: string } {
  const keep: Record<EvalConfigName, (k: SensorKind) => boolean> = {
    lidar: (k) => k === 'lidar',
    camera: (k) => k === 'camera',
    rule: () => true,
    onnx: () => true,
  };
  const config: RsuConfig = { ...site, sensors: site.sensors.map((s) => (keep[name](s.kind) ? s : { ...s, enabled: false })) };
  return { config, mode: name === 'onnx' ? 'onnx' : 'plain' };
}

export interface Availability {
  available: boolean;
  reason?: string;
}

let onnxLoad: Promise<Availability> | undefined;

/**
 * Whether a configuration can run. 'onnx' needs fusion mode 'onnx': runtime/perception/onnx.ts is imported (it
 * registers the mode; an exported `ready` promise is awaited) and the mode must then be known.
 */
export function availability(name: EvalConfigName): Promise<Availability> {
  if (name !== 'onnx') return Promise.resolve({ available: true });
  onnxLoad ??= (async () => {
    if (!fusionModes().includes('onnx')) {
      const spec = '../perception/onnx.js';
      try {
        const mod = (await import(spec)) as { ready?: unknown };
        if (mod.ready && typeof (mod.ready as Promise<unknown>).then === 'function') await mod.ready;
      } catch (e) {
        return { available: false, reason: `runtime/perception/onnx.ts could not be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
      }
    }
    return fusionModes().includes('onnx') ? { available: true } : { available: false, reason: "fusion mode 'onnx' is not registered" };
  })();
  return onnxLoad;
}

function toTrackObject(tr: Track): TrackObject {
  return {
    id: tr.id,
    x: tr.enu.x,
    y: tr.enu.y,
    vx: tr.velocity.east,
    vy: tr.velocity.north,
    ...(tr.headingStdDeg < 180 ? { yaw: headingDegToYaw(tr.headingDeg) } : {}),
    cls: tr.classification,
  };
}

export interface ConfigRun {
  name: EvalConfigName;
  /** The backend's own name (perception.mode). */
  mode: string;
  /** Scored on the objects the whole site covers. */
  counts: SequenceCounts;
  /** Scored on the objects this configuration's own sensors cover. */
  ownCounts: SequenceCounts;
  stats: PerceptionStats;
  /** The scored frames (site coverage), when asked for (plots). */
  frames?: EvalFrame[];
}

/** Replays a scenario into a perception stage for one configuration and scores its tracks. */
export function runConfiguration(sc: Scenario, name: EvalConfigName, options: Partial<EvalOptions> & { keepFrames?: boolean } = {}): ConfigRun {
  const o = { ...DEFAULT_EVAL_OPTIONS, ...options };
  const { config, mode } = configFor(name, sc.config);
  const enabled = new Set(config.sensors.filter((s) => s.enabled).map((s) => s.id));
  const ownKinds = new Set(config.sensors.filter((s) => s.enabled).map((s) => s.kind));
  const perception = createPerception(config, { mode });
  const site: EvalFrame[] = [];
  const own: EvalFrame[] = [];
  const near2 = o.nearRadiusM * o.nearRadiusM;
  const sample = (s: Sample) => {
    const tracks = perception.tracks(s.timeMs).map(toTrackObject);
    const gtSite: GtObject[] = [];
    const gtOwn: GtObject[] = [];
    for (const ob of s.objects) {
      const inLidar = s.lidar.has(ob.id);
      const inCamera = s.camera.has(ob.id);
      const subsets: string[] = [];
      if (inLidar) subsets.push('lidar');
      if (inCamera) subsets.push('camera');
      if (ob.position.x * ob.position.x + ob.position.y * ob.position.y <= near2) subsets.push('within50m');
      const g: GtObject = { id: ob.id, x: ob.position.x, y: ob.position.y, vx: ob.velocity.x, vy: ob.velocity.y, yaw: ob.heading, cls: ob.class, subsets };
      gtSite.push({ ...g, counted: inLidar || inCamera });
      gtOwn.push({ ...g, counted: (ownKinds.has('lidar') && inLidar) || (ownKinds.has('camera') && inCamera) });
    }
    site.push({ t: s.timeMs, gt: gtSite, tracks });
    own.push({ t: s.timeMs, gt: gtOwn, tracks });
  };
  let si = 0;
  for (const f of sc.frames) {
    while (si < sc.samples.length && sc.samples[si]!.timeMs < f.timeMs - 1e-6) sample(sc.samples[si++]!);
    if (enabled.has(f.sensorId)) perception.push(f);
  }
  while (si < sc.samples.length) sample(sc.samples[si++]!);
  return {
    name,
    mode: perception.mode,
    counts: evaluateSequence(site, o.metric),
    ownCounts: evaluateSequence(own, o.metric),
    stats: perception.stats(),
    ...(options.keepFrames ? { frames: site } : {}),
  };
}

export interface ConfigReport {
  name: EvalConfigName;
  available: boolean;
  reason?: string;
  mode?: string;
  /** Over all seeds, on the site's coverage. */
  summary?: Summary;
  /** Over all seeds, on the configuration's own sensors' coverage. */
  own?: Summary;
  perSeed: Array<{ seed: Seed; summary: Summary }>;
  /** push() time per processed frame, ms: mean over all frames, p99 of the last seed. */
  processing?: { meanMs: number; p99Ms: number };
}

export interface EvalReport {
  seeds: Seed[];
  options: EvalOptions;
  configs: Partial<Record<EvalConfigName, ConfigReport>>;
  /** The scenario and frames of the plot (first seed), when asked for. */
  plot?: { seed: Seed; config: EvalConfigName; laneMap: LaneMap; frames: EvalFrame[] };
  /** Simulation and replay wall time, ms. */
  wallMs: number;
  warnings: string[];
}

export interface EvaluateOptions extends Partial<EvalOptions> {
  seeds?: readonly Seed[];
  configs?: readonly EvalConfigName[];
  config?: RsuConfig;
  laneMap?: LaneMap;
  /** Keep the frames of this configuration on the first seed for a plot. */
  plotConfig?: EvalConfigName | 'auto';
  /** Called after each seed. */
  onProgress?: (msg: string) => void;
}

/** Evaluates every configuration on every seed; metrics over several seeds come from the summed counts. */
export async function evaluate(opts: EvaluateOptions = {}): Promise<EvalReport> {
  const o = { ...DEFAULT_EVAL_OPTIONS, ...stripUndefined(opts) } as EvalOptions;
  const seeds = [...(opts.seeds ?? DEFAULT_EVAL_SEEDS)];
  const names = opts.configs ?? EVAL_CONFIGS;
  const warnings: string[] = [];
  for (const s of seeds) if (isTrainingSeed(s)) warnings.push(`seed ${s} is a training seed (>= ${TRAINING_SEEDS.min}): not a held-out scenario`);
  const avail = new Map<EvalConfigName, Availability>();
  for (const n of names) avail.set(n, await availability(n));
  let plotConfig: EvalConfigName | undefined;
  if (opts.plotConfig === 'auto') plotConfig = avail.get('onnx')?.available ? 'onnx' : names.includes('rule') ? 'rule' : names.find((n) => avail.get(n)!.available);
  else if (opts.plotConfig) plotConfig = opts.plotConfig;

  const wall0 = performance.now();
  const counts = new Map<EvalConfigName, { site: SequenceCounts[]; own: SequenceCounts[]; mode: string; frames: number; sumMs: number; p99Ms: number; perSeed: Array<{ seed: Seed; summary: Summary }> }>();
  let plot: EvalReport['plot'];
  for (const seed of seeds) {
    const sc = await simulateScenario(seed, { ...o, ...(opts.config ? { config: opts.config } : {}), ...(opts.laneMap ? { laneMap: opts.laneMap } : {}) });
    if (sc.ingestDrops) warnings.push(`seed ${seed}: the ingest refused ${sc.ingestDrops} simulated frames`);
    for (const n of names) {
      if (!avail.get(n)!.available) continue;
      const keep = plotConfig === n && plot === undefined;
      const r = runConfiguration(sc, n, { ...o, keepFrames: keep });
      if (keep) plot = { seed, config: n, laneMap: sc.laneMap, frames: r.frames! };
      let c = counts.get(n);
      if (!c) counts.set(n, (c = { site: [], own: [], mode: r.mode, frames: 0, sumMs: 0, p99Ms: 0, perSeed: [] }));
      c.site.push(r.counts);
      c.own.push(r.ownCounts);
      c.frames += r.stats.processing.frames;
      c.sumMs += r.stats.processing.meanMs * r.stats.processing.frames;
      c.p99Ms = r.stats.processing.p99Ms;
      c.perSeed.push({ seed, summary: summarize(r.counts) });
    }
    opts.onProgress?.(`seed ${seed}: ${sc.samples.length} samples, ${sc.frames.length} frames (simulated in ${sc.simWallMs.toFixed(0)} ms)`);
  }
  const configs: EvalReport['configs'] = {};
  for (const n of names) {
    const a = avail.get(n)!;
    const c = counts.get(n);
    if (!a.available || !c) {
      configs[n] = { name: n, available: false, ...(a.reason ? { reason: a.reason } : {}), perSeed: [] };
      continue;
    }
    configs[n] = {
      name: n,
      available: true,
      mode: c.mode,
      summary: summarize(combine(c.site)),
      own: summarize(combine(c.own)),
      perSeed: c.perSeed,
      processing: { meanMs: c.frames ? c.sumMs / c.frames : 0, p99Ms: c.p99Ms },
    };
  }
  return { seeds, options: o, configs, ...(plot ? { plot } : {}), wallMs: performance.now() - wall0, warnings };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
