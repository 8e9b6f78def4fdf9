// Ingest over real TCP sockets on 127.0.0.1: length-delimited protobuf and JSON lines, split at arbitrary byte
// boundaries; bad frames inside a good stream; a stream that cannot be resynchronized.

import t, { type Test } from 'tap';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { validateConfig } from '../runtime/config/index.js';
import { DetectionSender, encodeFrameDelimited, encodeFrameJson, SensorIngest, type DetectionFrame, type DetectionFrameInput } from '../hw/sensors/index.js';

const cfg = validateConfig({
  sensors: [
    { id: 'lidar_a', kind: 'lidar', pose: {} },
    { id: 'lidar_b', kind: 'lidar', pose: {}, clockOffsetMs: -1000 },
    { id: 'radar_c', kind: 'radar', pose: {}, latencyMs: 25 },
  ],
  ingest: {
    listeners: [
      { protocol: 'tcp', listen: '127.0.0.1:0', format: 'protobuf' },
      { protocol: 'tcp', listen: '127.0.0.1:0', format: 'json' },
    ],
    maxFrameBytes: 64 * 1024,
  },
}).config!;

const ns = (ms: number) => BigInt(Math.round(ms * 1000)) * 1000n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A deterministic pseudo-random sequence, so a failing split can be reproduced. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function frames(sensorId: string, n: number, offsetMs = 0): DetectionFrameInput[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, k) => ({
    sensorId,
    captureTimeNs: ns(now - 200 + k + offsetMs),
    frameNumber: k + 1,
    objects: Array.from({ length: 1 + (k % 12) }, (_, i) => ({
      id: i,
      classification: 'car' as const,
      confidence: 0.5,
      box3d: { x: 10 + i, y: k % 7, z: 0.5, length: 4, width: 2, height: 1.5, yaw: 0.5 },
    })),
  }));
}

/** Writes `data` in pieces of random size (1..maxPiece bytes), letting each reach the socket on its own. */
async function writeSplit(sock: Socket, data: Buffer, rnd: () => number, maxPiece: number): Promise<number> {
  let pieces = 0;
  for (let pos = 0; pos < data.length; pieces++) {
    const n = 1 + Math.floor(rnd() * maxPiece);
    if (!sock.write(data.subarray(pos, pos + n))) await once(sock, 'drain');
    pos += n;
    if (pieces % 4 === 0) await sleep(0);
  }
  return pieces;
}

async function start(t: Test) {
  const ingest = new SensorIngest({ ...cfg.ingest, sensors: cfg.sensors, logger: pino({ level: 'silent' }) });
  const [pb, js] = await ingest.start();
  t.teardown(() => ingest.close());
  const got: DetectionFrame[] = [];
  ingest.onFrame((f) => got.push(f));
  return { ingest, pb: pb!.port, js: js!.port, got };
}

async function open(t: Test, port: number): Promise<Socket> {
  const sock = connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  await once(sock, 'connect');
  t.teardown(() => {
    sock.destroy();
  });
  return sock;
}

t.test('delimited protobuf stream split at arbitrary byte boundaries', async (t) => {
  const { ingest, pb, got } = await start(t);
  const sent = frames('lidar_a', 120);
  const stream = Buffer.concat(sent.map((f) => encodeFrameDelimited(f)));
  const sock = await open(t, pb);
  const rnd = lcg(42);
  // The first part byte by byte, then pieces of up to 300 bytes (frames are ~40-400 bytes).
  const head = stream.subarray(0, 600);
  await writeSplit(sock, head, rnd, 1);
  const pieces = await writeSplit(sock, stream.subarray(600), rnd, 300);
  t.ok(pieces > 50, `${pieces} pieces`);
  await waitFor(() => got.length === sent.length, `${sent.length} frames`);
  t.same(got.map((f) => f.frameNumber), sent.map((f) => f.frameNumber));
  t.same(got.map((f) => f.objects.length), sent.map((f) => f.objects.length));
  t.same(ingest.stats().unattributed, {});
  t.match(ingest.stats().listeners[0], { protocol: 'tcp', messages: sent.length, bytes: stream.length, connections: 1 });
});

