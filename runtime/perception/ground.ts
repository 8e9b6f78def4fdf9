// Per-camera ground model: the surface a camera's 2D boxes are placed on (issue 13).
//
// A camera alone cannot tell range: the bottom of a box is put where its viewing ray meets the ground, so the
// placement is only as good as the ground. A ground 0.3 m higher than assumed moves a car seen at 40 m from a camera
// 1.65 m up by 7 m. The model is a plane z = a + b·(x − cx) + c·(y − cy) around the camera's foot (cx, cy):
//   - fixed: z = sensors[].groundHeightM (the deployer's survey), or the stage's groundZ;
//   - from the lidar (sensors[].groundFromLidar): fitted by weighted least squares to the bottoms of the lidar's
//     boxes inside the camera's view, which lie on the real ground, with exponential forgetting (half-life
//     GROUND_HALF_LIFE_MS) and a prior on the configured plane (worth PRIOR_WEIGHT boxes, slopes held to 0 over
//     PRIOR_SLOPE_SPAN_M), so a few boxes shift the height and a slope needs boxes spread along the view.
// Boxes more than OUTLIER_M off an established plane (a bridge, a wrong box) are not used.

import type { Vec3 } from './georef.js';

/** Half-life of a lidar box's weight in the fit, ms: a moving vehicle's ground changes within seconds. */
export const GROUND_HALF_LIFE_MS = 3000;
const PRIOR_WEIGHT = 1;
const PRIOR_SLOPE_SPAN_M = 10;
const OUTLIER_M = 1.5;
/** Weight (boxes) above which the fit is trusted enough to reject outliers. */
const ESTABLISHED_WEIGHT = 4;

/** A ground plane z = a + b·(x − cx) + c·(y − cy) in the local frame. */
export interface GroundPlane {
  a: number;
  b: number;
  c: number;
  /** The foot the plane is expressed around (the camera's centre, horizontally). */
  cx: number;
  cy: number;
}

export class GroundModel {
  /** Normal equations of the fit (upper triangle of the symmetric 3x3, row-major), right-hand side and weight. */
  private readonly A = new Float64Array(6);
  private readonly r = new Float64Array(3);
  private weight = 0;
  private lastMs = -Infinity;
  private cached: GroundPlane;
  /** Boxes used and rejected, for the stage's stats. */
  used = 0;
  rejected = 0;

  constructor(
    /** The configured ground height in the local frame, m. */
    readonly heightM: number,
    readonly fromLidar: boolean,
    private readonly foot: { x: number; y: number },
  ) {
    this.cached = { a: heightM, b: 0, c: 0, cx: foot.x, cy: foot.y };
  }

  plane(): GroundPlane {
    return this.cached;
  }

  /** Height of the current plane at (x, y). */
  heightAt(x: number, y: number): number {
    const p = this.cached;
    return p.a + p.b * (x - p.cx) + p.c * (y - p.cy);
  }

  /** Adds the bottoms of lidar boxes (already known to be in the camera's view) seen at timeMs. */
  observe(points: readonly Vec3[], timeMs: number): void {
    if (!this.fromLidar || points.length === 0 || !Number.isFinite(timeMs)) return;
    if (timeMs > this.lastMs) {
      if (this.lastMs > -Infinity) {
        const k = Math.pow(0.5, (timeMs - this.lastMs) / GROUND_HALF_LIFE_MS);
        for (let i = 0; i < 6; i++) this.A[i]! *= k;
        for (let i = 0; i < 3; i++) this.r[i]! *= k;
        this.weight *= k;
      }
      this.lastMs = timeMs;
    }
    for (const p of points) {
      if (!(Number.isFinite(p.x) && Number.isFinite(p.y) && Number.isFinite(p.z))) continue;
      if (this.weight >= ESTABLISHED_WEIGHT && Math.abs(p.z - this.heightAt(p.x, p.y)) > OUTLIER_M) {
        this.rejected++;
        continue;
      }
      const u = p.x - this.foot.x;
      const v = p.y - this.foot.y;
      const A = this.A;
      A[0]! += 1;
      A[1]! += u;
      A[2]! += v;
      A[3]! += u * u;
      A[4]! += u * v;
      A[5]! += v * v;
      this.r[0]! += p.z;
      this.r[1]! += u * p.z;
      this.r[2]! += v * p.z;
      this.weight += 1;
      this.used++;
    }
    this.solve();
  }

  /** Solves the normal equations with the prior (the configured flat plane) added. */
  private solve(): void {
    const w = PRIOR_WEIGHT;
    const ws = PRIOR_WEIGHT * PRIOR_SLOPE_SPAN_M * PRIOR_SLOPE_SPAN_M;
    const A = this.A;
    const m00 = A[0]! + w;
    const m01 = A[1]!;
    const m02 = A[2]!;
    const m11 = A[3]! + ws;
    const m12 = A[4]!;
    const m22 = A[5]! + ws;
    const r0 = this.r[0]! + w * this.heightM;
    const r1 = this.r[1]!;
    const r2 = this.r[2]!;
    // Cramer's rule on the 3x3 symmetric system (positive definite thanks to the prior).
    const c00 = m11 * m22 - m12 * m12;
    const c01 = m02 * m12 - m01 * m22;
    const c02 = m01 * m12 - m02 * m11;
    const det = m00 * c00 + m01 * c01 + m02 * c02;
    if (!(Math.abs(det) > 1e-12)) return;
    const c11 = m00 * m22 - m02 * m02;
    const c12 = m01 * m02 - m00 * m12;
    const c22 = m00 * m11 - m01 * m01;
    const a = (c00 * r0 + c01 * r1 + c02 * r2) / det;
    const b = (c01 * r0 + c11 * r1 + c12 * r2) / det;
    const c = (c02 * r0 + c12 * r1 + c22 * r2) / det;
    if (Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c)) this.cached = { a, b, c, cx: this.foot.x, cy: this.foot.y };
  }
}
