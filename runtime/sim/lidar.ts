// A roadside lidar with an object detector behind it: what it reports as a DetectionFrameInput.
//
// Model (per object, per frame):
// - geometry in the sensor frame (the inverse of the sensor pose in the local frame);
// - the part of the object inside the vertical field of view and not hidden by nearer objects: 2.5D occlusion,
//   per azimuth column across the object, the heights whose rays from the sensor pass through a nearer object's
//   box (a car close to a 7 m mast hides little behind it, a bus hides a lot);
// - expected returns = visible azimuth span / azimuth resolution × visible height / (range × elevation step);
//   detection probability rises with the returns (50 % at `points50`);
// - noise: position (growing with range and with occlusion), size, yaw (loose for pedestrians, sometimes a
//   vehicle reported back to front at range), velocity; class confusion growing with range; clutter.

import type { SensorConfig } from '../config/types.js';
import type { DetectedObject, DetectionFrameInput, ObjectClass } from '../../hw/sensors/frame.js';
import type { Pose } from '../config/types.js';
import { wrapPi } from '../map/geometry.js';
import { boxCorners3d, SensorFrame, type V3 } from './projection.js';
import type { Rng } from './rng.js';
import { clamp, reportedClass, sensorTimeNs, TrackIds, truthObjects, type Observation, type SensorModel, type Visibility } from './sensor-common.js';
import type { TruthObject, TruthTick } from './truth.js';

export interface LidarOptions {
  /** Pose of the station frame in local ENU (config rsu.stationFrame). Default identity. */
  stationFrame?: Pose;
  rateHz: number;
  /** Detection range, metres (at most the sensor's maxRangeM). */
  rangeM: number;
  /** Vertical field of view in the sensor frame, degrees. */
  verticalFovDeg: [number, number];
  /** Horizontal resolution (Ouster 1024 columns: 0.35°) and vertical beams across the field of view. */
  azimuthResolutionDeg: number;
  beams: number;
  /** Returns at which the detection probability is half of pMax. */
  points50: number;
  pMax: number;
  /** An object less visible than this is not detected. */
  minVisibleFraction: number;
  occlusion: boolean;
  /** Position noise: sd = posSd0 + posSdPerM × range, metres (per axis). */
  posSd0: number;
  posSdPerM: number;
  /** Relative size noise sd at 0 m (grows with range). */
  sizeSdRel: number;
  yawSdDeg: number;
  reportVelocity: boolean;
  velSd: number;
  /** Class confusion probability at 0 m and added at full range. */
  confusion0: number;
  confusionAtRange: number;
  /** False positives per frame (mean). */
  clutterPerFrame: number;
  /** Missed frames after which an object gets a new id. */
  dropAfterFrames: number;
  /**
   * Returns per class relative to the geometry (reflectivity, shape): e.g. `{ pedestrian: 0.5 }` halves the expected
   * returns of pedestrians (dark clothing returns fewer points than car paint and plates). Default 1 for all.
   */
  classPointsFactor?: Partial<Record<string, number>>;
}

export const DEFAULT_LIDAR: LidarOptions = {
  rateHz: 10,
  rangeM: 120,
  verticalFovDeg: [-22.5, 22.5],
  azimuthResolutionDeg: 360 / 1024,
  beams: 64,
  points50: 6,
  pMax: 0.98,
  minVisibleFraction: 0.1,
  occlusion: true,
  posSd0: 0.05,
  posSdPerM: 0.002,
  sizeSdRel: 0.05,
  yawSdDeg: 3,
  reportVelocity: true,
  velSd: 0.3,
  confusion0: 0.02,
  confusionAtRange: 0.25,
  clutterPerFrame: 0.3,
  dropAfterFrames: 3,
};

const RAD = Math.PI / 180;
const COLUMNS = 8;

interface Geo {
  o: TruthObject;
  c: V3;
  range: number;
  az: number;
  azLo: number;
  azHi: number;
  zLo: number;
  zHi: number;
}

export class LidarModel implements SensorModel {
  readonly opts: LidarOptions;
  readonly frame: SensorFrame;
  readonly rateHz: number;
  private frameNumber = 0;
  private readonly ids: TrackIds;

