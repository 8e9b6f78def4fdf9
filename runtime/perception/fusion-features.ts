// Pair features of the learned camera–lidar fusion (CLOCs-style late fusion, see onnx.ts and models/fusion.md).
//
// For one camera frame: every live track (whose box comes from the lidars once a lidar saw it) is projected into
// the image as the bounding box of its 3D box's 8 corners; each camera detection is paired with every track whose
// projected box is near its 2D box or whose ground position is near the detection's ground placement, plus one
// "no track" pair. Each pair becomes a row of FEATURE_COUNT floats. The same code produces the training data
// (scripts/train-fusion/gen-data.ts) and the model's input at run time: change a feature here, retrain.

import { OBJECT_CLASSES, type Box2D, type ObjectClass } from '../../hw/sensors/frame.js';
import type { Measurement } from './measure.js';
import type { SensorModel } from './measure.js';
import type { TrackState } from './tracker.js';

/** Version of the feature layout; the model card and the ONNX metadata carry it. */
export const FEATURE_VERSION = 2;

/** Class groups the model sees (inputs), index 0 = unknown / anything else. */
export const INPUT_CLASSES = ['unknown', 'car', 'van', 'truck', 'bus', 'bicycle', 'pedestrian'] as const;
/** Classes the model outputs (the road users of the site). */
export const OUTPUT_CLASSES = ['car', 'van', 'truck', 'bus', 'bicycle', 'pedestrian'] as const satisfies readonly ObjectClass[];

const INPUT_INDEX: Record<ObjectClass, number> = {
  unknown: 0,
  other: 0,
  animal: 0,
  car: 1,
  van: 2,
  emergency_vehicle: 2,
  truck: 3,
  trailer: 3,
  bus: 4,
  bicycle: 5,
  motorcycle: 5,
  pedestrian: 6,
};
/** tracker.classWeights order. */
const OBJECT_CLASS_ORDER: readonly ObjectClass[] = OBJECT_CLASSES;

export const FEATURE_NAMES = [
  'has_track', // 0: 1 for a (track, detection) pair, 0 for the detection's "no track" pair
  'iou', // 1: IoU of the projected track box and the detection box
  'dcx', // 2: horizontal centre offset / max(widths, 8 px), clipped ±4
  'dbottom', // 3: bottom-edge offset / max(heights, 8 px), clipped ±4
  'dtop', // 4: top-edge offset / max(heights, 8 px), clipped ±4
  'log_w_ratio', // 5: ln(projected width / detection width), clipped ±3
  'log_h_ratio', // 6: ln(projected height / detection height), clipped ±3
  'mahal', // 7: sqrt of the ground-plane squared Mahalanobis distance / 4, clipped to 3
  'ground_dist', // 8: ground-plane distance track – camera placement / 10 m, clipped to 3
  'track_range', // 9: track's horizontal distance from the camera / 100 m
  'confirmed', // 10
  'hits', // 11: min(hits, 20) / 20
  'lidar_box', // 12: the track's size comes from a lidar/radar box
  'lidar_recent', // 13: a lidar/radar updated the track within 300 ms
  'existence', // 14: the track's existence before this frame
  'iou_margin_det', // 15: iou − best IoU of this detection with another track
  'iou_margin_track', // 16: iou − best IoU of this track with another detection
  'tc_unknown', 'tc_car', 'tc_van', 'tc_truck', 'tc_bus', 'tc_bicycle', 'tc_pedestrian', // 17-23: track class shares
  'dc_unknown', 'dc_car', 'dc_van', 'dc_truck', 'dc_bus', 'dc_bicycle', 'dc_pedestrian', // 24-30: detection class one-hot
  'det_conf', // 31
  'det_log_h', // 32: ln(detection height / 100 px)
  'det_border', // 33: the detection box touches the image border (within 2 px)
  'det_range', // 34: horizontal range of the detection's ground placement / 100 m
  'det_bottom', // 35: bottom edge / image height
  'det_candidates', // 36: number of track candidates of this detection / 5
  'det_log_w', // 37: ln(detection width / 100 px)
  'det_aspect', // 38: ln(detection width / height)
  'det_depression', // 39: depression of the ray to the detection's ground placement, rad
  'det_u', // 40: horizontal box centre / image width (where in the view: which approach, which way it runs)
  'track_yaw_known', // 41: the track has a heading (lidar box or motion)
  'rel_cos', // 42: |cos(track heading − ray azimuth)|: seen end-on (1) or side-on (0)
  'rel_sin', // 43: |sin(track heading − ray azimuth)|
  'track_log_len', // 44: ln(track length / 4.5 m)
  'track_log_wid', // 45: ln(track width / 1.8 m)
] as const;
export const FEATURE_COUNT = FEATURE_NAMES.length;

/**
 * Inputs of the model's ground-placement head: the detection's own features and the orientation and size of its
 * track, never the track's position. The placement updates the track as a measurement, so it must not already
 * contain the track's estimate (that would count the track twice).
 */
