// The camera may not make a lidar track worse (issue 13): a camera box the learned fusion associates outside the
// ground gate updates identity and existence, not position (it used to pull the track with R inflated to the gate
// edge); a camera box on a track a lidar box holds (tracker.cameraPositionHoldMs) does not move it either; the
// camera's view counts in the track's confidence; a camera does not start tracks inside a lidar's coverage unless
// configured to. The ground model: a plane fitted to the lidar's boxes, placements on it, sensors[].groundHeightM.
// The eval's 3D IoU.

import t from 'tap';
import { validateConfig, type RsuConfig } from '../runtime/config/index.js';
import { iou3d } from '../runtime/eval/kitti/proxy.js';
import { kittiCamera, kittiConfig } from '../runtime/eval/kitti/run.js';
import { FEATURE_COUNT, OUTPUT_CLASSES } from '../runtime/perception/fusion-features.js';
import type { FusionScorer, FusionScores } from '../runtime/perception/fusion-ort.js';
import { GroundModel } from '../runtime/perception/ground.js';
import { buildSensorModels, createPerception, DEFAULT_MEASUREMENT_OPTIONS, Georef, synthFrame, toMeasurements, type GroundTruthObject } from '../runtime/perception/index.js';
import { onnxFusionFactory } from '../runtime/perception/onnx.js';

/** A KITTI-like P2 (f = 721 px, 1242 x 375). */
const P2 = [721.5, 0, 609.6, 44.9, 0, 721.5, 172.9, 0.2, 0, 0, 1, 0.003];

const cfgWith = (camera: Record<string, unknown> = {}): RsuConfig => kittiConfig('sensor', {}, { ...kittiCamera(P2), ...camera });

/** Associates every (track, detection) pair, says every detection is a real car, places it `along` m further along the ray and `across` m across it (σ 0.3 m). */
const scorer = (along: number, across = 0): FusionScorer => ({
  name: 'fake',
  score(f: Float32Array, n: number): FusionScores {
    const assoc = new Float32Array(n);
    for (let i = 0; i < n; i++) assoc[i] = f[i * FEATURE_COUNT] === 1 ? 10 : -10;
    const cls = new Float32Array(n * OUTPUT_CLASSES.length);
    for (let i = 0; i < n; i++) cls[i * OUTPUT_CLASSES.length + OUTPUT_CLASSES.indexOf('car')] = 5;
    const place = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      place[2 * i] = along;
      place[2 * i + 1] = across;
    }
    return { assoc, cls, exist: new Float32Array(n).fill(10), place, placeLogStd: new Float32Array(n * 2).fill(Math.log(0.3)) };
  },
});

const car: GroundTruthObject = { id: 1, classification: 'car', x: 25, y: 2, z: 0, yaw: 0, length: 4.2, width: 1.7, height: 1.5 };

