// Frame validation, time alignment and counters (no sockets), the async iterator, and the rate-limited log.

import t from 'tap';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { validateConfig, type SensorConfig } from '../runtime/config/index.js';
import {
  decodeProtobuf,
  encodeFrame,
  FrameProcessor,
  parseJsonFrame,
  encodeFrameJson,
  RateLimitedLogger,
  SensorIngest,
  type DetectedObject,
  type DetectionFrameInput,
  type WireFrame,
} from '../hw/sensors/index.js';

const sensors: SensorConfig[] = validateConfig({
  sensors: [
    { id: 'lidar_a', kind: 'lidar', pose: {}, maxRangeM: 200 },
    { id: 'lidar_b', kind: 'lidar', pose: {}, clockOffsetMs: 250, latencyMs: 40 },
    { id: 'cam_a', kind: 'camera', pose: {}, intrinsics: { width: 1920, height: 1200, fx: 1400, fy: 1400, cx: 960, cy: 600 } },
    { id: 'off', kind: 'radar', pose: {}, enabled: false },
  ],
}).config!.sensors;

const NOW = 1_750_000_000_000; // ms
const ns = (ms: number) => BigInt(Math.round(ms * 1000)) * 1000n;
const car = (over: Partial<DetectedObject> = {}): DetectedObject => ({
  id: 7,
  classification: 'car',
  confidence: 0.875,
  box3d: { x: 12, y: -3, z: 0.75, length: 4.5, width: 1.875, height: 1.5, yaw: 0.25 },
  velocity: { x: 8, y: 0.5, z: 0 },
  ...over,
});
const frame = (over: Partial<DetectionFrameInput> = {}): DetectionFrameInput => ({
  sensorId: 'lidar_a',
  captureTimeNs: ns(NOW - 30),
  frameNumber: 1,
  objects: [car()],
  ...over,
});
const wire = (f: DetectionFrameInput): WireFrame => decodeProtobuf(encodeFrame(f));
const processor = () => new FrameProcessor({ sensors, maxFutureMs: 500, maxAgeMs: 2000, maxObjectsPerFrame: 50 });

t.test('an accepted frame: objects copied, capture time on the RSU timeline', async (t) => {
  const p = processor();
  const v = p.process(wire(frame()), NOW);
  if (!v.ok) throw new Error(v.detail);
  t.equal(v.frame.sensorId, 'lidar_a');
  t.equal(v.frame.sensorKind, 'lidar');
  t.equal(v.frame.frameNumber, 1);
  t.equal(v.frame.timeMs, NOW - 30);
  t.equal(v.frame.sensorTimeMs, NOW - 30);
  t.equal(v.frame.receivedMs, NOW);
  t.same(v.frame.objects, [car()], 'values survive float32 (chosen exactly representable)');
  t.doesNotThrow(() => JSON.stringify(v.frame), 'frames are JSON-safe');
});

t.test('clock offset and latency move frames onto the RSU clock', async (t) => {
  const p = processor();
  // lidar_b's clock runs 250 ms ahead; its frames are stamped 40 ms after capture.
  const v = p.process(wire(frame({ sensorId: 'lidar_b', captureTimeNs: ns(NOW + 250 - 10) })), NOW);
  t.ok(v.ok);
  if (v.ok) t.equal(v.frame.timeMs, NOW - 10 - 40);
  // A frame with no capture time: arrival minus latency.
  const w = p.process(wire(frame({ sensorId: 'lidar_b', captureTimeNs: 0n, frameNumber: 2 })), NOW + 5);
  t.ok(w.ok);
  if (w.ok) {
    t.equal(w.frame.timeMs, NOW + 5 - 40);
    t.equal(w.frame.sensorTimeMs, 0);
  }
  t.equal(p.stats(NOW + 5).sensors['lidar_b']!.lastLatencyMs, 40);
});

