// A roadside camera with a 2D object detector behind it: what it reports as a DetectionFrameInput.
//
// Model (per object, per frame): the 8 corners of the 3D box projected with the camera's intrinsics, lens
// distortion and extrinsics (the config's pose and intrinsics); the 2D box is the bounding box of the projected
// corners clipped to the image. Occlusion: the share of the box covered by the boxes of nearer objects.
// Detection probability rises with the visible box height in pixels (50 % at `height50Px`) and falls for objects
// mostly hidden or mostly outside the image. Pixel noise on every edge, class confusion for small objects,
// confidence, clutter.

import type { Pose, SensorConfig } from '../config/types.js';
import type { DetectedObject, DetectionFrameInput, ObjectClass } from '../../hw/sensors/frame.js';
import { boxCorners3d, CameraProjector, rectArea, type Rect } from './projection.js';
import type { Rng } from './rng.js';
import { clamp, reportedClass, sensorTimeNs, TrackIds, truthObjects, type Observation, type SensorModel, type Visibility } from './sensor-common.js';
import type { TruthObject, TruthTick } from './truth.js';

export interface CameraOptions {
  /** Pose of the station frame in local ENU (config rsu.stationFrame). Default identity. */
  stationFrame?: Pose;
  rateHz: number;
  /** Objects further than this are ignored, metres (at most the sensor's maxRangeM). */
  rangeM: number;
  /** Visible box height at which the detection probability is half of pMax, pixels. */
  height50Px: number;
  pMax: number;
  occlusion: boolean;
  /** Edge noise sd = pixelSd0 + pixelSdRel × box size, pixels. */
  pixelSd0: number;
  pixelSdRel: number;
  /** Class confusion: confusion0 + confusionSmall × exp(-height / 25 px). */
  confusion0: number;
  confusionSmall: number;
  clutterPerFrame: number;
  dropAfterFrames: number;
  /**
   * Far-field misses beyond the box-height law (blur, compression, low contrast at distance): the detection
   * probability is multiplied by 1 − farMiss × clamp((range − farFromM) / (rangeM − farFromM), 0, 1). Default 0.
   */
  farMiss?: number;
  farFromM?: number;
}

export const DEFAULT_CAMERA: CameraOptions = {
  rateHz: 15,
  rangeM: 200,
  height50Px: 20,
  pMax: 0.97,
  occlusion: true,
  pixelSd0: 1.5,
  pixelSdRel: 0.03,
  confusion0: 0.02,
  confusionSmall: 0.3,
  clutterPerFrame: 0.2,
  dropAfterFrames: 5,
};

const GRID = 6;

export class CameraModel implements SensorModel {
  readonly opts: CameraOptions;
  readonly projector: CameraProjector;
  readonly rateHz: number;
  private frameNumber = 0;
  private readonly ids: TrackIds;

  constructor(
    readonly sensor: SensorConfig,
    opts: Partial<CameraOptions> = {},
  ) {
    if (!sensor.intrinsics) throw new Error(`camera ${sensor.id} has no intrinsics`);
    this.opts = { ...DEFAULT_CAMERA, ...opts };
    this.opts.rangeM = Math.min(this.opts.rangeM, sensor.maxRangeM);
    this.rateHz = this.opts.rateHz;
    this.projector = new CameraProjector(sensor.pose, sensor.intrinsics, opts.stationFrame);
    this.ids = new TrackIds(this.opts.dropAfterFrames);
  }

  get width(): number {
    return this.projector.k.width;
  }

  get height(): number {
    return this.projector.k.height;
  }

  /** The noise-free 2D box of a truth object (clipped to the image), or undefined when it is not in the image. */
  truthBox(o: TruthObject): Rect | undefined {
    const full = this.projector.projectBox(boxCorners3d(o.position, o.heading, o.size.length, o.size.width, o.size.height));
    if (!full) return undefined;
    const clip = this.projector.clipToImage(full);
    return rectArea(clip) > 0 ? clip : undefined;
  }

  observe(truth: TruthTick | readonly TruthObject[], timeNs: bigint, rng: Rng): DetectionFrameInput {
    return this.observeDetailed(truth, timeNs, rng).frame;
  }

