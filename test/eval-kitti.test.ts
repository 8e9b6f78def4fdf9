// eval:kitti without KITTI data: held-out refusal, the frame transforms, parsing evaluate.py's summary, the skip.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { checkSequences, parseEvaluateOutput } from '../runtime/eval/kitti/cli.js';
import { parsePrSummary, renderPrSvg } from '../runtime/eval/kitti/pr.js';
import { camToSensor, DEV_SEQUENCES, HELD_OUT_SEQUENCES, invert, projectBox, sensorToCam, transformBox, type CamBox } from '../runtime/eval/kitti/data.js';

t.test('held-out sequences are refused without --allow-held-out', async (t) => {
  t.doesNotThrow(() => checkSequences([...DEV_SEQUENCES], false));
  for (const s of HELD_OUT_SEQUENCES) t.throws(() => checkSequences(['0000', s], false), new RegExp(`${s}.*held out`));
  t.doesNotThrow(() => checkSequences(['0001'], true));
  t.equal(new Set([...DEV_SEQUENCES, ...HELD_OUT_SEQUENCES]).size, 21, 'the two splits cover the 21 training sequences once');
});

t.test('camera ↔ sensor frame and pose transforms round-trip', async (t) => {
  const b: CamBox = { h: 1.5, w: 1.6, l: 4, x: -3, y: 1.7, z: 20, ry: 0.3 };
  const s = camToSensor(b);
  t.ok(Math.abs(s.x - 20) < 1e-9 && Math.abs(s.y - 3) < 1e-9 && Math.abs(s.z - (-1.7 + 0.75)) < 1e-9, 'x forward, y left, z up, centre of the box');
  const back = sensorToCam({ x: s.x, y: s.y, zBottom: s.z - s.height / 2, yaw: s.yaw, length: s.length, width: s.width, height: s.height });
  for (const k of ['x', 'y', 'z', 'ry'] as const) t.ok(Math.abs(back[k] - b[k]) < 1e-9, k);
  // A car driving along the camera's z axis (ry = -π/2) heads along the sensor's x axis (yaw 0).
  t.ok(Math.abs(camToSensor({ ...b, ry: -Math.PI / 2 }).yaw) < 1e-9);
  // A pose turning 90° about the camera's y axis and moving 10 m; its inverse undoes it.
  const pose = [0, 0, 1, 10, 0, 1, 0, 0, -1, 0, 0, 5];
  const w = transformBox(b, pose);
  t.ok(Math.abs(w.x - (b.z + 10)) < 1e-9 && Math.abs(w.z - (-b.x + 5)) < 1e-9);
  const again = transformBox(w, invert(pose));
  for (const k of ['x', 'y', 'z'] as const) t.ok(Math.abs(again[k] - b[k]) < 1e-9, `pose round trip ${k}`);
  t.ok(Math.abs(Math.atan2(Math.sin(again.ry - b.ry), Math.cos(again.ry - b.ry))) < 1e-9, 'heading round trip');
  const p2 = [721.5, 0, 609.6, 44.9, 0, 721.5, 172.9, 0.2, 0, 0, 1, 0.003];
  const bb = projectBox(b, p2);
  t.ok(bb[0] < bb[2] && bb[1] < bb[3] && bb[0] >= 0 && bb[2] <= 1241, `image box ${bb.map((v) => v.toFixed(0)).join(',')}`);
  t.same(projectBox({ ...b, z: -5 }, p2), [0, 0, 0, 0], 'behind the camera: no image box');
});

// The summary block evaluate.py prints for one class (format of AB3DMOT 61f3bd7, numbers made up).
const SUMMARY = `Evaluate Object Class: CAR
Loading Groundtruth - Success
=================evaluation: best results with single threshold=================
Multiple Object Tracking Accuracy (MOTA)                                  0.7627
Multiple Object Tracking Precision (MOTP)                                 0.7962
Multiple Object Tracking Accuracy (MOTAL)                                 0.7627
False Positives                                                             1014
False Negatives                                                             2709
Ignored False Negatives                                                     1251
ID-switches                                                                    3
Fragmentations                                                                98
========================evaluation: average over recall=========================
 sAMOTA  AMOTA  AMOTP 
0.8453 0.3753 0.7209
`;

t.test("evaluate.py's summary is parsed per class", async (t) => {
  t.same(parseEvaluateOutput(SUMMARY), [{ cls: 'car', mota: 0.7627, motp: 0.7962, ids: 3, frag: 98, fp: 1014, fn: 2709, samota: 0.8453 }]);
  t.throws(() => parseEvaluateOutput(SUMMARY.replace(/False Positives.*\n/, '')), /no "False Positives"/);
});

t.test('without data the tool skips and says why', async (t) => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'runtime/eval/kitti/cli.ts', '--data', '/nonexistent/kitti'], { encoding: 'utf8' });
  t.match(out, /skipped: \/nonexistent\/kitti does not exist/);
  const r = (() => {
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'runtime/eval/kitti/cli.ts', '--data', '/', '--seqs', '0001'], { encoding: 'utf8', stdio: 'pipe' });
      return '';
    } catch (e) {
      return String((e as { stderr?: string }).stderr);
    }
  })();
  t.match(r, /0001 .*held out/);
});

t.test("precision/recall points from evaluate.py's per-threshold summary", async (t) => {
  const text = `========evaluation with confidence threshold 11.814004, recall 0.025000=========
 sMOTA   MOTA   MOTP    MT     ML     IDS  FRAG    F1   Prec  Recall  FAR     TP    FP    FN
0.9917 0.0248 0.8778 0.0158 0.9736     0     0 0.0560 0.9848 0.0288 0.0017   454     7 15295
================================================================================
========evaluation with confidence threshold 10.439150, recall 0.125000=========
 sMOTA   MOTA   MOTP    MT     ML     IDS  FRAG    F1   Prec  Recall  FAR     TP    FP    FN
1.0000 0.1266 0.8419 0.0976 0.8734     0     3 0.2525 0.9694 0.1452 0.0178  2315    73 13631
`;
  const pts = parsePrSummary(text);
  t.same(pts, [{ threshold: 11.814004, precision: 0.9848, recall: 0.0288 }, { threshold: 10.43915, precision: 0.9694, recall: 0.1452 }]);
  t.match(renderPrSvg('car', [{ name: 'a', points: pts }]), /<polyline[^>]+points="[0-9.]+,[0-9.]+ [0-9.]+,[0-9.]+"/);
});
