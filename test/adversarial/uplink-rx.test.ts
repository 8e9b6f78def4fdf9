// Issue 12 D3: a valid SPAT of another intersection (999) sent to radio.receive.listen appeared 50 times on this
// RSU's spat/up with its rsuId, indistinguishable from its own. Now what the RSU hears goes to rx/up, marked
// received, with the sender as decoded; its own topics carry only what it sends.
import { createSocket } from 'node:dgram';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../../codecs/index.js';
import { defaultConfig } from '../../runtime/config/index.js';
import { startDaemon } from '../../runtime/daemon.js';
import { decodeEnvelope, Uplink, type Envelope } from '../../runtime/uplink/index.js';
import { Mosquitto, mosquittoMissing } from '../support/mosquitto.js';
import { freeUdpPort } from '../support/ports.js';
import { tmpDir, until } from '../support/wait.js';

t.test('D3: another RSU\'s SPAT and a vehicle\'s BSM go to rx/up with their sender, never to spat/up', { timeout: 60_000 }, async (t) => {
  const missing = mosquittoMissing();
  if (missing) return t.skip(missing);
  const m = await Mosquitto.start();
  t.teardown(() => m.stop());
  const dir = tmpDir(t, 'rsu-rx-');
  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.rsu.id = 'RX01';
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.radio.mode = 'off';
  cfg.radio.receive.listen = `127.0.0.1:${await freeUdpPort()}`;
  cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url: m.url, embeddedBroker: false };
  cfg.uplink.kafka.enabled = false;
  cfg.uplink.spool.dir = path.join(dir, 'spool');
  cfg.metrics.port = 0;
  cfg.logging.level = 'silent';
  const own = cfg.applications.spat.intersection.id;

  const got: { topic: string; e: Envelope }[] = [];
  const sub = await mqtt.connectAsync(m.url);
  t.teardown(() => sub.endAsync(true));
  sub.on('message', (topic, payload) => {
    if (/\/(spat|rx|bsm)\/up$/.test(topic)) got.push({ topic, e: decodeEnvelope(payload) });
  });
  await sub.subscribeAsync('v2x/v1/rsu/RX01/+/up', { qos: 1 });

  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  const ms = (await loadMessageSet(cfg.messageSet)) as MessageSet;
  await until('an own SPAT on the uplink', () => got.some((g) => g.topic.endsWith('/spat/up')), 10_000);

  // Another RSU's SPAT: this RSU's own, with intersection 999 (region 7), byte-valid in every other respect.
  const spat = ms.decode('MessageFrame', got.find((g) => g.topic.endsWith('/spat/up'))!.e.uper) as { spatFrame: { intersections: { intersectionId: { region?: number; id: number } }[] } };
  spat.spatFrame.intersections[0]!.intersectionId = { region: 7, id: 999 };
  const foreign = ms.encode('MessageFrame', spat as never);
  const bsm = ms.encode('MessageFrame', {
    bsmFrame: { msgCnt: 1, id: 'CA7CA7CA7CA7CA7C', secMark: 0, pos: { lat: 481500000, long: 116700000 }, transmission: 'forwardGears', speed: 500, heading: 7200, accelSet: { long: 0, lat: 0, vert: 0, yaw: 0 }, brakes: {}, size: { width: 180, length: 450 }, vehicleClass: { classification: 10 } },
  } as never);
  const radio = createSocket('udp4');
  t.teardown(() => radio.close());
  const port = Number(cfg.radio.receive.listen.split(':')[1]);
  for (let i = 0; i < 50; i++) radio.send(foreign, port, '127.0.0.1');
  radio.send(bsm, port, '127.0.0.1');

  await until('50 foreign SPATs and a BSM on rx/up', () => got.filter((g) => g.topic.endsWith('/rx/up')).length >= 51, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  const rx = got.filter((g) => g.topic.endsWith('/rx/up'));
  const rxSpat = rx.filter((g) => g.e.msgType === 'spat');
  t.equal(rxSpat.length, 50, 'each received SPAT once on rx/up');
  t.ok(rxSpat.every((g) => g.e.received && g.e.senderId === 'intersection:7/999' && g.e.summary?.intersectionId === 999 && g.e.rsuId === 'RX01'), 'marked received, with the sender as decoded');
  t.match(rx.find((g) => g.e.msgType === 'bsm')!.e, { received: true, senderId: 'id:CA7CA7CA7CA7CA7C', summary: { stationId: 'CA7CA7CA7CA7CA7C' } });
  const ownTopic = got.filter((g) => g.topic.endsWith('/spat/up'));
  const ids = ownTopic.map((g) => (ms.decode('MessageFrame', g.e.uper) as typeof spat).spatFrame.intersections[0]!.intersectionId.id);
  t.same([...new Set(ids)], [own], `spat/up carries only this RSU's intersection (${ownTopic.length} SPATs)`);
  t.notOk(ownTopic.some((g) => g.e.received), 'nothing on spat/up is marked received');
  t.notOk(got.some((g) => g.topic.endsWith('/bsm/up')), 'no bsm/up: the RSU sends no BSM');
});

