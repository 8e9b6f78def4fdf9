// The learned fusion (runtime/perception/onnx.ts, models/fusion.onnx): the model loads in onnxruntime-node and
// scores a batch with the shapes the card gives and the outputs the training script recorded; the synchronous
// session agrees with onnxruntime-node's public API; a missing model falls back to rule-based fusion and says so;
// a short simulated scenario is tracked in 'onnx' mode; inference time per camera frame at 100 objects.

import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { defaultConfig } from '../runtime/config/index.js';
import { createPerception } from '../runtime/perception/index.js';
import { FEATURE_COUNT, OUTPUT_CLASSES } from '../runtime/perception/fusion-features.js';
import { OrtScorer, defaultModelPath } from '../runtime/perception/fusion-ort.js';
import { mota } from '../runtime/perception/fusion-sim.js';
import { ONNX_FALLBACK_MODE, ONNX_MODE, OnnxFusion, onnxFusionFactory } from '../runtime/perception/onnx.js';
import { runScenario, spawnFor } from '../scripts/train-fusion/run-sim.js';

const modelPath = defaultModelPath();
const ref = JSON.parse(readFileSync(modelPath.replace(/\.onnx$/, '.ref.json'), 'utf8')) as {
  features: number[][];
  assoc_logit: number[];
  class_logits: number[][];
  exist_logit: number[];
};

t.test('the model loads and scores a batch: shapes, and the outputs PyTorch gave at training', async (t) => {
  t.ok(existsSync(modelPath), `model at ${modelPath}`);
  const card = readFileSync(modelPath.replace(/fusion\.onnx$/, 'fusion.md'), 'utf8');
  const sha = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
  t.ok(card.includes(sha), `the model card names the file's SHA-256 (${sha.slice(0, 12)}…)`);
  const s = new OrtScorer(modelPath);
  const n = ref.features.length;
  const x = new Float32Array(n * FEATURE_COUNT);
  ref.features.forEach((row, i) => {
    t.equal(row.length, FEATURE_COUNT, 'reference rows have FEATURE_COUNT features');
    x.set(row, i * FEATURE_COUNT);
  });
  const out = s.score(x, n);
  t.equal(out.assoc.length, n, `assoc_logit: [${n}]`);
  t.equal(out.cls.length, n * OUTPUT_CLASSES.length, `class_logits: [${n}, ${OUTPUT_CLASSES.length}]`);
  t.equal(out.exist.length, n, `exist_logit: [${n}]`);
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    maxErr = Math.max(maxErr, Math.abs(out.assoc[i]! - ref.assoc_logit[i]!), Math.abs(out.exist[i]! - ref.exist_logit[i]!));
    for (let c = 0; c < OUTPUT_CLASSES.length; c++) maxErr = Math.max(maxErr, Math.abs(out.cls[i * OUTPUT_CLASSES.length + c]! - ref.class_logits[i]![c]!));
  }
  t.ok(maxErr < 1e-4, `onnxruntime-node matches PyTorch to ${maxErr.toExponential(1)}`);
  t.same(s.score(new Float32Array(0), 0).assoc.length, 0, 'an empty batch');
  const one = s.score(x.subarray(0, FEATURE_COUNT), 1);
  t.equal(one.assoc[0], out.assoc[0], 'a batch of one gives the same as within a batch');

  // The synchronous native session is the one the public (promise) API wraps: same results.
  const ort = await import('onnxruntime-node');
  const sess = await ort.InferenceSession.create(modelPath);
  t.same(sess.inputNames, ['features']);
  t.same([...sess.outputNames].sort(), ['assoc_logit', 'class_logits', 'exist_logit']);
  const r = await sess.run({ features: new ort.Tensor('float32', x, [n, FEATURE_COUNT]) });
  t.same(r['class_logits']!.dims, [n, OUTPUT_CLASSES.length]);
  t.same(Array.from(r['assoc_logit']!.data as Float32Array), Array.from(out.assoc), 'public API: the same association logits');
  await sess.release();
});

t.test('a missing model: rule-based fusion, said once in the log and in the mode', async (t) => {
  const warnings: string[] = [];
  const stage = createPerception(defaultConfig(), { backend: onnxFusionFactory({ modelPath: '/nonexistent/fusion.onnx', logger: { warn: (m) => warnings.push(m) } }) });
  t.equal(stage.mode, ONNX_FALLBACK_MODE);
  t.equal(stage.stats().mode, ONNX_FALLBACK_MODE, 'stats() says so');
  t.equal(warnings.length, 1, 'one warning');
  t.match(warnings[0], /not found.*rule-based/);
  // It keeps running and tracks like 'plain'.
  const plain = await runScenario({ seed: 5, durationS: 10, perception: { mode: 'plain' } });
  const fb = await runScenario({ seed: 5, durationS: 10, perception: { backend: onnxFusionFactory({ modelPath: '/nonexistent/fusion.onnx', logger: { warn: () => {} } }) } });
  t.equal(fb.stage.mode, ONNX_FALLBACK_MODE);
  t.same(fb.mot.counts, plain.mot.counts, 'the same tracking as plain fusion');
  t.ok(fb.stage.stats().tracks.confirmed > 0, 'tracks confirmed');
  // A corrupt model file is a fallback too.
  const bad = new OnnxFusion(
    { config: defaultConfig(), georef: undefined as never, sensors: [], measurement: undefined as never, tracker: {} as never },
    { modelPath: new URL(import.meta.url).pathname, logger: { warn: () => {} } },
  );
  t.equal(bad.mode, ONNX_FALLBACK_MODE, 'an unreadable model file: fallback');
  t.ok(bad.fallbackReason, `reason: ${bad.fallbackReason?.slice(0, 80)}`);
});

t.test("'onnx' mode tracks a simulated scenario (held-out seed)", async (t) => {
  const r = await runScenario({ seed: 7, durationS: 30, perception: { mode: 'onnx' } });
  const st = r.stage.stats();
  t.equal(st.mode, ONNX_MODE);
  t.equal(st.frames.dropped.internal_error ?? 0, 0, 'no backend error');
  t.ok(st.tracks.confirmed > 5, `${st.tracks.confirmed} confirmed tracks`);
  const m = mota(r.mot.counts);
  t.ok(m > 0.8, `MOTA ${m.toFixed(3)} (gt ${r.mot.counts.gt}, misses ${r.mot.counts.misses}, fp ${r.mot.counts.fp}, id switches ${r.mot.counts.idSwitches})`);
  const tracks = r.stage.tracks(st.timeMs!);
  t.ok(tracks.some((tr) => tr.sources.includes('camera') && tr.sources.includes('lidar')), 'some tracks fuse camera and lidar');
});

t.test('inference time per camera frame at about 100 road users', async (t) => {
  let backend: OnnxFusion | undefined;
  const r = await runScenario({
    seed: 11,
    durationS: 20,
    spawn: spawnFor(2),
    perception: {
      backend: (ctx) => (backend = new OnnxFusion(ctx)),
    },
  });
  const st = r.stage.stats();
  const b = backend!.stats();
  const live = st.tracks.live;
  t.ok(b.cameraFrames > 100, `${b.cameraFrames} camera frames, ${(b.pairs / b.cameraFrames).toFixed(0)} pairs each, ${live} live tracks at the end`);
  t.comment(`model part per camera frame: mean ${b.meanModelMs.toFixed(3)} ms; push() per frame mean ${st.processing.meanMs.toFixed(3)} ms, p99 ${st.processing.p99Ms.toFixed(3)} ms`);
  t.ok(b.meanModelMs < 2, 'well within 2 ms per frame');
});
