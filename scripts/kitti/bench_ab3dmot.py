#!/usr/bin/python3
"""Times the AB3DMOT tracker (Weng et al., 2020) on the frames of `npm run bench:perception`: the baseline beside
our perception stage's time per frame. AB3DMOT is not part of this repository (non-commercial licence); this
driver imports it from --ab3dmot. One AB3DMOT tracker per class (Car, Pedestrian, Cyclist, with its KITTI
PointRCNN settings), as AB3DMOT runs; a frame's time is the sum of the three trackers' track() calls.

usage: bench_ab3dmot.py --ab3dmot DIR --frames FILE --warmup N
  FILE: one JSON array per line (a lidar frame): [[cls, h, w, l, x, y, z, ry, score], ...] with cls 1 Pedestrian,
  2 Car, 3 Cyclist and the box in KITTI camera coordinates (x right, y down, z forward).
Prints one JSON object: frames, objects per frame, mean/p50/p90/p99/max ms per frame (after the warm-up).
"""
import argparse, json, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ab3dmot', required=True)
    ap.add_argument('--frames', required=True)
    ap.add_argument('--warmup', type=int, default=50)
    a = ap.parse_args()
    sys.path.insert(0, a.ab3dmot)
    import numpy as np
    from AB3DMOT_libs.model import AB3DMOT

    class Cfg:
        dataset, det_name, vis, ego_com, affi_pro = 'KITTI', 'pointrcnn', False, False, True

    names = {1: 'Pedestrian', 2: 'Car', 3: 'Cyclist'}
    trackers = {c: AB3DMOT(Cfg(), n, ID_init=1) for c, n in names.items()}
    times, objs = [], []
    with open(a.frames) as fh:
        frames = [json.loads(l) for l in fh if l.strip()]
    for k, dets in enumerate(frames):
        per = {}
        for d in dets:
            per.setdefault(int(d[0]), []).append(d)
        t = 0.0
        for c, trk in trackers.items():
            rows = per.get(c, [])
            arr = np.array([r[1:8] for r in rows], dtype=float).reshape(-1, 7)
            # info: orientation, type, 2D box (unused here), score: the columns AB3DMOT's loader gives it
            info = np.array([[0, c, 0, 0, 0, 0, r[8]] for r in rows], dtype=float).reshape(-1, 7)
            t0 = time.perf_counter()
            trk.track({'dets': arr, 'info': info}, k, 'bench')
            t += time.perf_counter() - t0
        if k >= a.warmup:
            times.append(1000 * t)
            objs.append(len(dets))
    s = sorted(times)
    pct = lambda p: s[min(len(s) - 1, int(p * len(s)))]
    print(json.dumps({'frames': len(times), 'objectsPerFrame': sum(objs) / max(1, len(objs)), 'mean': sum(times) / max(1, len(times)),
                      'p50': pct(0.5), 'p90': pct(0.9), 'p99': pct(0.99), 'max': s[-1] if s else 0}))


if __name__ == '__main__':
    main()
