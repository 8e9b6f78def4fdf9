// Bird's-eye-view box overlap (IoU, GIoU) against hand-computed values, and what the tracker does with boxes: the
// shape gate beside the distance gate, the latest detection's confidence as the track's, the per-class report
// window, and box-yaw smoothing modulo 180° (issue 13).

import t from 'tap';
import { bevOverlap } from '../runtime/perception/box-overlap.js';
import type { Measurement } from '../runtime/perception/measure.js';
import { Tracker, type MeasurementBatch } from '../runtime/perception/tracker.js';
import type { ObjectClass } from '../hw/sensors/frame.js';
import { validateConfig } from '../runtime/config/index.js';

t.test('bevOverlap: IoU and GIoU of rectangles', (t) => {
  const box = (x: number, y: number, length: number, width: number, yaw = 0) => ({ x, y, length, width, yaw });
  const same = bevOverlap(box(3, 4, 4, 2, 0.3), box(3, 4, 4, 2, 0.3));
  t.ok(Math.abs(same.iou - 1) < 1e-9 && Math.abs(same.giou - 1) < 1e-9, 'identical boxes: 1, 1');
  // Half-overlapping 4x2 boxes: intersection 4, union 12; the enclosing box is their union.
  const half = bevOverlap(box(0, 0, 4, 2), box(2, 0, 4, 2));
  t.ok(Math.abs(half.iou - 1 / 3) < 1e-9 && Math.abs(half.giou - 1 / 3) < 1e-9, `shifted by half: iou ${half.iou}`);
  // Disjoint 2x2 squares 4 m apart: IoU 0, hull 6x2 = 12, union 8: GIoU -1/3.
  const apart = bevOverlap(box(0, 0, 2, 2), box(4, 0, 2, 2));
  t.ok(apart.iou === 0 && Math.abs(apart.giou + 1 / 3) < 1e-9, `disjoint: giou ${apart.giou}`);
  // A square and itself turned by 45°: the intersection is a regular octagon, area 8(√2 − 1).
  const oct = 8 * (Math.SQRT2 - 1);
  const rot = bevOverlap(box(0, 0, 2, 2), box(0, 0, 2, 2, Math.PI / 4));
  t.ok(Math.abs(rot.iou - oct / (8 - oct)) < 1e-9, `turned 45°: iou ${rot.iou}`);
  // Yaw is modulo 180° for a rectangle.
  t.ok(Math.abs(bevOverlap(box(0, 0, 4, 2, 0.2), box(0.5, 0, 4, 2, 0.2 + Math.PI)).iou - bevOverlap(box(0, 0, 4, 2, 0.2), box(0.5, 0, 4, 2, 0.2)).iou) < 1e-9, 'a box turned by 180° overlaps the same');
  t.end();
});

function meas(x: number, y: number, o: { yaw?: number; length?: number; width?: number; confidence?: number; cls?: ObjectClass; t?: number } = {}): Measurement {
  return {
    sensorId: 'l',
    sensorKind: 'lidar',
    sensorIndex: 0,
    timeMs: o.t ?? 0,
    objectIndex: 0,
    objectId: 0,
    x,
    y,
    z: 0,
    cov: [0.04, 0, 0.04],
    yaw: o.yaw ?? 0,
    size: { length: o.length ?? 4.5, width: o.width ?? 1.8, height: 1.5 },
    classification: o.cls ?? 'car',
    confidence: o.confidence ?? 0.9,
    range: Math.hypot(x, y),
  };
}

const batch = (timeMs: number, measurements: Measurement[]): MeasurementBatch => ({
  sensorId: 'l',
  sensorKind: 'lidar',
  timeMs,
  measurements: measurements.map((m) => ({ ...m, timeMs })),
  covers: () => true,
});

