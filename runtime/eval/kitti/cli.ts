// `npm run eval:kitti -- --data DIR [--ab3dmot DIR]`: our tracker and AB3DMOT on the same KITTI tracking
// detections, both frames, scored by AB3DMOT's KITTI 3D MOT evaluation (scripts/KITTI/evaluate.py of a local
// AB3DMOT checkout, run with /usr/bin/python3; nothing of it is in this repository). See docs/eval/KITTI.md.
// Development split only: the held-out sequences are refused unless --allow-held-out is given.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { TrackerConfig } from '../../config/index.js';
import { DEV_SEQUENCES, HELD_OUT_SEQUENCES, loadSequence, type Sequence } from './data.js';
import { parsePrSummary, renderPrSvg } from './pr.js';
import { neesTable, proxyScore, readLabelRows, readLabels, type NeesRow, type ProxyScore } from './proxy.js';
import { baselineToCamera, runOurs, writeBaselineInput, type FrameMode, type OursOptions, type Placement } from './run.js';

const USAGE = `usage: npm run eval:kitti -- --data DIR [options]
  --data DIR          KITTI tracking data (layout: docs/eval/KITTI.md)
  --ab3dmot DIR       a checkout of xinshuoweng/AB3DMOT (its evaluate.py scores; its tracker is the baseline)
  --pythonpath LIST   extra PYTHONPATH for AB3DMOT (filterpy, shims; docs/eval/KITTI.md)
  --seqs LIST         sequences (default the development split ${DEV_SEQUENCES.join(',')})
  --frames LIST       world,sensor (default both; world needs DIR/poses)
  --iou LIST          3D IoU thresholds (default 0.5,0.25)
  --trackers LIST     ours,ab3dmot (default both)
  --tracker JSON      perception.tracker settings for ours, e.g. '{"reportMaxCoastMs":200}'
  --fusion MODE       ours with: lidar (one lidar, default), plain or onnx (the lidar and the P2 camera's RRC
                      boxes, rule-based or learned fusion; sensor frame only)
  --camera JSON       extra settings of the camera sensor, e.g. '{"groundFromLidar":true,"groundStdM":0.2}'
  --model FILE        fusion model for --fusion onnx (default models/fusion.onnx)
  --proxy             no evaluate.py: a quick CLEAR MOT stand-in by range, and the camera placements' NEES (tuning)
  --work DIR          where results and scores go (default $TMPDIR/rsu-eval-kitti)
  --jobs N            scorer processes at once (default 2)
  --json              the last line of output is one JSON object
`;

export interface ScoreRow {
  tracker: string;
  frame: FrameMode;
  iou: number;
  cls: string;
  mota: number;
  samota: number;
  motp: number;
  ids: number;
  frag: number;
  fp: number;
  fn: number;
}

/** Parses evaluate.py's output: per class the best-threshold block and the sAMOTA line. */
export function parseEvaluateOutput(text: string): Array<Omit<ScoreRow, 'tracker' | 'frame' | 'iou'>> {
  const out: Array<Omit<ScoreRow, 'tracker' | 'frame' | 'iou'>> = [];
  const parts = text.split(/Evaluate Object Class: /).slice(1);
  for (const p of parts) {
    const cls = p.slice(0, p.indexOf('\n')).trim().toLowerCase();
    const best = p.slice(p.indexOf('evaluation: best results with single threshold'));
    const field = (name: string): number => {
      const m = new RegExp(`^${name.replace(/[()]/g, '\\$&')}\\s+(-?[0-9.]+)`, 'm').exec(best);
      if (!m) throw new Error(`evaluate.py output for ${cls}: no "${name}"`);
      return Number(m[1]);
    };
    const sa = /sAMOTA\s+AMOTA\s+AMOTP\s*\n\s*(-?[0-9.]+)/.exec(p);
    if (!sa) throw new Error(`evaluate.py output for ${cls}: no sAMOTA line`);
    out.push({
      cls,
      mota: field('Multiple Object Tracking Accuracy (MOTA)'),
      motp: field('Multiple Object Tracking Precision (MOTP)'),
      ids: field('ID-switches'),
      frag: field('Fragmentations'),
      fp: field('False Positives'),
      fn: field('False Negatives'),
      samota: Number(sa[1]),
    });
  }
  return out;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? -1, out }));
  });
}

