// Adversarial family: malformed input at every sensor ingest port (UDP and TCP, protobuf and JSON lines), the bad
// header values of issue 12 D14, and the sensor source binding (the design question: a spoofed future-stamped
// frame must not black out a sensor). Loopback only, a few seconds.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { pino } from 'pino';
import { validateConfig, type IngestListener, type SensorConfig } from '../../runtime/config/index.js';
import {
  encodeFrame,
  encodeFrameDelimited,
  encodeFrameJson,
  FrameProcessor,
  JsonFieldError,
  decodeProtobuf,
  parseJsonFrame,
  SensorIngest,
  type DetectionFrameInput,
} from '../../hw/sensors/index.js';
import { until } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const ns = (ms: number) => BigInt(Math.round(ms * 1000)) * 1000n;
const car = { id: 1, classification: 'car' as const, confidence: 0.9, box3d: { x: 10, y: 2, z: 0.5, length: 4.5, width: 1.75, height: 1.5, yaw: 0 } };
const good = (sensorId: string, frameNumber: number, atMs = Date.now() - 40): DetectionFrameInput => ({ sensorId, captureTimeNs: ns(atMs), frameNumber, objects: [car] });
/** A JSON-lines frame with a header field replaced verbatim. */
const jsonWith = (sensorId: string, field: string, raw: string, frameNumber = 99) => {
  const o = JSON.parse(encodeFrameJson(good(sensorId, frameNumber)));
  return JSON.stringify(o).replace(new RegExp(`"${field}":("[^"]*"|-?\\d+)`), `"${field}":${raw}`);
};

function sensors(extra: Record<string, unknown>[] = []): SensorConfig[] {
  const r = validateConfig({ sensors: [{ id: 'lidar_a', kind: 'lidar', pose: {} }, { id: 'lidar_b', kind: 'lidar', pose: {} }, ...extra] });
  if (!r.config) throw new Error(JSON.stringify(r.errors));
  return r.config.sensors;
}

async function ingestOn(list: SensorConfig[], listeners: IngestListener[]) {
  const drops: string[] = [];
  const ingest = new SensorIngest({ sensors: list, listeners, maxFutureMs: 500, maxAgeMs: 2000, maxObjectsPerFrame: 64, maxFrameBytes: 4096, logger: silent, onDrop: (w, r) => drops.push(`${w}:${r}`) });
  const ports = await ingest.start();
  const accepted: { sensorId: string; frameNumber: number }[] = [];
  ingest.onFrame((f) => accepted.push({ sensorId: f.sensorId, frameNumber: f.frameNumber }));
  return { ingest, ports, accepted, drops };
}

const udpSocket = async (address = '127.0.0.1'): Promise<UdpSocket> => {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
};
const tcpSocket = async (port: number, localAddress = '127.0.0.1'): Promise<Socket> => {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  return s;
};

