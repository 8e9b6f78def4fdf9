// The output policy (issue 13): the RSM carries a road user only while a sensor has confirmed it within
// perception.tracker.reportMaxCoastMs; the tracker keeps predicting it for association, unreported.

import t from 'tap';
import { validateConfig, type RsuConfig } from '../runtime/config/index.js';
import { createPerception, type DetectionFrame } from '../runtime/perception/index.js';
import { buildRsm, ParticipantIds } from '../runtime/apps/rsm.js';
import { MsgCounter } from '../runtime/apps/clock.js';
import { rsuIdHex } from '../runtime/apps/messages.js';

const REF = { lat: 48.2, lon: 11.6, elevation: 500 };

function config(tracker: Record<string, unknown>): RsuConfig {
  const r = validateConfig({ rsu: { reference: REF, stationFrame: {} }, sensors: [{ id: 'l1', kind: 'lidar', pose: {} }], perception: { fusion: 'plain', tracker } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config!;
}

const T0 = 1_700_000_000_000;
const frame = (k: number, withCar: boolean): DetectionFrame => ({
  sensorId: 'l1',
  sensorKind: 'lidar',
  frameNumber: k,
  sensorTimeMs: T0 + k * 100,
  timeMs: T0 + k * 100,
  receivedMs: T0 + k * 100,
  // A car driving along x at 10 m/s, 20 m ahead.
  objects: withCar ? [{ id: 1, classification: 'car', confidence: 0.9, box3d: { x: 20 + k, y: 0, z: 0.8, length: 4.5, width: 1.8, height: 1.6, yaw: 0 } }] : [],
});

const rsmParticipants = (tracks: Parameters<typeof buildRsm>[0], at: number, ctx: Parameters<typeof buildRsm>[2]): number =>
  (buildRsm(tracks, at, ctx) as Array<{ value?: { participants?: unknown[] } } & Record<string, any>>).reduce((n, f) => n + (JSON.stringify(f).match(/"ptcId"/g)?.length ?? 0), 0);

for (const sensorKeepsSending of [true, false]) {
  t.test(`a detection that stops leaves the RSM within reportMaxCoastMs (${sensorKeepsSending ? 'sensor sends empty frames' : 'sensor goes silent'})`, async (t) => {
    const reportMaxCoastMs = 250;
    const stage = createPerception(config({ reportMaxCoastMs }));
    const cnt = new MsgCounter();
    const ctx = { std: 'csae2020' as const, rsuIdHex: rsuIdHex('RSU001'), ref: REF, nextMsgCnt: () => cnt.next('rsm'), maxParticipants: 16, ids: new ParticipantIds() };
    const lastSeenK = 19;
    let lastCarried = -1;
    for (let k = 0; k < 40; k++) {
      if (k <= lastSeenK || sensorKeepsSending) stage.push(frame(k, k <= lastSeenK));
      const at = T0 + k * 100;
      const tracks = stage.tracks(at);
      if (k === lastSeenK) t.equal(tracks.length, 1, 'the car is reported while detected');
      if (k === lastSeenK) t.equal(tracks[0]!.coasting, false);
      if (k === lastSeenK + 1 && sensorKeepsSending) t.equal(tracks[0]?.coasting, true, 'missed by a covering sensor: flagged as coasting');
      if (rsmParticipants(tracks, at, ctx) > 0) lastCarried = k;
    }
    t.ok(lastCarried >= lastSeenK, 'carried while seen');
    t.ok((lastCarried - lastSeenK) * 100 <= reportMaxCoastMs, `last RSM carrying it ${(lastCarried - lastSeenK) * 100} ms after the last detection (limit ${reportMaxCoastMs} ms)`);
    // The track is still kept for association (maxCoastMs 1500 by default): a reappearing car keeps its id.
  });
}

t.test('a car missed for less than the report limit keeps its id when seen again', async (t) => {
  const stage = createPerception(config({ reportMaxCoastMs: 300 }));
  for (let k = 0; k < 10; k++) stage.push(frame(k, true));
  const id = stage.tracks(T0 + 900)[0]!.id;
  for (let k = 10; k < 15; k++) stage.push(frame(k, false));
  t.equal(stage.tracks(T0 + 1400).length, 0, 'withheld after 500 ms without a detection');
  stage.push(frame(15, true));
  t.equal(stage.tracks(T0 + 1500)[0]?.id, id, 'same track again once detected');
});

t.test('perception.tracker settings are validated', async (t) => {
  const bad = validateConfig({ rsu: { reference: REF }, sensors: [{ id: 'l1', kind: 'lidar' }], perception: { tracker: { reportMaxCoastMs: 2000, maxCoastMs: 1000, gateChi2: 0 } } });
  t.equal(bad.ok, false);
  t.match(bad.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /perception\.tracker\.gateChi2/);
  const bad2 = validateConfig({ rsu: { reference: REF }, sensors: [{ id: 'l1', kind: 'lidar' }], perception: { tracker: { reportMaxCoastMs: 2000, maxCoastMs: 1000 } } });
  t.match(bad2.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /reportMaxCoastMs: must not exceed maxCoastMs/);
});

t.test('sensors[].fov bounds where a lidar counts misses', async (t) => {
  const { buildSensorModels, Georef, DEFAULT_MEASUREMENT_OPTIONS } = await import('../runtime/perception/index.js');
  const r = validateConfig({ rsu: { reference: REF, stationFrame: {} }, sensors: [{ id: 'l1', kind: 'lidar', pose: { yaw: 90 }, fov: 90 }] });
  t.ok(r.ok);
  const cfg = r.config!;
  const [m] = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS);
  t.equal(m!.covers(0, 30, 0), true, 'ahead (the lidar faces north)');
  t.equal(m!.covers(20, 30, 0), true, '34° off its axis');
  t.equal(m!.covers(30, 0, 0), false, '90° off its axis');
  t.equal(m!.covers(0, -30, 0), false, 'behind');
  t.equal(validateConfig({ rsu: { reference: REF }, sensors: [{ id: 'l1', kind: 'lidar', fov: 400 }] }).ok, false, 'fov above 360 is refused');
});
