// Sensor models and the conversion of a DetectionFrame's objects into measurements in the local ENU frame:
// lidar and radar boxes through the sensor pose, camera boxes by ground-plane placement. Every detection that
// cannot be used is counted with a reason; nothing here throws on bad input.
//
// Shared by every fusion backend (plain, and the learned one to come).

import type { RsuConfig, SensorConfig, SensorKind } from '../../runtime/config/types.js';
import type { DetectedObject, DetectionFrame, ObjectClass } from '../../hw/sensors/frame.js';
import { CameraModel } from './camera.js';
import { Georef, hyp2, hyp3, RigidTransform, type Vec3 } from './georef.js';
import { GroundModel } from './ground.js';
import type { Cov2 } from './kalman.js';

/** Why a detection was not used. */
export const DETECTION_DROP_REASONS = [
  'non_finite', // NaN or infinite value
  'out_of_range', // absurd value: box size, confidence, beyond the sensor's maxRangeM, far outside the site
  'missing_box', // lidar/radar object without box3d, camera object without box2d
  'bad_covariance', // covariance not 9 finite values with non-negative variances
  'low_confidence', // below options.minConfidence
  'above_horizon', // camera: the box's bottom-centre ray does not meet the ground plane
  'beyond_range', // camera: the ground point is farther than the camera's placement range
  'outside_lens_model', // camera: the pixel is outside the region where the distortion model is invertible
] as const;
export type DetectionDropReason = (typeof DETECTION_DROP_REASONS)[number];

/** Typical sizes (length, width, height, m) of each class: camera footprints and sizes before a lidar box. */
export const CLASS_SIZE_PRIORS: Record<ObjectClass, { length: number; width: number; height: number }> = {
  unknown: { length: 3, width: 1.5, height: 1.5 },
  car: { length: 4.5, width: 1.85, height: 1.5 },
  van: { length: 5.2, width: 2.0, height: 2.2 },
  truck: { length: 9, width: 2.5, height: 3.5 },
  trailer: { length: 10, width: 2.5, height: 3.5 },
  bus: { length: 12, width: 2.55, height: 3.2 },
  motorcycle: { length: 2.2, width: 0.8, height: 1.5 },
  bicycle: { length: 1.8, width: 0.6, height: 1.7 },
  pedestrian: { length: 0.6, width: 0.6, height: 1.75 },
  emergency_vehicle: { length: 5.5, width: 2.1, height: 2.4 },
  animal: { length: 1.2, width: 0.5, height: 0.9 },
  other: { length: 3, width: 1.5, height: 1.5 },
};

/** Box limits beyond which a detection is absurd (the same as the ingest's). */
const LIMITS = { lengthM: 30, widthM: 6, heightM: 8, speedMps: 100 } as const;

export interface MeasurementOptions {
  /** Height of the ground plane in the local frame, m. Default 0. */
  groundZ: number;
  /** Lidar position standard deviation when the sensor gives no covariance, m; grows by lidarRangeStdPerM·range. */
  lidarPosStdM: number;
  lidarRangeStdPerM: number;
  /** Radar position standard deviation when the sensor gives none, m. */
  radarPosStdM: number;
  /** Velocity standard deviation when a sensor gives a velocity without covariance (useSensorVelocity 'always'), m/s. */
  velocityStdMs: number;
  /**
   * Use the velocities sensors report as measurements: 'with-covariance' (default) only when the sensor also
   * gives their covariance (a sender that fills in zeros would otherwise hold every track back), 'always', or
   * 'never'.
   */
  useSensorVelocity: 'with-covariance' | 'always' | 'never';
  /** Standard deviation of the ground's height under a camera's detections, m, unless sensors[].groundStdM says. */
  groundStdM: number;
  /** Pixel standard deviation of a camera box's bottom edge. Default 2 px. */
  cameraPixelStd: number;
  /** Camera detections are placed on the ground only within this horizontal range (and the sensor's maxRangeM), m. */
  cameraMaxRangeM: number;
  /**
   * Move camera ground points away from the camera by a quarter of the class's typical length + width: the
   * bottom-centre of a 2D box is the object's nearest ground contact, not its centre. Default true.
   */
  cameraFootprintOffset: boolean;
  /** Detections below this confidence are dropped ('low_confidence'). Default 0. */
  minConfidence: number;
  /** Horizontal distance from the site origin beyond which a local position is absurd, m. Default 5000. */
  maxSiteRadiusM: number;
  /**
   * Horizontal range within which a sensor is expected to see an object (a track inside it and not detected
   * counts a miss): per kind, capped by the sensor's maxRangeM.
   */
  coverageRangeM: Record<SensorKind, number>;
}

