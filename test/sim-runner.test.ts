// The runner: every configured sensor emits frames at its rate with its own frame numbers and capture times,
// the ground truth of every capture instant comes back, the run is reproducible; in real time, frames sent over
// UDP to the real ingest are all accepted.

import t from 'tap';
import { pino } from 'pino';
import { defaultConfig, validateConfig } from '../runtime/config/index.js';
import { demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { DetectionSender, SensorIngest, type DetectionFrame, type DetectionFrameInput } from '../hw/sensors/index.js';
import { runSimulation } from '../runtime/sim/index.js';

const config = defaultConfig();
const laneMap = loadLaneMap(demoLaneMapPath());
const rates: Record<string, number> = { lidar_north: 10, lidar_south: 10, camera_south1: 15, camera_south2: 15, camera_north: 15 };
const key = (f: DetectionFrameInput) => JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

t.test('as fast as possible: frames at each sensor\'s rate, truth at every capture instant', async (t) => {
  const frames: DetectionFrameInput[] = [];
  const res = await runSimulation({ config, laneMap, seed: 'runner', realtime: false, durationS: 20, send: (f) => frames.push(f) });
  t.comment(`20 s simulated in ${res.wallMs.toFixed(0)} ms (${res.speed.toFixed(0)}x real time); ${res.truth.length} truth ticks`);
  for (const [id, hz] of Object.entries(rates)) {
    const mine = frames.filter((f) => f.sensorId === id);
    const st = res.sensors[id]!;
    t.ok(Math.abs(mine.length - 20 * hz) <= 1, `${id}: ${mine.length} frames in 20 s; ${(st.detections / st.frames).toFixed(1)} detections per frame (${(st.falsePositives / st.frames).toFixed(2)} clutter), ${(st.inReach / st.frames).toFixed(1)} objects in reach, ${st.inReach ? ((st.detectedInReach / st.inReach) * 100).toFixed(0) : '-'} % detected`);
    t.same(mine.map((f) => f.frameNumber), mine.map((_, i) => i), `${id}: frame numbers 0, 1, 2, ...`);
    const periods = new Set(mine.slice(1).map((f, i) => f.captureTimeNs - mine[i]!.captureTimeNs));
    t.same([...periods], [BigInt(Math.round(1e9 / hz))], `${id}: capture times ${1000 / hz} ms apart`);
    t.ok(mine.every((f) => new Set(f.objects.map((o) => o.id)).size === f.objects.length), `${id}: ids unique within each frame`);
  }
  const lidarDetections = res.sensors['lidar_north']!.detections + res.sensors['lidar_south']!.detections;
  t.ok(lidarDetections / 400 > 5, 'the lidars see traffic');
  t.ok(res.sensors['camera_south1']!.detections / 300 > 1, 'camera_south1 sees traffic');
  // Truth: one tick per capture instant, in order, with the frames' capture times (offsets are 0 in the demo).
  const times = new Set(res.truth.map((x) => x.timeNs));
  t.ok(frames.every((f) => times.has(f.captureTimeNs)), 'every frame has the ground truth of its capture instant');
  t.ok(res.truth.every((x, i) => i === 0 || x.timeNs > res.truth[i - 1]!.timeNs), 'ticks in time order');
  // Frames interleave in capture-time order.
  t.ok(frames.every((f, i) => i === 0 || f.captureTimeNs >= frames[i - 1]!.captureTimeNs), 'frames leave in capture-time order');

  const again: DetectionFrameInput[] = [];
  await runSimulation({ config, laneMap, seed: 'runner', realtime: false, durationS: 20, send: (f) => again.push(f) });
  t.equal(again.map(key).join('\n'), frames.map(key).join('\n'), 'same seed: the same frames, byte for byte');
  const other: DetectionFrameInput[] = [];
  await runSimulation({ config, laneMap, seed: 'held-out', realtime: false, durationS: 5, send: (f) => other.push(f) });
  t.not(other.slice(0, 20).map(key).join(), frames.slice(0, 20).map(key).join(), 'another seed: another scenario');
});

t.test('clock offsets and latency of a sensor show in its capture times', async (t) => {
  const cfg = defaultConfig();
  cfg.sensors = cfg.sensors.map((s) => (s.id === 'lidar_north' ? { ...s, clockOffsetMs: 250, latencyMs: 40 } : s));
  const got: DetectionFrameInput[] = [];
  const res = await runSimulation({ config: cfg, laneMap, seed: 1, realtime: false, durationS: 1, only: ['lidar_north'], send: (f) => got.push(f) });
  t.equal(got.length, 10);
  t.ok(got.every((f, i) => f.captureTimeNs - res.truth[i]!.timeNs === 290_000_000n), 'stamped 290 ms after the true capture');
});

t.test('real time: frames over UDP into the ingest, all accepted', async (t) => {
  const cfg = validateConfig({ ingest: { listeners: [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }] } }).config!;
  const ingest = new SensorIngest({ ...cfg.ingest, sensors: cfg.sensors, logger: pino({ level: 'silent' }) });
  const [bound] = await ingest.start();
  t.teardown(() => ingest.close());
  const accepted: DetectionFrame[] = [];
  ingest.onFrame((f) => accepted.push(f));
  const sender = await DetectionSender.connect(`127.0.0.1:${bound!.port}`, { protocol: 'udp' });
  t.teardown(() => sender.close());
  let sent = 0;
  const wall0 = Date.now();
  const res = await runSimulation({ config: cfg, laneMap, seed: 'live', realtime: true, durationS: 1.5, warmupS: 30, send: (f) => (sent++, sender.send(f)) });
  const wall = Date.now() - wall0;
  await new Promise((r) => setTimeout(r, 100));
  t.ok(wall >= 1300 && wall < 4000, `1.5 simulated seconds took ${wall} ms of wall time (warm-up included)`);
  t.ok(sent >= 60, `${sent} frames sent`);
  t.equal(accepted.length, sent, 'every frame accepted');
  const stats = ingest.stats();
  for (const [id, s] of Object.entries(stats.sensors)) {
    t.same(s.framesDropped, {}, `${id}: no frame dropped`);
    t.same(s.objectsDropped, {}, `${id}: no object dropped`);
  }
  const lag = accepted.map((f) => f.receivedMs - f.timeMs);
  t.ok(Math.max(...lag) < 200, `frames arrive within ${Math.max(...lag).toFixed(0)} ms of their capture time`);
  t.equal(res.truth.length, 0, 'real time keeps no truth unless asked');

  // Stopping a real-time run.
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const t1 = Date.now();
  const r2 = await runSimulation({ config: cfg, laneMap, seed: 'live', realtime: true, warmupS: 0, signal: ac.signal, send: () => undefined });
  t.ok(Date.now() - t1 < 1500 && r2.simS < 1, `aborted after ${r2.simS.toFixed(2)} simulated s`);
});
