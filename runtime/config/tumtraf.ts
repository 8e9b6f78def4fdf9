// Reads calibration files in the TUM Traffic (TUMTraf, A9 testbed) JSON layout and turns them into a sensor pose
// in the station frame (`s110_base` for the S110 files) and camera intrinsics.
//
// Lidar files carry `transformation_matrix_<sensor>_to_<base>`: a 4x4 sensor → station transform.
// Camera files carry `intrinsic_camera_matrix` (sometimes also `calibrated_intrinsic_camera_matrix`),
// `dist_coefficients`, `image_width/height`, and extrinsics as `projection_matrix` (3x4, P = K·[R|t], station →
// image) and/or `rotation_matrix` + `translation_matrix` (station → camera optical frame). The projection matrix
// is preferred: in the S110 set it is the one that is consistent with the lidars' station frame, while some
// files' rotation/translation are expressed in another frame.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { det3, inv3, mul, OPTICAL_IN_BODY, orthonormalityError, poseFrom, transpose, type Mat3 } from './pose.js';
import { errnoText } from './schema.js';
import type { CameraIntrinsics, Pose, SensorKind } from './types.js';

export interface Calibration {
  pose: Pose;
  intrinsics?: CameraIntrinsics;
  /** Where each part came from, e.g. "projection_matrix with calibrated_intrinsic_camera_matrix". */
  source: string;
  /** Doubts about the file that do not prevent using it. */
  warnings: string[];
}

export class CalibrationError extends Error {}

const TOL = 1e-3;

