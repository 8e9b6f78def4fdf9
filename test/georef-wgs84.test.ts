// Georeferencing: WGS-84 geodetic ↔ ECEF ↔ local ENU, headings, and the sensor → station → local → WGS-84
// chain. Expected values come from outside this code: analytic identities, GeographicLib's published examples, an
// NGS survey datasheet, and a 50-digit mpmath computation with a different (iterative) inverse.

import t from 'tap';
import { defaultConfig } from '../runtime/config/index.js';
import { poseToMatrix, sensorToLocal } from '../runtime/config/pose.js';
import {
  ecefToGeodetic,
  EnuFrame,
  Georef,
  geodeticToEcef,
  GRS80,
  headingDegToYaw,
  normalizeLon,
  WGS84,
  wrapPi,
  yawToHeadingDeg,
  type Vec3,
} from '../runtime/perception/index.js';

const A = 6378137;
const B = 6356752.314245179; // WGS-84 semi-minor axis a(1 - f), NGA.STND.0036 table 3.1: 6356752.3142 m
const dist = (p: Vec3, q: Vec3) => Math.hypot(p.x - q.x, p.y - q.y, p.z - q.z);
/** Metres between two geodetic positions (through ECEF), so tolerances read in metres. */
const geoDist = (a: { lat: number; lon: number; elevation: number }, b: { lat: number; lon: number; elevation: number }) =>
  dist(geodeticToEcef(a), geodeticToEcef(b));
const CM = 0.01;
const MM = 0.001;

t.test('analytic ECEF of points on the axes', async (t) => {
  const cases: Array<[number, number, number, Vec3]> = [
    [0, 0, 0, { x: A, y: 0, z: 0 }],
    [0, 90, 0, { x: 0, y: A, z: 0 }],
    [0, -90, 100, { x: 0, y: -(A + 100), z: 0 }],
    [0, 180, 0, { x: -A, y: 0, z: 0 }],
    [0, -180, 0, { x: -A, y: 0, z: 0 }],
    [90, 0, 0, { x: 0, y: 0, z: B }],
    [90, 123, 500, { x: 0, y: 0, z: B + 500 }],
    [-90, 0, -30, { x: 0, y: 0, z: -(B - 30) }],
  ];
  for (const [lat, lon, h, want] of cases) {
    const got = geodeticToEcef({ lat, lon, elevation: h });
    t.ok(dist(got, want) < 1e-6, `(${lat}, ${lon}, ${h}) → ${JSON.stringify(got)}`);
    const back = ecefToGeodetic(want);
    t.ok(Math.abs(back.lat - lat) < 1e-12 && Math.abs(back.elevation - h) < 1e-6, `and back: ${JSON.stringify(back)}`);
    if (Math.abs(lat) < 90) t.ok(Math.abs(normalizeLon(back.lon - lon)) < 1e-12, `longitude ${back.lon}`);
  }
});

t.test('GeographicLib CartConvert(1) man page examples', async (t) => {
  // GeographicLib 2.x, CartConvert(1), EXAMPLES (WGS-84):
  //   echo 33.3 44.4 6000 | CartConvert            => 3816209.60 3737108.55 3485109.57
  //   echo 33.3 44.4 6000 | CartConvert -l 33 44 20 => 37288.97 33374.29 5783.64   (local: x east, y north, z up)
  //   echo 30000 30000 0 | CartConvert -r          => 6.483 45 -6335709.73        (inside the evolute)
  // The printed values carry ±0.005 m (and ±0.0005°) of rounding.
  const e = geodeticToEcef({ lat: 33.3, lon: 44.4, elevation: 6000 });
  t.ok(dist(e, { x: 3816209.6, y: 3737108.55, z: 3485109.57 }) < CM, `ECEF ${JSON.stringify(e)}`);
  const l = new EnuFrame({ lat: 33, lon: 44, elevation: 20 }).fromGeodetic({ lat: 33.3, lon: 44.4, elevation: 6000 });
  t.ok(dist(l, { x: 37288.97, y: 33374.29, z: 5783.64 }) < CM, `local ${JSON.stringify(l)}`);
  const r = ecefToGeodetic({ x: 30000, y: 30000, z: 0 });
  t.ok(Math.abs(r.lat - 6.483) < 0.0005 && r.lon === 45 && Math.abs(r.elevation - -6335709.73) < CM, `reverse ${JSON.stringify(r)}`);
  t.ok(dist(geodeticToEcef(r), { x: 30000, y: 30000, z: 0 }) < 1e-6, 'the reverse solution maps back to the point');
});

