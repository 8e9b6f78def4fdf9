// Training data for the fusion model from labelled recordings in KITTI tracking format (a deployer's own site
// data, or KITTI's development split for evaluation): the lidar's 3D boxes and the camera's 2D boxes go through
// the same stage as `eval:kitti --fusion onnx` (rule-based tracker, the camera's P2 calibration, its ground from
// the lidar), and at every camera frame the pair features are written with labels from the label files, in
// gen-data.ts's format (features.f32, labels.i32, place.f32, meta.json), for train.py.
//
//   npx tsx scripts/train-fusion/gen-kitti.ts --data DIR [--seqs 0000,0002] [--camera JSON] --out /tmp/rsu-fusion-kitti
//
// DIR's layout is eval:kitti's (docs/eval/KITTI.md): detections/pointrcnn_{Car,Pedestrian,Cyclist}/SEQ.txt,
// detections2d/rrc_{Car,Pedestrian}/SEQ.txt, label_02/SEQ.txt, calib/SEQ.txt. Labels: a camera box's object is
// the label of its class group with the largest image-box IoU (≥ 0.5); a lidar box's, the nearest label of its
// group whose centre is within 1 m (vehicles) or 0.5 m; a track's, the majority of the (decaying) votes of the
// boxes that updated it, as in gen-data.ts. The "seed" column is the sequence number: train.py validates on the
// last one. A model trained on KITTI carries KITTI's licence (CC BY-NC-SA 3.0): keep it off the repository.

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkSequences } from '../../runtime/eval/kitti/cli.js';
import { groupByFrame, loadSequence } from '../../runtime/eval/kitti/data.js';
import { iou2d, readLabels } from '../../runtime/eval/kitti/proxy.js';
import { CLASS_OF, runOurs } from '../../runtime/eval/kitti/run.js';
import type { OUTPUT_CLASSES } from '../../runtime/perception/fusion-features.js';
import { onnxFusionFactory } from '../../runtime/perception/onnx.js';
import { sameClassGroup } from '../../runtime/perception/tracker.js';
import { labelPairs, PairDataset, placeTargets, TrackVotes } from './pairs.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    seqs: { type: 'string' },
    camera: { type: 'string', default: '{"groundFromLidar":true,"groundStdM":0.2}' },
    tracker: { type: 'string', default: '{"headingFromBox":true,"separateClassGroups":true,"processNoise":20,"classProcessNoise":{"pedestrian":10,"twoWheeler":10}}' },
    out: { type: 'string', default: '/tmp/rsu-fusion-kitti' },
    'allow-held-out': { type: 'boolean' },
  },
});
if (!values.data || !existsSync(values.data)) throw new Error('--data DIR: labelled recordings in KITTI tracking format (see the header)');
const data = resolve(values.data);
const seqs = values.seqs ? values.seqs.split(',').map((s) => s.trim().padStart(4, '0')) : readdirSync(join(data, 'label_02')).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4)).sort();
checkSequences(seqs, values['allow-held-out'] === true);

/** A label's class as the model's output class; undefined: not an object class (DontCare, Misc). */
const LABEL_CLASS: Record<string, (typeof OUTPUT_CLASSES)[number] | undefined> = {
  Car: 'car',
  Van: 'van',
  Truck: 'truck',
  Tram: 'bus',
  Pedestrian: 'pedestrian',
  Person_sitting: 'pedestrian',
  Cyclist: 'bicycle',
};

const ds = new PairDataset(values.out!);
const counts = ds.counts;

for (const name of seqs) {
  const seq = loadSequence(data, name);
  const labels = readLabels(join(data, 'label_02', `${name}.txt`)).filter((l) => LABEL_CLASS[l.type]);
  const byFrame = groupByFrame(labels);
  const truthClass = new Map<number, string>();
  for (const l of labels) truthClass.set(l.id, LABEL_CLASS[l.type]!);
  // Per frame, the label id of each detection (by index in the frame's detections), or null.
  const camTruth = new Map<number, Array<number | null>>();
  const lidarTruth = new Map<number, Array<number | null>>();
  for (const [k, dets] of groupByFrame(seq.dets2d))
    camTruth.set(
      k,
      dets.map((d) => {
        let best: number | null = null;
        let bi = 0.5;
        for (const l of byFrame.get(k) ?? []) {
          if (!sameClassGroup(LABEL_CLASS[l.type]!, CLASS_OF[d.cls])) continue;
          const v = iou2d(d.bbox, l.bbox);
          if (v >= bi) {
            bi = v;
            best = l.id;
          }
        }
        return best;
      }),
    );
  for (const [k, dets] of groupByFrame(seq.dets))
    lidarTruth.set(
      k,
      dets.map((d) => {
        let best: number | null = null;
        let bd = d.cls === 'Car' ? 1 : 0.5;
        for (const l of byFrame.get(k) ?? []) {
          if (!sameClassGroup(LABEL_CLASS[l.type]!, CLASS_OF[d.cls])) continue;
          const v = Math.hypot(l.box.x - d.box.x, l.box.z - d.box.z);
          if (v <= bd) {
            bd = v;
            best = l.id;
          }
        }
        return best;
      }),
    );
  const votes = new TrackVotes();
  const seqNo = Number(name);
  const backend = onnxFusionFactory({
    scorer: null,
    hooks: {
      pairs(batch, set, tracks) {
        const k = batch.frame.frameNumber;
        const ids = camTruth.get(k) ?? [];
        const ms = batch.measurements;
        const detTruth = ms.map((m) => ids[batch.frame.objects[m.objectIndex]!.id] ?? null);
        const tTruth = tracks.map((t) => votes.truth(t));
        const lab = labelPairs(set, detTruth, tTruth, (id) => truthClass.get(id), seqNo, counts);
        // Placement targets: the label's bottom centre (sensor frame: x forward = z, y left = −x).
        const pos = new Map((byFrame.get(k) ?? []).map((l) => [l.id, { x: l.box.z, y: -l.box.x }]));
        const place = placeTargets(set, ms, batch.sensor.camera!.center, detTruth, (id) => pos.get(id), counts);
        ds.add(set.features, lab, place);
      },
      applied(batch, updated, born) {
        const k = batch.frame.frameNumber;
        const ids = (batch.sensorKind === 'camera' ? camTruth : lidarTruth).get(k) ?? [];
        const w = batch.sensorKind === 'camera' ? 0.5 : 1;
        const idOf = (m: { objectIndex: number }) => ids[batch.frame.objects[m.objectIndex]!.id] ?? null;
        for (const u of updated) votes.vote(u.track, idOf(u.m), w);
        for (const b of born) votes.vote(b.track, idOf(b.m), w);
      },
    },
  });
  runOurs(seq, 'sensor', { fusion: 'onnx', backend, tracker: JSON.parse(values.tracker!), camera: JSON.parse(values.camera!) as Record<string, unknown> });
  console.log(`sequence ${name}: ${seq.frames} frames, ${ds.rows} rows so far`);
}
await ds.close({ seeds: seqs.map(Number), durationS: null, source: `KITTI-format recordings ${data}` });
console.log(JSON.stringify(counts));
