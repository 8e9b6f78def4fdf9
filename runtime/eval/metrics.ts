// Tracking metrics on the ground plane: CLEAR MOT (Bernardin & Stiefelhagen 2008), IDF1 (Ristani et al. 2016),
// detection precision and recall, position and velocity RMSE, heading error and class accuracy, overall and per
// class. Pure functions of a sequence of frames (ground truth and tracks at the same instants); no simulator.
//
// Matching: a track and a ground-truth object correspond in a frame when their centres are at most
// `thresholdM` (2 m, as nuScenes) apart on the ground plane (x, y). See README.md for every definition.

import { hungarian } from '../perception/hungarian.js';

/** One ground-truth object at one instant: what a track says, and whether and where it is scored. */
export interface GtObject extends TrackObject {
  /**
   * Whether the object counts at this instant (inside the evaluated coverage). An object that does not count is
   * a "don't care": a track on it is neither a true nor a false positive, missing it is no miss. Default true.
   */
  counted?: boolean;
  /** Names of subsets this object belongs to at this instant (e.g. 'lidar', 'within50m'), for subset figures. */
  subsets?: readonly string[];
}

/** One track (hypothesis) at one instant. */
export interface TrackObject {
  /** Unique within the sequence (the same object keeps its id from frame to frame). */
  id: number;
  /** Ground-plane position, m. */
  x: number;
  y: number;
  /** Ground velocity, m/s. */
  vx?: number;
  vy?: number;
  /** Yaw: radians counter-clockwise from the x axis (direction of travel). */
  yaw?: number;
  cls?: string;
}

export interface EvalFrame {
  /** Time of the frame (any unit; only for reports and plots). */
  t: number;
  gt: readonly GtObject[];
  tracks: readonly TrackObject[];
}

export interface MetricOptions {
  /** Largest ground-plane distance of a match, m (inclusive). Default 2. */
  thresholdM: number;
  /** Heading error is measured on matched objects whose true speed is at least this, m/s. Default 1. */
  headingMinSpeedMs: number;
  /**
   * Keep last frame's correspondences that are still within the threshold before matching the rest
   * (Bernardin & Stiefelhagen 2008, step 1). Default true.
   */
  continuity: boolean;
}

export const DEFAULT_METRIC_OPTIONS: MetricOptions = { thresholdM: 2, headingMinSpeedMs: 1, continuity: true };

/** Raw counts of one class (or of all), additive over sequences. */
export interface Counts {
  /** Counted ground-truth objects summed over frames. */
  gt: number;
  /** Counted track instances summed over frames (tracks on don't-care objects left out). */
  dets: number;
  tp: number;
  fp: number;
  fn: number;
  idsw: number;
  /** Track fragmentations: a matched trajectory interrupted (unmatched) and resumed. */
  frag: number;
  idtp: number;
  idfp: number;
  idfn: number;
  /** Sum of match distances and of their squares, m, m². */
  sumDist: number;
  sumSqDist: number;
  /** Matches with velocity on both sides, and the sum of squared velocity error norms, (m/s)². */
  nVel: number;
  sumSqVel: number;
  /** Matches of moving objects with yaw on both sides, and the sum of absolute heading errors, degrees. */
  nHeading: number;
  sumHeadingDeg: number;
  /** Matches with a class on both sides, and those whose class is right. */
  nClass: number;
  classCorrect: number;
}

/** GT-side figures of a subset of the ground truth (no false positives: a subset is a set of objects). */
export interface SubsetCounts {
  gt: number;
  tp: number;
  sumSqDist: number;
  nVel: number;
  sumSqVel: number;
  perClass: Record<string, { gt: number; tp: number; sumSqDist: number }>;
}

export interface SequenceCounts {
  frames: number;
  all: Counts;
  /** Ground-truth class → counts; false positives are filed under the track's class ('other' when not a GT class). */
  perClass: Record<string, Counts>;
  subsets: Record<string, SubsetCounts>;
}

export interface Metrics {
  gt: number;
  tp: number;
  fp: number;
  fn: number;
  idsw: number;
  frag: number;
  precision: number | null;
  recall: number | null;
  /** 1 − (FN + FP + IDSW) / GT. */
  mota: number | null;
  /** Mean distance of the matches, m. */
  motp: number | null;
  idf1: number | null;
  idp: number | null;
  idr: number | null;
  posRmse: number | null;
  velRmse: number | null;
  /** Mean absolute heading error of matched moving objects, degrees. */
  headingErrDeg: number | null;
  classAcc: number | null;
}

