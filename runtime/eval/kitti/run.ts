// Runs our perception stage over KITTI sequences through the daemon's seams (a validated config,
// createPerception, one lidar DetectionFrame per KITTI frame at 10 Hz, tracks(t) as the RSM builder takes them)
// and writes KITTI tracking results; also writes the same detections, in the same frame, for AB3DMOT.
//
// Frames: 'sensor' feeds the detections as recorded (the moving car's camera frame); 'world' applies the frame's
// camera pose first, as a fixed roadside sensor at the world origin sees them. Results are always written back in
// the frame's camera coordinates, where the labels are.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type RsuConfig, type TrackerConfig } from '../../config/index.js';
import { createPerception, type DetectedObject, type DetectionFrame, type ObjectClass, type Track } from '../../perception/index.js';
import { camToSensor, identityPose, invert, KITTI_CLASSES, KITTI_TYPE_ID, projectBox, sensorToCam, transformBox, type Detection3D, type KittiClass, type Mat34, type Sequence } from './data.js';

export type FrameMode = 'sensor' | 'world';

const FRAME_MS = 100;
/** An arbitrary epoch for the RSU timeline (KITTI has no capture times; frames are 10 Hz). */
const T0_MS = 1_700_000_000_000;

const CLASS_OF: Record<KittiClass, ObjectClass> = { Car: 'car', Pedestrian: 'pedestrian', Cyclist: 'bicycle' };

/** Our class → KITTI's evaluated class (others are not written). */
export function kittiClassOf(c: ObjectClass): KittiClass | undefined {
  if (c === 'car' || c === 'van' || c === 'truck' || c === 'bus' || c === 'trailer' || c === 'emergency_vehicle') return 'Car';
  if (c === 'pedestrian') return 'Pedestrian';
  if (c === 'bicycle' || c === 'motorcycle') return 'Cyclist';
  return undefined;
}

/** PointRCNN scores are unbounded logits: a probability for DetectedObject.confidence. */
export const scoreToConfidence = (s: number): number => 1 / (1 + Math.exp(-s));

/** The config a deployer would write for one lidar at the origin (range large enough for the world frame). */
export function kittiConfig(mode: FrameMode, tracker: TrackerConfig = {}): RsuConfig {
  const r = validateConfig({
    rsu: { reference: { lat: 48.0, lon: 11.0, elevation: 500 }, stationFrame: {} },
    sensors: [{ id: 'velo', kind: 'lidar', pose: {}, maxRangeM: mode === 'world' ? 5000 : 120 }],
    perception: { fusion: 'plain', tracker },
  });
  if (!r.ok) throw new Error(`KITTI eval config invalid: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return r.config!;
}

/** Pose of frame k for the mode: camera→frame-of-tracking. */
const poseOf = (seq: Sequence, mode: FrameMode, k: number): Mat34 => (mode === 'world' ? seq.poses![k]! : identityPose());

/** Runs our stage over one sequence; returns KITTI tracking result lines. */
export function runOurs(seq: Sequence, mode: FrameMode, tracker: TrackerConfig = {}): string[] {
  const cfg = kittiConfig(mode, tracker);
  // Coverage (where a miss counts) is the sensor's range: in the world frame the real sensor moves with the car.
  const stage = createPerception(cfg, { measurement: { coverageRangeM: { lidar: cfg.sensors[0]!.maxRangeM, radar: 200, camera: 120 } } });
  const byFrame = new Map<number, typeof seq.dets>();
  for (const d of seq.dets) {
    let l = byFrame.get(d.frame);
    if (!l) byFrame.set(d.frame, (l = []));
    l.push(d);
  }
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
  const local = sensorToCam({ x: tr.enu.x, y: tr.enu.y, zBottom: tr.enu.z, yaw: trackYaw(tr), ...tr.size });
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
