// Runs a scenario with the configured sensors: advances the world to each sensor's capture instants, has each
// sensor observe it and hands its frame to `send`. Real time for the demo (frames leave when their capture time
// comes), as fast as possible for evaluation (returning the ground truth at every capture instant).

import type { RsuConfig } from '../config/types.js';
import type { DetectionFrameInput } from '../../hw/sensors/frame.js';
import type { LaneMap } from '../map/types.js';
import { CameraModel, type CameraOptions } from './camera.js';
import { LidarModel, type LidarOptions } from './lidar.js';
import { Rng, type Seed } from './rng.js';
import { DEFAULT_START_MS, Scenario, type SpawnOptions } from './scenario.js';
import type { Observation, SensorModel } from './sensor-common.js';
import type { TruthTick } from './truth.js';

export interface SensorModelOptions {
  lidar?: Partial<LidarOptions>;
  camera?: Partial<CameraOptions>;
  /** Per sensor id, overriding the above. */
  perSensor?: Record<string, Partial<LidarOptions> | Partial<CameraOptions>>;
  /** Sensor ids to simulate; default every enabled lidar and camera of the config. */
  only?: readonly string[];
}

/** Models of the config's enabled lidars and cameras (radars are not simulated), placed by the config. */
export function sensorModelsFromConfig(config: RsuConfig, opts: SensorModelOptions = {}): SensorModel[] {
  const out: SensorModel[] = [];
  for (const s of config.sensors) {
    if (!s.enabled || (opts.only && !opts.only.includes(s.id))) continue;
    const extra = opts.perSensor?.[s.id] ?? {};
    if (s.kind === 'lidar') out.push(new LidarModel(s, { stationFrame: config.rsu.stationFrame, ...opts.lidar, ...(extra as Partial<LidarOptions>) }));
    else if (s.kind === 'camera' && s.intrinsics) out.push(new CameraModel(s, { stationFrame: config.rsu.stationFrame, ...opts.camera, ...(extra as Partial<CameraOptions>) }));
  }
  return out;
}

export interface RunOptions extends SensorModelOptions {
  config: RsuConfig;
  laneMap: LaneMap;
  seed: Seed;
  /** Receives each frame, in capture-time order per sensor. A returned promise is awaited (back-pressure). */
  send: (frame: DetectionFrameInput) => unknown;
  /** Simulated seconds; default 60, or until `signal` aborts in real time. */
  durationS?: number;
  /** Pace frames by the wall clock (the demo) or run as fast as possible (evaluation). */
  realtime: boolean;
  spawn?: Partial<SpawnOptions>;
  /** Unix time of the start, ms: default now in real time (so the SPAT the RSU sends matches), else DEFAULT_START_MS. */
  startMs?: number;
  warmupS?: number;
  /** Keep the ground truth of every capture instant in the result (default: when not real time). */
  collectTruth?: boolean;
  /** Called with the ground truth at every capture instant. */
  onTruth?: (tick: TruthTick) => void;
  /** Called with each observation, including which truth object each detection came from. */
  onObservation?: (obs: Observation, model: SensorModel, tick: TruthTick) => void;
  signal?: AbortSignal;
}

export interface SensorRunStats {
  frames: number;
  detections: number;
  falsePositives: number;
  /** Truth objects in reach (range, view) summed over frames, and how many of them were detected. */
  inReach: number;
  detectedInReach: number;
}

export interface RunResult {
  /** Ground truth at every capture instant (empty unless collected). */
  truth: TruthTick[];
  sensors: Record<string, SensorRunStats>;
  simS: number;
  wallMs: number;
  /** Simulated seconds per wall-clock second. */
  speed: number;
  scenario: Scenario;
}

export async function runSimulation(opts: RunOptions): Promise<RunResult> {
  const realtime = opts.realtime;
  const startMs = Math.round(opts.startMs ?? (realtime ? Date.now() : DEFAULT_START_MS));
  const durationS = opts.durationS ?? (realtime && opts.signal ? Infinity : 60);
  const scenario = new Scenario({
    seed: opts.seed,
    laneMap: opts.laneMap,
    phases: opts.config.applications.spat.phases,
    ...(opts.spawn ? { spawn: opts.spawn } : {}),
    durationS,
    startMs,
    ...(opts.warmupS !== undefined ? { warmupS: opts.warmupS } : {}),
  });
  const models = sensorModelsFromConfig(opts.config, opts);
  const root = new Rng(opts.seed, 'sensors');
  const startNs = BigInt(startMs) * 1_000_000n;
  const sched = models.map((m) => {
    const rng = root.fork(m.sensor.id);
    const periodNs = BigInt(Math.round(1e9 / m.rateHz));
    // Sensors are not synchronised: each starts at its own phase within its period.
    const next = startNs + BigInt(Math.floor(rng.next() * Number(periodNs)));
    return { m, rng, periodNs, next };
  });
  const collect = opts.collectTruth ?? !realtime;
  const truth: TruthTick[] = [];
  const sensors: Record<string, SensorRunStats> = {};
  for (const s of sched) sensors[s.m.sensor.id] = { frames: 0, detections: 0, falsePositives: 0, inReach: 0, detectedInReach: 0 };
  const endNs = Number.isFinite(durationS) ? startNs + BigInt(Math.round(durationS * 1e9)) : undefined;
  let nowNs = startNs;
  const wall0 = performance.now();
  // Real time: simulated time is wall time from startMs on. The time spent building the scenario (its warm-up,
  // seconds on a loaded machine) is skipped: the sensors' first frames are the ones due now, the scene steps over
  // the gap, and no frame carries that delay (it made every frame arrive stale).
  const wallStartMs = realtime ? startMs : Date.now();
  if (realtime) {
    const nowWallNs = BigInt(Date.now()) * 1_000_000n;
    for (const s of sched) if (s.next < nowWallNs) s.next += ((nowWallNs - s.next + s.periodNs - 1n) / s.periodNs) * s.periodNs;
  }

  while (!opts.signal?.aborted && sched.length) {
    let at = sched[0]!.next;
    for (const s of sched) if (s.next < at) at = s.next;
    if (endNs !== undefined && at > endNs) break;
    if (realtime) {
      const due = wallStartMs + Number(at - startNs) / 1e6;
      const wait = due - Date.now();
      if (wait > 1) await sleep(wait, opts.signal);
      if (opts.signal?.aborted) break;
    }
    scenario.step(Number(at - nowNs) / 1e9);
    nowNs = at;
    const tick = { ...scenario.groundTruth(), timeNs: at };
    if (collect) truth.push(tick);
    opts.onTruth?.(tick);
    for (const s of sched) {
      if (s.next !== at) continue;
      s.next += s.periodNs;
      const obs = s.m.observeDetailed(tick, at, s.rng);
      const st = sensors[s.m.sensor.id]!;
      st.frames++;
      st.detections += obs.frame.objects.length;
      st.falsePositives += obs.truthIds.filter((t) => t === null).length;
      st.inReach += obs.visibility.length;
      st.detectedInReach += obs.visibility.filter((v) => v.detected).length;
      opts.onObservation?.(obs, s.m, tick);
      const r = opts.send(obs.frame);
      if (r && typeof (r as Promise<unknown>).then === 'function') await r;
    }
  }
  const wallMs = performance.now() - wall0;
  const simS = Number(nowNs - startNs) / 1e9;
  return { truth, sensors, simS, wallMs, speed: wallMs > 0 ? simS / (wallMs / 1000) : Infinity, scenario };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
