// KITTI tracking data for `npm run eval:kitti`: 3D detections (AB3DMOT's format, e.g. PointRCNN), 2D camera
// detections (RRC), labels, calibration (P2) and per-frame camera poses (ORB-SLAM3, 3x4 camera→world rows), and the
// transforms between KITTI's rectified camera frame (x right, y down, z forward; boxes by their bottom centre and
// a rotation ry about y) and the sensor frame the daemon takes (x forward, y left, z up; boxes by their centre and
// a yaw about z). Nothing here is KITTI-licensed: the data stays in the directory the user gives.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The development split of issue 13 (AB3DMOT's training half). */
export const DEV_SEQUENCES = ['0000', '0002', '0003', '0004', '0005', '0007', '0009', '0011', '0017', '0020'] as const;
/** Held out for an independent evaluation (AB3DMOT's validation split): never run, tuned or reported on. */
export const HELD_OUT_SEQUENCES = ['0001', '0006', '0008', '0010', '0012', '0013', '0014', '0015', '0016', '0018', '0019'] as const;

export const KITTI_CLASSES = ['Car', 'Pedestrian', 'Cyclist'] as const;
export type KittiClass = (typeof KITTI_CLASSES)[number];
/** AB3DMOT's numeric type column. */
export const KITTI_TYPE_ID: Record<KittiClass, number> = { Pedestrian: 1, Car: 2, Cyclist: 3 };

/** A 3D box in KITTI's rectified camera frame: bottom centre (x, y, z), size, rotation about the camera's y axis. */
export interface CamBox {
  h: number;
  w: number;
  l: number;
  x: number;
  y: number;
  z: number;
  ry: number;
}

export interface Detection3D {
  frame: number;
  cls: KittiClass;
  /** Detector score as written (PointRCNN: an unbounded logit-like value). */
  score: number;
  box: CamBox;
  /** The detector's 2D box (x1, y1, x2, y2) and observation angle: copied through to AB3DMOT. */
  bbox: [number, number, number, number];
  alpha: number;
}

export interface Detection2D {
  frame: number;
  cls: KittiClass;
  score: number;
  bbox: [number, number, number, number];
}

/** Row-major 3x4 matrix. */
export type Mat34 = number[];

export interface Sequence {
  name: string;
  frames: number;
  dets: Detection3D[];
  dets2d: Detection2D[];
  /** P2 of the calibration (rectified camera 0 → image 2). */
  p2: Mat34;
  /** camera→world per frame (world = the camera at frame 0), or undefined when the data has no poses. */
  poses?: Mat34[];
}

const num = (s: string, what: string): number => {
  const v = Number(s);
  if (!Number.isFinite(v)) throw new Error(`${what}: not a number: ${JSON.stringify(s)}`);
  return v;
};

const lines = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);

/** AB3DMOT detection file: frame,type,x1,y1,x2,y2,score,h,w,l,x,y,z,ry,alpha. */
export function readDetections3D(file: string, cls: KittiClass): Detection3D[] {
  if (!existsSync(file)) return [];
  return lines(file).map((l, i) => {
    const f = l.split(',').map((s) => num(s, `${file}:${i + 1}`));
    if (f.length !== 15) throw new Error(`${file}:${i + 1}: expected 15 comma-separated fields, got ${f.length}`);
    return { frame: f[0]!, cls, score: f[6]!, bbox: [f[2]!, f[3]!, f[4]!, f[5]!], box: { h: f[7]!, w: f[8]!, l: f[9]!, x: f[10]!, y: f[11]!, z: f[12]!, ry: f[13]! }, alpha: f[14]! };
  });
}

/** RRC 2D detection file: frame,x1,y1,x2,y2,score. */
export function readDetections2D(file: string, cls: KittiClass): Detection2D[] {
  if (!existsSync(file)) return [];
  return lines(file).map((l, i) => {
    const f = l.split(',').map((s) => num(s, `${file}:${i + 1}`));
    if (f.length !== 6) throw new Error(`${file}:${i + 1}: expected 6 comma-separated fields, got ${f.length}`);
    return { frame: f[0]!, cls, score: f[5]!, bbox: [f[1]!, f[2]!, f[3]!, f[4]!] };
  });
}

export function readP2(file: string): Mat34 {
  for (const l of lines(file)) {
    if (!l.startsWith('P2:')) continue;
    const v = l.slice(3).trim().split(/\s+/).map((s) => num(s, `${file} P2`));
    if (v.length !== 12) throw new Error(`${file}: P2 has ${v.length} values, expected 12`);
    return v;
  }
  throw new Error(`${file}: no P2 line`);
}

export function readPoses(file: string): Mat34[] {
  return lines(file).map((l, i) => {
    const v = l.split(/\s+/).map((s) => num(s, `${file}:${i + 1}`));
    if (v.length !== 12) throw new Error(`${file}:${i + 1}: a pose has 12 values, got ${v.length}`);
    return v;
  });
}

/** Frames per sequence, from the label file (the last frame + 1). */
export function labelFrames(file: string): number {
  let max = -1;
  for (const l of lines(file)) max = Math.max(max, num(l.split(/\s+/)[0]!, file));
  return max + 1;
}

/**
 * The directory layout the tool reads (see docs/eval/KITTI.md):
 *   detections/pointrcnn_{Car,Pedestrian,Cyclist}/SEQ.txt, detections2d/rrc_{Car,Pedestrian}/SEQ.txt,
 *   label_02/SEQ.txt, calib/SEQ.txt, poses/SEQ.txt (optional).
 */
