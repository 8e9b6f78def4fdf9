// Camera model: pinhole with OpenCV distortion (k1 k2 p1 p2 [k3 [k4 k5 k6]]), posed in the local ENU frame.
//
// - project(): local 3D point → pixel, with distortion (for the simulator and the learned fusion).
// - undistort(): pixel → normalized undistorted image coordinates, by Newton iteration on the distortion model.
// - placeOnGround(): a 2D detection box → the point where the viewing ray of its bottom-centre pixel meets the
//   ground (the plane z = groundZ of the local frame, or a sloped plane: ground.ts), or a reason why it cannot be
//   placed.
//
// Frames: the camera body frame (config convention: x forward along the optical axis, y left, z up) and the
// optical frame (x right, y down, z forward) related by OPTICAL_IN_BODY.
//
// The distortion polynomial is only invertible up to the radius where the distorted radius stops growing
// (r_d'(r) = 0, less 1 %: for the S110 cameras r = 1.60, 58° off-axis). Beyond it project() returns null and
// pixels that would need it are rejected ('outside_lens_model'): the model folds back there and would put
// points on the wrong side of the image.

import type { CameraIntrinsics } from '../../runtime/config/types.js';
import { hyp2, hyp3, RigidTransform, type Vec3 } from './georef.js';
import type { GroundPlane } from './ground.js';

export interface Pixel {
  u: number;
  v: number;
}

export type GroundRejection = 'above_horizon' | 'beyond_range' | 'outside_lens_model' | 'non_finite';

export interface GroundPlacement {
  /** The ground point in the local frame. */
  point: Vec3;
  /** Horizontal distance from the camera, m. */
  range: number;
  /** Azimuth of the viewing ray in the local frame (radians counter-clockwise from east). */
  azimuth: number;
  /** Depression of the viewing ray below the horizontal, radians. */
  depression: number;
  /** Height of the camera above the plane, m. */
  height: number;
}

export type GroundResult = ({ ok: true } & GroundPlacement) | { ok: false; reason: GroundRejection };

/** Largest undistorted radius considered by the model when it never folds back. */
const R_CAP = 10;

export class CameraModel {
  /** Camera centre in the local frame. */
  readonly center: Vec3;
  /** Row-major rotation optical → local (columns: optical x, y, z axes in the local frame). */
  private readonly rol: Float64Array;
  private readonly k1: number;
  private readonly k2: number;
  private readonly k3: number;
  private readonly k4: number;
  private readonly k5: number;
  private readonly k6: number;
  private readonly p1: number;
  private readonly p2: number;
  /** Largest undistorted normalized radius the distortion model is valid for (monotonic). */
  readonly rMax: number;
  /** Largest distorted normalized radius (the image of rMax). */
  readonly rdMax: number;

  constructor(
    readonly intrinsics: CameraIntrinsics,
    /** Camera body frame → local frame. */
    readonly bodyToLocal: RigidTransform,
  ) {
    const d = intrinsics.distortion;
    this.k1 = d[0] ?? 0;
    this.k2 = d[1] ?? 0;
    this.p1 = d[2] ?? 0;
    this.p2 = d[3] ?? 0;
    this.k3 = d[4] ?? 0;
    this.k4 = d[5] ?? 0;
    this.k5 = d[6] ?? 0;
    this.k6 = d[7] ?? 0;
    const b = bodyToLocal.r;
    // optical → body: x_o = -y_b, y_o = -z_b, z_o = x_b, i.e. R_body_optical = [[0,0,1],[-1,0,0],[0,-1,0]].
    // R_local_optical = R_local_body · R_body_optical: its columns are -col1(b), -col2(b), col0(b).
    this.rol = Float64Array.of(-b[1]!, -b[2]!, b[0]!, -b[4]!, -b[5]!, b[3]!, -b[7]!, -b[8]!, b[6]!);
    this.center = { x: bodyToLocal.t[0]!, y: bodyToLocal.t[1]!, z: bodyToLocal.t[2]! };
    this.rMax = this.findRMax();
    this.rdMax = this.rMax * this.radial(this.rMax * this.rMax);
  }

