// Built-in defaults: with no config file the daemon runs the demo site: two lidars and three cameras placed as
// at the S110 intersection of the TUM Traffic testbed, read from its calibration files (see tumtraf.ts).

import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Environment variable naming the directory with the TUMTraf calibration files used by the demo sensors. */
export const CALIB_DIR_ENV = 'RSU_CALIB_DIR';
/** The S110 calibrations the package ships (deploy/calib/tumtraf-s110, with their source and licence). */
const CALIB_SUBDIR = join('deploy', 'calib', 'tumtraf-s110');

/** The first `<dir>/<rel>` that exists, for `dir` from `startDir` up to the root. */
export function findAbove(startDir: string, rel: string): string | undefined {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The demo calibration directory: $RSU_CALIB_DIR, else the package's own `deploy/calib/tumtraf-s110`, two levels
 * above this module in the source tree and three in dist/ (never a directory outside the package).
 */
export function demoCalibrationDir(): string | undefined {
  const env = process.env[CALIB_DIR_ENV];
  if (env) return resolve(env);
  const here = dirname(fileURLToPath(import.meta.url));
  return [resolve(here, '..', '..', CALIB_SUBDIR), resolve(here, '..', '..', '..', CALIB_SUBDIR)].find((d) => existsSync(d));
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

/**
 * The spool directory when the config names none: `spool` in the service's state directory ($STATE_DIRECTORY, set
 * by systemd's StateDirectory= and by the Docker image: /var/lib/rsu), which survives restarts; else a temporary
 * directory (the demo on a laptop).
 */
export function defaultSpoolDir(): string {
  const state = process.env.STATE_DIRECTORY?.split(':')[0];
  return state ? join(state, 'spool') : join(tmpdir(), 'rsu-edge', 'spool');
}
