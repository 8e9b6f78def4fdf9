// IEEE 1609.2 time: Time32 (seconds) and Time64 (microseconds) of TAI since 2004-01-01 00:00:00 UTC. TAI runs
// ahead of UTC by the leap seconds inserted since then (5 so far), so the conversion needs the table below.

/** 2004-01-01T00:00:00Z in Unix ms. */
const EPOCH_2004_MS = 1_072_915_200_000;

/** Unix ms of the UTC instants right after each leap second inserted since 2004 (IERS Bulletin C). */
const LEAPS_MS = ['2006-01-01', '2009-01-01', '2012-07-01', '2015-07-01', '2017-01-01'].map((d) => Date.parse(`${d}T00:00:00Z`));

function leapsAt(unixMs: number): number {
  let n = 0;
  for (const l of LEAPS_MS) if (unixMs >= l) n++;
  return n;
}

/** Time64 (µs of TAI since the 2004 epoch) of a Unix time in ms. */
export function time64FromUnixMs(unixMs: number): bigint {
  return BigInt(Math.round(unixMs - EPOCH_2004_MS + leapsAt(unixMs) * 1000)) * 1000n;
}

/** Unix ms of a Time64. */
export function unixMsFromTime64(t: bigint | number): number {
  const tai = Number(BigInt(t) / 1000n) + EPOCH_2004_MS;
  return tai - leapsAt(tai - leapsAt(tai) * 1000) * 1000;
}

/** Unix ms of a Time32 (seconds). */
export function unixMsFromTime32(t: number): number {
  return unixMsFromTime64(BigInt(t) * 1_000_000n);
}

/** Time32 of a Unix time in ms (floored to the second). */
export function time32FromUnixMs(unixMs: number): number {
  return Number(time64FromUnixMs(unixMs) / 1_000_000n);
}

const DURATION_S: Readonly<Record<string, number>> = {
  microseconds: 1e-6,
  milliseconds: 1e-3,
  seconds: 1,
  minutes: 60,
  hours: 3600,
  sixtyHours: 216_000,
  years: 31_556_952, // 1609.2: 365.2425 days
};

/** ms of a 1609.2 Duration value ({ hours: 168 }, ...). */
export function durationMs(d: Record<string, number>): number {
  const [unit, n] = Object.entries(d)[0] ?? [];
  const s = unit === undefined ? undefined : DURATION_S[unit];
  if (s === undefined || typeof n !== 'number') throw new RangeError(`not a Duration: ${JSON.stringify(d)}`);
  return n * s * 1000;
}
