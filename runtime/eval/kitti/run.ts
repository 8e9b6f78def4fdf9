// Runs our perception stage over KITTI sequences through the daemon's seams (a validated config,
// createPerception, one lidar DetectionFrame per KITTI frame at 10 Hz and, for the fusion, one camera frame of the
// RRC 2D boxes with the calibration's P2 camera; tracks(t) as the RSM builder takes them) and writes KITTI tracking
// results; also writes the same detections, in the same frame, for AB3DMOT.
//
// Frames: 'sensor' feeds the detections as recorded (the moving car's camera frame); 'world' applies the frame's
// camera pose first, as a fixed roadside sensor at the world origin sees them (lidar only: a camera fixed to the
// sensor, as on a pole, is the sensor frame). The local frame's origin is on the road under the camera (the
// sensors at KITTI's mounting height, 1.65 m). Results are always written back in the frame's camera coordinates,
// where the labels are.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type RsuConfig, type TrackerConfig } from '../../config/index.js';
import { createPerception, createPlainFusion, type DetectedObject, type DetectionFrame, type FusionBatch, type FusionFactory, type Measurement, type ObjectClass, type Track } from '../../perception/index.js';
import { onnxFusionFactory } from '../../perception/onnx.js';
import { camToSensor, groupByFrame, identityPose, invert, KITTI_CLASSES, KITTI_TYPE_ID, projectBox, sensorToCam, transformBox, type Detection3D, type KittiClass, type Mat34, type Sequence } from './data.js';

export type FrameMode = 'sensor' | 'world';

const FRAME_MS = 100;
/** An arbitrary epoch for the RSU timeline (KITTI has no capture times; frames are 10 Hz). */
const T0_MS = 1_700_000_000_000;

/** A KITTI detection class as the daemon's object class. */
export const CLASS_OF: Record<KittiClass, ObjectClass> = { Car: 'car', Pedestrian: 'pedestrian', Cyclist: 'bicycle' };

/** Our class → KITTI's evaluated class (others are not written). */
export function kittiClassOf(c: ObjectClass): KittiClass | undefined {
  if (c === 'car' || c === 'van' || c === 'truck' || c === 'bus' || c === 'trailer' || c === 'emergency_vehicle') return 'Car';
  if (c === 'pedestrian') return 'Pedestrian';
  if (c === 'bicycle' || c === 'motorcycle') return 'Cyclist';
  return undefined;
}

/** PointRCNN scores are unbounded logits: a probability for DetectedObject.confidence. */
export const scoreToConfidence = (s: number): number => 1 / (1 + Math.exp(-s));

/** How high KITTI's cameras and lidar are above the road (the recording car's mounting, KITTI's setup page). */
export const KITTI_MOUNT_M = 1.65;

/** Which fusion runs, and with what. */
export interface OursOptions {
  tracker?: TrackerConfig;
  /** 'lidar': one lidar, plain fusion (default); 'plain' or 'onnx': the lidar and the P2 camera (sensor frame only). */
  fusion?: 'lidar' | 'plain' | 'onnx';
  /** Extra settings of the camera sensor (groundHeightM, groundFromLidar, groundStdM). */
  camera?: Record<string, unknown>;
  /** A model file for 'onnx' (default the shipped models/fusion.onnx). */
  model?: string;
  /** A backend to run instead of the fusion's (training data: the fusion with hooks); DetectedObject.id = index in the frame's detections. */
  backend?: FusionFactory;
  /** Called with every camera detection's ground placement (rule, and the model's when it placed it). */
  onPlacement?: (p: Placement) => void;
}

/** A camera detection placed on the ground, in the frame's sensor coordinates (x forward, y left), for NEES. */
export interface Placement {
  frame: number;
  /** Index into the frame's 2D detections (Sequence.dets2d of that frame, in file order). */
  det: number;
  source: 'rule' | 'model';
  x: number;
  y: number;
  cov: [number, number, number];
}

/** The camera of a KITTI calibration as a deployer configures it: P2's intrinsics and its centre, at the car's mounting height. */
export function kittiCamera(p2: Mat34): Record<string, unknown> {
  const fx = p2[0]!;
  const fy = p2[5]!;
  const cx = p2[2]!;
  const cy = p2[6]!;
  // P2 = K·[I | t]: the camera centre is −t in the rectified camera frame (x right, y down, z forward).
  const tz = p2[11]!;
  const ty = (p2[7]! - cy * tz) / fy;
  const tx = (p2[3]! - cx * tz - p2[1]! * ty) / fx;
  return {
    id: 'cam2',
    kind: 'camera',
    pose: { x: -tz, y: tx, z: KITTI_MOUNT_M + ty },
    // KITTI's images are 1224-1242 x 370-376 px; boxes beyond the smaller ones are clamped by the placement.
    intrinsics: { width: 1242, height: 375, fx, fy, cx, cy, distortion: [] },
    maxRangeM: 120,
    // RRC's boxes: cars and pedestrians (a cyclist it does not detect is no camera miss).
    classes: ['car', 'pedestrian'],
  };
}

