// Constant-velocity Kalman filter on the ground plane: state [x, y, vx, vy] (m, m/s) in the local frame.
//
// Process model: white-noise acceleration with spectral density q (m²/s³) on each axis, so that over dt
//   Q = q · [dt³/3 0 dt²/2 0; 0 dt³/3 0 dt²/2; dt²/2 0 dt 0; 0 dt²/2 0 dt].
// Measurements: position (2D), or position and velocity (4D), with their covariance. Updates use the Joseph
// form, so P stays symmetric positive definite. Plain Float64Arrays, unrolled: this runs for every detection.

/** 2x2 symmetric covariance as [xx, xy, yy]. */
export type Cov2 = [number, number, number];

export interface Innovation {
  /** Measurement minus prediction. */
  dx: number;
  dy: number;
  /** Innovation covariance S = H P Hᵀ + R, [xx, xy, yy]. */
  s: Cov2;
  /** Squared Mahalanobis distance dᵀ S⁻¹ d. */
  d2: number;
  /** ln det S. */
  logDet: number;
}

// Scratch space for the updates (JavaScript runs one update at a time): no allocation per detection.
const K8 = new Float64Array(8);
const K16 = new Float64Array(16);
const S16 = new Float64Array(16);
const A16 = new Float64Array(16);
const AP16 = new Float64Array(16);
const OUT16 = new Float64Array(16);
const INV32 = new Float64Array(32);
const R4 = new Float64Array(4);
const R16 = new Float64Array(16);
const OUT_INV = new Float64Array(16);

export class CvKalman {
  /** ln det S of the last gateDistance() call. */
  lastLogDet = 0;
  /** State [x, y, vx, vy]. */
  readonly x = new Float64Array(4);
  /** Covariance, row-major 4x4. */
  readonly P = new Float64Array(16);

  /** A filter at a position with its covariance and, if known, a velocity with its covariance. */
  static init(px: number, py: number, posCov: Cov2, vel?: { x: number; y: number }, velCov?: Cov2): CvKalman {
    const k = new CvKalman();
    k.x[0] = px;
    k.x[1] = py;
    k.x[2] = vel?.x ?? 0;
    k.x[3] = vel?.y ?? 0;
    const P = k.P;
    P[0] = posCov[0];
    P[1] = P[4] = posCov[1];
    P[5] = posCov[2];
    const vc = velCov ?? [100, 0, 100];
    P[10] = vc[0];
    P[11] = P[14] = vc[1];
    P[15] = vc[2];
    return k;
  }

  clone(): CvKalman {
    const k = new CvKalman();
    k.x.set(this.x);
    k.P.set(this.P);
    return k;
  }

  /** Advances the state by dt seconds (dt < 0 extrapolates backwards, with the noise of |dt|). */
  predict(dt: number, q: number): void {
    if (dt === 0) return;
    const x = this.x;
    x[0] = x[0]! + dt * x[2]!;
    x[1] = x[1]! + dt * x[3]!;
    // P = F P Fᵀ + Q with F = [I dt·I; 0 I]. Blocks: A = pos-pos, B = pos-vel, C = vel-vel (2x2 each).
    const P = this.P;
    const a00 = P[0]!, a01 = P[1]!, a11 = P[5]!;
    const b00 = P[2]!, b01 = P[3]!, b10 = P[6]!, b11 = P[7]!;
    const c00 = P[10]!, c01 = P[11]!, c11 = P[15]!;
    const t = Math.abs(dt);
    const q3 = (q * t * t * t) / 3;
    const q2 = (q * t * t) / 2 * Math.sign(dt);
    const q1 = q * t;
    // A' = A + dt(B + Bᵀ) + dt² C + Q_pp
    const n00 = a00 + dt * (2 * b00) + dt * dt * c00 + q3;
    const n01 = a01 + dt * (b01 + b10) + dt * dt * c01;
    const n11 = a11 + dt * (2 * b11) + dt * dt * c11 + q3;
    // B' = B + dt C + Q_pv
    const m00 = b00 + dt * c00 + q2;
    const m01 = b01 + dt * c01;
    const m10 = b10 + dt * c01;
    const m11 = b11 + dt * c11 + q2;
    P[0] = n00;
    P[1] = P[4] = n01;
    P[5] = n11;
    P[2] = P[8] = m00;
    P[3] = P[12] = m01;
    P[6] = P[9] = m10;
    P[7] = P[13] = m11;
    P[10] = c00 + q1;
    P[11] = P[14] = c01;
    P[15] = c11 + q1;
  }