export interface SubsetMetrics {
  gt: number;
  tp: number;
  recall: number | null;
  posRmse: number | null;
  velRmse: number | null;
  perClass: Record<string, { gt: number; recall: number | null; posRmse: number | null }>;
}

export interface Summary extends Metrics {
  frames: number;
  perClass: Record<string, Metrics>;
  subsets: Record<string, SubsetMetrics>;
}

export function emptyCounts(): Counts {
  return { gt: 0, dets: 0, tp: 0, fp: 0, fn: 0, idsw: 0, frag: 0, idtp: 0, idfp: 0, idfn: 0, sumDist: 0, sumSqDist: 0, nVel: 0, sumSqVel: 0, nHeading: 0, sumHeadingDeg: 0, nClass: 0, classCorrect: 0 };
}

function emptySubset(): SubsetCounts {
  return { gt: 0, tp: 0, sumSqDist: 0, nVel: 0, sumSqVel: 0, perClass: {} };
}

/** Class under which a track's false positive is filed: its own class when the ground truth has it, else 'other'. */
const OTHER = 'other';

const dist = (a: { x: number; y: number }, b: { x: number; y: number }) => Math.hypot(a.x - b.x, a.y - b.y);

const wrapDeg = (d: number) => {
  let r = d % 360;
  if (r > 180) r -= 360;
  if (r <= -180) r += 360;
  return r;
};

/**
 * The minimum-cost assignment of tracks to objects among pairs at most `thresholdM` apart, maximising the number
 * of pairs first (the Hungarian method on distances).
 */
export function matchFrame(gt: readonly { x: number; y: number }[], tracks: readonly { x: number; y: number }[], thresholdM: number): Array<[number, number]> {
  const n = gt.length;
  const m = tracks.length;
  if (n === 0 || m === 0) return [];
  const c = new Float64Array(n * m);
  let any = false;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const d = dist(gt[i]!, tracks[j]!);
      c[i * m + j] = d <= thresholdM ? d : Infinity;
      if (d <= thresholdM) any = true;
    }
  if (!any) return [];
  const a = hungarian(c, n, m);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) if (a.rowToCol[i]! >= 0) out.push([i, a.rowToCol[i]!]);
  return out;
}

/**
 * Removes the don't-care part of each frame: tracks matched (by the same 2 m Hungarian matching, against every
 * object) to an object that does not count, and the objects that do not count. What is left is scored.
 */
export function dropDontCare(frames: readonly EvalFrame[], opts: Partial<MetricOptions> = {}): EvalFrame[] {
  const th = opts.thresholdM ?? DEFAULT_METRIC_OPTIONS.thresholdM;
  return frames.map((f) => {
    if (f.gt.every((g) => g.counted !== false)) return f;
    const ignored = new Set<number>();
    for (const [i, j] of matchFrame(f.gt, f.tracks, th)) if (f.gt[i]!.counted === false) ignored.add(j);
    return { t: f.t, gt: f.gt.filter((g) => g.counted !== false), tracks: f.tracks.filter((_, j) => !ignored.has(j)) };
  });
}