/** The config a deployer would write for one lidar (and the P2 camera) at the car's mounting height. */
export function kittiConfig(mode: FrameMode, tracker: TrackerConfig = {}, camera?: Record<string, unknown>, fusion: 'plain' | 'onnx' = 'plain'): RsuConfig {
  const r = validateConfig({
    rsu: { reference: { lat: 48.0, lon: 11.0, elevation: 500 }, stationFrame: {} },
    sensors: [{ id: 'velo', kind: 'lidar', pose: { z: KITTI_MOUNT_M }, maxRangeM: mode === 'world' ? 5000 : 120 }, ...(camera ? [camera] : [])],
    perception: { fusion, tracker },
  });
  if (!r.ok) throw new Error(`KITTI eval config invalid: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return r.config!;
}

/** Pose of frame k for the mode: camera→frame-of-tracking. */
const poseOf = (seq: Sequence, mode: FrameMode, k: number): Mat34 => (mode === 'world' ? seq.poses![k]! : identityPose());

/** The fusion backend, with a recorder of camera placements when asked. */
function backendOf(o: OursOptions, frameOf: (t: number) => number): FusionFactory {
  const rec = o.onPlacement;
  const record = (batch: FusionBatch, ms: readonly Measurement[], source: Placement['source']) => {
    if (!rec || batch.sensorKind !== 'camera') return;
    for (const m of ms) rec({ frame: frameOf(batch.timeMs), det: batch.frame.objects[m.objectIndex]!.id, source, x: m.x, y: m.y, cov: [...m.cov] });
  };
  const inner: FusionFactory =
    o.backend ??
    (o.fusion === 'onnx'
      ? onnxFusionFactory({ ...(o.model ? { modelPath: o.model } : {}), hooks: rec ? { applied: (b, up, born) => record(b, [...up, ...born].map((x) => x.m), 'model') } : undefined })
      : createPlainFusion);
  return (ctx) => {
    const b = inner(ctx);
    return { mode: b.mode, process: (batch) => (record(batch, batch.measurements, 'rule'), b.process(batch)), estimates: (t, all) => b.estimates(t, all), counts: () => b.counts() };
  };
}

/** Runs our stage over one sequence; returns KITTI tracking result lines. */
export function runOurs(seq: Sequence, mode: FrameMode, opts: OursOptions = {}): string[] {
  const withCamera = opts.fusion === 'plain' || opts.fusion === 'onnx';
  if (withCamera && mode !== 'sensor') throw new Error('the camera fusion runs in the sensor frame (a camera fixed to the sensor, as on a pole)');
  const camera = withCamera ? { ...kittiCamera(seq.p2), ...opts.camera } : undefined;
  const cfg = kittiConfig(mode, opts.tracker, camera, opts.fusion === 'onnx' ? 'onnx' : 'plain');
  // Coverage (where a miss counts) is the sensor's range: in the world frame the real sensor moves with the car.
  const stage = createPerception(cfg, {
    measurement: { coverageRangeM: { lidar: cfg.sensors[0]!.maxRangeM, radar: 200, camera: 120 } },
    backend: backendOf(opts, (t) => Math.round((t - T0_MS) / FRAME_MS)),
  });
  const byFrame = groupByFrame(seq.dets);
  const byFrame2d = groupByFrame(seq.dets2d);
  const out: string[] = [];
  for (let k = 0; k < seq.frames; k++) {
    const pose = poseOf(seq, mode, k);
    const objects: DetectedObject[] = (byFrame.get(k) ?? []).map((d, i) => ({
      id: i,
      classification: CLASS_OF[d.cls],
      confidence: scoreToConfidence(d.score),
      box3d: camToSensor(transformBox(d.box, pose)),
    }));
    const t = T0_MS + k * FRAME_MS;
    const frame: DetectionFrame = { sensorId: 'velo', sensorKind: 'lidar', frameNumber: k, sensorTimeMs: t, timeMs: t, receivedMs: t, objects };
    stage.push(frame);
    if (withCamera) {
      const boxes: DetectedObject[] = (byFrame2d.get(k) ?? []).map((d, i) => ({
        id: i,
        classification: CLASS_OF[d.cls],
        confidence: Math.min(1, Math.max(0, d.score)),
        box2d: { x: d.bbox[0], y: d.bbox[1], width: d.bbox[2] - d.bbox[0], height: d.bbox[3] - d.bbox[1] },
      }));
      // The same capture time as the lidar (KITTI triggers the camera with the scanner).
      stage.push({ sensorId: 'cam2', sensorKind: 'camera', frameNumber: k, sensorTimeMs: t, timeMs: t, receivedMs: t, objects: boxes });
    }
    const back = invert(pose);
    const dets = byFrame.get(k) ?? [];
    for (const tr of stage.tracks(t)) out.push(resultLine(k, tr, back, seq.p2, dets));
  }
  return out;
}

/**
 * A track as a KITTI result row in the frame's camera coordinates. Its image box is that of the frame's detection
 * of the same class it lies on (within 1 m), as AB3DMOT reports its detections' boxes, else the projected 3D box:
 * the KITTI evaluation uses image boxes to ignore small and DontCare-covered objects, and the projection of a
 * cuboid is larger than the detector's tight box.
 */
function resultLine(frame: number, tr: Track, back: Mat34, p2: Mat34, dets: readonly Detection3D[]): string {
  const cls = kittiClassOf(tr.classification);
  if (!cls) return '';
  const local = sensorToCam({ x: tr.enu.x, y: tr.enu.y, zBottom: tr.enu.z - KITTI_MOUNT_M, yaw: trackYaw(tr), ...tr.size });
  const b = transformBox(local, back);
  let bb = projectBox(b, p2);
  let best = 1;
  for (const d of dets) {
    const dist = Math.hypot(d.box.x - b.x, d.box.z - b.z);
    if (d.cls === cls && dist < best) {
      best = dist;
      bb = d.bbox;
    }
  }
  const alpha = -10;
  return `${frame} ${tr.id} ${cls} 0 0 ${alpha} ${bb.map((v) => v.toFixed(2)).join(' ')} ${b.h.toFixed(3)} ${b.w.toFixed(3)} ${b.l.toFixed(3)} ${b.x.toFixed(3)} ${b.y.toFixed(3)} ${b.z.toFixed(3)} ${b.ry.toFixed(4)} ${tr.confidence.toFixed(6)}`;
}

/** The track's yaw in the local frame (radians from east): from its heading (degrees from north). */
function trackYaw(tr: Track): number {
  // The station frame here is at the reference with no rotation, so meridian convergence is negligible (< 1e-3°).
  return Math.PI / 2 - (tr.headingDeg * Math.PI) / 180;
}

/** Writes the sequence's detections, moved into the mode's frame, in AB3DMOT's per-class files. */
export function writeBaselineInput(seq: Sequence, mode: FrameMode, dir: string): void {
  for (const c of KITTI_CLASSES) {
    const d = join(dir, `pointrcnn_${c}`);
    mkdirSync(d, { recursive: true });
    const rows = seq.dets
      .filter((x) => x.cls === c)
      .map((x) => {
        const b = transformBox(x.box, poseOf(seq, mode, x.frame));
        return [x.frame, KITTI_TYPE_ID[c], ...x.bbox, x.score, b.h, b.w, b.l, b.x, b.y, b.z, b.ry, x.alpha].join(',');
      });
    writeFileSync(join(d, `${seq.name}.txt`), rows.length ? rows.join('\n') + '\n' : '');
  }
}

/** Moves AB3DMOT's result rows (in the mode's frame) back into each frame's camera coordinates. */
export function baselineToCamera(seq: Sequence, mode: FrameMode, rows: string[]): string[] {
  if (mode === 'sensor') return rows;
  return rows.map((l) => {
    const f = l.split(' ');
    const k = Number(f[0]);
    const box = { h: +f[10]!, w: +f[11]!, l: +f[12]!, x: +f[13]!, y: +f[14]!, z: +f[15]!, ry: +f[16]! };
    const b = transformBox(box, invert(poseOf(seq, mode, k)));
    const bb = projectBox(b, seq.p2);
    return [f[0], f[1], f[2], f[3], f[4], f[5], ...bb.map((v) => v.toFixed(2)), b.h, b.w, b.l, b.x.toFixed(3), b.y.toFixed(3), b.z.toFixed(3), b.ry.toFixed(4), f[17]].join(' ');
  });
}