  observeDetailed(truth: TruthTick | readonly TruthObject[], timeNs: bigint, rng: Rng): Observation {
    const op = this.opts;
    const fn = this.frameNumber++;
    const W = this.width;
    const H = this.height;
    const cam = this.projector.frame.t;
    const inView: Array<{ o: TruthObject; full: Rect; clip: Rect; depth: number }> = [];
    for (const o of truthObjects(truth)) {
      const depth = Math.hypot(o.position.x - cam.x, o.position.y - cam.y, o.position.z - cam.z);
      if (depth > op.rangeM) continue;
      const full = this.projector.projectBox(boxCorners3d(o.position, o.heading, o.size.length, o.size.width, o.size.height));
      if (!full) continue;
      const clip = this.projector.clipToImage(full);
      if (rectArea(clip) <= 0) continue;
      inView.push({ o, full, clip, depth });
    }
    const objects: DetectedObject[] = [];
    const truthIds: Array<number | null> = [];
    const visibility: Visibility[] = [];
    for (const e of inView) {
      // Occlusion: share of grid points of the box inside the (slightly shrunk) boxes of nearer objects.
      let covered = 0;
      if (op.occlusion) {
        const nearer = inView
          .filter((f) => f !== e && f.depth < e.depth)
          .map((f) => shrink(f.clip, 0.1))
          .filter((r) => r.x1 > e.clip.x0 && r.x0 < e.clip.x1 && r.y1 > e.clip.y0 && r.y0 < e.clip.y1);
        if (nearer.length)
          for (let i = 0; i < GRID; i++)
            for (let j = 0; j < GRID; j++) {
              const x = e.clip.x0 + ((i + 0.5) / GRID) * (e.clip.x1 - e.clip.x0);
              const y = e.clip.y0 + ((j + 0.5) / GRID) * (e.clip.y1 - e.clip.y0);
              if (nearer.some((r) => x >= r.x0 && x <= r.x1 && y >= r.y0 && y <= r.y1)) covered++;
            }
      }
      const visibleFraction = 1 - covered / (GRID * GRID);
      const truncation = rectArea(e.clip) / Math.max(1e-9, rectArea(e.full));
      const hPx = e.clip.y1 - e.clip.y0;
      const visH = hPx * Math.sqrt(visibleFraction);
      let p = op.pMax / (1 + Math.exp(-(visH - op.height50Px) / 4));
      if (visibleFraction < 0.3) p *= visibleFraction / 0.3;
      if (truncation < 0.4) p *= truncation / 0.4;
      if (op.farMiss && op.farMiss > 0) {
        const from = op.farFromM ?? 0;
        p *= 1 - op.farMiss * clamp((e.depth - from) / Math.max(1, op.rangeM - from), 0, 1);
      }
      const detected = rng.next() < p;
      visibility.push({ truthId: e.o.id, rangeM: e.depth, visibleFraction, signal: visH, pDetect: p, detected });
      if (!detected) continue;
      const size = Math.max(e.clip.x1 - e.clip.x0, hPx);
      const sd = (op.pixelSd0 + op.pixelSdRel * size) * (1 + (1 - visibleFraction));
      const r = {
        x0: clamp(e.clip.x0 + rng.normal(0, sd), 0, W - 1),
        y0: clamp(e.clip.y0 + rng.normal(0, sd), 0, H - 1),
        x1: clamp(e.clip.x1 + rng.normal(0, sd), 1, W),
        y1: clamp(e.clip.y1 + rng.normal(0, sd), 1, H),
      };
      if (r.x1 - r.x0 < 1) r.x1 = Math.min(W, r.x0 + 1);
      if (r.y1 - r.y0 < 1) r.y1 = Math.min(H, r.y0 + 1);
      const { cls, confused } = reportedClass(e.o.class as ObjectClass, op.confusion0 + op.confusionSmall * Math.exp(-visH / 25), 0.03 * Math.exp(-visH / 25), rng);
      const conf = clamp((0.35 + 0.6 * (1 - Math.exp(-visH / 40)) * Math.sqrt(visibleFraction)) * (confused ? 0.8 : 1) + rng.normal(0, 0.04), 0.05, 0.99);
      objects.push({
        id: this.ids.idFor(e.o.id, fn),
        classification: cls,
        confidence: Math.round(conf * 1000) / 1000,
        box2d: { x: round1(r.x0), y: round1(r.y0), width: round1(r.x1 - r.x0), height: round1(r.y1 - r.y0) },
      });
      truthIds.push(e.o.id);
    }
    const nClutter = rng.poisson(op.clutterPerFrame);
    for (let i = 0; i < nClutter; i++) {
      const w = rng.uniform(15, 90);
      const h = rng.uniform(25, 140);
      const x = rng.uniform(0, W - w);
      const y = rng.uniform(H * 0.3, H - h);
      const cls: ObjectClass = rng.weighted([['car', 0.4], ['pedestrian', 0.3], ['unknown', 0.3]] as const);
      objects.push({ id: this.ids.fresh(), classification: cls, confidence: Math.round(rng.uniform(0.1, 0.4) * 1000) / 1000, box2d: { x: round1(x), y: round1(y), width: round1(w), height: round1(h) } });
      truthIds.push(null);
    }
    this.ids.prune(fn);
    return {
      frame: { sensorId: this.sensor.id, captureTimeNs: sensorTimeNs(this.sensor, timeNs), frameNumber: fn, objects },
      truthIds,
      visibility,
    };
  }
}

function shrink(r: Rect, f: number): Rect {
  const dx = (r.x1 - r.x0) * f;
  const dy = (r.y1 - r.y0) * f;
  return { x0: r.x0 + dx, y0: r.y0 + dy, x1: r.x1 - dx, y1: r.y1 - dy };
}

const round1 = (v: number) => Math.round(v * 10) / 10;
