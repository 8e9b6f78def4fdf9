// Multi-object tracker on the ground plane: constant-velocity Kalman filters, Mahalanobis gating, global nearest
// neighbour association (Hungarian method on each connected group of gated pairs), track management (birth after
// N hits, death after M misses inside a sensor's coverage or after a time without update), and the per-track
// attributes the messages need: smoothed size, class vote, heading, speed, acceleration, existence.
//
// Input is one batch of measurements per sensor frame, at the frame's time. Batches come in time order; a batch
// up to the stage's tolerance older than the tracker's time is applied "late": each candidate pair compares the
// measurement moved forward by the track's velocity, with its covariance grown accordingly.

import type { SensorKind } from '../../runtime/config/types.js';
import { OBJECT_CLASSES, type ObjectClass } from '../../hw/sensors/frame.js';
import { bevOverlap } from './box-overlap.js';
import { hungarian } from './hungarian.js';
import { CvKalman, maxEigen, maxEigen3, type Cov2 } from './kalman.js';
import { CLASS_SIZE_PRIORS, type Measurement } from './measure.js';
import { hyp2, wrapPi } from './georef.js';

export interface TrackerOptions {
  /** Process noise: white-acceleration spectral density, m²/s³ (≈ acceleration variance per second). */
  processNoise: number;
  /** Gate on the squared Mahalanobis distance of the position innovation (χ², 2 dof: 13.8 = 99.9 %). */
  gateChi2: number;
  /** Hits (associated detections, any sensor) before a track is confirmed and reported. */
  confirmHits: number;
  /** Consecutive misses (frames of a sensor that covers the track without detecting it) that end a confirmed track. */
  maxMisses: number;
  /** The same for a tentative track. */
  tentativeMaxMisses: number;
  /** Time without an update that ends a confirmed track, ms. */
  maxCoastMs: number;
  /** The same for a tentative track, ms. */
  tentativeMaxCoastMs: number;
  /** Velocity standard deviation of a new track when the detection has no velocity, m/s. */
  initVelocityStdMs: number;
  /** Heading comes from the velocity above this speed (and when the speed is well determined), else from the box yaw, m/s. */
  headingMinSpeedMs: number;
  /** Weight kept by older class votes at each new detection (0..1). */
  classDecay: number;
  /** Smoothing factor of the size and height from lidar/radar boxes (weight of the new box). */
  sizeAlpha: number;
  /** Time constant of the acceleration estimate, ms. */
  accelTauMs: number;
  /** A sensor kind is listed in a track's sources when it updated the track within this time, ms. */
  sourceWindowMs: number;
  /** Association cost added for tentative tracks, so that confirmed tracks win ties. */
  tentativePenalty: number;
  /** Association cost added when the detection's class group (vehicle, two-wheeler, pedestrian, animal) differs from the track's. */
  classMismatchPenalty: number;
  /**
   * No new track is started from a detection that lies within this squared Mahalanobis distance of a track, or
   * inside a confirmed track's footprint (split boxes, duplicate detections).
   */
  birthSuppressChi2: number;
  /** No new track is started while this many are live (a bound against floods of bad detections). */
  maxTracks: number;
  /**
   * A confirmed track that ended less than this long ago hands its id (and first-seen time) to a track confirmed
   * where it was predicted to be (within gateChi2 of its prediction, the same class group): an object lost for a
   * moment (occluded, a few missed frames) keeps its identity. 0: never.
   */
  reidentifyMs: number;
  /**
   * Output policy: a confirmed track is reported (to the RSM and every other consumer) only while its last update
   * is at most this old, ms. Prediction keeps it for association up to maxCoastMs; it is not broadcast meanwhile.
   */
  reportMaxCoastMs: number;
  /** The same per class group (pedestrians are missed more often than vehicles); a group left out takes reportMaxCoastMs. */
  classReportMaxCoastMs: Partial<Record<ClassGroup, number>>;
  /**
   * Process noise per class group, m²/s³ (pedestrians and two-wheelers turn and stop more sharply than their
   * speed suggests); a group left out takes processNoise.
   */
  classProcessNoise: Partial<Record<ClassGroup, number>>;
  /** A new track is confirmed at its first detection when that detection's confidence reaches this (> 1: never). */
  confirmConfidence: number;
  /**
   * Heading from the detector's box yaw whenever the detection gives one (its 180° ambiguity resolved by the
   * velocity, else by the track's heading); from the velocity only for detections without a yaw.
   */
  headingFromBox: boolean;
  /**
   * Detections of one class group (vehicle, two-wheeler, pedestrian, animal) never update a track of another, and
   * never stop one from starting beside it: for detectors that run one model per class (their boxes overlap).
   */
  separateClassGroups: boolean;
  /**
   * A detection with a box (size and yaw) may update a track with a box only when their bird's-eye-view GIoU,
   * the track predicted to the detection's time, is at least this (-1: no shape gate). Besides the distance gate:
   * a wide distance gate lets a responsive filter follow real motion without pairing boxes that do not overlap.
   */
  minBoxGiou: number;
  /**
   * A camera detection associated with a track that a lidar or radar box updated within this time, ms, updates the
   * track's class, existence and confirmation, not its position: a camera's ground placement is metres off where
   * the ground is not where it is assumed, a box is centimetres off, so the camera would only drag a good track
   * (the fusion is never worse than the lidar alone). 0: camera detections always update the position.
   */
  cameraPositionHoldMs: number;
  /**
   * How much a camera's view weighs in a track's confidence, 0..1: once a camera has covered the track, its
   * confidence is scaled by 1 − w + w·s, s the exponentially weighted camera evidence (the camera box's confidence
   * when one was associated, 0 when the camera covered the track and missed it). A box detector's false objects
   * that no camera sees rank below the objects both see.
   */
  cameraConfidenceWeight: number;
  /**
   * A camera box no track claims starts a track inside a lidar's coverage too (default: roadside lidars miss
   * pedestrians with few points that a camera sees). Off, a camera starts tracks only where no lidar looks: for a
   * lidar detector reliable in its range, whose tracks a camera-started one, placed metres off wherever the ground
   * is not where it is assumed, would only duplicate.
   */
  cameraBirthsInLidarCoverage: boolean;
}

