// Perception: detections of all sensors → georeferenced tracks. See README.md.

export * from './types.js';
export { createPerception, registerFusion, fusionModes, DEFAULT_PERCEPTION_OPTIONS, type CreatePerceptionOptions, type PerceptionLogger } from './stage.js';
export { PlainFusion, createPlainFusion } from './plain.js';
export {
  Tracker,
  TrackState,
  DEFAULT_TRACKER_OPTIONS,
  allocateTrackId,
  speedStd,
  yawStdFromVelocity,
  type TrackerOptions,
  type TrackEstimate,
  type MeasurementBatch,
  type StepResult,
} from './tracker.js';
export { CvKalman, maxEigen, type Cov2, type Innovation } from './kalman.js';
export { hungarian, type Assignment, type HungarianOptions } from './hungarian.js';
export { CameraModel, type Pixel, type GroundPlacement, type GroundResult, type GroundRejection } from './camera.js';
export {
  SensorModel,
  buildSensorModels,
  toMeasurements,
  CLASS_SIZE_PRIORS,
  DEFAULT_MEASUREMENT_OPTIONS,
  DETECTION_DROP_REASONS,
  type DetectionDropReason,
  type Measurement,
  type MeasurementOptions,
  type ConvertResult,
} from './measure.js';
export {
  Georef,
  EnuFrame,
  RigidTransform,
  WGS84,
  GRS80,
  geodeticToEcef,
  ecefToGeodetic,
  enuRotation,
  yawToHeadingDeg,
  headingDegToYaw,
  normalizeLon,
  normalizeDeg360,
  wrapPi,
  type Ellipsoid,
  type Ecef,
  type Vec3,
} from './georef.js';
export { lidarDetection, cameraDetection, synthFrame, seededRandom, gaussian, type GroundTruthObject, type SynthOptions } from './synth.js';
