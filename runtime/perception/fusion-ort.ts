// Loading and running the fusion model with onnxruntime-node, synchronously.
//
// The perception stage is synchronous (push() processes a frame before it returns; the daemon and evaluation rely
// on that), but onnxruntime-node's public InferenceSession API is promise-based. Its promises only wrap synchronous
// native calls in setImmediate (node_modules/onnxruntime-node/dist/backend.js: loadModel() and run() of the
// native session), so this module calls the native session directly: the same library, the same kernels, no
// event-loop hop per frame. Checked against the public API in test/fusion-onnx.test.ts. Should a future
// onnxruntime-node move that binding, loading fails and the stage falls back to rule-based fusion, saying so.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FEATURE_COUNT, OUTPUT_CLASSES } from './fusion-features.js';

const require = createRequire(import.meta.url);

/** What the model says about a batch of N pairs. */
export interface FusionScores {
  /** N association logits. */
  assoc: Float32Array;
  /** N × OUTPUT_CLASSES.length class logits. */
  cls: Float32Array;
  /** N existence logits. */
  exist: Float32Array;
  /**
   * N × 2: where the object's centre is relative to the detection's ground placement, m: along the camera's ray
   * (away from the camera positive) and across it (to the left of the ray positive).
   */
  place: Float32Array;
  /** N × 2: ln σ of those two offsets (the model's own uncertainty), m. */
  placeLogStd: Float32Array;
}

export interface FusionScorer {
  readonly name: string;
  /** Scores `n` pairs of FEATURE_COUNT features each, in one call. */
  score(features: Float32Array, n: number): FusionScores;
}

interface NativeSession {
  loadModel(path: string, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, { data: Float32Array; dims: readonly number[] }>;
  readonly inputMetadata: Array<{ name: string }>;
  readonly outputMetadata: Array<{ name: string }>;
}

export const MODEL_INPUT = 'features';
export const MODEL_OUTPUTS = ['assoc_logit', 'class_logits', 'exist_logit', 'place', 'place_logstd'] as const;

/** models/fusion.onnx: looked up from this module upwards (source tree and dist/ alike). */
export function defaultModelPath(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const p = join(dir, 'models', 'fusion.onnx');
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'fusion.onnx');
  }
}

/** The fusion model in an onnxruntime session. Throws (with the reason) when the library or the model cannot be loaded. */
export class OrtScorer implements FusionScorer {
  readonly name: string;
  private readonly session: NativeSession;
  private readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;

  constructor(readonly modelPath: string, opts: { threads?: number } = {}) {
    if (!existsSync(modelPath)) throw new Error(`model file ${modelPath} not found`);
    let binding: { binding: { InferenceSession: new () => NativeSession }; initOrt(): void };
    let common: { Tensor: OrtScorer['Tensor'] };
    try {
      binding = require('onnxruntime-node/dist/binding.js');
      common = require('onnxruntime-common');
    } catch (e) {
      throw new Error(`onnxruntime-node is not usable on ${process.platform}-${process.arch}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    binding.initOrt();
    this.Tensor = common.Tensor;
    this.session = new binding.binding.InferenceSession();
    // One thread: the frames are small (tens to a few hundred pairs), and the RSU's cores have other work.
    this.session.loadModel(modelPath, {
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      executionProviders: [{ name: 'cpu' }],
    });
    const inputs = this.session.inputMetadata.map((m) => m.name);
    const outputs = this.session.outputMetadata.map((m) => m.name);
    if (inputs.length !== 1 || inputs[0] !== MODEL_INPUT || MODEL_OUTPUTS.some((o) => !outputs.includes(o)))
      throw new Error(`model ${modelPath} has inputs [${inputs.join(', ')}] and outputs [${outputs.join(', ')}], expected [${MODEL_INPUT}] → [${MODEL_OUTPUTS.join(', ')}]`);
    this.name = `onnxruntime-node ${require('onnxruntime-node/package.json').version as string}`;
    // A first run checks the shapes and warms the session up.
    const s = this.score(new Float32Array(FEATURE_COUNT * 2), 2);
    if (s.assoc.length !== 2 || s.exist.length !== 2 || s.cls.length !== 2 * OUTPUT_CLASSES.length || s.place.length !== 4 || s.placeLogStd.length !== 4)
      throw new Error(
        `model ${modelPath} returned shapes ${s.assoc.length}/${s.cls.length}/${s.exist.length}/${s.place.length}/${s.placeLogStd.length} for 2 pairs, expected 2/${2 * OUTPUT_CLASSES.length}/2/4/4`,
      );
  }

  score(features: Float32Array, n: number): FusionScores {
    if (n === 0) return { assoc: new Float32Array(0), cls: new Float32Array(0), exist: new Float32Array(0), place: new Float32Array(0), placeLogStd: new Float32Array(0) };
    const data = features.length === n * FEATURE_COUNT ? features : features.subarray(0, n * FEATURE_COUNT);
    const out = this.session.run({ [MODEL_INPUT]: new this.Tensor('float32', data, [n, FEATURE_COUNT]) }, { assoc_logit: null, class_logits: null, exist_logit: null, place: null, place_logstd: null }, {});
    return { assoc: out['assoc_logit']!.data, cls: out['class_logits']!.data, exist: out['exist_logit']!.data, place: out['place']!.data, placeLogStd: out['place_logstd']!.data };
  }
}