export function loadSequence(dir: string, name: string): Sequence {
  const label = join(dir, 'label_02', `${name}.txt`);
  if (!existsSync(label)) throw new Error(`${label} not found`);
  const dets = KITTI_CLASSES.flatMap((c) => readDetections3D(join(dir, 'detections', `pointrcnn_${c}`, `${name}.txt`), c));
  const dets2d = (['Car', 'Pedestrian'] as const).flatMap((c) => readDetections2D(join(dir, 'detections2d', `rrc_${c}`, `${name}.txt`), c));
  const poseFile = join(dir, 'poses', `${name}.txt`);
  const frames = labelFrames(label);
  const poses = existsSync(poseFile) ? readPoses(poseFile) : undefined;
  if (poses && poses.length < frames) throw new Error(`${poseFile}: ${poses.length} poses for ${frames} frames`);
  return { name, frames, dets, dets2d, p2: readP2(join(dir, 'calib', `${name}.txt`)), poses };
}

// ---------------------------------------------------------------------------------------------------------------
// Transforms

const IDENTITY: Mat34 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];

/** Applies a rigid camera-frame transform (pose) to a box: position by R·p + t, heading by R applied to its direction. */
export function transformBox(b: CamBox, m: Mat34): CamBox {
  const x = m[0]! * b.x + m[1]! * b.y + m[2]! * b.z + m[3]!;
  const y = m[4]! * b.x + m[5]! * b.y + m[6]! * b.z + m[7]!;
  const z = m[8]! * b.x + m[9]! * b.y + m[10]! * b.z + m[11]!;
  // Heading direction in the camera frame: ry rotates +x towards -z.
  const dx = Math.cos(b.ry);
  const dz = -Math.sin(b.ry);
  const wx = m[0]! * dx + m[2]! * dz;
  const wz = m[8]! * dx + m[10]! * dz;
  return { ...b, x, y, z, ry: Math.atan2(-wz, wx) };
}

/** Inverse of a rigid 3x4 transform. */
export function invert(m: Mat34): Mat34 {
  // R^T and -R^T t
  const r = [m[0]!, m[4]!, m[8]!, m[1]!, m[5]!, m[9]!, m[2]!, m[6]!, m[10]!];
  const t = [m[3]!, m[7]!, m[11]!];
  return [
    r[0]!, r[1]!, r[2]!, -(r[0]! * t[0]! + r[1]! * t[1]! + r[2]! * t[2]!),
    r[3]!, r[4]!, r[5]!, -(r[3]! * t[0]! + r[4]! * t[1]! + r[5]! * t[2]!),
    r[6]!, r[7]!, r[8]!, -(r[6]! * t[0]! + r[7]! * t[1]! + r[8]! * t[2]!),
  ];
}

export const identityPose = (): Mat34 => [...IDENTITY];

/** A camera-frame box as the sensor-frame Box3D the daemon takes (x forward, y left, z up, centre of the box). */
export function camToSensor(b: CamBox): { x: number; y: number; z: number; length: number; width: number; height: number; yaw: number } {
  return { x: b.z, y: -b.x, z: -b.y + b.h / 2, length: b.l, width: b.w, height: b.h, yaw: wrap(-b.ry - Math.PI / 2) };
}

/** The inverse of camToSensor, from a bottom centre in the sensor frame. */
export function sensorToCam(p: { x: number; y: number; zBottom: number; yaw: number; length: number; width: number; height: number }): CamBox {
  return { x: -p.y, y: -p.zBottom, z: p.x, h: p.height, w: p.width, l: p.length, ry: wrap(-p.yaw - Math.PI / 2) };
}

export function wrap(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}

/** The image box (x1, y1, x2, y2) of a camera-frame box under P2, clipped to a 1242x375 image; zeros when behind. */
export function projectBox(b: CamBox, p2: Mat34): [number, number, number, number] {
  const c = Math.cos(b.ry);
  const s = Math.sin(b.ry);
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const dx of [-b.l / 2, b.l / 2])
    for (const dz of [-b.w / 2, b.w / 2])
      for (const dy of [0, -b.h]) {
        const X = b.x + c * dx + s * dz;
        const Y = b.y + dy;
        const Z = Math.max(0.1, b.z - s * dx + c * dz);
        const u = p2[0]! * X + p2[1]! * Y + p2[2]! * Z + p2[3]!;
        const v = p2[4]! * X + p2[5]! * Y + p2[6]! * Z + p2[7]!;
        const w = p2[8]! * X + p2[9]! * Y + p2[10]! * Z + p2[11]!;
        x1 = Math.min(x1, u / w);
        x2 = Math.max(x2, u / w);
        y1 = Math.min(y1, v / w);
        y2 = Math.max(y2, v / w);
      }
  if (b.z < 0.1) return [0, 0, 0, 0];
  const cx = (v: number) => Math.min(1241, Math.max(0, v));
  const cy = (v: number) => Math.min(374, Math.max(0, v));
  return [cx(x1), cy(y1), cx(x2), cy(y2)];
}

/** Rows grouped by their frame number, in input order. */
export function groupByFrame<T extends { frame: number }>(xs: readonly T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const d of xs) {
    let l = m.get(d.frame);
    if (!l) m.set(d.frame, (l = []));
    l.push(d);
  }
  return m;
}
