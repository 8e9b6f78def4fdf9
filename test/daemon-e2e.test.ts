// The daemon end to end over real sockets: detections in over UDP → tracks → RSM, with SPAT and MAP at their
// rates, on the radio (udp-raw) and on the MQTT uplink; a BSM received on the radio port reaches the uplink;
// `rsu status` answers on the socket; garbage on every UDP port changes nothing.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { fromHex, loadMessageSet, type MessageSet } from '../codecs/index.js';
import { DetectionSender } from '../hw/sensors/index.js';
import { startEmbeddedBroker } from '../runtime/broker.js';
import { defaultConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { demoLaneMapPath } from '../runtime/map/index.js';
import { DEFAULT_MEASUREMENT_OPTIONS, Georef, buildSensorModels, lidarDetection } from '../runtime/perception/index.js';
import { request } from '../runtime/status.js';
import { decodeEnvelope } from '../runtime/uplink/index.js';
import { freeUdpPort, freeTcpPort } from './support/ports.js';
import { VECTORS } from './support/vectors.js';



const V = VECTORS + '/';

t.test('detections in, V2X messages out on the radio and the uplink', async (t) => {
  const broker = await startEmbeddedBroker();
  t.teardown(() => broker.close());
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sink.close());
  const spool = mkdtempSync(join(tmpdir(), 'rsu-e2e-'));
  t.teardown(() => rmSync(spool, { recursive: true, force: true }));

  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.rsu.id = 'E2E01';
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.radio.mode = 'udp-raw';
  cfg.radio.udpRaw.target = `127.0.0.1:${sink.address().port}`;
  cfg.radio.receive.listen = `127.0.0.1:${await freeUdpPort()}`; // port 0 means "no receiver" in the config
  cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url: broker.url, embeddedBroker: false, version: '3.1.1', ...broker.credentials }; // aedes: MQTT 3.1.1
  cfg.uplink.kafka.enabled = false;
  cfg.uplink.spool.dir = spool;
  cfg.applications.map = { ...cfg.applications.map, enabled: true, file: demoLaneMapPath() };
  cfg.applications.rsi = {
    ...cfg.applications.rsi,
    enabled: true,
    intervalMs: 1000,
    events: [{ id: 7, type: 9902, description: 'e2e event', lat: cfg.rsu.reference.lat + 0.0003, lon: cfg.rsu.reference.lon, radiusM: 50, priority: 3 }],
    signs: [{ id: 2, kind: 'speed-limit', speedLimitKmh: 30, lat: cfg.rsu.reference.lat, lon: cfg.rsu.reference.lon + 0.0003, radiusM: 50, priority: 6 }],
  };
  cfg.metrics.port = await freeTcpPort(); // port 0 means "no metrics endpoint" in the config
  cfg.logging.level = 'silent';
  const socketPath = join(spool, 'rsu.sock');

  const ms = (await loadMessageSet(cfg.messageSet)) as MessageSet;
  const radio: { type: string; v: any; at: number }[] = [];
  sink.on('message', (b) => {
    const v = ms.decode('MessageFrame', new Uint8Array(b)) as any;
    radio.push({ type: Object.keys(v)[0]!, v, at: Date.now() });
  });
  const sub = mqtt.connect(broker.url, broker.credentials);
  const uplink: { topic: string; type: string }[] = [];
  await new Promise<void>((r) => sub.on('connect', () => sub.subscribe('v2x/v1/rsu/E2E01/#', { qos: 1 }, () => r())));
  sub.on('message', (topic, payload) => {
    if (!topic.endsWith('/up') || topic.endsWith('ack/up')) return;
    const e = decodeEnvelope(payload);
    uplink.push({ topic, type: e.msgType as unknown as string });
  });
  t.teardown(() => sub.end(true));

  const d = await startDaemon({ config: cfg, socketPath });
  t.teardown(() => d.stop());

  // Two road users crossing the intersection, seen by the north lidar at 10 Hz for 3 s.
  const georef = new Georef(cfg.rsu.reference, cfg.rsu.stationFrame);
  const lidar = buildSensorModels(cfg, georef, DEFAULT_MEASUREMENT_OPTIONS).find((s) => s.id === 'lidar_north')!;
  const sender = await DetectionSender.connect(`127.0.0.1:${d.ingestPorts[0]!.port}`, { protocol: 'udp' });
  t.teardown(() => sender.close());
  const garbage = createSocket('udp4');
  t.teardown(() => garbage.close());
  const t0 = Date.now();
  for (let k = 0; k < 30; k++) {
    const s = k * 0.1;
    const objs = [
      { id: 1, classification: 'car' as const, x: lidar.origin.x + 5 + 10 * s, y: lidar.origin.y + 8, yaw: 0, length: 4.5, width: 1.8, height: 1.5 },
      { id: 2, classification: 'pedestrian' as const, x: lidar.origin.x + 12, y: lidar.origin.y + 3 + 1.4 * s, yaw: Math.PI / 2, length: 0.5, width: 0.5, height: 1.7 },
    ];
    const dets = objs.map((o) => lidarDetection(lidar, o)).filter((x) => x !== null);
    if (k === 27) {
      // The car also broadcasts BSMs: its RSM participant must carry the BSM's id.
      const g = georef.localToGeodetic({ x: objs[0]!.x, y: objs[0]!.y, z: 0 });
      const bsm = { bsmFrame: { msgCnt: 1, id: 'CA7CA7CA7CA7CA7C', secMark: 0, pos: { lat: Math.round(g.lat * 1e7), long: Math.round(g.lon * 1e7) }, transmission: 'forwardGears', speed: 500, heading: 7200, accelSet: { long: 0, lat: 0, vert: 0, yaw: 0 }, brakes: {}, size: { width: 180, length: 450 }, vehicleClass: { classification: 10 } } };
      garbage.send(ms.encode('MessageFrame', bsm as never), d.radioRxPort!, '127.0.0.1');
    }
    sender.send({ sensorId: 'lidar_north', captureTimeNs: BigInt(Date.now()) * 1_000_000n, frameNumber: k + 1, objects: dets });
    // Garbage on the ingest and radio ports must change nothing.
    garbage.send(Buffer.from([0xff, 0x00, 0x13, k]), d.ingestPorts[0]!.port, '127.0.0.1');
    garbage.send(Buffer.from([0x07, 0xff, k]), d.radioRxPort!, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
  }
  // A BSM from a passing vehicle, received on the radio port.
  const bsmHex = (await import('node:fs')).readFileSync(V + 'csae/ydt3709-bsm.jsonl', 'utf8').split('\n')[0]!;
  const rx = createSocket('udp4');
  rx.send(fromHex(JSON.parse(bsmHex).hex), d.radioRxPort!, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 1200));
  rx.close();
  const elapsedS = (Date.now() - t0) / 1000;

  const count = (type: string) => radio.filter((x) => x.type === type).length;
  t.ok(count('spatFrame') >= 8 * elapsedS && count('spatFrame') <= 11 * elapsedS, `SPAT at 10 Hz: ${count('spatFrame')} in ${elapsedS.toFixed(1)} s`);
  t.ok(count('mapFrame') >= elapsedS - 1.5 && count('mapFrame') <= elapsedS + 1, `MAP at 1 Hz: ${count('mapFrame')}`);
  t.ok(count('rsiFrame') >= elapsedS - 1.5, `RSI for the configured event at 1 Hz: ${count('rsiFrame')}`);
  t.same(radio.find((x) => x.type === 'rsiFrame')!.v.rsiFrame.rtes[0].description, { textString: 'e2e event' });
  t.match(radio.find((x) => x.type === 'rsiFrame')!.v.rsiFrame.rtss, [{ rtsId: 2, signType: 85, description: { textString: 'speed limit 30 km/h' }, priority: 'C0' }], 'and the configured sign (GB 5768.2 85)');
  const rsm = radio.filter((x) => x.type === 'rsmFrame');
  t.ok(rsm.length >= 20 && rsm.length <= 35, `RSM from the frames: ${rsm.length}`);
  const last = rsm.at(-1)!.v.rsmFrame;
  t.equal(last.participants.length, 2, 'both road users in the RSM');
  t.same(last.participants.map((p: any) => p.ptcType).sort(), ['motor', 'pedestrian']);
  const ids = new Set(rsm.slice(-10).flatMap((m) => m.v.rsmFrame.participants.map((p: any) => p.ptcId)));
  t.equal(ids.size, 2, 'participant ids stay stable');
  const car = last.participants.find((p: any) => p.ptcType === 'motor');
  t.equal(car.id, 'CA7CA7CA7CA7CA7C', 'the car heard as a BSM carries that BSM id in the RSM');
  t.notOk(last.participants.find((p: any) => p.ptcType === 'pedestrian').id, 'the pedestrian carries none');
  t.ok(Math.abs(car.speed * 0.02 - 10) < 1.5, `car speed ${car.speed * 0.02} m/s (true 10)`);
  const spats = radio.filter((x) => x.type === 'spatFrame').map((x) => x.v.spatFrame.msgCnt);
  t.ok(spats.every((c, i) => i === 0 || c === (spats[i - 1]! + 1) % 128), 'SPAT msgCnt counts up by one, wrapping at 127');

  const types = new Set(uplink.map((u) => u.topic.split('/').at(-2)));
  t.ok(['spat', 'map', 'rsm', 'rsi', 'rx'].every((x) => types.has(x)), `uplink topics: ${[...types].join(', ')}`);
  t.ok(uplink.filter((u) => u.topic.endsWith('/rx/up') && u.type === 'bsm').length === 2, 'the received BSMs went to the uplink (rx) once each');
  t.notOk(types.has('bsm'), 'nothing received goes to a topic of what the RSU sends');

  const st = (await request(socketPath, { cmd: 'status' })) as any;
  t.equal(st.rsuId, 'E2E01');
  t.ok(st.sensors.sensors.lidar_north.frames >= 29, 'status: the lidar frames');
  t.ok(st.radio.rx.errors.decode_error >= 25, `status: garbage on the radio port counted (${st.radio.rx.errors.decode_error})`);
  t.ok(Object.values(st.sensors.unattributed as Record<string, number>).reduce((a, b) => a + b, 0) >= 25, 'status: garbage on the ingest port counted');
  const metrics = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();
  t.match(metrics, /rsu_frame_to_radio_seconds_count \d+/);
  t.match(metrics, /rsu_messages_total\{type="spat",path="radio_tx"\} \d+/);
});
