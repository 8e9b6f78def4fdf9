// Configuration of the RSU daemon: one YAML file, validated at start. See types.ts for every key.

export * from './types.js';
export { configCheck, ConfigError, defaultConfig, formatIssue, loadConfig, type CheckResult, type ConfigIssue, type LoadOptions } from './load.js';
export { validateConfig, validateRuntimeSections, type RuntimeSections, type ValidateOptions, type ValidationResult } from './validate.js';
export { readPassword, redactUrl, splitUrlCredentials } from './secrets.js';
export { configChanges } from './diff.js';
export { splitHostPort as parseHostPort } from './schema.js';
export { CALIB_DIR_ENV, demoCalibrationDir } from './defaults.js';
export { loadTumtrafCalibration, loadTumtrafStationFrame, CalibrationError, type Calibration } from './tumtraf.js';
export { matrixToPose, poseToMatrix, rotationOf, sensorToLocal, type Mat3, type Mat4 } from './pose.js';
