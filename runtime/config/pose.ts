// Rotation and pose helpers for sensor extrinsics. Matrices are row-major arrays of rows.

import type { Pose } from './types.js';

export type Mat3 = number[][];
export type Mat4 = number[][];

const RAD = Math.PI / 180;

export function mul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
}

export function transpose(a: number[][]): number[][] {
  return a[0]!.map((_, j) => a.map((row) => row[j]!));
}

export function det3(m: Mat3): number {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const [g, h, i] = m[2]!;
  return a! * (e! * i! - f! * h!) - b! * (d! * i! - f! * g!) + c! * (d! * h! - e! * g!);
}

export function inv3(m: Mat3): Mat3 {
  const [a, b, c] = m[0] as [number, number, number];
  const [d, e, f] = m[1] as [number, number, number];
  const [g, h, i] = m[2] as [number, number, number];
  const det = det3(m);
  if (Math.abs(det) < 1e-12) throw new Error('matrix is singular');
  const adj = [
    [e * i - f * h, c * h - b * i, b * f - c * e],
    [f * g - d * i, a * i - c * g, c * d - a * f],
    [d * h - e * g, b * g - a * h, a * e - b * d],
  ];
  return adj.map((r) => r.map((v) => v / det));
}

/** Largest absolute entry of R·Rᵀ − I: 0 for a rotation matrix. */
export function orthonormalityError(r: Mat3): number {
  const p = mul(r, transpose(r));
  let e = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) e = Math.max(e, Math.abs(p[i]![j]! - (i === j ? 1 : 0)));
  return e;
}

/** Rotation matrix of a pose: Rz(yaw)·Ry(pitch)·Rx(roll), angles in degrees. Columns are the body axes. */
export function rotationOf(p: Pick<Pose, 'roll' | 'pitch' | 'yaw'>): Mat3 {
  const [cr, sr] = [Math.cos(p.roll * RAD), Math.sin(p.roll * RAD)];
  const [cp, sp] = [Math.cos(p.pitch * RAD), Math.sin(p.pitch * RAD)];
  const [cy, sy] = [Math.cos(p.yaw * RAD), Math.sin(p.yaw * RAD)];
  return [
    [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
    [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
    [-sp, cp * sr, cp * cr],
  ];
}

/** Pose from a rotation matrix and a translation (inverse of rotationOf; angles in degrees). */
export function poseFrom(r: Mat3, t: readonly number[]): Pose {
  const pitch = Math.asin(Math.max(-1, Math.min(1, -r[2]![0]!)));
  let yaw: number;
  let roll: number;
  if (Math.abs(Math.cos(pitch)) > 1e-9) {
    yaw = Math.atan2(r[1]![0]!, r[0]![0]!);
    roll = Math.atan2(r[2]![1]!, r[2]![2]!);
  } else {
    // Gimbal lock: only yaw - roll (or yaw + roll) is defined; put it all in yaw.
    yaw = Math.atan2(-r[0]![1]!, r[1]![1]!);
    roll = 0;
  }
  const clean = (v: number) => (Math.abs(v) < 1e-12 ? 0 : v);
  return {
    x: clean(t[0]!),
    y: clean(t[1]!),
    z: clean(t[2]!),
    roll: clean(roll / RAD),
    pitch: clean(pitch / RAD),
    yaw: clean(yaw / RAD),
  };
}

/** Homogeneous 4x4 transform body → parent of a pose. */
export function poseToMatrix(p: Pose): Mat4 {
  const r = rotationOf(p);
  return [[...r[0]!, p.x], [...r[1]!, p.y], [...r[2]!, p.z], [0, 0, 0, 1]];
}

export function matrixToPose(m: Mat4): Pose {
  return poseFrom(
    m.slice(0, 3).map((row) => row.slice(0, 3)),
    m.slice(0, 3).map((row) => row[3]!),
  );
}

/** Sensor → local east-north-up transform, from the station frame's pose and the sensor's pose in it. */
export function sensorToLocal(stationFrame: Pose, sensorPose: Pose): Mat4 {
  return mul(poseToMatrix(stationFrame), poseToMatrix(sensorPose));
}

/**
 * Camera optical frame (x right, y down, z forward) expressed in the camera body frame (x forward, y left,
 * z up): R_body_optical. Its columns are the optical axes in body coordinates.
 */
export const OPTICAL_IN_BODY: Mat3 = [
  [0, 0, 1],
  [-1, 0, 0],
  [0, -1, 0],
];
