// Downlinks from the cloud: config/down changes only what may change at run time, and a bad message is
// rejected with a reason on ack/up and changes nothing; rsi/down events are broadcast until they expire.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startEmbeddedBroker } from '../runtime/broker.js';
import { defaultConfig, loadConfig } from '../runtime/config/index.js';
import { demoLaneMapPath } from '../runtime/map/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { parseConfigDownlink, parseRsiDownlink, RsiEvents } from '../runtime/downlinks.js';
import { decodeDownlinkAck, encodeDownlink } from '../runtime/uplink/index.js';

const j = (o: unknown) => Buffer.from(JSON.stringify(o));

t.test('config/down payloads', async (t) => {
  t.same(parseConfigDownlink(j({ applications: { rsm: { enabled: false } } })), { ok: true, value: { enabled: { rsm: false } } });
  t.same(parseConfigDownlink(j({ logging: { level: 'debug' } })), { ok: true, value: { logLevel: 'debug' } });
  const reason = (o: unknown) => (parseConfigDownlink(j(o)) as { reason: string }).reason;
  t.match(reason({ radio: { mode: 'off' } }), /radio cannot be changed remotely \(allowed on this RSU: logging\.level/);
  t.match(reason({ applications: { spat: { phases: [] } } }), /applications\.spat\.phases cannot be changed remotely/);
  t.match(reason({ logging: { level: 'loud' } }), /logging\.level/);
  t.match(reason({ applications: { rsi: { events: [{ id: 999 }] } } }), /applications\.rsi\.events\[0\]/);
  t.match(reason({}), /changes nothing/);
  t.match((parseConfigDownlink(Buffer.from('nope')) as { reason: string }).reason, /not JSON/);
});

t.test('over MQTT: a good change applies, a bad one is rejected with its reason and changes nothing', async (t) => {
  const broker = await startEmbeddedBroker();
  t.teardown(() => broker.close());
  const spool = mkdtempSync(join(tmpdir(), 'rsu-dl-'));
  t.teardown(() => rmSync(spool, { recursive: true, force: true }));
  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.rsu.id = 'DL01';
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.radio.mode = 'off';
  cfg.radio.receive.listen = '127.0.0.1:0'; // no radio receiver
  // The broker is in this process (like the demo's); this site lets the cloud switch applications off too.
  cfg.uplink.mqtt = {
    ...cfg.uplink.mqtt,
    enabled: true,
    url: broker.url,
    embeddedBroker: false,
    version: '3.1.1',
    ...broker.credentials,
    downlinks: { requireVerifiedBroker: false, configKeys: ['logging.level', 'applications.spat.enabled', 'applications.rsi.events'] },
  };
  cfg.uplink.spool.dir = spool;
  cfg.metrics.port = 0;
  cfg.logging.level = 'silent';
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());

  const cloud = mqtt.connect(broker.url, broker.credentials);
  await new Promise<void>((r) => cloud.on('connect', () => cloud.subscribe('v2x/v1/rsu/DL01/ack/up', { qos: 1 }, () => r())));
  t.teardown(() => cloud.end(true));
  const acks: ReturnType<typeof decodeDownlinkAck>[] = [];
  cloud.on('message', (_topic, p) => acks.push(decodeDownlinkAck(p)));
  const send = (kind: 'config' | 'rsi', msgId: string, payload: unknown) =>
    cloud.publish(`v2x/v1/rsu/DL01/${kind}/down`, Buffer.from(encodeDownlink({ msgId, rsuId: 'DL01', issuedTimeMs: Date.now(), payload: j(payload) } as never)), { qos: 1 });
  const ackFor = async (id: string) => {
    for (let i = 0; i < 100 && !acks.some((a) => a.msgId === id); i++) await new Promise((r) => setTimeout(r, 50));
    return acks.find((a) => a.msgId === id);
  };
  await new Promise((r) => setTimeout(r, 500));

  send('config', 'bad-1', { radio: { mode: 'off' } });
  t.match(await ackFor('bad-1'), { accepted: false, reason: /radio cannot be changed remotely/ });
  t.equal(d.config.radio.mode, 'off');
  t.equal(d.config.applications.spat.enabled, true, 'nothing changed');

  send('config', 'good-1', { applications: { spat: { enabled: false } } });
  t.match(await ackFor('good-1'), { accepted: true });
  t.equal(d.config.applications.spat.enabled, false, 'SPAT switched off from the cloud');
  const before = (d.status().scheduler as { sent: Record<string, number> }).sent.spat ?? 0;
  await new Promise((r) => setTimeout(r, 500));
  t.equal((d.status().scheduler as { sent: Record<string, number> }).sent.spat ?? 0, before, 'and no SPAT goes out any more');

  send('rsi', 'ev-1', { events: [{ id: 9, type: 100, lat: cfg.rsu.reference.lat, lon: cfg.rsu.reference.lon, radiusM: 20, priority: 2, durationS: 60 }] });
  t.match(await ackFor('ev-1'), { accepted: true });
  await new Promise((r) => setTimeout(r, 1300));
  t.ok(((d.status().scheduler as { sent: Record<string, number> }).sent.rsi ?? 0) >= 1, 'the cloud-issued event is broadcast as RSI');
  send('rsi', 'ev-2', { events: [{ id: 9, type: 100, lat: 91, lon: 0, radiusM: 20, priority: 2, durationS: 60 }] });
  t.match(await ackFor('ev-2'), { accepted: false, reason: /lat: expected a number -90\.\.90/ });
});

