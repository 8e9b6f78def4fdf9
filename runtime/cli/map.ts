// `rsu map build|validate|render`: MAP authoring from a GeoJSON lane map (runtime/map/README.md).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMessageSet, STD_NAMES, toHex, type MessageSet, type StdName } from '../../codecs/index.js';
import { buildMap } from '../apps/map.js';
import { defaultConfig, loadConfig, type RsuConfig } from '../config/index.js';
import { demoLaneMapPath, loadLaneMap } from '../map/index.js';
import { renderLaneMapSvg } from '../map/render.js';
import { controllerSignalGroups, formatProblem, loadMapLimits, validateLaneMapFile, type FileValidation, type MapProblem } from '../map/validate.js';
import { referenceMismatch } from './deploy-checks.js';
import { subcommand, UsageError, type Io } from './io.js';

export const MAP_HELP = `usage: rsu map <build|validate|render> [FILE.geojson] [options]
MAP authoring from a GeoJSON lane map (format: runtime/map/README.md). FILE defaults to the config's
applications.map.file, else the demo intersection.

  rsu map build FILE [--std S] [--config FILE] [--out FILE.uper | --hex | --json] [--msg-cnt N] [--asn1 DIR]
      Validate, build the MapData (CSAE mapFrame or J2735 MessageFrame 18) and encode it in UPER: hex on stdout
      (--hex, the default), the bytes to a file (--out), or the JER JSON value (--json). Refuses a map with errors.
  rsu map validate FILE [--std S] [--config FILE] [--json] [--asn1 DIR]
      Every problem, naming the feature and property: the lane map's own errors, values beyond the encoding's
      ranges (J2735 node offsets, elevation, widths, speeds), list sizes beyond the message set's SIZE
      constraints, ingress lanes without connections, unreachable egress lanes, connections to missing lanes,
      impossible geometry; signal groups the configured signal controller never reports, and the controller's
      signal groups the MAP does not use (the controller of applications.spat.controller: the plan's phases for
      kind plan and simulated, the actuated stages, the mapping of tscbm, ntcip and any kind with a mapping).
      Exit status 1 when there are errors.
  rsu map render FILE [--out FILE.svg|FILE.png] [--width PX] [--extent M]
      Draw the map as SVG (stdout without --out): lanes with their widths, centrelines, ids, maneuver arrows,
      connections coloured by signal group, crosswalks, north arrow and scale bar; --extent M draws only
      what lies within M metres of the reference point. PNG needs rsvg-convert or
      inkscape on PATH.

  --std S        message set: ${STD_NAMES.join(' | ')} (default: the config's messageSet)
  --config FILE  the RSU config: its signal controller (or SPAT plan) and intersection (default: the built-in defaults)
  --asn1 DIR     the deployer's J2735 modules (or RSU_J2735_ASN1_DIR)`;

const COMMON = {
  std: { type: 'string' },
  config: { type: 'string' },
  asn1: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function stdOf(v: string | undefined, cfg: RsuConfig | undefined): StdName {
  if (v === undefined) return (cfg?.messageSet ?? 'csae2020') as StdName;
  if (!STD_NAMES.includes(v as StdName)) throw new UsageError(`--std ${v}: expected one of ${STD_NAMES.join(', ')}`);
  return v as StdName;
}

function fileOf(positionals: string[], cfg: RsuConfig | undefined): string {
  if (positionals.length > 1) throw new UsageError(`give one GeoJSON file, got ${positionals.length}: ${positionals.join(' ')}`);
  return positionals[0] ?? cfg?.applications.map.file ?? demoLaneMapPath();
}

function configOf(path: string | undefined): RsuConfig {
  return path === undefined ? defaultConfig() : loadConfig(path);
}

function report(io: Io, problems: MapProblem[]): void {
  for (const p of problems) io.err(formatProblem(p));
}

function problemJson(p: MapProblem) {
  return { ...(p.feature !== undefined ? { feature: p.feature } : {}), ...(p.property !== undefined ? { property: p.property } : {}), code: p.code, message: p.message };
}

export async function mapCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (!subcommand('map', sub, ['build', 'validate', 'render'], MAP_HELP, io)) return 0;
  switch (sub) {
    case 'build':
      return build(rest, io);
    case 'validate':
      return validate(rest, io);
    case 'render':
      return render(rest, io);
  }
  return 2;
}

function runValidation(file: string, std: StdName, asn1: string | undefined, cfg: RsuConfig, crossCheckSpat: boolean): FileValidation {
  const limits = loadMapLimits(std, asn1);
  // The signal groups the SPAT will carry: those the configured controller reports (plan phases, actuated
  // stages, or the phase → signal group mapping of an external controller).
  const groups = crossCheckSpat ? controllerSignalGroups(cfg.applications.spat) : undefined;
  const r = validateLaneMapFile(file, {
    limits,
    ...(crossCheckSpat ? { intersection: cfg.applications.spat.intersection } : {}),
    ...(groups ? { signalGroups: groups } : {}),
  });
  if (crossCheckSpat && !groups && r.map)
    r.warnings.push({
      severity: 'warning',
      code: 'signal-groups-unchecked',
      property: 'applications.spat.controller.kind',
      message: `signal controller kind ${JSON.stringify(cfg.applications.spat.controller.kind)} has no mapping of its outputs to signal groups in the config: the MAP's signal groups are not checked against it`,
    });
  return r;
}