export const DEFAULT_MEASUREMENT_OPTIONS: MeasurementOptions = {
  groundZ: 0,
  lidarPosStdM: 0.2,
  lidarRangeStdPerM: 0.002,
  radarPosStdM: 1.0,
  velocityStdMs: 1.0,
  useSensorVelocity: 'with-covariance',
  groundStdM: 0.1,
  cameraPixelStd: 2,
  cameraMaxRangeM: 120,
  cameraFootprintOffset: true,
  minConfidence: 0,
  maxSiteRadiusM: 5000,
  coverageRangeM: { lidar: 120, radar: 200, camera: 120 },
};

/** One detection in the local frame. */
export interface Measurement {
  sensorId: string;
  sensorKind: SensorKind;
  /** Index of the sensor in the stage's sensor list. */
  sensorIndex: number;
  /** Capture time on the RSU timeline, ms. */
  timeMs: number;
  /** Index of the object in its frame, and the sensor's own id for it. */
  objectIndex: number;
  objectId: number;
  /** Position of the object's bottom centre in the local frame, m. */
  x: number;
  y: number;
  z: number;
  /** Horizontal position covariance, m². */
  cov: Cov2;
  /** Velocity over the ground in the local frame, m/s, with covariance; when the sensor reported one. */
  velocity?: { x: number; y: number };
  velCov?: Cov2;
  /** Box heading in the local frame (radians from east), lidar/radar boxes only; 180° ambiguous in practice. */
  yaw?: number;
  /** Box size (lidar/radar only), m. */
  size?: { length: number; width: number; height: number };
  classification: ObjectClass;
  confidence: number;
  /** Horizontal distance from the sensor, m. */
  range: number;
  /**
   * Camera: the box's bottom is cut by the image's edge, so its ground point is only a far bound on the object's
   * range (its feet are nearer): the bearing is known, the position is not. Such a measurement updates a track's
   * identity and existence, not its position, and starts no track.
   */
  bearingOnly?: true;
}

/** A configured sensor, resolved for perception. */
export class SensorModel {
  readonly id: string;
  readonly kind: SensorKind;
  readonly enabled: boolean;
  /** Sensor body frame → local frame. */
  readonly toLocal: RigidTransform;
  /** Local → sensor, made when first needed (field-of-view checks). */
  private fromLocal?: RigidTransform;
  /** Sensor origin in the local frame. */
  readonly origin: Vec3;
  readonly camera?: CameraModel;
  /** Cameras: the ground their boxes are placed on (fixed, or fitted to the lidar's boxes). */
  readonly ground?: GroundModel;
  /** Cameras: standard deviation of the ground's height, m (widens the placement's σ along the ray). */
  readonly groundStdM: number;
  /** Horizontal range within which a track is expected to be seen, m. */
  readonly coverageRangeM: number;

  constructor(
    readonly config: SensorConfig,
    readonly index: number,
    georef: Georef,
    private readonly opts: MeasurementOptions,
  ) {
    this.id = config.id;
    this.kind = config.kind;
    this.enabled = config.enabled;
    this.toLocal = georef.sensorToLocal(config.pose);
    this.origin = { x: this.toLocal.t[0]!, y: this.toLocal.t[1]!, z: this.toLocal.t[2]! };
    if (config.kind === 'camera' && config.intrinsics) {
      this.camera = new CameraModel(config.intrinsics, this.toLocal);
      this.ground = new GroundModel(config.groundHeightM ?? opts.groundZ, config.groundFromLidar === true, this.camera.center);
    }
    this.groundStdM = config.groundStdM ?? opts.groundStdM;
    const cap = config.kind === 'camera' ? Math.min(opts.cameraMaxRangeM, opts.coverageRangeM.camera) : opts.coverageRangeM[config.kind];
    this.coverageRangeM = Math.min(config.maxRangeM, cap);
  }

