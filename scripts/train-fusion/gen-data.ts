// Training data for the fusion model: simulated scenarios (seeds ≥ 1000, disjoint from the evaluation seeds
// 1-99) run through the rule-based tracker; at every camera frame, the pair features of fusion-features.ts for
// every candidate (track, detection) pair and every "no track" pair, with labels from the simulator's ground
// truth (which truth object each detection came from; a track's truth object by the votes of the detections
// that updated it).
//
//   npx tsx scripts/train-fusion/gen-data.ts --seeds 1000-1011 --duration 120 --out /tmp/rsu-fusion-data
//
// Writes features.f32 (N × FEATURE_COUNT float32, little-endian), labels.i32 (N × 5 int32: assoc, exist, class
// (index in OUTPUT_CLASSES or -1), has_track, seed), place.f32 (N × 2 float32: where the detection's true object
// is, along and across the camera's ray from the detection's ground placement, m; NaN for clutter) and meta.json.

import { parseArgs } from 'node:util';
import { onnxFusionFactory } from '../../runtime/perception/onnx.js';
import { labelPairs, PairDataset, placeTargets, TrackVotes } from './pairs.js';
import { runScenario, spawnFor } from './run-sim.js';
import { parseSeeds } from './seeds.js';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '1000-1011' }, duration: { type: 'string', default: '120' }, out: { type: 'string', default: '/tmp/rsu-fusion-data' } } });
const seeds = parseSeeds(values.seeds!);
if (seeds.some((s) => s < 1000)) throw new Error('training seeds must be ≥ 1000 (1-99 are evaluation seeds)');
const ds = new PairDataset(values.out!);
const counts = ds.counts;

for (const seed of seeds) {
  /** Truth ids of the current frame of each sensor (by object index), and the class of each truth id. */
  const frameTruth = new Map<string, Array<number | null>>();
  const truthClass = new Map<number, string>();
  /** Ground position of each truth object at each sensor's current frame. */
  const frameTruthPos = new Map<string, Map<number, { x: number; y: number }>>();
  const votes = new TrackVotes();
  const backend = onnxFusionFactory({
    scorer: null,
    hooks: {
      pairs(batch, set, tracks) {
        const ids = frameTruth.get(batch.sensorId) ?? [];
        const ms = batch.measurements;
        const detTruth = ms.map((m) => ids[m.objectIndex] ?? null);
        const tTruth = tracks.map((t) => votes.truth(t));
        const lab = labelPairs(set, detTruth, tTruth, (id) => truthClass.get(id), seed, counts);
        // Placement targets: the true centre relative to the detection's calibration placement, in ray coordinates.
        const pos = frameTruthPos.get(batch.sensorId);
        const place = placeTargets(set, ms, batch.sensor.camera!.center, detTruth, (id) => pos?.get(id), counts);
        ds.add(set.features, lab, place);
      },
      applied(batch, updated, born) {
        const ids = frameTruth.get(batch.sensorId) ?? [];
        const w = batch.sensorKind === 'camera' ? 0.5 : 1;
        for (const u of updated) votes.vote(u.track, ids[u.m.objectIndex] ?? null, w);
        for (const b of born) votes.vote(b.track, ids[b.m.objectIndex] ?? null, w);
      },
    },
  });
  const density = seed % 3;
  const r = await runScenario({
    seed,
    durationS: Number(values.duration),
    perception: { backend },
    spawn: spawnFor(density),
    onObservation: (obs, tick) => {
      frameTruth.set(obs.frame.sensorId, obs.truthIds);
      frameTruthPos.set(obs.frame.sensorId, new Map(tick.objects.map((o) => [o.id, { x: o.position.x, y: o.position.y }])));
      for (const o of tick.objects) truthClass.set(o.id, o.class);
    },
  });
  console.log(`seed ${seed} (density ${density}): ${r.frames} frames, ${ds.rows} rows so far, ${(r.wallMs / 1000).toFixed(1)} s`);
}
await ds.close({ seeds, durationS: Number(values.duration) });
console.log(JSON.stringify(counts));
