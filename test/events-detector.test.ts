// RSI event detectors on synthetic tracks on the demo lane map: each fires after its persistence and not before,
// ends after its hold-off, does not flap on noise, and merges duplicates of one cause.
import t from 'tap';
import { demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { EventDetector, type DetectedEvent, type Light } from '../runtime/apps/events/index.js';
import { noise, onLane, track } from './fixtures/events/tracks.js';
import type { Track } from '../runtime/perception/types.js';

const map = loadLaneMap(demoLaneMapPath());
const T0 = 1_750_000_000_000;

/** Runs the detector at 10 Hz from `fromS` to `toS` (seconds after T0) with the tracks `at(tS)` gives. */
function run(d: EventDetector, fromS: number, toS: number, at: (tS: number) => Track[], signals?: (tS: number) => Record<number, Light>) {
  const log: { tS: number; started: DetectedEvent[]; ended: DetectedEvent[] }[] = [];
  for (let k = Math.round(fromS * 10); k <= Math.round(toS * 10); k++) {
    const tS = k / 10;
    const r = d.update(at(tS), T0 + k * 100, signals ? { signals: signals(tS) } : {});
    if (r.started.length || r.ended.length) log.push({ tS, started: r.started, ended: r.ended });
  }
  return log;
}
const startsOf = (log: ReturnType<typeof run>, kind: string) => log.flatMap((l) => l.started.filter((e) => e.kind === kind).map((e) => ({ tS: l.tS, e })));
const endsOf = (log: ReturnType<typeof run>, kind: string) => log.flatMap((l) => l.ended.filter((e) => e.kind === kind).map((e) => ({ tS: l.tS, e })));

t.test('stopped vehicle mid-lane: starts after 30 s, not before; ends after the hold-off once it moves', async (t) => {
  const d = new EventDetector(map);
  const p = onLane(map, 12, 60); // 60 m before the stop line: not waiting for the signal
  const rnd = noise(1);
  const at = (tS: number) => (tS < 50 ? [track(1, 'car', p.x + rnd() * 0.2, p.y + rnd() * 0.2, Math.abs(rnd()) * 0.3, p.heading)] : [track(1, 'car', p.x, p.y - (tS - 50) * 8, 8, p.heading)]);
  const log = run(d, 0, 70, at);
  const s = startsOf(log, 'stopped-vehicle');
  t.equal(s.length, 1, 'one event');
  t.ok(s[0]!.tS >= 30 && s[0]!.tS <= 30.2, `starts at 30 s (${s[0]!.tS})`);
  t.same(s[0]!.e.laneIds, [12]);
  t.equal(s[0]!.e.approach, 1);
  t.ok(s[0]!.e.referencePath.length >= 2, 'reference path from the MAP');
  const e = endsOf(log, 'stopped-vehicle');
  t.equal(e.length, 1);
  t.ok(e[0]!.tS >= 59.8 && e[0]!.tS <= 60.1, `ends 10 s after it was last stopped (${e[0]!.tS})`);
  const rsi = new EventDetector(map);
  run(rsi, 0, 31, () => [track(1, 'car', p.x, p.y)]);
  const ev = rsi.rsiEvents('j2735-2020');
  t.equal(ev.length, 1);
  t.equal(ev[0]!.type, 532, 'ITIS stalled-vehicle');
  t.ok(ev[0]!.id >= 128 && ev[0]!.id <= 255);
  t.ok(Math.abs(ev[0]!.lat - 48.2495) < 0.01 && Math.abs(ev[0]!.lon - 11.6389) < 0.01, 'placed at the intersection');
  t.same(rsi.rsiEvents('csae2020'), [], 'no confirmed GB/T 29100 code for a stopped vehicle: left out');
  t.equal(rsi.stats().uncoded, 1);
  const withCode = new EventDetector(map, { codes: { 'stopped-vehicle': { csae: 999 } } });
  run(withCode, 0, 31, () => [track(1, 'car', p.x, p.y)]);
  t.equal(withCode.rsiEvents('csae2020')[0]?.type, 999, 'a configured code is used');
});

t.test('a vehicle queued behind a stopped lead vehicle is not a second incident; the queue is one event', async (t) => {
  const d = new EventDetector(map);
  const a = onLane(map, 12, 60);
  const b = onLane(map, 12, 67);
  const c = onLane(map, 12, 74);
  const log = run(d, 0, 40, () => [track(1, 'car', a.x, a.y), track(2, 'car', b.x, b.y), track(3, 'car', c.x, c.y)]);
  const s = startsOf(log, 'stopped-vehicle');
  t.equal(s.length, 1, 'one stopped-vehicle event');
  t.same(s[0]!.e.trackIds, [1], 'the lead vehicle');
  t.same(d.active().filter((e) => e.kind === 'stopped-vehicle').length, 1);
});

t.test('two broken-down vehicles side by side are one event (merged)', async (t) => {
  const d = new EventDetector(map);
  const a = onLane(map, 11, 50);
  const b = onLane(map, 12, 52);
  const log = run(d, 0, 35, () => [track(1, 'car', a.x, a.y), track(2, 'van', b.x, b.y)]);
  const s = startsOf(log, 'stopped-vehicle');
  t.equal(s.length, 1, 'one event');
  t.same(s[0]!.e.trackIds.sort(), [1, 2]);
  t.same(s[0]!.e.laneIds, [11, 12]);
  // A new track id at the same place (the tracker lost and re-found it) stays the same event.
  const log2 = run(d, 35.1, 45, () => [track(7, 'car', a.x + 0.3, a.y), track(2, 'van', b.x, b.y)]);
  t.equal(startsOf(log2, 'stopped-vehicle').length, 0, 'no new event for a re-identified vehicle');
});

t.test('waiting at a red light is not a stopped-vehicle event; standing through green is', async (t) => {
  const p = onLane(map, 12, 3); // lead vehicle at the stop line of the North approach (signal group 1)
  // With signal states: red for 32 s, then green: the vehicle stays put.
  const d = new EventDetector(map);
  const light = (tS: number): Record<number, Light> => ({ 1: tS < 32 ? 'red' : 'green', 2: tS < 32 ? 'green' : 'red' });
  const log = run(d, 0, 80, () => [track(1, 'car', p.x, p.y)], light);
  const s = startsOf(log, 'stopped-vehicle');
  t.equal(s.length, 1);
  t.ok(s[0]!.tS >= 32 + 5 + 30 - 0.2 && s[0]!.tS <= 32 + 5 + 30 + 0.3, `fires 30 s after green + grace (${s[0]!.tS})`);
  // Without signal states: excused for maxSignalWaitS (120 s).
  const d2 = new EventDetector(map);
  const log2 = run(d2, 0, 125, () => [track(1, 'car', p.x, p.y)]);
  const s2 = startsOf(log2, 'stopped-vehicle');
  t.equal(s2.length, 1);
  t.ok(s2[0]!.tS >= 119.9 && s2[0]!.tS <= 120.3, `fires at 120 s without signals (${s2[0]!.tS})`);
  // A queue of 8 at red for 32 s then leaving: nothing.
  const d3 = new EventDetector(map);
  const log3 = run(d3, 0, 60, (tS) =>
    Array.from({ length: 8 }, (_, i) => {
      const q = onLane(map, 12, 3 + i * 7);
      const go = tS > 33 + i * 1.5;
      const adv = go ? Math.min(40, (tS - 33 - i * 1.5) * 6) : 0;
      const r = onLane(map, 12, Math.max(0.5, 3 + i * 7 - adv));
      return go ? track(i + 1, 'car', r.x, r.y, 6, q.heading) : track(i + 1, 'car', q.x, q.y);
    }),
  );
  t.equal(startsOf(log3, 'stopped-vehicle').length, 0, 'a red-light queue is not an incident');
});

t.test('pedestrian in the roadway outside a crosswalk: after 2 s; not on the crosswalk; ends after hold-off', async (t) => {
  const d = new EventDetector(map);
  const p = onLane(map, 12, 40);
  const log = run(d, 0, 10, (tS) => (tS < 6 ? [track(5, 'pedestrian', p.x, p.y, 1.2, p.heading + Math.PI / 2)] : []));
  const s = startsOf(log, 'vru-in-roadway');
  t.equal(s.length, 1);
  t.ok(s[0]!.tS >= 2 && s[0]!.tS <= 2.2, `after 2 s (${s[0]!.tS})`);
  const e = endsOf(log, 'vru-in-roadway');
  t.ok(e.length === 1 && e[0]!.tS >= 8.9 && e[0]!.tS <= 9.2, `ends 3 s after (${e[0]?.tS})`);
  // 1.5 s in the lane: nothing.
  const d2 = new EventDetector(map);
  t.equal(startsOf(run(d2, 0, 5, (tS) => (tS < 1.5 ? [track(5, 'pedestrian', p.x, p.y)] : [])), 'vru-in-roadway').length, 0, 'not before 2 s');
  // On the crosswalk (lane 19, North arm): never.
  const cw = map.lanesById.get(19)!;
  const mid = cw.points[Math.floor(cw.points.length / 2)]!;
  const d3 = new EventDetector(map);
  t.equal(startsOf(run(d3, 0, 10, () => [track(5, 'pedestrian', mid.x, mid.y, 1.3, 0)]), 'vru-in-roadway').length, 0, 'crosswalk ignored');
  // A cyclist riding along the lane is traffic; one crossing the lane is flagged.
  const d4 = new EventDetector(map);
  t.equal(startsOf(run(d4, 0, 6, (tS) => { const q = onLane(map, 12, 80 - tS * 5, -1); return [track(6, 'bicycle', q.x, q.y, 5, q.heading)]; }), 'vru-in-roadway').length, 0, 'cyclist along the lane');
  const d5 = new EventDetector(map);
  t.equal(startsOf(run(d5, 0, 6, () => [track(6, 'bicycle', p.x, p.y, 0.8, p.heading + Math.PI / 2)]), 'vru-in-roadway').length, 1, 'cyclist crossing the lane');
  // A group of jaywalkers is one event.
  const d6 = new EventDetector(map);
  const q = onLane(map, 11, 41);
  const log6 = run(d6, 0, 5, () => [track(5, 'pedestrian', p.x, p.y), track(6, 'pedestrian', q.x, q.y)]);
  t.equal(startsOf(log6, 'vru-in-roadway').length, 1, 'merged');
  t.same(d6.active()[0]!.trackIds, [5, 6]);
});

t.test('wrong way: ≥ 3 m/s against the lane for 2 s; not slower; noise does not flap it', async (t) => {
  const d = new EventDetector(map);
  const rnd = noise(3);
  // A car driving north in a southbound ingress lane of the North arm (lane 12), with heading and speed noise.
  const at = (tS: number) => {
    if (tS > 12) return [];
    const q = onLane(map, 12, 100 - tS * 10);
    return [track(9, 'car', q.x + rnd() * 0.3, q.y + rnd() * 0.3, 10 + rnd(), q.heading + Math.PI + rnd() * 0.2)];
  };
  const log = run(d, 0, 20, at);
  const s = startsOf(log, 'wrong-way');
  t.equal(s.length, 1, 'one event, no flapping');
  t.ok(s[0]!.tS >= 2 && s[0]!.tS <= 2.2, `after 2 s (${s[0]!.tS})`);
  t.equal(endsOf(log, 'wrong-way').length, 1);
  t.equal(d.rsiEvents('j2735-2016')[0]?.type, undefined, 'ended: nothing active');
  const d2 = new EventDetector(map);
  const slow = run(d2, 0, 6, (tS) => { const q = onLane(map, 12, 80 + tS * 2); return [track(9, 'car', q.x, q.y, 2, q.heading + Math.PI)]; });
  t.equal(startsOf(slow, 'wrong-way').length, 0, 'reversing at 2 m/s is not wrong-way driving');
  const d3 = new EventDetector(map);
  const right = run(d3, 0, 6, (tS) => { const q = onLane(map, 12, 100 - tS * 12); return [track(9, 'car', q.x, q.y, 12, q.heading)]; });
  t.equal(startsOf(right, 'wrong-way').length, 0, 'the right way is not');
  // Intermittent condition: 1.5 s on, 1 s off, repeated: never 2 s in a row, never fires.
  const d4 = new EventDetector(map);
  const blink = run(d4, 0, 20, (tS) => { const q = onLane(map, 12, 60); const on = tS % 2.5 < 1.5; return [track(9, 'car', q.x, q.y, 8, on ? q.heading + Math.PI : q.heading)]; });
  t.equal(startsOf(blink, 'wrong-way').length, 0, 'never persistent: never fires');
});

t.test('speeding: over limit + margin for 2 s; a brief peak does not fire', async (t) => {
  const d = new EventDetector(map);
  const rnd = noise(4);
  const log = run(d, 0, 10, (tS) => { const q = onLane(map, 12, 110 - tS * 19); return [track(3, 'car', q.x, q.y, 19 + rnd() * 0.5, q.heading)]; }); // 68 km/h in a 50 zone
  const s = startsOf(log, 'speeding');
  t.equal(s.length, 1);
  t.ok(s[0]!.tS >= 2 && s[0]!.tS <= 2.2);
  t.equal(s[0]!.e.data.limitKmh, 50);
  const d2 = new EventDetector(map);
  const log2 = run(d2, 0, 10, (tS) => { const q = onLane(map, 12, 110 - tS * 14); return [track(3, 'car', q.x, q.y, tS > 3 && tS < 4.5 ? 19 : 14, q.heading)]; });
  t.equal(startsOf(log2, 'speeding').length, 0, '1.5 s over the limit: nothing');
  const d3 = new EventDetector(map, { speeding: { marginKmh: 20 } });
  t.equal(startsOf(run(d3, 0, 5, (tS) => { const q = onLane(map, 12, 110 - tS * 19); return [track(3, 'car', q.x, q.y, 19, q.heading)]; }), 'speeding').length, 0, 'configurable margin');
});

t.test('queue length per approach and congestion; queue event with hold-off and no flapping', async (t) => {
  const d = new EventDetector(map);
  const rnd = noise(5);
  // 12 cars queued on lane 12 (North approach), spacing 7 m: ~82 m; speed noise below the slow threshold.
  const queue = (n: number) => Array.from({ length: n }, (_, i) => { const q = onLane(map, 12, 3 + i * 7); return track(100 + i, 'car', q.x, q.y, Math.abs(rnd()) * 0.6, q.heading); });
  const log = run(d, 0, 30, (tS) => (tS < 12 ? queue(12) : []));
  const ap = d.approaches();
  t.same(ap.map((a) => a.approach), [1, 2, 3, 4]);
  const s = startsOf(log, 'queue');
  t.equal(s.length, 1, 'one queue event for the approach');
  t.ok(s[0]!.tS >= 5 && s[0]!.tS <= 5.2, `after 5 s (${s[0]!.tS})`);
  t.ok(s[0]!.e.data.queueLengthM! >= 80 && s[0]!.e.data.queueLengthM! <= 86, `queue ${s[0]!.e.data.queueLengthM} m`);
  t.equal(s[0]!.e.data.queuedVehicles, 12);
  t.equal(s[0]!.e.approach, 1);
  t.same(s[0]!.e.laneIds, [12]);
  t.equal(endsOf(log, 'queue').length, 1, 'ends once the queue is gone');
  t.ok(endsOf(log, 'queue')[0]!.tS >= 26.8 && endsOf(log, 'queue')[0]!.tS <= 27.1, 'after the 15 s hold-off');
  const d1 = new EventDetector(map);
  run(d1, 0, 1, () => queue(5));
  t.equal(d1.approaches().find((a) => a.approach === 1)!.queueLengthM > 30, true, 'queue length measured');
  t.equal(d1.approaches().find((a) => a.approach === 1)!.queuedVehicles, 5);
  t.equal(d1.approaches().find((a) => a.approach === 2)!.queueLengthM, 0);
  // A queue that never clears over the congestion window: congestion level from the residual queue.
  const d2 = new EventDetector(map, { queue: { eventQueueM: 1000 } });
  const log2 = run(d2, 0, 130, () => queue(9)); // ~61 m standing all the time
  t.equal(d2.approaches().find((a) => a.approach === 1)!.congestionLevel, 2, 'level 2 (≥ 50 m residual)');
  const s2 = startsOf(log2, 'queue');
  t.equal(s2.length, 1, 'congestion event');
  t.ok(s2[0]!.tS >= 119, 'only once the whole window saw the queue');
  t.equal(d2.rsiEvents('csae2020')[0]?.type, 707, 'GB/T 29100 707 traffic congestion');
});

t.test('options and bad input', async (t) => {
  t.throws(() => new EventDetector(map, { idRange: [200, 100] }), /idRange/);
  const d = new EventDetector(map, { stopped: { enabled: false } });
  const p = onLane(map, 12, 60);
  t.equal(startsOf(run(d, 0, 40, () => [track(1, 'car', p.x, p.y)]), 'stopped-vehicle').length, 0, 'disabled');
  t.throws(() => d.update([], T0), /before the previous update/);
});