/** Scores one sequence (one scenario): CLEAR MOT, IDF1 and the rest, as additive counts. */
export function evaluateSequence(frames: readonly EvalFrame[], options: Partial<MetricOptions> = {}): SequenceCounts {
  const opts = { ...DEFAULT_METRIC_OPTIONS, ...options };
  const th = opts.thresholdM;
  const clean = dropDontCare(frames, opts);
  const all = emptyCounts();
  const perClass: Record<string, Counts> = {};
  const subsets: Record<string, SubsetCounts> = {};
  const cls = (c: string | undefined) => (perClass[c ?? OTHER] ??= emptyCounts());
  const gtClasses = new Set<string>();
  for (const f of clean) for (const g of f.gt) gtClasses.add(g.cls ?? OTHER);
  const fpClass = (c: string | undefined) => (c !== undefined && gtClasses.has(c) ? c : OTHER);

  // --- CLEAR MOT ---------------------------------------------------------------------------------------------
  let prev = new Map<number, number>(); // gt id → track id matched in the previous frame
  const last = new Map<number, number>(); // gt id → track id of its most recent match (for ID switches)
  const wasMatched = new Map<number, boolean>(); // gt id → matched in the last frame it was present (fragmentation)
  const everMatched = new Set<number>();
  for (const f of clean) {
    const gIndex = new Map<number, number>();
    f.gt.forEach((g, i) => gIndex.set(g.id, i));
    const tIndex = new Map<number, number>();
    f.tracks.forEach((h, j) => tIndex.set(h.id, j));
    const gtOf = new Int32Array(f.tracks.length).fill(-1);
    const trackOf = new Int32Array(f.gt.length).fill(-1);
    // 1. Correspondences of the previous frame that are still valid are kept.
    if (opts.continuity)
      for (const [gid, hid] of prev) {
        const i = gIndex.get(gid);
        const j = tIndex.get(hid);
        if (i === undefined || j === undefined) continue;
        if (dist(f.gt[i]!, f.tracks[j]!) <= th) {
          trackOf[i] = j;
          gtOf[j] = i;
        }
      }
    // 2. The rest by the Hungarian method.
    const gi: number[] = [];
    const tj: number[] = [];
    f.gt.forEach((_, i) => trackOf[i] < 0 && gi.push(i));
    f.tracks.forEach((_, j) => gtOf[j] < 0 && tj.push(j));
    for (const [a, b] of matchFrame(gi.map((i) => f.gt[i]!), tj.map((j) => f.tracks[j]!), th)) {
      trackOf[gi[a]!] = tj[b]!;
      gtOf[tj[b]!] = gi[a]!;
    }
    const next = new Map<number, number>();
    for (let i = 0; i < f.gt.length; i++) {
      const g = f.gt[i]!;
      const c = cls(g.cls);
      const sub = (g.subsets ?? []).map((s) => (subsets[s] ??= emptySubset()));
      const subClass = sub.map((s) => (s.perClass[g.cls ?? OTHER] ??= { gt: 0, tp: 0, sumSqDist: 0 }));
      for (const k of [all, c]) k.gt++;
      for (const s of sub) s.gt++;
      for (const s of subClass) s.gt++;
      const j = trackOf[i]!;
      if (j < 0) {
        for (const k of [all, c]) k.fn++;
        if (everMatched.has(g.id)) wasMatched.set(g.id, false);
        continue;
      }
      const h = f.tracks[j]!;
      next.set(g.id, h.id);
      const d = dist(g, h);
      for (const k of [all, c]) {
        k.tp++;
        k.sumDist += d;
        k.sumSqDist += d * d;
      }
      for (const s of sub) {
        s.tp++;
        s.sumSqDist += d * d;
      }
      for (const s of subClass) {
        s.tp++;
        s.sumSqDist += d * d;
      }
      const lastId = last.get(g.id);
      if (lastId !== undefined && lastId !== h.id) for (const k of [all, c]) k.idsw++;
      if (everMatched.has(g.id) && wasMatched.get(g.id) === false) for (const k of [all, c]) k.frag++;
      last.set(g.id, h.id);
      everMatched.add(g.id);
      wasMatched.set(g.id, true);
      if (g.vx !== undefined && g.vy !== undefined && h.vx !== undefined && h.vy !== undefined) {
        const e = (h.vx - g.vx) ** 2 + (h.vy - g.vy) ** 2;
        for (const k of [all, c]) {
          k.nVel++;
          k.sumSqVel += e;
        }
        for (const s of sub) {
          s.nVel++;
          s.sumSqVel += e;
        }
      }
      if (g.yaw !== undefined && h.yaw !== undefined && g.vx !== undefined && g.vy !== undefined && Math.hypot(g.vx, g.vy) >= opts.headingMinSpeedMs) {
        const e = Math.abs(wrapDeg(((h.yaw - g.yaw) * 180) / Math.PI));
        for (const k of [all, c]) {
          k.nHeading++;
          k.sumHeadingDeg += e;
        }
      }
      if (g.cls !== undefined && h.cls !== undefined)
        for (const k of [all, c]) {
          k.nClass++;
          if (g.cls === h.cls) k.classCorrect++;
        }
    }
    for (let j = 0; j < f.tracks.length; j++) {
      const h = f.tracks[j]!;
      all.dets++;
      if (gtOf[j]! >= 0) continue;
      all.fp++;
      cls(fpClass(h.cls)).fp++;
    }
    prev = next;
  }

  // --- IDF1: one-to-one matching of whole trajectories maximising the frames they are within the threshold ----
  const gtLen = new Map<number, number>();
  const gtCls = new Map<number, string>();
  const trLen = new Map<number, number>();
  const overlap = new Map<number, Map<number, number>>(); // gt id → track id → frames within threshold
  const trackFrameClasses = new Map<number, string[]>(); // track id → its class in each frame (for per-class IDFP)
  for (const f of clean) {
    for (const g of f.gt) {
      gtLen.set(g.id, (gtLen.get(g.id) ?? 0) + 1);
      gtCls.set(g.id, g.cls ?? OTHER);
    }
    for (const h of f.tracks) {
      trLen.set(h.id, (trLen.get(h.id) ?? 0) + 1);
      let l = trackFrameClasses.get(h.id);
      if (!l) trackFrameClasses.set(h.id, (l = []));
      l.push(fpClass(h.cls));
    }
    for (const g of f.gt)
      for (const h of f.tracks)
        if (dist(g, h) <= th) {
          let m = overlap.get(g.id);
          if (!m) overlap.set(g.id, (m = new Map()));
          m.set(h.id, (m.get(h.id) ?? 0) + 1);
        }
  }
  const idMatch = matchTrajectories(overlap);
  const matchedGtOfTrack = new Map<number, number>();
  for (const [gid, hid, n] of idMatch) {
    matchedGtOfTrack.set(hid, gid);
    const c = gtCls.get(gid)!;
    all.idtp += n;
    cls(c).idtp += n;
  }
  let gtTotal = 0;
  for (const [gid, n] of gtLen) {
    gtTotal += n;
    cls(gtCls.get(gid)).idfn += n;
  }
  all.idfn = gtTotal - all.idtp;
  for (const k of Object.keys(perClass)) perClass[k]!.idfn -= perClass[k]!.idtp;
  let trTotal = 0;
  for (const [hid, n] of trLen) {
    trTotal += n;
    const gid = matchedGtOfTrack.get(hid);
    if (gid !== undefined) cls(gtCls.get(gid)).idfp += n;
    else for (const c of trackFrameClasses.get(hid)!) cls(c).idfp++;
  }
  all.idfp = trTotal - all.idtp;
  for (const k of Object.keys(perClass)) perClass[k]!.idfp -= perClass[k]!.idtp;
  for (const k of Object.keys(perClass)) perClass[k]!.dets = perClass[k]!.tp + perClass[k]!.fp;

  return { frames: clean.length, all, perClass, subsets };
}

