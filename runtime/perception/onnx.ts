// Learned camera–lidar fusion (issue 4): the late-fusion idea of CLOCs (Pang et al., IROS 2020) on top of the
// plain tracker.
//
// Lidar (and radar) frames go through the tracker as in plain fusion: the tracks carry the lidar boxes. At each
// camera frame every live track's 3D box is projected into that camera, each camera detection is paired with the
// tracks near it in the image or on the ground, plus a "no track" pair, and one onnxruntime call scores all pairs
// of the frame (models/fusion.onnx, features in fusion-features.ts). Per pair the model gives an association
// probability, a class distribution and an existence probability. Then:
//   - assignment: the Hungarian method on −ln p(assoc), each detection against the tracks and its own "no track"
//     option (cost −ln p(no track)); pairs below `assocMinProb` are not allowed;
//   - an associated detection updates its track (Kalman update of the ground placement, only inside the ground
//     gate: outside it the image said "same object" but the placement is off, so it updates identity, class and
//     existence, not the position; nor while a lidar box holds the track, tracker.cameraPositionHoldMs), with the
//     model's class as the vote and its existence probability for the track's existence and confirmation (a hit
//     does not count below `existLow`, counts double above `existHigh` for a track with a lidar box);
//   - a detection left alone starts a camera-only tentative track on the ground plane (the calibration's
//     placement) only when its "no track" pair's existence is at least `birthMinExist` and no track claims it
//     with p ≥ 0.5 (a duplicate of a tracked object); while tentative, that track counts misses only from the
//     kinds of sensor that have detected it (`modelBirths`: a lidar not returning a pedestrian the model judged
//     real does not end it within 100 ms); such a detection inside a confirmed track's footprint starts a track
//     only when that track was assigned another, separate box of the frame (`splitMaxIou`: pedestrians side by
//     side), else it is taken for a split box of that track;
//   - lidar-only objects keep their own evidence (the tracker's, unchanged).
//
// When onnxruntime-node or the model cannot be loaded, the backend warns once, names itself
// 'onnx (fallback: rule-based)' (stats().mode, the daemon's status) and fuses exactly as 'plain'.

import type { Box2D } from '../../hw/sensors/frame.js';
import { FEATURE_COUNT, OUTPUT_CLASSES, boxIou, buildPairs, type CandidatePair, type PairSet } from './fusion-features.js';
import { OrtScorer, defaultModelPath, type FusionScorer, type FusionScores } from './fusion-ort.js';
import { hungarian } from './hungarian.js';
import { alongAcross, alongStdOf, type Measurement } from './measure.js';
import { registerFusion } from './stage.js';
import { Tracker, insideFootprint, kindIndex, sameClassGroup, type MeasurementBatch, type TrackEstimate, type TrackState } from './tracker.js';
import type { FusionBackend, FusionBatch, FusionContext } from './types.js';

type Edge = ReturnType<Tracker['gate']>[number];

export const ONNX_MODE = 'onnx';
export const ONNX_FALLBACK_MODE = 'onnx (fallback: rule-based)';

export interface OnnxFusionOptions {
  /** Model file; default models/fusion.onnx of this package. */
  modelPath: string;
  /** A scorer to use instead of loading the model (tests); null: rule-based from the start. */
  scorer?: FusionScorer | null;
  /** Where the fallback is reported (once); default process.emitWarning. */
  logger?: { warn(msg: string): void };
  /** Pairs whose association probability is below this are never assigned. */
  assocMinProb: number;
  /** A detection nobody claims starts a track only when its existence probability reaches this. */
  birthMinExist: number;
  /** An associated detection with existence below this does not count as a hit; above existHigh it counts two. */
  existLow: number;
  existHigh: number;
  /** Place camera detections where the model's placement head says (else: the calibration's rule, measure.ts). */
  modelPlacement: boolean;
  /**
   * A tentative track started by a birth the model accepted counts misses only from the kinds of sensor that have
   * detected it: the model has judged the camera detection a real object, and a lidar not returning it (a
   * pedestrian with few points, partly hidden) does not refute that; the track still ends when it goes without an
   * update for the tracker's tentative coast time. Else the tracker's rule applies (two misses of any covering
   * sensor end a tentative track, 100 ms with two lidars), as in plain fusion.
   */
  modelBirths: boolean;
  /**
   * A detection no track claims that lies inside a confirmed track's footprint starts a track anyway when every
   * such track was assigned another box of the same camera frame overlapping it by IoU below this: a camera does
   * not return two separate boxes for one object, so two pedestrians walking side by side are two tracks even where
   * the ground placement puts them within a footprint. 0: never (the tracker's rule).
   */
  splitMaxIou: number;
  /** Data generation and tests: called with each camera frame's pairs, and with every frame's outcome. */
  hooks?: FusionHooks;
}

