// Sensor geometry for the simulated sensors: local ENU ↔ sensor frame, and the pinhole camera with OpenCV
// distortion (k1, k2, p1, p2[, k3[, k4, k5, k6]]).
//
// Written here (small) because runtime/perception/camera.ts did not exist yet when the simulator was written; the
// conventions are those of runtime/config (pose.ts: body frame x forward, y left, z up; OPTICAL_IN_BODY for the
// optical frame x right, y down, z forward), so a camera placed from a TUMTraf file reprojects its own
// projection_matrix (test/sim-camera.test.ts checks that).

import { OPTICAL_IN_BODY, sensorToLocal, type Mat4 } from '../config/pose.js';
import type { CameraIntrinsics, Pose } from '../config/types.js';

export interface V3 {
  x: number;
  y: number;
  z: number;
}

export const IDENTITY_POSE: Pose = { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 };

/** A sensor's rigid placement in the local ENU frame. */
export class SensorFrame {
  /** Sensor → local: rotation (row-major) and translation. */
  readonly r: number[][];
  readonly t: V3;
  readonly matrix: Mat4;

  constructor(pose: Pose, stationFrame: Pose = IDENTITY_POSE) {
    this.matrix = sensorToLocal(stationFrame, pose);
    this.r = this.matrix.slice(0, 3).map((row) => row.slice(0, 3));
    this.t = { x: this.matrix[0]![3]!, y: this.matrix[1]![3]!, z: this.matrix[2]![3]! };
  }

  /** Local ENU point → sensor frame. */
  toSensor(p: V3): V3 {
    const dx = p.x - this.t.x;
    const dy = p.y - this.t.y;
    const dz = p.z - this.t.z;
    const r = this.r;
    return {
      x: r[0]![0]! * dx + r[1]![0]! * dy + r[2]![0]! * dz,
      y: r[0]![1]! * dx + r[1]![1]! * dy + r[2]![1]! * dz,
      z: r[0]![2]! * dx + r[1]![2]! * dy + r[2]![2]! * dz,
    };
  }

  /** Local ENU direction → sensor frame. */
  dirToSensor(d: V3): V3 {
    const r = this.r;
    return {
      x: r[0]![0]! * d.x + r[1]![0]! * d.y + r[2]![0]! * d.z,
      y: r[0]![1]! * d.x + r[1]![1]! * d.y + r[2]![1]! * d.z,
      z: r[0]![2]! * d.x + r[1]![2]! * d.y + r[2]![2]! * d.z,
    };
  }

  /** Sensor-frame point → local ENU. */
  toLocal(p: V3): V3 {
    const r = this.r;
    return {
      x: r[0]![0]! * p.x + r[0]![1]! * p.y + r[0]![2]! * p.z + this.t.x,
      y: r[1]![0]! * p.x + r[1]![1]! * p.y + r[1]![2]! * p.z + this.t.y,
      z: r[2]![0]! * p.x + r[2]![1]! * p.y + r[2]![2]! * p.z + this.t.z,
    };
  }

  /** Sensor-frame direction → local ENU. */
  dirToLocal(d: V3): V3 {
    const r = this.r;
    return {
      x: r[0]![0]! * d.x + r[0]![1]! * d.y + r[0]![2]! * d.z,
      y: r[1]![0]! * d.x + r[1]![1]! * d.y + r[1]![2]! * d.z,
      z: r[2]![0]! * d.x + r[2]![1]! * d.y + r[2]![2]! * d.z,
    };
  }
}

/** The 8 corners of a 3D box: centre, heading about z (radians), size. */
export function boxCorners3d(c: V3, heading: number, l: number, w: number, h: number): V3[] {
  const co = Math.cos(heading);
  const si = Math.sin(heading);
  const out: V3[] = [];
  for (const dz of [-h / 2, h / 2])
    for (const [a, b] of [
      [1, 1],
      [1, -1],
      [-1, -1],
      [-1, 1],
    ] as const) {
      const lx = (a * l) / 2;
      const ly = (b * w) / 2;
      out.push({ x: c.x + lx * co - ly * si, y: c.y + lx * si + ly * co, z: c.z + dz });
    }
  return out;
}