t.test('frames dropped with a reason, counted per sensor or unattributed', async (t) => {
  const p = processor();
  const reasons: string[] = [];
  const run = (f: WireFrame, at = NOW) => {
    const v = p.process(f, at);
    reasons.push(v.ok ? 'ok' : v.reason);
  };
  run(wire(frame({ sensorId: 'nobody' })));
  run(wire(frame({ sensorId: '' })));
  run({ header: null, objects: [] });
  run(wire(frame({ sensorId: 'off' })));
  run(wire(frame({ objects: Array.from({ length: 51 }, (_, i) => car({ id: i })) })));
  run(wire(frame({ captureTimeNs: ns(NOW + 600) })));
  run(wire(frame({ captureTimeNs: ns(NOW - 2500) })));
  run(wire(frame({ frameNumber: 10, captureTimeNs: ns(NOW - 30) }))); // ok
  run(wire(frame({ frameNumber: 10, captureTimeNs: ns(NOW - 30) }))); // same capture time
  run(wire(frame({ frameNumber: 9, captureTimeNs: ns(NOW - 80) })));
  const cut = encodeFrame(frame({ frameNumber: 11, captureTimeNs: ns(NOW - 20), objects: [car(), car({ id: 8 })] }));
  const one = cut.length - encodeFrame(frame({ frameNumber: 11, captureTimeNs: ns(NOW - 20), objects: [car()] })).length;
  run(decodeProtobuf(cut.subarray(0, cut.length - one))); // cut at the object boundary: still decodes
  t.same(reasons, ['unknown_sensor', 'bad_header', 'bad_header', 'disabled_sensor', 'too_many_objects', 'future', 'stale', 'ok', 'duplicate', 'out_of_order', 'truncated']);
  const st = p.stats(NOW);
  t.same(st.unattributed, { unknown_sensor: 1, bad_header: 2 });
  t.same(st.sensors['lidar_a']!.framesDropped, { too_many_objects: 1, future: 1, stale: 1, duplicate: 1, out_of_order: 1, truncated: 1 });
  t.same(st.sensors['off']!.framesDropped, { disabled_sensor: 1 });
  t.equal(st.sensors['lidar_a']!.frames, 1);
});

t.test('bad objects are dropped one by one, the rest of the frame stays', async (t) => {
  const p = processor();
  const objects: DetectedObject[] = [
    car({ id: 1 }),
    car({ id: 2, box3d: { ...car().box3d!, x: NaN } }),
    car({ id: 3, box3d: { ...car().box3d!, x: 500 } }), // beyond maxRangeM 200
    car({ id: 4, box3d: { ...car().box3d!, length: 45 } }),
    car({ id: 5, box3d: { ...car().box3d!, width: 0 } }),
    car({ id: 6, confidence: 1.5 }),
    car({ id: 7, velocity: { x: 150, y: 0, z: 0 } }),
    car({ id: 8, velocity: { x: Infinity, y: 0, z: 0 } }),
    { id: 9, classification: 'pedestrian', confidence: 0.8 }, // lidar object without a 3D box
    car({ id: 10, positionCovariance: [1, 0, 0] }),
    car({ id: 11, positionCovariance: [-1, 0, 0, 0, 1, 0, 0, 0, 1] }),
    car({ id: 12, positionCovariance: [0.25, 0, 0, 0, 0.25, 0, 0, 0, 1], velocityCovariance: [1, 0, 0, 0, 1, 0, 0, 0, 1] }),
  ];
  const v = p.process(wire(frame({ objects })), NOW);
  if (!v.ok) throw new Error(v.detail);
  t.same(v.frame.objects.map((o) => o.id), [1, 12]);
  t.same(v.droppedObjects.map((d) => d.reason), ['non_finite', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'out_of_range', 'non_finite', 'missing_box', 'bad_covariance', 'bad_covariance']);
  t.same(v.frame.objects[1]!.positionCovariance, [0.25, 0, 0, 0, 0.25, 0, 0, 0, 1]);
  t.same(p.stats(NOW).sensors['lidar_a']!.objectsDropped, { non_finite: 2, out_of_range: 5, missing_box: 1, bad_covariance: 2 });
});

t.test('camera objects need a 2D box inside the image', async (t) => {
  const p = processor();
  const box = { x: 100, y: 200, width: 80, height: 160 };
  const v = p.process(
    wire(
      frame({
        sensorId: 'cam_a',
        objects: [
          { id: 1, classification: 'pedestrian', confidence: 0.7, box2d: box },
          { id: 2, classification: 'car', confidence: 0.7, box2d: { ...box, x: 2000 } },
          { id: 3, classification: 'car', confidence: 0.7, box2d: { ...box, width: -5 } },
          { id: 4, classification: 'car', confidence: 0.7, box3d: car().box3d! },
        ],
      }),
    ),
    NOW,
  );
  if (!v.ok) throw new Error(v.detail);
  t.same(v.frame.objects, [{ id: 1, classification: 'pedestrian', confidence: 0.699999988079071, box2d: box }]);
  t.same(v.droppedObjects.map((d) => d.reason), ['out_of_range', 'out_of_range', 'missing_box']);
});

