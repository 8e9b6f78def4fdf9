// NMEA 0183 parsing (real-format sentences with good and bad checksums) and the NMEA time source.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { NmeaSource, nmeaChecksum, parseNmea, TimeHealth, withChecksum, type Gga, type Rmc, type Zda } from '../hw/gnss/index.js';

const silent = pino({ level: 'silent' });

// Widely published example sentences (NMEA reference texts, receiver manuals), checksums as published.
const RMC_1994 = '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A';
const GGA_1994 = '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47';
const ZDA_2002 = '$GPZDA,201530.00,04,07,2002,00,00*60';
const RMC_WEST = '$GPRMC,225446,A,4916.45,N,12311.12,W,000.5,054.7,191194,020.3,E*68';
const GNRMC = '$GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,A*7B';
const GNGGA = '$GNGGA,001043.00,4404.14036,N,12118.85961,W,1,12,0.98,1113.0,M,-21.3,M,,*47';

t.test('real sentences parse', async (t) => {
  const rmc = parseNmea(RMC_1994);
  t.ok(rmc.ok);
  const r = (rmc as { sentence: Rmc }).sentence;
  t.match(r, { type: 'RMC', talker: 'GP', valid: true, courseDeg: 84.4, mode: null });
  t.equal(r.timeMs, Date.UTC(1994, 2, 23, 12, 35, 19));
  t.ok(Math.abs(r.lat! - (48 + 7.038 / 60)) < 1e-12);
  t.ok(Math.abs(r.lon! - (11 + 31 / 60)) < 1e-12);
  t.ok(Math.abs(r.speedMps! - (22.4 * 1852) / 3600) < 1e-12);

  const g = (parseNmea(`${GGA_1994}\r\n`) as { sentence: Gga }).sentence;
  t.match(g, { type: 'GGA', quality: 1, satellites: 8, hdop: 0.9, altitudeM: 545.4, geoidSeparationM: 46.9 });
  t.equal(g.timeOfDayMs, ((12 * 60 + 35) * 60 + 19) * 1000);

  const z = (parseNmea(ZDA_2002) as { sentence: Zda }).sentence;
  t.equal(z.timeMs, Date.UTC(2002, 6, 4, 20, 15, 30));

  const w = (parseNmea(RMC_WEST) as { sentence: Rmc }).sentence;
  t.ok(w.lon! < 0 && w.lat! > 0, 'west longitude is negative');
  t.equal(w.timeMs, Date.UTC(1994, 10, 19, 22, 54, 46));

  const gn = (parseNmea(GNRMC) as { sentence: Rmc }).sentence;
  t.match(gn, { talker: 'GN', mode: 'A', courseDeg: null });
  t.equal(gn.timeMs, Date.UTC(2017, 0, 10, 0, 10, 31));
  const gg = (parseNmea(GNGGA) as { sentence: Gga }).sentence;
  t.match(gg, { talker: 'GN', satellites: 12, altitudeM: 1113, geoidSeparationM: -21.3 });
});

t.test('checksums', async (t) => {
  t.equal(nmeaChecksum(RMC_1994.slice(1, RMC_1994.indexOf('*'))), '6A');
  t.equal(withChecksum(GGA_1994.slice(1, GGA_1994.indexOf('*'))), GGA_1994);
  t.ok(parseNmea(RMC_1994.replace('*6A', '*6a')).ok, 'lowercase hex accepted');
  const bad = parseNmea(RMC_1994.replace('4807.038', '4807.039'));
  t.same(bad, { ok: false, error: 'bad_checksum', detail: 'checksum 6A, computed 6B' });
  t.match(parseNmea(RMC_1994.replace('*6A', '*00')), { ok: false, error: 'bad_checksum' });
  t.match(parseNmea(RMC_1994.slice(0, RMC_1994.indexOf('*'))), { ok: false, error: 'no_checksum' });
  t.match(parseNmea(RMC_1994.replace('*6A', '*6')), { ok: false, error: 'no_checksum' });
  t.match(parseNmea(GGA_1994.slice(0, 30)), { ok: false, error: 'no_checksum' }, 'a cut-off sentence');
});

