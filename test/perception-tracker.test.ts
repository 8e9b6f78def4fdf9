// The tracker through the perception stage, on synthetic detections: two lidars seeing two crossing objects (ids
// stable, no ghost from a false positive, death after misses, ids never reused, an id kept across a short loss), and
// its attributes: class vote, heading from velocity or box, size, acceleration; then the S110 demo site with its
// lidars and cameras.

import t from 'tap';
import { defaultConfig, validateConfig, type RsuConfig } from '../runtime/config/index.js';
import {
  buildSensorModels,
  createPerception,
  DEFAULT_MEASUREMENT_OPTIONS,
  Georef,
  seededRandom,
  synthFrame,
  type GroundTruthObject,
  type PerceptionStage,
  type SensorModel,
  type SynthOptions,
  type Track,
} from '../runtime/perception/index.js';

const T0 = 1_750_000_000_000;

function twoLidarSite(): RsuConfig {
  const r = validateConfig({
    rsu: { reference: { lat: 48.2495, lon: 11.6389, elevation: 527 }, stationFrame: {} },
    sensors: [
      { id: 'lidar_a', kind: 'lidar', pose: { x: -20, y: -20, z: 5, yaw: 45 } },
      { id: 'lidar_b', kind: 'lidar', pose: { x: 20, y: 20, z: 5, yaw: -135 } },
    ],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config!;
}

/** The sensors as the synthetic detections see them (their coverage decides what they report). */
function modelsOf(cfg: RsuConfig, coverageRangeM = DEFAULT_MEASUREMENT_OPTIONS.coverageRangeM): SensorModel[] {
  return buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), { ...DEFAULT_MEASUREMENT_OPTIONS, coverageRangeM });
}

/**
 * Runs a scenario: each sensor sends a frame every periodMs (sensor i offset by i·offsetMs) of the objects
 * `truth(t)` returns (t in seconds since T0); `edit` may change a frame before it is pushed. Calls `check` after
 * every frame with the frame time.
 */
function run(
  p: PerceptionStage,
  sensors: SensorModel[],
  seconds: number,
  truth: (ts: number) => GroundTruthObject[],
  o: { periodMs?: number | ((s: SensorModel) => number); offsetMs?: number; synth?: SynthOptions; edit?: (f: ReturnType<typeof synthFrame>, s: SensorModel) => void; check?: (tms: number) => void } = {},
): void {
  const period = (s: SensorModel) => (typeof o.periodMs === 'function' ? o.periodMs(s) : o.periodMs ?? 100);
  const events: Array<{ t: number; s: SensorModel; n: number }> = [];
  sensors.forEach((s, i) => {
    for (let n = 0, tt = i * (o.offsetMs ?? 50); tt <= seconds * 1000; n++, tt += period(s)) events.push({ t: T0 + tt, s, n });
  });
  events.sort((a, b) => a.t - b.t || a.s.index - b.s.index);
  for (const e of events) {
    const f = synthFrame(e.s, truth((e.t - T0) / 1000), e.t, e.n, o.synth);
    o.edit?.(f, e.s);
    p.push(f);
    o.check?.(e.t);
  }
}

const nearest = (tracks: Track[], x: number, y: number) =>
  tracks.reduce<Track | undefined>((b, tr) => (!b || Math.hypot(tr.enu.x - x, tr.enu.y - y) < Math.hypot(b.enu.x - x, b.enu.y - y) ? tr : b), undefined);
const angleDiff = (a: number, b: number) => Math.abs(((a - b + 540) % 360) - 180);

// A car going east and a cyclist going north whose paths cross 3 m apart at t = 4 s.
const crossing = (ts: number): GroundTruthObject[] => [
  { id: 1, classification: 'car', x: -40 + 10 * ts, y: 0, yaw: 0, length: 4.5, width: 1.8, height: 1.5, vx: 10, vy: 0 },
  { id: 2, classification: 'bicycle', x: 3, y: -32 + 8 * ts, yaw: Math.PI / 2, length: 1.8, width: 0.6, height: 1.7, vx: 0, vy: 8 },
];

