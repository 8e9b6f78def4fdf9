// The Hungarian method on hand-made cost matrices (square, rectangular, forbidden pairs) and against brute force.

import t from 'tap';
import { hungarian } from '../runtime/perception/index.js';

const X = Infinity;
const pairs = (a: { rowToCol: Int32Array }) => Array.from(a.rowToCol);

t.test('hand-made square matrices', async (t) => {
  // The optimum is 0→1, 1→0, 2→2: 1 + 2 + 2 = 5.
  let a = hungarian([
    [4, 1, 3],
    [2, 0, 5],
    [3, 2, 2],
  ]);
  t.same(pairs(a), [1, 0, 2]);
  t.equal(a.cost, 5);
  // Greedy (smallest entry first: 0 at (1,1)) would give 1→1, then 0→2 (3) and 2→0 (3): 6. Hungarian finds 5.

  // Checked by hand (and by the brute-force test below).
  a = hungarian([
    [9, 2, 7, 8],
    [6, 4, 3, 7],
    [5, 8, 1, 8],
    [7, 6, 9, 4],
  ]);
  // 0→1 (2), 1→0 (6), 2→2 (1), 3→3 (4) = 13; the row minima 2, 3, 1, 4 = 10 collide in column 2.
  t.same(pairs(a), [1, 0, 2, 3]);
  t.equal(a.cost, 13);

  a = hungarian([[7]]);
  t.same(pairs(a), [0]);
  t.equal(a.cost, 7);

  // Ties: any optimum is fine, the cost is what matters.
  a = hungarian([
    [1, 1],
    [1, 1],
  ]);
  t.equal(a.cost, 2);
  t.same(new Set(pairs(a)), new Set([0, 1]));

  // Negative costs (e.g. log-likelihoods).
  a = hungarian([
    [-5, -1],
    [-2, -4],
  ]);
  t.same(pairs(a), [0, 1]);
  t.equal(a.cost, -9);
});

t.test('rectangular matrices: more rows than columns, and more columns than rows', async (t) => {
  // 3 tracks, 2 detections: the track left out is the one whose loss costs least.
  let a = hungarian([
    [1, 10],
    [2, 3],
    [10, 1],
  ]);
  t.same(pairs(a), [0, -1, 1]);
  t.equal(a.cost, 2);
  t.same(Array.from(a.colToRow), [0, 2]);

  // 2 tracks, 4 detections.
  a = hungarian([
    [8, 4, 7, 1],
    [5, 2, 9, 3],
  ]);
  t.same(pairs(a), [3, 1]);
  t.equal(a.cost, 3);
  t.same(Array.from(a.colToRow), [-1, 1, -1, 0]);

  // 1 x 5 and 5 x 1.
  a = hungarian([[5, 3, 9, 3.5, 4]]);
  t.same(pairs(a), [1]);
  a = hungarian([[5], [3], [9], [2.5], [4]]);
  t.same(pairs(a), [-1, -1, -1, 0, -1]);
  t.equal(a.cost, 2.5);

  // Flat input with dimensions.
  a = hungarian(Float64Array.of(8, 4, 7, 1, 5, 2, 9, 3), 2, 4);
  t.same(pairs(a), [3, 1]);
});

