// The evaluation metrics on small sequences computed by hand: CLEAR MOT (MOTA, ID switches with the continuity
// rule of Bernardin & Stiefelhagen 2008), IDF1 (Ristani et al. 2016, global trajectory matching), the 2 m
// ground-plane threshold, don't-care objects, precision/recall, RMSEs, heading and class accuracy, per class,
// and sums over sequences.

import t from 'tap';
import { combine, evaluateSequence, matchTrajectories, summarize, type EvalFrame, type GtObject, type TrackObject } from '../runtime/eval/metrics.js';

const g = (id: number, x: number, y = 0, extra: Partial<GtObject> = {}): GtObject => ({ id, x, y, ...extra });
const h = (id: number, x: number, y = 0, extra: Partial<TrackObject> = {}): TrackObject => ({ id, x, y, ...extra });
const run = (frames: EvalFrame[]) => summarize(evaluateSequence(frames));
const close = (t: { ok: (v: boolean, msg: string) => unknown }, a: number | null, b: number, msg: string) => t.ok(a !== null && Math.abs(a - b) < 1e-9, `${msg}: ${a} ≈ ${b}`);

t.test('perfect tracking: MOTA 1, IDF1 1, no errors', async (t) => {
  // 3 frames, 2 objects, each followed by its own track 0.1 m off.
  const frames: EvalFrame[] = [0, 1, 2].map((k) => ({ t: k, gt: [g(1, k), g(2, 10 + k)], tracks: [h(7, k + 0.1), h(8, 10 + k + 0.1)] }));
  const s = run(frames);
  t.equal(s.gt, 6);
  t.equal(s.tp, 6);
  t.equal(s.fp + s.fn + s.idsw, 0);
  t.equal(s.mota, 1);
  t.equal(s.idf1, 1);
  t.equal(s.precision, 1);
  t.equal(s.recall, 1);
  close(t, s.posRmse, 0.1, 'position RMSE');
  close(t, s.motp, 0.1, 'MOTP');
});

t.test('the 2 m threshold on the ground plane is inclusive', async (t) => {
  // Frame 0: track exactly 2 m away (sqrt(1.2² + 1.6²) = 2) → match. Frame 1: 2.01 m → FN + FP.
  const s = run([
    { t: 0, gt: [g(1, 0, 0)], tracks: [h(5, 1.2, 1.6)] },
    { t: 1, gt: [g(1, 0, 0)], tracks: [h(5, 2.01, 0)] },
  ]);
  t.equal(s.tp, 1);
  t.equal(s.fn, 1);
  t.equal(s.fp, 1);
  // MOTA = 1 − (1 + 1 + 0) / 2 = 0.
  t.equal(s.mota, 0);
  // IDF1: track 5 and object 1 overlap in 1 frame → IDTP 1, IDFN 1, IDFP 1 → 2/(2+1+1) = 0.5.
  t.equal(s.idf1, 0.5);
});

t.test('FN, FP and MOTA counted per frame', async (t) => {
  // Frame 0: A matched, B missed, one track far from anything (FP).
  // Frame 1: A and B matched. Frame 2: nothing but an FP.
  // GT = 4, TP = 3, FN = 1, FP = 2, IDSW = 0 → MOTA = 1 − 3/4 = 0.25; precision 3/5, recall 3/4.
  const s = run([
    { t: 0, gt: [g(1, 0), g(2, 20)], tracks: [h(1, 0.5), h(9, 50)] },
    { t: 1, gt: [g(1, 1), g(2, 20)], tracks: [h(1, 1.5), h(2, 20)] },
    { t: 2, gt: [], tracks: [h(9, 50)] },
  ]);
  t.match(s, { gt: 4, tp: 3, fn: 1, fp: 2, idsw: 0 });
  close(t, s.mota, 0.25, 'MOTA');
  close(t, s.precision, 0.6, 'precision');
  close(t, s.recall, 0.75, 'recall');
  // Position RMSE over the 3 matches: sqrt((0.25 + 0.25 + 0) / 3).
  close(t, s.posRmse, Math.sqrt(0.5 / 3), 'position RMSE');
});

t.test('ID switch when an object is handed from one track to another; IDF1 keeps one', async (t) => {
  // Object A at x = 0 for 4 frames; track 1 on it in frames 0-1, track 2 in frames 2-3.
  // CLEAR: TP 4, IDSW 1 (frame 2) → MOTA = 1 − 1/4 = 0.75.
  // IDF1: A is matched to track 1 (or 2; 2 frames each): IDTP 2, IDFN 4 − 2 = 2, IDFP 4 − 2 = 2 → 4/8 = 0.5.
  const s = run([
    { t: 0, gt: [g(1, 0)], tracks: [h(1, 0)] },
    { t: 1, gt: [g(1, 0)], tracks: [h(1, 0)] },
    { t: 2, gt: [g(1, 0)], tracks: [h(2, 0)] },
    { t: 3, gt: [g(1, 0)], tracks: [h(2, 0)] },
  ]);
  t.match(s, { tp: 4, fp: 0, fn: 0, idsw: 1 });
  t.equal(s.mota, 0.75);
  t.equal(s.idf1, 0.5);
  close(t, s.idp, 0.5, 'IDP');
  close(t, s.idr, 0.5, 'IDR');
});

