// TimeHealth: the offset estimate, clockTrusted(), alarms; startTimeSource for each configured source.

import t from 'tap';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateConfig } from '../runtime/config/index.js';
import { GpsdClient, NmeaSource, startTimeSource, TimeHealth, withChecksum } from '../hw/gnss/index.js';

const silent = pino({ level: 'silent' });

t.test('system clock: offset unknown, trusted', async (t) => {
  const h = new TimeHealth({ source: 'system', maxOffsetMs: 100 });
  const s = h.snapshot();
  t.match(s, { source: 'system', connected: true, offsetMs: null, offsetMethod: null, fix: 'unknown', position: null, lastMessageAgeMs: null });
  t.match(s.clock, { trusted: true, known: false, reason: /offset unknown/ });
  t.equal(h.clockTrusted(), true);
});

t.test('delayed samples: the smallest of the window; PPS: the latest; the best method wins', async (t) => {
  let now = 1000;
  const h = new TimeHealth({ source: 'gpsd', maxOffsetMs: 50, now: () => now, window: 4 });
  for (const d of [80, 40, 60, 90]) h.addOffsetSample('tpv', 10_000 + d, 10_000);
  t.same(h.offset(), { offsetMs: 40, method: 'tpv', ageMs: 0 });
  for (const d of [70, 75, 72, 71]) h.addOffsetSample('tpv', 20_000 + d, 20_000); // 40 leaves the window
  t.equal(h.offset()!.offsetMs, 70);
  t.equal(h.clockTrusted(), false);
  t.equal(h.clockTrusted(100), true, 'per-call bound');
  h.addOffsetSample('toff', 30_060, 30_000);
  t.equal(h.offset()!.method, 'toff');
  h.addOffsetSample('pps', 31_000.4, 31_000);
  h.addOffsetSample('pps', 32_000 - 0.5, 32_000);
  now = 1500;
  t.same(h.offset(), { offsetMs: -0.5, method: 'pps', ageMs: 500 });
  t.equal(h.clockTrusted(), true);
  h.addOffsetSample('pps', NaN, 1);
  t.equal(h.offset()!.offsetMs, -0.5, 'non-finite samples ignored');
});

t.test('alarm and clear fire on transitions only', async (t) => {
  const h = new TimeHealth({ source: 'nmea', maxOffsetMs: 100 });
  const ev: string[] = [];
  h.on('alarm', () => ev.push('alarm'));
  h.on('clear', () => ev.push('clear'));
  h.addOffsetSample('pps', 500, 0);
  h.addOffsetSample('pps', 400, 0);
  h.addOffsetSample('pps', 50, 0);
  h.addOffsetSample('pps', -20, 0);
  h.addOffsetSample('pps', -150, 0);
  t.same(ev, ['alarm', 'clear', 'alarm']);
  t.match(h.clockStatus(), { trusted: false, known: true, offsetMs: -150, boundMs: 100, reason: /system clock behind GNSS by 150\.0 ms \(pps\)/ });
});

t.test('startTimeSource: system, gpsd and nmea from the config', async (t) => {
  const sys = startTimeSource(validateConfig({}).config!.time, { logger: silent });
  t.equal(sys.health.source, 'system');
  t.equal(sys.client, undefined);
  await sys.close();

  // Says VERSION and hangs up (reading, so that it sees the client's end).
  const server = createServer((s) => s.resume().end('{"class":"VERSION","release":"3.25","proto_major":3,"proto_minor":15}\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((r) => server.close(r)));
  const port = (server.address() as { port: number }).port;
  const gpsd = startTimeSource(validateConfig({ time: { source: 'gpsd', gpsd: { host: '127.0.0.1', port } } }).config!.time, { logger: silent });
  t.ok(gpsd.client instanceof GpsdClient);
  await once(gpsd.client!, 'version');
  t.equal(gpsd.health.source, 'gpsd');
  await gpsd.close();

  const dir = mkdtempSync(join(tmpdir(), 'rsu-time-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gps.nmea');
  writeFileSync(file, `${withChecksum('GNRMC,120000.00,A,4814.970,N,01138.334,E,0.02,,010624,,,A')}\r\n`);
  const nmea = startTimeSource(validateConfig({ time: { source: 'nmea', nmea: { device: file, baud: 115200 } } }).config!.time, { logger: silent });
  t.ok(nmea.client instanceof NmeaSource);
  await once(nmea.client!, 'end');
  t.equal(nmea.health.snapshot().fix, '2d');
  t.equal(nmea.health.clockTrusted(), false, 'a 2024 sentence: the clock is known to be off');
  await nmea.close();
});