t.test('forbidden pairs (gating) are never assigned', async (t) => {
  // Row 1 may only take column 0; the rest must work around it.
  let a = hungarian([
    [1, 2, X],
    [3, X, X],
    [X, 4, 1],
  ]);
  t.same(pairs(a), [1, 0, 2]);
  t.equal(a.cost, 6);

  // The most allowed pairs first: assigning (0,0) alone would be cheaper per pair, but two pairs are possible.
  a = hungarian([
    [1, 50],
    [2, X],
  ]);
  t.same(pairs(a), [1, 0]);
  t.equal(a.cost, 52);

  // A row with nothing allowed stays unassigned, the rest are solved.
  a = hungarian([
    [X, X, X],
    [4, 1, X],
    [2, X, X],
  ]);
  t.same(pairs(a), [-1, 1, 0]);
  t.equal(a.cost, 3);

  // Everything forbidden; NaN counts as forbidden; maxCost forbids what is above it.
  t.same(pairs(hungarian([[X, X], [X, X]])), [-1, -1]);
  t.same(pairs(hungarian([[NaN, 1], [1, NaN]])), [1, 0]);
  a = hungarian(
    [
      [1, 9],
      [9, 12],
    ],
    { maxCost: 10 },
  );
  t.same(pairs(a), [1, 0], '12 > maxCost is forbidden, so the two 9s (two pairs) beat 1 alone');
  t.equal(a.cost, 18);
  a = hungarian(
    [
      [1, 11],
      [11, 12],
    ],
    { maxCost: 10 },
  );
  t.same(pairs(a), [0, -1], 'only one allowed pair');
  t.equal(a.cost, 1);
});

t.test('empty and malformed input', async (t) => {
  t.same(pairs(hungarian([])), []);
  t.same(pairs(hungarian([[]])), [-1]);
  t.throws(() => hungarian([[1, 2], [3]]), RangeError);
  t.throws(() => hungarian(Float64Array.of(1, 2, 3), 2, 2), RangeError);
});

/** All assignments by brute force: maximise the number of allowed pairs, then minimise the cost. */
function brute(c: number[][]): { n: number; cost: number } {
  const rows = c.length;
  const cols = c[0]!.length;
  let best = { n: -1, cost: Infinity };
  const used = new Array<boolean>(cols).fill(false);
  const rec = (i: number, n: number, cost: number) => {
    if (i === rows) {
      if (n > best.n || (n === best.n && cost < best.cost - 1e-9)) best = { n, cost };
      return;
    }
    rec(i + 1, n, cost); // row i unassigned
    for (let j = 0; j < cols; j++) {
      if (used[j] || !Number.isFinite(c[i]![j]!)) continue;
      used[j] = true;
      rec(i + 1, n + 1, cost + c[i]![j]!);
      used[j] = false;
    }
  };
  rec(0, 0, 0);
  return best;
}

t.test('agrees with brute force on 2000 random matrices up to 6x6, with forbidden pairs', async (t) => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  let bad = 0;
  for (let k = 0; k < 2000; k++) {
    const rows = 1 + Math.floor(rnd() * 6);
    const cols = 1 + Math.floor(rnd() * 6);
    const pForbid = rnd() * 0.6;
    const c = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rnd() < pForbid ? Infinity : Math.round(rnd() * 100) / 4 - 5)));
    const a = hungarian(c);
    const b = brute(c);
    const n = pairs(a).filter((j) => j >= 0).length;
    // The result is a valid matching of allowed pairs with the same size and cost as the optimum.
    const cols2 = pairs(a).filter((j) => j >= 0);
    const valid = new Set(cols2).size === cols2.length && pairs(a).every((j, i) => j < 0 || Number.isFinite(c[i]![j]!));
    if (!valid || n !== b.n || Math.abs(a.cost - b.cost) > 1e-9) {
      bad++;
      if (bad < 5) t.fail(`matrix ${JSON.stringify(c)}: got ${n} pairs / ${a.cost}, optimum ${b.n} / ${b.cost}`);
    }
  }
  t.equal(bad, 0, 'every result optimal');
});

t.test('a 200x200 problem is solved quickly', async (t) => {
  let seed = 99;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const n = 200;
  const c = new Float64Array(n * n);
  for (let i = 0; i < c.length; i++) c[i] = rnd();
  const t0 = performance.now();
  const a = hungarian(c, n, n);
  const ms = performance.now() - t0;
  t.equal(pairs(a).filter((j) => j >= 0).length, n);
  t.ok(ms < 500, `200x200 in ${ms.toFixed(1)} ms`);
});