t.test('D14: bad captureTimeNs and frameNumber in JSON are rejected naming the field', async (t) => {
  for (const [field, raw] of [
    ['captureTimeNs', '"abc"'],
    ['captureTimeNs', '-5'],
    ['captureTimeNs', '"-5"'],
    ['captureTimeNs', '"1e30"'],
    ['captureTimeNs', '1e30'],
    ['captureTimeNs', '"18446744073709551616"'],
    ['captureTimeNs', '"12.5"'],
    ['captureTimeNs', 'true'],
    ['captureTimeNs', '{}'],
    ['frameNumber', '-1'],
    ['frameNumber', '"-1"'],
    ['frameNumber', '4294967296'],
    ['frameNumber', '1.5'],
    ['frameNumber', '"x"'],
    ['objectCount', '-1'],
  ] as const) {
    const line = jsonWith('lidar_a', field, raw);
    const shown = JSON.stringify(JSON.parse(raw)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    t.throws(() => parseJsonFrame(line), new RegExp(`^header\\.${field}: expected .*, got ${shown}$`), `${field}: ${raw}`);
    try {
      parseJsonFrame(line);
    } catch (e) {
      t.ok(e instanceof JsonFieldError && e.sensorId === 'lidar_a', 'the error carries the sensor id, to count it against that sensor');
    }
  }
  // Good values in every proto3-JSON spelling are still taken.
  for (const [raw, want] of [['"1750000000000000000"', 1750000000000000000n], ['1750000000000000000', 1750000000000000000n], ['"1.75e18"', 1750000000000000000n], ['"0"', 0n]] as const) {
    const w = parseJsonFrame(jsonWith('lidar_a', 'captureTimeNs', raw));
    const c = w.header!.captureTimeNs as { low: number; high: number };
    t.equal((BigInt(c.high >>> 0) << 32n) | BigInt(c.low >>> 0), want, `captureTimeNs ${raw}`);
  }
});

t.test("D14: a bad frame is counted against its sensor and does not make the sensor's next good frames drop", async (t) => {
  const { ingest, ports, accepted } = await ingestOn(sensors(), [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'json' }]);
  t.teardown(() => ingest.close());
  const udp = await udpSocket();
  t.teardown(() => udp.close());
  const send = (line: string) => udp.send(line, ports[0]!.port, '127.0.0.1');
  let n = 0;
  for (const [field, raw] of [['captureTimeNs', '"abc"'], ['captureTimeNs', '-5'], ['captureTimeNs', '"1e30"'], ['frameNumber', '-1']] as const) {
    send(jsonWith('lidar_a', field, raw));
    // The real sensor's frames, stamped 40 ms before they arrive, as a lidar's are.
    for (let k = 0; k < 5; k++) {
      send(encodeFrameJson(good('lidar_a', ++n)));
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  await until('the good frames', () => accepted.length === 20, 3000);
  const st = ingest.stats().sensors.lidar_a!;
  t.same(st.framesDropped, { bad_field: 4 }, 'four bad frames, counted as bad_field against lidar_a; none of the good ones dropped');
  t.equal(st.frames, 20);
  t.equal(st.framesMissed, 0);
});

t.test('D14: frameNumber -1 on the protobuf wire (4294967295) is a jump, not four billion missed frames', async (t) => {
  const p = new FrameProcessor({ sensors: sensors(), maxFutureMs: 500, maxAgeMs: 2000, maxObjectsPerFrame: 64 });
  const now = Date.now();
  const at = (k: number) => now + k * 100;
  const feed = (fn: number, k: number) => p.process(decodeProtobuf(encodeFrame(good('lidar_a', fn, at(k) - 40))), at(k));
  for (let k = 1; k <= 5; k++) t.ok(feed(k, k).ok);
  t.ok(feed(-1, 6).ok, 'a uint32 frame number is a valid frame');
  t.ok(feed(6, 7).ok);
  t.ok(feed(8, 8).ok);
  let st = p.stats(at(8)).sensors.lidar_a!;
  t.equal(st.framesMissed, 1, 'only frame 7 is missing');
  t.equal(st.frameNumberJumps, 1);
  // A sensor that restarts its numbering: one jump, then its new sequence is followed.
  t.ok(feed(0, 9).ok);
  t.ok(feed(1, 10).ok);
  t.ok(feed(3, 11).ok);
  st = p.stats(at(11)).sensors.lidar_a!;
  t.equal(st.frameNumberJumps, 2);
  t.equal(st.framesMissed, 2, 'frame 2 of the new sequence missing');
  // The 32-bit wrap is no jump.
  const q = new FrameProcessor({ sensors: sensors(), maxFutureMs: 500, maxAgeMs: 2000, maxObjectsPerFrame: 64 });
  q.process(decodeProtobuf(encodeFrame(good('lidar_a', 4294967294, at(1) - 40))), at(1));
  q.process(decodeProtobuf(encodeFrame(good('lidar_a', 0, at(2) - 40))), at(2));
  t.match(q.stats(at(2)).sensors.lidar_a, { framesMissed: 1, frameNumberJumps: 0 });
  // A capture time of 2^64 - 5 ns (-5 written into the fixed64) is far in the future: dropped, state untouched.
  const r = p.process(decodeProtobuf(encodeFrame({ ...good('lidar_a', 4, at(12)), captureTimeNs: 2n ** 64n - 5n })), at(12));
  t.match(r, { ok: false, reason: 'future', detail: /header\.captureTimeNs/ });
  t.ok(feed(4, 13).ok, 'the next good frame is taken');
});

t.test('sensors[].source: validated in the config', async (t) => {
  const bad = (source: unknown) => validateConfig({ sensors: [{ id: 'x', kind: 'lidar', pose: {}, source }] }).errors.map((e) => e.message).join('\n');
  t.match(bad('lidar.local'), /expected the sensor's IP address, ADDR:PORT or \[IPv6\]:PORT .*got "lidar\.local"/);
  t.match(bad('10.0.0.5:70000'), /expected the sensor's IP address/);
  t.match(bad('10.0.0.5:'), /expected the sensor's IP address/);
  t.match(bad(5), /expected/);
  t.same(sensors([{ id: 'c', kind: 'lidar', pose: {}, source: '10.0.0.5' }]).at(-1)!.source, { address: '10.0.0.5' });
  t.same(sensors([{ id: 'c', kind: 'lidar', pose: {}, source: '10.0.0.5:2368' }]).at(-1)!.source, { address: '10.0.0.5', port: 2368 });
  t.same(sensors([{ id: 'c', kind: 'lidar', pose: {}, source: '[fd00::5]:2368' }]).at(-1)!.source, { address: 'fd00::5', port: 2368 });
  t.same(sensors([{ id: 'c', kind: 'lidar', pose: {}, source: 'fd00::5' }]).at(-1)!.source, { address: 'fd00::5' });
});

t.test('source binding: a spoofed future-stamped frame every 500 ms no longer blacks out the sensor', async (t) => {
  // The real lidar sends from 127.0.0.1 on a fixed port; a local process sends lidar_a frames from another port.
  const real = await udpSocket();
  const spoofer = await udpSocket();
  t.teardown(() => (real.close(), spoofer.close()));
  const list = sensors().map((s) => (s.id === 'lidar_a' ? { ...s, source: { address: '127.0.0.1', port: real.address().port } } : s));
  const { ingest, ports, accepted } = await ingestOn(list, [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }]);
  t.teardown(() => ingest.close());
  const port = ports[0]!.port;
  for (let k = 1; k <= 20; k++) {
    if (k % 5 === 1) spoofer.send(encodeFrame(good('lidar_a', 1000 + k, Date.now() + 450)), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 20));
    real.send(encodeFrame(good('lidar_a', k)), port, '127.0.0.1');
  }
  await until('the real frames', () => accepted.length === 20, 3000);
  await new Promise((r) => setTimeout(r, 50));
  const st = ingest.stats().sensors.lidar_a!;
  t.same(st.framesDropped, { wrong_source: 4 }, 'the spoofed frames are dropped as wrong_source');
  t.equal(st.frames, 20, 'every real frame accepted');
  t.same(accepted.map((a) => a.frameNumber), Array.from({ length: 20 }, (_, i) => i + 1));
});

t.test('source binding on TCP: by address (client ports change)', async (t) => {
  const list = sensors().map((s) => (s.id === 'lidar_a' ? { ...s, source: { address: '127.0.0.2' } } : s));
  const { ingest, ports, accepted } = await ingestOn(list, [{ protocol: 'tcp', listen: '127.0.0.1:0', format: 'protobuf' }]);
  t.teardown(() => ingest.close());
  const from2 = await tcpSocket(ports[0]!.port, '127.0.0.2');
  const from1 = await tcpSocket(ports[0]!.port, '127.0.0.1');
  t.teardown(() => (from1.destroy(), from2.destroy()));
  from1.write(encodeFrameDelimited(good('lidar_a', 1)));
  from2.write(encodeFrameDelimited(good('lidar_a', 2)));
  from1.write(encodeFrameDelimited(good('lidar_b', 1)));
  await until('two frames', () => accepted.length === 2, 3000);
  await until('the drop', () => ingest.stats().sensors.lidar_a!.framesDropped.wrong_source === 1, 3000);
  t.same(accepted.map((a) => `${a.sensorId}#${a.frameNumber}`).sort(), ['lidar_a#2', 'lidar_b#1'], 'lidar_a from 127.0.0.2 only; the unbound lidar_b from anywhere');
});

t.test('hostile bytes at every ingest port: counted, nothing stops, good frames still taken afterwards', async (t) => {
  const listeners: IngestListener[] = [
    { protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' },
    { protocol: 'udp', listen: '127.0.0.1:0', format: 'json' },
    { protocol: 'tcp', listen: '127.0.0.1:0', format: 'protobuf' },
    { protocol: 'tcp', listen: '127.0.0.1:0', format: 'json' },
  ];
  const { ingest, ports, accepted, drops } = await ingestOn(sensors(), listeners);
  t.teardown(() => ingest.close());
  const [up, uj, tp, tj] = ports.map((p) => p.port) as [number, number, number, number];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const udp = await udpSocket();
  t.teardown(() => udp.close());
  const valid = encodeFrame(good('lidar_a', 1));
  const hostileDatagrams: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from([0xff]),
    Buffer.from(valid.subarray(0, valid.length - 3)), // truncated
    Buffer.concat([Buffer.from(valid), junk(7)]), // trailing junk
    Buffer.alloc(5000, 0x41), // larger than maxFrameBytes
    encodeFrame({ ...good('ghost', 1) }), // unknown sensor
    encodeFrame({ ...good('lidar_b', 1), captureTimeNs: ns(Date.now() + 60_000) }), // far future
    encodeFrame({ ...good('lidar_b', 1), captureTimeNs: 1n }), // 1970
    encodeFrame({ sensorId: 'lidar_b', captureTimeNs: ns(Date.now()), frameNumber: 1, objects: Array.from({ length: 65 }, () => car) }), // too many objects
    encodeFrame({ ...good('lidar_b', 1), objects: [{ ...car, confidence: NaN }, { ...car, box3d: { ...car.box3d, length: 400 } }] }), // bad objects
  ];
  for (let i = 0; i < 300; i++) hostileDatagrams.push(junk(1 + Math.floor(rnd() * 600)));
  for (const d of hostileDatagrams) udp.send(d, up, '127.0.0.1');
  const hostileLines = ['null', '[]', '"x"', '{', '{"header":5}', '{"header":{"sensorId":7}}', '{"objects":"many"}', jsonWith('lidar_b', 'captureTimeNs', '"abc"'), '\u0000\u0001', 'x'.repeat(5000)];
  for (const l of hostileLines) udp.send(l, uj, '127.0.0.1');
  udp.send(Buffer.alloc(0), uj, '127.0.0.1');
  const tcpJson = await tcpSocket(tj);
  tcpJson.write(hostileLines.join('\n') + '\n' + junk(3000).toString('latin1').replace(/\n/g, '') + '\n');
  const tcpProto = await tcpSocket(tp);
  tcpProto.write(Buffer.concat([encodeFrameDelimited(good('lidar_b', 2)), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])])); // then a malformed length
  const tcpHuge = await tcpSocket(tp);
  tcpHuge.write(Buffer.from([0xff, 0xff, 0xff, 0x7f])); // a 268 MB length prefix
  const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.on('close', () => r())));
  await Promise.all([closed(tcpProto), closed(tcpHuge)]);
  t.pass('connections whose framing cannot be resynchronized are closed');
  await new Promise((r) => setTimeout(r, 200));
  const st = ingest.stats();
  t.ok((st.unattributed.decode_error ?? 0) > 250, `random bytes and bad JSON counted as decode_error (${st.unattributed.decode_error})`);
  t.match(st.unattributed, { oversize: Number, unknown_sensor: 1, empty: 2 }, 'an empty datagram on either UDP port is counted as empty');
  t.match(st.sensors.lidar_b!.framesDropped, { future: 1, stale: 1, too_many_objects: 1, bad_field: 2 });
  t.match(st.sensors.lidar_b!.objectsDropped, { non_finite: 1, out_of_range: 1 });
  t.ok(drops.includes('object:non_finite') && drops.includes('frame:decode_error') && drops.includes('frame:bad_field'), 'every drop reaches the metrics hook');

  // Every port still takes good frames.
  const tp2 = await tcpSocket(tp);
  const sends: [string, () => void][] = [
    ['UDP protobuf', () => udp.send(encodeFrame(good('lidar_a', 10)), up, '127.0.0.1')],
    ['UDP JSON', () => udp.send(encodeFrameJson(good('lidar_a', 11)), uj, '127.0.0.1')],
    ['TCP protobuf', () => tp2.write(encodeFrameDelimited(good('lidar_a', 12)))],
    ['TCP JSON', () => tcpJson.write(encodeFrameJson(good('lidar_a', 13)) + '\n')],
  ];
  for (const [port, send] of sends) {
    const before = accepted.length;
    await new Promise((r) => setTimeout(r, 2)); // a later capture time than the previous frame's
    send();
    await until(`a good frame on ${port}`, () => accepted.length === before + 1, 3000);
  }
  t.same(accepted.slice(-4).map((a) => a.frameNumber), [10, 11, 12, 13], 'every port takes good frames after the hostile ones');
  tp2.destroy();
  tcpJson.destroy();
});

t.test('TCP connections beyond the limit are refused and counted', async (t) => {
  const ingest = new SensorIngest({ sensors: sensors(), listeners: [{ protocol: 'tcp', listen: '127.0.0.1:0', format: 'json' }], maxFutureMs: 500, maxAgeMs: 2000, maxObjectsPerFrame: 64, maxFrameBytes: 4096, logger: silent, maxConnections: 2 });
  const [l] = await ingest.start();
  t.teardown(() => ingest.close());
  const socks = [await tcpSocket(l!.port), await tcpSocket(l!.port)];
  await until('two connections', () => ingest.stats().listeners[0]!.connections === 2, 2000);
  const third = await tcpSocket(l!.port);
  await until('the third refused', () => ingest.stats().listeners[0]!.connectionsRefused === 1, 2000);
  for (const s of [...socks, third]) s.destroy();
});