t.test('rsi/down payloads: events and signs with times, reference paths and links; every error names its field', async (t) => {
  const ev = { id: 3, type: 707, lat: 48.1, lon: 11.6, radiusM: 30, priority: 4, durationS: 600 };
  const path = { points: [{ lat: 48.1, lon: 11.6 }, { lat: 48.101, lon: 11.6 }], radiusM: 3.5 };
  const link = { upstreamNodeId: { region: 1, id: 1761 }, downstreamNodeId: { region: 1, id: 110 }, lanes: [1, 2] };
  const sign = { id: 1, kind: 'speed-limit', speedLimitKmh: 30, lat: 48.1, lon: 11.6, priority: 6, durationS: 600 };
  const parsed = parseRsiDownlink(j({ events: [{ ...ev, source: 'police', startTime: '2026-05-04T08:00:00+08:00', endTime: '2026-05-04T10:00:00+08:00', referencePaths: [path], referenceLinks: [link] }], signs: [sign] }));
  if (!parsed.ok) throw new Error(parsed.reason);
  t.same(parsed.value.events[0], { ...ev, source: 'police', startTime: '2026-05-04T00:00:00.000Z', endTime: '2026-05-04T02:00:00.000Z', referencePaths: [path], referenceLinks: [link] }, 'times stored as UTC');
  t.same(parsed.value.signs, [{ ...sign, radiusM: 50 }], 'a sign without a radius gets 50 m (its TIM circle)');
  t.equal(parseRsiDownlink(j({ signs: [{ id: 2, kind: 'road-works', lat: 48.1, lon: 11.6, priority: 3, durationS: 60 }] })).ok, true, 'signs alone');

  const reason = (o: unknown, std?: 'j2735-2020' | 'csae2020') => (parseRsiDownlink(j(o), std) as { reason?: string }).reason;
  const cases: Array<[string, unknown, RegExp]> = [
    ['nothing', { events: [], signs: [] }, /^payload needs a non-empty "events" or "signs" array$/],
    ['event source', { events: [{ ...ev, source: 'cloud' }] }, /^events\[0\]\.source: expected one of unknown, police, government, meteorological, internet, detection, got "cloud"$/],
    ['time without zone', { events: [{ ...ev, startTime: '2026-05-04 08:00' }] }, /^events\[0\]\.startTime: expected an ISO 8601 date and time with a time zone \(e\.g\. "2026-05-04T08:00:00\+08:00"\), got "2026-05-04 08:00"$/],
    ['no such day', { events: [{ ...ev, endTime: '2026-02-30T08:00:00Z' }] }, /^events\[0\]\.endTime: expected an ISO 8601/],
    ['end before start', { events: [{ ...ev, startTime: '2026-05-04T08:00:00Z', endTime: '2026-05-04T08:00:00Z' }] }, /^events\[0\]\.endTime: expected a time after startTime \(2026-05-04T08:00:00Z\), got 2026-05-04T08:00:00Z$/],
    ['paths not a list', { events: [{ ...ev, referencePaths: path }] }, /^events\[0\]\.referencePaths: expected a list of 1\.\.8 entries, got \{/],
    ['one-point path', { events: [{ ...ev, referencePaths: [{ ...path, points: [path.points[0]] }] }] }, /^events\[0\]\.referencePaths\[0\]\.points: expected a list of 2\.\.32 entries, got 1$/],
    ['path point', { events: [{ ...ev, referencePaths: [path, { ...path, points: [path.points[0], { lat: 48.1, lon: 181 }] }] }] }, /^events\[0\]\.referencePaths\[1\]\.points\[1\]\.lon: expected a number -180\.\.180, got 181$/],
    ['path radius', { events: [{ ...ev, referencePaths: [{ points: path.points }] }] }, /^events\[0\]\.referencePaths\[0\]\.radiusM: expected a number 0\.\.6553\.5, got nothing$/],
    ['path key', { events: [{ ...ev, referencePaths: [{ ...path, width: 3 }] }] }, /^events\[0\]\.referencePaths\[0\]\.width: unknown key \(expected points, radiusM\)$/],
    ['link node', { events: [{ ...ev, referenceLinks: [{ ...link, downstreamNodeId: { id: 70000 } }] }] }, /^events\[0\]\.referenceLinks\[0\]\.downstreamNodeId\.id: expected an integer 0\.\.65535, got 70000$/],
    ['link lane', { events: [{ ...ev, referenceLinks: [{ ...link, lanes: [1, 16] }] }] }, /^events\[0\]\.referenceLinks\[0\]\.lanes\[1\]: expected a lane 1\.\.15, got 16$/],
    ['link to itself', { events: [{ ...ev, referenceLinks: [{ ...link, downstreamNodeId: link.upstreamNodeId }] }] }, /^events\[0\]\.referenceLinks\[0\]\.downstreamNodeId: the same node as upstreamNodeId/],
    ['too many links', { events: [{ ...ev, referenceLinks: Array.from({ length: 17 }, () => link) }] }, /^events\[0\]\.referenceLinks: expected a list of 1\.\.16 entries, got 17$/],
    ['sign without kind or type', { signs: [{ ...sign, kind: undefined, speedLimitKmh: undefined }] }, /^signs\[0\]\.kind: missing: a sign needs a kind \(road-works, speed-limit, school-zone\) or a type code$/],
    ['sign kind', { signs: [{ ...sign, kind: 'speedlimit' }] }, /^signs\[0\]\.kind: expected one of road-works, speed-limit, school-zone, got "speedlimit"$/],
    ['speed limit value', { signs: [{ ...sign, speedLimitKmh: undefined }] }, /^signs\[0\]\.speedLimitKmh: missing: a speed-limit sign needs the limit it shows, in km\/h$/],
    ['speed limit range', { signs: [{ ...sign, speedLimitKmh: 31.5 }] }, /^signs\[0\]\.speedLimitKmh: expected an integer 5\.\.150, got 31\.5$/],
    ['value on another sign', { signs: [{ ...sign, kind: 'school-zone' }] }, /^signs\[0\]\.speedLimitKmh: only for kind speed-limit$/],
    ['sign duration', { signs: [{ ...sign, durationS: 0 }] }, /^signs\[0\]\.durationS: expected a number 1\.\.604800, got 0$/],
    ['sign path', { signs: [{ ...sign, referencePaths: [{ ...path, radiusM: -1 }] }] }, /^signs\[0\]\.referencePaths\[0\]\.radiusM: expected a number 0\.\.6553\.5, got -1$/],
    ['too many signs', { signs: Array.from({ length: 33 }, (_, i) => ({ ...sign, id: i })) }, /^at most 32 signs per message, got 33$/],
    // Issue 12 D14: unknown keys were silently ignored (an end time that never ends the event).
    ['event key misspelt', { events: [{ ...ev, endtime: '2026-05-04T10:00:00Z' }] }, /^events\[0\]\.endtime: unknown key \(did you mean "endTime"\?\) \(expected type, source, id, /],
    ['event key misspelt 2', { events: [{ ...ev, descripton: 'ice' }] }, /^events\[0\]\.descripton: unknown key \(did you mean "description"\?\)/],
    ['sign key misspelt', { signs: [{ ...sign, speedlimit: 30 }] }, /^signs\[0\]\.speedlimit: unknown key \(did you mean "speedLimitKmh"\?\)|^signs\[0\]\.speedlimit: unknown key/],
    ['top-level key misspelt', { event: [ev] }, /^event: unknown key \(did you mean "events"\?\) \(expected events, signs\)$/],
    ['a list, not an object', [ev], /^payload must be a JSON object \{"events": \[\.\.\.\], "signs": \[\.\.\.\]\}, got a list$/],
  ];
  // __proto__ as JSON.parse makes it: an own key, refused by name (and Object.prototype untouched).
  const proto = (inner: string) => (parseRsiDownlink(Buffer.from(inner)) as { reason?: string }).reason;
  t.match(proto(`{"events":[{"__proto__":{"polluted":1},"id":3,"type":707,"lat":48.1,"lon":11.6,"radiusM":30,"priority":4,"durationS":600}]}`), /^events\[0\]\.__proto__: unknown key/);
  t.match(proto(`{"__proto__":{"polluted":1},"events":[]}`), /^__proto__: unknown key/);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted');
  for (const [name, o, re] of cases) t.match(reason(o), re, name);
  t.match(reason({ signs: [{ ...sign, kind: 'school-zone', speedLimitKmh: undefined }] }, 'j2735-2020'), /^signs\[0\]\.type: no confirmed ITIS code \(J2540\.2\) for a school-zone sign in j2735-2020/, 'J2735: a school zone needs the deployer\'s ITIS code');
  t.equal(reason({ signs: [{ ...sign, kind: 'school-zone', speedLimitKmh: undefined, type: 4242 }] }, 'j2735-2020'), undefined, 'and is taken with one');
  // Event codes: a code of the other standard is a mix-up and refused; a code the tables do not know is taken.
  t.match(reason({ events: [{ ...ev, type: 1025 }] }, 'csae2020'), /^events\[0\]\.type: unknown event code 1025 for csae2020: .*1025 is an ITIS code/, 'an ITIS code sent to a CSAE RSU');
  t.match(reason({ events: [{ ...ev, type: 707 }] }, 'j2735-2020'), /^events\[0\]\.type: unknown event code 707 for j2735-2020: .*GB\/T 29100/, 'a GB/T 29100 type sent to a J2735 RSU');
  t.equal(reason({ events: [{ ...ev, type: 707 }] }, 'csae2020'), undefined, 'GB/T 29100 707 in CSAE');
  t.equal(reason({ events: [{ ...ev, type: 999 }] }, 'csae2020'), undefined, 'a code the tables do not know is taken (the standards are not available in full)');

  // Active until they expire or end; a cloud sign replaces the configured sign with its id.
  const NOW = Date.parse('2026-05-04T00:30:00Z');
  const rsi = new RsiEvents([{ id: 1, type: 707, lat: 48, lon: 11, radiusM: 10, priority: 1, endTime: '2026-05-04T01:00:00.000Z' }], [{ id: 1, kind: 'road-works', lat: 48, lon: 11, radiusM: 50, priority: 3 }], 'csae2020');
  rsi.addFromCloud(j({ events: [{ ...ev, endTime: '2026-05-04T00:40:00Z' }], signs: [{ ...sign, id: 1 }] }), NOW);
  t.same(rsi.active(NOW).map((e) => e.id), [1, 3]);
  t.same(rsi.activeSigns(NOW).map((s) => [s.id, s.kind, s.untilMs]), [[1, 'speed-limit', NOW + 600_000]], 'the cloud sign replaces configured sign 1 and carries its expiry');
  t.same(rsi.active(NOW + 10 * 60_000).map((e) => e.id), [1], 'the cloud event is over at its endTime (before it expires)');
  t.same(rsi.active(NOW + 30 * 60_000).map((e) => e.id), [], 'the configured event is over at its endTime');
  t.same(rsi.activeSigns(NOW + 10 * 60_000).map((s) => s.kind), ['road-works'], 'the configured sign is back when the cloud one expires');
  t.throws(() => rsi.addFromCloud(j({ signs: [{ ...sign, speedLimitKmh: 500 }] }), NOW), /signs\[0\]\.speedLimitKmh/);
  // Not in force before its start: a planned closure from the cloud, a configured sign for later.
  const later = new RsiEvents([], [{ id: 5, kind: 'school-zone', lat: 48, lon: 11, radiusM: 50, priority: 3, startTime: '2026-05-04T01:00:00.000Z' }], 'csae2020');
  later.addFromCloud(j({ events: [{ ...ev, startTime: '2026-05-04T00:45:00Z', durationS: 3600 }] }), NOW);
  t.same([later.active(NOW).length, later.activeSigns(NOW).length], [0, 0], 'nothing in force yet');
  t.same([later.active(NOW + 15 * 60_000).length, later.activeSigns(NOW + 30 * 60_000).length], [1, 1], 'each from its start');
});

t.test('config/down: only the allowed keys; the change judged merged onto the running config', async (t) => {
  const reason = (o: unknown, opts: Parameters<typeof parseConfigDownlink>[2]) => (parseConfigDownlink(j(o), 'csae2020', opts) as { reason?: string; code?: string });
  const safe = { allowed: ['logging.level', 'applications.rsi.events', 'applications.rsi.signs'] as const };
  t.match(reason({ applications: { spat: { enabled: false } } }, safe), {
    code: 'not_allowed',
    reason: /^applications\.spat\.enabled may not be changed remotely on this RSU \(uplink\.mqtt\.downlinks\.configKeys allows: logging\.level, applications\.rsi\.events, applications\.rsi\.signs\)$/,
  });
  t.match(reason({ applications: { spat: { enable: false } } }, safe), { code: 'not_allowed', reason: /^applications\.spat\.enable cannot be changed remotely \(did you mean "applications\.spat\.enabled"\?\)/ });
  t.match(reason({ logging: { level: 'debug' } }, { allowed: [] }), { reason: /^logging\.level may not be changed remotely on this RSU \(uplink\.mqtt\.downlinks\.configKeys allows: nothing\)$/ });
  t.match(reason({ applications: { rsi: { events: [{ id: 1, type: 707, lat: 48, lon: 11, __proto__x: 1 }] } } }, safe), { code: 'invalid', reason: /^applications\.rsi\.events\[0\]\.__proto__x: unknown key/ });
  t.match((parseConfigDownlink(Buffer.from('{"applications":{"rsi":{"events":[{"__proto__":{"polluted":1},"id":1,"type":707,"lat":48,"lon":11}]}}}')) as { reason: string }).reason, /^applications\.rsi\.events\[0\]\.__proto__: unknown key/);
  t.match((parseConfigDownlink(Buffer.from('{"__proto__":{"applications":{"spat":{"enabled":false}}}}')) as { reason: string }).reason, /^__proto__ cannot be changed remotely/);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted');
  // Merged onto the running config: the MAP can be switched on where the running config has its lane map file.
  const running = defaultConfig({ onWarning: () => {} });
  running.applications.map = { enabled: false, intervalMs: 1000, file: demoLaneMapPath() };
  t.same(parseConfigDownlink(j({ applications: { map: { enabled: true } } }), 'csae2020', { running }), { ok: true, value: { enabled: { map: true } } });
  t.match((parseConfigDownlink(j({ applications: { map: { enabled: true } } }), 'csae2020') as { reason: string }).reason, /^applications\.map\.file: missing/, 'without a running config, the defaults have no lane map');
});

t.test('issue 12 D4: config/down on a site with its own sensors, run where the demo calibrations are not', async (t) => {
  const saved = process.env.RSU_CALIB_DIR;
  process.env.RSU_CALIB_DIR = join(tmpdir(), 'rsu-no-such-calib-dir');
  t.teardown(() => (saved === undefined ? delete process.env.RSU_CALIB_DIR : (process.env.RSU_CALIB_DIR = saved)));
  t.throws(() => defaultConfig(), /the demo sensors' calibration|calibration/, 'the demo site cannot load here (as in the Docker image, /opt)');
  const site = loadConfig(new URL('./fixtures/config/explicit-sensors.yaml', import.meta.url).pathname, { onWarning: () => {} });
  const r = parseConfigDownlink(j({ logging: { level: 'debug' }, applications: { rsi: { events: [{ id: 4, type: 707, lat: 31.23, lon: 121.47 }] } } }), site.messageSet, { running: site });
  t.match(r, { ok: true, value: { logLevel: 'debug', rsiEvents: [{ id: 4, type: 707 }] } }, 'accepted');

  // End to end: the daemon on that site config, a config/down over MQTT, accepted and applied.
  const broker = await startEmbeddedBroker();
  t.teardown(() => broker.close());
  site.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  site.radio.mode = 'off';
  site.radio.receive.listen = '127.0.0.1:0';
  site.metrics.port = 0;
  site.logging.level = 'silent';
  site.uplink.spool.dir = mkdtempSync(join(tmpdir(), 'rsu-dl-d4-'));
  t.teardown(() => rmSync(site.uplink.spool.dir, { recursive: true, force: true }));
  site.uplink.mqtt = { ...site.uplink.mqtt, enabled: true, url: broker.url, version: '3.1.1', ...broker.credentials, downlinks: { requireVerifiedBroker: false, configKeys: ['logging.level'] } };
  const d = await startDaemon({ config: site, socketPath: false });
  t.teardown(() => d.stop());
  const cloud = mqtt.connect(broker.url, broker.credentials);
  t.teardown(() => cloud.end(true));
  const pre = `v2x/v1/rsu/${site.rsu.id}`;
  const acks: ReturnType<typeof decodeDownlinkAck>[] = [];
  cloud.on('message', (_topic, p) => acks.push(decodeDownlinkAck(p)));
  await new Promise<void>((r) => cloud.on('connect', () => cloud.subscribe(`${pre}/ack/up`, { qos: 1 }, () => r())));
  await new Promise((r) => setTimeout(r, 500));
  cloud.publish(`${pre}/config/down`, Buffer.from(encodeDownlink({ msgId: 'd4', rsuId: site.rsu.id, issuedTimeMs: Date.now(), payload: j({ logging: { level: 'warn' } }) } as never)), { qos: 1 });
  for (let i = 0; i < 100 && acks.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.match(acks, [{ msgId: 'd4', accepted: true }], 'config/down accepted by the daemon of a site with its own sensors');
  t.equal(d.config.logging.level, 'warn', 'and applied');
});

t.test('config/down: applications.rsi.signs, checked against the running message set', async (t) => {
  const signs = [{ id: 1, kind: 'school-zone', lat: 48.1, lon: 11.6 }];
  const r = parseConfigDownlink(j({ applications: { rsi: { signs } } }), 'csae2020');
  t.same(r, { ok: true, value: { rsiSigns: [{ ...signs[0], radiusM: 50, priority: 3 }] } });
  t.match((parseConfigDownlink(j({ applications: { rsi: { signs } } }), 'j2735-2016') as { reason: string }).reason, /^applications\.rsi\.signs\[0\]\.type: no confirmed ITIS code \(J2540\.2\) for a school-zone sign in j2735-2016/);
  t.match((parseConfigDownlink(j({ applications: { rsi: { signs: [{ id: 1, kind: 'speed-limit', lat: 0, lon: 0 }] } } })) as { reason: string }).reason, /^applications\.rsi\.signs\[0\]\.speedLimitKmh: missing/);
});