/** Weight of the newest frame in a track's per-kind support. */
const SUPPORT_ALPHA = 0.3;
export type ClassGroup = 'vehicle' | 'twoWheeler' | 'pedestrian';

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  processNoise: 2,
  gateChi2: 13.8,
  confirmHits: 3,
  maxMisses: 8,
  tentativeMaxMisses: 2,
  maxCoastMs: 1500,
  tentativeMaxCoastMs: 500,
  initVelocityStdMs: 10,
  headingMinSpeedMs: 1.0,
  classDecay: 0.85,
  sizeAlpha: 0.2,
  accelTauMs: 800,
  sourceWindowMs: 1000,
  tentativePenalty: 2,
  classMismatchPenalty: 4,
  birthSuppressChi2: 4,
  maxTracks: 1000,
  reidentifyMs: 2000,
  reportMaxCoastMs: 300,
  classProcessNoise: {},
  classReportMaxCoastMs: {},
  confirmConfidence: 2,
  headingFromBox: false,
  separateClassGroups: false,
  cameraPositionHoldMs: 300,
  cameraConfidenceWeight: 0.5,
  cameraBirthsInLidarCoverage: true,
  minBoxGiou: -0.2,
};

/** A track's state as a backend reports it, in the local frame (the stage adds WGS-84 and true headings). */
export interface TrackEstimate {
  id: number;
  confirmed: boolean;
  classification: ObjectClass;
  classConfidence: number;
  existence: number;
  /** Bottom centre, local frame, m. */
  x: number;
  y: number;
  z: number;
  vx: number;
  vy: number;
  speed: number;
  /** Yaw in the local frame (radians from east); NaN when never determined. */
  yaw: number;
  accel: number;
  size: { length: number; width: number; height: number };
  /** Square root of the largest eigenvalue of the position covariance, m. */
  posStdM: number;
  speedStdMs: number;
  /** Yaw standard deviation, radians (π when unknown). */
  yawStd: number;
  sources: SensorKind[];
  firstSeenMs: number;
  lastUpdateMs: number;
  /** A sensor that covers the track missed it since its last update: the position is a prediction. */
  coasting: boolean;
  /**
   * Confidence that the track is a real object, 0..1: the latest associated detection's confidence, decaying
   * while the track coasts. Unlike existence it does not grow with age alone.
   */
  confidence: number;
}

/** A batch of measurements from one sensor frame. */
export interface MeasurementBatch {
  sensorId: string;
  sensorKind: SensorKind;
  timeMs: number;
  measurements: Measurement[];
  /**
   * Whether the sensor should have seen an object (of that class) at this local position (for counting misses);
   * `radiusM`, the object's half-extent: a camera sees it only whole inside the image, not cut by the image's edge.
   */
  covers(x: number, y: number, z: number, cls?: ObjectClass, radiusM?: number): boolean;
  /** Whether some enabled lidar covers the position (cameraBirthsInLidarCoverage); absent: none does. */
  lidarCovers?(x: number, y: number, z: number): boolean;
}

export interface StepResult {
  /** Measurements associated with a track. */
  associated: number;
  /** New tentative tracks. */
  born: number;
  /** Measurements neither associated nor starting a track (near an existing one, or maxTracks reached). */
  suppressed: number;
  /** Tracks ended in this step. */
  died: number;
  /** Tracks confirmed in this step. */
  confirmed: number;
}

/** A candidate pair after gating. */
interface Edge {
  t: number;
  m: number;
  cost: number;
  /** The measurement as compared (moved forward for a late batch), and its covariance. */
  zx: number;
  zy: number;
  r: Cov2;
  /** Squared Mahalanobis distance. */
  d2: number;
  /** The measurement updates identity and existence only, not the position (an untrusted camera placement). */
  positionless?: boolean;
}

let nextTrackId = 1;
/** Track ids are unique within the process: never reused, whichever tracker or stage allocates them. */
export function allocateTrackId(): number {
  return nextTrackId++;
}

const GROUPS: Record<ObjectClass, number> = {
  unknown: -1,
  other: -1,
  car: 0,
  van: 0,
  truck: 0,
  trailer: 0,
  bus: 0,
  emergency_vehicle: 0,
  motorcycle: 1,
  bicycle: 1,
  pedestrian: 2,
  animal: 3,
};
/**
 * Acceleration within which a lost road user is still taken for the same one, m/s²: normal driving and walking
 * (vehicles and two-wheelers 3, the level at which telematics flags hard braking; pedestrians 2). A road user found
 * beyond it gets a new id: a new id costs a receiver less than another road user's history.
 */
