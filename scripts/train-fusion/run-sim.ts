// Runs one simulated scenario through a perception stage, with the CLEAR-MOT scorer of fusion-sim.ts alongside.
// Shared by gen-data.ts and compare.ts.

import { defaultConfig } from '../../runtime/config/index.js';
import type { RsuConfig } from '../../runtime/config/types.js';
import { demoLaneMapPath, loadLaneMap } from '../../runtime/map/index.js';
import { createPerception, type CreatePerceptionOptions, type PerceptionStage } from '../../runtime/perception/index.js';
import { MotScorer, simFrame } from '../../runtime/perception/fusion-sim.js';
import { runSimulation, type SensorModelOptions, type SpawnOptions } from '../../runtime/sim/index.js';
import { DEFAULT_EVAL_PROFILE } from '../../runtime/eval/profile.js';
import type { Observation } from '../../runtime/sim/sensor-common.js';
import type { TruthTick } from '../../runtime/sim/truth.js';

export interface SimRun {
  stage: PerceptionStage;
  mot: MotScorer;
  frames: number;
  wallMs: number;
}

let laneMap: ReturnType<typeof loadLaneMap> | undefined;

/**
 * Traffic of a training seed: the evaluation profile's rush-hour rates (runtime/eval/profile.ts) scaled by 0.6, 1
 * or 1.3 (level 0, 1, 2), so that the model sees lighter and heavier traffic than the evaluation as well.
 */
export function spawnFor(level: number): Partial<SpawnOptions> {
  const k = [0.6, 1, 1.3][level] ?? 1;
  const sp = DEFAULT_EVAL_PROFILE.spawn;
  const scale = (r: unknown, dflt: number) => Math.round((typeof r === 'number' ? r : dflt) * k);
  return { ...sp, vehiclesPerHour: scale(sp.vehiclesPerHour, 360), pedestriansPerHour: scale(sp.pedestriansPerHour, 90), cyclistsPerHour: scale(sp.cyclistsPerHour, 40), jaywalkersPerHour: scale(sp.jaywalkersPerHour, 30) };
}

/** The sensor degradation of the evaluation profile (the same detectors in training and evaluation). */
export const SENSOR_PROFILE: Pick<SensorModelOptions, 'lidar' | 'camera'> = DEFAULT_EVAL_PROFILE.sensors;

export async function runScenario(opts: {
  seed: number;
  durationS: number;
  perception: CreatePerceptionOptions;
  spawn?: Partial<SpawnOptions>;
  config?: RsuConfig;
  /** Called with each observation before its frame is pushed. */
  onObservation?: (obs: Observation, tick: TruthTick) => void;
}): Promise<SimRun> {
  const config = opts.config ?? defaultConfig();
  laneMap ??= loadLaneMap(demoLaneMapPath());
  const stage = createPerception(config, opts.perception);
  const mot = new MotScorer({ periodMs: 100, maxDistM: 2, reachWindowMs: 500, warmupMs: 5000 });
  let tick: TruthTick | undefined;
  let frames = 0;
  const t0 = performance.now();
  await runSimulation({
    config,
    laneMap,
    seed: opts.seed,
    realtime: false,
    durationS: opts.durationS,
    collectTruth: false,
    ...(opts.spawn ? { spawn: opts.spawn } : {}),
    ...SENSOR_PROFILE,
    onObservation: (obs, _m, tk) => {
      tick = tk;
      mot.observe(obs, Number(tk.timeNs) / 1e6);
      opts.onObservation?.(obs, tk);
    },
    send: (f) => {
      const frame = simFrame(config, f);
      stage.push(frame);
      frames++;
      if (tick) mot.tick(stage, tick);
    },
  });
  return { stage, mot, frames, wallMs: performance.now() - t0 };
}