/** Edges of boxCorners3d's corners. */
export const BOX_EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [1, 2], [2, 3], [3, 0],
  [4, 5], [5, 6], [6, 7], [7, 4],
  [0, 4], [1, 5], [2, 6], [3, 7],
];

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export const rectArea = (r: Rect) => Math.max(0, r.x1 - r.x0) * Math.max(0, r.y1 - r.y0);

export function iou(a: Rect, b: Rect): number {
  const i = rectArea({ x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) });
  const u = rectArea(a) + rectArea(b) - i;
  return u > 0 ? i / u : 0;
}

/** A calibrated camera: local ENU → pixels, with lens distortion. */
export class CameraProjector {
  readonly frame: SensorFrame;
  /** Largest normalised radius where the distortion polynomial is still monotonic (beyond it, points are off-image). */
  readonly rMax: number;

  constructor(
    pose: Pose,
    readonly k: CameraIntrinsics,
    stationFrame: Pose = IDENTITY_POSE,
  ) {
    this.frame = new SensorFrame(pose, stationFrame);
    let rMax = 3;
    let prev = 0;
    for (let r = 0.01; r <= 3; r += 0.01) {
      const f = r * this.radial(r * r);
      if (f <= prev) {
        rMax = r - 0.01;
        break;
      }
      prev = f;
    }
    this.rMax = rMax;
  }

  private radial(r2: number): number {
    const [k1 = 0, k2 = 0, , , k3 = 0, k4 = 0, k5 = 0, k6 = 0] = this.k.distortion;
    return (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)));
  }

  /** Local ENU → optical frame (x right, y down, z forward), metres. */
  toOptical(p: V3): V3 {
    const b = this.frame.toSensor(p);
    // optical = OPTICAL_IN_BODYᵀ · body
    const m = OPTICAL_IN_BODY;
    return {
      x: m[0]![0]! * b.x + m[1]![0]! * b.y + m[2]![0]! * b.z,
      y: m[0]![1]! * b.x + m[1]![1]! * b.y + m[2]![1]! * b.z,
      z: m[0]![2]! * b.x + m[1]![2]! * b.y + m[2]![2]! * b.z,
    };
  }

  /** Optical-frame point (z > 0) → pixel, with distortion; points beyond the lens model's range land far off-image. */
  projectOptical(o: V3): { u: number; v: number } {
    const x = o.x / o.z;
    const y = o.y / o.z;
    const r2 = x * x + y * y;
    if (r2 > this.rMax * this.rMax) {
      const s = 1e6 / Math.sqrt(r2);
      return { u: this.k.cx + this.k.fx * x * s, v: this.k.cy + this.k.fy * y * s };
    }
    const [, , p1 = 0, p2 = 0] = this.k.distortion;
    const rad = this.radial(r2);
    const xd = x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
    const yd = y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
    return { u: this.k.fx * xd + this.k.cx, v: this.k.fy * yd + this.k.cy };
  }

  /** Local ENU point → pixel; undefined behind the camera. */
  project(p: V3): { u: number; v: number } | undefined {
    const o = this.toOptical(p);
    return o.z > 1e-3 ? this.projectOptical(o) : undefined;
  }

  /**
   * Bounding rectangle of a 3D box's projection, edges clipped at a near plane 0.1 m in front of the camera
   * (so a box partly behind the camera extends off the image as it should). Undefined when entirely behind.
   * Not clipped to the image.
   */
  projectBox(corners: V3[]): Rect | undefined {
    const opt = corners.map((c) => this.toOptical(c));
    const near = 0.1;
    const pts: V3[] = opt.filter((o) => o.z >= near);
    if (pts.length === 0) return undefined;
    if (pts.length < 8)
      for (const [i, j] of BOX_EDGES) {
        const a = opt[i]!;
        const b = opt[j]!;
        if ((a.z < near) !== (b.z < near)) {
          const t = (near - a.z) / (b.z - a.z);
          pts.push({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, z: near });
        }
      }
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const o of pts) {
      const p = this.projectOptical(o);
      x0 = Math.min(x0, p.u);
      y0 = Math.min(y0, p.v);
      x1 = Math.max(x1, p.u);
      y1 = Math.max(y1, p.v);
    }
    return { x0, y0, x1, y1 };
  }

  clipToImage(r: Rect): Rect {
    return { x0: Math.max(0, r.x0), y0: Math.max(0, r.y0), x1: Math.min(this.k.width, r.x1), y1: Math.min(this.k.height, r.y1) };
  }
}