function maxAccelOf(c: ObjectClass): number {
  return GROUPS[c] === 2 ? 2 : 3;
}
function groupName(c: ObjectClass): ClassGroup | undefined {
  const g = GROUPS[c];
  return g === 0 ? 'vehicle' : g === 1 ? 'twoWheeler' : g === 2 ? 'pedestrian' : undefined;
}
const CLASS_INDEX = new Map<ObjectClass, number>(OBJECT_CLASSES.map((c, i) => [c, i]));
/** Kinds in the order `sources` lists them. */
const SOURCE_KINDS = ['lidar', 'radar', 'camera'] as const satisfies readonly SensorKind[];
/** Whether two classes may share a track under separateClassGroups (an unknown class goes with any). */
export function sameClassGroup(a: ObjectClass, b: ObjectClass): boolean {
  const ga = GROUPS[a];
  const gb = GROUPS[b];
  return ga < 0 || gb < 0 || ga === gb;
}

export const kindIndex = (k: SensorKind): number => (k === 'lidar' ? 0 : k === 'radar' ? 1 : 2);

export class TrackState {
  /** Changes only when a newly confirmed track takes over a lost track's identity (TrackerOptions.reidentifyMs). */
  id: number;
  readonly kf: CvKalman;
  confirmed = false;
  hits = 1;
  /** Time of the latest hit: hits count looks in time, one per instant however many sensors saw it then. */
  hitMs: number;
  /** Time of the latest miss counted. */
  missMs = -Infinity;
  misses = 0;
  firstSeenMs: number;
  lastUpdateMs: number;
  /** Bottom height, m. */
  z: number;
  size: { length: number; width: number; height: number };
  sizeFromBox: boolean;
  readonly classWeights = new Float64Array(OBJECT_CLASSES.length);
  classification: ObjectClass = 'unknown';
  classConfidence = 0;
  /** Local yaw, radians; NaN until known. */
  yaw = NaN;
  yawStd = Math.PI;
  accel = 0;
  /** Time and speed of the last acceleration sample. */
  accelT = NaN;
  accelSpeed = 0;
  existence: number;
  /** Confidence of the latest detection that updated the track. */
  score: number;
  /**
   * Per sensor kind (SOURCE_KINDS order), exponentially weighted evidence: the detection's confidence when one was
   * associated, 0 when a sensor of that kind covered the track and missed it; NaN before any covered it.
   */
  readonly support = new Float64Array(SOURCE_KINDS.length).fill(NaN);
  /** Whether yaw comes from detector boxes (TrackerOptions.headingFromBox). */
  yawFromBox = false;
  /** Time of the last update by each sensor kind (index in SOURCE_KINDS), -Infinity when never. */
  readonly sourceLast = new Float64Array(SOURCE_KINDS.length).fill(-Infinity);

  /** A tentative track from a measurement; `lagS` > 0 when the measurement is that much older than the tracker's time. */
  constructor(m: Measurement, initVelStd: number, timeMs: number, lagS = 0) {
    this.id = allocateTrackId();
    const vs = initVelStd * initVelStd;
    const velCov: Cov2 = m.velocity && m.velCov ? m.velCov : [vs, 0, vs];
    const l2 = lagS * lagS;
    const px = m.x + (m.velocity ? m.velocity.x * lagS : 0);
    const py = m.y + (m.velocity ? m.velocity.y * lagS : 0);
    const posCov: Cov2 = [m.cov[0] + l2 * velCov[0], m.cov[1] + l2 * velCov[1], m.cov[2] + l2 * velCov[2]];
    this.kf = CvKalman.init(px, py, posCov, m.velocity, velCov);
    this.firstSeenMs = timeMs;
    this.hitMs = timeMs;
    this.lastUpdateMs = timeMs;
    this.z = m.z;
    this.sizeFromBox = m.size !== undefined;
    this.size = sizeCopy(m.size ?? CLASS_SIZE_PRIORS[m.classification]);
    this.existence = 0.3 * m.confidence;
    this.score = m.confidence;
  }

  get x(): number {
    return this.kf.x[0]!;
  }
  get y(): number {
    return this.kf.x[1]!;
  }
}

/**
 * The tracker. One instance per perception stage; `process()` one batch per sensor frame in time order, then
 * `estimates(atMs)` for the tracks predicted to a time.
 */
export class Tracker {
  readonly opts: TrackerOptions;
  private list: TrackState[] = [];
  /** Confirmed tracks that ended within reidentifyMs, and when. */
  private lost: Array<{ track: TrackState; endMs: number }> = [];
  /** Time all tracks are predicted to, ms; -Infinity before the first batch. */
  private now = -Infinity;
  created = 0;

  constructor(opts: Partial<TrackerOptions> = {}) {
    this.opts = { ...DEFAULT_TRACKER_OPTIONS, ...opts };
  }

  get timeMs(): number {
    return this.now;
  }

  /** Live tracks (tentative and confirmed); do not modify. */
  get tracks(): readonly TrackState[] {
    return this.list;
  }

  /** Predicts every track to t (no-op when t is not after the tracker's time) and ends tracks that coasted too long. */
  advance(t: number): void {
    if (!(t > this.now)) return;
    if (this.now > -Infinity) {
      const dt = (t - this.now) / 1000;
      for (const tr of this.list) tr.kf.predict(dt, this.noiseOf(tr));
    }
    this.now = t;
  }