/** The track of a car seen by the lidar and the camera for 2 s (lidar frames only when `lidar`). */
function trackOf(opts: { along?: number; hold?: number; camera?: boolean; lidarFrames?: number }): { x: number; y: number; confidence: number } {
  const cfg = cfgWith();
  const [lidar, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
  const p = createPerception(cfg, {
    backend: onnxFusionFactory({ scorer: scorer(opts.along ?? 0) }),
    tracker: { cameraPositionHoldMs: opts.hold ?? 300 },
  });
  const t0 = 1_000_000;
  for (let i = 0; i < 20; i++) {
    const t = t0 + i * 100;
    if (i < (opts.lidarFrames ?? 20)) p.push(synthFrame(lidar!, [car], t, i));
    else p.push(synthFrame(lidar!, [], t, i));
    if (opts.camera !== false) p.push(synthFrame(cam!, [car], t + 1, i, { pixelNoise: 0 }));
  }
  const tr = p.tracks(t0 + 1901);
  if (tr.length !== 1) throw new Error(`expected one track, got ${tr.length}`);
  return { x: tr[0]!.enu.x, y: tr[0]!.enu.y, confidence: tr[0]!.confidence };
}

t.test('a camera box associated outside the ground gate does not move the lidar track', async (t) => {
  const lidarOnly = trackOf({ camera: false });
  // 8 m along the ray (σ 0.3 m): far outside the gate, even with the position not held by the lidar.
  const far = trackOf({ along: 8, hold: 0 });
  t.ok(Math.hypot(far.x - lidarOnly.x, far.y - lidarOnly.y) < 0.02, `track ${Math.hypot(far.x - lidarOnly.x, far.y - lidarOnly.y).toFixed(3)} m from the lidar-only track`);
  t.ok(Math.abs(lidarOnly.x - car.x) < 0.1, 'the lidar-only track is on the car');
});

t.test('a camera box on a track a lidar box holds updates identity, not position (cameraPositionHoldMs)', async (t) => {
  const lidarOnly = trackOf({ camera: false });
  // 0.6 m along the ray: inside the gate. Held: no pull. Not held (0): the camera moves the track towards its box.
  const held = trackOf({ along: 0.6 });
  const free = trackOf({ along: 0.6, hold: 0 });
  t.ok(Math.hypot(held.x - lidarOnly.x, held.y - lidarOnly.y) < 0.02, `held: ${Math.hypot(held.x - lidarOnly.x, held.y - lidarOnly.y).toFixed(3)} m`);
  t.ok(Math.hypot(free.x - lidarOnly.x, free.y - lidarOnly.y) > 0.01, `not held: ${Math.hypot(free.x - lidarOnly.x, free.y - lidarOnly.y).toFixed(3)} m`);
});

t.test("the camera's view counts in a lidar track's confidence", async (t) => {
  const seen = trackOf({});
  const cfg = cfgWith();
  const [lidar, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
  // The same lidar track, with a camera that covers it and never sees it (a lidar false object).
  const p = createPerception(cfg, { backend: onnxFusionFactory({ scorer: scorer(0) }) });
  for (let i = 0; i < 20; i++) {
    p.push(synthFrame(lidar!, [car], 1_000_000 + i * 100, i));
    p.push(synthFrame(cam!, [], 1_000_001 + i * 100, i));
  }
  const unseen = p.tracks(1_001_901)[0]!;
  t.ok(unseen.confidence < 0.6 * seen.confidence, `camera misses: confidence ${unseen.confidence.toFixed(3)} against ${seen.confidence.toFixed(3)} with camera boxes`);
});

t.test('a camera box starts a track inside a lidar coverage only when configured (cameraBirthsInLidarCoverage)', async (t) => {
  for (const inside of [false, true]) {
    const cfg = cfgWith();
    const [, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
    const p = createPerception(cfg, { backend: onnxFusionFactory({ scorer: scorer(0) }), tracker: { cameraBirthsInLidarCoverage: inside } });
    for (let i = 0; i < 10; i++) p.push(synthFrame(cam!, [car], 1_000_000 + i * 100, i, { pixelNoise: 0 }));
    t.equal(p.tracks(1_000_900).length, inside ? 1 : 0, `cameraBirthsInLidarCoverage ${inside}`);
  }
});

t.test('the ground from the lidar: a plane fitted to box bottoms, and camera boxes placed on it', async (t) => {
  const g = new GroundModel(0, true, { x: 0, y: 0 });
  // A road rising 3 % ahead and 0.4 m lower than configured.
  const zOf = (x: number, y: number) => -0.4 + 0.03 * x + 0 * y;
  const pts = [];
  for (let x = 5; x <= 50; x += 5) for (const y of [-4, 0, 4]) pts.push({ x, y, z: zOf(x, y) });
  g.observe(pts, 1000);
  const pl = g.plane();
  // The prior (the configured flat ground) holds the slope back a little; where the boxes are, the fit is the road.
  for (const x of [10, 25, 45]) t.ok(Math.abs(g.heightAt(x, 0) - zOf(x, 0)) < 0.05, `height at ${x} m: ${g.heightAt(x, 0).toFixed(3)} (road ${zOf(x, 0).toFixed(3)})`);
  t.ok(Math.abs(pl.b - 0.03) < 0.005 && Math.abs(pl.c) < 0.003, `slopes ${pl.b.toFixed(4)}, ${pl.c.toFixed(4)}`);
  // A box 3 m above the plane is an outlier once the fit is established.
  const before = g.rejected;
  g.observe([{ x: 20, y: 0, z: zOf(20, 0) + 3 }], 1100);
  t.equal(g.rejected, before + 1, 'outlier rejected');
  // A camera at 1.65 m places the bottom of a car 40 m ahead where it is on that road; on the flat ground 0 it
  // would put it metres off.
  const cfg = cfgWith({ groundFromLidar: true });
  const [lidar, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
  const target = { ...car, x: 40, y: 1, z: zOf(40, 1) };
  const px = synthFrame(cam!, [target], 0, 0).objects[0]!.box2d!;
  const u = px.x + px.width / 2;
  const v = px.y + px.height;
  cam!.observeGround(
    pts.map((p) => ({ x: p.x, y: p.y, z: p.z, size: { length: 4, width: 1.8, height: 1.5 } }) as never),
    1000,
  );
  const onFit = cam!.camera!.groundPoint(u, v, cam!.ground!.plane());
  const flat = cam!.camera!.groundPoint(u, v, 0);
  t.ok(onFit.ok && flat.ok);
  if (onFit.ok && flat.ok) {
    // The bottom-centre ray meets the road near the car's nearest ground contact (the ray grazes the road here: a
    // centimetre of height is decimetres of range).
    t.ok(Math.abs(onFit.point.x - (target.x - target.length / 2)) < 2, `on the fitted ground: ${onFit.point.x.toFixed(2)} m (car's near end ${target.x - target.length / 2} m)`);
    t.ok(Math.abs(flat.point.x - onFit.point.x) > 5, `on the flat ground: ${flat.point.x.toFixed(2)} m`);
  }
  t.ok(lidar, 'the config has a lidar');
});

t.test('sensors[].groundHeightM, groundFromLidar and groundStdM: cameras only, validated', async (t) => {
  const base = {
    rsu: { reference: { lat: 48, lon: 11, elevation: 500 }, stationFrame: {} },
    perception: { fusion: 'plain' },
  };
  const ok = validateConfig({ ...base, sensors: [{ ...kittiCamera(P2), groundHeightM: -0.5, groundFromLidar: true, groundStdM: 0.2 }] });
  t.ok(ok.ok, JSON.stringify(ok.errors));
  t.equal(ok.config?.sensors[0]?.groundHeightM, -0.5);
  const lidar = validateConfig({ ...base, sensors: [{ id: 'l', kind: 'lidar', pose: {}, groundHeightM: 0 }] });
  t.notOk(lidar.ok);
  t.match(lidar.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /sensors\[0\]\.groundHeightM.*only cameras/);
  const bad = validateConfig({ ...base, sensors: [{ ...kittiCamera(P2), groundStdM: -1 }] });
  t.notOk(bad.ok);
  t.match(bad.errors.map((e) => e.path).join('\n'), /groundStdM/);
});

t.test('a camera whose detector does not report a class counts no miss on its tracks (sensors[].classes)', async (t) => {
  const ped: GroundTruthObject = { id: 2, classification: 'pedestrian', x: 15, y: -1, z: 0, yaw: 0, length: 0.6, width: 0.6, height: 1.7 };
  const confidenceOf = (classes?: string[]) => {
    const cfg = cfgWith(classes ? { classes } : {});
    const [lidar, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
    const p = createPerception(cfg, { mode: 'plain' });
    for (let i = 0; i < 20; i++) {
      p.push(synthFrame(lidar!, [ped], 1_000_000 + i * 100, i));
      p.push(synthFrame(cam!, [], 1_000_001 + i * 100, i));
    }
    return p.tracks(1_001_901)[0]?.confidence ?? 0;
  };
  const all = confidenceOf();
  const carsOnly = confidenceOf(['car']);
  t.ok(carsOnly > 1.5 * all, `a car-only camera: pedestrian track confidence ${carsOnly.toFixed(3)}, a camera that should see it and misses: ${all.toFixed(3)}`);
  const bad = validateConfig({ rsu: { reference: { lat: 48, lon: 11, elevation: 500 }, stationFrame: {} }, perception: { fusion: 'plain' }, sensors: [{ ...kittiCamera(P2), classes: ['car', 'dragon'] }] });
  t.notOk(bad.ok);
  t.match(bad.errors.map((e) => e.path).join('\n'), /classes/);
});

t.test('3D IoU of the quick scorer', async (t) => {
  const b = { h: 1.5, w: 1.6, l: 4, x: 2, y: 1.7, z: 20, ry: 0.4 };
  t.ok(Math.abs(iou3d(b, b) - 1) < 1e-9, 'itself: 1');
  // Shifted by half its length along its heading (ry rotates +x towards −z): a third.
  const h = { ...b, x: b.x + 2 * Math.cos(b.ry), z: b.z - 2 * Math.sin(b.ry) };
  t.ok(Math.abs(iou3d(b, h) - 1 / 3) < 1e-6, `half a length along: ${iou3d(b, h).toFixed(4)}`);
  t.equal(iou3d(b, { ...b, y: b.y - 3 }), 0, 'above it: 0');
});

t.test('a camera box cut by the image bottom gives a bearing, not a position: it moves no track and starts none', async (t) => {
  const cfg = cfgWith();
  const [lidar, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
  const t0 = 1_000_000;
  /** The camera's frame of `car`, its box stretched down to `bottom` px (375: cut by the image's edge). */
  const camFrame = (i: number, bottom?: number) => {
    const f = synthFrame(cam!, [car], t0 + i * 100 + 1, i, { pixelNoise: 0 });
    const b = f.objects[0]!.box2d!;
    if (bottom !== undefined) b.height = bottom - b.y;
    return f;
  };
  const whole = toMeasurements(camFrame(0), cam!, DEFAULT_MEASUREMENT_OPTIONS).measurements[0]!;
  const cut = toMeasurements(camFrame(0, 375), cam!, DEFAULT_MEASUREMENT_OPTIONS).measurements[0]!;
  t.equal(whole.bearingOnly, undefined, 'a whole box places the object');
  t.equal(cut.bearingOnly, true, 'a box down to the image edge: bearing only');
  const sAlong = (m: typeof cut) => Math.sqrt(m.cov[0] * Math.cos(Math.atan2(m.y, m.x)) ** 2 + m.cov[2] * Math.sin(Math.atan2(m.y, m.x)) ** 2 + m.cov[1] * Math.sin(2 * Math.atan2(m.y, m.x)));
  t.ok(sAlong(cut) >= 0.45 * cut.range, `its σ along the ray is about half its range or more (${sAlong(cut).toFixed(1)} m at ${cut.range.toFixed(1)} m)`);

  // Camera frames only: whole boxes start a track, cut ones none.
  const camOnly = (bottom?: number) => {
    const p = createPerception(cfg);
    for (let i = 0; i < 10; i++) p.push(camFrame(i, bottom));
    return p.tracks(t0 + 1001, true).length;
  };
  t.ok(camOnly() >= 1, 'whole boxes: a track');
  t.equal(camOnly(375), 0, 'cut boxes: no track');

  // A car 9 m ahead whose box the detector stretches down to the image's bottom: placed ~1.5 m short of it, inside
  // the gate. On a lidar track the camera may move (cameraPositionHoldMs 0), the cut box leaves it where the lidar
  // put it.
  const nearCar: GroundTruthObject = { ...car, x: 9, y: 0.5 };
  const trackAfter = (withCamera: boolean) => {
    const p = createPerception(cfg, { tracker: { cameraPositionHoldMs: 0 } });
    for (let i = 0; i < 10; i++) {
      p.push(synthFrame(lidar!, [nearCar], t0 + i * 100, i));
      if (!withCamera) continue;
      const f = synthFrame(cam!, [nearCar], t0 + i * 100 + 1, i, { pixelNoise: 0 });
      const b = f.objects[0]!.box2d!;
      b.height = 375 - b.y;
      p.push(f);
    }
    const tr = p.tracks(t0 + 1001);
    return tr[0]!.enu;
  };
  const lidarOnly = trackAfter(false);
  const withCut = trackAfter(true);
  t.ok(Math.hypot(withCut.x - lidarOnly.x, withCut.y - lidarOnly.y) < 0.002, `cut boxes: ${Math.hypot(withCut.x - lidarOnly.x, withCut.y - lidarOnly.y).toFixed(3)} m from the lidar-only track`);
});

t.test("the model's placement σ across the ray includes the size of its own across correction", async (t) => {
  const cfg = cfgWith();
  const [, cam] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
  const acrossStd = (across: number): number => {
    let sd = NaN;
    const p = createPerception(cfg, {
      backend: onnxFusionFactory({
        scorer: scorer(0, across),
        hooks: {
          applied: (_b, up, born) => {
            for (const { m } of [...up, ...born]) {
              const az = Math.atan2(m.y - cam!.camera!.center.y, m.x - cam!.camera!.center.x);
              const [xx, xy, yy] = m.cov;
              sd = Math.sqrt(Math.sin(az) ** 2 * xx - 2 * Math.sin(az) * Math.cos(az) * xy + Math.cos(az) ** 2 * yy);
            }
          },
        },
      }),
    });
    p.push(synthFrame(cam!, [car], 1_000_000, 0, { pixelNoise: 0 }));
    return sd;
  };
  t.ok(Math.abs(acrossStd(0) - 0.3) < 1e-3, `no correction: the model's σ, ${acrossStd(0).toFixed(3)} m`);
  t.ok(Math.abs(acrossStd(0.4) - 0.5) < 5e-3, `a 0.4 m correction: 0.3 ⊕ 0.4 = ${acrossStd(0.4).toFixed(3)} m`);
});
