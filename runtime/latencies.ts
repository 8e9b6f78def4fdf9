// The last n samples of a duration, for percentiles in the status: the daemon's sensor-frame-to-radio latency (ms)
// and the security layer's in-path signing time (µs).

export class Latencies {
  private buf: Float64Array;
  private n = 0;
  constructor(size: number) {
    this.buf = new Float64Array(size);
  }
  add(x: number): void {
    this.buf[this.n++ % this.buf.length] = x;
  }
  /** Percentiles of the samples added after the first `since` (as far as the buffer still holds them), unrounded. */
  quantiles(since = 0): { count: number; p50: number | null; p99: number | null; max: number | null } {
    const k = Math.min(this.n - since, this.buf.length);
    if (k <= 0) return { count: this.n, p50: null, p99: null, max: null };
    const a = new Float64Array(k);
    for (let i = this.n - k, j = 0; i < this.n; i++, j++) a[j] = this.buf[i % this.buf.length]!;
    a.sort();
    const q = (f: number) => a[Math.min(k - 1, Math.floor(f * k))]!;
    return { count: this.n, p50: q(0.5), p99: q(0.99), max: q(1) };
  }
  /** The same in ms rounded to µs, as the status shows the frame-to-radio latency. */
  summary(since = 0): { count: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null } {
    const { count, p50, p99, max } = this.quantiles(since);
    const r = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
    return { count, p50Ms: r(p50), p99Ms: r(p99), maxMs: r(max) };
  }
}
