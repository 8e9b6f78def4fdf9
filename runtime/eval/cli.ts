// `npm run eval -- [--seeds a,b,c] [--json] [--duration S] [--configs lidar,camera,rule,onnx] [--plot FILE]`:
// held-out scenarios through each perception configuration; the metrics table, overall and per class; an SVG of
// tracks against ground truth for the first seed. With --json the last line of output is one JSON object.

import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Seed } from '../sim/index.js';
import type { Metrics, Summary } from './metrics.js';
import { renderTracksSvg } from './plot.js';
import { DEFAULT_EVAL_PROFILE, EVAL_PROFILES } from './profile.js';
import { DEFAULT_EVAL_OPTIONS, DEFAULT_EVAL_SEEDS, EVAL_CONFIGS, evaluate, TRAINING_SEEDS, type ConfigReport, type EvalConfigName, type EvalReport } from './runner.js';

const USAGE = `usage: npm run eval -- [options]
  --seeds LIST      held-out scenario seeds: 1,2,3 or 1-5 (default ${DEFAULT_EVAL_SEEDS.join(',')}; training uses seeds >= ${TRAINING_SEEDS.min})
  --duration S      simulated seconds per seed (default ${DEFAULT_EVAL_OPTIONS.durationS})
  --configs LIST    of ${EVAL_CONFIGS.join(',')} (default all)
  --json            the last line of output is one JSON object with the results
  --plot FILE       where the SVG of tracks vs ground truth (first seed) goes (default: $TMPDIR/rsu-eval/tracks-seed<N>.svg)
  --plot-config C   configuration plotted (default onnx if available, else rule)
  --plot-window S   seconds of the scenario plotted, from the start (default 30; 0: all)
  --no-plot         no plot
  --min-p P         an object counts when a sensor of the site gives it a detection probability >= P in its
                    last frame (default ${DEFAULT_EVAL_OPTIONS.coverageMinP}; 0: anything in a sensor's range and view, hidden or not)
  --profile NAME    traffic and sensor degradation: ${Object.keys(EVAL_PROFILES).join(', ')} (default ${DEFAULT_EVAL_PROFILE.name}; runtime/eval/README.md)
  --quiet           no per-class tables
`;

/** "1,2,5-7,foo" → [1, 2, 5, 6, 7, "foo"]. */
export function parseSeeds(text: string): Seed[] {
  const out: Seed[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const r = /^(\d+)-(\d+)$/.exec(part);
    if (r) {
      const a = Number(r[1]);
      const b = Number(r[2]);
      if (b < a || b - a > 10_000) throw new Error(`bad seed range ${part}`);
      for (let s = a; s <= b; s++) out.push(s);
    } else out.push(/^\d+$/.test(part) ? Number(part) : part);
  }
  if (out.length === 0) throw new Error('no seeds given');
  return out;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : (100 * v).toFixed(1));
