// The perception stage's public types: what it outputs (Track), how it reports itself (PerceptionStats), and the
// seam behind which the association/fusion backend can be replaced (FusionBackend): the plain one in plain.ts,
// a learned model later.

import type { RsuConfig, SensorKind } from '../../runtime/config/types.js';
import type { DetectionFrame, ObjectClass } from '../../hw/sensors/frame.js';
import type { Georef } from './georef.js';
import type { DetectionDropReason, MeasurementOptions, SensorModel } from './measure.js';
import type { MeasurementBatch, TrackEstimate, TrackerOptions } from './tracker.js';

export type { ObjectClass, DetectionFrame, DetectedObject, Box2D, Box3D } from '../../hw/sensors/frame.js';

/** A tracked object, as the applications (RSM builder, uplink) see it. */
export interface Track {
  /** Unique within the process, never reused (the RSM builder maps ids to 1..255 itself). */
  id: number;
  classification: ObjectClass;
  /** Share of the (confidence-weighted, recency-weighted) class votes that the class got, 0..1. */
  classConfidence: number;
  /** How sure the stage is that the object exists, 0..1 (rises with detections, falls with misses and coasting). */
  existence: number;
  /** Bottom centre of the object in the local frame (east, north, up at rsu.reference), m. */
  enu: { x: number; y: number; z: number };
  /** WGS-84 position of the bottom centre: degrees, metres above the ellipsoid. */
  lat: number;
  lon: number;
  elevation: number;
  /** Velocity over the ground along the local frame's east and north axes, m/s. */
  velocity: { east: number; north: number };
  /** m/s. */
  speed: number;
  /**
   * Degrees clockwise from true north at the object's position, [0, 360): of the velocity when moving, else of
   * the lidar box (see README). Differs from atan2(east, north) of `velocity` by the meridian convergence between
   * the reference and the object (≈0.01° per km east-west at 48° latitude).
   */
  headingDeg: number;
  /** Longitudinal acceleration (rate of change of speed), m/s². */
  accel: number;
  /** Smoothed box size (lidar/radar), or the class's typical size until a box was seen, m. */
  size: { length: number; width: number; height: number };
  /** 1σ of the position (largest axis of the covariance ellipse), m. */
  posStdM: number;
  speedStdMs: number;
  /** 1σ of the heading, degrees (180 when unknown). */
  headingStdDeg: number;
  /** Kinds of sensors that updated the track within the last second (tracker.sourceWindowMs). */
  sources: SensorKind[];
  /** RSU timeline, ms. */
  firstSeenMs: number;
  lastUpdateMs: number;
  /**
   * A sensor that covers the object missed it since lastUpdateMs: the position is predicted. Tracks are reported
   * only up to perception.tracker.reportMaxCoastMs after their last update (the output policy).
   */
  coasting: boolean;
  /** Confidence that the object is real, 0..1: the latest detection's confidence, decaying while coasting. */
  confidence: number;
}

/** Why a whole frame was not used. */
export const FRAME_DROP_REASONS = [
  'bad_frame', // not a frame: no sensor id, non-finite time, objects not an array, kind differs from the config
  'unknown_sensor', // sensor id not in the config
  'disabled_sensor', // sensor configured with enabled: false
  'too_many_objects', // more than ingest.maxObjectsPerFrame
  'future', // capture time further ahead of its arrival than ingest.maxFutureMs
  'duplicate', // same time as the sensor's previous frame
  'out_of_order', // older than the sensor's previous frame, or than the last processed time minus lateToleranceMs
  'internal_error', // the backend threw (a bug): the frame is skipped, the stage goes on
] as const;
export type FrameDropReason = (typeof FRAME_DROP_REASONS)[number];

export interface TimingStats {
  /** Frames timed since the start. */
  frames: number;
  /** Mean over all frames since the start, ms. */
  meanMs: number;
  /** Over the last `timingWindow` frames, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  lastMs: number;
}

export interface SensorPerceptionStats {
  kind: SensorKind;
  frames: number;
  framesDropped: Partial<Record<FrameDropReason, number>>;
  detections: number;
  used: number;
  detectionsDropped: Partial<Record<DetectionDropReason, number>>;
  /** timeMs of the last processed frame, or null. */
  lastTimeMs: number | null;
}

export interface PerceptionStats {
  mode: string;
  /** Frames pushed, processed (measurements handed to the backend), and dropped by reason. */
  frames: { received: number; processed: number; dropped: Partial<Record<FrameDropReason, number>> };
  /**
   * Detections in processed frames; used = turned into a measurement and given to the backend; dropped by reason.
   * Detections of dropped frames are counted in `received` only.
   */
  detections: { received: number; used: number; dropped: Partial<Record<DetectionDropReason, number>> };
  /** Live = tentative + confirmed; created = tracks ever started (tentative included). */
  tracks: { live: number; confirmed: number; created: number };
  /** = tracks.confirmed (for metrics). */
  confirmedTracks: number;
  /** Time spent in push() per processed frame. */
  processing: TimingStats;
  perSensor: Record<string, SensorPerceptionStats>;
  /** Latest frame time processed (the backend's time), or null. */
  timeMs: number | null;
}

export interface PerceptionStage {
  /** Hands one frame (from the ingest, on the RSU timeline) to the stage. Never throws. */
  push(frame: DetectionFrame): void;
  /** Confirmed tracks predicted to atMs (RSU timeline), sorted by id. */
  tracks(atMs: number): Track[];
  stats(): PerceptionStats;
  /** The fusion backend's name: 'plain', or a registered one. */
  readonly mode: string;
}

/** One frame for a backend: the validated frame, its sensor and its measurements in the local frame. */
export interface FusionBatch extends MeasurementBatch {
  /** The frame as pushed (its objects in the sensor frame; measurement.objectIndex points into it). */
  frame: DetectionFrame;
  sensor: SensorModel;
}

/** What a backend is built from. */
export interface FusionContext {
  config: RsuConfig;
  georef: Georef;
  /** Every configured sensor, index = position in config.sensors. */
  sensors: SensorModel[];
  measurement: MeasurementOptions;
  tracker: TrackerOptions;
}

/**
 * The replaceable association/fusion part. The stage validates frames, converts detections, keeps time order and
 * statistics, and turns estimates into Tracks; a backend associates, fuses and tracks.
 */
export interface FusionBackend {
  readonly mode: string;
  /** One frame, in time order (or up to lateToleranceMs late). */
  process(batch: FusionBatch): void;
  /** Confirmed tracks (all when `all`) predicted to atMs, in the local frame. */
  estimates(atMs: number, all?: boolean): TrackEstimate[];
  counts(): { live: number; confirmed: number; created: number };
}

export type FusionFactory = (ctx: FusionContext) => FusionBackend;

export interface PerceptionOptions {
  /** Backend: 'plain' (default) or a mode registered with registerFusion(). */
  mode: string;
  /** Frames this much older than the latest processed frame are still applied (late); older ones dropped, ms. */
  lateToleranceMs: number;
  /** Frames timed for the p50/p99/max statistics. */
  timingWindow: number;
  measurement: Partial<MeasurementOptions>;
  tracker: Partial<TrackerOptions>;
}