/**
 * The one-to-one matching of ground-truth trajectories to track trajectories with the largest total overlap
 * (frames within the threshold): the Hungarian method on each connected group of overlapping pairs.
 * Returns [gt id, track id, overlap] for the pairs with a positive overlap.
 */
export function matchTrajectories(overlap: ReadonlyMap<number, ReadonlyMap<number, number>>): Array<[number, number, number]> {
  // Connected components of the bipartite overlap graph (union-find on 'g:id' / 't:id').
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    let x = k;
    while (parent.get(x) !== r) {
      const nx = parent.get(x)!;
      parent.set(x, r);
      x = nx;
    }
    return r;
  };
  const add = (k: string) => parent.has(k) || parent.set(k, k);
  for (const [g, m] of overlap)
    for (const [h, n] of m) {
      if (n <= 0) continue;
      add(`g${g}`);
      add(`t${h}`);
      const a = find(`g${g}`);
      const b = find(`t${h}`);
      if (a !== b) parent.set(a, b);
    }
  const groups = new Map<string, { g: number[]; t: number[] }>();
  for (const k of parent.keys()) {
    const r = find(k);
    let e = groups.get(r);
    if (!e) groups.set(r, (e = { g: [], t: [] }));
    (k[0] === 'g' ? e.g : e.t).push(Number(k.slice(1)));
  }
  const out: Array<[number, number, number]> = [];
  for (const { g, t } of groups.values()) {
    if (g.length === 1 && t.length === 1) {
      out.push([g[0]!, t[0]!, overlap.get(g[0]!)!.get(t[0]!)!]);
      continue;
    }
    // Every pair allowed (cost −overlap, 0 for none): the full assignment of least cost has the largest overlap.
    const c = new Float64Array(g.length * t.length);
    for (let i = 0; i < g.length; i++) for (let j = 0; j < t.length; j++) c[i * t.length + j] = -(overlap.get(g[i]!)?.get(t[j]!) ?? 0);
    const a = hungarian(c, g.length, t.length);
    for (let i = 0; i < g.length; i++) {
      const j = a.rowToCol[i]!;
      if (j < 0) continue;
      const n = overlap.get(g[i]!)?.get(t[j]!) ?? 0;
      if (n > 0) out.push([g[i]!, t[j]!, n]);
    }
  }
  return out;
}