t.test('two lidars, two crossing objects: two tracks, stable ids, accurate states', async (t) => {
  const cfg = twoLidarSite();
  const sensors = modelsOf(cfg);
  const p = createPerception(cfg);
  const idOf = new Map<number, Set<number>>([
    [1, new Set()],
    [2, new Set()],
  ]);
  let worstPos = 0;
  let worstSpeed = 0;
  let worstHeading = 0;
  const counts = new Set<number>();
  let wrongClass = 0;
  run(p, sensors, 8, crossing, {
    synth: { lidarNoiseM: 0.15, random: seededRandom(11) },
    check: (tms) => {
      const ts = (tms - T0) / 1000;
      const tracks = p.tracks(tms);
      if (ts < 0.5) return;
      counts.add(tracks.length);
      for (const o of crossing(ts)) {
        const tr = nearest(tracks, o.x, o.y)!;
        idOf.get(o.id)!.add(tr.id);
        worstPos = Math.max(worstPos, Math.hypot(tr.enu.x - o.x, tr.enu.y - o.y));
        worstSpeed = Math.max(worstSpeed, Math.abs(tr.speed - Math.hypot(o.vx!, o.vy!)));
        worstHeading = Math.max(worstHeading, angleDiff(tr.headingDeg, o.id === 1 ? 90 : 0));
        if (tr.classification !== o.classification) wrongClass++;
      }
    },
  });
  t.same([...counts], [2], 'exactly two confirmed tracks from 0.5 s on');
  t.equal(wrongClass, 0, 'classes right throughout');
  t.equal(idOf.get(1)!.size, 1, `the car keeps one id: ${[...idOf.get(1)!]}`);
  t.equal(idOf.get(2)!.size, 1, `the cyclist keeps one id: ${[...idOf.get(2)!]}`);
  t.not([...idOf.get(1)!][0], [...idOf.get(2)!][0], 'different ids');
  t.ok(worstPos < 0.6, `worst position error ${worstPos.toFixed(2)} m (detections σ 0.15 m)`);
  t.ok(worstSpeed < 1.2, `worst speed error ${worstSpeed.toFixed(2)} m/s`);
  t.ok(worstHeading < 6, `worst heading error ${worstHeading.toFixed(1)}°`);
  const tr = p.tracks(T0 + 8000);
  t.same(tr.map((x) => x.sources), [['lidar'], ['lidar']]);
  for (const x of tr) {
    t.ok(x.posStdM > 0.03 && x.posStdM < 0.3, `posStd ${x.posStdM.toFixed(3)} m`);
    // With the default process noise (2 m²/s³, for braking and turning vehicles) the speed is known to ~0.75 m/s.
    t.ok(x.speedStdMs > 0 && x.speedStdMs < 1, `speedStd ${x.speedStdMs.toFixed(3)} m/s`);
    t.ok(x.headingStdDeg > 0 && x.headingStdDeg < 8, `headingStd ${x.headingStdDeg.toFixed(2)}°`);
    t.ok(x.existence > 0.9, `existence ${x.existence.toFixed(2)}`);
    t.ok(x.firstSeenMs < T0 + 200 && x.lastUpdateMs >= T0 + 7900, 'first seen, last update');
  }
  const st = p.stats();
  t.equal(st.tracks.created, 2, 'no other track was ever started');
  t.equal(st.frames.processed, st.frames.received);
});

