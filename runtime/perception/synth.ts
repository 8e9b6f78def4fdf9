// Synthetic detections from ground truth in the local frame: what a lidar (box in its sensor frame) or a camera
// (2D box around the projected 3D box) would report. For tests, benchmarks and the simulator.

import type { DetectedObject, DetectionFrame, ObjectClass } from '../../hw/sensors/frame.js';
import type { SensorModel } from './measure.js';

/** An object on the ground, local frame. */
export interface GroundTruthObject {
  id: number;
  classification: ObjectClass;
  /** Bottom centre, m. */
  x: number;
  y: number;
  /** Ground height under the object, m (default 0). */
  z?: number;
  /** Heading of the length axis, radians counter-clockwise from east. */
  yaw: number;
  length: number;
  width: number;
  height: number;
  /** Velocity over the ground, m/s (optional: reported by lidars when given and `withVelocity`). */
  vx?: number;
  vy?: number;
}

export interface SynthOptions {
  /** Standard deviation of lidar box centres (each axis), m. */
  lidarNoiseM?: number;
  /** Standard deviation of camera box edges, pixels. */
  pixelNoise?: number;
  /** Report velocities (lidar). */
  withVelocity?: boolean;
  confidence?: number;
  /** Random source in [0, 1) (default Math.random). */
  random?: () => number;
}

/** A small deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box-Muller). */
export function gaussian(random: () => number): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** The lidar/radar detection of an object, in the sensor frame; null when out of the sensor's coverage. */
export function lidarDetection(sensor: SensorModel, o: GroundTruthObject, opts: SynthOptions = {}): DetectedObject | null {
  const z = o.z ?? 0;
  if (!sensor.covers(o.x, o.y, z)) return null;
  const rnd = opts.random ?? Math.random;
  const n = opts.lidarNoiseM ?? 0;
  const inv = sensor.toLocal.inverse();
  const c = inv.apply({ x: o.x + n * gaussian(rnd), y: o.y + n * gaussian(rnd), z: z + o.height / 2 });
  const yaw = inv.applyYaw(o.yaw);
  const det: DetectedObject = {
    id: o.id,
    classification: o.classification,
    confidence: opts.confidence ?? 0.9,
    box3d: { x: c.x, y: c.y, z: c.z, length: o.length, width: o.width, height: o.height, yaw },
  };
  if (opts.withVelocity && o.vx !== undefined && o.vy !== undefined) det.velocity = inv.applyVector({ x: o.vx, y: o.vy, z: 0 });
  return det;
}

/**
 * The camera detection of an object: the bounding box of its projected 3D box corners, clipped to the image.
 * Null when a corner is behind the camera or outside the lens model, or the box bottom is outside the image.
 */
export function cameraDetection(sensor: SensorModel, o: GroundTruthObject, opts: SynthOptions = {}): DetectedObject | null {
  const cam = sensor.camera;
  if (!cam) return null;
  const z = o.z ?? 0;
  if (Math.hypot(o.x - sensor.origin.x, o.y - sensor.origin.y) > sensor.coverageRangeM) return null;
  const c = Math.cos(o.yaw);
  const s = Math.sin(o.yaw);
  let u0 = Infinity;
  let v0 = Infinity;
  let u1 = -Infinity;
  let v1 = -Infinity;
  for (const a of [-0.5, 0.5])
    for (const b of [-0.5, 0.5])
      for (const h of [0, 1]) {
        const px = cam.project({ x: o.x + a * o.length * c - b * o.width * s, y: o.y + a * o.length * s + b * o.width * c, z: z + h * o.height });
        if (!px) return null;
        u0 = Math.min(u0, px.u);
        v0 = Math.min(v0, px.v);
        u1 = Math.max(u1, px.u);
        v1 = Math.max(v1, px.v);
      }
  const k = cam.intrinsics;
  const rnd = opts.random ?? Math.random;
  const pn = opts.pixelNoise ?? 0;
  u0 += pn * gaussian(rnd);
  u1 += pn * gaussian(rnd);
  v0 += pn * gaussian(rnd);
  v1 += pn * gaussian(rnd);
  if (v1 < 0 || v1 > k.height || (u0 + u1) / 2 < 0 || (u0 + u1) / 2 > k.width) return null;
  u0 = Math.max(0, u0);
  v0 = Math.max(0, v0);
  u1 = Math.min(k.width, u1);
  if (!(u1 > u0 && v1 > v0)) return null;
  return { id: o.id, classification: o.classification, confidence: opts.confidence ?? 0.8, box2d: { x: u0, y: v0, width: u1 - u0, height: v1 - v0 } };
}

/** A frame of a sensor seeing the given objects at timeMs. */
export function synthFrame(sensor: SensorModel, objects: readonly GroundTruthObject[], timeMs: number, frameNumber: number, opts: SynthOptions = {}): DetectionFrame {
  const dets: DetectedObject[] = [];
  for (const o of objects) {
    const d = sensor.kind === 'camera' ? cameraDetection(sensor, o, opts) : lidarDetection(sensor, o, opts);
    if (d) dets.push(d);
  }
  return { sensorId: sensor.id, sensorKind: sensor.kind, frameNumber, sensorTimeMs: timeMs, timeMs, receivedMs: timeMs + 5, objects: dets };
}