  /** Whether the sensor's detector reports this class (sensors[].classes). */
  detects(cls: ObjectClass): boolean {
    return !this.config.classes || this.config.classes.includes(cls);
  }

  /**
   * Whether this sensor should see an object whose bottom centre is at (x, y, z) in the local frame. A camera with
   * `radiusM` (the object's half-extent) sees it only whole in the image: a box detector misses objects cut by the
   * image's edge, and those misses are no evidence against them.
   */
  covers(x: number, y: number, z: number, radiusM = 0): boolean {
    const range = hyp2(x - this.origin.x, y - this.origin.y);
    if (!(range <= this.coverageRangeM)) return false;
    if (this.kind !== 'camera') return this.inFov(x, y, z);
    const cam = this.camera;
    if (!cam) return false;
    const inside = (px: number, py: number): boolean => {
      const pix = cam.project({ x: px, y: py, z });
      return pix !== null && cam.inImage(pix, -5);
    };
    if (!inside(x, y)) return false;
    return !(radiusM > 0) || (inside(x + radiusM, y) && inside(x - radiusM, y) && inside(x, y + radiusM) && inside(x, y - radiusM));
  }

  /** Whether a local point lies within the sensor's horizontal field of view (sensors[].fov). */
  private inFov(x: number, y: number, z: number): boolean {
    const fov = this.config.fov ?? 360;
    if (!(fov < 360)) return true;
    const p = (this.fromLocal ??= this.toLocal.inverse()).apply({ x, y, z });
    return Math.abs(Math.atan2(p.y, p.x)) <= (fov * Math.PI) / 360;
  }

  /**
   * Cameras fitting their ground to the lidar: the bottoms of a lidar frame's boxes that this camera sees within
   * its placement range.
   */
  observeGround(ms: readonly Measurement[], timeMs: number): void {
    const cam = this.camera;
    const g = this.ground;
    if (!cam || !g?.fromLidar) return;
    const pts: Vec3[] = [];
    for (const m of ms) {
      if (!m.size || !(hyp2(m.x - cam.center.x, m.y - cam.center.y) <= this.cameraRangeM)) continue;
      const px = cam.project(m);
      if (px && cam.inImage(px)) pts.push({ x: m.x, y: m.y, z: m.z });
    }
    g.observe(pts, timeMs);
  }

  /** Camera ground placement range, m. */
  get cameraRangeM(): number {
    return Math.min(this.config.maxRangeM, this.opts.cameraMaxRangeM);
  }
}

export function buildSensorModels(cfg: RsuConfig, georef: Georef, opts: MeasurementOptions): SensorModel[] {
  return cfg.sensors.map((s, i) => new SensorModel(s, i, georef, opts));
}

const finite = Number.isFinite;

function cov3(c: unknown): number[] | null | 'bad' {
  if (c === undefined || c === null) return null;
  if (!Array.isArray(c) || c.length === 0) return null;
  if (c.length !== 9 || !c.every((v) => typeof v === 'number' && finite(v)) || c[0] < 0 || c[4] < 0 || c[8] < 0) return 'bad';
  return c as number[];
}

/** A covariance made safe for the filter: symmetric, with variances of at least floor². */
function sane2(xx: number, xy: number, yy: number, floor: number): Cov2 {
  const f2 = floor * floor;
  const a = Math.max(xx, f2);
  const c = Math.max(yy, f2);
  const lim = 0.999 * Math.sqrt(a * c);
  return [a, Math.max(-lim, Math.min(lim, xy)), c];
}

/** Covariance with standard deviations sa along the azimuth `az` and sc across it. */
export function alongAcross(az: number, sa: number, sc: number): Cov2 {
  const c = Math.cos(az);
  const s = Math.sin(az);
  const a2 = sa * sa;
  const c2 = sc * sc;
  return [a2 * c * c + c2 * s * s, (a2 - c2) * c * s, a2 * s * s + c2 * c * c];
}

export interface ConvertResult {
  measurements: Measurement[];
  drops: Array<{ objectIndex: number; reason: DetectionDropReason }>;
}