t.test('other rejections', async (t) => {
  t.match(parseNmea('GPRMC,123519,A*00'), { ok: false, error: 'not_nmea' });
  t.match(parseNmea('$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74'), { ok: false, error: 'unsupported' });
  t.match(parseNmea(withChecksum('PUBX,00,081350.00')), { ok: false, error: 'unsupported' });
  // a valid checksum over bad content
  t.match(parseNmea(withChecksum('GPRMC,123519,A,4867.038,N,01131.000,E,022.4,084.4,230394,003.1,W')), { ok: false, error: 'malformed', detail: /latitude/ });
  t.match(parseNmea(withChecksum('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,300294,003.1,W')), { ok: false, error: 'malformed', detail: /date/ }, '30 February');
  t.match(parseNmea(withChecksum('GPRMC,253519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')), { ok: false, error: 'malformed', detail: /time/ });
  t.match(parseNmea(withChecksum('GPGGA,123519,4807.038,N')), { ok: false, error: 'malformed' });
  t.match(parseNmea(withChecksum('GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W')), { ok: false, error: 'malformed', detail: /status/ });
  t.match(parseNmea(`$${'A'.repeat(200)}*00`), { ok: false, error: 'malformed' });
});

/** RMC+GGA for a UTC time, as a receiver sends them each second. */
function epoch(ms: number, valid = true): string[] {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const hms = `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0').slice(0, 2)}`;
  const dmy = `${p2(d.getUTCDate())}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCFullYear() % 100)}`;
  return [
    withChecksum(`GNRMC,${hms},${valid ? 'A' : 'V'},4814.970,N,01138.334,E,0.02,,${dmy},,,${valid ? 'A' : 'N'}`),
    withChecksum(`GNGGA,${hms},4814.970,N,01138.334,E,${valid ? 1 : 0},09,0.92,520.3,M,47.1,M,,`),
  ];
}

t.test('time offset from sentence arrival times', async (t) => {
  let now = 0;
  const health = new TimeHealth({ source: 'nmea', maxOffsetMs: 100, now: () => now });
  const src = new NmeaSource({ device: new PassThrough(), health, logger: silent, now: () => now });
  const alarms: unknown[] = [];
  health.on('alarm', (s) => alarms.push(s));
  const t0 = Date.UTC(2024, 5, 1, 12, 0, 0);
  // The system clock runs 30 ms ahead; sentences arrive 40-90 ms after their second.
  for (let k = 0; k < 10; k++) {
    const [rmc, gga] = epoch(t0 + k * 1000);
    src.handleLine(rmc!, t0 + k * 1000 + 30 + 40 + (k % 5) * 10);
    src.handleLine(gga!, t0 + k * 1000 + 30 + 60 + (k % 5) * 10);
  }
  const snap = health.snapshot();
  t.equal(snap.offsetMethod, 'nmea');
  t.equal(snap.offsetMs, 70, 'smallest sample: offset plus the smallest delay');
  t.equal(snap.fix, '3d');
  t.match(snap.position, { lat: 48 + 14.97 / 60, lon: 11 + 38.334 / 60 });
  t.same(snap.satellites, { visible: 9, used: 9 });
  t.equal(health.clockTrusted(), true);
  t.same(alarms, []);
  t.equal(src.stats.sentences, 20);
});

t.test('baud rate and receiver latency come off the estimate', async (t) => {
  const health = new TimeHealth({ source: 'nmea', maxOffsetMs: 100 });
  const src = new NmeaSource({ device: new PassThrough(), health, logger: silent, baud: 9600, latencyMs: 20 });
  const t0 = Date.UTC(2024, 5, 1, 12, 0, 0);
  const [rmc] = epoch(t0);
  const wire = ((rmc!.length + 2) * 10 * 1000) / 9600;
  src.handleLine(rmc!, t0 + 100);
  t.ok(Math.abs(health.offset()!.offsetMs - (100 - wire - 20)) < 1e-9, `${health.offset()!.offsetMs} ms`);
});

