// The evaluation profile: rush-hour traffic and the detector degradation real roadside systems show, used by
// default by `npm run eval` and by the fusion model's training data (scripts/train-fusion). The simulator's own
// defaults (runtime/sim) stay as they are (the demo, the simulator's tests); this profile is what the
// perception numbers are measured on. Each value is justified in runtime/eval/README.md ("Evaluation profile").
// The values were chosen from those reasons before any evaluation ran on them and are not tuned to a result.

import type { SensorModelOptions, SpawnOptions } from '../sim/index.js';

export interface EvalProfile {
  name: string;
  spawn: Partial<SpawnOptions>;
  sensors: Pick<SensorModelOptions, 'lidar' | 'camera'>;
}

export const RUSH_HOUR_PROFILE: EvalProfile = {
  name: 'rush-hour',
  spawn: {
    vehiclesPerHour: 800,
    mix: { car: 0.7, van: 0.12, truck: 0.09, bus: 0.09 },
    cyclistsPerHour: 120,
    pedestriansPerHour: 300,
    jaywalkersPerHour: 60,
  },
  sensors: {
    lidar: {
      classPointsFactor: { pedestrian: 0.5, bicycle: 0.7 },
      confusionAtRange: 0.4,
      clutterPerFrame: 1.5,
    },
    camera: {
      height50Px: 28,
      farMiss: 0.5,
      farFromM: 60,
      clutterPerFrame: 0.6,
    },
  },
};

/** The simulator's defaults (the profile before this one: light traffic, near-ideal detectors). */
export const LIGHT_PROFILE: EvalProfile = { name: 'light', spawn: {}, sensors: {} };

export const EVAL_PROFILES: Record<string, EvalProfile> = { 'rush-hour': RUSH_HOUR_PROFILE, light: LIGHT_PROFILE };
export const DEFAULT_EVAL_PROFILE = RUSH_HOUR_PROFILE;