/** Converts a frame's objects into local-frame measurements for `sensor` (whose kind wins over the frame's). */
export function toMeasurements(frame: DetectionFrame, sensor: SensorModel, opts: MeasurementOptions): ConvertResult {
  const measurements: Measurement[] = [];
  const drops: ConvertResult['drops'] = [];
  const objects = frame.objects;
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i] as DetectedObject | undefined;
    const r = sensor.kind === 'camera' ? cameraMeasurement(o, sensor, opts) : boxMeasurement(o, sensor, opts);
    if (typeof r === 'string') {
      drops.push({ objectIndex: i, reason: r });
      continue;
    }
    r.sensorId = sensor.id;
    r.sensorKind = sensor.kind;
    r.sensorIndex = sensor.index;
    r.timeMs = frame.timeMs;
    r.objectIndex = i;
    if (hyp2(r.x, r.y) > opts.maxSiteRadiusM) {
      drops.push({ objectIndex: i, reason: 'out_of_range' });
      continue;
    }
    measurements.push(r);
  }
  return { measurements, drops };
}

/** Common checks: an object, a finite confidence in 0..1, above the minimum. */
function checkCommon(o: DetectedObject | undefined, opts: MeasurementOptions): DetectionDropReason | null {
  if (!o || typeof o !== 'object') return 'missing_box';
  if (!finite(o.confidence)) return 'non_finite';
  if (o.confidence < 0 || o.confidence > 1) return 'out_of_range';
  if (o.confidence < opts.minConfidence) return 'low_confidence';
  return null;
}

function classOf(o: DetectedObject): ObjectClass {
  return typeof o.classification === 'string' && o.classification in CLASS_SIZE_PRIORS ? o.classification : 'unknown';
}

function velocityOf(o: DetectedObject, sensor: SensorModel, opts: MeasurementOptions, m: Measurement): DetectionDropReason | null {
  const v = o.velocity;
  if (!v || opts.useSensorVelocity === 'never') return null;
  if (!finite(v.x) || !finite(v.y) || !finite(v.z)) return 'non_finite';
  if (hyp3(v.x, v.y, v.z) > LIMITS.speedMps) return 'out_of_range';
  const vc = cov3(o.velocityCovariance);
  if (vc === 'bad') return 'bad_covariance';
  if (!vc && opts.useSensorVelocity !== 'always') return null;
  const lv = sensor.toLocal.applyVector(v);
  m.velocity = { x: lv.x, y: lv.y };
  if (vc) {
    const c = sensor.toLocal.rotateCovariance(vc);
    m.velCov = sane2(c[0]!, c[1]!, c[4]!, 0.05);
  } else {
    const s = opts.velocityStdMs;
    m.velCov = [s * s, 0, s * s];
  }
  return null;
}

function blank(o: DetectedObject): Measurement {
  return {
    sensorId: '',
    sensorKind: 'lidar',
    sensorIndex: -1,
    timeMs: 0,
    objectIndex: -1,
    objectId: finite(o.id) ? o.id : -1,
    x: 0,
    y: 0,
    z: 0,
    cov: [1, 0, 1],
    // Every optional field present from the start: one object shape for all measurements (V8).
    velocity: undefined,
    velCov: undefined,
    yaw: undefined,
    size: undefined,
    classification: classOf(o),
    confidence: o.confidence,
    range: 0,
  };
}