  /** Innovation of a position measurement (zx, zy) with covariance r. */
  innovation(zx: number, zy: number, r: Cov2): Innovation {
    const P = this.P;
    const s00 = P[0]! + r[0];
    const s01 = P[1]! + r[1];
    const s11 = P[5]! + r[2];
    const dx = zx - this.x[0]!;
    const dy = zy - this.x[1]!;
    const det = s00 * s11 - s01 * s01;
    const d2 = det > 0 ? (s11 * dx * dx - 2 * s01 * dx * dy + s00 * dy * dy) / det : Infinity;
    return { dx, dy, s: [s00, s01, s11], d2, logDet: det > 0 ? Math.log(det) : Infinity };
  }

  /**
   * Squared Mahalanobis distance of a position measurement (the allocation-free part of innovation()); sets
   * lastLogDet. Infinity when S is not positive definite.
   */
  gateDistance(zx: number, zy: number, r0: number, r1: number, r2: number): number {
    const P = this.P;
    const s00 = P[0]! + r0;
    const s01 = P[1]! + r1;
    const s11 = P[5]! + r2;
    const dx = zx - this.x[0]!;
    const dy = zy - this.x[1]!;
    const det = s00 * s11 - s01 * s01;
    if (!(det > 0) || !(s00 > 0)) {
      this.lastLogDet = Infinity;
      return Infinity;
    }
    this.lastLogDet = Math.log(det);
    return (s11 * dx * dx - 2 * s01 * dx * dy + s00 * dy * dy) / det;
  }

  /** Updates with a position measurement. */
  updatePosition(zx: number, zy: number, r: Cov2): void {
    const P = this.P;
    const s00 = P[0]! + r[0];
    const s01 = P[1]! + r[1];
    const s11 = P[5]! + r[2];
    const det = s00 * s11 - s01 * s01;
    if (!(det > 0)) return;
    const i00 = s11 / det;
    const i01 = -s01 / det;
    const i11 = s00 / det;
    // K = P Hᵀ S⁻¹: P Hᵀ is the first two columns of P (4x2).
    const K = K8;
    for (let row = 0; row < 4; row++) {
      const p0 = P[row * 4]!;
      const p1 = P[row * 4 + 1]!;
      K[row * 2] = p0 * i00 + p1 * i01;
      K[row * 2 + 1] = p0 * i01 + p1 * i11;
    }
    const dx = zx - this.x[0]!;
    const dy = zy - this.x[1]!;
    for (let row = 0; row < 4; row++) this.x[row] = this.x[row]! + K[row * 2]! * dx + K[row * 2 + 1]! * dy;
    R4[0] = r[0];
    R4[1] = R4[2] = r[1];
    R4[3] = r[2];
    this.joseph(K, 2, IDX2, R4);
  }

  /**
   * Updates with a position and velocity measurement z = [x, y, vx, vy] with a block-diagonal covariance
   * (position rPos, velocity rVel).
   */
  updatePositionVelocity(z: ArrayLike<number>, rPos: Cov2, rVel: Cov2): void {
    const P = this.P;
    // S = P + R (H = I).
    const S = S16;
    S.set(P);
    S[0] = S[0]! + rPos[0];
    S[1] = S[1]! + rPos[1];
    S[4] = S[4]! + rPos[1];
    S[5] = S[5]! + rPos[2];
    S[10] = S[10]! + rVel[0];
    S[11] = S[11]! + rVel[1];
    S[14] = S[14]! + rVel[1];
    S[15] = S[15]! + rVel[2];
    const Si = inv4(S);
    if (!Si) return;
    // K = P S⁻¹
    const K = mul4(P, Si, K16);
    const y0 = z[0]! - this.x[0]!;
    const y1 = z[1]! - this.x[1]!;
    const y2 = z[2]! - this.x[2]!;
    const y3 = z[3]! - this.x[3]!;
    for (let r = 0; r < 4; r++) this.x[r] = this.x[r]! + K[r * 4]! * y0 + K[r * 4 + 1]! * y1 + K[r * 4 + 2]! * y2 + K[r * 4 + 3]! * y3;
    const R = R16;
    R.fill(0);
    R[0] = rPos[0];
    R[1] = R[4] = rPos[1];
    R[5] = rPos[2];
    R[10] = rVel[0];
    R[11] = R[14] = rVel[1];
    R[15] = rVel[2];
    this.joseph(K, 4, IDX4, R);
  }