t.test('an ID switch across a gap counts (the last match, not the previous frame)', async (t) => {
  // A matched to track 1 in frame 0, missed in frame 1, matched to track 2 in frame 2:
  // TP 2, FN 1, IDSW 1 → MOTA = 1 − (1 + 0 + 1)/3 = 1/3. One fragmentation.
  // Back to the same track after a gap is no switch (second sequence): IDSW 0, FRAG 1.
  const s = run([
    { t: 0, gt: [g(1, 0)], tracks: [h(1, 0)] },
    { t: 1, gt: [g(1, 0)], tracks: [] },
    { t: 2, gt: [g(1, 0)], tracks: [h(2, 0)] },
  ]);
  t.match(s, { tp: 2, fn: 1, idsw: 1, frag: 1 });
  close(t, s.mota, 1 / 3, 'MOTA');
  const same = run([
    { t: 0, gt: [g(1, 0)], tracks: [h(1, 0)] },
    { t: 1, gt: [g(1, 0)], tracks: [] },
    { t: 2, gt: [g(1, 0)], tracks: [h(1, 0)] },
  ]);
  t.match(same, { tp: 2, fn: 1, idsw: 0, frag: 1 });
});

t.test('continuity: a correspondence still within the threshold is kept (no switch to a closer object)', async (t) => {
  // Frame 0: A at 0, B at 3; track 1 at 0.2 (on A), track 2 at 3.1 (on B).
  // Frame 1: A at 0, B at 1.0; track 1 at 0.9, track 2 gone. Track 1 is 0.9 m from A (still valid) and 0.1 m
  // from B. B&S step 1 keeps 1↔A: TP A, FN B, no switch. (Plain Hungarian would pick B, the closer one, and
  // count a switch.) Totals: GT 4, TP 3, FN 1, IDSW 0 → MOTA 0.75.
  const frames: EvalFrame[] = [
    { t: 0, gt: [g(1, 0), g(2, 3)], tracks: [h(1, 0.2), h(2, 3.1)] },
    { t: 1, gt: [g(1, 0), g(2, 1.0)], tracks: [h(1, 0.9)] },
  ];
  const s = run(frames);
  t.match(s, { tp: 3, fn: 1, fp: 0, idsw: 0 });
  t.equal(s.mota, 0.75);
  const noCont = summarize(evaluateSequence(frames, { continuity: false }));
  t.match(noCont, { tp: 3, fn: 1, idsw: 1 }, 'without the rule: a switch (1 goes to B, whose last track was 2)');
});

t.test('IDF1: the global trajectory matching, not the greedy one', async (t) => {
  // A at x = 0 in frames 0-4; B at x = 10 in frames 3-4.
  // Track 1 on A in frames 0-2, then on B in frames 3-4; track 2 on A in frames 3-4.
  // Overlaps: A-1 = 3, A-2 = 2, B-1 = 2. Greedy gives IDTP 3; the optimum is A-2 + B-1 = 4.
  // GT detections 5 + 2 = 7, track detections 5 + 2 = 7: IDFN = IDFP = 3 → IDF1 = 8 / (8 + 3 + 3) = 4/7.
  // CLEAR: every object matched every frame (TP 7); in frame 3 A goes from track 1 to track 2: IDSW 1
  // → MOTA = 1 − 1/7.
  const frames: EvalFrame[] = [];
  for (let k = 0; k < 5; k++) {
    const gt = [g(1, 0)];
    const tracks = [h(1, k < 3 ? 0 : 10)];
    if (k >= 3) {
      gt.push(g(2, 10));
      tracks.push(h(2, 0));
    }
    frames.push({ t: k, gt, tracks });
  }
  const s = run(frames);
  close(t, s.idf1, 4 / 7, 'IDF1');
  t.match(s, { tp: 7, fp: 0, fn: 0, idsw: 1 });
  close(t, s.mota, 6 / 7, 'MOTA');
  const m = matchTrajectories(new Map([[1, new Map([[1, 3], [2, 2]])], [2, new Map([[1, 2]])]]));
  t.same(m.sort((a, b) => a[0] - b[0]), [[1, 2, 2], [2, 1, 2]], 'A↔2, B↔1');
});

