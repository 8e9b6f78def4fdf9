// The simulated traffic: reproducible from the seed; vehicles stop at red and go at green (positions against
// the stop line over whole cycles); pedestrians start crossing only during their green; some step out between
// stopped vehicles; vehicles do not drive through each other.

import t from 'tap';
import { join } from 'node:path';
import { defaultConfig } from '../runtime/config/index.js';
import { demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { boxCorners, inBox, Scenario, type TruthObject, type TruthTick } from '../runtime/sim/index.js';

const phases = defaultConfig().applications.spat.phases;
const laneMap = loadLaneMap(demoLaneMapPath());

const snapshot = (tick: TruthTick) => JSON.stringify({ ...tick, timeNs: String(tick.timeNs) });

t.test('the same seed gives the same world; another seed another', async (t) => {
  const run = (seed: number | string) => {
    const sc = new Scenario({ seed, laneMap, phases, warmupS: 30 });
    const out: string[] = [];
    for (let i = 0; i < 40; i++) {
      sc.step(0.5);
      out.push(snapshot(sc.groundTruth()));
    }
    return out;
  };
  const a = run(7);
  t.same(run(7), a, 'seed 7 twice: identical ground truth, tick by tick');
  const b = run(8);
  t.not(b.join(), a.join(), 'seed 8 differs');
  t.ok(JSON.parse(a[a.length - 1]!).objects.length > 5, 'there is traffic');
  // Stepping in other increments gives the same world at the same instants (steps are split the same way).
  const sc = new Scenario({ seed: 7, laneMap, phases, warmupS: 30 });
  for (let i = 0; i < 10; i++) sc.step(0.5);
  const sc2 = new Scenario({ seed: 7, laneMap, phases, warmupS: 30 });
  for (let i = 0; i < 100; i++) sc2.step(0.05);
  const p1 = sc.groundTruth().objects.map((o) => [o.id, o.position.x.toFixed(6)]);
  const p2 = sc2.groundTruth().objects.map((o) => [o.id, o.position.x.toFixed(6)]);
  t.same(p2, p1, '10 × 0.5 s = 100 × 0.05 s');
});

t.test('vehicles stop at red and go at green', async (t) => {
  const sc = new Scenario({ seed: 'signals', laneMap, phases, spawn: { vehiclesPerHour: 500 }, warmupS: 60 });
  const cycle = sc.signals.cycleS;
  const prev = new Map<number, number>();
  const crossings: Array<{ light: string; elapsedS: number; group: number }> = [];
  // Per signal group and red period: vehicles standing still just before the stop line.
  const waitingAtRed = new Map<number, number>();
  const dt = 0.05;
  for (let k = 0; k < Math.round((2 * cycle) / dt); k++) {
    sc.step(dt);
    const tick = sc.groundTruth();
    for (const o of tick.objects) {
      if (!o.route || o.route.signalGroup === undefined) continue;
      const before = prev.get(o.id);
      const d = o.route.toStopLineM;
      if (before !== undefined && before > 0 && d <= 0) {
        const st = sc.signals.state(o.route.signalGroup, sc.timeMs);
        crossings.push({ light: st.light, elapsedS: st.elapsedS, group: o.route.signalGroup });
      }
      prev.set(o.id, d);
      const st = sc.signals.state(o.route.signalGroup, sc.timeMs);
      if (st.light === 'red' && st.elapsedS > 3 && o.speed < 0.1 && d > 0 && d < 3) waitingAtRed.set(o.route.signalGroup, (waitingAtRed.get(o.route.signalGroup) ?? 0) + 1);
    }
  }
  const onRed = crossings.filter((c) => c.light === 'red');
  t.same(onRed.filter((c) => c.elapsedS > 1), [], 'nobody crosses the stop line later than 1 s into red');
  t.ok(onRed.length <= 0.02 * crossings.length, `${onRed.length} of ${crossings.length} crossings in the first second of red (committed at yellow)`);
  for (const g of [1, 2]) {
    const n = crossings.filter((c) => c.group === g && c.light === 'green').length;
    t.ok(n >= 10, `signal group ${g}: ${n} vehicles crossed on green in two cycles`);
    t.ok((waitingAtRed.get(g) ?? 0) > 0, `signal group ${g}: vehicles wait at the stop line during red`);
  }
  const yellow = crossings.filter((c) => c.light === 'yellow');
  t.ok(yellow.every((c) => c.elapsedS < 3), `${yellow.length} crossed during yellow`);
});

t.test('pedestrians start crossing only on their green; some step out between stopped vehicles', async (t) => {
  const sc = new Scenario({ seed: 'walk', laneMap, phases, spawn: { pedestriansPerHour: 300, jaywalkersPerHour: 400, vehiclesPerHour: 500 }, warmupS: 30 });
  const state = new Map<number, string>();
  const starts: Array<{ crosswalk: number; light: string }> = [];
  const finished = new Set<number>();
  const jaywalkers = new Set<number>();
  let jaywalkInsideVehicle = 0;
  for (let k = 0; k < 150 / 0.05; k++) {
    sc.step(0.05);
    const tick = sc.groundTruth();
    const vehicles = tick.objects.filter((o) => o.route);
    for (const o of tick.objects) {
      const p = o.pedestrian;
      if (!p) continue;
      const before = state.get(o.id);
      if (p.state === 'cross' && before !== 'cross') {
        if (p.jaywalk) jaywalkers.add(o.id);
        else starts.push({ crosswalk: p.crosswalk!, light: sc.signals.light(p.signalGroup, sc.timeMs) });
      }
      if (p.state === 'leave' && before === 'cross') finished.add(o.id);
      if (p.jaywalk && p.state === 'cross' && vehicles.some((v) => inBox(o.position, v.position, v.heading, v.size, 0))) jaywalkInsideVehicle++;
      state.set(o.id, p.state);
    }
  }
  t.ok(starts.length >= 20, `${starts.length} crossings started`);
  t.same(starts.filter((s) => s.light !== 'green'), [], 'every one during its signal group\'s green');
  t.same([...new Set(starts.map((s) => s.crosswalk))].sort(), [19, 29, 39, 49], 'on every crosswalk');
  t.ok(finished.size >= 15, `${finished.size} reached the other side`);
  t.ok(jaywalkers.size >= 1, `${jaywalkers.size} pedestrians crossed between stopped vehicles`);
  t.equal(jaywalkInsideVehicle, 0, 'never through a vehicle');
});

t.test('vehicles do not drive through each other', async (t) => {
  const sc = new Scenario({ seed: 'collisions', laneMap, phases, warmupS: 60 });
  const overlapping = new Set<string>();
  const overlaps = (a: TruthObject, b: TruthObject) => {
    // Footprints shrunk by 10 % (the model keeps gaps of decimetres when it squeezes past).
    const sa = { ...a.size, length: a.size.length * 0.9, width: a.size.width * 0.9 };
    const sb = { ...b.size, length: b.size.length * 0.9, width: b.size.width * 0.9 };
    return boxCorners(b.position, b.heading, sb).some((c) => inBox(c, a.position, a.heading, sa, 0)) || boxCorners(a.position, a.heading, sa).some((c) => inBox(c, b.position, b.heading, sb, 0));
  };
  for (let k = 0; k < 300 * 4; k++) {
    sc.step(0.25);
    const v = sc.groundTruth().objects.filter((o) => o.route);
    for (let i = 0; i < v.length; i++)
      for (let j = i + 1; j < v.length; j++) {
        if (Math.abs(v[i]!.position.x - v[j]!.position.x) > 15 || Math.abs(v[i]!.position.y - v[j]!.position.y) > 15) continue;
        if (overlaps(v[i]!, v[j]!)) overlapping.add(`${v[i]!.id}/${v[j]!.id}`);
      }
  }
  t.ok(sc.stats.vehicles > 100, `${sc.stats.vehicles} vehicles and ${sc.stats.cyclists} cyclists in 6 minutes`);
  t.same([...overlapping], [], 'no two vehicles overlap');
  t.equal(sc.stats.gridlockBreaks, 0, 'no deadlock had to be broken');
});

t.test('a T-junction with a 2-phase plan runs too', async (t) => {
  const tj = loadLaneMap(join(import.meta.dirname, 'fixtures', 'map', 't-junction.geojson'));
  const sc = new Scenario({ seed: 1, laneMap: tj, phases: [{ id: 1, green: 30, yellow: 3, red: 17, offset: 0 }, { id: 2, green: 12, yellow: 3, red: 35, offset: 35 }], warmupS: 0 });
  sc.step(120);
  t.ok(sc.stats.finished > 20, `${sc.stats.finished} vehicles went through`);
  t.ok(sc.network.connections.find((c) => c.key === '3>6')!.conflicts.some((z) => z.other.key === '1>4' && z.permissive && z.yields), 'the left turn from the East gives way to oncoming traffic');
});
