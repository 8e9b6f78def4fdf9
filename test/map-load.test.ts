// The lane map: the shipped demo intersection loads and matches the demo signal plan; WGS-84 ↔ ENU is exact;
// bad GeoJSON is rejected with errors naming the feature and the property.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../runtime/config/index.js';
import {
  buildDemoIntersection,
  checkSignalGroups,
  DEMO_LAYOUT,
  demoLaneMapPath,
  ecefToGeodetic,
  EnuFrame,
  geodeticToEcef,
  intersectionEnd,
  LaneMapError,
  loadLaneMap,
  nodesFromIntersection,
  parseLaneMap,
  signalGroupsOf,
  WGS84,
} from '../runtime/map/index.js';

const FIX = join(import.meta.dirname, 'fixtures', 'map');
const config = defaultConfig();

t.test('WGS-84 ↔ ECEF ↔ ENU', async (t) => {
  // Closed-form checks: the equator/prime meridian and the pole.
  const e0 = geodeticToEcef(0, 0, 0);
  t.ok(Math.abs(e0.x - WGS84.a) < 1e-6 && Math.abs(e0.y) < 1e-9 && Math.abs(e0.z) < 1e-9, 'equator on the prime meridian is (a, 0, 0)');
  const pole = geodeticToEcef(90, 0, 100);
  const b = WGS84.a * (1 - WGS84.f);
  t.ok(Math.abs(pole.z - (b + 100)) < 1e-6, 'north pole, 100 m up, is (0, 0, b + 100)');
  // Round trips, including high latitudes and altitudes.
  for (const [lat, lon, h] of [[48.2495, 11.6389, 527], [-33.9, 151.2, -20], [89.99, -170, 10000], [0.001, 179.999, 0], [-89.5, 45, 300]] as const) {
    const e = geodeticToEcef(lat, lon, h);
    const g = ecefToGeodetic(e.x, e.y, e.z);
    t.ok(Math.abs(g.lat - lat) < 1e-11 && Math.abs(g.lon - lon) < 1e-11 && Math.abs(g.elevation - h) < 1e-6, `ECEF round trip at ${lat}, ${lon}, ${h} m`);
  }
  const ref = config.rsu.reference;
  const enu = new EnuFrame(ref);
  const o = enu.toEnu(ref.lat, ref.lon, ref.elevation);
  t.ok(Math.hypot(o.x, o.y, o.z) < 1e-9, 'the reference is the origin');
  // Small steps match the meridian and prime-vertical radii of curvature.
  const e2 = WGS84.f * (2 - WGS84.f);
  const s = Math.sin((ref.lat * Math.PI) / 180);
  const M = (WGS84.a * (1 - e2)) / (1 - e2 * s * s) ** 1.5 + ref.elevation;
  const N = WGS84.a / Math.sqrt(1 - e2 * s * s) + ref.elevation;
  const d = 1e-5;
  const north = enu.toEnu(ref.lat + d, ref.lon);
  const east = enu.toEnu(ref.lat, ref.lon + d);
  t.ok(Math.abs(north.y - (M * d * Math.PI) / 180) < 1e-6 && Math.abs(north.x) < 1e-9, `1e-5° north = ${north.y.toFixed(6)} m`);
  t.ok(Math.abs(east.x - (N * Math.cos((ref.lat * Math.PI) / 180) * d * Math.PI) / 180) < 1e-6 && Math.abs(east.y) < 1e-6, `1e-5° east = ${east.x.toFixed(6)} m`);
  // Curvature: a point 1 km east on the reference's height surface lies below the tangent plane by ~d²/2R.
  const far = enu.toEnu(ref.lat, ref.lon + 1000 / ((N * Math.cos((ref.lat * Math.PI) / 180) * Math.PI) / 180));
  t.ok(far.z < -0.07 && far.z > -0.09, `1 km away, ${far.z.toFixed(4)} m below the tangent plane`);
  // ENU → WGS-84 → ENU.
  for (const [x, y, z] of [[0, 0, 0], [120, -45, 3], [-300, 250, -7], [1500, 1500, 20]] as const) {
    const g = enu.toGeo(x, y, z);
    const p = enu.toEnu(g.lat, g.lon, g.elevation);
    t.ok(Math.hypot(p.x - x, p.y - y, p.z - z) < 1e-6, `ENU round trip (${x}, ${y}, ${z})`);
  }
});

