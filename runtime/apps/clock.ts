// Time fields of V2X messages, all in UTC.

/** Minute of the year (MinuteOfTheYear, 0..527040). */
export function minuteOfYear(ms: number): number {
  const d = new Date(ms);
  return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 60000);
}

/** Milliseconds within the minute (DSecond / secMark, 0..59999). */
export function dSecond(ms: number): number {
  return Math.floor(ms) % 60000;
}

/** Tenths of a second within the hour (J2735 TimeMark, 0..35999; 36000 is a leap second, 36001 unknown). */
export function timeMarkOfHour(ms: number): number {
  return Math.floor((Math.floor(ms) % 3_600_000) / 100);
}

/** A duration as a TimeMark count of tenths of a second, clamped to its range (CSAE TimeCountingDown). */
export function tenths(durationMs: number): number {
  return Math.max(0, Math.min(36000, Math.round(durationMs / 100)));
}

/** Message counters per message type, wrapping 0..127 (MsgCount). */
export class MsgCounter {
  private counts = new Map<string, number>();
  next(type: string): number {
    const n = this.counts.get(type) ?? 0;
    this.counts.set(type, (n + 1) % 128);
    return n;
  }
}

export const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An ISO 8601 date and time with a time zone (`2026-05-04T08:00:00+08:00`, `...Z`) as ms since the epoch, or
 * undefined when it is not one or names a day or time that does not exist (Date.parse alone takes February 30th).
 */
export function isoTimeMs(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = ISO_TIME.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se, zh, zm] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0', m[7] ?? '0', m[8] ?? '0'].map(Number) as [number, number, number, number, number, number, number, number];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || se > 59 || zh > 14 || zm > 59) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}