export const PLACE_FEATURES: readonly number[] = [
  ...[24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 37, 38, 39, 40],
  ...[41, 42, 43, 44, 45],
];

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One candidate pair: track index (into the tracker's list) or -1 for "no track", measurement index. */
export interface CandidatePair {
  t: number;
  m: number;
  /** Squared Mahalanobis distance on the ground (Infinity for "no track"). */
  d2: number;
}

export interface PairSet {
  pairs: CandidatePair[];
  /** Row-major pairs.length × FEATURE_COUNT. */
  features: Float32Array;
  /** Projected box of each track (undefined when not in the image). */
  projected: Array<Rect | undefined>;
}

export interface PairOptions {
  /** Ground-plane gate for candidates without image overlap (squared Mahalanobis). */
  gateChi2: number;
}

const clip = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Bounding box in the image of a track's 3D box (bottom centre, size, yaw), clipped to the image; undefined when not visible. */
export function projectTrackBox(sensor: SensorModel, tr: TrackState): Rect | undefined {
  const cam = sensor.camera;
  if (!cam) return undefined;
  const k = cam.intrinsics;
  const { length, width, height } = tr.size;
  const yaw = trackYaw(tr) ?? 0;
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  const cx = tr.x;
  const cy = tr.y;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < 8; i++) {
    const a = (i & 1 ? 0.5 : -0.5) * length;
    const b = (i & 2 ? 0.5 : -0.5) * width;
    const z = tr.z + (i & 4 ? height : 0);
    const p = cam.project({ x: cx + a * c - b * s, y: cy + a * s + b * c, z });
    if (!p) return undefined;
    if (p.u < x0) x0 = p.u;
    if (p.u > x1) x1 = p.u;
    if (p.v < y0) y0 = p.v;
    if (p.v > y1) y1 = p.v;
  }
  const r = { x0: Math.max(0, x0), y0: Math.max(0, y0), x1: Math.min(k.width, x1), y1: Math.min(k.height, y1) };
  return r.x1 > r.x0 && r.y1 > r.y0 ? r : undefined;
}

/** A track's heading (local yaw), from its lidar box or its motion (≥ 1 m/s); undefined when it has neither. */
export function trackYaw(tr: TrackState): number | undefined {
  if (Number.isFinite(tr.yaw)) return tr.yaw;
  const vx = tr.kf.x[2]!;
  const vy = tr.kf.x[3]!;
  return vx * vx + vy * vy > 1 ? Math.atan2(vy, vx) : undefined;
}

export function iouRect(a: Rect, b: Rect): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - i);
}

/** IoU of two image boxes. */
export function boxIou(a: Box2D, b: Box2D): number {
  return iouRect(boxRect(a), boxRect(b));
}

function boxRect(b: Box2D): Rect {
  return { x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height };
}

/**
 * Candidate pairs and their features for one camera frame. `boxes[j]` is the 2D box of measurement j; tracks
 * must already be predicted to the frame's time.
 */