t.test('missed frames, rates and last-frame age', async (t) => {
  const p = processor();
  let n = 0;
  for (let i = 0; i < 30; i++) {
    if (i === 10 || i === 11) continue; // two frames lost
    const at = NOW + i * 100;
    t.ok(p.process(wire(frame({ frameNumber: i + 1, captureTimeNs: ns(at - 20), objects: [car(), car({ id: 8 })] })), at).ok);
    n++;
  }
  const last = NOW + 29 * 100;
  const s = p.stats(last + 50).sensors['lidar_a']!;
  t.equal(s.frames, n);
  t.equal(s.objects, 2 * n);
  t.equal(s.framesMissed, 2);
  t.ok(s.frameRateHz > 8 && s.frameRateHz <= 11, `~10 Hz: ${s.frameRateHz}`);
  t.ok(s.objectRatePerS > 16 && s.objectRatePerS <= 22, `~20 objects/s: ${s.objectRatePerS}`);
  t.equal(s.lastFrameAgeMs, 50);
  t.equal(s.lastLatencyMs, 20);
  // A sensor that went quiet: its rate decays instead of freezing.
  const later = p.stats(last + 10_000).sensors['lidar_a']!;
  t.ok(later.frameRateHz < 1, `quiet sensor: ${later.frameRateHz} Hz`);
});

t.test('JSON lines take the same path as protobuf', async (t) => {
  const p = processor();
  const f = frame({ objects: [car({ classification: 'truck' })] });
  const json = encodeFrameJson(f);
  t.match(json, /"classification":"OBJECT_CLASS_TRUCK"/);
  t.match(json, /"captureTimeNs":"\d+"/);
  const v = p.process(parseJsonFrame(json), NOW);
  if (!v.ok) throw new Error(v.detail);
  t.same(v.frame.objects, f.objects);
  // short class names, numbers for 64-bit values, omitted zero fields (proto3 JSON)
  const w = p.process(
    parseJsonFrame(
      JSON.stringify({
        header: { sensorId: 'lidar_a', captureTimeNs: (NOW - 10) * 1e6, frameNumber: 2 },
        objects: [{ id: 3, classification: 'bicycle', confidence: 0.5, box3d: { x: 5, length: 1.75, width: 0.5, height: 1.5 } }],
      }),
    ),
    NOW,
  );
  if (!w.ok) throw new Error(w.detail);
  t.same(w.frame.objects[0], { id: 3, classification: 'bicycle', confidence: 0.5, box3d: { x: 5, y: 0, z: 0, length: 1.75, width: 0.5, height: 1.5, yaw: 0 } });
  // wrong types surface as non-finite values, not as exceptions
  const x = p.process(parseJsonFrame(`{"header":{"sensorId":"lidar_a","captureTimeNs":"${(NOW - 5) * 1e6}"},"objects":[{"confidence":"high"}]}`), NOW);
  t.same(x.ok && x.droppedObjects, [{ index: 0, reason: 'non_finite' }]);
  t.throws(() => parseJsonFrame('[1,2]'), /expected a JSON object/);
  t.throws(() => parseJsonFrame('{"objects": 5}'), /array expected/);
});

t.test('frames() delivers in order, drops the oldest when the consumer lags, ends on close', async (t) => {
  const ingest = new SensorIngest({ sensors, listeners: [], maxFutureMs: 500, maxAgeMs: 2000, maxObjectsPerFrame: 50, maxFrameBytes: 65536, logger: pino({ level: 'silent' }) });
  await ingest.start();
  const it = ingest.frames({ maxQueue: 3 });
  const now = Date.now();
  for (let i = 1; i <= 5; i++) ingest.ingest(encodeFrame(frame({ frameNumber: i, captureTimeNs: ns(now - 100 + i) })), 'protobuf');
  const got: number[] = [];
  for (let i = 0; i < 3; i++) got.push((await it.next()).value!.frameNumber);
  t.same(got, [3, 4, 5], 'the two oldest were dropped');
  t.equal(ingest.stats().sensors['lidar_a']!.framesDropped.queue_full, 2);
  const pending = it.next();
  ingest.ingest(`${encodeFrameJson(frame({ frameNumber: 6, captureTimeNs: ns(now - 50) }))}\n`, 'json');
  t.equal((await pending).value!.frameNumber, 6, 'a waiting consumer gets the next frame');
  const second = ingest.frames();
  const waiting = second.next();
  await ingest.close();
  t.same(await waiting, { value: undefined, done: true });
  t.same(await it.next(), { value: undefined, done: true });
});

t.test('the rate-limited log lets a burst through and reports what it held back', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      cb();
    },
  });
  let now = 0;
  const rl = new RateLimitedLogger(pino({ level: 'warn' }, sink), { intervalMs: 1000, burst: 3, now: () => now });
  for (let i = 0; i < 100; i++) rl.warn('k', { i }, 'bad packet');
  rl.warn('other', {}, 'another key');
  now = 1500;
  rl.warn('k', { i: 100 }, 'bad packet');
  await new Promise((r) => setImmediate(r));
  t.same(lines.map((l) => l['i'] ?? l['msg']), [0, 1, 2, 'another key', 100]);
  t.equal(lines[4]!['suppressed'], 97);
});
