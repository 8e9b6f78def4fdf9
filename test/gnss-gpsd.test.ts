// The gpsd client against a fake gpsd on 127.0.0.1 that replays report lines in gpsd's own format (3.2x:
// VERSION, DEVICES, WATCH, TPV, SKY, TOFF, PPS), including a pre-3.4 TPV with a numeric time.

import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { GpsdClient, TimeHealth, type ClockStatus } from '../hw/gnss/index.js';

const silent = pino({ level: 'silent' });
const iso = (ms: number) => new Date(ms).toISOString();

const VERSION = '{"class":"VERSION","release":"3.25","rev":"3.25","proto_major":3,"proto_minor":15}';
const DEVICES =
  '{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyACM0","driver":"u-blox","subtype":"SW ROM CORE 3.01 (107888),HW 00080000","subtype1":"FWVER=SPG 3.01,PROTVER=18.00,GPS;GLO;GAL;BDS","activated":"2024-06-01T12:00:00.512Z","flags":1,"native":1,"bps":9600,"parity":"N","stopbits":1,"cycle":1.00,"mincycle":0.25}]}';
const WATCH = '{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,"timing":false,"split24":false,"pps":true}';
const tpv = (timeMs: number, mode = 3) =>
  `{"class":"TPV","device":"/dev/ttyACM0","status":2,"mode":${mode},"time":"${iso(timeMs)}","leapseconds":18,"ept":0.005,"lat":48.249581303,"lon":11.638897422,"altHAE":574.1290,"altMSL":526.9710,"alt":526.9710,"epx":1.874,"epy":2.113,"epv":4.872,"track":182.5102,"magtrack":185.6218,"magvar":3.1,"speed":0.021,"climb":-0.012,"eps":0.46,"epc":9.74,"geoidSep":47.158,"eph":2.710,"sep":5.562}`;
const SKY =
  '{"class":"SKY","device":"/dev/ttyACM0","xdop":0.61,"ydop":0.74,"vdop":1.21,"tdop":0.83,"hdop":0.96,"gdop":1.83,"pdop":1.54,"nSat":18,"uSat":9,"satellites":[{"PRN":2,"el":41.0,"az":295.0,"ss":33.0,"used":true,"gnssid":0,"svid":2,"health":1},{"PRN":5,"el":12.0,"az":42.0,"ss":19.0,"used":false,"gnssid":0,"svid":5,"health":1}]}';
const SKY_DOP_ONLY = '{"class":"SKY","device":"/dev/ttyACM0","hdop":0.97}';
const toff = (gnssMs: number, systemMs: number, cls: 'TOFF' | 'PPS') => {
  const sec = (ms: number) => Math.floor(ms / 1000);
  const nsec = (ms: number) => Math.round((ms - sec(ms) * 1000) * 1e6);
  return `{"class":"${cls}","device":"/dev/ttyACM0","real_sec":${sec(gnssMs)},"real_nsec":${nsec(gnssMs)},"clock_sec":${sec(systemMs)},"clock_nsec":${nsec(systemMs)},"precision":${cls === 'PPS' ? -20 : -2}${cls === 'PPS' ? ',"qErr":-1432' : ''}}`;
};

interface FakeGpsd {
  server: Server;
  port: number;
  clients: Socket[];
  commands: string[];
  /** Resolves with the next client that has sent ?WATCH. */
  nextWatcher(): Promise<Socket>;
}