t.test('NGS datasheet: CORS P055 (GLENDIVEWTMT2006), NAD 83(2011)', async (t) => {
  // NGS data sheet, PID DI2263, retrieved 2025-02-19:
  //   NAD 83(2011) POSITION- 47 07 00.14491(N) 104 41 06.39476(W); ELLIP HT- 668.450 (meters)
  //   NAD 83(2011) X - -1,102,409.924  Y - -4,206,590.343  Z - 4,651,093.534 (meters, COMP)
  // NAD 83 uses the GRS 80 ellipsoid; WGS-84's flattening differs by 1.6e-12, 0.1 mm at this point.
  const geo = { lat: 47 + 7 / 60 + 0.14491 / 3600, lon: -(104 + 41 / 60 + 6.39476 / 3600), elevation: 668.45 };
  const xyz = { x: -1102409.924, y: -4206590.343, z: 4651093.534 };
  for (const [name, ell] of [['GRS80', GRS80], ['WGS84', WGS84]] as const) {
    const e = geodeticToEcef(geo, ell);
    t.ok(dist(e, xyz) < 2 * MM, `${name}: forward off by ${(dist(e, xyz) * 1000).toFixed(2)} mm`);
    const g = ecefToGeodetic(xyz, ell);
    const d = dist(geodeticToEcef(g, ell), geodeticToEcef(geo, ell));
    t.ok(d < 2 * MM, `${name}: inverse off by ${(d * 1000).toFixed(2)} mm (${JSON.stringify(g)})`);
  }
});

// Computed with Python mpmath at 50 digits (mp.dps = 50), a = 6378137, f = 1/298.257223563:
//   forward: N = a/sqrt(1-e²sin²φ); X = (N+h)cosφcosλ, Y = (N+h)cosφsinλ, Z = (N(1-e²)+h)sinφ
//   inverse: the fixed-point iteration φ ← atan2(Z, p(1 - e²N/(N+h))), h = p/cosφ - N, run to 1e-45 rad
//   ENU → ECEF: X0 + Rᵀ·(e, n, u) with R the ECEF → ENU rotation at the reference.
// The inverse used there is a different algorithm from the closed form in georef.ts.
const MPMATH_FORWARD: Array<[number, number, number, Vec3]> = [
  [48.2495, 11.6389, 527, { x: 4167913.9880262367408923, y: 858499.25266796650854611, z: 4735787.968105646861597 }],
  [89.9999, -135.5, 1000, { x: -7.9678229657053465696436, y: -7.8299578213889850121007, z: 6357752.3142354308359871 }],
  [-77.846, 166.668, -20, { x: -1310859.2939125444637741, y: 310647.14143300124886347, z: -6213319.6713634122727801 }],
  [-16.5, 179.9999, 12, { x: -6117146.9835274483573289, y: 10.676435569110171712401, z: -1799851.417395499285702 }],
];

t.test('ECEF agrees with a 50-digit computation (S110, near the north pole, Antarctica, antimeridian)', async (t) => {
  for (const [lat, lon, h, want] of MPMATH_FORWARD) {
    const got = geodeticToEcef({ lat, lon, elevation: h });
    t.ok(dist(got, want) < 1e-6, `(${lat}, ${lon}, ${h}): off by ${dist(got, want).toExponential(2)} m`);
    const back = ecefToGeodetic(want);
    t.ok(geoDist(back, { lat, lon, elevation: h }) < 1e-6, `inverse off by ${geoDist(back, { lat, lon, elevation: h }).toExponential(2)} m`);
  }
});

