// Simulator glue for the learned fusion: simulated frames as the perception stage receives them, and a quick
// CLEAR-MOT score (MOTA) of a perception stage against the simulator's ground truth. Used by the training-data
// generator and the comparison in scripts/train-fusion/, and by test/fusion-onnx.test.ts. The project's
// evaluation harness (runtime/eval/) is the reference; this is the fusion work's own yardstick.

import type { RsuConfig, SensorKind } from '../config/types.js';
import type { DetectionFrame, DetectionFrameInput } from '../../hw/sensors/frame.js';
import type { TruthTick } from '../sim/truth.js';
import type { Observation } from '../sim/sensor-common.js';
import { hungarian } from './hungarian.js';
import type { PerceptionStage } from './types.js';

/** A simulated frame on the RSU timeline (the demo's sensors have no clock offset). */
export function simFrame(config: RsuConfig, f: DetectionFrameInput): DetectionFrame {
  const kind: SensorKind = config.sensors.find((s) => s.id === f.sensorId)?.kind ?? 'lidar';
  const timeMs = Number(f.captureTimeNs) / 1e6;
  return { sensorId: f.sensorId, sensorKind: kind, frameNumber: f.frameNumber, sensorTimeMs: timeMs, timeMs, receivedMs: timeMs, objects: f.objects };
}

export interface MotCounts {
  /** Ground-truth objects counted (sum over evaluated instants). */
  gt: number;
  tp: number;
  fp: number;
  misses: number;
  idSwitches: number;
  /** Sum of the matched horizontal distances, m. */
  distSum: number;
  /** Matches whose track class equals the truth class. */
  classOk: number;
  instants: number;
}

export const emptyMot = (): MotCounts => ({ gt: 0, tp: 0, fp: 0, misses: 0, idSwitches: 0, distSum: 0, classOk: 0, instants: 0 });

export function mota(c: MotCounts): number {
  return c.gt > 0 ? 1 - (c.misses + c.fp + c.idSwitches) / c.gt : 0;
}

/**
 * CLEAR-MOT bookkeeping, evaluated every `periodMs`: the truth objects that some sensor had in reach within the
 * last `reachWindowMs` (the simulator's visibility lists) against the stage's confirmed tracks predicted to that
 * instant; matched by the Hungarian method on horizontal distance (track bottom centre to truth box centre) up to
 * `maxDistM`, keeping last instant's matches when still within the threshold (the CLEAR-MOT rule).
 */
export class MotScorer {
  readonly counts = emptyMot();
  private readonly lastSeen = new Map<number, number>();
  private readonly matchOf = new Map<number, number>();
  private nextEvalMs = -Infinity;
  private startMs = -Infinity;

  /** warmupMs: instants before the first tick's time + warmupMs are not scored (tracks need a few frames). */
  constructor(
    private readonly opts: { periodMs: number; maxDistM: number; reachWindowMs: number; warmupMs: number } = { periodMs: 100, maxDistM: 2, reachWindowMs: 500, warmupMs: 5000 },
  ) {}

  /** Every observation (before its frame is pushed): which truth objects are in some sensor's reach. */
  observe(obs: Observation, timeMs: number): void {
    for (const v of obs.visibility) this.lastSeen.set(v.truthId, timeMs);
  }

  /** After each frame was pushed: evaluates when an instant is due. */
  tick(stage: PerceptionStage, truth: TruthTick): void {
    const t = Number(truth.timeNs) / 1e6;
    if (this.startMs === -Infinity) this.startMs = t + this.opts.warmupMs;
    if (t < this.startMs) return;
    if (t < this.nextEvalMs) return;
    this.nextEvalMs = (this.nextEvalMs === -Infinity ? t : this.nextEvalMs) + this.opts.periodMs;
    const gts = truth.objects.filter((o) => {
      const s = this.lastSeen.get(o.id);
      return s !== undefined && t - s <= this.opts.reachWindowMs;
    });
    const tracks = stage.tracks(t);
    const c = this.counts;
    c.instants++;
    c.gt += gts.length;
    const maxD2 = this.opts.maxDistM * this.opts.maxDistM;
    const d2 = (g: number, k: number) => {
      const o = gts[g]!;
      const tr = tracks[k]!;
      const dx = o.position.x - tr.enu.x;
      const dy = o.position.y - tr.enu.y;
      return dx * dx + dy * dy;
    };
    const gUsed = new Uint8Array(gts.length);
    const tUsed = new Uint8Array(tracks.length);
    const trackIndex = new Map(tracks.map((tr, k) => [tr.id, k]));
    const match = (g: number, k: number, isNew: boolean) => {
      gUsed[g] = 1;
      tUsed[k] = 1;
      const o = gts[g]!;
      const tr = tracks[k]!;
      c.tp++;
      c.distSum += Math.sqrt(d2(g, k));
      if (tr.classification === o.class) c.classOk++;
      if (isNew) {
        const prev = this.matchOf.get(o.id);
        if (prev !== undefined && prev !== tr.id) c.idSwitches++;
        this.matchOf.set(o.id, tr.id);
      }
    };
    // Keep last instant's correspondences within the threshold.
    for (let g = 0; g < gts.length; g++) {
      const prev = this.matchOf.get(gts[g]!.id);
      const k = prev !== undefined ? trackIndex.get(prev) : undefined;
      if (k !== undefined && !tUsed[k] && d2(g, k) <= maxD2) match(g, k, false);
    }
    const gi = [...gts.keys()].filter((g) => !gUsed[g]);
    const ti = [...tracks.keys()].filter((k) => !tUsed[k]);
    if (gi.length && ti.length) {
      const cost = new Float64Array(gi.length * ti.length);
      for (let a = 0; a < gi.length; a++) for (let b = 0; b < ti.length; b++) cost[a * ti.length + b] = d2(gi[a]!, ti[b]!);
      const asg = hungarian(cost, gi.length, ti.length, { maxCost: maxD2 });
      for (let a = 0; a < gi.length; a++) {
        const b = asg.rowToCol[a]!;
        if (b >= 0) match(gi[a]!, ti[b]!, true);
      }
    }
    for (let g = 0; g < gts.length; g++) if (!gUsed[g]) c.misses++;
    for (let k = 0; k < tracks.length; k++) if (!tUsed[k]) c.fp++;
  }
}
