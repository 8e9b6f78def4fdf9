// Planar polyline helpers (x east, y north): lengths, points at an arc length, projection, Bézier connections.

export interface P2 {
  x: number;
  y: number;
}

/** Cumulative horizontal arc lengths of a polyline (first 0). */
export function cumulative(pts: readonly P2[]): number[] {
  const s = [0];
  for (let i = 1; i < pts.length; i++) s.push(s[i - 1]! + Math.hypot(pts[i]!.x - pts[i - 1]!.x, pts[i]!.y - pts[i - 1]!.y));
  return s;
}

export function polylineLength(pts: readonly P2[]): number {
  const s = cumulative(pts);
  return s[s.length - 1]!;
}

/** Heading of a direction vector, radians counter-clockwise from east. */
export function headingOf(dx: number, dy: number): number {
  return Math.atan2(dy, dx);
}

/** Compass bearing (degrees clockwise from north, 0..360) of a direction in ENU. */
export function bearingDeg(dx: number, dy: number): number {
  const b = (Math.atan2(dx, dy) * 180) / Math.PI;
  return b < 0 ? b + 360 : b;
}

/** Smallest absolute difference of two angles in degrees. */
export function angleDiffDeg(a: number, b: number): number {
  const d = ((a - b) % 360 + 540) % 360 - 180;
  return Math.abs(d);
}

/** Wraps an angle in radians to (-pi, pi]. */
export function wrapPi(a: number): number {
  let r = a % (2 * Math.PI);
  if (r <= -Math.PI) r += 2 * Math.PI;
  else if (r > Math.PI) r -= 2 * Math.PI;
  return r;
}

/** Unit direction of the last segment (end) or first segment (start) of a polyline. */
export function endDirection(pts: readonly P2[], at: 'start' | 'end'): P2 {
  const [a, b] = at === 'start' ? [pts[0]!, pts[1]!] : [pts[pts.length - 2]!, pts[pts.length - 1]!];
  const l = Math.hypot(b.x - a.x, b.y - a.y) || 1;
  return { x: (b.x - a.x) / l, y: (b.y - a.y) / l };
}

/**
 * A cubic Bézier from p0 leaving in direction u0 to p3 arriving in direction u3, with control lengths chosen so
 * that a symmetric turn is a close approximation of a circular arc (and a straight or offset crossing is an
 * S-curve with handles of a third of the chord). Sampled every `step` metres or less.
 */
export function connectionCurve(p0: P2, u0: P2, p3: P2, u3: P2, step = 0.5): P2[] {
  const chord = Math.hypot(p3.x - p0.x, p3.y - p0.y);
  const theta = Math.abs(wrapPi(Math.atan2(u3.y, u3.x) - Math.atan2(u0.y, u0.x)));
  const k = theta > 0.05 ? ((4 / 3) * Math.tan(theta / 4)) / (2 * Math.sin(theta / 2)) : 1 / 3;
  const d = chord * k;
  const p1 = { x: p0.x + u0.x * d, y: p0.y + u0.y * d };
  const p2 = { x: p3.x - u3.x * d, y: p3.y - u3.y * d };
  const approx = chord + 2 * d;
  const n = Math.max(4, Math.ceil(approx / step));
  const out: P2[] = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const m = 1 - t;
    const a = m * m * m;
    const b = 3 * m * m * t;
    const c = 3 * m * t * t;
    const e = t * t * t;
    out.push({ x: a * p0.x + b * p1.x + c * p2.x + e * p3.x, y: a * p0.y + b * p1.y + c * p2.y + e * p3.y });
  }
  return out;
}

/**
 * A polyline resampled at a fixed spacing for O(1) lookups of position, heading and curvature by arc length.
 */
export class Path {
  readonly length: number;
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  readonly hs: Float64Array;
  /** Absolute curvature, 1/m, smoothed over about 3 m. */
  readonly kappa: Float64Array;
  readonly n: number;
  /** Sample spacing, metres (the requested spacing or a little less, so that samples are evenly spaced). */
  readonly ds: number;