  /** P = (I - K H) P (I - K H)ᵀ + K R Kᵀ for H selecting state indices `idx`; K is 4 x m. */
  private joseph(K: Float64Array, m: number, idx: readonly number[], R: Float64Array): void {
    const P = this.P;
    // A = I - K H (4x4)
    const A = A16;
    A.fill(0);
    for (let r = 0; r < 4; r++) {
      A[r * 4 + r] = 1;
      for (let c = 0; c < m; c++) A[r * 4 + idx[c]!] = A[r * 4 + idx[c]!]! - K[r * m + c]!;
    }
    const AP = mul4(A, P, AP16);
    const out = OUT16;
    for (let r = 0; r < 4; r++)
      for (let c = r; c < 4; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += AP[r * 4 + k]! * A[c * 4 + k]!;
        // + (K R Kᵀ)[r][c]
        for (let i = 0; i < m; i++) {
          const kri = K[r * m + i]!;
          if (kri === 0) continue;
          for (let j = 0; j < m; j++) s += kri * R[i * m + j]! * K[c * m + j]!;
        }
        out[r * 4 + c] = s;
        out[c * 4 + r] = s;
      }
    P.set(out);
  }

  /** Position covariance [xx, xy, yy]. */
  posCov(): Cov2 {
    return [this.P[0]!, this.P[1]!, this.P[5]!];
  }

  /** Velocity covariance [xx, xy, yy]. */
  velCov(): Cov2 {
    return [this.P[10]!, this.P[11]!, this.P[15]!];
  }
}

const IDX2 = [0, 1] as const;
const IDX4 = [0, 1, 2, 3] as const;

/** Largest eigenvalue of a 2x2 symmetric matrix. */
export function maxEigen(c: Cov2): number {
  return maxEigen3(c[0], c[1], c[2]);
}

/** Largest eigenvalue of the symmetric matrix [a b; b c]. */
export function maxEigen3(a: number, b: number, c: number): number {
  return (a + c) / 2 + Math.sqrt(((a - c) * (a - c)) / 4 + b * b);
}

function mul4(a: Float64Array, b: Float64Array, o: Float64Array): Float64Array {
  for (let r = 0; r < 4; r++)
    for (let c = 0; c < 4; c++) o[r * 4 + c] = a[r * 4]! * b[c]! + a[r * 4 + 1]! * b[4 + c]! + a[r * 4 + 2]! * b[8 + c]! + a[r * 4 + 3]! * b[12 + c]!;
  return o;
}

/** Inverse of a 4x4 matrix by Gauss-Jordan with partial pivoting; null when singular. */
function inv4(m: Float64Array): Float64Array | null {
  const a = INV32;
  a.fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) a[r * 8 + c] = m[r * 4 + c]!;
    a[r * 8 + 4 + r] = 1;
  }
  for (let c = 0; c < 4; c++) {
    let piv = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r * 8 + c]!) > Math.abs(a[piv * 8 + c]!)) piv = r;
    const pv = a[piv * 8 + c]!;
    if (!(Math.abs(pv) > 1e-15)) return null;
    if (piv !== c)
      for (let k = 0; k < 8; k++) {
        const tmp = a[c * 8 + k]!;
        a[c * 8 + k] = a[piv * 8 + k]!;
        a[piv * 8 + k] = tmp;
      }
    for (let k = 0; k < 8; k++) a[c * 8 + k] = a[c * 8 + k]! / pv;
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r * 8 + c]!;
      if (f === 0) continue;
      for (let k = 0; k < 8; k++) a[r * 8 + k] = a[r * 8 + k]! - f * a[c * 8 + k]!;
    }
  }
  const o = OUT_INV;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) o[r * 4 + c] = a[r * 8 + 4 + c]!;
  return o;
}