export interface FusionHooks {
  /** Before a camera frame is applied: its pairs (tracks predicted to the frame's time). */
  pairs?(batch: FusionBatch, set: PairSet, tracks: readonly TrackState[]): void;
  /** After any frame: which measurement updated which track, and the tracks it started. */
  applied?(batch: FusionBatch, updated: Array<{ track: TrackState; m: Measurement }>, born: Array<{ track: TrackState; m: Measurement }>): void;
}

export const DEFAULT_ONNX_FUSION_OPTIONS: Omit<OnnxFusionOptions, 'modelPath'> = {
  assocMinProb: 0.2,
  birthMinExist: 0.05,
  existLow: 0.3,
  existHigh: 0.9,
  modelPlacement: true,
  modelBirths: true,
  splitMaxIou: 0.5,
};

/** Smallest 1σ of a model placement, m (the model's σ is trusted down to this). */
const PLACE_MIN_STD_M = 0.15;

/** The plain tracker with a seam: a camera frame's edges can be decided outside (by the model). */
class ModelTracker extends Tracker {
  forced: Edge[] | null = null;
  lastChosen: Edge[] = [];

  override gate(batch: MeasurementBatch): Edge[] {
    return this.forced ?? super.gate(batch);
  }

  override associate(edges: Edge[], nTracks: number, nMeas: number): Edge[] {
    const chosen = this.forced ? edges : super.associate(edges, nTracks, nMeas);
    this.lastChosen = chosen;
    return chosen;
  }

  /** Tracks started by a birth the model accepted (filled only with OnnxFusionOptions.modelBirths). */
  readonly modelBorn = new WeakSet<TrackState>();
  /** The tracks the last process() started, each with the measurement that started it. */
  births: Array<{ track: TrackState; m: Measurement }> = [];

  protected override countsMiss(t: TrackState, batch: MeasurementBatch): boolean {
    if (t.confirmed || !this.modelBorn.has(t)) return true;
    return t.sourceLast[kindIndex(batch.sensorKind)] !== -Infinity;
  }

  /** Camera boxes separate from the box their footprint's track was assigned in the same frame (splitMaxIou). */
  readonly splitBoxes = new WeakSet<Measurement>();
  private readonly splitBorn = new WeakSet<TrackState>();

  protected override startsInsideFootprint(m: Measurement): boolean {
    return this.splitBoxes.has(m);
  }

  protected override onBirth(t: TrackState, m: Measurement): void {
    if (this.splitBoxes.has(m)) this.splitBorn.add(t);
    this.births.push({ track: t, m });
  }

