// Bird's-eye-view overlap of two oriented boxes on the ground plane: intersection over union and generalised IoU
// (Rezatofighi et al., 2019: IoU minus the share of the smallest enclosing convex region that neither box covers).
// Used by the tracker to gate associations by shape as well as by distance. Written by hand: two rectangles need
// a convex clip (Sutherland–Hodgman) and a hull of eight points, no library worth a dependency.

/** A box on the ground plane: centre, length along the yaw, width across it. */
export interface GroundBox {
  x: number;
  y: number;
  length: number;
  width: number;
  /** Radians from the x axis. */
  yaw: number;
}

// Scratch buffers (one call at a time): corners of both boxes, and the clip's ping-pong polygons (≤ 8 vertices).
const A = new Float64Array(8);
const B = new Float64Array(8);
const P1 = new Float64Array(32);
const P2 = new Float64Array(32);
const H = new Float64Array(32);
const PTS = new Float64Array(16);

/** Counter-clockwise corners of a box into out[0..7]. */
function corners(b: GroundBox, out: Float64Array): void {
  const c = Math.cos(b.yaw);
  const s = Math.sin(b.yaw);
  const hl = b.length / 2;
  const hw = b.width / 2;
  const lx = c * hl, ly = s * hl, wx = -s * hw, wy = c * hw;
  out[0] = b.x + lx - wx; out[1] = b.y + ly - wy;
  out[2] = b.x + lx + wx; out[3] = b.y + ly + wy;
  out[4] = b.x - lx + wx; out[5] = b.y - ly + wy;
  out[6] = b.x - lx - wx; out[7] = b.y - ly - wy;
}

function polygonArea(p: Float64Array, n: number): number {
  let a = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) a += p[2 * j]! * p[2 * i + 1]! - p[2 * i]! * p[2 * j + 1]!;
  return Math.abs(a) / 2;
}

/** Area of the intersection of two convex counter-clockwise quadrilaterals (Sutherland–Hodgman). */
function intersectionArea(a: Float64Array, b: Float64Array): number {
  let inp = P1;
  let out = P2;
  inp.set(a);
  let n = 4;
  for (let e = 0; e < 4 && n > 0; e++) {
    const ex = b[2 * e]!, ey = b[2 * e + 1]!;
    const fx = b[(2 * e + 2) % 8]!, fy = b[(2 * e + 3) % 8]!;
    const ux = fx - ex, uy = fy - ey;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const px = inp[2 * i]!, py = inp[2 * i + 1]!;
      const j = i + 1 === n ? 0 : i + 1;
      const qx = inp[2 * j]!, qy = inp[2 * j + 1]!;
      const sp = ux * (py - ey) - uy * (px - ex);
      const sq = ux * (qy - ey) - uy * (qx - ex);
      if (sp >= 0) {
        out[2 * m] = px;
        out[2 * m + 1] = py;
        m++;
      }
      if ((sp >= 0) !== (sq >= 0)) {
        const t = sp / (sp - sq);
        out[2 * m] = px + t * (qx - px);
        out[2 * m + 1] = py + t * (qy - py);
        m++;
      }
    }
    const tmp = inp;
    inp = out;
    out = tmp;
    n = m;
  }
  return n >= 3 ? polygonArea(inp, n) : 0;
}

/** Area of the convex hull of the eight corners (monotone chain; no allocation: this runs per gated pair). */
function hullArea(a: Float64Array, b: Float64Array): number {
  PTS.set(a, 0);
  PTS.set(b, 8);
  // Insertion sort of the 8 points by (x, y).
  for (let i = 1; i < 8; i++) {
    const x = PTS[2 * i]!, y = PTS[2 * i + 1]!;
    let j = i - 1;
    while (j >= 0 && (PTS[2 * j]! > x || (PTS[2 * j] === x && PTS[2 * j + 1]! > y))) {
      PTS[2 * j + 2] = PTS[2 * j]!;
      PTS[2 * j + 3] = PTS[2 * j + 1]!;
      j--;
    }
    PTS[2 * j + 2] = x;
    PTS[2 * j + 3] = y;
  }
  let n = 0;
  for (let pass = 0; pass < 2; pass++) {
    const start = n;
    for (let k = 0; k < 8; k++) {
      const i = pass === 0 ? k : 7 - k;
      const x = PTS[2 * i]!, y = PTS[2 * i + 1]!;
      while (n >= start + 2) {
        const ox = H[2 * n - 4]!, oy = H[2 * n - 3]!;
        if ((H[2 * n - 2]! - ox) * (y - oy) - (H[2 * n - 1]! - oy) * (x - ox) > 0) break;
        n--;
      }
      H[2 * n] = x;
      H[2 * n + 1] = y;
      n++;
    }
    n--;
  }
  return polygonArea(H, n);
}

/** Bird's-eye-view area, m², that two boxes share. */
export function bevIntersection(p: GroundBox, q: GroundBox): number {
  corners(p, A);
  corners(q, B);
  return intersectionArea(A, B);
}

/** Bird's-eye-view IoU and GIoU of two boxes (GIoU in (-1, 1], IoU in [0, 1]). */
export function bevOverlap(p: GroundBox, q: GroundBox): { iou: number; giou: number } {
  corners(p, A);
  corners(q, B);
  const ap = p.length * p.width;
  const aq = q.length * q.width;
  const inter = intersectionArea(A, B);
  const union = ap + aq - inter;
  const iou = union > 0 ? inter / union : 0;
  const hull = hullArea(A, B);
  const giou = hull > 0 ? iou - (hull - union) / hull : iou;
  return { iou, giou };
}
