// A quick stand-in for evaluate.py, for tuning only (`eval:kitti -- --proxy`): CLEAR MOT per class at a 3D IoU,
// with evaluate.py's main rules (labels of the neighbouring class — Van for Car, Person_sitting for Pedestrian —,
// truncated, occluded beyond level 2 or lower than 25 px are "don't care": matching them is no TP, missing them
// no FN; result boxes over DontCare regions or under 25 px that match nothing are not FP; a track is kept or
// dropped as a whole by its average score, the threshold chosen for the best MOTA), by the labels' range from
// the camera. Also the camera placements' normalised errors (NEES). Reported numbers come from evaluate.py.

import { existsSync, readFileSync } from 'node:fs';
import { bevIntersection, type GroundBox } from '../../perception/box-overlap.js';
import { iouRect } from '../../perception/fusion-features.js';
import { groupByFrame, type CamBox } from './data.js';
import type { Placement } from './run.js';

export interface Label {
  frame: number;
  id: number;
  type: string;
  truncation: number;
  occlusion: number;
  bbox: [number, number, number, number];
  box: CamBox;
}

/** KITTI tracking label (or result) rows: frame id type trunc occ alpha x1 y1 x2 y2 h w l x y z ry [score]. */
export function readLabelRows(text: string): Array<Label & { score: number }> {
  const out: Array<Label & { score: number }> = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 17) continue;
    const n = f.map(Number);
    out.push({
      frame: n[0]!,
      id: n[1]!,
      type: f[2]!,
      truncation: n[3]!,
      occlusion: n[4]!,
      bbox: [n[6]!, n[7]!, n[8]!, n[9]!],
      box: { h: n[10]!, w: n[11]!, l: n[12]!, x: n[13]!, y: n[14]!, z: n[15]!, ry: n[16]! },
      score: f.length > 17 ? n[17]! : 1,
    });
  }
  return out;
}

export const readLabels = (file: string): Label[] => (existsSync(file) ? readLabelRows(readFileSync(file, 'utf8')) : []);

/** A camera-frame box's footprint on the ground (x, z) plane; ry turns from x towards -z. */
const footprint = (b: CamBox): GroundBox => ({ x: b.x, y: b.z, length: b.l, width: b.w, yaw: -b.ry });

/** 3D IoU of two camera-frame boxes (bottom centre, y down). */
export function iou3d(a: CamBox, b: CamBox): number {
  if (Math.hypot(a.x - b.x, a.z - b.z) > (a.l + a.w + b.l + b.w) / 2) return 0;
  const inter = bevIntersection(footprint(a), footprint(b));
  const yo = Math.max(0, Math.min(a.y, b.y) - Math.max(a.y - a.h, b.y - b.h));
  const vi = inter * yo;
  const u = a.l * a.w * a.h + b.l * b.w * b.h - vi;
  return u > 0 ? vi / u : 0;
}

/** IoU of two image boxes (x1, y1, x2, y2). */
export function iou2d(a: readonly number[], b: readonly number[]): number {
  return iouRect({ x0: a[0]!, y0: a[1]!, x1: a[2]!, y1: a[3]! }, { x0: b[0]!, y0: b[1]!, x1: b[2]!, y1: b[3]! });
}

/** Share of box a covered by box b. */
function cover(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  return (iw * ih) / Math.max(1e-9, (a[2]! - a[0]!) * (a[3]! - a[1]!));
}

export const RANGE_BINS = [0, 20, 40, 60, Infinity] as const;
const binOf = (r: number): number => RANGE_BINS.findIndex((lo, i) => r >= lo && r < RANGE_BINS[i + 1]!);

export interface ProxyScore {
  cls: string;
  mota: number;
  threshold: number;
  gt: number;
  fp: number;
  fn: number;
  ids: number;
  /** Per range bin (labels' and false tracks' range from the camera): MOTA and recall. */
  bins: Array<{ range: string; gt: number; tp: number; fp: number; fn: number; mota: number; recall: number }>;
}

const NEIGHBOUR: Record<string, string> = { Car: 'Van', Pedestrian: 'Person_sitting' };

