// A logger wrapper that lets a few messages per key through per interval and reports how many it held back,
// so a sensor spraying bad packets cannot flood the log.

import type { Logger } from 'pino';

export interface RateLimitOptions {
  /** Length of a window, ms. */
  intervalMs?: number;
  /** Messages per key per window. */
  burst?: number;
  now?: () => number;
  /** Keys tracked at once; the oldest window is forgotten beyond this. */
  maxKeys?: number;
}

export class RateLimitedLogger {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(
    readonly logger: Logger,
    opts: RateLimitOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.burst = opts.burst ?? 5;
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 1000;
  }

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    this.log('warn', key, obj, msg);
  }

  error(key: string, obj: Record<string, unknown>, msg: string): void {
    this.log('error', key, obj, msg);
  }

  private log(level: 'warn' | 'error', key: string, obj: Record<string, unknown>, msg: string): void {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.intervalMs) {
      const suppressed = w?.suppressed ?? 0;
      if (!w && this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, count: 0, suppressed: 0 };
      this.windows.set(key, w);
      if (suppressed > 0) obj = { ...obj, suppressed };
    }
    if (w.count < this.burst) {
      w.count++;
      this.logger[level](obj, msg);
    } else w.suppressed++;
  }
}
