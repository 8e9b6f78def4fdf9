// Issue 16 point 2: an outage is visible. A real mosquitto on loopback is stopped and started under a running
// daemon: the link's state, backlog, oldest undelivered age and delivered rate show in the status, the metrics and
// the alarms, and `rsu status` exits 3 while an alarm is active. A sensor whose detections are all dropped shows
// as unhealthy.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { DetectionSender } from '../hw/sensors/index.js';
import type { Io } from '../runtime/cli/io.js';
import { main } from '../runtime/cli/main.js';
import { loadConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { SensorDropWatch, sensorAlarms } from '../runtime/health.js';
import { DEFAULT_MEASUREMENT_OPTIONS, Georef, buildSensorModels, lidarDetection } from '../runtime/perception/index.js';
import type { LinkHealth } from '../runtime/uplink/index.js';
import { viewHealthOf } from '../runtime/view/state.js';
import { KafkaMock, kafkaMissing } from './support/kafka-mock.js';
import { freePort, Mosquitto, mosquittoMissing } from './support/mosquitto.js';
import { tmpDir, until } from './support/wait.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) };
  return { code: await main(argv, io), out, err };
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

const metric = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  if (line === undefined) return undefined;
  const v = line.slice(series.length + 1);
  return v === '+Inf' ? Infinity : Number(v);
};

t.test('MQTT outage: state, backlog, oldest age, delivered rate, alarm, exit status', { skip: mosquittoMissing() }, async (t) => {
  const dir = tmpDir(t, 'rsu-outage-');
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const metricsPort = await freePort();
  const file = join(dir, 'rsu.yaml');
  writeFileSync(
    file,
    [
      'rsu: { id: OUT-1 }',
      'ingest: { listeners: [{ protocol: udp, listen: "127.0.0.1:0", format: protobuf }] }',
      'radio: { mode: "off", receive: { listen: "127.0.0.1:0" } }',
      `uplink: { mqtt: { url: "${broker.url}", embeddedBroker: false }, spool: { dir: "${join(dir, 'spool')}" }, alarms: { linkDownS: 1, undeliveredS: 2 } }`,
      `metrics: { host: 127.0.0.1, port: ${metricsPort} }`,
      'logging: { level: silent }',
      '',
    ].join('\n'),
  );
  const socket = join(dir, 'rsu.sock');
  const d = await startDaemon({ config: loadConfig(file, { onWarning: () => {} }), socketPath: socket });
  t.teardown(() => d.stop());
  const mqtt = () => (d.status().uplink as { links: LinkHealth[] }).links.find((l) => l.link === 'mqtt')!;
  const uplinkAlarms = () => d.status().alarms.filter((a) => a.startsWith('uplink'));

  await until('connected and delivering', () => mqtt().connected && (d.status().messages.uplinkPerS.spat ?? 0) > 5, 10000, 100);
  t.equal(mqtt().backlog < 30, true, `small backlog while connected: ${mqtt().backlog}`);
  t.same(uplinkAlarms(), []);
  t.ok((d.status().messages.uplinkPerS.spat ?? 0) > 5, 'SPAT delivered per second');
  let m = await scrape(metricsPort);
  t.equal(metric(m, 'rsu_uplink_connected{link="mqtt"}'), 1);
  t.ok((metric(m, 'rsu_messages_total{type="spat",path="uplink_mqtt"}') ?? 0) > 0, 'deliveries counted by link');

  // The broker goes away.
  await broker.kill();
  await until('the alarm', () => uplinkAlarms().length > 0, 8000, 100);
  const down = mqtt();
  t.equal(down.connected, false);
  t.ok(down.backlog > 10, `records wait: ${down.backlog}`);
  t.ok(down.oldestUndeliveredS !== null && down.oldestUndeliveredS >= 1, `oldest undelivered ${down.oldestUndeliveredS} s`);
  t.ok(down.errors > 0, 'errors counted');
  t.match(viewHealthOf(d.status()).uplink, [{ link: 'mqtt', connected: false }], 'the view health panel shows the link down');
  t.match(uplinkAlarms()[0], /^uplink mqtt down for \d+ s: \d+ record\(s\) waiting, oldest \d+ s/);
  await new Promise((r) => setTimeout(r, 5500)); // the 5 s rate window holds no delivery any more
  t.equal(d.status().messages.uplinkPerS.spat ?? 0, 0, 'the uplink rate counts deliveries: none while the broker is down');
  t.equal(mqtt().deliveredPerS, 0);
  const st = await run(['status', '--socket', socket]);
  t.equal(st.code, 3, 'rsu status exits 3 with an alarm active');
  t.match(st.out.join('\n'), /mqtt (down|connecting) since .*\d+ waiting \(oldest [\d.]+ s\)/);
  t.match(st.out.join('\n'), /ALARM: uplink mqtt down/);
  m = await scrape(metricsPort);
  t.equal(metric(m, 'rsu_uplink_connected{link="mqtt"}'), 0);
  t.ok((metric(m, 'rsu_uplink_backlog_records{link="mqtt"}') ?? 0) > 10);
  t.ok((metric(m, 'rsu_uplink_oldest_undelivered_seconds{link="mqtt"}') ?? 0) >= 5);
  t.ok((metric(m, 'rsu_alarms') ?? 0) >= 1);

  // It comes back: the backlog drains, the alarm goes.
  await broker.restart();
  await until('drained', () => mqtt().connected && mqtt().backlog < 30 && uplinkAlarms().length === 0, 15000, 100);
  t.pass('no uplink alarm once delivered');
  t.equal(mqtt().oldestUndeliveredS === null || mqtt().oldestUndeliveredS! < 2, true);
});