t.test('a false positive starts no reported track, and no ghost follows it', async (t) => {
  const cfg = twoLidarSite();
  const sensors = modelsOf(cfg);
  const p = createPerception(cfg);
  let maxTracks = 0;
  const reported = new Set<number>();
  run(p, sensors, 5, crossing, {
    synth: { lidarNoiseM: 0.1, random: seededRandom(2) },
    edit: (f, s) => {
      // lidar_a reports a phantom at (25, -30) once at 2 s, and three phantoms scattered over one frame at 3 s.
      const at = f.timeMs - T0;
      const inv = s.toLocal.inverse();
      const phantom = (x: number, y: number) => {
        const c = inv.apply({ x, y, z: 0.75 });
        f.objects.push({ id: 99, classification: 'car', confidence: 0.6, box3d: { x: c.x, y: c.y, z: c.z, length: 4, width: 1.8, height: 1.5, yaw: 0 } });
      };
      if (s.id === 'lidar_a' && at === 2000) phantom(25, -30);
      if (s.id === 'lidar_a' && at === 3000) [[-30, 30], [35, 35], [-10, -45]].forEach(([x, y]) => phantom(x!, y!));
    },
    check: (tms) => {
      const tr = p.tracks(tms);
      if (tms - T0 > 500) maxTracks = Math.max(maxTracks, tr.length);
      for (const x of tr) reported.add(x.id);
    },
  });
  t.equal(maxTracks, 2, 'never more than the two real objects');
  t.equal(reported.size, 2, 'only two ids ever reported');
  const st = p.stats();
  t.equal(st.tracks.created, 6, 'the phantoms started tentative tracks (2 real + 4 phantoms)...');
  t.equal(st.tracks.live, 2, '...which ended');
});

t.test('a track ends after M misses in coverage, or after a time without update; ids are never reused', async (t) => {
  const cfg = twoLidarSite();
  const sensors = modelsOf(cfg);
  const p = createPerception(cfg, { tracker: { maxMisses: 6, maxCoastMs: 1500 } });
  // The car vanishes at 3 s in the middle of the site (both lidars cover it); the cyclist continues.
  const truth = (ts: number) => crossing(ts).filter((o) => o.id !== 1 || ts < 3);
  let carId = -1;
  let goneAt = -1;
  run(p, sensors, 5, truth, {
    synth: { lidarNoiseM: 0.1, random: seededRandom(3) },
    check: (tms) => {
      const ts = (tms - T0) / 1000;
      const tr = p.tracks(tms);
      if (ts > 1 && ts < 3) carId = nearest(tr, -40 + 10 * ts, 0)!.id;
      if (ts >= 3 && goneAt < 0 && !tr.some((x) => x.id === carId)) goneAt = ts;
    },
  });
  // Six misses: frames at 3.00, 3.05, 3.10, 3.15, 3.20, 3.25 s.
  t.ok(goneAt >= 3.2 && goneAt <= 3.3, `the car's track ended at ${goneAt.toFixed(2)} s`);
  t.equal(p.tracks(T0 + 5000).length, 1);

  // Coasting out of every sensor's coverage: no misses are counted, the time limit ends it.
  const coverage = { lidar: 60, radar: 60, camera: 60 };
  // (Reported while coasting here, reportMaxCoastMs = maxCoastMs, to see when the track ends.)
  const p2 = createPerception(cfg, { tracker: { maxCoastMs: 1000, reportMaxCoastMs: 1000 }, measurement: { coverageRangeM: coverage } });
  const leaving = (ts: number): GroundTruthObject[] => [{ id: 1, classification: 'car', x: 10 * ts, y: 0, yaw: 0, length: 4.5, width: 1.8, height: 1.5 }];
  let lastSeen = -1;
  run(p2, modelsOf(cfg, coverage), 10, leaving, {
    check: (tms) => {
      if (p2.tracks(tms).length) lastSeen = (tms - T0) / 1000;
    },
  });
  // Coverage: within 60 m of a lidar. lidar_b at (20, 20) sees x ≤ 20 + √(60² − 20²) = 76.6 m, i.e. until 7.66 s.
  t.ok(lastSeen > 8.4 && lastSeen < 8.8, `coasted out of coverage for ~1 s: last reported at ${lastSeen.toFixed(2)} s`);
  // The output policy (default reportMaxCoastMs 300): the same track is kept for association but reported only
  // until 0.3 s after its last detection.
  const p3 = createPerception(cfg, { tracker: { maxCoastMs: 1000 }, measurement: { coverageRangeM: coverage } });
  let lastReported = -1;
  let lastKept = -1;
  run(p3, modelsOf(cfg, coverage), 10, leaving, {
    check: (tms) => {
      if (p3.tracks(tms).length) lastReported = (tms - T0) / 1000;
    },
  });
  lastKept = lastSeen;
  t.ok(lastReported > 7.6 && lastReported < 8.0, `reported until 0.3 s after its last detection: ${lastReported.toFixed(2)} s (kept until ${lastKept.toFixed(2)} s)`);

  // A new object after the car ended gets a new id, larger than every id before.
  const before = Math.max(...p.tracks(T0 + 5000).map((x) => x.id), carId);
  run(p, sensors, 2, () => [{ id: 7, classification: 'car', x: 5, y: 5, yaw: 0, length: 4.5, width: 1.8, height: 1.5 }], {
    // continue the timeline after 5 s
    edit: (f) => {
      f.timeMs += 6000;
      f.receivedMs += 6000;
    },
  });
  const fresh = p.tracks(T0 + 8000);
  t.equal(fresh.length, 1);
  t.ok(fresh[0]!.id > before && fresh[0]!.id !== carId, `new id ${fresh[0]!.id} > ${before}`);
});