  /** Gated candidate pairs between the live tracks and a batch's measurements. */
  gate(batch: MeasurementBatch): Edge[] {
    const o = this.opts;
    const lag = Math.max(0, (this.now - batch.timeMs) / 1000);
    const l2 = lag * lag;
    const ms = batch.measurements;
    const tracks = this.list;
    const edges: Edge[] = [];
    const nm = ms.length;
    if (nm === 0 || tracks.length === 0) return edges;
    const mEig = new Float64Array(nm);
    const mx = new Float64Array(nm);
    const my = new Float64Array(nm);
    for (let j = 0; j < nm; j++) {
      const m = ms[j]!;
      mEig[j] = maxEigen(m.cov);
      mx[j] = m.x;
      my[j] = m.y;
    }
    for (let i = 0; i < tracks.length; i++) {
      const tr = tracks[i]!;
      const kf = tr.kf;
      const P = kf.P;
      const X = kf.x;
      const tx = X[0]!;
      const ty = X[1]!;
      const vx = X[2]!;
      const vy = X[3]!;
      const tEig = maxEigen3(P[0]!, P[1]!, P[5]!) + (lag > 0 ? l2 * maxEigen3(P[10]!, P[11]!, P[15]!) : 0);
      const tg = GROUPS[tr.classification];
      for (let j = 0; j < nm; j++) {
        const zx = mx[j]! + vx * lag;
        const zy = my[j]! + vy * lag;
        const dx = zx - tx;
        const dy = zy - ty;
        // Cheap bound: d² ≥ |d|² / λmax(S) and λmax(S) ≤ λmax(P) + λmax(R).
        if (dx * dx + dy * dy > o.gateChi2 * (tEig + mEig[j]!)) continue;
        const m = ms[j]!;
        let r = m.cov;
        if (lag > 0) r = [r[0] + l2 * P[10]!, r[1] + l2 * P[11]!, r[2] + l2 * P[15]!];
        const d2 = kf.gateDistance(zx, zy, r[0], r[1], r[2]);
        if (!(d2 <= o.gateChi2)) continue;
        let cost = d2 + kf.lastLogDet;
        if (!tr.confirmed) cost += o.tentativePenalty;
        const mg = GROUPS[m.classification];
        if (tg >= 0 && mg >= 0 && tg !== mg) {
          if (o.separateClassGroups) continue;
          cost += o.classMismatchPenalty;
        }
        if (o.minBoxGiou > -1 && m.size && m.yaw !== undefined && tr.sizeFromBox && Number.isFinite(tr.yaw)) {
          const g = bevOverlap({ x: tx, y: ty, length: tr.size.length, width: tr.size.width, yaw: tr.yaw }, { x: zx, y: zy, length: m.size.length, width: m.size.width, yaw: m.yaw }).giou;
          if (g < o.minBoxGiou) continue;
        }
        edges.push({ t: i, m: j, cost, zx, zy, r, d2 });
      }
    }
    return edges;
  }

  /**
   * Global nearest neighbour: the least-cost assignment over the gated pairs, solved per connected group of
   * tracks and measurements (most groups are a single pair). Returns the chosen edges.
   */
  associate(edges: Edge[], nTracks: number, nMeas: number): Edge[] {
    if (edges.length === 0) return [];
    // Fast path: pairs whose track and measurement appear in no other pair need no solving.
    const tDeg = new Uint16Array(nTracks);
    const mDeg = new Uint16Array(nMeas);
    for (const e of edges) {
      if (tDeg[e.t]! < 65535) tDeg[e.t]!++;
      if (mDeg[e.m]! < 65535) mDeg[e.m]!++;
    }
    let simple = true;
    for (const e of edges)
      if (tDeg[e.t] !== 1 || mDeg[e.m] !== 1) {
        simple = false;
        break;
      }
    if (simple) return edges;
    // Union-find over nodes: tracks 0..nTracks-1, measurements nTracks..nTracks+nMeas-1.
    const parent = new Int32Array(nTracks + nMeas);
    for (let k = 0; k < parent.length; k++) parent[k] = k;
    const find = (a: number): number => {
      while (parent[a] !== a) {
        parent[a] = parent[parent[a]!]!;
        a = parent[a]!;
      }
      return a;
    };
    for (const e of edges) {
      const a = find(e.t);
      const b = find(nTracks + e.m);
      if (a !== b) parent[a] = b;
    }
    const groups = new Map<number, Edge[]>();
    for (const e of edges) {
      const root = find(e.t);
      let g = groups.get(root);
      if (!g) groups.set(root, (g = []));
      g.push(e);
    }
    const chosen: Edge[] = [];
    for (const g of groups.values()) {
      if (g.length === 1) {
        chosen.push(g[0]!);
        continue;
      }
      const ti = new Map<number, number>();
      const mi = new Map<number, number>();
      for (const e of g) {
        if (!ti.has(e.t)) ti.set(e.t, ti.size);
        if (!mi.has(e.m)) mi.set(e.m, mi.size);
      }
      const rows = ti.size;
      const cols = mi.size;
      const c = new Float64Array(rows * cols).fill(Infinity);
      const at = new Array<Edge | undefined>(rows * cols);
      for (const e of g) {
        const k = ti.get(e.t)! * cols + mi.get(e.m)!;
        c[k] = e.cost;
        at[k] = e;
      }
      const a = hungarian(c, rows, cols);
      for (let r = 0; r < rows; r++) {
        const col = a.rowToCol[r]!;
        if (col >= 0) chosen.push(at[r * cols + col]!);
      }
    }
    return chosen;
  }