async function fakeGpsd(t: Test, port = 0): Promise<FakeGpsd> {
  const clients: Socket[] = [];
  const commands: string[] = [];
  const waiting: Array<(s: Socket) => void> = [];
  const server = createServer((sock) => {
    clients.push(sock);
    sock.on('error', () => {});
    sock.write(`${VERSION}\n`);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        commands.push(cmd);
        if (cmd.startsWith('?WATCH=')) {
          sock.write(`${DEVICES}\n${WATCH}\n`);
          waiting.shift()?.(sock);
        }
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(async () => {
    for (const c of clients) c.destroy();
    await new Promise((r) => server.close(r));
  });
  return { server, port: (server.address() as { port: number }).port, clients, commands, nextWatcher: () => new Promise((r) => waiting.push(r)) };
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('WATCH, reports, fix, satellites and the PPS offset', async (t) => {
  const gpsd = await fakeGpsd(t);
  const health = new TimeHealth({ source: 'gpsd', maxOffsetMs: 100 });
  const client = new GpsdClient({ host: '127.0.0.1', port: gpsd.port, health, logger: silent });
  t.teardown(() => client.close());
  const watcherP = gpsd.nextWatcher();
  client.start();
  const sock = await watcherP;
  t.match(gpsd.commands[0], /^\?WATCH=\{.*"enable":true.*"json":true.*"pps":true.*\};$/);
  const now = Date.now();
  // TPV of the current second (the system clock 60 ms ahead of it), a line split in two writes, garbage.
  const line = tpv(now - 60);
  sock.write(`${line.slice(0, 50)}`);
  await new Promise((r) => setTimeout(r, 10));
  sock.write(`${line.slice(50)}\n${SKY}\n${SKY_DOP_ONLY}\nthis is not json\n`);
  await waitFor(() => client.stats.sky === 2, 'the SKY reports');
  let snap = health.snapshot();
  t.equal(snap.connected, true);
  t.equal(snap.fix, '3d');
  t.match(snap.position, { lat: 48.249581303, lon: 11.638897422, altM: 526.971, hAccM: 2.71, courseDeg: 182.5102 });
  t.same(snap.satellites, { visible: 18, used: 9 }, 'a DOP-only SKY does not erase the satellites');
  t.equal(snap.offsetMethod, 'tpv');
  t.ok(snap.offsetMs! >= 60 && snap.offsetMs! < 60 + 1000, `TPV offset ${snap.offsetMs} ms: 60 ms plus transit`);
  t.equal(client.stats.badLines, 1);
  t.equal(client.version?.release, '3.25');
  t.same(client.devices, ['/dev/ttyACM0']);

  // TOFF and PPS: exact samples; PPS is preferred.
  sock.write(`${toff(now - 1000, now - 1000 + 112.5, 'TOFF')}\n${toff(now, now + 2.25, 'PPS')}\n`);
  await waitFor(() => client.stats.pps === 1, 'the PPS report');
  snap = health.snapshot();
  t.equal(snap.offsetMethod, 'pps');
  t.ok(Math.abs(snap.offsetMs! - 2.25) < 1e-6, `PPS offset ${snap.offsetMs}`);
  t.equal(client.stats.toff, 1);
  t.equal(health.clockTrusted(), true);
  t.equal(health.clockTrusted(1), false, 'a tighter bound');
});

t.test('the clock alarm: raised while the clock is known off, cleared when back', async (t) => {
  const gpsd = await fakeGpsd(t);
  const health = new TimeHealth({ source: 'gpsd', maxOffsetMs: 100 });
  const events: Array<[string, ClockStatus]> = [];
  health.on('alarm', (s: ClockStatus) => events.push(['alarm', s]));
  health.on('clear', (s: ClockStatus) => events.push(['clear', s]));
  const client = new GpsdClient({ host: '127.0.0.1', port: gpsd.port, health, logger: silent });
  t.teardown(() => client.close());
  const watcherP = gpsd.nextWatcher();
  client.start();
  const sock = await watcherP;
  t.equal(health.clockTrusted(), true, 'unknown offset: trusted');
  const now = Date.now();
  sock.write(`${tpv(now - 750)}\n`); // system clock 750 ms ahead of GNSS
  await waitFor(() => events.length === 1, 'the alarm');
  t.equal(events[0]![0], 'alarm');
  t.equal(events[0]![1].trusted, false);
  t.match(events[0]![1].reason, /system clock ahead of GNSS by 7\d\d\.\d ms \(tpv\), bound 100 ms/);
  t.equal(health.clockTrusted(), false);
  sock.write(`${tpv(now - 700)}\n`); // still off: no second alarm
  sock.write(`${toff(now, now - 3, 'PPS')}\n`); // PPS: 3 ms behind
  await waitFor(() => events.length === 2, 'the clear');
  t.equal(events[1]![0], 'clear');
  t.equal(health.clockTrusted(), true);
  t.equal(health.snapshot().offsetMs, -3);
});

t.test('no fix: no position and no time sample; protocol 3.1 numeric times', async (t) => {
  const health = new TimeHealth({ source: 'gpsd', maxOffsetMs: 100 });
  const client = new GpsdClient({ host: '127.0.0.1', port: 1, health, logger: silent });
  const now = Date.now();
  client.handleLine('{"class":"TPV","device":"/dev/ttyACM0","mode":1,"time":"2024-06-01T12:00:00.000Z"}', now);
  t.equal(health.snapshot().fix, 'none');
  t.equal(health.snapshot().position, null);
  t.equal(health.offset(), null);
  client.handleLine(`{"class":"TPV","tag":"MID2","device":"/dev/ttyUSB0","time":${(now - 40) / 1000},"ept":0.005,"lat":38.88945123,"lon":-77.03522143,"track":171.7249,"speed":0.467,"mode":2}`, now);
  t.equal(health.snapshot().fix, '2d');
  t.ok(Math.abs(health.offset()!.offsetMs - 40) < 1e-6);
  client.handleLine(`{"class":"TPV","device":"/dev/ttyACM0","mode":3,"time":"${iso(now - 20).replace('Z', '123456Z')}"}`, now);
  t.ok(Math.abs(health.offset()!.offsetMs - 20) < 1e-6, 'nanosecond ISO times');
  t.equal(client.stats.badLines, 0);
  client.handleLine('[1,2,3]', now);
  client.handleLine('{"class":"ERROR","message":"Unrecognized request \'FOO\'"}', now);
  t.equal(client.stats.badLines, 1);
});

t.test('reconnects after gpsd drops the connection, and when gpsd comes up late', async (t) => {
  // A port with nothing listening yet.
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));

  const health = new TimeHealth({ source: 'gpsd', maxOffsetMs: 100 });
  const client = new GpsdClient({ host: '127.0.0.1', port, health, logger: silent, reconnectMinMs: 20, reconnectMaxMs: 80 });
  t.teardown(() => client.close());
  client.start();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(health.snapshot().connected, false, 'gpsd not there');
  t.equal(client.stats.connects, 0);

  const gpsd = await fakeGpsd(t, port);
  const first = await gpsd.nextWatcher();
  t.equal(client.stats.connects, 1);
  t.equal(health.snapshot().connected, true);
  const second = gpsd.nextWatcher();
  first.destroy(); // gpsd restarts, or the connection breaks
  await second;
  t.equal(client.stats.connects, 2);
  t.equal(gpsd.commands.filter((c) => c.startsWith('?WATCH=')).length, 2, 'WATCH sent again');
  await client.close();
  t.equal(health.snapshot().connected, false);
});