t.test('a road user lost for a moment keeps its id (reidentifyMs); not after the window, nor as another class group', async (t) => {
  const cfg = twoLidarSite();
  const sensors = modelsOf(cfg);
  // A car going east at 10 m/s is hidden from both lidars from 2 s to `backAt`, then seen again where it would be.
  const car = (ts: number, cls: 'car' | 'pedestrian' = 'car'): GroundTruthObject => ({ id: 1, classification: cls, x: -30 + 10 * ts, y: 0, yaw: 0, length: 4.5, width: 1.8, height: 1.5, vx: 10, vy: 0 });
  const trial = (backAt: number, reidentifyMs?: number, returnsAs: 'car' | 'pedestrian' = 'car') => {
    const p = createPerception(cfg, reidentifyMs === undefined ? {} : { tracker: { reidentifyMs } });
    let before: Track | undefined;
    let gone = false;
    run(p, sensors, backAt + 1, (ts) => (ts < 2 ? [car(ts)] : ts < backAt ? [] : [car(ts, returnsAs)]), {
      synth: { lidarNoiseM: 0.1, random: seededRandom(5) },
      check: (tms) => {
        const ts = (tms - T0) / 1000;
        if (ts < 2) before = nearest(p.tracks(tms), -30 + 10 * ts, 0);
        else if (ts < backAt && p.tracks(tms).length === 0) gone = true;
      },
    });
    const after = nearest(p.tracks(T0 + (backAt + 1) * 1000), -30 + 10 * (backAt + 1), 0);
    return { before: before!, gone, after: after! };
  };
  const r = trial(3);
  t.ok(r.gone, 'the track ended while the car was hidden (1 s)');
  t.equal(r.after.id, r.before.id, `back after 1 s: the same id ${r.before.id}`);
  t.equal(r.after.firstSeenMs, r.before.firstSeenMs, 'and the same first-seen time');
  const off = trial(3, 0);
  t.not(off.after.id, off.before.id, 'reidentifyMs 0: a new id');
  const late = trial(4.5);
  t.ok(late.gone, 'hidden 2.5 s');
  t.not(late.after.id, late.before.id, 'back after 2.5 s (beyond the 2 s window): a new id');
  const ped = trial(3, undefined, 'pedestrian');
  t.equal(ped.after.classification, 'pedestrian');
  t.not(ped.after.id, ped.before.id, 'a pedestrian where the car was predicted: a new id');
});

