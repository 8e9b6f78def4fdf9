// Built-in defaults: with no config file the daemon runs the demo site: two lidars and three cameras placed as
// at the S110 intersection of the TUM Traffic testbed, read from its calibration files (see tumtraf.ts).

import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Environment variable naming the directory with the TUMTraf calibration files used by the demo sensors. */
export const CALIB_DIR_ENV = 'RSU_CALIB_DIR';
const CALIB_SUBDIR = join('shared', 'perception', 'tumtraf-calib');

/** The first `<dir>/<rel>` that exists, for `dir` from `startDir` up to the root. */
export function findAbove(startDir: string, rel: string): string | undefined {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The demo calibration directory: $RSU_CALIB_DIR, else the first `shared/perception/tumtraf-calib` found in a
 * directory above this module (the repository sits beside `shared/` in the development tree).
 */
export function demoCalibrationDir(): string | undefined {
  const env = process.env[CALIB_DIR_ENV];
  return env ? resolve(env) : findAbove(dirname(fileURLToPath(import.meta.url)), CALIB_SUBDIR);
}

/** Demo sensors: id, kind, calibration file name. Poses and intrinsics come from the files. */
export const DEMO_SENSORS = [
  { id: 'lidar_north', kind: 'lidar', file: 's110_lidar_ouster_north.json' },
  { id: 'lidar_south', kind: 'lidar', file: 's110_lidar_ouster_south.json' },
  { id: 'camera_south1', kind: 'camera', file: 's110_camera_basler_south1_8mm.json' },
  { id: 'camera_south2', kind: 'camera', file: 's110_camera_basler_south2_8mm.json' },
  { id: 'camera_north', kind: 'camera', file: 's110_camera_basler_north_8mm.json' },
] as const;

/** The file whose station → map transform orients the demo's station frame in east-north-up. */
export const DEMO_STATION_FRAME_FILE = 's110_camera_basler_north_8mm.json';

/**
 * Reference position of the demo intersection: approximately the S110 site in Garching bei München. A demo
 * value, not a survey: replace it with the surveyed reference point of a real site.
 */
export const DEMO_REFERENCE = { lat: 48.2495, lon: 11.6389, elevation: 527 };

export const DEMO_SPOOL_DIR = join(tmpdir(), 'rsu-edge', 'spool');