  /** One sensor frame: predict, gate, associate, update, count misses, start and end tracks. */
  process(batch: MeasurementBatch): StepResult {
    this.advance(batch.timeMs);
    const o = this.opts;
    const ms = batch.measurements;
    const tracks = this.list;
    const edges = this.gate(batch);
    const chosen = this.associate(edges, tracks.length, ms.length);
    const trackHit = new Uint8Array(tracks.length);
    const measUsed = new Uint8Array(ms.length);
    const result: StepResult = { associated: 0, born: 0, suppressed: 0, died: 0, confirmed: 0 };
    const lag = Math.max(0, (this.now - batch.timeMs) / 1000);
    for (const e of chosen) {
      trackHit[e.t] = 1;
      measUsed[e.m] = 1;
      this.update(tracks[e.t]!, ms[e.m]!, e, lag, batch);
      result.associated++;
    }
    // Misses: unassociated tracks the sensor should have seen.
    for (let i = 0; i < tracks.length; i++) {
      if (trackHit[i]) continue;
      const tr = tracks[i]!;
      if (!batch.covers(tr.x, tr.y, tr.z, tr.classification, 0.5 * Math.hypot(tr.size.length, tr.size.width)) || !this.countsMiss(tr, batch)) continue;
      const sk = kindIndex(batch.sensorKind);
      tr.support[sk] = Number.isNaN(tr.support[sk]!) ? 0 : tr.support[sk]! * (1 - SUPPORT_ALPHA);
      // Like hits, misses count looks in time: a camera missing what the lidar saw or missed at the same instant
      // would otherwise end a track twice as fast as the lidar alone does.
      if (!(batch.timeMs > Math.max(tr.hitMs, tr.missMs))) continue;
      tr.missMs = batch.timeMs;
      tr.misses++;
      tr.existence *= 0.8;
    }
    // Births from the measurements left over, unless they duplicate a track.
    const near = new Uint8Array(ms.length);
    for (const e of edges) if (!measUsed[e.m] && this.closeToTrack(e)) near[e.m] = 1;
    const born: TrackState[] = [];
    for (let j = 0; j < ms.length; j++) {
      if (measUsed[j]) continue;
      const m = ms[j]!;
      if (m.bearingOnly || (m.sensorKind === 'camera' && !o.cameraBirthsInLidarCoverage && batch.lidarCovers?.(m.x, m.y, m.z)) || tracks.length + born.length >= o.maxTracks || near[j] || (this.insideFootprint(m) && !this.startsInsideFootprint(m)) || born.some((b) => b.kf.gateDistance(m.x, m.y, m.cov[0], m.cov[1], m.cov[2]) <= o.birthSuppressChi2)) {
        result.suppressed++;
        continue;
      }
      const tr = new TrackState(m, o.initVelocityStdMs, batch.timeMs, lag);
      this.vote(tr, m);
      tr.sourceLast[kindIndex(m.sensorKind)] = batch.timeMs;
      if (m.yaw !== undefined) this.updateYaw(tr, m);
      if (m.confidence >= o.confirmConfidence) tr.hits = Math.max(tr.hits, o.confirmHits);
      born.push(tr);
      this.onBirth(tr, m);
      this.created++;
      result.born++;
    }
    // Confirmations and deaths.
    const keep: TrackState[] = [];
    for (const tr of tracks) {
      // Not in a batch of its own birth time: another sensor's frame of the same instant (a camera triggered with the
      // lidar) would otherwise confirm a track born on one detection (confirmConfidence) a frame earlier than the
      // lidar alone does.
      if (!tr.confirmed && tr.hits >= o.confirmHits && tr.firstSeenMs < this.now) {
        if (this.duplicates(tr)) {
          result.died++;
          continue;
        }
        tr.confirmed = true;
        result.confirmed++;
        this.reidentify(tr);
      }
      const dead = tr.confirmed
        ? tr.misses >= o.maxMisses || this.now - tr.lastUpdateMs > o.maxCoastMs
        : tr.misses >= o.tentativeMaxMisses || this.now - tr.lastUpdateMs > o.tentativeMaxCoastMs;
      if (dead) {
        result.died++;
        if (tr.confirmed && o.reidentifyMs > 0) {
          this.forgetLost();
          this.lost.push({ track: tr, endMs: this.now });
        }
      } else keep.push(tr);
    }
    for (const tr of born) keep.push(tr);
    this.list = keep;
    return result;
  }

  /**
   * A track just confirmed takes the identity of the lost confirmed track whose prediction it lies closest to (in
   * the gate, same class group, ended within reidentifyMs), if any.
   */
  private reidentify(tr: TrackState): void {
    const o = this.opts;
    this.forgetLost();
    const p = tr.kf.posCov();
    let best = -1;
    let bestD2 = o.gateChi2;
    for (let i = 0; i < this.lost.length; i++) {
      const l = this.lost[i]!.track;
      if (!sameClassGroup(tr.classification, l.classification)) continue;
      const dt = (this.now - this.lost[i]!.endMs) / 1000;
      const kf = l.kf.clone();
      kf.predict(dt, this.noiseOf(l));
      const d2 = kf.gateDistance(tr.x, tr.y, p[0], p[1], p[2]);
      // The process noise grows the gate with the cube of the time lost (a pedestrian's to some 20 m after 1.5 s):
      // the new track must also lie where the lost one could have got to since it was last measured, braking,
      // speeding up or turning at most maxAccel, give or take the new track's own uncertainty (3σ: a camera's
      // placement).
      const seen = (this.now - l.lastUpdateMs) / 1000;
      const reach = 1 + 0.5 * maxAccelOf(l.classification) * seen * seen + 3 * Math.sqrt(maxEigen(p));
      if (d2 <= bestD2 && hyp2(tr.x - kf.x[0]!, tr.y - kf.x[1]!) <= reach) {
        bestD2 = d2;
        best = i;
      }
    }
    if (best < 0) return;
    const l = this.lost.splice(best, 1)[0]!.track;
    tr.id = l.id;
    tr.firstSeenMs = l.firstSeenMs;
  }

