// Plain fusion: the association/fusion backend the daemon runs until the learned model replaces it.
//
// Each sensor frame is applied at its own capture time: the tracks (which hold what every sensor saw so far)
// are predicted to that time, the frame's detections — already in the local frame (lidar/radar boxes through the
// sensor pose, camera boxes placed on the ground plane) — are gated against them by Mahalanobis distance and
// associated by global nearest neighbour (Hungarian method), and the filters are updated. Detections of the same
// object from different sensors thus meet in the same track; a detection no track claims starts a tentative one,
// which a detection of another sensor confirms as readily as one of its own.

import { Tracker, type TrackEstimate } from './tracker.js';
import type { FusionBackend, FusionBatch, FusionContext } from './types.js';

export class PlainFusion implements FusionBackend {
  readonly mode = 'plain';
  readonly tracker: Tracker;

  constructor(ctx: FusionContext) {
    this.tracker = new Tracker(ctx.tracker);
  }

  process(batch: FusionBatch): void {
    this.tracker.process(batch);
  }

  estimates(atMs: number, all = false): TrackEstimate[] {
    return this.tracker.estimates(atMs, all);
  }

  counts(): { live: number; confirmed: number; created: number } {
    return this.tracker.counts();
  }
}

export function createPlainFusion(ctx: FusionContext): FusionBackend {
  return new PlainFusion(ctx);
}