const MPMATH_ENU: Array<{ ref: [number, number, number]; enu: Vec3; lat: number; lon: number; h: number }> = [
  { ref: [48.2495, 11.6389, 527], enu: { x: 0, y: 0, z: 0 }, lat: 48.2495, lon: 11.6389, h: 527 },
  { ref: [48.2495, 11.6389, 527], enu: { x: 100, y: 0, z: 0 }, lat: 48.2494999921172924489, lon: 11.6402464215624971724, h: 527.0007824016069370814 },
  { ref: [48.2495, 11.6389, 527], enu: { x: 0, y: 1000, z: 0 }, lat: 48.2584924450873213442, lon: 11.6389, h: 527.07847390800493738558 },
  { ref: [48.2495, 11.6389, 527], enu: { x: -7071.0678, y: 7071.0678, z: 0 }, lat: 48.3130463589924570982, lon: 11.5435755337047363641, h: 534.83567166272916822556 },
  { ref: [48.2495, 11.6389, 527], enu: { x: 10000, y: -3000, z: 50 }, lat: 48.2224440419709051757, lon: 11.7734700780230236152, h: 585.53022259052739168798 },
  // across the antimeridian: 100 m and 1 km east of 179.9995° E
  { ref: [-16.5, 179.9995, 0], enu: { x: 100, y: 0, z: 0 }, lat: -16.4999999979022306663, lon: -179.999563356047665603, h: 0.00078371628215912188491799 },
  { ref: [-16.5, 179.9995, 0], enu: { x: 1000, y: 0, z: 0 }, lat: -16.4999997902230705782, lon: -179.991133560559258353, h: 0.078371627739617614323362 },
  // near the north pole: 1 km north of 89.99° N stays on the 0° meridian, 2 km north is over the pole
  { ref: [89.99, 0, 0], enu: { x: 0, y: 1000, z: 0 }, lat: 89.9989530339587022745, lon: 0, h: 0.078129960474050361126529 },
  { ref: [89.99, 0, 0], enu: { x: 0, y: 2000, z: 0 }, lat: 89.9920939325203276692, lon: 180, h: 0.3125198361541947676057 },
];

t.test('ENU ↔ WGS-84 agrees with a 50-digit computation at 0 m, 100 m, 1 km and 10 km', async (t) => {
  for (const c of MPMATH_ENU) {
    const f = new EnuFrame({ lat: c.ref[0], lon: c.ref[1], elevation: c.ref[2] });
    const want = { lat: c.lat, lon: c.lon, elevation: c.h };
    const g = f.toGeodetic(c.enu);
    t.ok(geoDist(g, want) < MM, `${JSON.stringify(c.ref)} + ${JSON.stringify(c.enu)} → ${JSON.stringify(g)}: off by ${(geoDist(g, want) * 1000).toFixed(4)} mm`);
    const back = f.fromGeodetic(want);
    t.ok(dist(back, c.enu) < MM, `and back: ${JSON.stringify(back)}`);
  }
});

t.test('ENU of points on the equator is the analytic chord', async (t) => {
  // Reference (0°, 0°, 0): a point at longitude Δλ on the equator is (a·cosΔλ, a·sinΔλ, 0) in ECEF, so its ENU
  // coordinates are exactly (a·sinΔλ, 0, a·(cosΔλ − 1)).
  const f = new EnuFrame({ lat: 0, lon: 0, elevation: 0 });
  for (const d of [0, 100, 1000, 10000]) {
    const dl = d / A; // radians
    const got = f.fromGeodetic({ lat: 0, lon: (dl * 180) / Math.PI, elevation: 0 });
    t.ok(dist(got, { x: A * Math.sin(dl), y: 0, z: A * (Math.cos(dl) - 1) }) < 1e-6, `${d} m: ${JSON.stringify(got)}`);
  }
  // A point straight above the origin is (0, 0, h) exactly, everywhere.
  for (const [lat, lon] of [[0, 0], [48.2495, 11.6389], [-89.5, 179.99], [90, 0], [-90, 45]] as const) {
    const g = new EnuFrame({ lat, lon, elevation: 10 });
    const up = g.fromGeodetic({ lat, lon, elevation: 110 });
    t.ok(dist(up, { x: 0, y: 0, z: 100 }) < 1e-6, `up at (${lat}, ${lon}): ${JSON.stringify(up)}`);
  }
});