  /** Drops lost tracks that ended more than reidentifyMs ago (the list is in time order). */
  private forgetLost(): void {
    let k = 0;
    while (k < this.lost.length && this.now - this.lost[k]!.endMs > this.opts.reidentifyMs) k++;
    if (k > 0) this.lost.splice(0, k);
  }

  /** Whether a covered track the batch did not update counts a miss (a seam for the learned fusion). */
  protected countsMiss(_tr: TrackState, _batch: MeasurementBatch): boolean {
    return true;
  }

  /** Whether an unassociated measurement inside a confirmed track's footprint starts a track anyway (a seam). */
  protected startsInsideFootprint(_m: Measurement): boolean {
    return false;
  }

  /** Called with each track started, and the measurement that started it (a seam). */
  protected onBirth(_tr: TrackState, _m: Measurement): void {}

  /** Whether a gated pair is close enough that its measurement must not start a new track. */
  private closeToTrack(e: Edge): boolean {
    return e.d2 <= this.opts.birthSuppressChi2;
  }

  /** Whether a measurement's position lies inside a confirmed track's footprint (enlarged by 0.3 m). */
  private insideFootprint(m: Measurement): boolean {
    const mg = GROUPS[m.classification];
    for (const tr of this.list) {
      if (!tr.confirmed) continue;
      if (this.opts.separateClassGroups && GROUPS[tr.classification] !== mg) continue;
      if (insideFootprint(tr, m.x, m.y)) return true;
    }
    return false;
  }

  /** A tentative track about to be confirmed whose centre lies in a confirmed track's footprint. */
  protected duplicates(t: TrackState): boolean {
    const sep = this.opts.separateClassGroups;
    for (const tr of this.list) if (tr !== t && tr.confirmed && (!sep || GROUPS[tr.classification] === GROUPS[t.classification]) && insideFootprint(tr, t.x, t.y)) return true;
    return false;
  }

  private update(tr: TrackState, m: Measurement, e: Edge, lag: number, batch: MeasurementBatch): void {
    const o = this.opts;
    const kf = tr.kf;
    const held = m.sensorKind === 'camera' && batch.timeMs - Math.max(tr.sourceLast[0]!, tr.sourceLast[1]!) <= o.cameraPositionHoldMs;
    const positionless = e.positionless === true || held || m.bearingOnly === true;
    if (positionless) {
      // Identity and existence only (cameraPositionHoldMs, an association the fusion made outside the gate, or a
      // camera box cut by the image bottom: bearing only).
    } else if (m.velocity && m.velCov) {
      const vc: Cov2 = m.velCov;
      kf.updatePositionVelocity([e.zx, e.zy, m.velocity.x, m.velocity.y], e.r, vc);
    } else {
      kf.updatePosition(e.zx, e.zy, e.r);
    }
    const t = batch.timeMs;
    // A camera frame of the lidar's instant is not a second look in time: counted, it confirms a track (a false one
    // too) a frame earlier than the lidar alone, so the fusion reports rows the lidar's confirmation rule would not.
    if (t > tr.hitMs) {
      tr.hits++;
      tr.hitMs = t;
    }
    tr.misses = 0;
    // The output policy and the coast limit are about the position's age: an update that left it alone (a camera
    // box on a lidar track) does not make a coasting position current.
    if (t > tr.lastUpdateMs && !positionless) tr.lastUpdateMs = t;
    const ki = kindIndex(m.sensorKind);
    if (t > tr.sourceLast[ki]!) tr.sourceLast[ki] = t;
    tr.support[ki] = Number.isNaN(tr.support[ki]!) ? m.confidence : tr.support[ki]! + SUPPORT_ALPHA * (m.confidence - tr.support[ki]!);
    tr.existence = tr.existence + (1 - tr.existence) * 0.5 * m.confidence;
    // The latest detection's confidence (a track whose detector is sure now ranks above one it was sure of
    // before); a camera's confidence is another detector's scale: on a track with a box it counts through `support`.
    if (m.sensorKind !== 'camera' || !tr.sizeFromBox) tr.score = m.confidence;
    if (m.size) {
      const a = o.sizeAlpha;
      if (!tr.sizeFromBox) {
        tr.size = sizeCopy(m.size);
        tr.z = m.z;
        tr.sizeFromBox = true;
      } else {
        tr.size.length += a * (m.size.length - tr.size.length);
        tr.size.width += a * (m.size.width - tr.size.width);
        tr.size.height += a * (m.size.height - tr.size.height);
        tr.z += a * (m.z - tr.z);
      }
    }
    this.vote(tr, m);
    if (positionless) return;
    this.updateYaw(tr, m);
    this.updateAccel(tr, this.now - lag * 1000);
  }

