// Constant-velocity Kalman filter: convergence on a constant-velocity target, consistency, the algebra.

import t from 'tap';
import { CvKalman, gaussian, maxEigen, seededRandom } from '../runtime/perception/index.js';

t.test('a constant-velocity target is tracked with decreasing error', async (t) => {
  const rnd = seededRandom(1);
  const sigma = 0.5; // m, measurement noise per axis
  const R: [number, number, number] = [sigma * sigma, 0, sigma * sigma];
  const v = { x: 8, y: -3 }; // m/s
  const dt = 0.1;
  // Started from the first measurement, velocity unknown (σ 10 m/s).
  let truth = { x: 10, y: 20 };
  const kf = CvKalman.init(truth.x + sigma * gaussian(rnd), truth.y + sigma * gaussian(rnd), R, undefined, [100, 0, 100]);
  const posErr: number[] = [];
  const velErr: number[] = [];
  const posStd: number[] = [];
  for (let k = 1; k <= 100; k++) {
    truth = { x: truth.x + v.x * dt, y: truth.y + v.y * dt };
    kf.predict(dt, 0.05);
    kf.updatePosition(truth.x + sigma * gaussian(rnd), truth.y + sigma * gaussian(rnd), R);
    posErr.push(Math.hypot(kf.x[0]! - truth.x, kf.x[1]! - truth.y));
    velErr.push(Math.hypot(kf.x[2]! - v.x, kf.x[3]! - v.y));
    posStd.push(Math.sqrt(maxEigen(kf.posCov())));
  }
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const early = mean(posErr.slice(0, 5));
  const late = mean(posErr.slice(-30));
  t.ok(late < early, `position error falls: first 5 updates ${early.toFixed(3)} m, last 30 ${late.toFixed(3)} m`);
  t.ok(late < sigma * 0.6, `filtered position better than a single measurement (${late.toFixed(3)} < ${sigma * 0.6} m)`);
  t.ok(mean(velErr.slice(0, 3)) > 1, `velocity unknown at first: ${mean(velErr.slice(0, 3)).toFixed(2)} m/s off`);
  t.ok(mean(velErr.slice(-30)) < 0.3, `velocity converges: ${mean(velErr.slice(-30)).toFixed(3)} m/s off`);
  t.ok(posStd.every((s, i) => i === 0 || s <= posStd[i - 1]! + 1e-9), 'the reported position σ never grows between updates of equal quality');
  t.ok(posStd.at(-1)! < sigma, `steady-state position σ ${posStd.at(-1)!.toFixed(3)} m`);
});

t.test('the filter is consistent: normalised estimation error squared averages the state dimension', async (t) => {
  // 200 Monte Carlo runs of a target with white-noise acceleration of the filter's own q: the mean NEES over
  // runs must be close to 4 (χ² with 4 dof); 95 % bounds for the mean of 200 are about [3.6, 4.4].
  const q = 0.5;
  const sigma = 0.3;
  const R: [number, number, number] = [sigma * sigma, 0, sigma * sigma];
  const dt = 0.1;
  const rnd = seededRandom(42);
  const runs = 200;
  let nees = 0;
  for (let r = 0; r < runs; r++) {
    let x = [0, 0, 5, 2];
    const kf = CvKalman.init(x[0]! + sigma * gaussian(rnd), x[1]! + sigma * gaussian(rnd), R, { x: 5 + gaussian(rnd), y: 2 + gaussian(rnd) }, [1, 0, 1]);
    for (let k = 0; k < 60; k++) {
      // Exact discretisation of white-noise acceleration: draw (Δp, Δv) jointly per axis.
      const next = [...x];
      for (const ax of [0, 1]) {
        const z1 = gaussian(rnd);
        const z2 = gaussian(rnd);
        // Cholesky of q·[dt³/3 dt²/2; dt²/2 dt]
        const l11 = Math.sqrt((q * dt ** 3) / 3);
        const l21 = ((q * dt ** 2) / 2) / l11;
        const l22 = Math.sqrt(q * dt - l21 * l21);
        next[ax] = x[ax]! + dt * x[ax + 2]! + l11 * z1;
        next[ax + 2] = x[ax + 2]! + l21 * z1 + l22 * z2;
      }
      x = next;
      kf.predict(dt, q);
      kf.updatePosition(x[0]! + sigma * gaussian(rnd), x[1]! + sigma * gaussian(rnd), R);
    }
    const e = [x[0]! - kf.x[0]!, x[1]! - kf.x[1]!, x[2]! - kf.x[2]!, x[3]! - kf.x[3]!];
    nees += quadInv(kf.P, e);
  }
  nees /= runs;
  t.ok(nees > 3.4 && nees < 4.6, `mean NEES ${nees.toFixed(2)} (expected 4)`);
});

