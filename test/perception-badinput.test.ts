// Bad input never crashes the stage and never makes a track: NaN and absurd detections, unknown and disabled
// sensors, out-of-order, duplicate and future frames, malformed frames, random garbage, a failing backend.

import t from 'tap';
import { validateConfig, type RsuConfig } from '../runtime/config/index.js';
import type { DetectedObject, DetectionFrame } from '../hw/sensors/index.js';
import { createPerception, seededRandom, type FusionBackend, type PerceptionStage } from '../runtime/perception/index.js';

const T0 = 1_750_000_000_000;

function site(): RsuConfig {
  const r = validateConfig({
    rsu: { reference: { lat: 48.2495, lon: 11.6389, elevation: 527 }, stationFrame: {} },
    sensors: [
      { id: 'lidar_a', kind: 'lidar', pose: { x: 0, y: 0, z: 5 }, maxRangeM: 150 },
      { id: 'lidar_b', kind: 'lidar', pose: { x: 10, y: 0, z: 5, yaw: 180 } },
      // Looking east, 6 m up, pitched 20° down.
      { id: 'cam', kind: 'camera', pose: { x: 0, y: 0, z: 6, pitch: 20 }, intrinsics: { width: 1920, height: 1200, fx: 1400, fy: 1400, cx: 960, cy: 600 } },
      { id: 'off', kind: 'lidar', pose: {}, enabled: false },
    ],
    ingest: { maxObjectsPerFrame: 50, maxFutureMs: 1000 },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config!;
}

const car = (x = 20, y = 2): DetectedObject => ({
  id: 1,
  classification: 'car',
  confidence: 0.9,
  box3d: { x, y, z: -4.25, length: 4.5, width: 1.8, height: 1.5, yaw: 0 },
});
const frame = (sensorId: string, timeMs: number, objects: DetectedObject[], over: Partial<DetectionFrame> = {}): DetectionFrame => ({
  sensorId,
  sensorKind: sensorId === 'cam' ? 'camera' : 'lidar',
  frameNumber: 0,
  sensorTimeMs: timeMs,
  timeMs,
  receivedMs: timeMs + 10,
  objects,
  ...over,
});

t.test('NaN and absurd detections are dropped and counted; the good ones in the same frame are used', async (t) => {
  const p = createPerception(site());
  const bad: Array<[unknown, string]> = [
    [{ ...car(), box3d: { ...car().box3d!, x: NaN } }, 'non_finite'],
    [{ ...car(), box3d: { ...car().box3d!, yaw: Infinity } }, 'non_finite'],
    [{ ...car(), confidence: NaN }, 'non_finite'],
    [{ ...car(), confidence: 1.5 }, 'out_of_range'],
    [{ ...car(), box3d: { ...car().box3d!, length: 120 } }, 'out_of_range'],
    [{ ...car(), box3d: { ...car().box3d!, width: -2 } }, 'out_of_range'],
    [{ ...car(), box3d: { ...car().box3d!, x: 400 } }, 'out_of_range'], // beyond maxRangeM 150
    [{ ...car(), velocity: { x: 500, y: 0, z: 0 } }, 'out_of_range'],
    [{ ...car(), velocity: { x: NaN, y: 0, z: 0 } }, 'non_finite'],
    [{ id: 3, classification: 'car', confidence: 0.9 }, 'missing_box'],
    [null, 'missing_box'],
    [{ ...car(), box3d: { ...car().box3d!, x: '12' } }, 'non_finite'],
    [{ ...car(), positionCovariance: [1, 0, 0, 0, -1, 0, 0, 0, 1] }, 'bad_covariance'],
    [{ ...car(), positionCovariance: [1, 2, 3] }, 'bad_covariance'],
  ];
  for (let k = 0; k < 5; k++) p.push(frame('lidar_a', T0 + k * 100, [car(20 + k, 2), ...bad.map(([o]) => o as DetectedObject)]));
  const st = p.stats();
  t.equal(st.frames.processed, 5);
  t.equal(st.detections.received, 5 * (bad.length + 1));
  t.equal(st.detections.used, 5);
  const want: Record<string, number> = {};
  for (const [, r] of bad) want[r] = (want[r] ?? 0) + 5;
  t.same(st.detections.dropped, want, JSON.stringify(st.detections.dropped));
  t.same(st.perSensor['lidar_a']!.detectionsDropped, want);
  t.equal(p.tracks(T0 + 400).length, 1, 'only the good car is tracked');
  t.equal(st.tracks.created, 1);
});

t.test('camera detections: bad boxes and boxes that cannot be placed are dropped with their reason', async (t) => {
  const p = createPerception(site());
  const box = (x: number, y: number, w: number, h: number): DetectedObject => ({ id: 1, classification: 'car', confidence: 0.8, box2d: { x, y, width: w, height: h } });
  p.push(
    frame('cam', T0, [
      box(900, 700, 120, 80), // good: bottom row 780, about 13 m in front
      box(NaN, 700, 120, 80),
      box(900, 700, 0, 80),
      box(5000, 700, 120, 80), // outside the image
      { id: 2, classification: 'car', confidence: 0.8 } as DetectedObject, // no box2d
    ]),
  );
  const st = p.stats();
  t.equal(st.detections.used, 1);
  t.same(st.detections.dropped, { non_finite: 1, out_of_range: 2, missing_box: 1 });
  // Pitched 20° down, 6 m up, no distortion: the horizon is the row v = cy − fy·tan 20° ≈ 90.4. A bottom edge at
  // v = 60 is above it; at v = 160 the ray descends 2.6° and meets the ground ~135 m away, beyond the 120 m
  // placement range.
  const p2 = createPerception(site());
  p2.push(frame('cam', T0, [box(900, 0, 100, 60), box(900, 120, 100, 40)]));
  const d = p2.stats().detections.dropped;
  t.equal(d.above_horizon, 1, 'bottom at v = 60: above the horizon');
  t.equal(d.beyond_range, 1, 'bottom at v = 160: meets the ground beyond the 120 m placement range');
  t.equal(p2.tracks(T0).length, 0);
});

t.test('frames from unknown or disabled sensors, and malformed frames, are dropped and counted', async (t) => {
  const p = createPerception(site());
  p.push(frame('nope', T0, [car()]));
  p.push(frame('off', T0, [car()]));
  p.push(null as unknown as DetectionFrame);
  p.push(undefined as unknown as DetectionFrame);
  p.push({ timeMs: T0 } as unknown as DetectionFrame);
  p.push(frame('lidar_a', NaN, [car()]));
  p.push(frame('lidar_a', T0, 'cars' as unknown as DetectedObject[]));
  p.push(frame('lidar_a', T0, [car()], { sensorKind: 'camera' }));
  p.push(frame('lidar_a', T0, Array.from({ length: 51 }, () => car())));
  p.push(frame('lidar_a', T0 + 5000, [car()], { receivedMs: T0 })); // 5 s ahead of its arrival
  const st = p.stats();
  t.same(st.frames.dropped, { unknown_sensor: 1, disabled_sensor: 1, bad_frame: 6, too_many_objects: 1, future: 1 });
  t.same(st.perSensor['off']!.framesDropped, { disabled_sensor: 1 });
  t.equal(st.frames.received, 10);
  t.equal(st.frames.processed, 0);
  t.equal(st.tracks.created, 0);
  t.same(p.tracks(T0), []);
});

t.test('out-of-order, duplicate and late frames', async (t) => {
  const p = createPerception(site(), { lateToleranceMs: 200 });
  p.push(frame('lidar_a', T0 + 1000, [car()]));
  p.push(frame('lidar_a', T0 + 900, [car()])); // older than this sensor's previous frame
  p.push(frame('lidar_a', T0 + 1000, [car()])); // same time again
  p.push(frame('lidar_b', T0 + 850, [car(-10, -2)])); // 150 ms behind the latest: applied late
  p.push(frame('lidar_b', T0 + 700, [car(-10, -2)])); // behind its own previous frame
  p.push(frame('cam', T0 + 500, [])); // 500 ms behind the latest: dropped
  const st = p.stats();
  t.same(st.frames.dropped, { out_of_order: 3, duplicate: 1 });
  t.equal(st.frames.processed, 2);
  t.same(st.perSensor['cam']!.framesDropped, { out_of_order: 1 });
  t.equal(st.tracks.created, 1, 'the late lidar_b detection of the same car joined its track');
});

t.test('frames delayed across sensors within the tolerance are tracked as well as in order', async (t) => {
  // lidar_b's frames arrive 80 ms late (after lidar_a's next frame): the result matches in-order delivery closely.
  const rnd = seededRandom(1);
  const noise = () => (rnd() - 0.5) * 0.2;
  const frames: DetectionFrame[] = [];
  for (let k = 0; k < 60; k++)
    for (const [id, off] of [['lidar_a', 0], ['lidar_b', 50]] as const) {
      const ts = (k * 100 + off) / 1000;
      // sensor frames: lidar_a at the origin looking east; lidar_b at (10, 0) looking west.
      const x = -20 + 8 * ts;
      const y = 3;
      const sx = id === 'lidar_a' ? x : 10 - x;
      const sy = id === 'lidar_a' ? y : -y;
      frames.push(frame(id, T0 + k * 100 + off, [{ ...car(sx + noise(), sy + noise()), box3d: { ...car().box3d!, x: sx + noise(), y: sy + noise(), yaw: id === 'lidar_a' ? 0 : Math.PI } }]));
    }
  const inOrder = createPerception(site());
  for (const f of frames) inOrder.push(f);
  const late = createPerception(site());
  const delayed = [...frames].sort((a, b) => (a.timeMs + (a.sensorId === 'lidar_b' ? 80 : 0)) - (b.timeMs + (b.sensorId === 'lidar_b' ? 80 : 0)));
  for (const f of delayed) late.push(f);
  t.same(late.stats().frames.dropped, {});
  const a = inOrder.tracks(T0 + 6000)[0]!;
  const b = late.tracks(T0 + 6000)[0]!;
  t.equal(late.tracks(T0 + 6000).length, 1);
  t.ok(Math.hypot(a.enu.x - b.enu.x, a.enu.y - b.enu.y) < 0.2, `positions agree: ${a.enu.x.toFixed(2)},${a.enu.y.toFixed(2)} vs ${b.enu.x.toFixed(2)},${b.enu.y.toFixed(2)}`);
  t.ok(Math.abs(a.speed - b.speed) < 0.5 && Math.abs(b.speed - 8) < 1, `speeds ${a.speed.toFixed(2)} / ${b.speed.toFixed(2)}`);
});

t.test('random garbage: no exception, no track', async (t) => {
  const p: PerceptionStage = createPerception(site());
  const rnd = seededRandom(77);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const num = () => pick([NaN, Infinity, -Infinity, 0, -1, 1e308, -1e308, rnd() * 100 - 50, 1e-320]);
  const junk = (): unknown =>
    pick([
      () => null,
      () => undefined,
      () => num(),
      () => 'str',
      () => [],
      () => ({}),
      () => ({ id: num(), classification: pick(['car', 'nope', 7, null]), confidence: num(), box3d: { x: num(), y: num(), z: num(), length: num(), width: num(), height: num(), yaw: num() } }),
      () => ({ id: 1, classification: 'car', confidence: rnd(), box2d: { x: num(), y: num(), width: num(), height: num() } }),
      () => ({ id: 1, classification: 'car', confidence: rnd(), box3d: { x: num(), y: 1, z: 0, length: 4, width: 2, height: 1.5, yaw: 0 }, velocity: { x: num(), y: num(), z: num() }, positionCovariance: [num(), num(), num(), num(), num(), num(), num(), num(), num()] }),
    ])();
  let threw = 0;
  for (let k = 0; k < 3000; k++) {
    const f = {
      sensorId: pick(['lidar_a', 'lidar_b', 'cam', 'off', 'x', 7, null]),
      sensorKind: pick(['lidar', 'camera', 'radar', undefined]),
      frameNumber: k,
      sensorTimeMs: 0,
      timeMs: pick([T0 + k * 10, T0 + k * 10, NaN, -Infinity, T0 - 1e6, T0 + k * 10 - 300]),
      receivedMs: pick([T0 + k * 10, NaN, undefined]),
      objects: pick([Array.from({ length: Math.floor(rnd() * 6) }, junk), null, 'x', {}]),
    };
    try {
      p.push(f as unknown as DetectionFrame);
      p.tracks(T0 + k * 10);
      p.stats();
    } catch {
      threw++;
    }
  }
  t.equal(threw, 0, 'nothing threw');
  t.same(p.tracks(T0 + 30000), [], 'no track came out of garbage');
  t.same(p.tracks(NaN), []);
  const st = p.stats();
  t.ok(st.frames.received === 3000 && st.frames.processed + Object.values(st.frames.dropped).reduce((s, v) => s + (v ?? 0), 0) === 3000, 'every frame counted once');
});

t.test('a flood of detections cannot grow the tracks without bound', async (t) => {
  const r = validateConfig({
    rsu: { reference: { lat: 48.2495, lon: 11.6389, elevation: 527 }, stationFrame: {} },
    sensors: [{ id: 'lidar_a', kind: 'lidar', pose: { x: 0, y: 0, z: 5 } }],
    ingest: { maxObjectsPerFrame: 2000 },
  });
  const p = createPerception(r.config!, { tracker: { maxTracks: 300 } });
  const rnd = seededRandom(5);
  const t0 = performance.now();
  for (let k = 0; k < 20; k++)
    p.push(frame('lidar_a', T0 + k * 100, Array.from({ length: 1500 }, () => car((rnd() - 0.5) * 200, (rnd() - 0.5) * 200))));
  const ms = performance.now() - t0;
  const st = p.stats();
  t.ok(st.tracks.live <= 300, `${st.tracks.live} live tracks (cap 300)`);
  t.ok(ms < 20 * 200, `20 frames of 1500 detections in ${ms.toFixed(0)} ms`);
});

t.test('a failing backend costs the frame, not the daemon', async (t) => {
  let calls = 0;
  const backend: FusionBackend = {
    mode: 'broken',
    process: () => {
      calls++;
      if (calls % 2) throw new Error('boom');
    },
    estimates: () => {
      throw new Error('boom too');
    },
    counts: () => ({ live: 0, confirmed: 0, created: 0 }),
  };
  const logged: string[] = [];
  const p = createPerception(site(), { backend: () => backend, logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) } });
  t.equal(p.mode, 'broken');
  for (let k = 0; k < 4; k++) p.push(frame('lidar_a', T0 + k * 100, [car()]));
  t.same(p.stats().frames.dropped, { internal_error: 2 });
  t.equal(p.stats().frames.processed, 2);
  t.same(p.tracks(T0 + 400), []);
  t.equal(logged.length, 1, 'logged once per reason and sensor per 10 s');
  t.match(logged[0], /frame of lidar_a dropped: internal_error \(boom\)/);
  t.throws(() => createPerception(site(), { mode: 'nonexistent' }), /unknown perception mode "nonexistent"/);
});
