/**
 * Exponential backoff with full jitter: delay in [min, min(max, min * 2^attempt)]. Owns the one retry timer of
 * its user (`after`, `cancel`): a new retry replaces the pending one.
 */
export class Backoff {
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
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

  /** Runs `fn` after the next delay, instead of any retry still pending. */
  after(fn: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, this.next());
  }

  /** Drops the pending retry, if any. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get attempts(): number {
    return this.attempt;
  }
}