t.test('the algebra: prediction, innovation, updates', async (t) => {
  const kf = CvKalman.init(1, 2, [0.25, 0, 0.25], { x: 3, y: -1 }, [0.5, 0, 0.5]);
  kf.predict(2, 0);
  t.same(Array.from(kf.x), [7, 0, 3, -1], 'x + v·dt');
  // P_pos = 0.25 + dt²·0.5 = 2.25; P_pv = dt·0.5 = 1
  t.same([kf.P[0], kf.P[2], kf.P[10]], [2.25, 1, 0.5]);
  const c = kf.clone();
  c.predict(-2, 0);
  t.same(Array.from(c.x), [1, 2, 3, -1], 'backwards');
  t.ok(Math.abs(c.P[0]! - 0.25) < 1e-12, 'and its covariance, without noise');
  // With noise, Q adds q·dt³/3 to the position and q·dt to the velocity variance.
  const n = CvKalman.init(0, 0, [1, 0, 1], { x: 0, y: 0 }, [1, 0, 1]);
  n.predict(1, 3);
  t.ok(Math.abs(n.P[0]! - (1 + 1 + 1)) < 1e-12 && Math.abs(n.P[10]! - 4) < 1e-12 && Math.abs(n.P[2]! - (1 + 1.5)) < 1e-12);

  const inn = kf.innovation(9, 1, [0.75, 0, 0.75]);
  // S = diag(3, 3): d² = (4 + 1) / 3
  t.ok(Math.abs(inn.d2 - 5 / 3) < 1e-12 && Math.abs(inn.logDet - Math.log(9)) < 1e-12, `d² ${inn.d2}`);
  t.equal(kf.innovation(9, 1, [-1e9, 0, 1]).d2, Infinity, 'a broken covariance never gates');

  // A position update with R = P_pos moves the position halfway.
  const h = CvKalman.init(0, 0, [1, 0, 1], { x: 0, y: 0 }, [1, 0, 1]);
  h.updatePosition(2, -4, [1, 0, 1]);
  t.ok(Math.abs(h.x[0]! - 1) < 1e-12 && Math.abs(h.x[1]! + 2) < 1e-12 && Math.abs(h.P[0]! - 0.5) < 1e-12);

  // A position + velocity update with equal covariances halves the difference in all four.
  const pv = CvKalman.init(0, 0, [1, 0, 1], { x: 0, y: 0 }, [1, 0, 1]);
  pv.updatePositionVelocity([2, 2, 4, -4], [1, 0, 1], [1, 0, 1]);
  t.ok([1, 1, 2, -2].every((v, i) => Math.abs(pv.x[i]! - v) < 1e-12), Array.from(pv.x).join(','));
  t.ok(Math.abs(pv.P[0]! - 0.5) < 1e-12 && Math.abs(pv.P[15]! - 0.5) < 1e-12);
});

t.test('the covariance stays symmetric positive definite over many updates', async (t) => {
  const rnd = seededRandom(3);
  const kf = CvKalman.init(0, 0, [4, 1, 2], undefined, [100, 0, 100]);
  for (let k = 0; k < 5000; k++) {
    kf.predict(rnd() * 0.2, 2);
    const a = 0.01 + rnd() * 4;
    const b = 0.01 + rnd() * 4;
    const c = (rnd() - 0.5) * Math.sqrt(a * b);
    if (k % 3 === 0) kf.updatePositionVelocity([rnd(), rnd(), rnd(), rnd()], [a, c, b], [1, 0, 1]);
    else kf.updatePosition(rnd() * 10, rnd() * 10, [a, c, b]);
  }
  let asym = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) asym = Math.max(asym, Math.abs(kf.P[i * 4 + j]! - kf.P[j * 4 + i]!));
  t.equal(asym, 0, 'symmetric');
  t.ok(choleskyOk(kf.P), 'positive definite');
});

function quadInv(P: Float64Array, e: number[]): number {
  // Solve P·y = e by Cholesky.
  const L = cholesky(P)!;
  const y = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    let s = e[i]!;
    for (let k = 0; k < i; k++) s -= L[i * 4 + k]! * y[k]!;
    y[i] = s / L[i * 4 + i]!;
  }
  return y.reduce((s, v) => s + v * v, 0);
}

function cholesky(P: Float64Array): Float64Array | null {
  const L = new Float64Array(16);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j <= i; j++) {
      let s = P[i * 4 + j]!;
      for (let k = 0; k < j; k++) s -= L[i * 4 + k]! * L[j * 4 + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * 4 + i] = Math.sqrt(s);
      } else L[i * 4 + j] = s / L[j * 4 + j]!;
    }
  return L;
}

const choleskyOk = (P: Float64Array) => cholesky(P) !== null;