t.test('no fix, no time; GGA dated by the last RMC across midnight', async (t) => {
  const health = new TimeHealth({ source: 'nmea', maxOffsetMs: 100 });
  const src = new NmeaSource({ device: new PassThrough(), health, logger: silent });
  const t0 = Date.UTC(2024, 11, 31, 23, 59, 59);
  for (const l of epoch(t0, false)) src.handleLine(l, t0 + 50);
  t.equal(health.offset(), null, 'invalid fix: time not used');
  t.equal(health.snapshot().fix, 'none');
  const [rmc] = epoch(t0);
  src.handleLine(rmc!, t0 + 50);
  const [, gga] = epoch(t0 + 1000); // 00:00:00 of the next day, before the next RMC brings the new date
  src.handleLine(gga!, t0 + 1000 + 20);
  t.equal(health.offset()!.offsetMs, 20, 'GGA after midnight dated to the new day');
  const zda = withChecksum('GNZDA,000001.00,01,01,2025,00,00');
  src.handleLine(zda, t0 + 2000 + 10);
  t.equal(health.offset()!.offsetMs, 10);
});

t.test('a replay file: bad lines counted, the clock found off, the alarm raised', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-nmea-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'replay.nmea');
  writeFileSync(file, [RMC_1994, GGA_1994, RMC_1994.replace('A,4807', 'A,4808'), 'garbage', '$GPGSV,1,1,00*79', ZDA_2002, ''].join('\r\n'));
  const health = new TimeHealth({ source: 'nmea', maxOffsetMs: 100 });
  const alarm = once(health, 'alarm');
  const src = new NmeaSource({ device: file, health, logger: silent });
  const ended = once(src, 'end');
  src.start();
  await ended;
  t.teardown(() => src.close());
  t.match(src.stats, { sentences: 3, bad_checksum: 1, not_nmea: 1, unsupported: 1, opens: 1 });
  const [status] = (await alarm) as [{ trusted: boolean; offsetMs: number; reason: string }];
  t.equal(status.trusted, false);
  t.ok(status.offsetMs > 20 * 365 * 86400e3, 'the 1994 sentences are decades behind the system clock');
  t.match(status.reason, /system clock ahead of GNSS by \d+/);
  t.equal(health.clockTrusted(100), false);
  t.equal(health.snapshot().connected, false, 'closed at the end of the file');
});

t.test('a stream split mid-sentence', async (t) => {
  const health = new TimeHealth({ source: 'nmea', maxOffsetMs: 100 });
  const stream = new PassThrough();
  const src = new NmeaSource({ device: stream, health, logger: silent });
  src.start();
  t.teardown(() => src.close());
  const text = `${GNRMC}\r\n${GNGGA}\r\n`;
  const got: string[] = [];
  src.on('sentence', (s: { type: string }) => got.push(s.type));
  for (let i = 0; i < text.length; i += 7) stream.write(text.slice(i, i + 7));
  await new Promise((r) => setImmediate(r));
  t.same(got, ['RMC', 'GGA']);
  t.equal(health.snapshot().connected, true);
});

t.test('a device path that is missing: retried, not thrown', async (t) => {
  const health = new TimeHealth({ source: 'nmea', maxOffsetMs: 100 });
  const src = new NmeaSource({ device: '/nonexistent/ttyUSB9', health, logger: silent, reopenDelayMs: 20 });
  src.start();
  await new Promise((r) => setTimeout(r, 80));
  await src.close();
  t.equal(health.snapshot().connected, false);
  t.equal(src.stats.opens, 0);
});