  private vote(tr: TrackState, m: Measurement): void {
    const w = tr.classWeights;
    const d = this.opts.classDecay;
    for (let k = 0; k < w.length; k++) w[k] = w[k]! * d;
    const idx = CLASS_INDEX.get(m.classification) ?? 0;
    // 'unknown' says little about the class: a small vote.
    w[idx] = w[idx]! + (m.classification === 'unknown' ? 0.1 : 1) * Math.max(0.05, m.confidence);
    let best = 0;
    let sum = 0;
    for (let k = 0; k < w.length; k++) {
      sum += w[k]!;
      if (w[k]! > w[best]!) best = k;
    }
    const prev = tr.classification;
    tr.classification = OBJECT_CLASSES[best]!;
    tr.classConfidence = sum > 0 ? w[best]! / sum : 0;
    if (prev !== tr.classification && !tr.sizeFromBox) tr.size = sizeCopy(CLASS_SIZE_PRIORS[tr.classification]);
  }

  private updateYaw(tr: TrackState, m: Measurement): void {
    if (this.opts.headingFromBox && m.yaw !== undefined) return this.boxYaw(tr, m.yaw);
    const kf = tr.kf;
    const vx = kf.x[2]!;
    const vy = kf.x[3]!;
    const speed = hyp2(vx, vy);
    const P = kf.P;
    const vs = speedStd3(P[10]!, P[11]!, P[15]!, vx, vy);
    if (speed >= this.opts.headingMinSpeedMs && speed > 3 * vs) {
      tr.yaw = Math.atan2(vy, vx);
      tr.yawStd = yawStdFromVelocity3(P[10]!, P[11]!, P[15]!, vx, vy);
      return;
    }
    if (m.yaw === undefined) return;
    let y = m.yaw;
    if (Number.isFinite(tr.yaw)) {
      // Box yaws are ambiguous by 180°: take the one closer to the current heading, then smooth.
      if (Math.abs(wrapPi(y - tr.yaw)) > Math.PI / 2) y = wrapPi(y + Math.PI);
      tr.yaw = wrapPi(tr.yaw + 0.3 * wrapPi(y - tr.yaw));
      tr.yawStd = Math.min(tr.yawStd, 0.2);
    } else {
      tr.yaw = y;
      tr.yawStd = 0.2;
    }
  }

  /** Heading from the detector's yaw: the box direction nearer the velocity (when moving) or the current yaw. */
  private boxYaw(tr: TrackState, yaw: number): void {
    const vx = tr.kf.x[2]!;
    const vy = tr.kf.x[3]!;
    const P = tr.kf.P;
    const moving = hyp2(vx, vy) >= this.opts.headingMinSpeedMs && hyp2(vx, vy) > 3 * speedStd3(P[10]!, P[11]!, P[15]!, vx, vy);
    let y = yaw;
    if (Number.isFinite(tr.yaw) && tr.yawFromBox) {
      // Smooth modulo 180° (box yaws are ambiguous): a blend of two opposite directions would turn the box by 90°.
      if (Math.abs(wrapPi(y - tr.yaw)) > Math.PI / 2) y = wrapPi(y + Math.PI);
      y = wrapPi(tr.yaw + 0.5 * wrapPi(y - tr.yaw));
    }
    // Then the direction: along the velocity when moving, else the current heading.
    const ref = moving ? Math.atan2(vy, vx) : tr.yaw;
    if (Number.isFinite(ref) && Math.abs(wrapPi(y - ref)) > Math.PI / 2) y = wrapPi(y + Math.PI);
    tr.yaw = y;
    tr.yawStd = 0.1;
    tr.yawFromBox = true;
  }

  /** The track's process noise (by its class group). */
  noiseOf(tr: TrackState): number {
    const k = groupName(tr.classification);
    return (k && this.opts.classProcessNoise[k]) ?? this.opts.processNoise;
  }

  /** How long after its last update the track is reported (by its class group), ms. */
  reportWindowOf(tr: TrackState): number {
    const k = groupName(tr.classification);
    return (k && this.opts.classReportMaxCoastMs[k]) ?? this.opts.reportMaxCoastMs;
  }

  private updateAccel(tr: TrackState, t: number): void {
    const kf = tr.kf;
    const speed = hyp2(kf.x[2]!, kf.x[3]!);
    if (!Number.isFinite(tr.accelT)) {
      tr.accelT = t;
      tr.accelSpeed = speed;
      return;
    }
    const dtMs = t - tr.accelT;
    if (dtMs < 100) return;
    const inst = ((speed - tr.accelSpeed) / dtMs) * 1000;
    const alpha = 1 - Math.exp(-dtMs / this.opts.accelTauMs);
    tr.accel = Math.max(-15, Math.min(15, tr.accel + alpha * (inst - tr.accel)));
    tr.accelT = t;
    tr.accelSpeed = speed;
  }

  /**
   * The other kind of sensor's word on a track, 1 − w + w·support (w = cameraConfidenceWeight): the camera's for a
   * track with a lidar or radar box (its score is the box detector's), the lidar's and radar's for a camera-only
   * track inside their coverage; 1 where no other kind covered it.
   */
  private crossSupport(tr: TrackState): number {
    const w = this.opts.cameraConfidenceWeight;
    if (!(w > 0)) return 1;
    let f = 1;
    for (let k = 0; k < SOURCE_KINDS.length; k++) {
      const s = tr.support[k]!;
      if (Number.isNaN(s) || (k === 2) !== tr.sizeFromBox) continue;
      f *= 1 - w + w * s;
    }
    return f;
  }