t.test('shape gate: a box that does not overlap the track does not update it, however close its centre', (t) => {
  for (const minBoxGiou of [-1, -0.2]) {
    // A loose distance gate, so only the shape gate can refuse.
    const tr = new Tracker({ processNoise: 100, gateChi2: 100, minBoxGiou, headingFromBox: true });
    for (let k = 0; k < 5; k++) tr.process(batch(k * 100, [meas(0, 0)]));
    // The next box 2 m to the side, much smaller (a pedestrian-sized blob labelled car): its GIoU with the car's
    // 4.5x1.8 footprint is -0.28.
    tr.process(batch(500, [meas(0, 2, { yaw: Math.PI / 2, length: 0.6, width: 0.6 })]));
    const est = tr.estimates(500, true);
    const car = est.find((e) => e.confirmed)!;
    if (minBoxGiou === -1) t.equal(car.lastUpdateMs, 500, 'without the shape gate the blob updates the car');
    else {
      t.equal(car.lastUpdateMs, 400, 'with minBoxGiou -0.2 the car is not updated by it');
      t.equal(est.length, 2, 'the blob starts its own track');
    }
  }
  t.end();
});

t.test('confidence is the latest detection’s, decaying only while coasting', (t) => {
  const tr = new Tracker({ reportMaxCoastMs: 300 });
  const scores = [0.9, 0.9, 0.9, 0.3];
  scores.forEach((c, k) => tr.process(batch(k * 100, [meas(0, 0, { confidence: c })])));
  t.ok(Math.abs(tr.estimates(300)[0]!.confidence - 0.3) < 1e-9, 'after a 0.3 detection: 0.3');
  tr.process(batch(400, [meas(0, 0, { confidence: 0.95 })]));
  t.ok(Math.abs(tr.estimates(400)[0]!.confidence - 0.95) < 1e-9, 'after a 0.95 detection: 0.95');
  tr.process(batch(500, []));
  const c = tr.estimates(500)[0]!.confidence;
  t.ok(c < 0.95 && c > 0.5, `coasting 100 ms: decays (${c.toFixed(3)})`);
  t.end();
});

t.test('classReportMaxCoastMs: a pedestrian is reported while coasting, a car is not', (t) => {
  const tr = new Tracker({ reportMaxCoastMs: 0, classReportMaxCoastMs: { pedestrian: 200 } });
  for (let k = 0; k < 4; k++) tr.process(batch(k * 100, [meas(0, 0), meas(20, 0, { cls: 'pedestrian', length: 0.6, width: 0.6 })]));
  t.equal(tr.estimates(300).length, 2, 'both reported while detected');
  tr.process(batch(400, []));
  const est = tr.estimates(400);
  t.same(est.map((e) => e.classification), ['pedestrian'], 'one frame later only the pedestrian is reported');
  tr.process(batch(500, []));
  tr.process(batch(600, []));
  t.equal(tr.estimates(600).length, 0, 'and not after its 200 ms');
  t.end();
});

t.test('box yaw: smoothed modulo 180°, so a flipped box does not turn the track by 90°', (t) => {
  const tr = new Tracker({ headingFromBox: true });
  // A car moving east at 10 m/s whose detector reports the box yaw alternately 0 and 180°.
  for (let k = 0; k < 10; k++) tr.process(batch(k * 100, [meas(k, 0, { yaw: k % 2 ? Math.PI : 0 })]));
  const yaw = tr.estimates(900)[0]!.yaw;
  t.ok(Math.abs(yaw) < 0.05, `heading east (yaw ${yaw.toFixed(3)} rad)`);
  t.end();
});

t.test('config: perception.tracker.minBoxGiou and classReportMaxCoastMs are validated', (t) => {
  const site = (tracker: Record<string, unknown>) =>
    validateConfig({ rsu: { reference: { lat: 48, lon: 11, elevation: 500 } }, sensors: [{ id: 'l1', kind: 'lidar', pose: {} }], perception: { tracker } });
  t.ok(site({ minBoxGiou: -0.4, classReportMaxCoastMs: { pedestrian: 100 } }).ok, 'valid settings pass');
  const msg = (tracker: Record<string, unknown>) => site(tracker).errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  t.match(msg({ minBoxGiou: 1.5 }), /minBoxGiou: expected a number between -1 and 1/, 'minBoxGiou out of range named');
  t.match(msg({ maxCoastMs: 500, classReportMaxCoastMs: { pedestrian: 800 } }), /classReportMaxCoastMs\.pedestrian: must not exceed maxCoastMs/, 'a class window beyond maxCoastMs named');
  t.match(msg({ classReportMaxCoastMs: { cars: 1 } }), /cars/, 'an unknown class group named');
  t.end();
});
