// The live view's data: signal states and countdowns from the SPATs the daemon sends (CSAE and J2735 shapes),
// road users from its RSMs, events from its RSIs/TIMs (what they mean, the stretch of lane they apply to, a sign's
// text once), the health panels from the daemon's status (issue 16); and the server's access control.
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildPsm, psmTemporaryId } from '../runtime/apps/psm.js';
import { buildRsi } from '../runtime/apps/rsi.js';
import { buildRsm, ParticipantIds } from '../runtime/apps/rsm.js';
import { FixedTimePlan } from '../runtime/apps/signal-plan.js';
import { buildSpat } from '../runtime/apps/spat.js';
import { defaultConfig } from '../runtime/config/index.js';
import type { DaemonStatus } from '../runtime/daemon.js';
import { EnuFrame, demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import type { TailEvent } from '../runtime/status.js';
import { hostAllowed, serveView } from '../runtime/view/server.js';
import { healthOf, joinTexts, markToRelMs, parsePsm, parseRsi, parseRsm, parseSpat, signalsAt, viewMapOf, ViewState } from '../runtime/view/state.js';

const cfg = defaultConfig({ onWarning: () => {} });
const ref = cfg.rsu.reference;
const plan = () => new FixedTimePlan(cfg.applications.spat.phases);
const intersection = cfg.applications.spat.intersection;

t.test('SPaT: CSAE TimeCountingDown and J2735 TimeMark give the same lights and countdowns', async (t) => {
  // 2026-03-01 10:59:50 UTC: the J2735 TimeMarks cross the hour within the windows.
  for (const at of [Date.UTC(2026, 2, 1, 10, 0, 7, 300), Date.UTC(2026, 2, 1, 10, 59, 50, 0)]) {
    const snap = plan().snapshot(at);
    for (const std of ['csae2020', 'csae2019', 'j2735-2020'] as const) {
      const groups = parseSpat(buildSpat(snap, { std, msgCnt: 1, intersection }), at, intersection.id)!;
      t.ok(groups, std);
      const sig = signalsAt(groups, at, at + 250);
      t.equal(sig.length, snap.phases.length, `${std}: one signal per phase`);
      for (const p of snap.phases) {
        const s = sig.find((x) => x.group === p.id)!;
        t.equal(s.colour, p.light, `${std} phase ${p.id}: ${p.light}`);
        const want = Math.round((p.windows[0]!.endInMs - 250) / 100) / 10;
        t.ok(Math.abs(s.remainingS! - want) <= 0.11, `${std} phase ${p.id}: ${s.remainingS} s left, want ${want}`);
        t.equal(s.next?.colour, p.windows[1]!.light, `${std} phase ${p.id}: next ${p.windows[1]!.light}`);
      }
    }
  }
});

t.test('SPaT: a window that ends between messages hands over to the next one', async (t) => {
  const at = Date.UTC(2026, 2, 1, 10, 0, 24, 0); // phase 1 green until 25 s
  const groups = parseSpat(buildSpat(plan().snapshot(at), { std: 'csae2020', msgCnt: 1, intersection }), at)!;
  const s = signalsAt(groups, at, at + 1500).find((x) => x.group === 1)!;
  t.equal(s.colour, 'yellow');
  t.ok(s.remainingS! > 2 && s.remainingS! <= 2.5, `yellow ${s.remainingS} s left`);
});

t.test('SPaT: flashing, dark and unknown states; TimeMarks across the hour', async (t) => {
  const frame = {
    spatFrame: {
      intersections: [
        {
          intersectionId: { id: 7 },
          phases: [
            { id: 3, phaseStates: [{ light: 'flashing-yellow' }] },
            { id: 4, phaseStates: [{ light: 'dark' }] },
            { id: 5, phaseStates: [{ light: 'red', timing: { utcTiming: { startUTCTime: 35990, likelyEndUTCTime: 50 } } }] },
          ],
        },
      ],
    },
  };
  const at = Date.UTC(2026, 0, 1, 11, 59, 59, 0); // tenths of the hour: 35990
  const sig = signalsAt(parseSpat(frame, at, 7)!, at, at);
  t.match(sig, [
    { group: 3, colour: 'yellow', flashing: true, remainingS: null },
    { group: 4, colour: 'dark' },
    { group: 5, colour: 'red', remainingS: 6 },
  ]);
  t.equal(markToRelMs(10, Date.UTC(2026, 0, 1, 11, 59, 59, 500)), 1500);
  t.equal(parseSpat({ bsmFrame: {} }, at), undefined, 'not a SPAT');
  t.same(parseSpat({ spatFrame: { intersections: [] } }, at), []);
});

t.test('RSM participants come back at their ENU positions, ids, classes and headings', async (t) => {
  const enu = new EnuFrame(ref);
  const at = Date.now();
  const tracks = [
    { id: 9, classification: 'car', x: 10, y: -20, heading: 93.5 },
    { id: 12, classification: 'pedestrian', x: -3, y: 11, heading: 270 },
    { id: 14, classification: 'bicycle', x: 150, y: 40, heading: 0 },
    { id: 15, classification: 'bus', x: -40, y: 2, heading: 181 },
  ].map((o) => {
    const g = enu.toGeo(o.x, o.y, 0);
    return { id: o.id, classification: o.classification, lat: g.lat, lon: g.lon, elevation: g.elevation, speed: 5, headingDeg: o.heading, size: { length: 4.5, width: 1.8, height: 1.5 }, posStdM: 0.3, sources: ['lidar'] };
  });
  const [frame] = buildRsm(tracks, at, { std: 'csae2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0, maxParticipants: 16, ids: new ParticipantIds() });
  const got = parseRsm(frame, enu)!;
  t.equal(got.length, 4);
  t.same(got.map((g) => g.cls), ['car', 'pedestrian', 'bicycle', 'bus']);
  t.same(new Set(got.map((g) => g.id)).size, 4, 'distinct participant ids');
  const want = [[10, -20, 93.5], [-3, 11, 270], [150, 40, 0], [-40, 2, 181]];
  got.forEach((g, i) => {
    t.ok(Math.hypot(g.x - want[i]![0]!, g.y - want[i]![1]!) < 0.05, `participant ${i} at ${g.x}, ${g.y}`);
    t.equal(g.headingDeg, want[i]![2]);
    t.equal(g.lengthM, 4.5);
  });
  t.equal(parseRsm({ spatFrame: {} }, enu), undefined);
});

t.test('J2735 PSM: a pedestrian at its position', async (t) => {
  const enu = new EnuFrame(ref);
  const g = enu.toGeo(-6, 12, 0);
  const track = { id: 3, classification: 'pedestrian', lat: g.lat, lon: g.lon, elevation: ref.elevation, speed: 1.4, headingDeg: 90, size: { length: 0.5, width: 0.5, height: 1.7 }, posStdM: 0.3, sources: ['lidar'] };
  const psm = buildPsm(track, Date.now(), 0, '0000000000000001');
  const [p] = parsePsm(psm, enu)!;
  t.match(p, { id: parseInt(psmTemporaryId('0000000000000001', 3), 16), cls: 'pedestrian', headingDeg: 90 });
  t.ok(Math.hypot(p!.x + 6, p!.y - 12) < 0.05);
  t.ok(Math.abs(p!.speedMs! - 1.4) < 1e-9);
  t.equal(parsePsm({ messageId: 19, value: {} }, enu), undefined);
});

t.test('RSI (CSAE) and TIM (J2735) events at their positions', async (t) => {
  const enu = new EnuFrame(ref);
  const g = enu.toGeo(25, -8, 0);
  const ev = { id: 5, type: 401, description: 'road works', lat: g.lat, lon: g.lon, radiusM: 30, priority: 3 };
  const [rsi] = buildRsi([ev], Date.now(), { std: 'csae2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 });
  const a = parseRsi(rsi, enu)!;
  t.match(a, [{ kind: 'event', id: 5, type: 401, radiusM: 30, description: 'road works', priority: 3 }]);
  t.ok(Math.hypot(a[0]!.x - 25, a[0]!.y + 8) < 0.05);
  const [tim] = buildRsi([{ ...ev, type: 1025 }], Date.now(), { std: 'j2735-2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 });
  const b = parseRsi(tim, enu)!;
  t.match(b, [{ kind: 'event', id: 5, type: 1025, radiusM: 30, description: 'road works', priority: 3 }]);
  t.ok(Math.hypot(b[0]!.x - 25, b[0]!.y + 8) < 0.05);
});

const count = (s: string | undefined, what: string) => (s ?? '').split(what).length - 1;

t.test('a speed-limit sign whose description states the limit carries it once (issue 16: it appeared twice)', async (t) => {
  const enu = new EnuFrame(ref);
  // The demo's sign, as configured there.
  const sign = { id: 1, kind: 'speed-limit' as const, speedLimitKmh: 50, lat: ref.lat + 0.0006, lon: ref.lon, radiusM: 80, priority: 3, description: 'speed limit 50 km/h' };
  for (const std of ['csae2020', 'csae2019', 'j2735-2020'] as const) {
    const frames = buildRsi([], Date.now(), { std, rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 }, [sign]);
    const [s] = frames.flatMap((f) => parseRsi(f, enu) ?? []);
    t.equal(s?.kind, 'sign', `${std}: a sign`);
    t.equal(count(s?.description, 'speed limit 50 km/h'), 1, `${std}: "${s?.description}" states it once`);
    t.equal(s?.what, 'speed-limit', `${std}: its code read as a speed limit`);
    t.equal(s?.speedLimitKmh, 50, `${std}: the limit for the sign's face`);
  }
  // Without a description the limit is still said (once).
  const [bare] = buildRsi([], Date.now(), { std: 'csae2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 }, [{ ...sign, description: undefined }]);
  t.equal(parseRsi(bare, enu)![0]!.description, 'speed limit 50 km/h');
  t.equal(joinTexts(['50 km/h', 'speed limit 50', 'km/h']), 'speed limit 50 km/h', 'TIM: the limit item and the description split into phrases');
  t.equal(joinTexts(['road works on the', 'south-east corner']), 'road works on the south-east corner');
});

t.test('a queue comes back as the stretch of lane it covers, not as its radius (issue 16: 38 m discs)', async (t) => {
  const enu = new EnuFrame(ref);
  const g = (x: number, y: number) => {
    const q = enu.toGeo(x, y, 0);
    return { lat: q.lat, lon: q.lon };
  };
  // As the detector sends it (events/detector.ts rsiEvents): centroid, radius around the queue, the lane stretch.
  const queue = { id: 40, type: 707, description: 'queue of 38 m (6 vehicles) on approach 3, congestion level 1', ...g(1.6, -33.5), radiusM: 38, priority: 4, source: 'detection' as const, referencePaths: [{ points: [g(1.6, -52.5), g(1.6, -14.5)], radiusM: 1.625 }] };
  const [rsi] = buildRsi([queue], Date.now(), { std: 'csae2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 });
  const [a] = parseRsi(rsi, enu)!;
  t.match(a, { kind: 'event', id: 40, type: 707, what: 'queue', radiusM: 38 });
  t.equal(a!.paths.length, 1, 'one reference path');
  const p = a!.paths[0]!;
  t.ok(Math.hypot(p.points[0]![0] - 1.6, p.points[0]![1] + 52.5) < 0.05 && Math.hypot(p.points[1]![0] - 1.6, p.points[1]![1] + 14.5) < 0.05, `along the lane: ${JSON.stringify(p.points)}`);
  t.equal(p.halfWidthM, 1.6, 'half a lane wide (pathRadius, 0.1 m)');
  // TIM: the path region (anchor, node-LL steps, laneWidth in cm).
  const [tim] = buildRsi([{ ...queue, type: 1025 }], Date.now(), { std: 'j2735-2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 });
  const [b] = parseRsi(tim, enu)!;
  t.equal(b!.kind, 'event');
  t.equal(b!.paths.length, 1);
  t.ok(Math.hypot(b!.paths[0]!.points[1]![0] - 1.6, b!.paths[0]!.points[1]![1] + 14.5) < 0.05, 'TIM path end');
  t.equal(b!.paths[0]!.halfWidthM, 1.625);
  // An event with no path keeps only its position and radius.
  const [plain] = buildRsi([{ ...queue, referencePaths: undefined }], Date.now(), { std: 'csae2020', rsuIdHex: '0000000000000001', ref, nextMsgCnt: () => 0 });
  t.same(parseRsi(plain, enu)![0]!.paths, []);
});

/** A status as the daemon reports it with the demo running: camera_north's detections all dropped (issue 16). */
const demoStatus = (over: Record<string, unknown> = {}) => ({
  rsuId: 'R1',
  messageSet: 'csae2020',
  uptimeS: 30,
  time: { source: 'gpsd', connected: true, offsetMs: 2.5, offsetMethod: 'pps', offsetAgeMs: 300, fix: '3d', position: null, satellites: { visible: 11, used: 8 }, lastMessageAgeMs: 400, clock: { trusted: true, known: true, offsetMs: 2.5, boundMs: 100, reason: 'within the bound' } },
  sensors: {
    sensors: {
      camera_north: { kind: 'camera', frames: 300, frameRateHz: 15, lastFrameAgeMs: 40 },
      lidar_north: { kind: 'lidar', frames: 200, frameRateHz: 10, lastFrameAgeMs: 60 },
      radar_east: { kind: 'radar', frames: 0, frameRateHz: 0, lastFrameAgeMs: null },
    },
  },
  sensorHealth: {
    camera_north: { healthy: false, detections: 23, droppedPct: 100, mainReason: 'above_horizon' },
    lidar_north: { healthy: true, detections: 2106, droppedPct: 0 },
    radar_east: { healthy: true, detections: 0, droppedPct: 0 },
  },
  uplink: {
    links: [
      { link: 'mqtt', state: 'up', connected: true, sinceMs: 1000, backlog: 0, oldestUndeliveredS: null, deliveredPerS: 11.8, delivered: {}, errors: 0, lastError: '' },
      { link: 'kafka', state: 'reconnecting', connected: false, sinceMs: 2000, backlog: 512, oldestUndeliveredS: 131.4, deliveredPerS: 0, delivered: {}, errors: 9, lastError: 'connect ECONNREFUSED 127.0.0.1:9092' },
    ],
  },
  messages: { radioTxPerS: {}, radioRxPerS: {}, uplinkPerS: {} },
  alarms: [],
  recentErrors: [],
  ...over,
});

t.test('health panels from the status: a sensor with every detection dropped is unhealthy, links, time', async (t) => {
  const h = healthOf(demoStatus());
  t.same(h.notReported, [], 'everything reported');
  t.match(h.sensors.find((s) => s.id === 'camera_north'), { state: 'unhealthy', droppedPct: 100, detections: 23, mainReason: 'above_horizon', lastFrameAgeMs: 40 }, 'camera_north: frames arrive, yet unhealthy');
  t.match(h.sensors.find((s) => s.id === 'lidar_north'), { state: 'ok' });
  t.match(h.sensors.find((s) => s.id === 'radar_east'), { state: 'silent', lastFrameAgeMs: null }, 'no frame yet: silent');
  t.match(h.time, { source: 'gpsd', connected: true, trusted: true, offsetMs: 2.5, boundMs: 100, fix: '3d', satellites: { visible: 11, used: 8 } });
  t.match(h.uplink, [
    { link: 'mqtt', connected: true, backlog: 0, oldestUndeliveredS: null, deliveredPerS: 11.8 },
    { link: 'kafka', connected: false, state: 'reconnecting', backlog: 512, oldestUndeliveredS: 131.4, errors: 9, lastError: 'connect ECONNREFUSED 127.0.0.1:9092' },
  ]);
  t.equal(h.signing, undefined, 'no signing panel: the status says nothing about signing');
  t.notOk('signing' in h, 'omitted, not invented');
});

t.test('health panels: signing when the status reports it; what an older daemon does not report', async (t) => {
  t.same(healthOf(demoStatus({ security: { signing: false } })).signing, { state: 'off' }, 'signing: off');
  const on = healthOf(demoStatus({ security: { signing: true, certificate: { usable: false, daysToExpiry: -2, hashedId8: '0011223344556677', problems: [{ code: 'expired', message: 'the certificate expired on 2026-12-04' }] } } }));
  t.same(on.signing, { state: 'on', certificate: { usable: false, daysToExpiry: -2, validUntilMs: undefined, hashedId8: '0011223344556677', problems: ['the certificate expired on 2026-12-04'] } });
  const old = healthOf({ rsuId: 'R1', messageSet: 'csae2020', uptimeS: 3, uplink: { submitted: 3 } });
  t.same(old.notReported, ['sensor frames', 'sensor health', 'time source', 'uplink links'], 'named, not guessed');
  t.same(old.sensors, []);
  t.equal(old.uplink, undefined);
  t.same(healthOf({ time: { source: 'system', connected: true, offsetMs: null, clock: { trusted: true } } }).uplink, [], 'no uplink section: the daemon runs without one');
  t.same(healthOf('nonsense').notReported, ['sensor frames', 'sensor health', 'time source'], 'not even an object: nothing invented');
  t.match(healthOf(demoStatus({ time: { source: 'nmea', connected: false, offsetMs: 850, clock: { trusted: false, boundMs: 100, reason: 'offset 850 ms beyond 100 ms' } } })).time, { connected: false, trusted: false, offsetMs: 850, reason: 'offset 850 ms beyond 100 ms' });
});

t.test('ViewState: road users and events expire when the daemon stops sending them', async (t) => {
  const s = new ViewState({ reference: ref, trackTtlMs: 300, eventTtlMs: 1000, spatTtlMs: 1000 });
  const enu = new EnuFrame(ref);
  const g = enu.toGeo(1, 2, 0);
  const [rsm] = buildRsm([{ id: 1, classification: 'car', lat: g.lat, lon: g.lon, elevation: ref.elevation, speed: 1, headingDeg: 0, size: { length: 4, width: 2, height: 1.5 }, posStdM: 0.2, sources: ['lidar'] }], 1000, {
    std: 'csae2020',
    rsuIdHex: '0000000000000001',
    ref,
    nextMsgCnt: () => 0,
    maxParticipants: 16,
    ids: new ParticipantIds(),
  });
  const at = Date.UTC(2026, 0, 1, 0, 0, 1);
  s.onTail({ dir: 'tx', type: 'rsm', atMs: at, value: rsm }, 1000);
  s.onTail({ dir: 'rx', type: 'rsm', atMs: at, value: rsm }, 1000);
  s.onTail({ dir: 'tx', type: 'spat', atMs: at, value: buildSpat(plan().snapshot(at), { std: 'csae2020', msgCnt: 0, intersection }) }, 1000);
  t.equal(s.currentTracks(1200).length, 1);
  t.equal(s.currentTracks(1400).length, 0, 'gone after the TTL');
  t.equal(s.signals(1500).signals[0]!.colour, 'green');
  t.equal(s.signals(2500).signals[0]!.colour, 'unknown', 'a SPAT that stopped shows no lights');
});

t.test('the demo map as the page draws it', async (t) => {
  const m = viewMapOf(loadLaneMap(demoLaneMapPath()));
  t.equal(m.intersectionId, 110);
  t.same(m.lanes.find((l) => l.laneId === 11)!.signalGroups, [1]);
  t.same(m.lanes.find((l) => l.laneId === 19)!.signalGroups, [2], 'crosswalk: its pedestrian signal group');
  t.same(m.lanes.find((l) => l.laneId === 15)!.signalGroups, [], 'egress lanes have none');
});

t.test('Host header check', async (t) => {
  t.ok(hostAllowed('127.0.0.1:8080', 8080));
  t.ok(hostAllowed('localhost:8080', 8080));
  t.ok(hostAllowed('[::1]:8080', 8080));
  t.ok(hostAllowed('LOCALHOST:8080', 8080));
  t.notOk(hostAllowed('127.0.0.1:8081', 8080), 'another port');
  t.notOk(hostAllowed('evil.example:8080', 8080), 'DNS rebinding');
  t.notOk(hostAllowed('127.0.0.1.evil.example:8080', 8080));
  t.notOk(hostAllowed(undefined, 8080));
  t.notOk(hostAllowed('127.0.0.1', 8080), 'port 80 implied');
});

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('server: token, Host, the URL file; the stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-view-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = defaultConfig({ onWarning: () => {} });
  c.applications.map.file = demoLaneMapPath();
  const tails = new Set<(e: TailEvent) => void>();
  const status = { rsuId: 'R1', messageSet: 'csae2020', uptimeS: 3, perception: { mode: 'plain', confirmedTracks: 0 }, messages: { radioTxPerS: { spat: 10 }, radioRxPerS: {}, uplinkPerS: {} }, alarms: ['clock offset beyond the bound'], recentErrors: [] } as unknown as DaemonStatus;
  const src = { config: c, status: () => status, onTail: (fn: (e: TailEvent) => void) => (tails.add(fn), () => tails.delete(fn)) };
  const urlFile = join(dir, 'sub', 'view.url');
  writeFileSync(join(dir, 'x'), '');
  const v = await serveView(src, { urlFile, rateHz: 10 });
  let closed = false;
  t.teardown(() => (closed ? undefined : v.close()));
  t.equal(tails.size, 1, 'subscribed to the tail');
  t.match(v.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  t.equal(readFileSync(urlFile, 'utf8').trim(), v.url);
  t.equal(statSync(urlFile).mode & 0o777, 0o600, 'URL file 0600');
  t.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700, 'its directory 0700');

  const tok = `token=${v.token}`;
  t.equal((await get(v.port, '/')).status, 403, 'no token');
  t.equal((await get(v.port, '/state')).status, 403, 'no token');
  t.equal((await get(v.port, '/events')).status, 403, 'no token');
  const wrong = v.token.slice(0, -1) + (v.token.endsWith('A') ? 'B' : 'A'); // differs in the last character, always
  t.equal((await get(v.port, `/?token=${wrong}`)).status, 403, 'wrong token');
  t.equal((await get(v.port, `/?token=${v.token}x`)).status, 403, 'longer token');
  t.equal((await get(v.port, `/?${tok}`, `evil.example:${v.port}`)).status, 403, 'foreign Host with the token');
  t.equal((await get(v.port, `/nothing?${tok}`)).status, 404);
  const page = await get(v.port, `/?${tok}`, `localhost:${v.port}`);
  t.equal(page.status, 200);
  t.match(page.body, /<svg id="map"/);
  t.match(String(page.headers['content-security-policy']), /script-src 'sha256-[^']+'; style-src 'sha256-/);
  const st = JSON.parse((await get(v.port, `/state?${tok}`)).body);
  t.equal(st.map.intersectionId, 110);
  t.equal(st.frame.rsuId, 'R1');
  t.same(st.frame.alarms, ['clock offset beyond the bound']);
  t.same(st.frame.health.notReported, ['sensor frames', 'sensor health', 'time source'], 'a status without the health parts: named as not reported');

  // The stream: the map once, then frames.
  const events = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: v.port, path: `/events?${tok}` }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
        if ((body.match(/event: frame/g) ?? []).length >= 3) {
          req.destroy();
          resolve(body);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  t.equal((events.match(/event: map/g) ?? []).length, 1, 'the map once');
  t.match(events, /event: frame\ndata: \{"atMs":/);

  await v.close();
  closed = true;
  t.equal(tails.size, 0, 'unsubscribed');
  t.notOk(existsSync(urlFile), 'URL file removed');
});