const num = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '-' : v.toFixed(d));
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? pad(c, w[i]!) : lpad(c, w[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

const HEAD = ['', 'MOTA%', 'IDF1%', 'IDSW', 'prec%', 'recall%', 'GT', 'FP', 'FN', 'posRMSE', 'velRMSE', 'head°', 'class%'];
const row = (name: string, m: Metrics) => [name, pct(m.mota), pct(m.idf1), String(m.idsw), pct(m.precision), pct(m.recall), String(m.gt), String(m.fp), String(m.fn), num(m.posRmse), num(m.velRmse), num(m.headingErrDeg, 1), pct(m.classAcc)];

/** The figures the issue's targets are stated in. */
function targets(s: Summary) {
  return {
    posRmseLidar: s.subsets['lidar']?.posRmse ?? null,
    pedRecall50: s.subsets['within50m']?.perClass['pedestrian']?.recall ?? null,
  };
}

/** The one-line JSON: per configuration the headline figures (null where unavailable). */
export function jsonSummary(r: EvalReport): Record<string, unknown> {
  const configs: Record<string, unknown> = {};
  for (const n of ['onnx', 'rule', 'lidar', 'camera'] as const) {
    const c = r.configs[n];
    if (!c) continue;
    configs[n] = jsonConfig(c);
  }
  return { seeds: r.seeds, profile: r.options.profile.name, durationS: r.options.durationS, coverageMinP: r.options.coverageMinP, configs };
}

const r4 = (v: number | null) => (v === null ? null : Math.round(v * 1e4) / 1e4);

function jsonConfig(c: ConfigReport): Record<string, unknown> {
  const s = c.summary;
  if (!c.available || !s) return { available: false, reason: c.reason ?? 'unavailable', mota: null, idf1: null, precision: null, recall: null, posRmse: null };
  const t = targets(s);
  const perClass: Record<string, unknown> = {};
  for (const [k, m] of Object.entries(s.perClass)) perClass[k] = { gt: m.gt, mota: r4(m.mota), idf1: r4(m.idf1), precision: r4(m.precision), recall: r4(m.recall), posRmse: r4(m.posRmse) };
  return {
    mota: r4(s.mota),
    idf1: r4(s.idf1),
    precision: r4(s.precision),
    recall: r4(s.recall),
    posRmse: r4(s.posRmse),
    velRmse: r4(s.velRmse),
    headingErrDeg: r4(s.headingErrDeg),
    classAcc: r4(s.classAcc),
    idsw: s.idsw,
    gt: s.gt,
    fp: s.fp,
    fn: s.fn,
    posRmseLidar: r4(t.posRmseLidar),
    pedRecall50: r4(t.pedRecall50),
    motaOwnCoverage: r4(c.own?.mota ?? null),
    mode: c.mode,
    fallback: c.name === 'onnx' && c.mode !== 'onnx',
    perClass,
  };
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function main(argv: string[], io: CliIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') }): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: 'string' },
        duration: { type: 'string' },
        configs: { type: 'string' },
        json: { type: 'boolean' },
        plot: { type: 'string' },
        'plot-config': { type: 'string' },
        'plot-window': { type: 'string' },
        'no-plot': { type: 'boolean' },
        'min-p': { type: 'string' },
        quiet: { type: 'boolean' },
        profile: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  let seeds: Seed[];
  let configs: EvalConfigName[];
  let durationS = DEFAULT_EVAL_OPTIONS.durationS;
  let coverageMinP = DEFAULT_EVAL_OPTIONS.coverageMinP;
  let plotConfig: EvalConfigName | 'auto' | undefined = values['no-plot'] ? undefined : 'auto';
  let profile = DEFAULT_EVAL_PROFILE;
  try {
    seeds = values.seeds ? parseSeeds(values.seeds as string) : [...DEFAULT_EVAL_SEEDS];
    configs = values.configs ? (values.configs as string).split(',').map((s) => s.trim()).filter(Boolean) as EvalConfigName[] : [...EVAL_CONFIGS];
    for (const c of configs) if (!(EVAL_CONFIGS as readonly string[]).includes(c)) throw new Error(`unknown configuration ${c} (known: ${EVAL_CONFIGS.join(', ')})`);
    if (values.duration !== undefined) {
      durationS = Number(values.duration);
      if (!(durationS > 0)) throw new Error(`--duration: expected seconds > 0, got ${values.duration}`);
    }
    if (values['min-p'] !== undefined) {
      coverageMinP = Number(values['min-p']);
      if (!(coverageMinP >= 0 && coverageMinP <= 1)) throw new Error(`--min-p: expected 0..1, got ${values['min-p']}`);
    }
    if (values.profile !== undefined) {
      const p = EVAL_PROFILES[values.profile as string];
      if (!p) throw new Error(`--profile: unknown profile ${values.profile} (known: ${Object.keys(EVAL_PROFILES).join(', ')})`);
      profile = p;
    }
    if (values['plot-config'] && plotConfig) {
      const pc = values['plot-config'] as EvalConfigName;
      if (!configs.includes(pc)) throw new Error(`--plot-config ${pc} is not among the configurations evaluated`);
      plotConfig = pc;
    }
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const window = values['plot-window'] !== undefined ? Number(values['plot-window']) : 30;
  const json = Boolean(values.json);
  const log = (l: string) => (json ? io.err(l) : io.out(l));

  const report = await evaluate({ seeds, configs, durationS, coverageMinP, profile, ...(plotConfig ? { plotConfig } : {}), onProgress: (m) => io.err(m) });
  for (const w of report.warnings) io.err(`warning: ${w}`);

  const o = report.options;
  io.out(`perception evaluation: profile ${o.profile.name}, seeds ${seeds.join(',')} (held out: training uses seeds >= ${TRAINING_SEEDS.min}), ${o.durationS} s each from ${o.burnInS} s, tracks at ${o.sampleHz} Hz, match within ${o.metric.thresholdM ?? 2} m on the ground plane`);
  io.out(
    o.coverageMinP > 0
      ? `scored: objects a lidar or camera of the site covers (detection probability >= ${o.coverageMinP} in its last frame); tracks on other objects are ignored`
      : 'scored: objects within a lidar\'s range or in a camera\'s image (hidden or not); tracks on other objects are ignored',
  );
  const rows: string[][] = [];
  const extra: string[][] = [];
  for (const n of configs) {
    const c = report.configs[n]!;
    if (!c.available || !c.summary) {
      rows.push([n, ...HEAD.slice(1).map(() => '-')]);
      continue;
    }
    rows.push(row(n + (n === 'onnx' && c.mode !== 'onnx' ? '*' : ''), c.summary));
    const t = targets(c.summary);
    extra.push([n, num(t.posRmseLidar), pct(t.pedRecall50), pct(c.own?.mota), pct(c.own?.recall), num(c.processing?.meanMs, 3), num(c.processing?.p99Ms, 3)]);
  }
  io.out('');
  io.out(table(HEAD, rows));
  io.out('');
  io.out(table(['', 'posRMSE lidar-covered', 'ped recall% <=50m', 'MOTA% own coverage', 'recall% own', 'push ms mean', 'p99'], extra));
  for (const n of configs) {
    const c = report.configs[n]!;
    if (!c.available) io.out(`${n}: unavailable: ${c.reason}`);
    else if (n === 'onnx' && c.mode !== 'onnx') io.out(`onnx*: the backend ran as '${c.mode}' (the model could not be loaded): these are rule-based numbers`);
  }
  if (!values.quiet)
    for (const n of configs) {
      const c = report.configs[n]!;
      if (!c.summary) continue;
      io.out('');
      io.out(`${n}: per class (false positives filed under the track's class; 'other': classes absent from the ground truth)`);
      io.out(table(HEAD, Object.entries(c.summary.perClass).map(([k, m]) => row(k, m))));
    }
  if (report.plot) {
    const p = report.plot;
    const c = report.configs[p.config]!;
    const t0 = p.frames[0]?.t ?? 0;
    const file = resolve((values.plot as string | undefined) ?? join(tmpdir(), 'rsu-eval', `tracks-seed${p.seed}-${p.config}.svg`));
    const seedSummary = c.perSeed.find((x) => x.seed === p.seed)?.summary;
    const svg = renderTracksSvg({
      laneMap: p.laneMap,
      frames: p.frames,
      fromT: t0,
      ...(window > 0 ? { toT: t0 + window * 1000 } : {}),
      title: `seed ${p.seed}, ${p.config} (${c.mode}): tracks vs ground truth, first ${window > 0 ? `${window} s` : 'all'}`,
      notes: seedSummary ? [`whole scenario: MOTA ${pct(seedSummary.mota)} %, IDF1 ${pct(seedSummary.idf1)} %, IDSW ${seedSummary.idsw}, precision ${pct(seedSummary.precision)} %, recall ${pct(seedSummary.recall)} %, position RMSE ${num(seedSummary.posRmse)} m`] : [],
    });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, svg);
    io.out('');
    io.out(`plot: ${file}`);
  }
  log(`(${(report.wallMs / 1000).toFixed(1)} s)`);
  if (json) io.out(JSON.stringify(jsonSummary(report)));
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`eval: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