t.test('Kafka outage: the link goes down with an alarm, its backlog grows, deliveries stop', { skip: kafkaMissing() }, async (t) => {
  const dir = tmpDir(t, 'rsu-kafka-outage-');
  const kafka = await KafkaMock.start();
  let stopped = false;
  t.teardown(() => (stopped ? undefined : kafka.stop()));
  const file = join(dir, 'rsu.yaml');
  writeFileSync(
    file,
    [
      'rsu: { id: KOUT-1 }',
      'ingest: { listeners: [{ protocol: udp, listen: "127.0.0.1:0", format: protobuf }] }',
      'radio: { mode: "off", receive: { listen: "127.0.0.1:0" } }',
      `uplink: { mqtt: { enabled: false }, kafka: { enabled: true, brokers: ["${kafka.bootstrap}"] }, spool: { dir: "${join(dir, 'spool')}" }, alarms: { linkDownS: 1, undeliveredS: 3 } }`,
      'metrics: { port: 0 }',
      'logging: { level: silent }',
      '',
    ].join('\n'),
  );
  const d = await startDaemon({ config: loadConfig(file, { onWarning: () => {} }), socketPath: false });
  t.teardown(() => d.stop());
  const link = () => (d.status().uplink as { links: LinkHealth[] }).links.find((l) => l.link === 'kafka')!;
  await until('Kafka delivering', () => link().connected && (d.status().messages.uplinkPerS.spat ?? 0) > 5, 20_000, 100);
  t.same(d.status().messages.uplinkByLinkPerS && Object.keys(d.status().messages.uplinkByLinkPerS!), ['kafka'], 'the delivered rate is per link');
  await kafka.stop();
  stopped = true;
  await until('the Kafka alarm', () => d.status().alarms.some((a) => a.startsWith('uplink kafka')), 30_000, 200);
  const l = link();
  t.ok(l.backlog > 10, `records wait: ${l.backlog}`);
  t.ok(l.oldestUndeliveredS !== null && l.oldestUndeliveredS > 1, `oldest ${l.oldestUndeliveredS} s`);
  t.match(d.status().alarms.find((a) => a.startsWith('uplink kafka')), /^uplink kafka (down for \d+ s|behind): \d+ record\(s\) waiting, oldest \d+ s/);
});

