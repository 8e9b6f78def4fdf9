// The TUMTraf S110 calibrations (deploy/calib/tumtraf-s110) load, and the converted poses reproduce
// the files' own matrices: lidar → station transforms, and camera projection matrices up to scale.

import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CalibrationError,
  demoCalibrationDir,
  loadTumtrafCalibration,
  loadTumtrafStationFrame,
  poseToMatrix,
  type CameraIntrinsics,
  type Pose,
} from '../runtime/config/index.js';
import { mul, OPTICAL_IN_BODY, rotationOf, transpose } from '../runtime/config/pose.js';

const dir = demoCalibrationDir();
if (!dir) {
  t.fail('TUMTraf calibration directory not found (deploy/calib/tumtraf-s110 or $RSU_CALIB_DIR)');
  process.exit(1);
}
const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));

/** K·[R|t] of a camera pose (body frame) and intrinsics: station point → image. */
function projection(pose: Pose, k: CameraIntrinsics): number[][] {
  const rWorldOptical = mul(rotationOf(pose), OPTICAL_IN_BODY);
  const r = transpose(rWorldOptical);
  const t = mul(r, [[pose.x], [pose.y], [pose.z]]).map((x) => -x[0]!);
  const K = [
    [k.fx, 0, k.cx],
    [0, k.fy, k.cy],
    [0, 0, 1],
  ];
  return mul(K, r.map((row, i) => [...row, t[i]!]));
}

t.test('every calibration file of the set loads as its kind', async (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 6);
  for (const f of files) {
    const kind = f.includes('lidar') ? 'lidar' : 'camera';
    const c = loadTumtrafCalibration(join(dir, f), kind);
    t.ok(Object.values(c.pose).every(Number.isFinite), `${f}: pose`);
    if (kind === 'camera') t.ok(c.intrinsics!.fx > 0 && c.intrinsics!.width === 1920 && c.intrinsics!.height === 1200, `${f}: intrinsics`);
  }
});

t.test('lidar poses reproduce the files\' sensor → station transforms', async (t) => {
  for (const name of ['s110_lidar_ouster_north', 's110_lidar_ouster_south']) {
    const file = `${name}.json`;
    const m = read(file)[`transformation_matrix_${name}_to_s110_base`] as number[][];
    const c = loadTumtrafCalibration(join(dir, file), 'lidar');
    t.ok(maxDiff(poseToMatrix(c.pose), m) < 1e-6, `${name}: pose → matrix equals the file's matrix`);
    t.ok(c.pose.z > 5 && c.pose.z < 10, `${name}: mounted ${c.pose.z.toFixed(2)} m above the station origin`);
    t.same(c.warnings, []);
  }
});

t.test('camera poses and intrinsics reproduce the files\' projection matrices', async (t) => {
  for (const name of ['s110_camera_basler_south1_8mm', 's110_camera_basler_south2_8mm', 's110_camera_basler_north_8mm']) {
    const file = `${name}.json`;
    const p = read(file)['projection_matrix'] as number[][];
    const c = loadTumtrafCalibration(join(dir, file), 'camera');
    const q = projection(c.pose, c.intrinsics!);
    const scale = Math.hypot(...p[2]!.slice(0, 3)) / Math.hypot(...q[2]!.slice(0, 3)) * Math.sign(p[2]![0]! / q[2]![0]!);
    const rel = maxDiff(q.map((row) => row.map((v) => v * scale)), p) / Math.max(...p.flat().map(Math.abs));
    t.ok(rel < 1e-6, `${name}: K[R|t] from the pose equals projection_matrix (relative error ${rel.toExponential(1)})`);
    t.equal(c.source.startsWith('projection_matrix'), true);
  }
});

t.test('the south cameras look down at the road; doubts about other files are warnings', async (t) => {
  for (const name of ['s110_camera_basler_south1_8mm', 's110_camera_basler_south2_8mm']) {
    const c = loadTumtrafCalibration(join(dir, `${name}.json`), 'camera');
    t.ok(c.pose.pitch > 10 && c.pose.pitch < 80, `${name}: pitched down ${c.pose.pitch.toFixed(1)}°`);
    t.ok(c.pose.z > 4 && c.pose.z < 12, `${name}: ${c.pose.z.toFixed(1)} m high`);
    t.same(c.warnings, []);
  }
  // north: its rotation_matrix is in another frame than its projection matrix, which itself looks upward.
  const north = loadTumtrafCalibration(join(dir, 's110_camera_basler_north_8mm.json'), 'camera');
  t.match(north.warnings, [/rotation_matrix disagrees with projection_matrix/, /optical axis points \d+° above the horizon/]);
  // east: no projection matrix; rotation/translation put the camera far from the station.
  const east = loadTumtrafCalibration(join(dir, 's110_camera_basler_east_8mm.json'), 'camera');
  t.equal(east.source, 'rotation_matrix and translation_matrix');
  t.ok(east.warnings.some((w) => /the camera is \d+ m from the station origin/.test(w)), east.warnings.join('; '));
});

t.test('south2 uses the intrinsic matrix its projection matrix was made with', async (t) => {
  const j = read('s110_camera_basler_south2_8mm.json');
  const c = loadTumtrafCalibration(join(dir, 's110_camera_basler_south2_8mm.json'), 'camera');
  t.equal(c.source, 'projection_matrix with calibrated_intrinsic_camera_matrix');
  t.equal(c.intrinsics!.fx, (j['calibrated_intrinsic_camera_matrix'] as number[][])[0]![0]);
  t.same(c.intrinsics!.distortion, j['dist_coefficients']);
});

t.test('the station frame orientation comes from the station → map transform', async (t) => {
  const f = loadTumtrafStationFrame(join(dir, 's110_camera_basler_north_8mm.json'))!;
  const m = read('s110_camera_basler_north_8mm.json')['transformation_sensor_station_base_to_hd_map_origin'] as number[][];
  t.ok(maxDiff(rotationOf(f), m.slice(0, 3).map((r) => r.slice(0, 3))) < 1e-9);
  t.same([f.x, f.y, f.z], [0, 0, 0], 'translation not used');
  t.equal(loadTumtrafStationFrame(join(dir, 's110_lidar_ouster_north.json')), undefined);
});

t.test('a file of the wrong kind or shape is a CalibrationError', async (t) => {
  t.throws(() => loadTumtrafCalibration(join(dir, 's110_camera_basler_south1_8mm.json'), 'lidar'), {
    constructor: CalibrationError,
    message: /has no 4x4 transformation_matrix_<sensor>_to_<station> key \(it looks like a camera calibration\)/,
  });
  t.throws(() => loadTumtrafCalibration(join(dir, 's110_lidar_ouster_north.json'), 'camera'), { constructor: CalibrationError, message: /image_width/ });
  t.throws(() => loadTumtrafCalibration(join(dir, 'LICENSE'), 'lidar'), { constructor: CalibrationError, message: /is not valid JSON/ });
});