t.test('re-identification only where the lost road user could have got to', async (t) => {
  const cfg = twoLidarSite();
  const sensors = modelsOf(cfg);
  // A pedestrian walking east at 1.4 m/s is hidden from 2 s to 3.5 s; then a pedestrian appears `offsetY` m to the
  // side of where it would be. With a responsive filter (process noise 30, as for KITTI's detections) its predicted
  // gate after 1.5 s lost is some 15 m wide: only the physical reach tells the other pedestrian from it.
  const walker = (ts: number, dy = 0): GroundTruthObject => ({ id: 1, classification: 'pedestrian', x: -10 + 1.4 * ts, y: dy, yaw: 0, length: 0.6, width: 0.6, height: 1.75, vx: 1.4, vy: 0 });
  const trial = (offsetY: number) => {
    const p = createPerception(cfg, { tracker: { classProcessNoise: { pedestrian: 30 } } });
    let before: Track | undefined;
    run(p, sensors, 5, (ts) => (ts < 2 ? [walker(ts)] : ts < 3.5 ? [] : [walker(ts, offsetY)]), {
      synth: { lidarNoiseM: 0.05, random: seededRandom(7) },
      check: (tms) => {
        const ts = (tms - T0) / 1000;
        if (ts < 2) before = nearest(p.tracks(tms), -10 + 1.4 * ts, 0);
      },
    });
    const after = nearest(p.tracks(T0 + 5000), -10 + 1.4 * 5, offsetY);
    return { before: before!, after: after! };
  };
  const near = trial(0.5);
  t.equal(near.after.id, near.before.id, 'back 0.5 m beside its prediction after 1.5 s: the same id');
  const far = trial(12);
  t.ok(far.after && Math.abs(far.after.enu.y - 12) < 1, 'the other pedestrian is tracked');
  t.not(far.after.id, far.before.id, '12 m beside the prediction (it could not have got there): a new id');
});

t.test('class by confidence-weighted majority over recent detections', async (t) => {
  const cfg = twoLidarSite();
  const p = createPerception(cfg);
  const rnd = seededRandom(8);
  let n = 0;
  run(p, modelsOf(cfg), 4, () => [{ id: 1, classification: 'car', x: 5, y: 5, yaw: 0.3, length: 4.4, width: 1.9, height: 1.5 }], {
    edit: (f) => {
      // Every third detection says "van" with lower confidence, one in ten "unknown".
      const o = f.objects[0]!;
      n++;
      if (n % 3 === 0) Object.assign(o, { classification: 'van', confidence: 0.5 });
      else if (n % 10 === 0) Object.assign(o, { classification: 'unknown', confidence: 0.9 });
      else o.confidence = 0.7 + 0.2 * rnd();
    },
  });
  const [tr] = p.tracks(T0 + 4000);
  t.equal(tr!.classification, 'car');
  t.ok(tr!.classConfidence > 0.55 && tr!.classConfidence < 0.95, `class confidence ${tr!.classConfidence.toFixed(2)}`);

  // When the detector changes its mind for good, the class follows within a few detections.
  const p2 = createPerception(cfg);
  let m = 0;
  let switchedAfter = -1;
  run(p2, modelsOf(cfg), 4, () => [{ id: 1, classification: 'car', x: 5, y: 5, yaw: 0.3, length: 4.4, width: 1.9, height: 1.5 }], {
    edit: (f) => {
      m++;
      if (m > 40) f.objects[0]!.classification = 'truck';
    },
    check: (tms) => {
      if (switchedAfter < 0 && m > 40 && p2.tracks(tms)[0]?.classification === 'truck') switchedAfter = m - 40;
    },
  });
  t.ok(switchedAfter > 0 && switchedAfter <= 8, `switched to truck after ${switchedAfter} detections`);
});

