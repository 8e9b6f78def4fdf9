// The evaluation runner on one short held-out scenario: frames replayed into each configuration, tracks sampled
// at 10 Hz and scored; the configurations see only their sensors; the CLI's --json last line; the SVG plot.

import t from 'tap';
import { main, parseSeeds } from '../runtime/eval/cli.js';
import { renderTracksSvg } from '../runtime/eval/plot.js';
import { configFor, isTrainingSeed, runConfiguration, simulateScenario } from '../runtime/eval/runner.js';
import { defaultConfig } from '../runtime/config/index.js';

t.test('one short scenario through lidar, camera and rule-based fusion', async (t) => {
  const sc = await simulateScenario(3, { durationS: 6 });
  t.equal(sc.ingestDrops, 0, 'the ingest accepts every simulated frame');
  t.ok(sc.samples.length >= 38 && sc.samples.length <= 41, `samples at 10 Hz from 2 s: ${sc.samples.length}`);
  const gaps = sc.samples.slice(1).map((s, i) => s.timeMs - sc.samples[i]!.timeMs);
  t.ok(gaps.every((d) => d > 60 && d < 140), 'sampling instants ~100 ms apart');
  t.ok(sc.samples.every((s) => s.lidar.size > 0), 'the lidars cover objects at every sample');

  const lidar = runConfiguration(sc, 'lidar');
  const camera = runConfiguration(sc, 'camera');
  const rule = runConfiguration(sc, 'rule', { keepFrames: true });
  t.equal(lidar.stats.perSensor['camera_south1']?.frames ?? 0, 0, 'lidar only: no camera frame processed');
  t.equal(camera.stats.perSensor['lidar_north']?.frames ?? 0, 0, 'camera only: no lidar frame processed');
  t.ok(rule.stats.perSensor['lidar_north']!.frames > 0 && rule.stats.perSensor['camera_south1']!.frames > 0, 'rule: both kinds');
  t.equal(rule.mode, 'plain');
  const [l, c, r] = [lidar, camera, rule].map((x) => x.counts.all);
  t.ok(l!.gt === r!.gt && c!.gt === r!.gt, 'every configuration is scored on the same ground truth (the site\'s coverage)');
  t.ok(r!.gt > 100, `${r!.gt} object instances scored`);
  for (const [name, k] of [['lidar', l], ['camera', c], ['rule', r]] as const) {
    t.equal(k!.tp + k!.fn, k!.gt, `${name}: TP + FN = GT`);
    t.comment(`${name}: TP ${k!.tp} FP ${k!.fp} FN ${k!.fn} IDSW ${k!.idsw}`);
  }
  t.ok(r!.tp / r!.gt > 0.85, 'rule-based fusion finds most objects');
  t.ok(c!.tp < l!.tp, 'camera only finds fewer than lidar only');
  t.ok(camera.ownCounts.all.gt < camera.counts.all.gt, 'the cameras\' own coverage is smaller than the site\'s');
  t.equal(rule.frames!.length, sc.samples.length, 'frames kept for the plot');

  const svg = renderTracksSvg({ laneMap: sc.laneMap, frames: rule.frames!, title: 'seed 3 <rule>' });
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.match(svg, /seed 3 &lt;rule&gt;/, 'title escaped');
  t.ok((svg.match(/<polyline/g) ?? []).length > sc.laneMap.lanes.length, 'lanes and paths drawn');
  t.match(svg, /<\/svg>\n$/);
});

t.test('configurations and seeds', async (t) => {
  const site = defaultConfig();
  const kinds = (n: Parameters<typeof configFor>[0]) => configFor(n, site).config.sensors.filter((s) => s.enabled).map((s) => s.kind).sort();
  t.same(kinds('lidar'), ['lidar', 'lidar']);
  t.same(kinds('camera'), ['camera', 'camera', 'camera']);
  t.same(kinds('rule'), ['camera', 'camera', 'camera', 'lidar', 'lidar']);
  t.equal(configFor('onnx', site).mode, 'onnx');
  t.ok(site.sensors.every((s) => s.enabled), 'the site config is not changed');
  t.same(parseSeeds('1,2,5-7,x'), [1, 2, 5, 6, 7, 'x']);
  t.ok(isTrainingSeed(1000) && isTrainingSeed(1999) && isTrainingSeed('train-3'));
  t.notOk(isTrainingSeed(1) || isTrainingSeed(999) || isTrainingSeed('held-out'));
});

t.test('npm run eval -- --json: the last line is the JSON summary', async (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--seeds', '4', '--duration', '4', '--configs', 'lidar,rule,onnx', '--json', '--no-plot', '--quiet'], { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(l) });
  t.equal(code, 0);
  const last = JSON.parse(out[out.length - 1]!) as { seeds: unknown[]; configs: Record<string, Record<string, unknown>> };
  t.same(last.seeds, [4]);
  for (const k of ['lidar', 'rule']) {
    for (const m of ['mota', 'idf1', 'precision', 'recall', 'posRmse']) t.type(last.configs[k]![m], 'number', `${k}.${m}`);
  }
  t.ok('onnx' in last.configs, 'onnx is reported (numbers, or unavailable with a reason)');
  const onnx = last.configs['onnx']!;
  if (onnx['available'] === false) t.type(onnx['reason'], 'string');
  else t.type(onnx['mota'], 'number');
  t.notOk('camera' in last.configs, 'only the configurations asked for');
  t.equal(await main(['--configs', 'radar'], { out: () => undefined, err: () => undefined }), 2, 'unknown configuration: usage error');
});