/** CLEAR MOT of one class over sequences of (labels, results), at the threshold giving the best MOTA. */
export function proxyScore(cls: 'Car' | 'Pedestrian' | 'Cyclist', seqs: Array<{ labels: Label[]; results: Array<Label & { score: number }> }>, iou: number): ProxyScore {
  // Average score per track (evaluate.py keeps or drops a track as a whole).
  const avg = seqs.map((s) => {
    const m = new Map<number, { sum: number; n: number }>();
    for (const r of s.results) {
      if (r.type !== cls) continue;
      const e = m.get(r.id) ?? { sum: 0, n: 0 };
      e.sum += r.score;
      e.n++;
      m.set(r.id, e);
    }
    return new Map([...m].map(([k, v]) => [k, v.sum / v.n]));
  });
  const all = avg.flatMap((m) => [...m.values()]).sort((a, b) => a - b);
  const cands = [-Infinity, ...Array.from({ length: 24 }, (_, i) => all[Math.floor((i / 24) * all.length)] ?? -Infinity)];
  let best: ProxyScore | undefined;
  for (const th of cands) {
    const bins = RANGE_BINS.slice(0, -1).map((lo, i) => ({ range: `${lo}-${RANGE_BINS[i + 1] === Infinity ? '' : RANGE_BINS[i + 1]} m`, gt: 0, tp: 0, fp: 0, fn: 0, mota: 0, recall: 0 }));
    let fp = 0;
    let fn = 0;
    let ids = 0;
    let gtN = 0;
    seqs.forEach((s, si) => {
      const byF = new Map<number, { g: Label[]; r: Label[] }>();
      const at = (f: number) => byF.get(f) ?? (byF.set(f, { g: [], r: [] }), byF.get(f)!);
      for (const g of s.labels) at(g.frame).g.push(g);
      for (const r of s.results) if (r.type === cls && (avg[si]!.get(r.id) ?? -Infinity) >= th) at(r.frame).r.push(r);
      const lastMatch = new Map<number, number>();
      for (const f of [...byF.keys()].sort((a, b) => a - b)) {
        const { g, r } = byF.get(f)!;
        const gts = g.filter((x) => x.type === cls || x.type === NEIGHBOUR[cls]);
        const care = gts.map((x) => x.type === cls && x.occlusion <= 2 && x.truncation <= 0 && x.bbox[3] - x.bbox[1] > 25);
        const dontcare = g.filter((x) => x.type === 'DontCare');
        // Greedy on IoU (best pairs first): close to evaluate.py's Hungarian at these densities.
        const pairs: Array<[number, number, number]> = [];
        for (let i = 0; i < gts.length; i++) for (let j = 0; j < r.length; j++) {
          const v = iou3d(gts[i]!.box, r[j]!.box);
          if (v >= iou) pairs.push([v, i, j]);
        }
        pairs.sort((a, b) => b[0] - a[0]);
        const gUsed = new Int32Array(gts.length).fill(-1);
        const rUsed = new Uint8Array(r.length);
        for (const [, i, j] of pairs) {
          if (gUsed[i]! >= 0 || rUsed[j]) continue;
          gUsed[i] = j;
          rUsed[j] = 1;
        }
        for (let i = 0; i < gts.length; i++) {
          if (!care[i]) continue;
          const b = binOf(Math.hypot(gts[i]!.box.x, gts[i]!.box.z));
          gtN++;
          bins[b]!.gt++;
          if (gUsed[i]! >= 0) {
            bins[b]!.tp++;
            const tid = r[gUsed[i]!]!.id;
            const prev = lastMatch.get(gts[i]!.id);
            if (prev !== undefined && prev !== tid) ids++;
            lastMatch.set(gts[i]!.id, tid);
          } else {
            fn++;
            bins[b]!.fn++;
          }
        }
        for (let j = 0; j < r.length; j++) {
          if (rUsed[j]) continue;
          const rb = r[j]!.bbox;
          if (rb[3] - rb[1] <= 25 || dontcare.some((d) => cover(rb, d.bbox) >= 0.5)) continue;
          fp++;
          bins[binOf(Math.hypot(r[j]!.box.x, r[j]!.box.z))]!.fp++;
        }
      }
    });
    const mota = gtN ? 1 - (fp + fn + ids) / gtN : 0;
    if (!best || mota > best.mota) {
      for (const b of bins) {
        b.mota = b.gt ? 1 - (b.fp + b.fn) / b.gt : 0;
        b.recall = b.gt ? b.tp / b.gt : 0;
      }
      best = { cls, mota, threshold: th, gt: gtN, fp, fn, ids, bins };
    }
  }
  return best!;
}