function boxMeasurement(o: DetectedObject | undefined, sensor: SensorModel, opts: MeasurementOptions): Measurement | DetectionDropReason {
  const bad = checkCommon(o, opts);
  if (bad) return bad;
  const b = o!.box3d;
  if (!b || typeof b !== 'object') return 'missing_box';
  if (!(finite(b.x) && finite(b.y) && finite(b.z) && finite(b.length) && finite(b.width) && finite(b.height) && finite(b.yaw))) return 'non_finite';
  if (!(b.length > 0 && b.length <= LIMITS.lengthM && b.width > 0 && b.width <= LIMITS.widthM && b.height > 0 && b.height <= LIMITS.heightM))
    return 'out_of_range';
  const rangeSensor = hyp3(b.x, b.y, b.z);
  if (rangeSensor > sensor.config.maxRangeM) return 'out_of_range';
  const m = blank(o!);
  const c = sensor.toLocal.apply(b);
  m.x = c.x;
  m.y = c.y;
  m.z = c.z - b.height / 2;
  m.range = hyp2(c.x - sensor.origin.x, c.y - sensor.origin.y);
  const yaw = sensor.toLocal.applyYaw(b.yaw);
  if (finite(yaw)) m.yaw = yaw;
  m.size = { length: b.length, width: b.width, height: b.height };
  const pc = cov3(o!.positionCovariance);
  if (pc === 'bad') return 'bad_covariance';
  if (pc) {
    const lc = sensor.toLocal.rotateCovariance(pc);
    m.cov = sane2(lc[0]!, lc[1]!, lc[4]!, 0.05);
  } else {
    const s = sensor.kind === 'radar' ? opts.radarPosStdM : opts.lidarPosStdM + opts.lidarRangeStdPerM * m.range;
    m.cov = [s * s, 0, s * s];
  }
  const vbad = velocityOf(o!, sensor, opts, m);
  if (vbad) return vbad;
  return m;
}

/** A box edge within this many pixels of the image's edge is cut by it. */
const CUT_MARGIN_PX = 2;

/**
 * A camera placement's σ along the ray: `sAlong`, or for a box cut at the bottom (bearingOnly) at least half the
 * range, since the object may be anywhere nearer (the gate must still let it associate).
 */
export function alongStdOf(m: Measurement, sAlong: number): number {
  return m.bearingOnly ? Math.max(sAlong, m.range / 2) : sAlong;
}

function cameraMeasurement(o: DetectedObject | undefined, sensor: SensorModel, opts: MeasurementOptions): Measurement | DetectionDropReason {
  const bad = checkCommon(o, opts);
  if (bad) return bad;
  const b = o!.box2d;
  if (!b || typeof b !== 'object') return 'missing_box';
  if (!(finite(b.x) && finite(b.y) && finite(b.width) && finite(b.height))) return 'non_finite';
  const cam = sensor.camera;
  if (!cam) return 'missing_box';
  const k = cam.intrinsics;
  if (!(b.width > 0 && b.height > 0) || b.x >= k.width || b.y >= k.height || b.x + b.width <= 0 || b.y + b.height <= 0) return 'out_of_range';
  // Bottom centre, clamped into the image (a box cut by the image border keeps its visible bottom).
  const u = Math.min(k.width, Math.max(0, b.x + b.width / 2));
  const v = Math.min(k.height, Math.max(0, b.y + b.height));
  const g = cam.groundPoint(u, v, sensor.ground ? sensor.ground.plane() : opts.groundZ, sensor.cameraRangeM);
  if (!g.ok) return g.reason;
  const m = blank(o!);
  const prior = CLASS_SIZE_PRIORS[m.classification];
  const offset = opts.cameraFootprintOffset ? (prior.length + prior.width) / 4 : 0;
  const ca = Math.cos(g.azimuth);
  const sa = Math.sin(g.azimuth);
  m.x = g.point.x + offset * ca;
  m.y = g.point.y + offset * sa;
  m.z = g.point.z;
  m.range = g.range + offset;
  // Angular noise σθ = σpx / f. Range R = H / tan(depression): σR = (H² + R²)/H · σθ; across: slant · σθ. A
  // ground σg off in height moves the point by R/H · σg along the ray.
  const sTheta = opts.cameraPixelStd / cam.focal;
  const h = g.height;
  const slant2 = h * h + g.range * g.range;
  const sAlong = Math.hypot((slant2 / h) * sTheta, Math.max(prior.length, prior.width) / 4, 0.15, (g.range / h) * sensor.groundStdM);
  const sAcross = hyp3(Math.sqrt(slant2) * sTheta, prior.width / 4, 0.15);
  if (b.y + b.height >= k.height - CUT_MARGIN_PX) m.bearingOnly = true;
  m.cov = alongAcross(g.azimuth, alongStdOf(m, sAlong), sAcross);
  if (o!.velocity) {
    const vbad = velocityOf(o!, sensor, opts, m);
    if (vbad) return vbad;
  }
  return m;
}
