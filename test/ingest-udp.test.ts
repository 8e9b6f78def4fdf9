// Ingest over real UDP sockets on 127.0.0.1: protobuf and JSON datagrams, garbage in between, clock offsets.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { validateConfig } from '../runtime/config/index.js';
import { DetectionSender, encodeFrame, SensorIngest, type DetectedObject, type DetectionFrame, type DetectionFrameInput } from '../hw/sensors/index.js';

const cfg = validateConfig({
  sensors: [
    { id: 'lidar_a', kind: 'lidar', pose: {} },
    { id: 'lidar_b', kind: 'lidar', pose: {}, clockOffsetMs: 250, latencyMs: 40 },
    { id: 'cam_a', kind: 'camera', pose: {}, intrinsics: { width: 1920, height: 1200, fx: 1400, fy: 1400, cx: 960, cy: 600 } },
  ],
  ingest: {
    listeners: [
      { protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' },
      { protocol: 'udp', listen: '127.0.0.1:0', format: 'json' },
    ],
  },
}).config!;

const ns = (ms: number) => BigInt(Math.round(ms * 1000)) * 1000n;
const tick = () => new Promise((r) => setImmediate(r));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const objects = (n: number, seed: number): DetectedObject[] =>
  Array.from({ length: n }, (_, i) => ({
    id: seed * 1000 + i,
    classification: (['car', 'truck', 'pedestrian', 'bicycle'] as const)[i % 4],
    confidence: 0.5 + (i % 4) / 8,
    box3d: { x: 5 + i, y: -10 + (i % 20), z: 0.5, length: 4.5, width: 2, height: 1.5, yaw: (i % 8) / 4 },
    ...(i % 2 ? { velocity: { x: i % 10, y: 0.5, z: 0 } } : {}),
  }));

t.test('protobuf datagrams from several sensors, with garbage in between', async (t) => {
  const ingest = new SensorIngest({ ...cfg.ingest, sensors: cfg.sensors, logger: pino({ level: 'silent' }) });
  const [pb] = await ingest.start();
  t.teardown(() => ingest.close());
  const got: DetectionFrame[] = [];
  ingest.onFrame((f) => got.push(f));
  const sender = await DetectionSender.connect(`127.0.0.1:${pb!.port}`, { protocol: 'udp' });
  t.teardown(() => sender.close());

  const sent: DetectionFrameInput[] = [];
  let garbage = 0;
  const start = Date.now();
  for (let i = 1; i <= 150; i++) {
    const f: DetectionFrameInput = { sensorId: i % 2 ? 'lidar_a' : 'lidar_b', captureTimeNs: 0n, frameNumber: i, objects: objects(1 + (i % 20), i) };
    // lidar_b's clock is 250 ms ahead of the RSU's.
    f.captureTimeNs = ns(start - 100 + i * 0.25 + (f.sensorId === 'lidar_b' ? 250 : 0));
    sent.push(f);
    const bytes = encodeFrame(f);
    sender.sendRaw(bytes);
    if (i % 3 === 0) {
      sender.sendRaw(bytes.subarray(0, 1 + ((i * 7919) % (bytes.length - 1)))); // truncated anywhere
      garbage++;
    }
    if (i % 5 === 0) {
      sender.sendRaw(randomBytes(1 + (i % 200))); // random bytes
      garbage++;
    }
    if (i % 10 === 0) await tick();
  }
  await waitFor(() => {
    const s = ingest.stats();
    const dropped = Object.values(s.unattributed).reduce((a, b) => a + b!, 0) + Object.values(s.sensors).reduce((a, x) => a + Object.values(x.framesDropped).reduce((p, q) => p + q!, 0), 0);
    return got.length + dropped >= sent.length + garbage;
  }, 'all datagrams');
  t.equal(got.length, sent.length, 'every valid frame accepted');
  t.same(got.map((f) => f.frameNumber), sent.map((f) => f.frameNumber), 'in order');
  const s = ingest.stats();
  const garbageCounted =
    Object.values(s.unattributed).reduce((a, b) => a + b!, 0) + Object.values(s.sensors).reduce((a, x) => a + Object.values(x.framesDropped).reduce((p, q) => p + q!, 0), 0);
  t.equal(garbageCounted, garbage, `each of the ${garbage} bad datagrams counted once`);
  t.ok((s.unattributed.decode_error ?? 0) > 0, 'decode errors counted');
  t.match(s.listeners[0], { protocol: 'udp', format: 'protobuf', messages: sent.length + garbage });
  // content survives; clock offset and latency applied
  const a = got.find((f) => f.sensorId === 'lidar_a')!;
  const b = got.find((f) => f.sensorId === 'lidar_b')!;
  const sa = sent.find((f) => f.frameNumber === a.frameNumber)!;
  t.equal(a.objects.length, sa.objects.length);
  t.same(a.objects[0]!.id, sa.objects[0]!.id);
  t.equal(a.objects[0]!.classification, sa.objects[0]!.classification);
  t.ok(Math.abs(a.timeMs - (Number(sa.captureTimeNs / 1000n) / 1000)) < 1e-6, 'lidar_a: capture time as sent');
  const sb = sent.find((f) => f.frameNumber === b.frameNumber)!;
  t.ok(Math.abs(b.timeMs - (Number(sb.captureTimeNs / 1000n) / 1000 - 250 - 40)) < 1e-6, 'lidar_b: minus offset and latency');
  t.ok(b.receivedMs - b.timeMs >= 100 - 40 && b.receivedMs - b.timeMs < 1000, `lidar_b latency ${b.receivedMs - b.timeMs} ms`);
  for (const f of got) t.ok(f.timeMs >= start - 400 && f.timeMs <= Date.now(), 'frames on the RSU timeline');
  t.equal(s.sensors['lidar_a']!.frames + s.sensors['lidar_b']!.frames, sent.length);
});

t.test('JSON datagrams, one frame per datagram (or per line)', async (t) => {
  const ingest = new SensorIngest({ ...cfg.ingest, sensors: cfg.sensors, logger: pino({ level: 'silent' }) });
  const [, js] = await ingest.start();
  t.teardown(() => ingest.close());
  const it = ingest.frames();
  const sender = await DetectionSender.connect(`127.0.0.1:${js!.port}`, { protocol: 'udp', format: 'json' });
  t.teardown(() => sender.close());
  const box = { x: 100, y: 200, width: 50, height: 120 };
  sender.send({ sensorId: 'cam_a', captureTimeNs: ns(Date.now() - 15), frameNumber: 1, objects: [{ id: 1, classification: 'pedestrian', confidence: 0.75, box2d: box }] });
  sender.sendRaw('not json at all');
  sender.sendRaw(`{"header":{"sensorId":"cam_a","captureTimeNs":"${ns(Date.now() - 10)}","frameNumber":2},"objects":[{"id":2,"classification":"car","confidence":0.5,"box2d":{"x":1,"y":2,"width":3,"height":4}}]}\n`);
  const f1 = (await it.next()).value!;
  const f2 = (await it.next()).value!;
  t.same(f1.objects, [{ id: 1, classification: 'pedestrian', confidence: 0.75, box2d: box }]);
  t.equal(f2.frameNumber, 2);
  t.equal(f2.sensorKind, 'camera');
  await waitFor(() => ingest.stats().unattributed.decode_error === 1, 'the bad datagram to be counted');
  await it.return!();
});

t.test('a busy port is a clear start error', async (t) => {
  const first = new SensorIngest({ ...cfg.ingest, listeners: [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }], sensors: cfg.sensors });
  const [b] = await first.start();
  t.teardown(() => first.close());
  const second = new SensorIngest({ ...cfg.ingest, listeners: [{ protocol: 'udp', listen: `127.0.0.1:${b!.port}`, format: 'protobuf' }], sensors: cfg.sensors });
  await t.rejects(second.start(), /ingest listener udp 127\.0\.0\.1:\d+: .*EADDRINUSE/);
});
