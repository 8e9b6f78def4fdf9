// Minimum-cost assignment (the Hungarian method, in the O(n²·m) shortest-augmenting-path form with potentials,
// Jonker-Volgenant / Kuhn-Munkres) for rectangular cost matrices with forbidden pairs.
//
// Forbidden pairs (cost Infinity, NaN, or above `maxCost`) are never returned. Among all assignments the one
// with the most allowed pairs is chosen, and among those the one of least total cost.

export interface Assignment {
  /** rowToCol[i] = column assigned to row i, or -1. */
  rowToCol: Int32Array;
  /** colToRow[j] = row assigned to column j, or -1. */
  colToRow: Int32Array;
  /** Sum of the costs of the assigned (allowed) pairs. */
  cost: number;
}

export interface HungarianOptions {
  /** Pairs whose cost exceeds this are forbidden. */
  maxCost?: number;
}

/**
 * Solves the assignment for a cost matrix given as rows (number[][]) or as a flat row-major array with its
 * dimensions. Rows and columns may differ in number; every row or every column (whichever are fewer) is assigned
 * unless its only options are forbidden.
 */
export function hungarian(cost: ArrayLike<number>[] | ArrayLike<number>, rowsOrOpts?: number | HungarianOptions, cols?: number, opts?: HungarianOptions): Assignment {
  let flat: ArrayLike<number>;
  let n: number;
  let m: number;
  let o: HungarianOptions | undefined;
  if (typeof rowsOrOpts === 'number') {
    flat = cost as ArrayLike<number>;
    n = rowsOrOpts;
    m = cols ?? 0;
    o = opts;
    if (flat.length < n * m) throw new RangeError(`cost array has ${flat.length} entries, expected ${n}x${m}`);
  } else {
    const rows = cost as ArrayLike<number>[];
    n = rows.length;
    m = n === 0 ? 0 : rows[0]!.length;
    const f = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      if (r.length !== m) throw new RangeError(`cost matrix row ${i} has ${r.length} entries, expected ${m}`);
      for (let j = 0; j < m; j++) f[i * m + j] = r[j]!;
    }
    flat = f;
    o = rowsOrOpts;
  }
  return solveFlat(flat, n, m, o?.maxCost ?? Infinity);
}

function solveFlat(c: ArrayLike<number>, n: number, m: number, maxCost: number): Assignment {
  const rowToCol = new Int32Array(n).fill(-1);
  const colToRow = new Int32Array(m).fill(-1);
  if (n === 0 || m === 0) return { rowToCol, colToRow, cost: 0 };

  // Forbidden pairs get a cost larger than any sum of allowed ones, so that an assignment with fewer forbidden
  // pairs always costs less; they are dropped from the result. Costs are shifted to be non-negative.
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n * m; k++) {
    const v = c[k]!;
    if (v <= maxCost && v > -Infinity && v < Infinity) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) return { rowToCol, colToRow, cost: 0 }; // everything forbidden
  const big = (hi - lo + 1) * (Math.min(n, m) + 1);
  // Work with rows ≤ columns: transpose when needed.
  const transpose = n > m;
  const rn = transpose ? m : n;
  const cn = transpose ? n : m;
  const a = new Float64Array(rn * cn);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const v = c[i * m + j]!;
      const ok = v <= maxCost && v > -Infinity && v < Infinity;
      const w = ok ? v - lo : big;
      if (transpose) a[j * cn + i] = w;
      else a[i * cn + j] = w;
    }

  // Shortest augmenting paths with potentials u (rows) and v (columns); 1-based with a virtual column 0.
  const u = new Float64Array(rn + 1);
  const v = new Float64Array(cn + 1);
  const p = new Int32Array(cn + 1); // p[j] = row matched to column j (1-based), 0 = free
  const way = new Int32Array(cn + 1);
  const minv = new Float64Array(cn + 1);
  const used = new Uint8Array(cn + 1);
  for (let i = 1; i <= rn; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      const rowBase = (i0 - 1) * cn - 1;
      const ui0 = u[i0]!;
      for (let j = 1; j <= cn; j++) {
        if (used[j]) continue;
        const cur = a[rowBase + j]! - ui0 - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= cn; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  let total = 0;
  for (let j = 1; j <= cn; j++) {
    const i = p[j]!;
    if (i === 0) continue;
    const row = transpose ? j - 1 : i - 1;
    const col = transpose ? i - 1 : j - 1;
    const val = c[row * m + col]!;
    if (!(val <= maxCost && val > -Infinity && val < Infinity)) continue; // forbidden: leave both unassigned
    rowToCol[row] = col;
    colToRow[col] = row;
    total += val;
  }
  return { rowToCol, colToRow, cost: total };
}