  constructor(pts: readonly P2[], spacing = 0.5) {
    if (pts.length < 2) throw new Error('a path needs at least two points');
    const cum = cumulative(pts);
    this.length = cum[cum.length - 1]!;
    if (!(this.length > 0)) throw new Error('a path needs a positive length');
    this.n = Math.max(2, Math.ceil(this.length / spacing) + 1);
    const ds = (this.ds = this.length / (this.n - 1));
    this.xs = new Float64Array(this.n);
    this.ys = new Float64Array(this.n);
    this.hs = new Float64Array(this.n);
    this.kappa = new Float64Array(this.n);
    let j = 0;
    for (let i = 0; i < this.n; i++) {
      const s = Math.min(this.length, i * ds);
      while (j < cum.length - 2 && cum[j + 1]! < s) j++;
      const seg = cum[j + 1]! - cum[j]!;
      const t = seg > 0 ? (s - cum[j]!) / seg : 0;
      const a = pts[j]!;
      const b = pts[j + 1]!;
      this.xs[i] = a.x + (b.x - a.x) * t;
      this.ys[i] = a.y + (b.y - a.y) * t;
    }
    for (let i = 0; i < this.n; i++) {
      const i0 = Math.max(0, i - 1);
      const i1 = Math.min(this.n - 1, i + 1);
      this.hs[i] = Math.atan2(this.ys[i1]! - this.ys[i0]!, this.xs[i1]! - this.xs[i0]!);
    }
    const w = Math.max(1, Math.round(1.5 / ds));
    for (let i = 0; i < this.n; i++) {
      const i0 = Math.max(0, i - w);
      const i1 = Math.min(this.n - 1, i + w);
      const span = (i1 - i0) * ds;
      this.kappa[i] = span > 0 ? Math.abs(wrapPi(this.hs[i1]! - this.hs[i0]!)) / span : 0;
    }
  }

  private idx(s: number): [number, number] {
    const f = Math.max(0, Math.min(this.length, s)) / this.ds;
    const i = Math.min(this.n - 2, Math.floor(f));
    return [i, Math.min(1, f - i)];
  }

  /** Position at arc length s (clamped to the path), with `lateral` metres to the left of the direction of travel. */
  pointAt(s: number, lateral = 0): P2 {
    const [i, t] = this.idx(s);
    const x = this.xs[i]! + (this.xs[i + 1]! - this.xs[i]!) * t;
    const y = this.ys[i]! + (this.ys[i + 1]! - this.ys[i]!) * t;
    if (lateral === 0) return { x, y };
    const h = this.headingAt(s);
    return { x: x - Math.sin(h) * lateral, y: y + Math.cos(h) * lateral };
  }

  /** Heading (radians counter-clockwise from east) at arc length s. */
  headingAt(s: number): number {
    const [i, t] = this.idx(s);
    const a = this.hs[i]!;
    return a + wrapPi(this.hs[i + 1]! - a) * t;
  }

  curvatureAt(s: number): number {
    const [i, t] = this.idx(s);
    return this.kappa[i]! + (this.kappa[i + 1]! - this.kappa[i]!) * t;
  }

  /**
   * Projection of a point onto the part of the path between s0 and s1: arc length, signed lateral offset (left
   * positive) and distance. Undefined when the path part is empty.
   */
  project(p: P2, s0 = 0, s1 = this.length): { s: number; lateral: number; dist: number } | undefined {
    const i0 = Math.max(0, Math.floor(Math.max(0, s0) / this.ds));
    const i1 = Math.min(this.n - 1, Math.ceil(Math.min(this.length, s1) / this.ds));
    let bi = -1;
    let bt = 0;
    let bd2 = Infinity;
    const xs = this.xs;
    const ys = this.ys;
    for (let i = i0; i < i1; i++) {
      const ax = xs[i]!;
      const ay = ys[i]!;
      const dx = xs[i + 1]! - ax;
      const dy = ys[i + 1]! - ay;
      const l2 = dx * dx + dy * dy;
      let t = l2 > 0 ? ((p.x - ax) * dx + (p.y - ay) * dy) / l2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = p.x - ax - dx * t;
      const ey = p.y - ay - dy * t;
      const d2 = ex * ex + ey * ey;
      if (d2 < bd2) {
        bd2 = d2;
        bi = i;
        bt = t;
      }
    }
    if (bi < 0) return undefined;
    const ax = xs[bi]!;
    const ay = ys[bi]!;
    const dx = xs[bi + 1]! - ax;
    const dy = ys[bi + 1]! - ay;
    const l = Math.sqrt(dx * dx + dy * dy) || 1;
    return { s: Math.min(this.length, bi * this.ds + bt * l), lateral: (dx * (p.y - ay) - dy * (p.x - ax)) / l, dist: Math.sqrt(bd2) };
  }
}
