// Scenario simulator: seeded traffic at the lane-map intersection, lidar and camera models producing the frames
// real sensors send, and a runner pacing them for the demo or running them flat out for evaluation. See README.md.

export { Rng, type Seed } from './rng.js';
export { SignalPlan, type Light, type LightState } from './signals.js';
export { ROAD_USER_CLASSES, type RoadUserClass, type Size, type TruthObject, type TruthTick } from './truth.js';
export { Network, CONFLICT_DISTANCE_M, type Connection, type Conflict, type CrosswalkCrossing, type Route } from './network.js';
export { DEFAULT_SPAWN, DEFAULT_START_MS, Scenario, boxCorners, inBox, timeToCover, type Rate, type ScenarioOptions, type SpawnOptions, type VehicleClass } from './scenario.js';
export { BOX_EDGES, boxCorners3d, CameraProjector, IDENTITY_POSE, rectArea, SensorFrame, type Rect, type V3 } from './projection.js';
export { CONFUSABLE, reportedClass, sensorTimeNs, TrackIds, type Observation, type SensorModel, type Visibility } from './sensor-common.js';
export { DEFAULT_LIDAR, LidarModel, visibleLength, type LidarOptions } from './lidar.js';
export { CameraModel, DEFAULT_CAMERA, type CameraOptions } from './camera.js';
export { runSimulation, sensorModelsFromConfig, type RunOptions, type RunResult, type SensorModelOptions, type SensorRunStats } from './runner.js';