export interface NeesRow {
  source: Placement['source'];
  cls: string;
  n: number;
  /** Median horizontal error, m. */
  medianErrM: number;
  /** Mean NEES (2 dof: 2 when calibrated). */
  meanNees: number;
  /** Shares of the along-ray and across-ray errors within 1σ and 3σ of the stated placement uncertainty. */
  along1: number;
  along3: number;
  across1: number;
  across3: number;
}

/**
 * Placement errors against the labels: each 2D detection is matched to the label of its class (Van counts for
 * Car) with the largest image-box IoU ≥ 0.5; the error is the placement minus the label's bottom centre.
 */
export function neesTable(items: Array<{ placements: Placement[]; dets2d: Array<{ frame: number; cls: string; bbox: readonly number[] }>; labels: Label[] }>): NeesRow[] {
  const acc = new Map<string, { e: number[]; nees: number[]; a: number[]; c: number[] }>();
  for (const it of items) {
    const frameDets = groupByFrame(it.dets2d);
    const frameLabels = groupByFrame(it.labels);
    for (const p of it.placements) {
      const d = frameDets.get(p.frame)?.[p.det];
      if (!d) continue;
      let best: Label | undefined;
      let bi = 0.5;
      for (const l of frameLabels.get(p.frame) ?? []) {
        if (!(l.type === d.cls || (d.cls === 'Car' && l.type === 'Van'))) continue;
        const v = iou2d(d.bbox, l.bbox);
        if (v >= bi) {
          bi = v;
          best = l;
        }
      }
      if (!best) continue;
      // Label bottom centre in the sensor frame: x forward = z, y left = −x.
      const ex = p.x - best.box.z;
      const ey = p.y + best.box.x;
      const [cxx, cxy, cyy] = p.cov;
      const det = cxx * cyy - cxy * cxy;
      if (!(det > 0)) continue;
      const nees = (cyy * ex * ex - 2 * cxy * ex * ey + cxx * ey * ey) / det;
      const az = Math.atan2(p.y, p.x);
      const ca = Math.cos(az);
      const sa = Math.sin(az);
      const ea = ex * ca + ey * sa;
      const ec = -ex * sa + ey * ca;
      const va = ca * ca * cxx + 2 * ca * sa * cxy + sa * sa * cyy;
      const vc = sa * sa * cxx - 2 * ca * sa * cxy + ca * ca * cyy;
      const key = `${p.source}/${d.cls}`;
      const a = acc.get(key) ?? (acc.set(key, { e: [], nees: [], a: [], c: [] }), acc.get(key)!);
      a.e.push(Math.hypot(ex, ey));
      a.nees.push(nees);
      a.a.push(Math.abs(ea) / Math.sqrt(va));
      a.c.push(Math.abs(ec) / Math.sqrt(vc));
    }
  }
  const share = (xs: number[], k: number) => xs.filter((x) => x <= k).length / Math.max(1, xs.length);
  return [...acc].map(([key, a]) => {
    const [source, cls] = key.split('/') as [Placement['source'], string];
    const e = [...a.e].sort((x, y) => x - y);
    return {
      source,
      cls,
      n: e.length,
      medianErrM: e[Math.floor(e.length / 2)] ?? NaN,
      meanNees: a.nees.reduce((s, v) => s + v, 0) / Math.max(1, a.nees.length),
      along1: share(a.a, 1),
      along3: share(a.a, 3),
      across1: share(a.c, 1),
      across3: share(a.c, 3),
    };
  });
}