t.test('JSON lines split at arbitrary boundaries, CRLF and blank lines', async (t) => {
  const { js, got, ingest } = await start(t);
  const sent = frames('radar_c', 60);
  const text = sent.map((f, i) => `${encodeFrameJson(f)}${i % 3 === 0 ? '\r\n' : '\n'}${i % 10 === 0 ? '\n' : ''}`).join('');
  const sock = await open(t, js);
  await writeSplit(sock, Buffer.from(text), lcg(7), 97);
  await waitFor(() => got.length === sent.length, `${sent.length} frames`);
  t.same(got.map((f) => f.frameNumber), sent.map((f) => f.frameNumber));
  const sentMs = Number(sent[0]!.captureTimeNs / 1000n) / 1000;
  t.ok(Math.abs(got[0]!.timeMs - (sentMs - 25)) < 1e-6, 'latency subtracted');
  t.same(ingest.stats().unattributed, {});
});

t.test('a bad frame inside a good stream is counted; the stream goes on', async (t) => {
  const { ingest, pb, js, got } = await start(t);
  const good = frames('lidar_b', 4, -1000); // lidar_b's clock is 1 s behind the RSU's: offset -1000 ms
  const bad = Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]); // length 5, then bytes that are no protobuf
  const stream = Buffer.concat([encodeFrameDelimited(good[0]!), bad, encodeFrameDelimited(good[1]!), encodeFrameDelimited({ ...good[2]!, sensorId: 'stranger' }), encodeFrameDelimited(good[3]!)]);
  const sock = await open(t, pb);
  sock.write(stream);
  await waitFor(() => got.length === 3, '3 frames');
  t.same(got.map((f) => f.frameNumber), [1, 2, 4]);
  t.same(ingest.stats().unattributed, { decode_error: 1, unknown_sensor: 1 });
  const sent0 = Number(good[0]!.captureTimeNs / 1000n) / 1000;
  t.ok(Math.abs(got[0]!.timeMs - (sent0 + 1000)) < 1e-6, 'negative clock offset: the sensor is behind, its times move forward');
  // JSON: a broken line between good ones
  const jsock = await open(t, js);
  const more = frames('lidar_a', 2);
  jsock.write(`${encodeFrameJson(more[0]!)}\n{"header":{"sensorId":\n${encodeFrameJson(more[1]!)}\n`);
  await waitFor(() => got.length === 5, '5 frames');
  t.equal(ingest.stats().unattributed.decode_error, 2);
});

t.test('an impossible length closes that connection only', async (t) => {
  const { ingest, pb, got } = await start(t);
  const bad = await open(t, pb);
  const closed = once(bad, 'close');
  bad.write(Buffer.from([0xff, 0xff, 0xff, 0x7f])); // varint 268435455 > maxFrameBytes
  await closed;
  t.equal(ingest.stats().unattributed.oversize, 1);
  const good = await DetectionSender.connect(`127.0.0.1:${pb}`, { protocol: 'tcp' });
  t.teardown(() => good.close());
  for (const f of frames('lidar_a', 3)) good.send(f);
  await waitFor(() => got.length === 3, 'frames on a new connection');
  t.pass('the listener still accepts connections and frames');
});

t.test('several connections at once, one per sensor', async (t) => {
  const { ingest, pb, got } = await start(t);
  const senders = await Promise.all(['lidar_a', 'lidar_b', 'radar_c'].map(() => DetectionSender.connect(`127.0.0.1:${pb}`, { protocol: 'tcp' })));
  t.teardown(() => Promise.all(senders.map((s) => s.close())));
  const batches = [frames('lidar_a', 50), frames('lidar_b', 50, -1000), frames('radar_c', 50)];
  for (let k = 0; k < 50; k++) {
    batches.forEach((b, i) => senders[i]!.send(b[k]!));
    if (k % 10 === 0) await sleep(1);
  }
  await waitFor(() => got.length === 150, '150 frames');
  const st = ingest.stats();
  t.same(
    Object.fromEntries(Object.entries(st.sensors).map(([id, s]) => [id, s.frames])),
    { lidar_a: 50, lidar_b: 50, radar_c: 50 },
  );
  t.equal(st.listeners[0]!.connections, 3);
  for (const id of ['lidar_a', 'lidar_b', 'radar_c']) {
    const seq = got.filter((f) => f.sensorId === id).map((f) => f.frameNumber);
    t.same(seq, Array.from({ length: 50 }, (_, i) => i + 1), `${id} in order`);
  }
});
