// Runs one simulated scenario through a perception stage, with the CLEAR-MOT scorer of fusion-sim.ts alongside.
// Shared by gen-data.ts and compare.ts.

import { defaultConfig } from '../../runtime/config/index.js';
import type { RsuConfig } from '../../runtime/config/types.js';
import { demoLaneMapPath, loadLaneMap } from '../../runtime/map/index.js';
import { createPerception, type CreatePerceptionOptions, type PerceptionStage } from '../../runtime/perception/index.js';
import { MotScorer, simFrame } from '../../runtime/perception/fusion-sim.js';
import { runSimulation, type SpawnOptions } from '../../runtime/sim/index.js';
import type { Observation } from '../../runtime/sim/sensor-common.js';
import type { TruthTick } from '../../runtime/sim/truth.js';

export interface SimRun {
  stage: PerceptionStage;
  mot: MotScorer;
  frames: number;
  wallMs: number;
}

let laneMap: ReturnType<typeof loadLaneMap> | undefined;

/** Traffic density of a seed: the default rates, or busier (about 40, 70, 100 road users in the sensors' reach). */
export function spawnFor(level: number): Partial<SpawnOptions> {
  const v = [360, 700, 1100][level] ?? 360;
  const p = [90, 180, 300][level] ?? 90;
  return { vehiclesPerHour: v, pedestriansPerHour: p, cyclistsPerHour: level > 0 ? 80 : 40 };
}

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