async function validate(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON, json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (values.help) return io.out(MAP_HELP), 0;
  const cfg = configOf(values.config);
  const std = stdOf(values.std, cfg);
  const file = fileOf(positionals, values.config ? cfg : undefined);
  const r = runValidation(file, std, values.asn1, cfg, true);
  // The RSU broadcasts this MAP from its own reference point: the two must be one intersection.
  const off = values.config && r.map ? referenceMismatch(cfg.rsu.reference, r.map.reference, file) : undefined;
  if (off) r.errors.push({ severity: 'error', code: 'reference', message: `${values.config}: rsu.reference: ${off}` });
  // The MAP must also encode: a last check with the codec itself, when nothing else was found.
  if (r.map && !r.errors.length) {
    try {
      const ms = (await loadMessageSet(std, { asn1Dir: values.asn1 })) as MessageSet;
      ms.encode('MessageFrame', buildMap(r.map, { std, msgCnt: 0, atMs: Date.now(), intersection: cfg.applications.spat.intersection }) as never);
    } catch (e) {
      r.errors.push({ severity: 'error', code: 'encode', message: `the MAP built from this file does not encode in ${std}: ${(e as Error).message}` });
    }
  }
  if (values.json) {
    io.out(JSON.stringify({ file, std, ok: r.errors.length === 0, errors: r.errors.map(problemJson), warnings: r.warnings.map(problemJson) }, null, 2));
  } else {
    report(io, [...r.errors, ...r.warnings]);
    const lanes = r.map ? `${r.map.lanes.length} lanes, ` : '';
    io.out(`${file}: ${r.errors.length ? 'INVALID' : 'valid'} for ${std} (${lanes}${r.errors.length} error${r.errors.length === 1 ? '' : 's'}, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'})`);
  }
  return r.errors.length ? 1 : 0;
}

async function build(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      out: { type: 'string', short: 'o' },
      hex: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'msg-cnt': { type: 'string', default: '0' },
    },
    allowPositionals: true,
  });
  if (values.help) return io.out(MAP_HELP), 0;
  if (values.hex && values.json) throw new UsageError('--hex and --json exclude each other');
  const msgCnt = Number(values['msg-cnt']);
  if (!Number.isInteger(msgCnt) || msgCnt < 0 || msgCnt > 127) throw new UsageError(`--msg-cnt ${values['msg-cnt']}: expected an integer 0-127`);
  const cfg = configOf(values.config);
  const std = stdOf(values.std, cfg);
  const file = fileOf(positionals, values.config ? cfg : undefined);
  // Signal groups are checked against the SPAT plan only when a config is given: without one, the defaults'
  // 2-phase plan says nothing about this map.
  const r = runValidation(file, std, values.asn1, cfg, values.config !== undefined);
  report(io, [...r.errors, ...r.warnings]);
  if (r.errors.length || !r.map) {
    io.err(`${file}: not built: ${r.errors.length} error${r.errors.length === 1 ? '' : 's'} (rsu map validate lists them the same way)`);
    return 1;
  }
  const ms = (await loadMessageSet(std, { asn1Dir: values.asn1 })) as MessageSet;
  const frame = buildMap(r.map, { std, msgCnt, atMs: Date.now(), ...(values.config ? { intersection: cfg.applications.spat.intersection } : {}) });
  const bytes = ms.encode('MessageFrame', frame as never);
  const text = values.json ? JSON.stringify(frame, null, 2) : toHex(bytes);
  if (values.out) {
    if (values.json || values.hex) writeFileSync(values.out, text + '\n');
    else writeFileSync(values.out, bytes);
    io.err(`${file}: ${std} MapData, ${r.map.lanes.length} lanes, ${bytes.length} bytes UPER -> ${values.out}`);
  } else {
    io.out(text);
    io.err(`${file}: ${std} MapData, ${r.map.lanes.length} lanes, ${bytes.length} bytes UPER`);
  }
  return 0;
}

/** The first SVG-to-PNG converter on PATH, as the arguments for converting `svg` into `png`. */
function pngConverter(svg: string, png: string): [string, string[]] | undefined {
  const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
  if (has('rsvg-convert')) return ['rsvg-convert', ['-f', 'png', '-o', png, svg]];
  if (has('inkscape')) return ['inkscape', [svg, '--export-type=png', `--export-filename=${png}`]];
  return undefined;
}

async function render(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, out: { type: 'string', short: 'o' }, width: { type: 'string', default: '1000' }, extent: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
  });
  if (values.help) return io.out(MAP_HELP), 0;
  const widthPx = Number(values.width);
  if (!Number.isInteger(widthPx) || widthPx < 200 || widthPx > 20000) throw new UsageError(`--width ${values.width}: expected an integer 200-20000 (pixels)`);
  const extentM = values.extent === undefined ? undefined : Number(values.extent);
  if (extentM !== undefined && !(extentM > 0)) throw new UsageError(`--extent ${values.extent}: expected metres over 0`);
  const cfg = values.config ? loadConfig(values.config) : undefined;
  const file = fileOf(positionals, cfg);
  const map = loadLaneMap(file);
  const svg = renderLaneMapSvg(map, { widthPx, ...(extentM !== undefined ? { extentM } : {}) });
  if (!values.out) {
    io.out(svg.trimEnd());
    return 0;
  }
  if (/\.png$/i.test(values.out)) {
    const dir = mkdtempSync(join(tmpdir(), 'rsu-map-'));
    try {
      const tmp = join(dir, 'map.svg');
      writeFileSync(tmp, svg);
      const conv = pngConverter(tmp, values.out);
      if (!conv) throw new Error('PNG output needs rsvg-convert (librsvg2-bin) or inkscape on PATH; neither is installed: write SVG with --out FILE.svg');
      const r = spawnSync(conv[0], conv[1], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${conv[0]} failed: ${(r.stderr || r.error?.message || '').trim()}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else writeFileSync(values.out, svg);
  io.err(`${file}: ${map.lanes.length} lanes drawn -> ${values.out}`);
  return 0;
}