t.test('a sensor whose detections are all dropped is unhealthy: status, alarm, metrics', async (t) => {
  const dir = tmpDir(t, 'rsu-sensor-');
  const metricsPort = await freePort();
  const file = join(dir, 'rsu.yaml');
  writeFileSync(
    file,
    [
      'ingest: { listeners: [{ protocol: udp, listen: "127.0.0.1:0", format: protobuf }] }',
      'radio: { mode: "off", receive: { listen: "127.0.0.1:0" } }',
      'uplink: { mqtt: { enabled: false } }',
      'perception: { fusion: plain }',
      `metrics: { host: 127.0.0.1, port: ${metricsPort} }`,
      'logging: { level: silent }',
      '',
    ].join('\n'),
  );
  const cfg = loadConfig(file, { onWarning: () => {} });
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  const lidar = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS).find((s) => s.id === 'lidar_north')!;
  const sender = await DetectionSender.connect(`127.0.0.1:${d.ingestPorts[0]!.port}`, { protocol: 'udp' });
  t.teardown(() => sender.close());
  // camera_north of the demo site: its extrinsics point 61° above the horizon, so every box's ground ray misses.
  for (let k = 0; k < 25; k++) {
    const now = BigInt(Date.now()) * 1_000_000n;
    const o = { id: 1, classification: 'car' as const, x: lidar.origin.x + 8, y: lidar.origin.y + 6, yaw: 0, length: 4.5, width: 1.8, height: 1.5 };
    sender.send({ sensorId: 'lidar_north', captureTimeNs: now, frameNumber: k + 1, objects: [lidarDetection(lidar, o)!] });
    sender.send({ sensorId: 'camera_north', captureTimeNs: now, frameNumber: k + 1, objects: [{ id: 1, classification: 'car', confidence: 0.9, box2d: { x: 800, y: 900, width: 200, height: 120 } }] });
    await new Promise((r) => setTimeout(r, 100));
  }
  await until('judged', () => d.status().sensorHealth.camera_north?.healthy === false, 4000, 100);
  const h = d.status().sensorHealth;
  t.match(h.camera_north, { healthy: false, droppedPct: 100, mainReason: 'above_horizon' });
  t.match(h.lidar_north, { healthy: true });
  t.ok(d.status().alarms.some((a) => /^sensor camera_north unhealthy: 100 % of its \d+ detections in the last 10 s dropped \(mostly above_horizon\)$/.test(a)), d.status().alarms.join('\n'));
  t.notOk(d.status().alarms.some((a) => a.startsWith('sensor lidar_north')));
  // The live view's health panel (and its alarms list) shows the same.
  const vh = viewHealthOf(d.status());
  t.match(vh.sensors.find((x) => x.id === 'camera_north'), { healthy: false, droppedPct: 100 });
  t.match(vh.sensors.find((x) => x.id === 'camera_south1'), { healthy: true, lastFrameAgeS: null });
  t.match(vh.time, { source: 'system' });
  const m = await scrape(metricsPort);
  t.equal(metric(m, 'rsu_sensor_healthy{sensor="camera_north"}'), 0);
  t.equal(metric(m, 'rsu_sensor_healthy{sensor="lidar_north"}'), 1);
  t.equal(metric(m, 'rsu_sensor_last_frame_age_seconds{sensor="camera_south1"}'), Infinity, 'a sensor that never sent has its age series: +Inf');
});

t.test('SensorDropWatch: a window, a minimum count, the main reason', async (t) => {
  const w = new SensorDropWatch(10_000);
  const s = (detections: number, used: number, dropped: Record<string, number>) => ({ kind: 'camera' as const, frames: 1, framesDropped: {}, detections, used, detectionsDropped: dropped, lastTimeMs: 0 });
  w.sample(0, { a: s(0, 0, {}), b: s(0, 0, {}) });
  w.sample(1000, { a: s(5, 0, { above_horizon: 5 }), b: s(100, 95, { beyond_range: 5 }) });
  t.same(sensorAlarms(w.health()), [], 'too few detections to judge; 5 % dropped is healthy');
  w.sample(2000, { a: s(20, 1, { above_horizon: 19 }), b: s(200, 190, { beyond_range: 10 }) });
  t.same(sensorAlarms(w.health()), ['sensor a unhealthy: 95 % of its 20 detections in the last 10 s dropped (mostly above_horizon)']);
  // Eleven seconds later the sensor has recovered: only the window counts.
  w.sample(13_000, { a: s(120, 101, { above_horizon: 19 }), b: s(300, 290, { beyond_range: 10 }) });
  w.sample(14_000, { a: s(130, 111, { above_horizon: 19 }), b: s(310, 300, { beyond_range: 10 }) });
  t.same(sensorAlarms(w.health()), []);
});
