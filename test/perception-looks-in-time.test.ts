// Hits and misses count looks in time (issue 13 point 3): a camera frame of the lidar's instant neither confirms a
// track a frame earlier nor ends one twice as fast as the lidar alone.

import t from 'tap';
import type { Measurement } from '../runtime/perception/measure.js';
import { Tracker, type MeasurementBatch } from '../runtime/perception/tracker.js';

function meas(kind: 'lidar' | 'camera', timeMs: number): Measurement {
  return {
    sensorId: kind,
    sensorKind: kind,
    sensorIndex: kind === 'lidar' ? 0 : 1,
    timeMs,
    objectIndex: 0,
    objectId: 0,
    x: 20,
    y: 0,
    z: 0,
    cov: [0.04, 0, 0.04],
    ...(kind === 'lidar' ? { yaw: 0, size: { length: 0.8, width: 0.6, height: 1.7 } } : {}),
    classification: 'pedestrian',
    confidence: 0.8,
    range: 20,
  };
}

const batch = (kind: 'lidar' | 'camera', timeMs: number, seen: boolean): MeasurementBatch => ({
  sensorId: kind,
  sensorKind: kind,
  timeMs,
  measurements: seen ? [meas(kind, timeMs)] : [],
  covers: () => true,
});

/** Frames every 100 ms from t = 0: the lidar sees the object while `seen(frame)`, a camera (if any) likewise. */
function run(camera: boolean, frames: number, seen: (n: number) => boolean): { confirmedAt: number; lastAlive: number } {
  const tr = new Tracker({ confirmHits: 3, maxMisses: 3, maxCoastMs: 10_000, cameraPositionHoldMs: 0 });
  let confirmedAt = -1;
  let lastAlive = -1;
  for (let n = 0; n < frames; n++) {
    const ts = n * 100;
    tr.process(batch('lidar', ts, seen(n)));
    if (camera) tr.process(batch('camera', ts, seen(n)));
    const live = tr.estimates(ts, true);
    if (live.length) lastAlive = n;
    if (confirmedAt < 0 && tr.estimates(ts).length) confirmedAt = n;
  }
  return { confirmedAt, lastAlive };
}

t.test('a camera of the same instant changes neither when a track is confirmed nor when it ends', (t) => {
  const seen = (n: number) => n < 5;
  const lidar = run(false, 12, seen);
  const both = run(true, 12, seen);
  t.equal(lidar.confirmedAt, 2, 'lidar alone: confirmed at its third frame');
  t.equal(both.confirmedAt, lidar.confirmedAt, 'with the camera: the same frame');
  t.equal(lidar.lastAlive, 6, "lidar alone: ended by its third miss, at frame 7");
  t.equal(both.lastAlive, lidar.lastAlive, 'with the camera: ends at the same frame');
  t.end();
});