  /** Radial factor (1 + k1 r² + k2 r⁴ + k3 r⁶) / (1 + k4 r² + k5 r⁴ + k6 r⁶). */
  private radial(r2: number): number {
    const num = 1 + r2 * (this.k1 + r2 * (this.k2 + r2 * this.k3));
    const den = 1 + r2 * (this.k4 + r2 * (this.k5 + r2 * this.k6));
    return num / den;
  }

  /** First undistorted radius where d(r·radial(r))/dr ≤ 0 (less a 1 % margin), or R_CAP. */
  private findRMax(): number {
    const f = (r: number) => r * this.radial(r * r);
    const h = 1e-4;
    let prev = f(0);
    for (let r = h; r <= R_CAP; r += h) {
      const cur = f(r);
      const den = 1 + r * r * (this.k4 + r * r * (this.k5 + r * r * this.k6));
      if (!(cur > prev) || !(den > 0)) return Math.max(h, (r - h) * 0.99);
      prev = cur;
    }
    return R_CAP;
  }

  /** Normalized undistorted (x, y) → distorted pixel. */
  distort(x: number, y: number): Pixel {
    const r2 = x * x + y * y;
    const rad = this.radial(r2);
    const xd = x * rad + 2 * this.p1 * x * y + this.p2 * (r2 + 2 * x * x);
    const yd = y * rad + this.p1 * (r2 + 2 * y * y) + 2 * this.p2 * x * y;
    const k = this.intrinsics;
    return { u: k.fx * xd + k.cx, v: k.fy * yd + k.cy };
  }