t.test('D3: the sender as each message names it (CSAE and J2735 shapes)', async (t) => {
  const { senderOf } = await import('../../hw/radio/sender.js');
  t.same(senderOf('map', { mapFrame: { nodes: [{ id: { id: 5 } }, { id: { region: 2, id: 6 } }] } }).senderId, 'intersection:0/5,2/6');
  t.same(senderOf('rsi', { rsiFrame: { id: '3132333435000000' } }).senderId, 'id:3132333435000000');
  t.same(senderOf('rsm', { rsmFrame: { id: 'abcdef0000000000' } }).summary, { stationId: 'ABCDEF0000000000' });
  t.same(senderOf('bsm', { messageId: 20, value: { coreData: { id: '0a0b0c0d' } } }).senderId, 'id:0A0B0C0D');
  t.same(senderOf('spat', { messageId: 19, value: { intersections: [{ id: { id: 12 } }] } }), { senderId: 'intersection:0/12', summary: { regionId: 0, intersectionId: 12 } });
  t.same(senderOf('rsi', { messageId: 31, value: { msgCnt: 1 } }).senderId, '', 'a TIM names no sender');
  t.same(senderOf('spat', { spatFrame: {} }).senderId, '', 'nothing to name: empty, no crash');
});

t.test('D3 on Kafka: received records go to v2x.v1.rx.up, never to a type topic (librdkafka mock cluster, kcat)', { timeout: 60_000 }, async (t) => {
  const { KafkaMock, kafkaMissing } = await import('../support/kafka-mock.js');
  const missing = kafkaMissing();
  if (missing) return t.skip(missing);
  const k = await KafkaMock.start();
  t.teardown(() => k.stop());
  const up = await Uplink.open({ rsuId: 'RXK1', spool: { dir: tmpDir(t, 'rsu-rxk-') }, kafka: { brokers: k.bootstrap } });
  t.teardown(() => up.close());
  up.submit({ type: 'spat', uper: Buffer.from([1]) });
  up.submit({ type: 'spat', uper: Buffer.from([2]), received: { senderId: 'intersection:7/999' } });
  await until('delivered', () => up.stats().kafka!.pending === 0, 30_000);
  const [own, rx] = await Promise.all([k.consume('v2x.v1.spat.up'), k.consume('v2x.v1.rx.up')]);
  t.same(own.map((r) => decodeEnvelope(r.value).uper[0]), [1], 'spat topic: only the RSU\'s own');
  t.match(rx.map((r) => decodeEnvelope(r.value)), [{ msgType: 'spat', received: true, senderId: 'intersection:7/999', uper: Uint8Array.from([2]) }]);
});