t.test('don\'t-care objects: a track on one is neither TP nor FP, missing one is no FN', async (t) => {
  // Frame 0: A counted and tracked; C (not counted) with a track on it; D (not counted) untracked.
  // Frame 1: A counted, missed; a track 30 m from anything (FP).
  // GT 2, TP 1, FN 1, FP 1 → MOTA 0; the track on C counts nowhere (precision 1/2).
  const s = run([
    { t: 0, gt: [g(1, 0), g(3, 10, 0, { counted: false }), g(4, 40, 0, { counted: false })], tracks: [h(1, 0), h(3, 10.5)] },
    { t: 1, gt: [g(1, 0)], tracks: [h(9, 30)] },
  ]);
  t.match(s, { gt: 2, tp: 1, fn: 1, fp: 1, idsw: 0 });
  t.equal(s.mota, 0);
  t.equal(s.precision, 0.5);
  // IDF1: GT dets 2, counted track dets 2 (track 3 dropped), IDTP 1 → 2/(2 + 1 + 1) = 0.5.
  t.equal(s.idf1, 0.5);
});

t.test('velocity RMSE, heading error of moving objects, class accuracy, per class', async (t) => {
  // Car A moving east at 10 m/s; track velocity (10, 1) then (8, 0) → squared errors 1, 4 → RMSE sqrt(2.5).
  // Heading: truth 0, track 10° then −20° → mean absolute 15°.
  // Pedestrian P standing (speed 0): its 90° heading error is not counted; its velocity error 0.
  // Classes: A right in frame 0, 'van' in frame 1; P right twice → 3/4.
  const deg = Math.PI / 180;
  const s = run([
    {
      t: 0,
      gt: [g(1, 0, 0, { vx: 10, vy: 0, yaw: 0, cls: 'car' }), g(2, 20, 0, { vx: 0, vy: 0, yaw: 0, cls: 'pedestrian' })],
      tracks: [h(1, 0, 0, { vx: 10, vy: 1, yaw: 10 * deg, cls: 'car' }), h(2, 20, 0, { vx: 0, vy: 0, yaw: 90 * deg, cls: 'pedestrian' })],
    },
    {
      t: 1,
      gt: [g(1, 1, 0, { vx: 10, vy: 0, yaw: 0, cls: 'car' }), g(2, 20, 0, { vx: 0, vy: 0, yaw: 0, cls: 'pedestrian' })],
      tracks: [h(1, 1, 0, { vx: 8, vy: 0, yaw: -20 * deg, cls: 'van' }), h(2, 20, 0, { vx: 0, vy: 0, yaw: 90 * deg, cls: 'pedestrian' }), h(3, 60, 0, { cls: 'pedestrian' })],
    },
  ]);
  close(t, s.velRmse, Math.sqrt(5 / 4), 'velocity RMSE over the 4 matches: sqrt((1 + 4 + 0 + 0)/4)');
  close(t, s.headingErrDeg, 15, 'heading error');
  t.equal(s.classAcc, 0.75);
  const car = s.perClass['car']!;
  close(t, car.velRmse, Math.sqrt(2.5), 'car velocity RMSE');
  t.equal(car.classAcc, 0.5);
  t.match(s.perClass['pedestrian'], { gt: 2, tp: 2, fp: 1 }, 'the false positive is filed under the track\'s class');
  close(t, s.perClass['pedestrian']!.mota, 0.5, 'pedestrian MOTA = 1 − 1/2');
  t.equal(s.perClass['car']!.mota, 1);
});

t.test('subsets and sums over sequences', async (t) => {
  // Sequence 1: A (near) matched twice; B (far) missed twice. Sequence 2: A (near) missed once.
  // Summed: GT 5, TP 2, FN 3 → recall 0.4; MOTA 1 − 3/5; subset 'near': 2 of 3; 'far': 0 of 2.
  const near = { subsets: ['near'], cls: 'pedestrian' };
  const far = { subsets: ['far'], cls: 'car' };
  const a = evaluateSequence([
    { t: 0, gt: [g(1, 0, 0, near), g(2, 80, 0, far)], tracks: [h(1, 0.3)] },
    { t: 1, gt: [g(1, 0, 0, near), g(2, 80, 0, far)], tracks: [h(1, 0.4)] },
  ]);
  // Ids repeat across sequences; each sequence is scored on its own, so no switch is counted.
  const b = evaluateSequence([{ t: 0, gt: [g(1, 0, 0, near)], tracks: [] }]);
  const s = summarize(combine([a, b]));
  t.match(s, { frames: 3, gt: 5, tp: 2, fn: 3, idsw: 0 });
  close(t, s.recall, 0.4, 'recall');
  close(t, s.mota, 0.4, 'MOTA');
  close(t, s.subsets['near']!.recall, 2 / 3, 'near recall');
  t.equal(s.subsets['far']!.recall, 0);
  close(t, s.subsets['near']!.perClass['pedestrian']!.recall, 2 / 3, 'near pedestrian recall');
  close(t, s.subsets['near']!.posRmse, Math.sqrt((0.09 + 0.16) / 2), 'near position RMSE');
  t.equal(summarize(evaluateSequence([])).mota, null, 'no ground truth: MOTA null');
});