  /** Tracks predicted to atMs (the state is not changed). Confirmed tracks only unless `all`. */
  /** Live, confirmed and ever-created tracks: what a FusionBackend reports as counts(). */
  counts(): { live: number; confirmed: number; created: number } {
    let confirmed = 0;
    for (const t of this.list) if (t.confirmed) confirmed++;
    return { live: this.list.length, confirmed, created: this.created };
  }

  estimates(atMs: number, all = false): TrackEstimate[] {
    const o = this.opts;
    const out: TrackEstimate[] = [];
    const dt = this.now > -Infinity ? (atMs - this.now) / 1000 : 0;
    for (const tr of this.list) {
      if (!tr.confirmed && !all) continue;
      const limit = tr.confirmed ? o.maxCoastMs : o.tentativeMaxCoastMs;
      if (atMs - tr.lastUpdateMs > limit) continue;
      // Output policy: prediction is for association; only recently confirmed tracks are reported.
      const report = this.reportWindowOf(tr);
      if (!all && atMs - tr.lastUpdateMs > report) continue;
      const kf = dt !== 0 && Number.isFinite(dt) ? tr.kf.clone() : tr.kf;
      if (kf !== tr.kf) kf.predict(dt, this.noiseOf(tr));
      const vx = kf.x[2]!;
      const vy = kf.x[3]!;
      const speed = hyp2(vx, vy);
      const vcov = kf.velCov();
      const sStd = speedStd(vcov, vx, vy);
      let yaw = tr.yaw;
      let yawStd = tr.yawStd;
      if (!tr.yawFromBox && speed >= o.headingMinSpeedMs && speed > 3 * sStd) {
        yaw = Math.atan2(vy, vx);
        yawStd = yawStdFromVelocity(vcov, vx, vy);
      }
      const sources: SensorKind[] = [];
      for (let k = 0; k < SOURCE_KINDS.length; k++) if (atMs - tr.sourceLast[k]! <= o.sourceWindowMs) sources.push(SOURCE_KINDS[k]!);
      const coast = Math.max(0, atMs - tr.lastUpdateMs);
      out.push({
        id: tr.id,
        confirmed: tr.confirmed,
        classification: tr.classification,
        classConfidence: tr.classConfidence,
        existence: tr.existence * Math.exp(-coast / limit),
        x: kf.x[0]!,
        y: kf.x[1]!,
        z: tr.z,
        vx,
        vy,
        speed,
        yaw,
        accel: tr.accel,
        size: sizeCopy(tr.size),
        posStdM: Math.sqrt(maxEigen(kf.posCov())),
        speedStdMs: sStd,
        yawStd: Number.isFinite(yaw) ? yawStd : Math.PI,
        sources,
        firstSeenMs: tr.firstSeenMs,
        lastUpdateMs: tr.lastUpdateMs,
        coasting: tr.misses > 0,
        confidence: tr.score * this.crossSupport(tr) * Math.exp(-coast / Math.max(1, report)),
      });
    }
    out.sort((a, b) => a.id - b.id);
    return out;
  }
}

function sizeCopy(s: { length: number; width: number; height: number }): { length: number; width: number; height: number } {
  return { length: s.length, width: s.width, height: s.height };
}

/**
 * Whether (x, y) lies in the track's footprint (its size around its yaw; a circle when the yaw is unknown),
 * enlarged by `margin`: where a second detection is a split or duplicate box of the same object.
 */
export function insideFootprint(tr: TrackState, x: number, y: number, margin = 0.3): boolean {
  const dx = x - tr.x;
  const dy = y - tr.y;
  const l = tr.size.length / 2 + margin;
  const w = tr.size.width / 2 + margin;
  if (!Number.isFinite(tr.yaw)) return dx * dx + dy * dy <= w * w;
  const c = Math.cos(tr.yaw);
  const s = Math.sin(tr.yaw);
  const a = dx * c + dy * s;
  const b = -dx * s + dy * c;
  return Math.abs(a) <= l && Math.abs(b) <= w;
}

/** Standard deviation of the speed |v| (first order), or of the velocity when nearly at rest. */
export function speedStd(c: Cov2, vx: number, vy: number): number {
  return speedStd3(c[0], c[1], c[2], vx, vy);
}

function speedStd3(c0: number, c1: number, c2: number, vx: number, vy: number): number {
  const s = hyp2(vx, vy);
  if (s < 1e-3) return Math.sqrt(maxEigen3(c0, c1, c2));
  const jx = vx / s;
  const jy = vy / s;
  return Math.sqrt(Math.max(0, jx * jx * c0 + 2 * jx * jy * c1 + jy * jy * c2));
}

/** Standard deviation of atan2(vy, vx) (first order), radians, at most π. */
export function yawStdFromVelocity(c: Cov2, vx: number, vy: number): number {
  return yawStdFromVelocity3(c[0], c[1], c[2], vx, vy);
}

function yawStdFromVelocity3(c0: number, c1: number, c2: number, vx: number, vy: number): number {
  const s2 = vx * vx + vy * vy;
  if (s2 < 1e-6) return Math.PI;
  const jx = -vy / s2;
  const jy = vx / s2;
  return Math.min(Math.PI, Math.sqrt(Math.max(0, jx * jx * c0 + 2 * jx * jy * c1 + jy * jy * c2)));
}