function isMatrix(v: unknown, rows: number, cols: number | readonly number[]): v is number[][] {
  const colsOk = (n: number) => (typeof cols === 'number' ? n === cols : cols.includes(n));
  return (
    Array.isArray(v) &&
    v.length === rows &&
    v.every((r) => Array.isArray(r) && colsOk(r.length) && r.every((x) => typeof x === 'number' && Number.isFinite(x)))
  );
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CalibrationError(`cannot read calibration file ${JSON.stringify(file)}: ${errnoText(e)}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CalibrationError(`calibration file ${JSON.stringify(file)} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A rigid 4x4 transform's rotation and translation, or an error naming the key. */
function rigid(m: number[][], key: string): { r: Mat3; t: number[] } {
  const r = m.slice(0, 3).map((row) => row.slice(0, 3));
  const e = orthonormalityError(r);
  if (e > TOL || det3(r) < 0) throw new CalibrationError(`${key} is not a rigid transform (rotation part off by ${e.toExponential(1)})`);
  return { r, t: m.slice(0, 3).map((row) => row[3]!) };
}

/** Loads one TUMTraf calibration file for a sensor of the given kind. Throws CalibrationError. */
export function loadTumtrafCalibration(file: string, kind: SensorKind): Calibration {
  const j = readJson(file);
  return kind === 'camera' ? camera(j, file) : lidarLike(j, file);
}

function lidarLike(j: Record<string, unknown>, file: string): Calibration {
  const key = Object.keys(j).find((k) => /^transformation_matrix_.+_to_.+$/.test(k) && isMatrix(j[k], 4, 4));
  if (!key) {
    const hint = 'intrinsic_camera_matrix' in j ? ' (it looks like a camera calibration)' : '';
    throw new CalibrationError(`${basename(file)} has no 4x4 transformation_matrix_<sensor>_to_<station> key${hint}`);
  }
  const { r, t } = rigid(j[key] as number[][], key);
  return { pose: poseFrom(r, t), source: key, warnings: [] };
}

function camera(j: Record<string, unknown>, file: string): Calibration {
  const name = basename(file);
  const width = j['image_width'];
  const height = j['image_height'];
  if (typeof width !== 'number' || typeof height !== 'number' || !(width > 0) || !(height > 0))
    throw new CalibrationError(`${name} has no positive image_width/image_height`);
  const kCandidates: Array<[string, Mat3]> = [];
  for (const k of ['intrinsic_camera_matrix', 'calibrated_intrinsic_camera_matrix']) {
    if (isMatrix(j[k], 3, [3, 4])) kCandidates.push([k, (j[k] as number[][]).map((row) => row.slice(0, 3))]);
  }
  if (kCandidates.length === 0) throw new CalibrationError(`${name} has no 3x3 intrinsic_camera_matrix${'transformation_matrix' in j ? '' : ' (is it a camera calibration?)'}`);
  const dist = j['dist_coefficients'];
  const distortion = Array.isArray(dist) && dist.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (dist as number[]) : [];
  const warnings: string[] = [];
  if (distortion.length === 0) warnings.push(`${name} has no dist_coefficients; assuming an undistorted image`);

  // world (station) → optical frame: x_cam = R·x + t
  let worldToCam: { r: Mat3; t: number[] } | undefined;
  let kUsed = kCandidates[0]!;
  let source: string;
  const p = j['projection_matrix'];
  const hasRt = isMatrix(j['rotation_matrix'], 3, 3) && Array.isArray(j['translation_matrix']) && (j['translation_matrix'] as unknown[]).length === 3;
  if (isMatrix(p, 3, 4)) {
    const m = p.map((row) => row.slice(0, 3));
    const p4 = p.map((row) => [row[3]!]);
    let best: { e: number; r: Mat3; t: number[]; k: [string, Mat3] } | undefined;
    for (const k of kCandidates) {
      const kInv = inv3(k[1]);
      let r = mul(kInv, m);
      let t = mul(kInv, p4).map((x) => x[0]!);
      // P is defined up to scale (including sign): normalize so that R is a proper rotation.
      const s = Math.hypot(...r[2]!) * Math.sign(det3(r));
      r = r.map((row) => row.map((v) => v / s));
      t = t.map((v) => v / s);
      const e = orthonormalityError(r);
      if (!best || e < best.e) best = { e, r, t, k };
    }
    if (!best || best.e > 1e-2)
      throw new CalibrationError(`${name}: projection_matrix is not K·[R|t] for any intrinsic matrix in the file (rotation off by ${best?.e.toExponential(1)})`);
    worldToCam = { r: best.r, t: best.t };
    kUsed = best.k;
    source = `projection_matrix with ${kUsed[0]}`;
    if (hasRt) {
      const rf = j['rotation_matrix'] as number[][];
      const diff = Math.max(...rf.flatMap((row, i) => row.map((v, c) => Math.abs(v - best.r[i]![c]!))));
      if (diff > 1e-2) warnings.push(`${name}: rotation_matrix disagrees with projection_matrix (by up to ${diff.toFixed(2)}); using projection_matrix`);
    }
  } else if (hasRt) {
    const r = j['rotation_matrix'] as number[][];
    const t = (j['translation_matrix'] as unknown[]).map(Number);
    if (orthonormalityError(r) > TOL || det3(r) < 0) throw new CalibrationError(`${name}: rotation_matrix is not a rotation`);
    if (!t.every(Number.isFinite)) throw new CalibrationError(`${name}: translation_matrix is not 3 numbers`);
    worldToCam = { r, t };
    source = 'rotation_matrix and translation_matrix';
  } else {
    throw new CalibrationError(`${name} has neither a 3x4 projection_matrix nor rotation_matrix + translation_matrix`);
  }

  const camToWorld = transpose(worldToCam.r);
  const center = mul(camToWorld, worldToCam.t.map((v) => [v])).map((x) => -x[0]!);
  const body = mul(camToWorld, transpose(OPTICAL_IN_BODY));
  const pose = poseFrom(body, center);
  const up = camToWorld[2]![2]!; // z of the optical axis in the station frame
  if (up > 0) warnings.push(`${name}: the optical axis points ${(Math.asin(up) * 180 / Math.PI).toFixed(0)}° above the horizon of the station frame; its extrinsics may be in another frame`);
  const dist0 = Math.hypot(center[0]!, center[1]!, center[2]!);
  if (dist0 > 300) warnings.push(`${name}: the camera is ${dist0.toFixed(0)} m from the station origin; its extrinsics may be in another frame`);
  const k = kUsed[1];
  return {
    pose,
    intrinsics: { width, height, fx: k[0]![0]!, fy: k[1]![1]!, cx: k[0]![2]!, cy: k[1]![2]!, distortion },
    source,
    warnings,
  };
}

/**
 * The station frame's orientation in the map frame, from a TUMTraf file's
 * `transformation_sensor_station_base_to_hd_map_origin` (rotation only: the translation is the map origin's
 * offset, which a site with its own reference position does not use). Undefined when the file has no such key.
 */
export function loadTumtrafStationFrame(file: string): Pose | undefined {
  const j = readJson(file);
  const key = 'transformation_sensor_station_base_to_hd_map_origin';
  if (!isMatrix(j[key], 4, 4)) return undefined;
  const { r } = rigid(j[key] as number[][], key);
  return poseFrom(r, [0, 0, 0]);
}