  protected override duplicates(t: TrackState): boolean {
    return !this.splitBorn.has(t) && super.duplicates(t);
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Timing and counts of the model part, for tests and the benchmark. */
export interface OnnxFusionStats {
  mode: string;
  fallbackReason: string | null;
  cameraFrames: number;
  pairs: number;
  /** Time in buildPairs + session.run + assignment per camera frame, ms (last and mean). */
  lastModelMs: number;
  meanModelMs: number;
  associated: number;
  birthsRejected: number;
}

export class OnnxFusion implements FusionBackend {
  readonly mode: string;
  readonly fallbackReason: string | null;
  readonly tracker: ModelTracker;
  private readonly scorer: FusionScorer | null;
  private readonly o: OnnxFusionOptions;
  private readonly gateChi2: number;
  private st = { cameraFrames: 0, pairs: 0, lastModelMs: 0, sumModelMs: 0, associated: 0, birthsRejected: 0 };

  constructor(ctx: FusionContext, opts: Partial<OnnxFusionOptions> = {}) {
    this.o = { ...DEFAULT_ONNX_FUSION_OPTIONS, modelPath: defaultModelPath(), ...opts };
    this.tracker = new ModelTracker(ctx.tracker);
    this.gateChi2 = this.tracker.opts.gateChi2;
    let scorer: FusionScorer | null = null;
    let reason: string | null = null;
    if (opts.scorer !== undefined) {
      scorer = opts.scorer;
      if (!scorer) reason = 'no scorer given';
    } else {
      try {
        scorer = new OrtScorer(this.o.modelPath);
      } catch (e) {
        reason = e instanceof Error ? e.message : String(e);
      }
    }
    this.scorer = scorer;
    this.fallbackReason = reason;
    this.mode = scorer ? ONNX_MODE : ONNX_FALLBACK_MODE;
    if (reason && opts.scorer === undefined) {
      const msg = `perception: the learned fusion model cannot be used (${reason}); running rule-based fusion (mode '${this.mode}')`;
      if (this.o.logger) this.o.logger.warn(msg);
      else process.emitWarning(msg, { code: 'RSU_FUSION_FALLBACK' });
    }
  }

  stats(): OnnxFusionStats {
    const s = this.st;
    return {
      mode: this.mode,
      fallbackReason: this.fallbackReason,
      cameraFrames: s.cameraFrames,
      pairs: s.pairs,
      lastModelMs: s.lastModelMs,
      meanModelMs: s.cameraFrames ? s.sumModelMs / s.cameraFrames : 0,
      associated: s.associated,
      birthsRejected: s.birthsRejected,
    };
  }

  process(batch: FusionBatch): void {
    const tr = this.tracker;
    const hooks = this.o.hooks;
    const camera = batch.sensorKind === 'camera' && batch.sensor.camera !== undefined && batch.measurements.length > 0;
    // Late camera frames (older than the tracker's time) and every lidar/radar frame: the plain path.
    if (!camera || batch.timeMs < tr.timeMs || (!this.scorer && !hooks?.pairs)) return this.plain(batch);
    tr.advance(batch.timeMs);
    const t0 = performance.now();
    const tracks = tr.tracks;
    const ms = batch.measurements;
    const boxes: Box2D[] = ms.map((m) => batch.frame.objects[m.objectIndex]!.box2d!);
    const set = buildPairs(batch.sensor, tracks, ms, boxes, batch.timeMs, { gateChi2: this.gateChi2 });
    hooks?.pairs?.(batch, set, tracks);
    if (!this.scorer) return this.plain(batch);
    const n = set.pairs.length;
    const scores = this.scorer.score(set.features, n);
    this.applyModel(batch, set, scores, boxes, t0);
  }

  private plain(batch: FusionBatch): void {
    this.tracker.forced = null;
    this.run(batch, batch.measurements);
  }

  /** The tracker's step on `ms` (decided by the model when `tracker.forced` is set), reported to FusionHooks.applied. */
  private run(batch: FusionBatch, ms: Measurement[]): void {
    const tr = this.tracker;
    const byModel = tr.forced !== null;
    const tracksAtStart = tr.tracks;
    tr.births = [];
    try {
      tr.process({ sensorId: batch.sensorId, sensorKind: batch.sensorKind, timeMs: batch.timeMs, measurements: ms, covers: batch.covers, lidarCovers: batch.lidarCovers });
    } finally {
      tr.forced = null;
    }
    // Births of a frame the model decided are the model's births (filled only with modelBirths: the miss rule).
    if (byModel && this.o.modelBirths) for (const b of tr.births) tr.modelBorn.add(b.track);
    const applied = this.o.hooks?.applied;
    if (applied) applied(batch, tr.lastChosen.map((e) => ({ track: tracksAtStart[e.t]!, m: ms[e.m]! })), tr.births);
  }

  private applyModel(batch: FusionBatch, set: PairSet, s: FusionScores, boxes: readonly Box2D[], t0: number): void {
    const tr = this.tracker;
    const tracks = tr.tracks;
    const ms = batch.measurements;
    const nt = tracks.length;
    const nm = ms.length;
    const C = OUTPUT_CLASSES.length;
    const separate = tr.opts.separateClassGroups;
    // Cost matrix: rows = detections, columns = tracks then one "no track" column per detection.
    const cols = nt + nm;
    const cost = new Float64Array(nm * cols).fill(Infinity);
    const pairAt = new Int32Array(nm * cols).fill(-1);
    const bestClaim = new Float64Array(nm);
    const pNull = new Float64Array(nm);
    for (let k = 0; k < set.pairs.length; k++) {
      const p: CandidatePair = set.pairs[k]!;
      const pa = sigmoid(s.assoc[k]!);
      if (p.t < 0) {
        pNull[p.m] = pa;
        cost[p.m * cols + nt + p.m] = -Math.log(Math.max(pa, 1e-6));
        pairAt[p.m * cols + nt + p.m] = k;
        continue;
      }
      // One detector model per class (separateClassGroups): the model may not join classes the tracker keeps apart.
      if (separate && !sameClassGroup(tracks[p.t]!.classification, ms[p.m]!.classification)) continue;
      if (pa > bestClaim[p.m]!) bestClaim[p.m] = pa;
      if (pa < this.o.assocMinProb) continue;
      cost[p.m * cols + p.t] = -Math.log(pa);
      pairAt[p.m * cols + p.t] = k;
    }
    const a = nm > 0 ? hungarian(cost, nm, cols) : null;
    // The frame as the tracker will see it: associated detections and accepted births, with the model's class.
    const kept: Measurement[] = [];
    const forced: Edge[] = [];
    const exist: number[] = [];
    for (let j = 0; j < nm; j++) {
      const col = a ? a.rowToCol[j]! : -1;
      const k = col >= 0 ? pairAt[j * cols + col]! : -1;
      const m = ms[j]!;
      const pk = k >= 0 ? k : pairAt[j * cols + nt + j]!;
      // Class: the model's distribution for the chosen pair.
      let best = 0;
      let z = 0;
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, s.cls[pk * C + c]!);
      for (let c = 0; c < C; c++) {
        const e = Math.exp(s.cls[pk * C + c]! - mx);
        z += e;
        if (s.cls[pk * C + c]! > s.cls[pk * C + best]!) best = c;
      }
      const pBest = 1 / z;
      const pe = sigmoid(s.exist[pk]!);
      const mm: Measurement = { ...m, classification: OUTPUT_CLASSES[best]!, confidence: Math.min(1, Math.max(0.05, pBest * m.confidence + (1 - m.confidence) * pBest * 0.5)) };
      if (this.o.modelPlacement) this.place(mm, batch, s, pk);
      if (col >= 0 && col < nt) {
        const track = tracks[col]!;
        // Outside the ground gate the image association stands (identity, class, existence), but the placement
        // contradicts the track: it does not move it (inflating R to the gate edge still dragged good lidar tracks).
        const r = mm.cov;
        const d2 = track.kf.gateDistance(mm.x, mm.y, r[0], r[1], r[2]);
        const positionless = !(d2 <= this.gateChi2);
        // Existence feeds confirmation.
        if (!track.confirmed) {
          if (pe < this.o.existLow) track.hits--;
          else if (pe > this.o.existHigh && track.sizeFromBox) track.hits++;
        }
        forced.push({ t: col, m: kept.length, cost: cost[j * cols + col]!, zx: mm.x, zy: mm.y, r, d2: positionless ? this.gateChi2 : d2, positionless });
        exist.push(pe);
        kept.push(mm);
        this.st.associated++;
      } else if (pe >= this.o.birthMinExist && bestClaim[j]! < 0.5) {
        if (a && this.splitsFrom(j, mm, tracks, a.colToRow, boxes)) tr.splitBoxes.add(mm);
        kept.push(mm);
      } else {
        this.st.birthsRejected++;
      }
    }
    tr.forced = forced;
    this.run(batch, kept);
    // The model's existence for the tracks it updated (blended with the tracker's own evidence).
    for (let q = 0; q < forced.length; q++) {
      const track = tracks[forced[q]!.t]!;
      track.existence = 0.5 * track.existence + 0.5 * exist[q]!;
    }
    const dt = performance.now() - t0;
    this.st.cameraFrames++;
    this.st.pairs += set.pairs.length;
    this.st.lastModelMs = dt;
    this.st.sumModelMs += dt;
  }

  /**
   * Whether detection `j` (at `m`) lies in confirmed footprints only of tracks assigned another box of this frame
   * that overlaps it little (splitMaxIou): a second object beside the tracked one, not a duplicate box.
   */
  private splitsFrom(j: number, m: Measurement, tracks: readonly TrackState[], colToRow: Int32Array, boxes: readonly Box2D[]): boolean {
    if (!(this.o.splitMaxIou > 0)) return false;
    let inAny = false;
    for (let t = 0; t < tracks.length; t++) {
      const track = tracks[t]!;
      if (!track.confirmed || !insideFootprint(track, m.x, m.y)) continue;
      inAny = true;
      // Columns 0..nt-1 of the assignment are the tracks; j itself went to no track (it is a birth).
      const other = colToRow[t]!;
      if (other < 0 || boxIou(boxes[other]!, boxes[j]!) >= this.o.splitMaxIou) return false;
    }
    return inAny;
  }

  /**
   * Moves a camera measurement to the model's ground placement for pair row `k`: offsets along and across the
   * camera's ray from the calibration's placement, with the model's σ as the covariance.
   */
  private place(m: Measurement, batch: FusionBatch, s: FusionScores, k: number): void {
    const c = batch.sensor.camera!.center;
    const az = Math.atan2(m.y - c.y, m.x - c.x);
    const along = s.place[2 * k]!;
    const across = s.place[2 * k + 1]!;
    // The model learned its σ on the simulator's flat ground: the ground's own uncertainty (range/height × σg, as in
    // the calibration's rule) comes on top along the ray.
    const h = Math.max(0.1, c.z - m.z);
    const sa = Math.hypot(Math.max(PLACE_MIN_STD_M, Math.exp(s.placeLogStd[2 * k]!)), (m.range / h) * batch.sensor.groundStdM);
    // Across the ray the model's correction is itself a guess that did not transfer from the simulator (KITTI: it
    // moved pedestrians 0.12 m off the box's bearing): it is taken as no more certain than its own size.
    const sc = Math.hypot(Math.max(PLACE_MIN_STD_M, Math.exp(s.placeLogStd[2 * k + 1]!)), across);
    if (!(Number.isFinite(along) && Number.isFinite(across) && Number.isFinite(sa) && Number.isFinite(sc))) return;
    const ca = Math.cos(az);
    const sn = Math.sin(az);
    m.x += along * ca - across * sn;
    m.y += along * sn + across * ca;
    m.range = Math.hypot(m.x - c.x, m.y - c.y);
    m.cov = alongAcross(az, alongStdOf(m, sa), sc);
  }

  estimates(atMs: number, all = false): TrackEstimate[] {
    return this.tracker.estimates(atMs, all);
  }

  counts(): { live: number; confirmed: number; created: number } {
    return this.tracker.counts();
  }
}

/** A factory for registerFusion / createPerception({ backend }) with options (model path, logger). */
export function onnxFusionFactory(opts: Partial<OnnxFusionOptions> = {}): (ctx: FusionContext) => OnnxFusion {
  return (ctx) => new OnnxFusion(ctx, opts);
}

export { FEATURE_COUNT };

// Importing this module makes `createPerception(cfg, { mode: 'onnx' })` available.
registerFusion(ONNX_MODE, onnxFusionFactory());
