#!/usr/bin/python3
"""Runs the AB3DMOT tracker (Weng et al., 2020) from a local checkout on detections in AB3DMOT's KITTI format and
writes KITTI tracking results: the baseline of `npm run eval:kitti`. AB3DMOT itself is not part of this
repository (non-commercial licence); this driver imports it from --ab3dmot. Same per-class parameters as its
main.py for PointRCNN (configs/KITTI.yml), without ego-motion compensation: the detections handed in are already
in the frame to track in (sensor or world). Prints the mean tracking time per frame as `ab3dmot_ms_per_frame`.

usage: run_ab3dmot.py --ab3dmot DIR --dets DIR --seqs 0000:154,0002:233 --out DIR
  --dets holds pointrcnn_{Car,Pedestrian,Cyclist}/NNNN.txt (frame,type,x1,y1,x2,y2,score,h,w,l,x,y,z,ry,alpha)
"""
import argparse, os, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ab3dmot', required=True)
    ap.add_argument('--dets', required=True)
    ap.add_argument('--seqs', required=True, help='comma-separated SEQ:FRAMES')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.ab3dmot)
    import numpy as np
    from AB3DMOT_libs.model import AB3DMOT
    from AB3DMOT_libs.io import load_detection, get_frame_det

    class Cfg:
        dataset, det_name, vis, ego_com, affi_pro = 'KITTI', 'pointrcnn', False, False, True

    id2str = {1: 'Pedestrian', 2: 'Car', 3: 'Cyclist'}
    os.makedirs(a.out, exist_ok=True)
    seqs = [(s.split(':')[0], int(s.split(':')[1])) for s in a.seqs.split(',')]
    lines = {s: [] for s, _ in seqs}
    id_start, total_t, total_frames = 1, 0.0, 0
    for cat in ['Car', 'Pedestrian', 'Cyclist']:
        for seq, nframes in seqs:
            f = os.path.join(a.dets, 'pointrcnn_%s' % cat, seq + '.txt')
            if not os.path.exists(f):
                continue
            dets, ok = load_detection(f)
            if not ok:
                continue
            trk = AB3DMOT(Cfg(), cat, ID_init=id_start)
            for frame in range(nframes):
                d = get_frame_det(dets, frame)
                t0 = time.perf_counter()
                res, _ = trk.track(d, frame, seq)
                total_t += time.perf_counter() - t0
                total_frames += 1
                for r in res[0]:
                    h, w, l, x, y, z, ry, tid, ori, typ = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]
                    b, conf = r[10:14], r[14]
                    lines[seq].append('%d %d %s 0 0 %f %f %f %f %f %f %f %f %f %f %f %f %f' % (
                        frame, tid, id2str[int(typ)], ori, b[0], b[1], b[2], b[3], h, w, l, x, y, z, ry, conf))
            id_start = max(id_start, trk.ID_count[0])
    for seq, _ in seqs:
        with open(os.path.join(a.out, seq + '.txt'), 'w') as fh:
            fh.write(''.join(l + '\n' for l in lines[seq]))
    print('ab3dmot_ms_per_frame %.4f over %d category-frames' % (1000 * total_t / max(1, total_frames), total_frames))


if __name__ == '__main__':
    main()
