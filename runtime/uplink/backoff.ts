/** Exponential backoff with full jitter: delay in [min, min(max, min * 2^attempt)]. */
export class Backoff {
  private attempt = 0;
  constructor(
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    if (!(minMs > 0) || !(maxMs >= minMs)) throw new RangeError(`bad backoff ${minMs}..${maxMs} ms`);
  }

  next(): number {
    const cap = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(this.minMs + Math.random() * (cap - this.minMs));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
