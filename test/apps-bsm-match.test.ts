// RSM participants that also broadcast BSMs carry the BSM's temporary id (YD/T 3709, T/CSAE 159).
import t from 'tap';
import { BsmMatcher } from '../runtime/apps/bsm-match.js';
import type { TrackLike } from '../runtime/apps/rsm.js';

const ref = { lat: 30, lon: 120 };
const mPerDegLat = 111_195;
const mPerDegLon = 111_195 * Math.cos((30 * Math.PI) / 180);

function track(id: number, east: number, north: number, cls = 'car', speed = 10, headingDeg = 90): TrackLike {
  return { id, classification: cls, lat: ref.lat + north / mPerDegLat, lon: ref.lon + east / mPerDegLon, elevation: 0, speed, headingDeg, size: { length: 4.5, width: 1.8, height: 1.5 }, posStdM: 0.3, sources: ['lidar'] };
}

function bsm(id: string, east: number, north: number, speed = 10, headingDeg = 90) {
  return { msgCnt: 1, id, secMark: 0, pos: { lat: Math.round((ref.lat + north / mPerDegLat) * 1e7), long: Math.round((ref.lon + east / mPerDegLon) * 1e7) }, speed: Math.round(speed / 0.02), heading: Math.round(headingDeg / 0.0125) };
}

t.test('nearest compatible track, one to one, moved to the RSM time', async (t) => {
  const m = new BsmMatcher();
  // Heard 500 ms ago 5 m behind where the car is now: 10 m/s east brings it to the car.
  m.hear(bsm('AAAAAAAAAAAAAAAA', -5, 0), 1000);
  m.hear(bsm('BBBBBBBBBBBBBBBB', 30, 3.5), 1500);
  const got = m.match([track(1, 0, 0), track(2, 30, 3), track(3, 30.5, 3.2, 'pedestrian', 1.2)], 1500);
  t.equal(got.get(1), 'AAAAAAAAAAAAAAAA', 'dead-reckoned to the RSM time');
  t.equal(got.get(2), 'BBBBBBBBBBBBBBBB');
  t.notOk(got.has(3), 'a pedestrian never takes a vehicle BSM');
});

t.test('gates: distance, heading, age, unavailable positions', async (t) => {
  const m = new BsmMatcher();
  m.hear(bsm('CCCCCCCCCCCCCCCC', 8, 0), 2000);
  t.equal(m.match([track(1, 0, 0)], 2000).size, 0, '8 m away: no match');
  const h = new BsmMatcher();
  h.hear(bsm('DDDDDDDDDDDDDDDD', 0, 0, 10, 270), 2000);
  t.equal(h.match([track(1, 0, 0)], 2000).size, 0, 'driving the other way: no match');
  const a = new BsmMatcher();
  a.hear(bsm('EEEEEEEEEEEEEEEE', 0, 0), 0);
  t.equal(a.match([track(1, 0, 0)], 5000).size, 0, 'a BSM heard 5 s ago is forgotten');
  const u = new BsmMatcher();
  u.hear({ ...bsm('FFFFFFFFFFFFFFFF', 0, 0), pos: { lat: 900000001, long: 1800000001 } }, 0);
  u.hear({ nonsense: true }, 0);
  t.equal(u.match([track(1, 0, 0)], 0).size, 0, 'unavailable positions and garbage are ignored');
});

t.test('two BSMs, two cars: one to one', async (t) => {
  const m = new BsmMatcher();
  m.hear(bsm('1111111111111111', 1.5, 0), 0);
  m.hear(bsm('2222222222222222', 3.4, 0), 0);
  const got = m.match([track(1, 0, 0), track(2, 3, 0)], 0);
  t.equal(got.get(1), '1111111111111111');
  t.equal(got.get(2), '2222222222222222');
  t.equal(new Set(got.values()).size, got.size, 'no BSM id on two participants');
});
