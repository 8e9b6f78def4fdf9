// Downlinks from the cloud: config/down changes only what may change at run time, and a bad message is
// rejected with a reason on ack/up and changes nothing; rsi/down events are broadcast until they expire.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startEmbeddedBroker } from '../runtime/broker.js';
import { defaultConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { parseConfigDownlink } from '../runtime/downlinks.js';
import { decodeDownlinkAck, encodeDownlink } from '../runtime/uplink/index.js';

const j = (o: unknown) => Buffer.from(JSON.stringify(o));

t.test('config/down payloads', async (t) => {
  t.same(parseConfigDownlink(j({ applications: { rsm: { enabled: false } } })), { ok: true, value: { enabled: { rsm: false } } });
  t.same(parseConfigDownlink(j({ logging: { level: 'debug' } })), { ok: true, value: { logLevel: 'debug' } });
  const reason = (o: unknown) => (parseConfigDownlink(j(o)) as { reason: string }).reason;
  t.match(reason({ radio: { mode: 'off' } }), /radio cannot be changed remotely \(allowed: logging\.level/);
  t.match(reason({ applications: { spat: { phases: [] } } }), /applications\.spat\.phases cannot be changed remotely/);
  t.match(reason({ logging: { level: 'loud' } }), /logging\.level/);
  t.match(reason({ applications: { rsi: { events: [{ id: 999 }] } } }), /applications\.rsi\.events\[0\]/);
  t.match(reason({}), /changes nothing/);
  t.match((parseConfigDownlink(Buffer.from('nope')) as { reason: string }).reason, /not JSON/);
});

t.test('over MQTT: a good change applies, a bad one is rejected with its reason and changes nothing', async (t) => {
  const broker = await startEmbeddedBroker('127.0.0.1', 0);
  t.teardown(() => broker.close());
  const spool = mkdtempSync(join(tmpdir(), 'rsu-dl-'));
  t.teardown(() => rmSync(spool, { recursive: true, force: true }));
  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.rsu.id = 'DL01';
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.radio.mode = 'off';
  cfg.radio.receive.listen = '127.0.0.1:0'; // no radio receiver
  cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url: broker.url, embeddedBroker: false, version: '3.1.1' };
  cfg.uplink.spool.dir = spool;
  cfg.metrics.port = 0;
  cfg.logging.level = 'silent';
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());

  const cloud = mqtt.connect(broker.url);
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