t.test('ENU round trips to the micrometre: 0 m to 10 km, poles, antimeridian', async (t) => {
  const refs: Array<[number, number, number]> = [
    [48.2495, 11.6389, 527],
    [0, 0, 0],
    [0, 180, 0],
    [0, -179.9999, 0],
    [-33.86, 151.21, 40],
    [89.9999, 10, 0],
    [90, 0, 0],
    [-90, 0, 2800],
    [-89.9, -179.95, 100],
    [64.1, -21.9, -10],
  ];
  const offsets = [0, 100, 1000, 10000];
  let worst = 0;
  for (const [lat, lon, h] of refs) {
    const f = new EnuFrame({ lat, lon, elevation: h });
    for (const d of offsets)
      for (let k = 0; k < 8; k++) {
        const a = (k * Math.PI) / 4 + 0.1;
        const p = { x: d * Math.cos(a), y: d * Math.sin(a), z: (k - 4) * 7 };
        const g = f.toGeodetic(p);
        t.ok(g.lon >= -180 && g.lon < 180 && Math.abs(g.lat) <= 90, 'normalised');
        const q = f.fromGeodetic(g);
        worst = Math.max(worst, dist(p, q));
      }
  }
  t.ok(worst < 1e-6, `worst round trip ${worst.toExponential(2)} m`);
});

t.test('random geodetic → ECEF → geodetic round trips (surface to orbit)', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  let worst = 0;
  for (let i = 0; i < 20000; i++) {
    const g = { lat: rnd() * 180 - 90, lon: rnd() * 360 - 180, elevation: i % 2 ? rnd() * 10000 - 500 : rnd() * 4e7 };
    const back = ecefToGeodetic(geodeticToEcef(g));
    worst = Math.max(worst, geoDist(g, back));
  }
  t.ok(worst < 1e-6, `worst ${worst.toExponential(2)} m`);
});

t.test('headings: local yaw ↔ degrees clockwise from north', async (t) => {
  const cases: Array<[number, number]> = [
    [0, 90], // east
    [Math.PI / 2, 0], // north
    [Math.PI, 270], // west
    [-Math.PI / 2, 180], // south
    [Math.PI / 4, 45], // north-east
    [(3 * Math.PI) / 4, 315], // north-west
    [-(3 * Math.PI) / 4, 225], // south-west
  ];
  for (const [yaw, hdg] of cases) {
    t.ok(Math.abs(yawToHeadingDeg(yaw) - hdg) < 1e-9, `yaw ${yaw.toFixed(3)} → ${yawToHeadingDeg(yaw)}°`);
    t.ok(Math.abs(wrapPi(headingDegToYaw(hdg) - yaw)) < 1e-12, `${hdg}° → yaw ${headingDegToYaw(hdg)}`);
  }
  for (let h = 0; h < 360; h += 7.5) {
    const r = yawToHeadingDeg(headingDegToYaw(h));
    t.ok(Math.abs(r - h) < 1e-9 && r >= 0 && r < 360, `${h}° round trip`);
  }
  const hair = yawToHeadingDeg(Math.PI / 2 + 1e-15);
  t.ok(hair >= 0 && hair < 360, `a hair west of north stays below 360: ${hair}`);
  t.equal(yawToHeadingDeg(Math.PI / 2 - 2 * Math.PI), 0, 'north, one turn off');
});

