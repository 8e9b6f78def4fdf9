// Ingest throughput over UDP on loopback, 100 objects per frame. The sender is a separate process (plain
// Node, no TypeScript) so the measured process only receives: it replays one encoded frame, patching the
// capture time so every datagram is a new frame. Prints frames/s and objects/s; asserts only a low floor.
//
// RSU_INGEST_BENCH_MS=5000 RSU_INGEST_BENCH_RATE=10000 npx tap test/ingest-throughput.test.ts  (longer runs, other rates)

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateConfig } from '../runtime/config/index.js';
import { decodeProtobuf, encodeFrame, FrameProcessor, SensorIngest, type DetectedObject } from '../hw/sensors/index.js';

const RUN_MS = Number(process.env['RSU_INGEST_BENCH_MS'] ?? 1500);
const PACED_FPS = Number(process.env['RSU_INGEST_BENCH_RATE'] ?? 500);
const OBJECTS = 100;

const cfg = validateConfig({
  sensors: [{ id: 'lidar_bench', kind: 'lidar', pose: {} }],
  ingest: { listeners: [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }], maxObjectsPerFrame: 1024 },
}).config!;

const objects: DetectedObject[] = Array.from({ length: OBJECTS }, (_, i) => ({
  id: i,
  classification: i % 5 === 0 ? 'pedestrian' : 'car',
  confidence: 0.8,
  box3d: { x: 5 + (i % 50), y: -20 + (i % 40), z: 0.6, length: 4.4, width: 1.8, height: 1.5, yaw: (i % 16) * 0.39 },
  velocity: { x: 8.3, y: 0.2, z: 0 },
  positionCovariance: [0.04, 0, 0, 0, 0.04, 0, 0, 0, 0.09],
}));
const MARK = 0x0123456789abcdefn; // found in the encoding to learn where the capture time sits
const template = Buffer.from(encodeFrame({ sensorId: 'lidar_bench', captureTimeNs: MARK, frameNumber: 1, objects }));
const mark = Buffer.alloc(8);
mark.writeBigUInt64LE(MARK);
const timeOffset = template.indexOf(mark);

// Sends `template` as fast as the socket takes it (rate 0) or at `rate` datagrams/s, for `ms`.
const SENDER = `
import dgram from 'node:dgram';
import fs from 'node:fs';
const [file, port, offset, ms, rate] = process.argv.slice(2).map((a, i) => (i ? Number(a) : a));
const tpl = fs.readFileSync(file);
const sock = dgram.createSocket('udp4');
sock.connect(port, '127.0.0.1', async () => {
  let prev = 0n, sent = 0;
  const t0 = Date.now(), end = t0 + ms;
  while (Date.now() < end) {
    const due = rate ? Math.floor(((Date.now() - t0) * rate) / 1000) : sent + 32;
    while (sent < due) {
      const buf = Buffer.from(tpl);
      let t = BigInt(Date.now()) * 1000000n;
      if (t <= prev) t = prev + 1000n;
      prev = t;
      buf.writeBigUInt64LE(t, offset);
      sock.send(buf);
      sent++;
    }
    await new Promise((r) => (rate ? setTimeout(r, 1) : setImmediate(r)));
  }
  sock.close(() => { process.stdout.write(JSON.stringify({ sent, ms: Date.now() - t0 })); });
});
`;

async function run(t: Test, rate: number): Promise<{ sent: number; accepted: number; objects: number; seconds: number; rcvbuf: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-ingest-bench-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'frame.bin'), template);
  writeFileSync(join(dir, 'sender.mjs'), SENDER);
  const ingest = new SensorIngest({ ...cfg.ingest, sensors: cfg.sensors, logger: pino({ level: 'silent' }), udpReceiveBufferBytes: 8 * 1024 * 1024 });
  const [b] = await ingest.start();
  t.teardown(() => ingest.close());
  let accepted = 0;
  let objs = 0;
  let first = 0;
  let last = 0;
  ingest.onFrame((f) => {
    if (accepted++ === 0) first = performance.now();
    last = performance.now();
    objs += f.objects.length;
  });
  const child = spawn(process.execPath, [join(dir, 'sender.mjs'), join(dir, 'frame.bin'), String(b!.port), String(timeOffset), String(RUN_MS), String(rate)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.equal(code, 0, 'sender exited cleanly');
  await new Promise((r) => setTimeout(r, 200)); // let the socket buffer drain
  const { sent } = JSON.parse(out) as { sent: number; ms: number };
  const st = ingest.stats();
  t.same(st.sensors['lidar_bench']!.objectsDropped, {}, 'no object rejected');
  t.same(st.unattributed, {}, 'no datagram undecodable');
  return { sent, accepted, objects: objs, seconds: (last - first) / 1000, rcvbuf: st.listeners[0]!.receiveBufferBytes! };
}

t.test('saturated: the sender sends as fast as it can', async (t) => {
  const r = await run(t, 0);
  const fps = r.accepted / r.seconds;
  t.comment(
    `UDP loopback, ${OBJECTS} objects/frame (${template.length} bytes): offered ${r.sent} frames, accepted ${r.accepted} ` +
      `(${((100 * r.accepted) / r.sent).toFixed(1)}%): ${fps.toFixed(0)} frames/s, ${(r.objects / r.seconds).toFixed(0)} objects/s ` +
      `(socket receive buffer ${r.rcvbuf} bytes)`,
  );
  t.equal(r.objects, r.accepted * OBJECTS);
  t.ok(fps > 500, `at least 500 frames/s (${fps.toFixed(0)})`);
});

t.test(`paced at ${PACED_FPS} frames/s: (almost) nothing lost`, async (t) => {
  const r = await run(t, PACED_FPS);
  t.comment(`paced ${PACED_FPS} frames/s: sent ${r.sent}, accepted ${r.accepted} (${((100 * r.accepted) / r.sent).toFixed(2)}%)`);
  // Loopback drops only when the receive buffer fills: a pause (GC, a busy CPU) longer than the buffer lasts.
  t.ok(r.accepted >= r.sent * 0.98, `${r.accepted} of ${r.sent} accepted`);
});

t.test('decode + validate cost without sockets', async (t) => {
  const p = new FrameProcessor({ ...cfg.ingest, sensors: cfg.sensors });
  const n = 2000;
  const bufs = Array.from({ length: n }, (_, i) => {
    const buf = Buffer.from(template);
    buf.writeBigUInt64LE(BigInt(Date.now()) * 1000000n + BigInt(i) * 1000n, timeOffset);
    return buf;
  });
  const now = Date.now() + 10;
  const t0 = performance.now();
  let ok = 0;
  for (const b of bufs) if (p.process(decodeProtobuf(b), now).ok) ok++;
  const s = (performance.now() - t0) / 1000;
  t.equal(ok, n);
  t.comment(`decode + validate: ${(n / s).toFixed(0)} frames/s, ${((n * OBJECTS) / s).toFixed(0)} objects/s, ${((s / n) * 1e6).toFixed(0)} µs/frame`);
});