async function pool<T>(n: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, n) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

export function checkSequences(seqs: string[], allowHeldOut: boolean): void {
  const held = seqs.filter((s) => (HELD_OUT_SEQUENCES as readonly string[]).includes(s));
  if (held.length && !allowHeldOut)
    throw new Error(`sequences ${held.join(', ')} are held out for an independent evaluation (issue 13): they are not run, tuned or reported on here (--allow-held-out overrides)`);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      ab3dmot: { type: 'string' },
      pythonpath: { type: 'string' },
      seqs: { type: 'string' },
      frames: { type: 'string' },
      iou: { type: 'string' },
      trackers: { type: 'string' },
      tracker: { type: 'string' },
      fusion: { type: 'string' },
      camera: { type: 'string' },
      model: { type: 'string' },
      proxy: { type: 'boolean' },
      work: { type: 'string' },
      jobs: { type: 'string' },
      json: { type: 'boolean' },
      'allow-held-out': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const data = values.data ? resolve(values.data) : undefined;
  if (!data || !existsSync(data)) {
    process.stdout.write(`eval:kitti skipped: ${data ? `${data} does not exist` : 'no --data DIR given'} (KITTI tracking data; see docs/eval/KITTI.md)\n`);
    return 0;
  }
  const seqs = values.seqs ? values.seqs.split(',').map((s) => s.trim().padStart(4, '0')) : [...DEV_SEQUENCES];
  checkSequences(seqs, values['allow-held-out'] === true);
  const frames = (values.frames ?? 'world,sensor').split(',').map((s) => s.trim()) as FrameMode[];
  for (const f of frames) if (f !== 'world' && f !== 'sensor') throw new Error(`--frames: unknown frame ${f}`);
  const ious = (values.iou ?? '0.5,0.25').split(',').map(Number);
  const trackers = (values.trackers ?? 'ours,ab3dmot').split(',').map((s) => s.trim());
  const trackerCfg = values.tracker ? (JSON.parse(values.tracker) as TrackerConfig) : {};
  const fusion = (values.fusion ?? 'lidar') as NonNullable<OursOptions['fusion']>;
  if (!['lidar', 'plain', 'onnx'].includes(fusion)) throw new Error(`--fusion: expected lidar, plain or onnx, got ${fusion}`);
  if (fusion !== 'lidar' && frames.includes('world')) throw new Error('--fusion plain|onnx runs in the sensor frame only: give --frames sensor');
  const ours: OursOptions = {
    tracker: trackerCfg,
    fusion,
    camera: values.camera ? (JSON.parse(values.camera) as Record<string, unknown>) : undefined,
    model: values.model ? resolve(values.model) : undefined,
  };
  const work = resolve(values.work ?? join(tmpdir(), 'rsu-eval-kitti'));
  const jobs = Number(values.jobs ?? 2);
  const ab3dmot = values.ab3dmot ? resolve(values.ab3dmot) : undefined;
  const evaluatePy = ab3dmot ? join(ab3dmot, 'scripts', 'KITTI', 'evaluate.py') : undefined;
  if (!evaluatePy || !existsSync(evaluatePy)) {
    process.stdout.write(`eval:kitti: scoring needs AB3DMOT's evaluate.py: ${ab3dmot ? `${evaluatePy} not found` : 'give --ab3dmot DIR'} (docs/eval/KITTI.md); results are written but not scored\n`);
  }
  const env = { ...process.env, PYTHONPATH: [ab3dmot, values.pythonpath, process.env['PYTHONPATH']].filter(Boolean).join(':') };

  const loaded: Sequence[] = seqs.map((s) => loadSequence(data, s));
  if (values.proxy) return proxyRun(data, loaded, frames, ious, ours, values.json === true);
  if (frames.includes('world')) for (const s of loaded) if (!s.poses) throw new Error(`sequence ${s.name}: no poses (DIR/poses/${s.name}.txt) for the world frame`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const seqmap = loaded.map((s) => `${s.name} empty 000000 ${String(s.frames).padStart(6, '0')}`).join('\n') + '\n';
  const timing: Record<string, number> = {};
  const scoreJobs: Array<() => Promise<ScoreRow[]>> = [];
  for (const frame of frames) {
    const root = join(work, frame);
    mkdirSync(join(root, 'scripts', 'KITTI'), { recursive: true });
    symlinkSync(join(data, 'label_02'), join(root, 'scripts', 'KITTI', 'label'));
    writeFileSync(join(root, 'scripts', 'KITTI', 'evaluate_tracking.seqmap.val'), seqmap);
    for (const tracker of trackers) {
      const out = join(root, 'results', 'KITTI', tracker, 'data_0');
      mkdirSync(out, { recursive: true });
      const t0 = performance.now();
      if (tracker === 'ours') {
        let nFrames = 0;
        for (const s of loaded) {
          writeFileSync(join(out, `${s.name}.txt`), runOurs(s, frame, ours).filter(Boolean).join('\n') + '\n');
          nFrames += s.frames;
        }
        timing[`ours/${frame}`] = (performance.now() - t0) / nFrames;
      } else if (tracker === 'ab3dmot') {
        if (!ab3dmot) throw new Error('--trackers ab3dmot needs --ab3dmot DIR');
        const input = join(root, 'ab3dmot-input');
        for (const s of loaded) writeBaselineInput(s, frame, input);
        const raw = join(root, 'ab3dmot-raw');
        const driver = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'kitti', 'run_ab3dmot.py');
        const r = await run('/usr/bin/python3', [driver, '--ab3dmot', ab3dmot, '--dets', input, '--seqs', loaded.map((s) => `${s.name}:${s.frames}`).join(','), '--out', raw], { env });
        if (r.code !== 0) throw new Error(`AB3DMOT failed (${r.code}):\n${r.out.slice(-2000)}`);
        const ms = /ab3dmot_ms_per_frame ([0-9.]+)/.exec(r.out);
        if (ms) timing[`ab3dmot/${frame} (per class-frame)`] = Number(ms[1]);
        for (const s of loaded) {
          const rows = readFileSync(join(raw, `${s.name}.txt`), 'utf8').split('\n').filter(Boolean);
          writeFileSync(join(out, `${s.name}.txt`), baselineToCamera(s, frame, rows).join('\n') + '\n');
        }
      } else throw new Error(`--trackers: unknown tracker ${tracker}`);
      if (!evaluatePy || !existsSync(evaluatePy)) continue;
      for (const iou of ious) {
        scoreJobs.push(async () => {
          // evaluate.py writes summaries next to the results: one copy of the results per threshold.
          const name = `${tracker}_iou${iou}`;
          const dst = join(root, 'results', 'KITTI', name, 'data_0');
          mkdirSync(dst, { recursive: true });
          for (const s of loaded) writeFileSync(join(dst, `${s.name}.txt`), readFileSync(join(out, `${s.name}.txt`)));
          const r = await run('/usr/bin/python3', [evaluatePy, name, '1', '3D', String(iou)], { cwd: root, env });
          writeFileSync(join(root, `${name}.log`), r.out);
          if (r.code !== 0) throw new Error(`evaluate.py failed (${r.code}) for ${frame}/${name}:\n${r.out.slice(-2000)}`);
          return parseEvaluateOutput(r.out).map((x) => ({ tracker, frame, iou, ...x }));
        });
      }
    }
  }
  const rows = (await pool(jobs, scoreJobs)).flat();
  // Precision/recall of each tracker's confidence, per frame, IoU and class (evaluate.py's per-threshold summaries).
  for (const frame of frames)
    for (const iou of ious)
      for (const cls of ['car', 'pedestrian', 'cyclist']) {
        const curves = trackers
          .map((tr) => ({ name: tr, file: join(work, frame, 'results', 'KITTI', `${tr}_iou${iou}`, `summary_${cls}_average_eval3D.txt`) }))
          .filter((c) => existsSync(c.file))
          .map((c) => ({ name: c.name, points: parsePrSummary(readFileSync(c.file, 'utf8')) }));
        if (curves.length) writeFileSync(join(work, `pr-${frame}-iou${iou}-${cls}.svg`), renderPrSvg(`${cls}, ${frame} frame, 3D IoU ${iou}`, curves));
      }
  process.stdout.write(renderTable(rows) + '\n');
  process.stdout.write(`per-frame tracking time, ms: ${Object.entries(timing).map(([k, v]) => `${k} ${v.toFixed(3)}`).join('; ')}\n`);
  process.stdout.write(`results and evaluate.py logs: ${work}\n`);
  if (values.json) process.stdout.write(JSON.stringify({ seqs, rows, timing }) + '\n');
  return 0;
}