  constructor(
    readonly sensor: SensorConfig,
    opts: Partial<LidarOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LIDAR, ...opts };
    this.opts.rangeM = Math.min(this.opts.rangeM, sensor.maxRangeM);
    this.rateHz = this.opts.rateHz;
    this.frame = new SensorFrame(sensor.pose, opts.stationFrame);
    this.ids = new TrackIds(this.opts.dropAfterFrames);
  }

  observe(truth: TruthTick | readonly TruthObject[], timeNs: bigint, rng: Rng): DetectionFrameInput {
    return this.observeDetailed(truth, timeNs, rng).frame;
  }

  /** Geometry of the objects within range, in the sensor frame. */
  private geometry(objects: readonly TruthObject[]): Geo[] {
    const out: Geo[] = [];
    for (const o of objects) {
      const c = this.frame.toSensor(o.position);
      const range = Math.hypot(c.x, c.y);
      if (range > this.opts.rangeM + 5) continue;
      const az = Math.atan2(c.y, c.x);
      let azLo = 0;
      let azHi = 0;
      let zLo = Infinity;
      let zHi = -Infinity;
      for (const k of boxCorners3d(o.position, o.heading, o.size.length, o.size.width, o.size.height)) {
        const s = this.frame.toSensor(k);
        const d = wrapPi(Math.atan2(s.y, s.x) - az);
        azLo = Math.min(azLo, d);
        azHi = Math.max(azHi, d);
        zLo = Math.min(zLo, s.z);
        zHi = Math.max(zHi, s.z);
      }
      if (range < 0.5) continue; // at the sensor itself
      out.push({ o, c, range, az, azLo: az + azLo, azHi: az + azHi, zLo, zHi });
    }
    return out;
  }

  observeDetailed(truth: TruthTick | readonly TruthObject[], timeNs: bigint, rng: Rng): Observation {
    const op = this.opts;
    const fn = this.frameNumber++;
    const geo = this.geometry(truthObjects(truth));
    const tanLo = Math.tan(op.verticalFovDeg[0] * RAD);
    const tanHi = Math.tan(op.verticalFovDeg[1] * RAD);
    const dAz = op.azimuthResolutionDeg * RAD;
    const dEl = ((op.verticalFovDeg[1] - op.verticalFovDeg[0]) * RAD) / op.beams;
    const objects: DetectedObject[] = [];
    const truthIds: Array<number | null> = [];
    const visibility: Visibility[] = [];

    for (const g of geo) {
      if (g.range > op.rangeM) continue;
      // Vertical field of view at this range (heights in the sensor frame, which has the sensor at z = 0).
      const vLo = Math.max(g.zLo, g.range * tanLo);
      const vHi = Math.min(g.zHi, g.range * tanHi);
      const fullH = g.zHi - g.zLo;
      let visibleH = 0;
      let returns = 0;
      const span = g.azHi - g.azLo;
      if (vHi > vLo) {
        for (let k = 0; k < COLUMNS; k++) {
          const a = g.azLo + ((k + 0.5) / COLUMNS) * span;
          // Hidden height intervals from nearer objects covering this azimuth.
          const hidden: Array<[number, number]> = [];
          if (op.occlusion)
            for (const h of geo) {
              if (h === g || h.range >= g.range) continue;
              const da = wrapPi(a - h.az);
              if (da < h.azLo - h.az || da > h.azHi - h.az) continue;
              // Rays to heights z at range r pass range r_h at height z·r_h/r: inside h's box for z in [zLo_h, zHi_h]·r/r_h.
              hidden.push([(h.zLo * g.range) / h.range, (h.zHi * g.range) / h.range]);
            }
          const vis = visibleLength(vLo, vHi, hidden);
          visibleH += vis;
          returns += ((span / COLUMNS) / dAz) * (vis / (g.range * dEl));
        }
        returns *= op.classPointsFactor?.[g.o.class] ?? 1;
      }
      const visibleFraction = fullH > 0 ? visibleH / (COLUMNS * fullH) : 0;
      const pDetect = visibleFraction < op.minVisibleFraction ? 0 : (op.pMax * returns * returns) / (returns * returns + op.points50 * op.points50);
      const detected = rng.next() < pDetect;
      visibility.push({ truthId: g.o.id, rangeM: Math.hypot(g.c.x, g.c.y, g.c.z), visibleFraction, signal: returns, pDetect, detected });
      if (!detected) continue;

      const o = g.o;
      const sd = (op.posSd0 + op.posSdPerM * g.range) * (1 + (1 - visibleFraction));
      const frac = g.range / op.rangeM;
      const sizeSd = op.sizeSdRel * (1 + 2 * frac);
      const dir = this.frame.dirToSensor({ x: Math.cos(o.heading), y: Math.sin(o.heading), z: 0 });
      let yaw = Math.atan2(dir.y, dir.x) + rng.normal(0, (o.class === 'pedestrian' ? 25 : op.yawSdDeg) * RAD);
      if (o.class !== 'pedestrian' && rng.chance(0.04 * frac)) yaw += Math.PI;
      const { cls, confused } = reportedClass(o.class as ObjectClass, op.confusion0 + op.confusionAtRange * frac * frac, 0.05 * frac * frac, rng);
      const conf = clamp((0.3 + 0.65 * (1 - Math.exp(-returns / 15))) * (confused ? 0.8 : 1) + rng.normal(0, 0.04), 0.05, 0.99);
      const det: DetectedObject = {
        id: this.ids.idFor(o.id, fn),
        classification: cls,
        confidence: round(conf, 3),
        box3d: {
          x: round(g.c.x + rng.normal(0, sd), 3),
          y: round(g.c.y + rng.normal(0, sd), 3),
          z: round(g.c.z + rng.normal(0, sd / 2), 3),
          length: round(Math.max(0.2, o.size.length * (1 + rng.normal(0, sizeSd))), 3),
          width: round(Math.max(0.2, o.size.width * (1 + rng.normal(0, sizeSd))), 3),
          height: round(Math.max(0.2, o.size.height * (1 + rng.normal(0, sizeSd))), 3),
          yaw: round(wrapPi(yaw), 4),
        },
        positionCovariance: [sd * sd, 0, 0, 0, sd * sd, 0, 0, 0, (sd * sd) / 4].map((v) => round(v, 6)),
      };
      if (op.reportVelocity) {
        const v = this.frame.dirToSensor(o.velocity);
        det.velocity = { x: round(v.x + rng.normal(0, op.velSd), 3), y: round(v.y + rng.normal(0, op.velSd), 3), z: 0 };
        det.velocityCovariance = [op.velSd ** 2, 0, 0, 0, op.velSd ** 2, 0, 0, 0, 0].map((x) => round(x, 6));
      }
      objects.push(det);
      truthIds.push(o.id);
    }

    // Clutter: small spurious objects on the ground (vegetation, poles, reflections).
    const nClutter = rng.poisson(op.clutterPerFrame);
    for (let i = 0; i < nClutter; i++) {
      const r = rng.uniform(5, op.rangeM * 0.6);
      const a = rng.uniform(-Math.PI, Math.PI);
      const ground = this.frame.toLocal({ x: r * Math.cos(a), y: r * Math.sin(a), z: 0 });
      const h = rng.uniform(0.4, 1.8);
      const c = this.frame.toSensor({ x: ground.x, y: ground.y, z: h / 2 });
      const sd = op.posSd0 + op.posSdPerM * r;
      const cls: ObjectClass = rng.weighted([['unknown', 0.5], ['pedestrian', 0.25], ['other', 0.25]] as const);
      objects.push({
        id: this.ids.fresh(),
        classification: cls,
        confidence: round(rng.uniform(0.1, 0.45), 3),
        box3d: { x: round(c.x, 3), y: round(c.y, 3), z: round(c.z, 3), length: round(rng.uniform(0.3, 1.5), 3), width: round(rng.uniform(0.3, 1.0), 3), height: round(h, 3), yaw: round(rng.uniform(-Math.PI, Math.PI), 4) },
        positionCovariance: [sd * sd, 0, 0, 0, sd * sd, 0, 0, 0, (sd * sd) / 4].map((v) => round(v, 6)),
        ...(op.reportVelocity ? { velocity: { x: 0, y: 0, z: 0 }, velocityCovariance: [op.velSd ** 2, 0, 0, 0, op.velSd ** 2, 0, 0, 0, 0].map((x) => round(x, 6)) } : {}),
      });
      truthIds.push(null);
    }
    this.ids.prune(fn);
    return {
      frame: { sensorId: this.sensor.id, captureTimeNs: sensorTimeNs(this.sensor, timeNs), frameNumber: fn, objects },
      truthIds,
      visibility,
    };
  }
}

/** Length of [lo, hi] not covered by any of the intervals. */
export function visibleLength(lo: number, hi: number, hidden: Array<[number, number]>): number {
  if (hi <= lo) return 0;
  const cut = hidden
    .map(([a, b]) => [Math.max(lo, Math.min(a, b)), Math.min(hi, Math.max(a, b))] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of cut) {
    if (a > curB) {
      if (curB > curA) covered += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) covered += curB - curA;
  return hi - lo - covered;
}

const round = (v: number, d: number) => {
  const f = 10 ** d;
  return Math.round(v * f) / f;
};
