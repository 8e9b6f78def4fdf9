#!/usr/bin/python3
"""Tuning aid for `npm run eval:kitti`: AB3DMOT's KITTI 3D MOT evaluation (scripts/KITTI/evaluate.py of a local
checkout, imported, never copied) for ONE class, with the same confidence-threshold sweep and best-MOTA choice, but
each 3D IoU computed once (memoised across the sweep) and skipped for box pairs whose footprint circles do not touch
(their IoU is 0). Same numbers as evaluate.py (checked on the dev split: Car world, ours 67.52 % / FP 2378 / FN 2718
and AB3DMOT 77.03 % / 893 / 2711 from both), 10-40x faster. Report final numbers from evaluate.py itself.

usage: score_fast.py --ab3dmot DIR ROOT NAME CLASS IOU [--dump FILE]
  ROOT: a frame directory of eval:kitti's --work (holds scripts/KITTI/label and results/KITTI/NAME/data_0)
  --dump: the precision/recall sweep, every tracker row at the best threshold (TP/ignored flags) and every
          missed label, for looking at what the false positives and misses are.
"""
import argparse, math, os, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ab3dmot', required=True)
    ap.add_argument('root'); ap.add_argument('name'); ap.add_argument('cls'); ap.add_argument('iou', type=float)
    ap.add_argument('--dump')
    a = ap.parse_args()
    dump = os.path.abspath(a.dump) if a.dump else None
    sys.path[:0] = [a.ab3dmot, os.path.join(a.ab3dmot, 'scripts', 'KITTI')]
    os.chdir(a.root)
    import evaluate as E
    exact = E.iou
    cache = {}

    def iou(p, q, metric='iou_3d'):
        k = (id(p), id(q))
        v = cache.get(k)
        if v is None:
            dx, dz = p.x - q.x, p.z - q.z
            r = 0.5 * (math.hypot(p.l, p.w) + math.hypot(q.l, q.w))
            v = 0.0 if dx * dx + dz * dz > r * r else exact(p, q, metric)
            cache[k] = v
        return v
    E.iou = iou

    class Quiet:
        def msg(self, s): pass
    t0 = time.time()
    e = E.trackingEvaluation(t_sha=a.name, mail=Quiet(), cls=a.cls, eval_3diou=True, eval_2diou=False, num_hypo='1', thres=a.iou)
    if not e.loadTracker() or not e.loadGroundtruth():
        sys.exit('no results or labels for %s' % a.cls)
    e.compute3rdPartyMetrics()
    best, best_t, smota, curve = 0, -10000, 0, []
    for th, rc in zip(*e.getThresholds(e.scores, e.num_gt)):
        e.reset(); e.compute3rdPartyMetrics(th, rc)
        curve.append((rc, e.recall, e.precision, e.MOTA, e.fp, e.fn))
        smota += e.sMOTA
        if e.MOTA > best: best, best_t = e.MOTA, th
    e.reset(); e.compute3rdPartyMetrics(best_t)
    print('%s %s iou%s MOTA %.4f sAMOTA %.4f MOTP %.4f IDS %d FRAG %d FP %d FN %d threshold %.3f (%.0f s)' % (
        a.name, a.cls, a.iou, e.MOTA, smota / (E.num_sample_pts - 1), e.MOTP, e.id_switches, e.fragments, e.fp, e.fn, best_t, time.time() - t0))
    if not dump:
        return
    # evaluate.py never clears a row's matched flag between thresholds: clear it and score the best threshold again.
    for seq in e.tracker:
        for t in seq:
            for r in t: r.valid = False; r.ignored = False
    e.reset(); e.compute3rdPartyMetrics(best_t)
    with open(dump, 'w') as fh:
        for c in curve: fh.write('curve %.3f %.4f %.4f %.4f %d %d\n' % c)
        for si, seq in enumerate(e.groundtruth):
            for f, g in enumerate(seq):
                for x in g:
                    if x.tracker < 0 and not x.ignored:
                        fh.write('fn %s %d %d %.2f %.2f %.2f %.2f %.2f %.2f %.3f\n' % (e.sequence_name[si], f, x.track_id, x.x, x.y, x.z, x.h, x.w, x.l, x.ry))
        for si, seq in enumerate(e.tracker):
            for f, t in enumerate(seq):
                for r in t:
                    if r.score >= best_t:
                        fh.write('trk %s %d %d %.4f %.2f %.2f %d %d\n' % (e.sequence_name[si], f, r.track_id, r.score, r.x, r.z, int(r.valid), int(r.ignored)))


if __name__ == '__main__':
    main()
