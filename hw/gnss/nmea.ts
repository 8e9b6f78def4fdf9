// NMEA 0183 sentences a time and position source needs: RMC (time, date, fix, position), GGA (fix quality,
// satellites, altitude), ZDA (time and date). Any talker (GP, GN, GL, GA, GB, BD, ...). The checksum is required.

export interface NmeaBase {
  /** Talker id, e.g. "GP", "GN". */
  talker: string;
}

export interface Rmc extends NmeaBase {
  type: 'RMC';
  /** ms since UTC midnight. */
  timeOfDayMs: number | null;
  /** UTC midnight of the date, ms since the epoch. */
  dateMs: number | null;
  /** Full UTC time, ms since the epoch, when time and date are present. */
  timeMs: number | null;
  /** Status A (valid) vs V (warning). */
  valid: boolean;
  lat: number | null;
  lon: number | null;
  speedMps: number | null;
  courseDeg: number | null;
  /** NMEA 2.3+ mode indicator (A autonomous, D differential, E estimated, N not valid, ...). */
  mode: string | null;
}

export interface Gga extends NmeaBase {
  type: 'GGA';
  timeOfDayMs: number | null;
  lat: number | null;
  lon: number | null;
  /** 0 no fix, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 estimated, ... */
  quality: number;
  satellites: number | null;
  hdop: number | null;
  /** Above mean sea level, m. */
  altitudeM: number | null;
  /** Geoid above the ellipsoid, m. */
  geoidSeparationM: number | null;
}

export interface Zda extends NmeaBase {
  type: 'ZDA';
  timeOfDayMs: number | null;
  dateMs: number | null;
  timeMs: number | null;
}

export type NmeaSentence = Rmc | Gga | Zda;

export type NmeaError = 'not_nmea' | 'no_checksum' | 'bad_checksum' | 'malformed' | 'unsupported';
export type NmeaResult = { ok: true; sentence: NmeaSentence } | { ok: false; error: NmeaError; detail: string };

/** XOR of the characters between `$` and `*`, as two uppercase hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

/** `$BODY*CS` for a sentence body (simulators and tests). */
export function withChecksum(body: string): string {
  return `$${body}*${nmeaChecksum(body)}`;
}

const MAX_LENGTH = 120; // the standard says 82; some receivers send longer sentences

/** hhmmss[.sss] → ms since midnight. */
function parseTime(s: string): number | null | undefined {
  if (s === '') return null;
  const m = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(s);
  if (!m) return undefined;
  const [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23 || mi > 59 || sec >= 61) return undefined;
  return Math.round(((h * 60 + mi) * 60 + sec) * 1000);
}

function dateUtc(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  return new Date(ms).getUTCDate() === day ? ms : undefined; // rejects 31 February
}

/** ddmmyy → UTC midnight (years 80-99 are 1980-1999, 00-79 are 2000-2079). */
function parseDdmmyy(s: string): number | null | undefined {
  if (s === '') return null;
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const yy = Number(m[3]);
  return dateUtc(yy >= 80 ? 1900 + yy : 2000 + yy, Number(m[2]), Number(m[1]));
}

/** (d)ddmm.mmmm + hemisphere → signed degrees. */
function parseCoord(v: string, hemi: string, degDigits: 2 | 3): number | null | undefined {
  if (v === '' && hemi === '') return null;
  const m = new RegExp(`^(\\d{${degDigits}})(\\d{2}(?:\\.\\d+)?)$`).exec(v);
  if (!m) return undefined;
  const deg = Number(m[1]) + Number(m[2]) / 60;
  if (Number(m[2]) >= 60 || deg > (degDigits === 2 ? 90 : 180)) return undefined;
  const pos = degDigits === 2 ? 'N' : 'E';
  const neg = degDigits === 2 ? 'S' : 'W';
  if (hemi !== pos && hemi !== neg) return undefined;
  return hemi === neg ? -deg : deg;
}

function parseNum(s: string | undefined): number | null | undefined {
  if (s === undefined || s === '') return null;
  if (!/^-?\d+(?:\.\d*)?$/.test(s)) return undefined;
  return Number(s);
}

class Malformed extends Error {}

/** A parsed field, or a Malformed error naming it. */
function must<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new Malformed(field);
  return v;
}