function addCounts(a: Counts, b: Counts): void {
  for (const k of Object.keys(a) as Array<keyof Counts>) a[k] += b[k];
}

/** Sums the counts of several sequences (metrics over several scenarios are computed from the sums). */
export function combine(list: readonly SequenceCounts[]): SequenceCounts {
  const out: SequenceCounts = { frames: 0, all: emptyCounts(), perClass: {}, subsets: {} };
  for (const s of list) {
    out.frames += s.frames;
    addCounts(out.all, s.all);
    for (const [c, k] of Object.entries(s.perClass)) addCounts((out.perClass[c] ??= emptyCounts()), k);
    for (const [name, k] of Object.entries(s.subsets)) {
      const o = (out.subsets[name] ??= emptySubset());
      o.gt += k.gt;
      o.tp += k.tp;
      o.sumSqDist += k.sumSqDist;
      o.nVel += k.nVel;
      o.sumSqVel += k.sumSqVel;
      for (const [c, p] of Object.entries(k.perClass)) {
        const q = (o.perClass[c] ??= { gt: 0, tp: 0, sumSqDist: 0 });
        q.gt += p.gt;
        q.tp += p.tp;
        q.sumSqDist += p.sumSqDist;
      }
    }
  }
  return out;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const rms = (sumSq: number, n: number): number | null => (n > 0 ? Math.sqrt(sumSq / n) : null);

/** Ratios and RMSEs from counts (null where the denominator is 0). */
export function metricsOf(k: Counts): Metrics {
  return {
    gt: k.gt,
    tp: k.tp,
    fp: k.fp,
    fn: k.fn,
    idsw: k.idsw,
    frag: k.frag,
    precision: ratio(k.tp, k.tp + k.fp),
    recall: ratio(k.tp, k.gt),
    mota: k.gt > 0 ? 1 - (k.fn + k.fp + k.idsw) / k.gt : null,
    motp: ratio(k.sumDist, k.tp),
    idf1: ratio(2 * k.idtp, 2 * k.idtp + k.idfp + k.idfn),
    idp: ratio(k.idtp, k.idtp + k.idfp),
    idr: ratio(k.idtp, k.idtp + k.idfn),
    posRmse: rms(k.sumSqDist, k.tp),
    velRmse: rms(k.sumSqVel, k.nVel),
    headingErrDeg: ratio(k.sumHeadingDeg, k.nHeading),
    classAcc: ratio(k.classCorrect, k.nClass),
  };
}

export function summarize(s: SequenceCounts): Summary {
  const perClass: Record<string, Metrics> = {};
  for (const c of Object.keys(s.perClass).sort()) perClass[c] = metricsOf(s.perClass[c]!);
  const subsets: Record<string, SubsetMetrics> = {};
  for (const [name, k] of Object.entries(s.subsets)) {
    const pc: SubsetMetrics['perClass'] = {};
    for (const c of Object.keys(k.perClass).sort()) {
      const p = k.perClass[c]!;
      pc[c] = { gt: p.gt, recall: ratio(p.tp, p.gt), posRmse: rms(p.sumSqDist, p.tp) };
    }
    subsets[name] = { gt: k.gt, tp: k.tp, recall: ratio(k.tp, k.gt), posRmse: rms(k.sumSqDist, k.tp), velRmse: rms(k.sumSqVel, k.nVel), perClass: pc };
  }
  return { frames: s.frames, ...metricsOf(s.all), perClass, subsets };
}