t.test('heading from the velocity when moving, from the lidar box when slow', async (t) => {
  const cfg = twoLidarSite();
  // Standing still, box yaw 30° north of east (heading 60°): the box gives the heading.
  const p = createPerception(cfg);
  run(p, modelsOf(cfg), 2, () => [{ id: 1, classification: 'car', x: 0, y: 10, yaw: Math.PI / 6, length: 4.5, width: 1.8, height: 1.5 }], {
    synth: { lidarNoiseM: 0.05, random: seededRandom(4) },
  });
  let [tr] = p.tracks(T0 + 2000);
  t.ok(tr!.speed < 0.5, `speed ${tr!.speed.toFixed(2)}`);
  t.ok(angleDiff(tr!.headingDeg, 60) < 1, `heading ${tr!.headingDeg.toFixed(2)}° from the box`);
  t.ok(tr!.headingStdDeg < 20, `heading σ ${tr!.headingStdDeg.toFixed(1)}°`);

  // Moving south-west at 6 m/s while the detector reports the box yaw flipped by 180°: the velocity wins.
  const p2 = createPerception(cfg);
  const yaw = (-3 * Math.PI) / 4; // towards south-west: heading 225°
  run(p2, modelsOf(cfg), 3, (ts) => [{ id: 1, classification: 'car', x: 20 + 6 * ts * Math.cos(yaw), y: 20 + 6 * ts * Math.sin(yaw), yaw: yaw + Math.PI, length: 4.5, width: 1.8, height: 1.5 }], {
    synth: { lidarNoiseM: 0.1, random: seededRandom(5) },
  });
  [tr] = p2.tracks(T0 + 3000);
  t.ok(angleDiff(tr!.headingDeg, 225) < 3, `heading ${tr!.headingDeg.toFixed(2)}° from the velocity`);

  // Then it stops: the heading stays where the motion left it (the box yaw's 180° ambiguity is resolved by it).
  const p3 = createPerception(cfg);
  run(p3, modelsOf(cfg), 6, (ts) => {
    const d = ts < 3 ? 6 * ts : 18;
    return [{ id: 1, classification: 'car', x: 20 + d * Math.cos(yaw), y: 20 + d * Math.sin(yaw), yaw: yaw + Math.PI, length: 4.5, width: 1.8, height: 1.5 }];
  }, { synth: { lidarNoiseM: 0.05, random: seededRandom(6) } });
  [tr] = p3.tracks(T0 + 6000);
  t.ok(tr!.speed < 1, `stopped: ${tr!.speed.toFixed(2)} m/s`);
  t.ok(angleDiff(tr!.headingDeg, 225) < 3, `heading after stopping ${tr!.headingDeg.toFixed(2)}° (box says 45°)`);
});

t.test('size is smoothed; acceleration is estimated', async (t) => {
  const cfg = twoLidarSite();
  const p = createPerception(cfg);
  const rnd = seededRandom(9);
  run(p, modelsOf(cfg), 4, () => [{ id: 1, classification: 'truck', x: -5, y: 8, yaw: 1, length: 9, width: 2.5, height: 3.4 }], {
    edit: (f) => {
      const b = f.objects[0]!.box3d!;
      b.length += (rnd() - 0.5) * 2;
      b.width += (rnd() - 0.5) * 0.6;
    },
  });
  const [tr] = p.tracks(T0 + 4000);
  t.ok(Math.abs(tr!.size.length - 9) < 0.4 && Math.abs(tr!.size.width - 2.5) < 0.15 && Math.abs(tr!.size.height - 3.4) < 0.01, `size ${JSON.stringify(tr!.size)}`);
  t.ok(Math.abs(tr!.enu.z) < 1e-6, `bottom on the ground: z ${tr!.enu.z}`);

  // Accelerating from 2 m/s at 2 m/s² for 5 s.
  const p2 = createPerception(cfg);
  run(p2, modelsOf(cfg), 5, (ts) => [{ id: 1, classification: 'car', x: -40 + 2 * ts + ts * ts, y: -2, yaw: 0, length: 4.5, width: 1.8, height: 1.5 }], {
    synth: { lidarNoiseM: 0.05, random: seededRandom(10) },
  });
  const [a] = p2.tracks(T0 + 5000);
  t.ok(a!.accel > 1.3 && a!.accel < 2.7, `acceleration ${a!.accel.toFixed(2)} m/s² (truth 2)`);
  t.ok(Math.abs(a!.speed - 12) < 1.5, `speed ${a!.speed.toFixed(2)} m/s (truth 12; a constant-velocity filter lags)`);
});

