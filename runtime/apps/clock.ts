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
