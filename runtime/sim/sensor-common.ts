// What simulated sensors share: sensor-local ids that persist while an object stays detected, frame numbers,
// capture times in the sensor's clock, and class confusion.

import type { SensorConfig } from '../config/types.js';
import type { DetectionFrameInput, ObjectClass } from '../../hw/sensors/frame.js';
import type { Rng } from './rng.js';
import type { TruthObject, TruthTick } from './truth.js';

/** Per-object outcome of one observation, for evaluation and tests. */
export interface Visibility {
  truthId: number;
  /** Distance from the sensor to the object centre, metres. */
  rangeM: number;
  /** Fraction of the object not hidden by nearer objects (and, for the lidar, inside the vertical field of view). */
  visibleFraction: number;
  /** Lidar: expected number of returns. Camera: visible 2D box height, pixels. */
  signal: number;
  /** Probability of a detection this frame. */
  pDetect: number;
  detected: boolean;
}

export interface Observation {
  frame: DetectionFrameInput;
  /** For each object of the frame, the truth id it came from; null for clutter (false positives). */
  truthIds: Array<number | null>;
  /** Every truth object within the sensor's reach (in range, in view), detected or not. */
  visibility: Visibility[];
}

export interface SensorModel {
  readonly sensor: SensorConfig;
  /** Frames per second. */
  readonly rateHz: number;
  observe(truth: TruthTick | readonly TruthObject[], timeNs: bigint, rng: Rng): DetectionFrameInput;
  observeDetailed(truth: TruthTick | readonly TruthObject[], timeNs: bigint, rng: Rng): Observation;
}

export const truthObjects = (t: TruthTick | readonly TruthObject[]): readonly TruthObject[] => ('objects' in t ? t.objects : t);

/** Sensor-local ids: stable while an object keeps being detected, a new one after `dropAfter` missed frames. */
export class TrackIds {
  private next = 1;
  private readonly live = new Map<number, { id: number; lastFrame: number }>();

  constructor(private readonly dropAfter = 3) {}

  idFor(truthId: number, frame: number): number {
    const e = this.live.get(truthId);
    if (e && frame - e.lastFrame <= this.dropAfter) {
      e.lastFrame = frame;
      return e.id;
    }
    const id = this.fresh();
    this.live.set(truthId, { id, lastFrame: frame });
    return id;
  }

  fresh(): number {
    const id = this.next;
    this.next = this.next >= 0xffffffff ? 1 : this.next + 1;
    return id;
  }

  /** Forgets objects not seen for long (keeps the map small). */
  prune(frame: number): void {
    for (const [k, e] of this.live) if (frame - e.lastFrame > this.dropAfter) this.live.delete(k);
  }
}

/** Which classes a detector mistakes for which (symmetric pairs). */
export const CONFUSABLE: Partial<Record<ObjectClass, ObjectClass>> = {
  pedestrian: 'bicycle',
  bicycle: 'pedestrian',
  car: 'van',
  van: 'car',
  bus: 'truck',
  truck: 'bus',
};

/** A class as reported: the true one, its confusable partner with probability p, 'unknown' with probability pUnknown. */
export function reportedClass(cls: ObjectClass, p: number, pUnknown: number, rng: Rng): { cls: ObjectClass; confused: boolean } {
  const x = rng.next();
  if (x < pUnknown) return { cls: 'unknown', confused: true };
  const alt = CONFUSABLE[cls];
  if (alt && x < pUnknown + p) return { cls: alt, confused: true };
  return { cls, confused: false };
}

/** Capture time as the sensor stamps it: true time plus its clock offset and reporting latency (config). */
export function sensorTimeNs(sensor: SensorConfig, timeNs: bigint): bigint {
  return timeNs + BigInt(Math.round((sensor.clockOffsetMs + sensor.latencyMs) * 1e6));
}

export const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