t.test('the demo intersection loads, centred on the demo reference', async (t) => {
  const map = loadLaneMap(demoLaneMapPath());
  t.same(map.warnings, [], 'no warnings');
  t.equal(map.intersectionId, 110);
  t.same(map.reference, config.rsu.reference, 'reference point = config rsu.reference');
  t.same(
    map.approaches.map((a) => [a.id, a.name, a.heading]),
    [[1, 'North', 0], [2, 'East', 90], [3, 'South', 180], [4, 'West', 270]],
  );
  t.equal(map.lanes.length, 18, '18 lanes: 14 vehicle lanes, 4 crosswalks');
  for (const ap of map.approaches) {
    const lanes = map.lanes.filter((l) => l.approach === ap.id);
    const ing = lanes.filter((l) => l.kind === 'vehicle' && l.direction === 'ingress');
    const eg = lanes.filter((l) => l.kind === 'vehicle' && l.direction === 'egress');
    t.equal(ing.length, 2, `${ap.name}: 2 ingress lanes`);
    t.ok(eg.length >= 1 && eg.length <= 2, `${ap.name}: ${eg.length} egress lanes`);
    t.equal(lanes.filter((l) => l.kind === 'crosswalk').length, 1, `${ap.name}: a crosswalk`);
    // Stop lines at the layout's distance from the centre (the file's coordinates are rounded to 1e-8°: ~1 mm).
    for (const l of ing) t.ok(Math.abs(Math.hypot(intersectionEnd(l).x, intersectionEnd(l).y) - Math.hypot(DEMO_LAYOUT.stopLineM, (l.laneId % 10 === 1 ? 0.5 : 1.5) * DEMO_LAYOUT.laneWidthM)) < 0.005, `lane ${l.laneId} stop line in place`);
  }
  // Lane 11 (North, inner ingress) runs south and ends at its stop line.
  const l11 = map.lanesById.get(11)!;
  const end = intersectionEnd(l11);
  t.ok(Math.abs(end.x + 1.625) < 0.003 && Math.abs(end.y - 14.5) < 0.003, `lane 11 stop line at (${end.x.toFixed(3)}, ${end.y.toFixed(3)})`);
  t.same(nodesFromIntersection(l11)[0], end, 'MAP node order starts at the stop line');
  t.ok(Math.abs(l11.lengthM - (DEMO_LAYOUT.armLengthM - DEMO_LAYOUT.stopLineM)) < 0.01, 'lane length');
  // The shipped file is the generator's output (regenerate it after changing demo.ts).
  const shipped = JSON.parse(readFileSync(demoLaneMapPath(), 'utf8')) as unknown;
  t.same(parseLaneMap(shipped).lanes.map((l) => l.points), parseLaneMap(buildDemoIntersection()).lanes.map((l) => l.points), 'file = generator');
});

t.test('demo signal groups match the demo SPAT phases (2-phase plan: N-S, then E-W)', async (t) => {
  const map = loadLaneMap(demoLaneMapPath());
  const phases = config.applications.spat.phases;
  t.same(checkSignalGroups(map, phases), [], 'every signal group has a phase');
  t.same(signalGroupsOf(map), phases.map((p) => p.id).sort(), 'and every phase is used');
  const groupOf = (ap: number) => new Set(map.lanes.filter((l) => l.approach === ap).flatMap((l) => l.connectsTo.map((c) => c.signalGroup)));
  t.same([...groupOf(1)], [1], 'North: phase 1');
  t.same([...groupOf(3)], [1], 'South: phase 1');
  t.same([...groupOf(2)], [2], 'East: phase 2');
  t.same([...groupOf(4)], [2], 'West: phase 2');
  // Crosswalks walk with the parallel traffic: across N and S arms during E-W green and vice versa.
  for (const cw of map.lanes.filter((l) => l.kind === 'crosswalk')) {
    const vehicleGroup = [...groupOf(cw.approach!)][0];
    t.not(cw.signalGroup, vehicleGroup, `crosswalk ${cw.laneId} is red while its arm's traffic has green`);
  }
  // Phases 1 and 2 never show green (or yellow) together.
  const [p1, p2] = phases;
  const C = p1!.green + p1!.yellow + p1!.red;
  const on = (p: typeof p1, u: number) => ((u - p!.offset) % C + C) % C < p!.green + p!.yellow;
  const both: number[] = [];
  for (let u = 0; u < C; u += 0.5) if (on(p1, u) && on(p2, u)) both.push(u);
  t.same(both, [], 'phases 1 and 2 are never green or yellow at once');
  // Connections: every movement of an ingress lane, to an egress lane of another approach in the right direction.
  for (const l of map.lanes.filter((x) => x.direction === 'ingress')) {
    for (const c of l.connectsTo) {
      const to = map.lanesById.get(c.lane)!;
      t.equal(to.direction, 'egress');
      const a = (l.approach! - 1) * 90;
      const b = (to.approach! - 1) * 90;
      const turn = (((b - a) % 360) + 360) % 360;
      const expect = { straight: 180, left: 90, right: 270, uTurn: 0 }[c.maneuver];
      t.equal(turn, expect, `lane ${l.laneId} ${c.maneuver} → lane ${c.lane}`, { diagnostic: false });
    }
  }
});