t.test('S110 demo site: two lidars and the south cameras see the same objects as one track each', async (t) => {
  const cfg = defaultConfig();
  const georef = new Georef(cfg.rsu.reference, cfg.rsu.stationFrame);
  const sensors = modelsOf(cfg);
  const p = createPerception(cfg);
  // Local frame: east-north-up. south1 looks east-south-east along y ≈ -3; south2 looks north-north-east.
  const truth = (ts: number): GroundTruthObject[] => [
    { id: 1, classification: 'car', x: 12 + 12 * ts, y: -3, yaw: 0, length: 4.5, width: 1.8, height: 1.5 },
    { id: 2, classification: 'pedestrian', x: 14, y: 26 + 1.2 * ts, yaw: Math.PI / 2, length: 0.6, width: 0.6, height: 1.75 },
    { id: 3, classification: 'truck', x: 40 - 8 * ts, y: 3.5, yaw: Math.PI, length: 10, width: 2.5, height: 3.5 },
  ];
  // Where each camera can place them.
  const seen = new Map<string, Set<number>>();
  const rnd = seededRandom(21);
  let worst = 0;
  const counts = new Set<number>();
  run(p, sensors, 4, truth, {
    periodMs: (s) => (s.kind === 'camera' ? 66 : 100),
    offsetMs: 13,
    synth: { lidarNoiseM: 0.1, pixelNoise: 1, random: rnd },
    edit: (f, s) => {
      if (s.kind === 'camera') for (const o of f.objects) (seen.get(s.id) ?? seen.set(s.id, new Set()).get(s.id)!).add(o.id);
    },
    check: (tms) => {
      const ts = (tms - T0) / 1000;
      if (ts < 1) return;
      const tr = p.tracks(tms);
      counts.add(tr.length);
      for (const o of truth(ts)) {
        const x = nearest(tr, o.x, o.y)!;
        worst = Math.max(worst, Math.hypot(x.enu.x - o.x, x.enu.y - o.y));
      }
    },
  });
  t.ok(seen.get('camera_south1')?.size, `south1 saw ${[...(seen.get('camera_south1') ?? [])]}`);
  t.ok(seen.get('camera_south2')?.size, `south2 saw ${[...(seen.get('camera_south2') ?? [])]}`);
  t.same([...counts], [3], 'three tracks, no duplicates from the cameras');
  t.ok(worst < 1.0, `worst position error ${worst.toFixed(2)} m`);
  const st = p.stats();
  t.ok((st.perSensor['camera_south1']!.used ?? 0) > 0 && (st.perSensor['camera_south2']!.used ?? 0) > 0, 'camera detections were used');
  t.equal(st.tracks.created, 3);
  const tracks = p.tracks(T0 + 4000);
  for (const tr of tracks) {
    // lat/lon/elevation agree with the local position through the site's reference.
    const g = georef.localToGeodetic(tr.enu);
    t.ok(Math.abs(g.lat - tr.lat) < 1e-12 && Math.abs(g.lon - tr.lon) < 1e-12 && Math.abs(g.elevation - tr.elevation) < 1e-9);
    t.ok(Math.abs(tr.lat - 48.2495) < 0.001 && Math.abs(tr.lon - 11.6389) < 0.001, `${tr.classification} at ${tr.lat.toFixed(6)}, ${tr.lon.toFixed(6)}`);
  }
  const car = nearest(tracks, 60, -3)!;
  t.same(car.sources, ['lidar', 'camera'], `the car is seen by lidars and a camera: ${car.sources}`);
  t.ok(angleDiff(car.headingDeg, 90) < 3, `car heading ${car.headingDeg.toFixed(1)}° (east)`);
  const truck = nearest(tracks, 8, 3.5)!;
  t.equal(truck.classification, 'truck');
  t.ok(angleDiff(truck.headingDeg, 270) < 3, `truck heading ${truck.headingDeg.toFixed(1)}° (west)`);
  t.ok(Math.abs(truck.size.length - 10) < 0.1, 'truck size from the lidar boxes, not the camera prior');
});

