// The benchmarks' timing loop (codec, oer): operations per second as the median of BENCH_ROUNDS timed rounds,
// each about BENCH_ROUND_MS long after a warm-up that sizes the round.
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_MS = Number(process.env.BENCH_ROUND_MS ?? 300);

/** Operations per second: the median of ROUNDS timed rounds, each about TARGET_MS long. */
export function rate(fn: () => void): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const dt = performance.now() - t0;
    if (dt > 50) {
      n = Math.max(1, Math.round((n * TARGET_MS) / dt));
      break;
    }
    n *= 4;
  }
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
}