const f1 = (v: number) => (100 * v).toFixed(1);

/** --proxy: ours only, scored by the quick stand-in (proxy.ts), with MOTA and recall by range and the NEES. */
function proxyRun(data: string, seqs: Sequence[], frames: FrameMode[], ious: number[], ours: OursOptions, json: boolean): number {
  const out: { frame: FrameMode; iou: number; scores: ProxyScore[] }[] = [];
  let nees: NeesRow[] = [];
  for (const frame of frames) {
    const items: Parameters<typeof neesTable>[0] = [];
    const runs = seqs.map((s) => {
      const placements: Placement[] = [];
      const lines = runOurs(s, frame, { ...ours, onPlacement: (p) => placements.push(p) }).filter(Boolean);
      const labels = readLabels(join(data, 'label_02', `${s.name}.txt`));
      items.push({ placements, dets2d: s.dets2d, labels });
      return { labels, results: readLabelRows(lines.join('\n')) };
    });
    if (ours.fusion !== 'lidar') nees = neesTable(items);
    for (const iou of ious) out.push({ frame, iou, scores: (['Car', 'Pedestrian', 'Cyclist'] as const).map((c) => proxyScore(c, runs, iou)) });
  }
  for (const o of out)
    for (const sc of o.scores)
      process.stdout.write(
        `proxy ${o.frame} iou ${o.iou} ${sc.cls}: MOTA ${f1(sc.mota)} (FP ${sc.fp}, FN ${sc.fn}, IDS ${sc.ids}, GT ${sc.gt}, threshold ${sc.threshold.toFixed(3)}); by range: ${sc.bins.map((b) => `${b.range} MOTA ${f1(b.mota)} recall ${f1(b.recall)} (GT ${b.gt}, FP ${b.fp})`).join('; ')}\n`,
      );
  for (const r of nees)
    process.stdout.write(
      `placement ${r.source} ${r.cls}: n ${r.n}, median error ${r.medianErrM.toFixed(2)} m, mean NEES ${r.meanNees.toFixed(1)} (2 when calibrated), within 1σ along ${f1(r.along1)} % across ${f1(r.across1)} %, within 3σ along ${f1(r.along3)} % across ${f1(r.across3)} %\n`,
    );
  if (json) process.stdout.write(JSON.stringify({ proxy: out, nees }) + '\n');
  return 0;
}

export function renderTable(rows: ScoreRow[]): string {
  const order = ['car', 'pedestrian', 'cyclist'];
  const sorted = [...rows].sort((a, b) => a.frame.localeCompare(b.frame) || b.iou - a.iou || order.indexOf(a.cls) - order.indexOf(b.cls) || a.tracker.localeCompare(b.tracker));
  const head = '| frame | IoU | class | tracker | MOTA % | sAMOTA % | MOTP % | IDS | FRAG | FP | FN |\n|---|---|---|---|---|---|---|---|---|---|---|';
  return [head, ...sorted.map((r) => `| ${r.frame} | ${r.iou} | ${r.cls} | ${r.tracker} | ${f1(r.mota)} | ${f1(r.samota)} | ${f1(r.motp)} | ${r.ids} | ${r.frag} | ${r.fp} | ${r.fn} |`)].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`eval:kitti: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