t.test('true heading at the object: meridian convergence', async (t) => {
  const geo = new Georef({ lat: 48.2495, lon: 11.6389, elevation: 527 }, { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 });
  // At the reference, local north is true north.
  t.ok(Math.abs(geo.trueHeadingDeg(Math.PI / 2, geo.localToGeodetic({ x: 0, y: 0, z: 0 }))) < 1e-9);
  // 10 km east the meridians converge by γ ≈ Δλ·sinφ: true north there lies west of the reference's north, so
  // local north has a true heading of +γ.
  const p = { x: 10000, y: 0, z: 0 };
  const g = geo.localToGeodetic(p);
  const conv = (g.lon - 11.6389) * Math.sin((48.2495 * Math.PI) / 180);
  const h = geo.trueHeadingDeg(Math.PI / 2, g);
  t.ok(Math.abs(h - conv) < 1e-4, `heading of local north at 10 km east: ${h}° (convergence ${conv.toFixed(5)}°)`);
  // The local direction towards a point straight north of `g` (same longitude) has true heading 0.
  const n = geo.geodeticToLocal({ lat: g.lat + 0.001, lon: g.lon, elevation: g.elevation });
  const here = geo.geodeticToLocal(g);
  const yaw = Math.atan2(n.y - here.y, n.x - here.x);
  const th = geo.trueHeadingDeg(yaw, g);
  t.ok(Math.min(th, 360 - th) < 1e-4, `true north from the geodetic meridian: ${th}°`);
  for (const hd of [0, 45, 180, 300]) {
    const back = geo.trueHeadingDeg(geo.yawFromTrueHeading(hd, g), g);
    t.ok(Math.abs(((back - hd + 540) % 360) - 180) < 1e-9, `true heading ${hd}° round trip`);
  }
});

t.test('sensor → station → local → WGS-84 and back, for the S110 demo sensors', async (t) => {
  const cfg = defaultConfig();
  const geo = new Georef(cfg.rsu.reference, cfg.rsu.stationFrame);
  for (const s of cfg.sensors) {
    const tr = geo.sensorToLocal(s.pose);
    // Agrees with the config's own matrix helpers.
    const m = sensorToLocal(cfg.rsu.stationFrame, s.pose);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) t.ok(Math.abs(tr.r[i * 3 + j]! - m[i]![j]!) < 1e-12);
      t.ok(Math.abs(tr.t[i]! - m[i]![3]!) < 1e-9);
    }
    const p = { x: 25.5, y: -3.25, z: -6 }; // a point in the sensor frame
    const local = tr.apply(p);
    const wgs = geo.localToGeodetic(local);
    const back = tr.inverse().apply(geo.geodeticToLocal(wgs));
    t.ok(dist(back, p) < 1e-6, `${s.id}: sensor → WGS-84 → sensor ${dist(back, p).toExponential(1)} m`);
    // Station ↔ geodetic directly, through the station frame pose.
    const st = poseToMatrix(s.pose);
    const inStation = { x: st[0]![0]! * p.x + st[0]![1]! * p.y + st[0]![2]! * p.z + st[0]![3]!, y: st[1]![0]! * p.x + st[1]![1]! * p.y + st[1]![2]! * p.z + st[1]![3]!, z: st[2]![0]! * p.x + st[2]![1]! * p.y + st[2]![2]! * p.z + st[2]![3]! };
    t.ok(geoDist(geo.stationToGeodetic(inStation), wgs) < 1e-6, `${s.id}: station → WGS-84 agrees`);
    t.ok(dist(geo.geodeticToStation(wgs), inStation) < 1e-6);
  }
  // The demo station frame is rotated -90° (its x axis points south) and stands at (x0, y0) in the local frame:
  // station (+10, 0) is 10 m south of the station origin.
  const { x: x0, y: y0 } = cfg.rsu.stationFrame;
  const south = geo.stationToGeodetic({ x: 10, y: 0, z: 0 });
  const l = geo.geodeticToLocal(south);
  t.ok(dist(l, { x: x0, y: y0 - 10, z: 0 }) < 1e-6, `station +x is local south: ${JSON.stringify(l)}`);
  const origin = geo.stationToGeodetic({ x: 0, y: 0, z: 0 });
  t.ok(south.lat < origin.lat && Math.abs(south.lon - origin.lon) < 1e-9);
});

t.test('invalid origins are refused', async (t) => {
  t.throws(() => new EnuFrame({ lat: NaN, lon: 0, elevation: 0 }), RangeError);
  t.throws(() => new EnuFrame({ lat: 91, lon: 0, elevation: 0 }), RangeError);
  t.equal(normalizeLon(180), -180);
  t.equal(normalizeLon(540.5), -179.5);
  t.equal(normalizeLon(-190), 170);
});