t.test('validation names the feature and the property', async (t) => {
  const err = (fn: () => unknown): LaneMapError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof LaneMapError) return e;
      throw e;
    }
    throw new Error('no LaneMapError');
  };
  const several = err(() => loadLaneMap(join(FIX, 'several-errors.geojson')));
  t.same(
    several.issues.map((i) => [i.feature, i.property]),
    [
      [1, 'properties.laneId'],
      [2, 'geometry.coordinates'],
      [3, 'geometry.coordinates'],
      [5, 'properties.laneId'],
      [6, 'properties.connectsTo[1].lane'],
    ],
    'all five problems, each at its feature and property',
  );
  t.match(several.message, /features\[1\]\.properties\.laneId: missing/);
  t.match(several.message, /features\[2\]\.geometry\.coordinates: a lane needs at least 2 points, got 1/);
  t.match(several.message, /features\[3\]\.geometry\.coordinates: zero-length lane/);
  t.match(several.message, /features\[5\]\.properties\.laneId: duplicate laneId 4 \(also features\[4\]\)/);
  t.match(several.message, /features\[6\]\.properties\.connectsTo\[1\]\.lane: lane 42 does not exist/);
  t.match(several.message, /several-errors\.geojson/, 'names the file');

  t.match(err(() => loadLaneMap(join(FIX, 'not-json.geojson'))).message, /not valid JSON/);
  t.match(err(() => loadLaneMap(join(FIX, 'missing.geojson'))).message, /cannot read the lane map/);

  const demo = () => structuredClone(buildDemoIntersection()) as { features: Array<{ properties: Record<string, unknown>; geometry: { type: string; coordinates: unknown } }> };
  const cases: Array<[string, (fc: ReturnType<typeof demo>) => void, RegExp]> = [
    ['no reference point', (fc) => void fc.features.shift(), /no intersection reference: add a Point feature/],
    ['lat/lon swapped', (fc) => void (fc.features[3]!.geometry.coordinates = (fc.features[3]!.geometry.coordinates as number[][]).map(([a, b]) => [b!, a!])), /features\[3\]\.geometry\.coordinates: the lane lies \d+\.\d km from the intersection reference .*swapped/],
    ['ingress drawn backwards', (fc) => void (fc.features[1]!.geometry.coordinates as number[][]).reverse(), /features\[1\]\.geometry\.coordinates: the ingress lane is drawn away from the intersection/],
    ['unknown maneuver', (fc) => void ((fc.features[1]!.properties['connectsTo'] as Array<Record<string, unknown>>)[0]!['maneuver'] = 'sideways'), /features\[1\]\.properties\.connectsTo\[0\]\.maneuver: expected one of straight, left, right, uTurn, got "sideways"/],
    ['maneuver not offered by the lane', (fc) => void (fc.features[1]!.properties['maneuvers'] = ['straight']), /features\[1\]\.properties\.connectsTo\[0\]\.maneuver: "left" is not in the lane's maneuvers \[straight\]/],
    ['connection to an ingress lane', (fc) => void ((fc.features[1]!.properties['connectsTo'] as Array<Record<string, unknown>>)[0]!['lane'] = 21), /features\[1\]\.properties\.connectsTo\[0\]\.lane: lane 21 \(features\[\d+\]\) is ingress; connections lead to egress lanes/],
    ['laneId out of range', (fc) => void (fc.features[2]!.properties['laneId'] = 300), /features\[2\]\.properties\.laneId: expected an integer 1-255, got 300/],
    ['missing direction', (fc) => void delete fc.features[2]!.properties['direction'], /features\[2\]\.properties\.direction: missing/],
    ['bad signal group', (fc) => void (fc.features[5]!.properties['signalGroup'] = 0), /features\[5\]\.properties\.signalGroup: expected a signal group/],
    ['a Polygon lane', (fc) => void (fc.features[2]!.geometry.type = 'Polygon'), /features\[2\]\.geometry\.type: expected a LineString/],
    ['approach renamed in one lane', (fc) => void (fc.features[2]!.properties['approach'] = { id: 1, name: 'Nord', heading: 0 }), /features\[2\]\.properties\.approach: approach 1 is named "Nord" here but "North" in features\[1\]/],
  ];
  for (const [what, mutate, re] of cases) {
    const fc = demo();
    mutate(fc);
    const e = err(() => parseLaneMap(fc));
    t.match(e.message, re, what);
  }
  // GIS tools store lists as JSON text: accepted.
  const fc = demo();
  fc.features[1]!.properties['connectsTo'] = JSON.stringify(fc.features[1]!.properties['connectsTo']);
  fc.features[1]!.properties['maneuvers'] = JSON.stringify(fc.features[1]!.properties['maneuvers']);
  t.same(parseLaneMap(fc).lanesById.get(11)!.connectsTo.map((c) => c.lane), [25, 35], 'connectsTo as JSON text');
});

t.test('another map: a T-junction fixture', async (t) => {
  const map = loadLaneMap(join(FIX, 't-junction.geojson'));
  t.equal(map.lanes.length, 7);
  t.same(map.warnings, []);
  t.same(checkSignalGroups(map, [{ id: 1 }]), [
    'features[5].properties.connectsTo[0].signalGroup: lane 5 → 2 uses signal group 2, which the SPAT plan has no phase for',
    'features[5].properties.connectsTo[1].signalGroup: lane 5 → 4 uses signal group 2, which the SPAT plan has no phase for',
  ]);
});