/** Parses one NMEA sentence (without or with the trailing CR LF). */
export function parseNmea(line: string): NmeaResult {
  const s = line.trim();
  if (s[0] !== '$') return { ok: false, error: 'not_nmea', detail: 'does not start with $' };
  if (s.length > MAX_LENGTH) return { ok: false, error: 'malformed', detail: `${s.length} characters, more than ${MAX_LENGTH}` };
  const star = s.lastIndexOf('*');
  if (star < 0) return { ok: false, error: 'no_checksum', detail: 'no *hh checksum' };
  const body = s.slice(1, star);
  const given = s.slice(star + 1).toUpperCase();
  if (!/^[0-9A-F]{2}$/.test(given)) return { ok: false, error: 'no_checksum', detail: `checksum ${JSON.stringify(given)} is not two hex digits` };
  const want = nmeaChecksum(body);
  if (given !== want) return { ok: false, error: 'bad_checksum', detail: `checksum ${given}, computed ${want}` };
  const f = body.split(',');
  const addr = f[0]!;
  if (!/^[A-Z]{2}[A-Z]{3}$/.test(addr)) return { ok: false, error: addr.startsWith('P') ? 'unsupported' : 'malformed', detail: `address field ${JSON.stringify(addr)}` };
  const talker = addr.slice(0, 2);
  const type = addr.slice(2);
  try {
    switch (type) {
      case 'RMC': {
        if (f.length < 10) throw new Malformed(`${f.length} fields`);
        const timeOfDayMs = must(parseTime(f[1]!), 'time');
        const dateMs = must(parseDdmmyy(f[9]!), 'date');
        const status = f[2];
        if (status !== 'A' && status !== 'V') throw new Malformed('status');
        const speedKn = must(parseNum(f[7]), 'speed');
        return {
          ok: true,
          sentence: {
            type: 'RMC',
            talker,
            timeOfDayMs,
            dateMs,
            timeMs: timeOfDayMs !== null && dateMs !== null ? dateMs + timeOfDayMs : null,
            valid: status === 'A',
            lat: must(parseCoord(f[3]!, f[4]!, 2), 'latitude'),
            lon: must(parseCoord(f[5]!, f[6]!, 3), 'longitude'),
            speedMps: speedKn === null ? null : (speedKn * 1852) / 3600,
            courseDeg: must(parseNum(f[8]), 'course'),
            mode: f[12] ? f[12] : null,
          },
        };
      }
      case 'GGA': {
        if (f.length < 15) throw new Malformed(`${f.length} fields`);
        const quality = must(parseNum(f[6]), 'quality');
        return {
          ok: true,
          sentence: {
            type: 'GGA',
            talker,
            timeOfDayMs: must(parseTime(f[1]!), 'time'),
            lat: must(parseCoord(f[2]!, f[3]!, 2), 'latitude'),
            lon: must(parseCoord(f[4]!, f[5]!, 3), 'longitude'),
            quality: quality ?? 0,
            satellites: must(parseNum(f[7]), 'satellites'),
            hdop: must(parseNum(f[8]), 'hdop'),
            altitudeM: must(parseNum(f[9]), 'altitude'),
            geoidSeparationM: must(parseNum(f[11]), 'geoid separation'),
          },
        };
      }
      case 'ZDA': {
        if (f.length < 5) throw new Malformed(`${f.length} fields`);
        const timeOfDayMs = must(parseTime(f[1]!), 'time');
        const [d, mo, y] = [f[2]!, f[3]!, f[4]!];
        let dateMs: number | null = null;
        if (d !== '' || mo !== '' || y !== '') {
          if (!/^\d{2}$/.test(d) || !/^\d{2}$/.test(mo) || !/^\d{4}$/.test(y)) throw new Malformed('date');
          dateMs = must(dateUtc(Number(y), Number(mo), Number(d)), 'date');
        }
        return {
          ok: true,
          sentence: { type: 'ZDA', talker, timeOfDayMs, dateMs, timeMs: timeOfDayMs !== null && dateMs !== null ? dateMs + timeOfDayMs : null },
        };
      }
      default:
        return { ok: false, error: 'unsupported', detail: `sentence type ${type}` };
    }
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: 'malformed', detail: `${talker}${type}: bad ${e.message}` };
    throw e;
  }
}
