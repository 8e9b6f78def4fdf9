// Do the demo sensors (placed from the TUMTraf S110 calibrations by defaultConfig()) see the demo intersection?
// A car (or, on crosswalks, a pedestrian) is put at sample points along every lane and on a 1 m grid over the
// crossing, alone in the scene; a point counts as covered when a lidar would detect it with probability ≥ 0.5
// (inside its vertical field of view, enough returns) or a camera sees it at least 20 px tall.

import t from 'tap';
import { defaultConfig, type RsuConfig } from '../runtime/config/index.js';
import { DEMO_LAYOUT, demoLaneMapPath, loadLaneMap, Path, type Lane } from '../runtime/map/index.js';
import { Rng, sensorModelsFromConfig, type TruthObject } from '../runtime/sim/index.js';

const CAR = { length: 4.5, width: 1.8, height: 1.5 };
const PED = { length: 0.5, width: 0.6, height: 1.75 };
const map = loadLaneMap(demoLaneMapPath());

function coverage(config: RsuConfig) {
  const models = sensorModelsFromConfig(config, { lidar: { clutterPerFrame: 0 }, camera: { clutterPerFrame: 0 } });
  const rng = new Rng('coverage');
  const seenBy = (cls: 'car' | 'pedestrian', x: number, y: number, heading: number): Set<string> => {
    const size = cls === 'car' ? CAR : PED;
    const o: TruthObject = { id: 1, class: cls, position: { x, y, z: size.height / 2 }, velocity: { x: 0, y: 0, z: 0 }, heading, speed: 0, size };
    const out = new Set<string>();
    for (const m of models) {
      const v = m.observeDetailed([o], 0n, rng).visibility[0];
      if (v && (m.sensor.kind === 'lidar' ? v.pDetect >= 0.5 : v.signal >= 20)) out.add(m.sensor.id);
    }
    return out;
  };
  /** Share of points along the first/last 40 m of a lane (at the intersection) seen by a sensor matching `which`. */
  const lane = (l: Lane, which: (id: string) => boolean) => {
    const p = new Path(l.points);
    const [s0, s1] = l.direction === 'ingress' ? [Math.max(0, p.length - 40), p.length] : l.direction === 'egress' ? [0, Math.min(40, p.length)] : [0, p.length];
    let n = 0;
    let k = 0;
    for (let s = s0; s <= s1 + 1e-9; s += 1) {
      const q = p.pointAt(s);
      n++;
      if ([...seenBy(l.kind === 'crosswalk' ? 'pedestrian' : 'car', q.x, q.y, p.headingAt(s))].some(which)) k++;
    }
    return k / n;
  };
  const box = (which: (id: string) => boolean) => {
    let n = 0;
    let k = 0;
    const B = DEMO_LAYOUT.stopLineM;
    for (let x = -B; x <= B; x += 1)
      for (let y = -B; y <= B; y += 1) {
        n++;
        if ([...seenBy('car', x, y, 0)].some(which)) k++;
      }
    return k / n;
  };
  return { lane, box, models };
}

const anyLidar = (id: string) => id.startsWith('lidar');
const anySensor = () => true;
const pct = (v: number) => `${(v * 100).toFixed(0)} %`;

t.test('demo config: lidars cover every vehicle lane at the intersection', async (t) => {
  const cov = coverage(defaultConfig());
  t.equal(cov.models.length, 5, 'two lidars and three cameras modelled');
  for (const l of map.lanes.filter((x) => x.kind === 'vehicle')) {
    const c = cov.lane(l, anyLidar);
    t.ok(c >= 0.9, `lane ${l.laneId} (${l.name}): ${pct(c)} of its 40 m at the intersection seen by a lidar`);
  }
  for (const id of [29, 39, 49]) {
    const c = cov.lane(map.lanesById.get(id)!, anySensor);
    t.ok(c >= 0.8, `crosswalk ${id}: ${pct(c)} seen`);
  }
  const b = cov.box(anySensor);
  t.ok(b >= 0.75, `the crossing (${2 * DEMO_LAYOUT.stopLineM} m square): ${pct(b)} seen by some sensor, ${pct(cov.box(anyLidar))} by a lidar`);
  t.equal(cov.lane(map.lanesById.get(22)!, (id) => id === 'camera_south1'), 1, 'camera_south1 sees the East approach');
  // camera_south2 looks north-east, mostly beyond the crossing: it sees only the crossing's north-east corner.
  t.ok(cov.box((id) => id === 'camera_south2') > 0, `camera_south2 sees ${pct(cov.box((id) => id === 'camera_south2'))} of the crossing`);
});

// The demo mast stands 20 m west of the crossing (runtime/config/validate.ts): each lidar, 7 m up with a ±22.5°
// vertical field of view, is blind within ~13 m of its mast, so closer masts would leave the north crosswalk
// unseen. camera_north's calibration points 61° above the horizon (config warning), so it sees nothing.
t.test('demo config: the sensors see the whole crossing and every crosswalk', async (t) => {
  const cov = coverage(defaultConfig());
  t.ok(cov.box(anySensor) >= 0.95, `crossing: ${pct(cov.box(anySensor))} seen`);
  for (const cw of map.lanes.filter((x) => x.kind === 'crosswalk')) t.ok(cov.lane(cw, anySensor) >= 0.8, `crosswalk ${cw.laneId}: ${pct(cov.lane(cw, anySensor))} seen`);
});

t.test('demo config: camera_north', { todo: 'its S110 extrinsics point 61° above the horizon: it sees nothing of the crossing' }, async (t) => {
  t.ok(coverage(defaultConfig()).box((id) => id === 'camera_north') > 0, 'camera_north sees part of the crossing');
});