export function buildPairs(sensor: SensorModel, tracks: readonly TrackState[], ms: readonly Measurement[], boxes: readonly Box2D[], nowMs: number, opts: PairOptions): PairSet {
  const cam = sensor.camera!;
  const W = cam.intrinsics.width;
  const H = cam.intrinsics.height;
  const nt = tracks.length;
  const nm = ms.length;
  const camHeight = Math.max(0.1, cam.center.z - (ms[0]?.z ?? 0));
  const azimuth = ms.map((m) => Math.atan2(m.y - cam.center.y, m.x - cam.center.x)); // of each detection's ray
  const projected: Array<Rect | undefined> = new Array(nt);
  for (let i = 0; i < nt; i++) projected[i] = projectTrackBox(sensor, tracks[i]!);
  const det = boxes.map(boxRect);
  // Candidates and their IoU.
  const pairs: CandidatePair[] = [];
  const ious: number[] = [];
  const bestDet = new Float64Array(nm);
  const secondDet = new Float64Array(nm);
  const bestTrack = new Float64Array(nt);
  const secondTrack = new Float64Array(nt);
  const nCand = new Uint16Array(nm);
  for (let j = 0; j < nm; j++) {
    const m = ms[j]!;
    const d = det[j]!;
    const dw = d.x1 - d.x0;
    const dh = d.y1 - d.y0;
    for (let i = 0; i < nt; i++) {
      const tr = tracks[i]!;
      const p = projected[i];
      let iou = 0;
      let near = false;
      if (p) {
        iou = iouRect(p, d);
        const sw = Math.max(dw, p.x1 - p.x0, 8);
        const sh = Math.max(dh, p.y1 - p.y0, 8);
        near = iou > 0 || (Math.abs((p.x0 + p.x1) / 2 - (d.x0 + d.x1) / 2) < 1.5 * sw && Math.abs(p.y1 - d.y1) < 1.5 * sh);
      }
      const d2 = tr.kf.gateDistance(m.x, m.y, m.cov[0], m.cov[1], m.cov[2]);
      if (!near && !(d2 <= 2 * opts.gateChi2)) continue;
      pairs.push({ t: i, m: j, d2 });
      ious.push(iou);
      nCand[j]!++;
      if (iou > bestDet[j]!) {
        secondDet[j] = bestDet[j]!;
        bestDet[j] = iou;
      } else if (iou > secondDet[j]!) secondDet[j] = iou;
      if (iou > bestTrack[i]!) {
        secondTrack[i] = bestTrack[i]!;
        bestTrack[i] = iou;
      } else if (iou > secondTrack[i]!) secondTrack[i] = iou;
    }
    pairs.push({ t: -1, m: j, d2: Infinity });
    ious.push(0);
  }
  const F = FEATURE_COUNT;
  const f = new Float32Array(pairs.length * F);
  for (let k = 0; k < pairs.length; k++) {
    const { t, m: j, d2 } = pairs[k]!;
    const m = ms[j]!;
    const d = det[j]!;
    const o = k * F;
    // Detection features (every pair).
    f[o + 24 + INPUT_INDEX[m.classification]] = 1;
    f[o + 31] = m.confidence;
    const dh = Math.max(1, d.y1 - d.y0);
    const dw = Math.max(1, d.x1 - d.x0);
    f[o + 32] = Math.log(dh / 100);
    f[o + 33] = d.x0 <= 2 || d.y0 <= 2 || d.x1 >= W - 2 || d.y1 >= H - 2 ? 1 : 0;
    f[o + 34] = m.range / 100;
    f[o + 35] = d.y1 / H;
    f[o + 36] = nCand[j]! / 5;
    f[o + 37] = Math.log(dw / 100);
    f[o + 38] = Math.log(dw / dh);
    f[o + 39] = Math.atan2(camHeight, Math.max(0.1, m.range));
    f[o + 40] = (d.x0 + d.x1) / 2 / W;
    if (t < 0) continue;
    const tr = tracks[t]!;
    const yaw = trackYaw(tr);
    if (yaw !== undefined) {
      const rel = yaw - azimuth[j]!;
      f[o + 41] = 1;
      f[o + 42] = Math.abs(Math.cos(rel));
      f[o + 43] = Math.abs(Math.sin(rel));
    }
    f[o + 44] = Math.log(Math.max(0.2, tr.size.length) / 4.5);
    f[o + 45] = Math.log(Math.max(0.2, tr.size.width) / 1.8);
    const p = projected[t];
    const iou = ious[k]!;
    f[o + 0] = 1;
    f[o + 1] = iou;
    if (p) {
      const pw = p.x1 - p.x0;
      const ph = p.y1 - p.y0;
      const sw = Math.max(dw, pw, 8);
      const sh = Math.max(dh, ph, 8);
      f[o + 2] = clip(((p.x0 + p.x1) / 2 - (d.x0 + d.x1) / 2) / sw, -4, 4);
      f[o + 3] = clip((p.y1 - d.y1) / sh, -4, 4);
      f[o + 4] = clip((p.y0 - d.y0) / sh, -4, 4);
      f[o + 5] = clip(Math.log(Math.max(1, pw) / dw), -3, 3);
      f[o + 6] = clip(Math.log(Math.max(1, ph) / dh), -3, 3);
    } else {
      f[o + 2] = 4;
      f[o + 3] = 4;
      f[o + 4] = 4;
      f[o + 5] = -3;
      f[o + 6] = -3;
    }
    f[o + 7] = Math.min(3, Math.sqrt(Math.max(0, d2)) / 4);
    f[o + 8] = Math.min(3, Math.hypot(tr.x - m.x, tr.y - m.y) / 10);
    f[o + 9] = Math.hypot(tr.x - cam.center.x, tr.y - cam.center.y) / 100;
    f[o + 10] = tr.confirmed ? 1 : 0;
    f[o + 11] = Math.min(tr.hits, 20) / 20;
    f[o + 12] = tr.sizeFromBox ? 1 : 0;
    f[o + 13] = nowMs - Math.max(tr.sourceLast[0]!, tr.sourceLast[1]!) <= 300 ? 1 : 0;
    f[o + 14] = tr.existence;
    const otherDet = bestDet[j] === iou ? secondDet[j]! : bestDet[j]!;
    const otherTrack = bestTrack[t] === iou ? secondTrack[t]! : bestTrack[t]!;
    f[o + 15] = iou - otherDet;
    f[o + 16] = iou - otherTrack;
    const w = tr.classWeights;
    let sum = 0;
    for (let c = 0; c < w.length; c++) sum += w[c]!;
    if (sum > 0) for (let c = 0; c < w.length; c++) f[o + 17 + INPUT_INDEX[OBJECT_CLASS_ORDER[c]!]] += w[c]! / sum;
    else f[o + 17] = 1;
  }
  return { pairs, features: f, projected };
}
