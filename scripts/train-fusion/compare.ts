// Rule-based ('plain') against learned ('onnx') fusion on simulated scenarios: CLEAR-MOT numbers per mode.
//
//   npx tsx scripts/train-fusion/compare.ts [--seeds 1-20] [--duration 60] [--density 0]
//
// Evaluation seeds are 1-99; training uses seeds ≥ 1000 (gen-data.ts), so these are held out.

import { parseArgs } from 'node:util';
import { mota, emptyMot, type MotCounts } from '../../runtime/perception/fusion-sim.js';
import { onnxFusionFactory, type OnnxFusionOptions } from '../../runtime/perception/onnx.js';
import { runScenario, spawnFor } from './run-sim.js';
import { parseSeeds } from './seeds.js';

const add = (a: MotCounts, b: MotCounts) => {
  for (const k of Object.keys(a) as Array<keyof MotCounts>) a[k] += b[k];
};

async function main() {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '1-10' }, duration: { type: 'string', default: '60' }, density: { type: 'string', default: '0' }, modes: { type: 'string', default: 'plain;onnx' } } });
  const seeds = parseSeeds(values.seeds!);
  const modes = values.modes!.split(';');
  const total: Record<string, MotCounts> = {};
  const proc: Record<string, number[]> = {};
  for (const mode of modes) {
    total[mode] = emptyMot();
    proc[mode] = [];
  }
  for (const seed of seeds) {
    const line: string[] = [`seed ${seed}`];
    for (const mode of modes) {
      // 'onnx:{"birthMinExist":0.3}' tries other decision thresholds.
      const [name, tune] = mode.split(/:(.*)/s);
      const perception = tune ? { backend: onnxFusionFactory(JSON.parse(tune) as Partial<OnnxFusionOptions>) } : { mode: name! };
      const r = await runScenario({ seed, durationS: Number(values.duration), perception, spawn: spawnFor(Number(values.density)) });
      add(total[mode]!, r.mot.counts);
      const st = r.stage.stats();
      proc[mode]!.push(st.processing.meanMs);
      line.push(`${mode}: MOTA ${mota(r.mot.counts).toFixed(3)} (gt ${r.mot.counts.gt}, miss ${r.mot.counts.misses}, fp ${r.mot.counts.fp}, idsw ${r.mot.counts.idSwitches})`);
    }
    console.log(line.join('  '));
  }
  for (const mode of modes) {
    const c = total[mode]!;
    const meanProc = proc[mode]!.reduce((a, b) => a + b, 0) / proc[mode]!.length;
    console.log(
      `${mode.padEnd(6)} MOTA ${mota(c).toFixed(4)}  gt ${c.gt}  misses ${c.misses}  fp ${c.fp}  idsw ${c.idSwitches}  MOTP ${(c.distSum / Math.max(1, c.tp)).toFixed(3)} m  class ${((c.classOk / Math.max(1, c.tp)) * 100).toFixed(1)} %  push() mean ${meanProc.toFixed(3)} ms`,
    );
  }
}

await main();
