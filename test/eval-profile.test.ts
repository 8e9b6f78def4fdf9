// The evaluation profile (runtime/eval/profile.ts): its sensor options do what runtime/eval/README.md says
// (fewer lidar returns for pedestrians, camera far-field misses), the simulator's defaults are unchanged without
// them, and the CLI names the profile and refuses unknown ones.

import t from 'tap';
import { defaultConfig, type SensorConfig } from '../runtime/config/index.js';
import { main } from '../runtime/eval/cli.js';
import { DEFAULT_EVAL_PROFILE, EVAL_PROFILES, RUSH_HOUR_PROFILE } from '../runtime/eval/profile.js';
import { DEFAULT_EVAL_OPTIONS } from '../runtime/eval/runner.js';
import { CameraModel, LidarModel, Rng, type TruthObject } from '../runtime/sim/index.js';

const config = defaultConfig();
const sensor = (id: string): SensorConfig => config.sensors.find((s) => s.id === id)!;
const stationFrame = config.rsu.stationFrame;
const ped = (id: number, x: number, y: number): TruthObject => ({
  id,
  class: 'pedestrian',
  position: { x, y, z: 0.875 },
  velocity: { x: 0, y: 0, z: 0 },
  heading: 0,
  speed: 0,
  size: { length: 0.5, width: 0.6, height: 1.75 },
});

t.test('the rush-hour profile is the default, and is denser than the simulator defaults', async (t) => {
  t.equal(DEFAULT_EVAL_OPTIONS.profile, RUSH_HOUR_PROFILE);
  t.equal(DEFAULT_EVAL_PROFILE.name, 'rush-hour');
  t.ok((RUSH_HOUR_PROFILE.spawn.vehiclesPerHour as number) > 360 && (RUSH_HOUR_PROFILE.spawn.pedestriansPerHour as number) > 90);
  t.same(EVAL_PROFILES['light']!.sensors, {}, 'light: the simulator defaults');
});

t.test('lidar: pedestrians give fewer returns with the profile; defaults unchanged without it', async (t) => {
  const plain = new LidarModel(sensor('lidar_south'), { stationFrame, clutterPerFrame: 0 });
  const prof = new LidarModel(sensor('lidar_south'), { stationFrame, ...RUSH_HOUR_PROFILE.sensors.lidar });
  const L = plain.frame.t;
  const p = ped(1, L.x + 60, L.y + 10);
  const a = plain.observeDetailed([p], 0n, new Rng('x')).visibility[0]!;
  const b = prof.observeDetailed([p], 0n, new Rng('x')).visibility[0]!;
  t.ok(Math.abs(b.signal - a.signal * 0.5) < 1e-9, `returns ${a.signal.toFixed(1)} → ${b.signal.toFixed(1)} (× 0.5)`);
  t.ok(b.pDetect < a.pDetect, `detection probability ${a.pDetect.toFixed(2)} → ${b.pDetect.toFixed(2)}`);
});

t.test('camera: far-field misses only beyond farFromM', async (t) => {
  const plain = new CameraModel(sensor('camera_south2'), { stationFrame, clutterPerFrame: 0 });
  const prof = new CameraModel(sensor('camera_south2'), { stationFrame, clutterPerFrame: 0, farMiss: 0.5, farFromM: 60 });
  const C = plain.projector.frame.t;
  const a2 = (27.4 * Math.PI) / 180;
  const at = (r: number) => ped(2, C.x + r * Math.cos(a2), C.y + r * Math.sin(a2));
  const near0 = plain.observeDetailed([at(30)], 0n, new Rng('c')).visibility[0]!;
  const near1 = prof.observeDetailed([at(30)], 0n, new Rng('c')).visibility[0]!;
  t.equal(near1.pDetect, near0.pDetect, 'at 30 m: unchanged');
  const far0 = plain.observeDetailed([at(90)], 0n, new Rng('c')).visibility[0]!;
  const far1 = prof.observeDetailed([at(90)], 0n, new Rng('c')).visibility[0]!;
  t.ok(far1.pDetect < far0.pDetect, `at 90 m: ${far0.pDetect.toFixed(3)} → ${far1.pDetect.toFixed(3)}`);
});

t.test('CLI: --profile light runs and is named in the JSON; an unknown profile is refused', async (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--seeds', '3', '--duration', '3', '--configs', 'lidar', '--json', '--no-plot', '--quiet', '--profile', 'light'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  t.equal(code, 0);
  const j = JSON.parse(out[out.length - 1]!) as { profile: string; configs: { lidar: { mota: number } } };
  t.equal(j.profile, 'light');
  t.type(j.configs.lidar.mota, 'number');
  const bad = await main(['--profile', 'nope'], { out: () => {}, err: (l) => err.push(l) });
  t.equal(bad, 2);
  t.match(err.join('\n'), /unknown profile nope/);
});
