// Adversarial family: the radio receive port of a running daemon (issue 12 D13). Empty datagrams, random bytes,
// malformed immediate-forward texts and frames with trailing bytes are dropped, each counted by reason in
// rsu_radio_rx_dropped_total, and rsu_decode_errors_total is incremented; valid frames around them still pass.
// The same daemon's other rejection paths (sensor ingest, status socket) are checked on /metrics too.
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../../codecs/index.js';
import { formatImmediateForward } from '../../hw/radio/index.js';
import { encodeFrame, encodeFrameJson } from '../../hw/sensors/index.js';
import { FixedTimePlan } from '../../runtime/apps/signal-plan.js';
import { buildSpat } from '../../runtime/apps/spat.js';
import { startDaemon } from '../../runtime/daemon.js';
import { freeTcpPort, freeUdpPort } from '../support/ports.js';
import { quietDaemonConfig } from '../support/quiet-daemon.js';
import { tmpDir, until } from '../support/wait.js';

/** The value of one sample of the Prometheus text, or 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

t.test('hostile datagrams on radio.receive.listen: dropped, counted by reason, decode errors counted', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-radio-');
  const cfg = quietDaemonConfig();
  const rxPort = await freeUdpPort();
  cfg.radio.receive.listen = `127.0.0.1:${rxPort}`;
  cfg.metrics.host = '127.0.0.1';
  cfg.metrics.port = await freeTcpPort();
  cfg.ingest.listeners = [
    { protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' },
    { protocol: 'udp', listen: '127.0.0.1:0', format: 'json' },
  ];
  const socketPath = join(dir, 'rsu.sock');
  const d = await startDaemon({ config: cfg, socketPath });
  t.teardown(() => d.stop());
  const metrics = async () => (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();

  const ms = (await loadMessageSet(cfg.messageSet)) as MessageSet;
  const spat = ms.encode('MessageFrame', buildSpat(new FixedTimePlan(cfg.applications.spat.phases).snapshot(Date.now()), { std: cfg.messageSet, msgCnt: 1, intersection: cfg.applications.spat.intersection }) as never);
  const ifm = (payload: Uint8Array) => formatImmediateForward({ type: 'SPAT', psid: 0x8002, priority: 7, txMode: 'CONT', txChannel: 183, signature: false, encryption: false }, payload);
  let seed = 99;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const hostile: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['ifm_malformed', Buffer.from('Version=0.7\nType=SPAT\nPayload=ZZ\n')],
    ['ifm_malformed', Buffer.from('Version=0.7\nType=SPAT\n')],
    ['ifm_malformed', Buffer.from(ifm(spat).replace(/Payload=([0-9A-F]+)/, 'Payload=$1F'))], // an odd number of hex digits
    ['trailing_bytes', Buffer.concat([spat, Buffer.from([0xde, 0xad])])],
    ['trailing_bytes', Buffer.from(ifm(Buffer.concat([spat, Buffer.from([0xbe, 0xef])])))],
    ['decode_error', Buffer.from(spat.subarray(0, spat.length >> 1))],
  ];
  for (let i = 0; i < 100; i++) hostile.push(['random', Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)))]);
  const udp = createSocket('udp4');
  t.teardown(() => udp.close());
  const send = (b: Uint8Array) => new Promise<void>((r) => udp.send(b, rxPort, '127.0.0.1', () => r()));
  await send(spat);
  for (const [, b] of hostile) await send(b);
  await send(Buffer.from(ifm(spat)));
  await until('every datagram handled', () => (d.status().radio.rx as { received: { datagrams: number } }).received.datagrams === hostile.length + 2, 3000);

  const rx = d.status().radio.rx as { errors: Record<string, number>; byType: Record<string, { datagrams: number }> };
  t.equal(rx.byType.spat!.datagrams, 2, 'the two valid SPATs (raw and immediate forward) pass');
  const dropped = Object.values(rx.errors).reduce((a, b) => a + b, 0);
  t.equal(dropped, hostile.length, 'every hostile datagram dropped');
  t.match(rx.errors, { empty: 1, ifm_malformed: 3 });
  t.ok(rx.errors.trailing_bytes! >= 2, 'trailing bytes (two made; a random datagram may be a frame with some too)');
  const text = await metrics();
  for (const [reason, n] of Object.entries(rx.errors)) if (n) t.equal(sample(text, 'rsu_radio_rx_dropped_total', `reason="${reason}"`), n, `rsu_radio_rx_dropped_total{reason="${reason}"} ${n}`);
  t.equal(sample(text, 'rsu_decode_errors_total', 'source="radio"'), rx.errors.decode_error! + rx.errors.ifm_malformed! + rx.errors.trailing_bytes!, 'rsu_decode_errors_total{source="radio"} counts what failed to decode');
  t.equal(sample(text, 'rsu_messages_total', 'type="spat",path="radio_rx"'), 2);

  // D13 for the other ports of the same daemon: sensor ingest and the status socket.
  const [pb, js] = d.ingestPorts.map((p) => p.port) as [number, number];
  const sendTo = (b: Uint8Array | string, port: number) => new Promise<void>((r) => udp.send(b, port, '127.0.0.1', () => r()));
  await sendTo(Buffer.from([0xff, 0xff, 0xff]), pb);
  await sendTo('{"header":{"sensorId":"lidar_north","captureTimeNs":"abc"}}', js);
  const now = BigInt(Date.now()) * 1_000_000n;
  const box = { x: 10, y: 0, z: 0.5, length: 4, width: 1.8, height: 1.5, yaw: 0 };
  await sendTo(encodeFrame({ sensorId: 'lidar_north', captureTimeNs: now, frameNumber: 1, objects: [{ id: 1, classification: 'car', confidence: 2, box3d: box }, { id: 2, classification: 'car', confidence: 0.9 }] }), pb);
  await sendTo(encodeFrameJson({ sensorId: 'lidar_north', captureTimeNs: now + 1_000_000n, frameNumber: 2, objects: [{ id: 1, classification: 'car', confidence: 0.9, box3d: { ...box, length: -1 } }] }), js);
  const c = createConnection(socketPath);
  c.on('error', () => {});
  await new Promise((r) => c.once('connect', r));
  c.write('null\n[1]\n{"cmd":"nope"}\nnot json\n');
  await new Promise((r) => setTimeout(r, 300));
  c.destroy();
  const text2 = await metrics();
  t.equal(sample(text2, 'rsu_decode_errors_total', 'source="sensor"'), 2, 'undecodable and bad-field sensor frames: rsu_decode_errors_total{source="sensor"}');
  t.equal(sample(text2, 'rsu_sensor_frames_dropped_total', 'reason="bad_field"'), 1);
  t.equal(sample(text2, 'rsu_sensor_objects_dropped_total', 'reason="out_of_range"'), 2, 'objects dropped by reason');
  t.equal(sample(text2, 'rsu_sensor_objects_dropped_total', 'reason="missing_box"'), 1);
  for (const reason of ['not_object', 'unknown_command', 'not_json']) t.ok(sample(text2, 'rsu_status_rejected_total', `reason="${reason}"`) >= 1, `rsu_status_rejected_total{reason="${reason}"}`);
});