  /**
   * Pixel → normalized undistorted image coordinates (x = X/Z, y = Y/Z in the optical frame), by Newton's method
   * on the full distortion model (radial, rational and tangential terms), started at the distorted coordinates.
   * Null when the pixel is outside the region where the model is invertible or the iteration does not converge
   * to 1e-6 px.
   */
  undistort(u: number, v: number): { x: number; y: number } | null {
    if (!Number.isFinite(u) || !Number.isFinite(v)) return null;
    const k = this.intrinsics;
    const xd = (u - k.cx) / k.fx;
    const yd = (v - k.cy) / k.fy;
    if (hyp2(xd, yd) > this.rdMax * 1.05 + 1e-9) return null;
    const { k1, k2, k3, k4, k5, k6, p1, p2 } = this;
    let x = xd;
    let y = yd;
    for (let it = 0; it < 30; it++) {
      const r2 = x * x + y * y;
      const num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
      const den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6));
      const rad = num / den;
      const dnum = k1 + r2 * (2 * k2 + r2 * 3 * k3);
      const dden = k4 + r2 * (2 * k5 + r2 * 3 * k6);
      const drad = (dnum * den - num * dden) / (den * den); // d rad / d r²
      const fx = x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd;
      const fy = y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - yd;
      const a11 = rad + 2 * x * x * drad + 2 * p1 * y + 6 * p2 * x;
      const a12 = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y;
      const a21 = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y;
      const a22 = rad + 2 * y * y * drad + 6 * p1 * y + 2 * p2 * x;
      const det = a11 * a22 - a12 * a21;
      if (!(Math.abs(det) > 1e-12)) return null;
      let dx = (a22 * fx - a12 * fy) / det;
      let dy = (a11 * fy - a21 * fx) / det;
      // Damp steps that would jump far outside the valid region.
      const step = hyp2(dx, dy);
      if (step > 0.5) {
        dx *= 0.5 / step;
        dy *= 0.5 / step;
      }
      x -= dx;
      y -= dy;
      if (Math.abs(dx) < 1e-13 && Math.abs(dy) < 1e-13) break;
    }
    if (!(hyp2(x, y) <= this.rMax)) return null;
    const back = this.distort(x, y);
    if (!(Math.abs(back.u - u) < 1e-6 && Math.abs(back.v - v) < 1e-6)) return null;
    return { x, y };
  }

  /** Local point → optical frame. */
  toOptical(p: Vec3): Vec3 {
    const r = this.rol;
    const dx = p.x - this.center.x;
    const dy = p.y - this.center.y;
    const dz = p.z - this.center.z;
    // Rᵀ·d (R is optical → local).
    return {
      x: r[0]! * dx + r[3]! * dy + r[6]! * dz,
      y: r[1]! * dx + r[4]! * dy + r[7]! * dz,
      z: r[2]! * dx + r[5]! * dy + r[8]! * dz,
    };
  }

  /** Optical-frame direction → local-frame direction. */
  opticalToLocalVector(v: Vec3): Vec3 {
    const r = this.rol;
    return {
      x: r[0]! * v.x + r[1]! * v.y + r[2]! * v.z,
      y: r[3]! * v.x + r[4]! * v.y + r[5]! * v.z,
      z: r[6]! * v.x + r[7]! * v.y + r[8]! * v.z,
    };
  }

  /**
   * Local 3D point → distorted pixel. Null when the point is behind the camera (or in its plane) or so far
   * off-axis that the distortion model is not valid there. The pixel may lie outside the image: see inImage().
   */
  project(p: Vec3): Pixel | null {
    const o = this.toOptical(p);
    if (!(o.z > 1e-9)) return null;
    const x = o.x / o.z;
    const y = o.y / o.z;
    if (!(x * x + y * y <= this.rMax * this.rMax)) return null;
    return this.distort(x, y);
  }

  inImage(px: Pixel, margin = 0): boolean {
    const k = this.intrinsics;
    return px.u >= -margin && px.v >= -margin && px.u <= k.width + margin && px.v <= k.height + margin;
  }

  /** Unit viewing ray of a pixel in the local frame; null when it cannot be undistorted. */
  pixelRay(u: number, v: number): Vec3 | null {
    const n = this.undistort(u, v);
    if (!n) return null;
    const d = this.opticalToLocalVector({ x: n.x, y: n.y, z: 1 });
    const len = hyp3(d.x, d.y, d.z);
    return { x: d.x / len, y: d.y / len, z: d.z / len };
  }

  /**
   * The point where the viewing ray of pixel (u, v) meets the ground: the plane z = groundZ, or a sloped plane
   * (ground.ts). Rejected when the ray does not descend to the plane ('above_horizon': includes a camera at or
   * below the plane), when the point is farther than maxRangeM horizontally ('beyond_range'), or when the pixel
   * cannot be undistorted ('outside_lens_model').
   */
  groundPoint(u: number, v: number, ground: number | GroundPlane = 0, maxRangeM = Infinity): GroundResult {
    const pl = typeof ground === 'number' ? { a: ground, b: 0, c: 0, cx: this.center.x, cy: this.center.y } : ground;
    if (!Number.isFinite(u) || !Number.isFinite(v) || !Number.isFinite(pl.a) || !Number.isFinite(pl.b) || !Number.isFinite(pl.c)) return { ok: false, reason: 'non_finite' };
    const d = this.pixelRay(u, v);
    if (!d) return { ok: false, reason: 'outside_lens_model' };
    // Height of the camera above the plane at its foot; the ray descends relative to the plane when dz < slope·d.
    const height = this.center.z - (pl.a + pl.b * (this.center.x - pl.cx) + pl.c * (this.center.y - pl.cy));
    const descent = d.z - pl.b * d.x - pl.c * d.y;
    // A ray within 0.1° of the plane meets it kilometres away: treat it as the horizon.
    if (!(height > 0) || !(descent < -1.7e-3)) return { ok: false, reason: 'above_horizon' };
    const t = -height / descent;
    const x = this.center.x + t * d.x;
    const y = this.center.y + t * d.y;
    const point = { x, y, z: pl.a + pl.b * (x - pl.cx) + pl.c * (y - pl.cy) };
    const range = hyp2(point.x - this.center.x, point.y - this.center.y);
    if (!(range <= maxRangeM)) return { ok: false, reason: 'beyond_range' };
    return { ok: true, point, range, azimuth: Math.atan2(d.y, d.x), depression: Math.asin(-d.z), height };
  }

  /** The ground point of a pixel (groundPoint without the details), or null when it cannot be placed. */
  unprojectToGround(u: number, v: number, groundZ = 0): Vec3 | null {
    const g = this.groundPoint(u, v, groundZ);
    return g.ok ? g.point : null;
  }

  /** Mean focal length, pixels. */
  get focal(): number {
    return (this.intrinsics.fx + this.intrinsics.fy) / 2;
  }
}