t.test('cameras alone start and keep tracks', async (t) => {
  const base = defaultConfig();
  const cfg = { ...base, sensors: base.sensors.filter((s) => s.kind === 'camera') };
  const p = createPerception(cfg);
  const truth = (ts: number): GroundTruthObject[] => [{ id: 1, classification: 'car', x: 15 + 10 * ts, y: -3, yaw: 0, length: 4.5, width: 1.8, height: 1.5 }];
  let worst = 0;
  let wrongCount = 0;
  run(p, modelsOf(cfg), 3, truth, {
    periodMs: 66,
    synth: { pixelNoise: 1, random: seededRandom(30) },
    check: (tms) => {
      const ts = (tms - T0) / 1000;
      const tr = p.tracks(tms);
      if (ts < 1) return;
      if (tr.length !== 1) wrongCount++;
      const o = truth(ts)[0]!;
      worst = Math.max(worst, Math.hypot(tr[0]!.enu.x - o.x, tr[0]!.enu.y - o.y));
    },
  });
  t.equal(wrongCount, 0, 'one track throughout');
  t.ok(worst < 1.5, `camera-only position error up to ${worst.toFixed(2)} m`);
  const [tr] = p.tracks(T0 + 3000);
  t.same(tr!.sources, ['camera']);
  t.ok(Math.abs(tr!.speed - 10) < 1.5, `speed ${tr!.speed.toFixed(2)} m/s`);
  t.same(tr!.size, { length: 4.5, width: 1.85, height: 1.5 }, 'size: the class prior');
  // camera_north looks at the sky: its detections are dropped with a reason.
  t.equal(p.stats().perSensor['camera_north']!.used, 0);
});

t.test('sensor velocities: used with their covariance, ignored without it unless asked', async (t) => {
  const cfg = twoLidarSite();
  const truth = (ts: number): GroundTruthObject[] => [{ id: 1, classification: 'car', x: -30 + 15 * ts, y: 4, yaw: 0, length: 4.5, width: 1.8, height: 1.5, vx: 15, vy: 0 }];
  const speedAt = (p: PerceptionStage, ms: number) => p.tracks(T0 + ms)[0]?.speed ?? NaN;
  // With covariance: the velocity is known from the first detections.
  const withCov = createPerception(cfg);
  run(withCov, modelsOf(cfg), 0.35, truth, {
    synth: { withVelocity: true },
    edit: (f) => f.objects.forEach((o) => (o.velocityCovariance = [0.04, 0, 0, 0, 0.04, 0, 0, 0, 0.04])),
  });
  t.ok(Math.abs(speedAt(withCov, 350) - 15) < 0.3, `with covariance: ${speedAt(withCov, 350).toFixed(2)} m/s after 0.35 s`);
  // A sender that fills in zeros without a covariance: ignored by default...
  const zeros = (f: ReturnType<typeof synthFrame>) => f.objects.forEach((o) => (o.velocity = { x: 0, y: 0, z: 0 }));
  const ignored = createPerception(cfg);
  run(ignored, modelsOf(cfg), 2, truth, { edit: zeros });
  t.ok(Math.abs(speedAt(ignored, 2000) - 15) < 1, `zeros without covariance ignored: ${speedAt(ignored, 2000).toFixed(2)} m/s`);
  // ...and believed (σ velocityStdMs) when useSensorVelocity is 'always'.
  const always = createPerception(cfg, { measurement: { useSensorVelocity: 'always' } });
  run(always, modelsOf(cfg), 2, truth, { edit: zeros });
  t.ok(speedAt(always, 2000) < 10, `'always' believes them: ${speedAt(always, 2000).toFixed(2)} m/s`);
});
