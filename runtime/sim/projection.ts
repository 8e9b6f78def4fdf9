// Sensor geometry for the simulated sensors, on top of the perception stage's: a sensor's placement in the local
// ENU frame (SensorFrame, on RigidTransform), the corners of a 3D box, image rectangles, and a camera's 2D box
// of a 3D box. The camera math itself (pose → optical frame, OpenCV distortion k1, k2, p1, p2[, k3[, k4, k5, k6]],
// the radius where the lens model stops being valid) is runtime/perception/camera.ts's CameraModel, the one the
// daemon uses on real calibrations, so the simulator renders exactly the pixels perception expects
// (test/sim-sensors.test.ts checks that, and that a camera placed from a TUMTraf file reprojects its own
// projection_matrix).

import type { CameraIntrinsics, Pose } from '../config/types.js';
import { CameraModel } from '../perception/camera.js';
import type { Rect } from '../perception/fusion-features.js';
import { RigidTransform } from '../perception/georef.js';

export interface V3 {
  x: number;
  y: number;
  z: number;
}

export const IDENTITY_POSE: Pose = { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 };

/** A sensor's rigid placement in the local ENU frame (the chain of Georef.sensorToLocal). */
export class SensorFrame {
  /** Sensor body frame → local. */
  readonly sensorToLocal: RigidTransform;
  readonly localToSensor: RigidTransform;
  /** The sensor's position in the local frame. */
  readonly t: V3;

  constructor(pose: Pose, stationFrame: Pose = IDENTITY_POSE) {
    this.sensorToLocal = RigidTransform.fromPose(stationFrame).compose(RigidTransform.fromPose(pose));
    this.localToSensor = this.sensorToLocal.inverse();
    const t = this.sensorToLocal.t;
    this.t = { x: t[0]!, y: t[1]!, z: t[2]! };
  }

  /** Local ENU point → sensor frame. */
  toSensor(p: V3): V3 {
    return this.localToSensor.apply(p);
  }

  /** Local ENU direction → sensor frame. */
  dirToSensor(d: V3): V3 {
    return this.localToSensor.applyVector(d);
  }

  /** Sensor-frame point → local ENU. */
  toLocal(p: V3): V3 {
    return this.sensorToLocal.apply(p);
  }

  /** Sensor-frame direction → local ENU. */
  dirToLocal(d: V3): V3 {
    return this.sensorToLocal.applyVector(d);
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

export type { Rect };

export const rectArea = (r: Rect) => Math.max(0, r.x1 - r.x0) * Math.max(0, r.y1 - r.y0);

/** A calibrated camera's 2D boxes of 3D boxes (local ENU): CameraModel plus what only the simulator needs. */
export class CameraProjector {
  /** The camera body frame. */
  readonly frame: SensorFrame;
  /** The perception stage's camera model, for the same pose and intrinsics. */
  readonly camera: CameraModel;

  constructor(pose: Pose, k: CameraIntrinsics, stationFrame: Pose = IDENTITY_POSE) {
    this.frame = new SensorFrame(pose, stationFrame);
    this.camera = new CameraModel(k, this.frame.sensorToLocal);
  }

  get k(): CameraIntrinsics {
    return this.camera.intrinsics;
  }

  /**
   * Optical-frame point (z > 0) → pixel: CameraModel's distortion within the lens model's valid radius
   * (CameraModel.rMax). Beyond it CameraModel.project() gives null, but a box corner cannot just be dropped (the
   * box would shrink onto its other corners), so the point goes far off-image along its undistorted direction
   * and the box reaches the image border on that side (and, a coarse approximation, on the side its direction
   * leans to in the other axis).
   *
   * Lens edge: the perception stage's, the fold of the distortion polynomial found on a 1e-4 grid, less 1 %
   * (S110 cameras: r = 1.602, 58.0° off-axis). The simulator's own copy took the fold on a 0.01 grid with no
   * margin (r = 1.620, already past the true fold at 1.618, where the model bends back), and put the corners
   * between the two onto the fold ring instead of off-image. The perception edge is the right one: it is what the
   * daemon applies to real calibrations, and every corner pixel the simulator computes can be undistorted there.
   */
  projectOptical(o: V3): { u: number; v: number } {
    const x = o.x / o.z;
    const y = o.y / o.z;
    const r2 = x * x + y * y;
    const rMax = this.camera.rMax;
    if (!(r2 <= rMax * rMax)) {
      const s = 1e6 / Math.sqrt(r2);
      return { u: this.k.cx + this.k.fx * x * s, v: this.k.cy + this.k.fy * y * s };
    }
    return this.camera.distort(x, y);
  }

  /**
   * Bounding rectangle of a 3D box's projection, edges clipped at a near plane 0.1 m in front of the camera
   * (so a box partly behind the camera extends off the image as it should). Undefined when entirely behind.
   * Not clipped to the image.
   */
  projectBox(corners: V3[]): Rect | undefined {
    const opt = corners.map((c) => this.camera.toOptical(c));
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
