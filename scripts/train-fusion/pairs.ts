// Labels of a camera frame's candidate pairs, shared by gen-data.ts (simulator truth) and gen-kitti.ts (label
// files): which truth object each track follows (the majority of the decaying votes of the detections that
// updated it), and per pair the association, existence, class and placement targets (README.md, "Labels").

import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION, OUTPUT_CLASSES, PLACE_FEATURES, type PairSet } from '../../runtime/perception/fusion-features.js';
import type { Measurement } from '../../runtime/perception/measure.js';
import type { TrackState } from '../../runtime/perception/tracker.js';

export interface PairCounts {
  pairs: number;
  assocPos: number;
  nullPairs: number;
  nullPos: number;
  existPos: number;
  placed: number;
}

export const newPairCounts = (): PairCounts => ({ pairs: 0, assocPos: 0, nullPairs: 0, nullPos: 0, existPos: 0, placed: 0 });

/**
 * The training set train.py reads, written as the pairs come: features.f32, labels.i32 and place.f32 (README.md,
 * "Data"), and meta.json at the end.
 */
export class PairDataset {
  rows = 0;
  readonly counts = newPairCounts();
  private readonly files: [WriteStream, WriteStream, WriteStream];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.files = [createWriteStream(join(dir, 'features.f32')), createWriteStream(join(dir, 'labels.i32')), createWriteStream(join(dir, 'place.f32'))];
  }

  /** One camera frame's pairs: their features, labels (labelPairs) and placement targets (placeTargets). */
  add(features: Float32Array, labels: Int32Array, place: Float32Array): void {
    const [f, l, p] = this.files;
    f.write(Buffer.from(features.buffer, features.byteOffset, features.byteLength));
    l.write(Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
    p.write(Buffer.from(place.buffer, place.byteOffset, place.byteLength));
    this.rows += features.length / FEATURE_COUNT;
  }

  /** Closes the files and writes meta.json: the feature layout, the rows and counts, and `source` (seeds, ...). */
  async close(source: Record<string, unknown>): Promise<void> {
    await Promise.all(this.files.map((w) => new Promise((r) => w.end(r))));
    const meta = { rows: this.rows, featureCount: FEATURE_COUNT, featureVersion: FEATURE_VERSION, featureNames: FEATURE_NAMES, placeFeatures: PLACE_FEATURES, outputClasses: OUTPUT_CLASSES, ...source, counts: this.counts };
    writeFileSync(join(this.dir, 'meta.json'), JSON.stringify(meta, null, 2));
  }
}

/** Each track's truth object: the majority of the (decaying) votes of the detections that updated it; null: clutter. */
export class TrackVotes {
  private readonly votes = new Map<TrackState, Map<number | null, number>>();

  vote(t: TrackState, id: number | null, w: number): void {
    let v = this.votes.get(t);
    if (!v) this.votes.set(t, (v = new Map()));
    for (const [k, x] of v) v.set(k, x * 0.9);
    v.set(id, (v.get(id) ?? 0) + w);
  }

  truth(t: TrackState): number | null | undefined {
    const v = this.votes.get(t);
    if (!v) return undefined;
    let best: number | null | undefined;
    let bw = 0;
    let sum = 0;
    for (const [k, w] of v) {
      sum += w;
      if (w > bw) {
        bw = w;
        best = k;
      }
    }
    return bw > 0.5 * sum ? best : null;
  }
}

/**
 * labels.i32 rows (assoc, exist, class, has_track, seed) of a frame's pairs, given each detection's truth object
 * (by measurement index) and each track's, and the class of a truth object.
 */
export function labelPairs(set: PairSet, detTruth: ReadonlyArray<number | null>, tTruth: ReadonlyArray<number | null | undefined>, classOf: (id: number) => string | undefined, seed: number, counts: PairCounts): Int32Array {
  const tracked = new Set(tTruth.filter((x): x is number => typeof x === 'number'));
  const n = set.pairs.length;
  const lab = new Int32Array(n * 5);
  const detHasPos = new Uint8Array(detTruth.length);
  set.pairs.forEach((p, k) => {
    if (p.t < 0) return;
    const dt = detTruth[p.m];
    if (dt !== null && dt !== undefined && tTruth[p.t] === dt) {
      lab[k * 5] = 1;
      detHasPos[p.m] = 1;
    }
  });
  set.pairs.forEach((p, k) => {
    const dt = detTruth[p.m] ?? null;
    const o = k * 5;
    let cls: string | undefined;
    if (p.t < 0) {
      lab[o] = detHasPos[p.m] ? 0 : 1;
      lab[o + 1] = dt !== null && !tracked.has(dt) ? 1 : 0;
      cls = dt !== null ? classOf(dt) : undefined;
      counts.nullPairs++;
      counts.nullPos += lab[o]!;
    } else {
      const tt = tTruth[p.t];
      lab[o + 1] = typeof tt === 'number' && dt !== null ? 1 : 0;
      cls = typeof tt === 'number' ? classOf(tt) : dt !== null ? classOf(dt) : undefined;
      lab[o + 3] = 1;
      counts.assocPos += lab[o]!;
    }
    lab[o + 2] = cls ? OUTPUT_CLASSES.indexOf(cls as (typeof OUTPUT_CLASSES)[number]) : -1;
    lab[o + 4] = seed;
    counts.existPos += lab[o + 1]!;
  });
  counts.pairs += n;
  return lab;
}

/**
 * place.f32 rows: where each pair's detection's truth object is (`posOf`), relative to the detection's
 * calibration placement, along and across the camera's ray (centre `cam`); NaN for clutter.
 */
export function placeTargets(set: PairSet, ms: readonly Measurement[], cam: { x: number; y: number }, detTruth: ReadonlyArray<number | null>, posOf: (id: number) => { x: number; y: number } | undefined, counts: PairCounts): Float32Array {
  const place = new Float32Array(set.pairs.length * 2).fill(NaN);
  set.pairs.forEach((p, k) => {
    const dt = detTruth[p.m];
    const g = dt !== null && dt !== undefined ? posOf(dt) : undefined;
    if (!g) return;
    const m = ms[p.m]!;
    const az = Math.atan2(m.y - cam.y, m.x - cam.x);
    const dx = g.x - m.x;
    const dy = g.y - m.y;
    place[2 * k] = dx * Math.cos(az) + dy * Math.sin(az);
    place[2 * k + 1] = -dx * Math.sin(az) + dy * Math.cos(az);
    counts.placed++;
  });
  return place;
}
