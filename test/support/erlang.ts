/**
 * Independent reference codec for the tests and the benchmark: Erlang/OTP's
 * asn1 application (Debian erlang-asn1, OTP 25) driven through a long-lived
 * `erl -noshell` process that runs scripts/erlang-ref/rsu_ref.erl.
 *
 * - compileErlangRef({name, dir}) compiles a module set with
 *   `erlc -buper +maps +jer` into a cache directory keyed by a hash of the
 *   .asn contents (reused across runs), and starts the server.
 * - ErlangRef.random / decode / encode / bench talk to that server over a
 *   line protocol (see rsu_ref.erl).
 *
 * Module sources are copied, one module per file named after the module, into
 * the cache directory (never into the repository). A file holding several
 * modules (J2735 2016) is split; references `Module.name` to other modules of
 * the set (J2735 2016 uses them instead of IMPORTS) are turned into IMPORTS in
 * that copy, because erlc rejects them in information object sets.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipComment } from '../../codecs/asn1/lexer.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const ERLANG_REF_SRC = path.join(REPO_ROOT, 'scripts', 'erlang-ref');
export const CSAE_SETS_DIR = path.join(REPO_ROOT, 'codecs', 'sets');

/** Bump when the preparation of sources or the erlc flags change. */
const PREP_VERSION = 'rsu-erlang-ref-3';
const ERLC_FLAGS = ['-buper', '+maps', '+jer'];

export interface ModuleSetSpec {
  /** e.g. 'csae2020', 'j2735-2016'; used in cache directory names and messages */
  name: string;
  /** directory holding the set's .asn files (one or more modules per file) */
  dir: string;
}

export interface RandomValue {
  /** UPER encoding by Erlang, lower-case hex */
  hex: string;
  /** Erlang's JER (X.697) of the value it decodes from `hex`, parsed */
  jer: unknown;
}

export interface RandomStats {
  n: number;
  attempts: number;
  /** reason -> number of draws dropped for it (e.g. openTypeNotRemovable) */
  dropped: Record<string, number>;
  /** OPTIONAL components / SEQUENCE OF elements removed because they held an open type */
  removedOpenTypeFields: number;
  /** ... removed because they held a component listed in RandomOptions.avoid */
  removedAvoidedFields: number;
  /** time Erlang spent drawing, encoding, decoding, printing */
  ms: number;
}

export interface RandomOptions {
  /** randomise drawn values beyond asn1ct:value (default true; see rsu_ref.erl) */
  mutate?: boolean;
  /**
   * Components `SequenceType.component` to leave out of drawn values (like
   * open types: removed when OPTIONAL, else the nearest enclosing OPTIONAL
   * component goes). Use CompileInfo.erlangIgnoredConstraints here.
   */
  avoid?: readonly string[];
  timeoutMs?: number;
}

export interface FrameSpec {
  /** Erlang module and type of the frame, e.g. 'MessageFrame', 'MessageFrame' (J2735 2020) */
  module: string;
  type: string;
  idField: string;
  valueField: string;
  /** value of the id field selecting the inner type */
  id: number;
}

export interface BenchResult {
  iterations: number;
  bytes: number;
  /** whether Erlang re-encodes its decoded value to the same bytes */
  reencodeSame: boolean;
  decodeNs: number;
  encodeNs: number;
  decodePerSec: number;
  encodePerSec: number;
  otp: string;
}

export interface CompileInfo {
  set: string;
  dir: string;
  /** cache directory holding src/ (prepared .asn) and ebin/ */
  workDir: string;
  ebinDir: string;
  modules: string[];
  /** wall time of the erlc runs when the set was (last) compiled */
  compileMs: number;
  /** true when this call found the compiled set in the cache */
  cached: boolean;
  otp: string;
  /** messageName -> DSRCmsgID value found in the sources (J2735 MessageFrame) */
  frameIds: Record<string, number>;
  /** information objects selecting open-type contents by an integer id */
  openTypes: OpenTypeEntry[];
  /**
   * SEQUENCE components `Type.component` declared as `TypeRef(lb..ub)` with a
   * TypeRef that has its own range (J2735: `ITIScodes(523..541)`). OTP 25's
   * PER code ignores such an outer constraint and encodes with the
   * referenced type's range (16 bits instead of 5 for 523..541), against
   * X.691 (the effective constraint is the intersection). Differential tests
   * leave these components out of Erlang's random values.
   */
  erlangIgnoredConstraints: string[];
}

export class ErlangRefError extends Error {
  constructor(
    message: string,
    /** the text after "ERR " in the server's reply, when there was one */
    readonly erlang?: string,
  ) {
    super(message);
    this.name = 'ErlangRefError';
  }
}

// ---------------------------------------------------------------- availability

let availability: { ok: boolean; reason?: string; otp?: string } | undefined;

function probeErlang(): { ok: boolean; reason?: string; otp?: string } {
  if (availability) return availability;
  const erlc = spawnSync('erlc', ['-help'], { encoding: 'utf8', timeout: 30_000 });
  if (erlc.error) {
    availability = { ok: false, reason: `erlc not found (${(erlc.error as NodeJS.ErrnoException).code ?? erlc.error.message}); install erlang-base and erlang-asn1` };
    return availability;
  }
  const erl = spawnSync(
    'erl',
    ['-noshell', '-eval', 'io:format("~s ~s", [erlang:system_info(otp_release), code:lib_dir(asn1)]), halt().'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (erl.error || erl.status !== 0) {
    availability = { ok: false, reason: `erl not usable: ${erl.error?.message ?? erl.stderr}` };
    return availability;
  }
  const [otp, asn1] = erl.stdout.trim().split(' ');
  if (!asn1 || asn1.startsWith('{error') || !fs.existsSync(asn1)) {
    availability = { ok: false, reason: 'Erlang asn1 application missing (install erlang-asn1)' };
    return availability;
  }
  availability = { ok: true, otp };
  return availability;
}

/** True when erl, erlc and the asn1 application are installed. */
export function erlangAvailable(): boolean {
  return probeErlang().ok;
}

/** Why erlangAvailable() is false (for t.skip messages), else undefined. */
export function erlangUnavailableReason(): string | undefined {
  return probeErlang().reason;
}

// ---------------------------------------------------------------- set locations

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function asnFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => /\.asn1?$/i.test(f))
      .sort()
      .map((f) => path.join(dir, f))
      .filter((f) => fs.statSync(f).isFile());
  } catch {
    return [];
  }
}

/** Which J2735 version a directory of .asn files holds, by its module names. */
function detectJ2735Version(dir: string): '2016' | '2020' | undefined {
  let sawDsrc = false;
  let sawCommon = false;
  for (const f of asnFiles(dir)) {
    const text = stripComments(readAsn(f));
    for (const m of findModuleHeaders(text)) {
      if (m.name === 'DSRC') sawDsrc = true;
      if (m.name === 'Common') sawCommon = true;
    }
  }
  if (sawDsrc) return '2016';
  if (sawCommon) return '2020';
  return undefined;
}

/**
 * The deployer's J2735 ASN.1 directory for a version, from env
 * RSU_J2735_ASN1_DIR: either a directory with subdirectories `2016/`
 * and/or `2020/`, or directly the files of one version (detected by module
 * names: DSRC = 2016, Common = 2020). Undefined when not set or not found.
 */
export function j2735Dir(version: '2016' | '2020'): string | undefined {
  const env = process.env.RSU_J2735_ASN1_DIR;
  if (!env) return undefined;
  const root = path.resolve(expandHome(env));
  const sub = path.join(root, version);
  if (asnFiles(sub).length > 0) return sub;
  if (asnFiles(root).length > 0 && detectJ2735Version(root) === version) return root;
  return undefined;
}

/** Why j2735Dir(version) is undefined, for skip messages. */
export function j2735SkipReason(version: '2016' | '2020'): string | undefined {
  if (!process.env.RSU_J2735_ASN1_DIR) return 'RSU_J2735_ASN1_DIR not set';
  if (!j2735Dir(version)) return `no J2735 ${version} modules under RSU_J2735_ASN1_DIR=${process.env.RSU_J2735_ASN1_DIR}`;
  return undefined;
}

/** The module sets the project knows, with their directories (J2735 only when present). */
export function knownModuleSets(): ModuleSetSpec[] {
  const sets: ModuleSetSpec[] = [
    { name: 'csae2019', dir: path.join(CSAE_SETS_DIR, 'csae2019') },
    { name: 'csae2020', dir: path.join(CSAE_SETS_DIR, 'csae2020') },
  ];
  for (const v of ['2020', '2016'] as const) {
    const d = j2735Dir(v);
    if (d) sets.push({ name: `j2735-${v}`, dir: d });
  }
  return sets;
}

/** Message types the differential tests draw, per family (filter with ErlangRef.moduleOf). */
export const CSAE_MESSAGE_TYPES = [
  'MessageFrame',
  'BasicSafetyMessage',
  'MapData',
  'SPAT',
  'RoadSideInformation',
  'RoadsideSafetyMessage',
] as const;

export const J2735_MESSAGE_TYPES = [
  'BasicSafetyMessage',
  'MapData',
  'SPAT',
  'TravelerInformation',
  'PersonalSafetyMessage',
  'SignalRequestMessage',
  'SignalStatusMessage',
  'RoadSideAlert',
  'CommonSafetyRequest',
  'EmergencyVehicleAlert',
  'IntersectionCollision',
  'NMEAcorrections',
  'ProbeDataManagement',
  'ProbeVehicleData',
  'RTCMcorrections',
  // contents of BSM partII (an open type, so left out of drawn BSMs)
  'VehicleSafetyExtensions',
  'SpecialVehicleExtensions',
  'SupplementalVehicleExtensions',
] as const;

// ---------------------------------------------------------------- source preparation

function readAsn(file: string): string {
  // latin1 keeps every byte as one char, so unmodified text round-trips exactly
  let text = fs.readFileSync(file).toString('latin1');
  if (text.startsWith('\u00ef\u00bb\u00bf')) text = text.slice(3); // UTF-8 BOM
  return text.replace(/\r\n?/g, '\n');
}

/** Remove ASN.1 comments (codecs/asn1/lexer.ts's skipComment), each replaced by a space; strings are kept. */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  let inString = false;
  let comment: ReturnType<typeof skipComment>;
  while (i < n) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if ((comment = skipComment(text, i))) {
      i = comment.end;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IDENT = '[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*';

function findModuleHeaders(stripped: string): { name: string; start: number }[] {
  const re = new RegExp(`(?<![\\w-])([A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\\s*(?:\\{[^{}]*\\}\\s*)?DEFINITIONS\\b`, 'g');
  const out: { name: string; start: number }[] = [];
  for (const m of stripped.matchAll(re)) out.push({ name: m[1]!, start: m.index! });
  return out;
}

export interface PreparedModule {
  name: string;
  text: string;
  /** modules named in IMPORTS ... FROM */
  imports: string[];
  /** whether the text differs from the source file (split, comments removed, IMPORTS added) */
  rewritten: boolean;
}

/** Turn `Mod.name` references to other modules of the set into IMPORTS. */
function dottedToImports(name: string, body: string, moduleNames: string[]): { body: string; changed: boolean } {
  const others = moduleNames.map((m) => m.replace(/[-]/g, '\\-'));
  const re = new RegExp(`(?<![\\w&.-])(${others.join('|')})\\.(${IDENT})`, 'g');
  const refs = new Map<string, Set<string>>();
  let changed = false;
  const replaced = body.replace(re, (_all, mod: string, ident: string) => {
    changed = true;
    if (mod !== name) {
      if (!refs.has(mod)) refs.set(mod, new Set());
      refs.get(mod)!.add(ident);
    }
    return ident;
  });
  if (!changed) return { body, changed };
  if (refs.size === 0) return { body: replaced, changed };
  const clauses = [...refs].map(([mod, ids]) => `${[...ids].sort().join(', ')} FROM ${mod}`);
  const begin = /\bBEGIN\b/.exec(replaced);
  if (!begin) throw new Error(`module ${name}: no BEGIN`);
  let pos = begin.index + 'BEGIN'.length;
  const after = replaced.slice(pos);
  const exp = /^\s*EXPORTS\b[^;]*;/.exec(after);
  if (exp) pos += exp[0].length;
  const rest = replaced.slice(pos);
  const imp = /^\s*IMPORTS\b/.exec(rest);
  let out: string;
  if (imp) {
    const at = pos + imp[0].length;
    out = `${replaced.slice(0, at)}\n  ${clauses.join('\n  ')}\n  ${replaced.slice(at)}`;
  } else {
    out = `${replaced.slice(0, pos)}\nIMPORTS\n  ${clauses.join('\n  ')};\n${replaced.slice(pos)}`;
  }
  return { body: out, changed: true };
}

function importsOf(stripped: string): string[] {
  const m = /\bIMPORTS\b([\s\S]*?);/.exec(stripped);
  if (!m) return [];
  const deps = new Set<string>();
  for (const f of m[1]!.matchAll(new RegExp(`\\bFROM\\s+(${IDENT})`, 'g'))) deps.add(f[1]!);
  return [...deps];
}

/** Read a set's files and produce one text per module. */
export function prepareModules(dir: string): PreparedModule[] {
  const files = asnFiles(dir);
  if (files.length === 0) throw new Error(`no .asn files in ${dir}`);
  const raw: { name: string; text: string; rewritten: boolean }[] = [];
  for (const f of files) {
    const text = readAsn(f);
    const stripped = stripComments(text);
    const headers = findModuleHeaders(stripped);
    if (headers.length === 0) throw new Error(`${f}: no module definition found`);
    if (headers.length === 1) {
      raw.push({ name: headers[0]!.name, text, rewritten: false });
    } else {
      headers.forEach((h, i) => {
        const end = i + 1 < headers.length ? headers[i + 1]!.start : stripped.length;
        raw.push({ name: h.name, text: stripped.slice(h.start, end).trimEnd() + '\n', rewritten: true });
      });
    }
  }
  const names = raw.map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`module ${dup} defined twice in ${dir}`);
  return raw.map((r) => {
    const stripped = r.rewritten ? r.text : stripComments(r.text);
    const conv = dottedToImports(r.name, stripped, names);
    const text = conv.changed ? conv.body : r.text;
    return {
      name: r.name,
      text,
      imports: importsOf(conv.changed ? conv.body : stripped).filter((d) => names.includes(d) && d !== r.name),
      rewritten: r.rewritten || conv.changed,
    };
  });
}

export interface OpenTypeEntry {
  /** value of the id field (e.g. DSRCmsgID, RegionId, PartII-Id) */
  id: number;
  /** ASN.1 type of the id value, e.g. 'DSRCmsgID' */
  idType: string;
  /** the type the id selects */
  type: string;
}

/**
 * Information objects `{ Type IDENTIFIED BY ident }` whose ident has an integer
 * value assignment `ident IdType ::= N` (J2735: message ids, region ids,
 * partII ids). Used to print decoded open types and to build MessageFrames.
 */
function findOpenTypeEntries(mods: PreparedModule[]): OpenTypeEntry[] {
  const values = new Map<string, { idType: string; value: number }>();
  const pairs: [string, string][] = [];
  for (const m of mods) {
    const s = stripComments(m.text);
    for (const v of s.matchAll(new RegExp(`(?<![\\w-])([a-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\\s+(${IDENT})\\s*::=\\s*(-?\\d+)`, 'g'))) {
      values.set(v[1]!, { idType: v[2]!, value: Number(v[3]) });
    }
    for (const p of s.matchAll(new RegExp(`\\{\\s*(${IDENT})\\s+IDENTIFIED\\s+BY\\s+(${IDENT})\\s*\\}`, 'g'))) {
      pairs.push([p[1]!, p[2]!]);
    }
  }
  const out: OpenTypeEntry[] = [];
  for (const [type, ident] of pairs) {
    const v = values.get(ident);
    if (v) out.push({ id: v.value, idType: v.idType, type });
  }
  return out;
}

/** Balanced `{ ... }` body starting at text[open] === '{'. */
function braceBody(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** See CompileInfo.erlangIgnoredConstraints. */
function findConstrainedTypeRefs(mods: PreparedModule[]): string[] {
  const out = new Set<string>();
  const builtin = /^(INTEGER|BIT|OCTET|SEQUENCE|SET|CHOICE|ENUMERATED|BOOLEAN|NULL|REAL|[A-Za-z0-9]*String)$/;
  for (const m of mods) {
    const s = stripComments(m.text);
    for (const seq of s.matchAll(new RegExp(`(?<![\\w-])(${IDENT})\\s*::=\\s*SEQUENCE\\s*\\{`, 'g'))) {
      const body = braceBody(s, seq.index! + seq[0].length - 1);
      const comp = new RegExp(`(?<![\\w-])([a-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\\s+(?:${IDENT}\\.)?([A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\\s*\\(\\s*-?\\d+\\s*\\.\\.`, 'g');
      for (const c of body.matchAll(comp)) {
        if (!builtin.test(c[2]!)) out.add(`${seq[1]}.${c[1]}`);
      }
    }
  }
  return [...out].sort();
}

// ---------------------------------------------------------------- cache + compile

function cacheRoot(): string {
  const candidates = [
    process.env.RSU_ERLANG_REF_CACHE,
    path.join(os.homedir(), '.cache', 'rsu', 'erlang-ref'),
    path.join(os.tmpdir(), 'rsu-erlang-ref'),
  ].filter((x): x is string => !!x);
  for (const c of candidates) {
    try {
      fs.mkdirSync(c, { recursive: true });
      fs.accessSync(c, fs.constants.W_OK);
      return c;
    } catch {
      /* try next */
    }
  }
  throw new Error('no writable cache directory for the Erlang reference');
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Move a freshly built directory into place; if another process won the race, keep theirs. */
function publish(tmp: string, final: string): void {
  try {
    fs.renameSync(tmp, final);
  } catch (e) {
    if (fs.existsSync(path.join(final, 'meta.json'))) {
      fs.rmSync(tmp, { recursive: true, force: true });
    } else {
      throw e;
    }
  }
}

async function compileShim(root: string, otp: string): Promise<string> {
  const srcs = fs.readdirSync(ERLANG_REF_SRC).filter((f) => f.endsWith('.erl')).sort();
  const h = createHash('sha256').update(PREP_VERSION).update(otp);
  for (const f of srcs) h.update(f).update(fs.readFileSync(path.join(ERLANG_REF_SRC, f)));
  const final = path.join(root, `shim-${h.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(path.join(final, 'meta.json'))) return final;
  const tmp = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.mkdirSync(tmp, { recursive: true });
  const r = await run('erlc', ['-o', tmp, ...srcs.map((f) => path.join(ERLANG_REF_SRC, f))], ERLANG_REF_SRC);
  if (r.code !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`erlc of scripts/erlang-ref failed:\n${r.out}`);
  }
  fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify({ sources: srcs }));
  publish(tmp, final);
  return final;
}

/** Compile order: layers whose imports are already compiled; cycles end up in a last layer. */
function layers(mods: PreparedModule[]): string[][] {
  const done = new Set<string>();
  const left = new Map(mods.map((m) => [m.name, m]));
  const out: string[][] = [];
  while (left.size > 0) {
    const ready = [...left.values()].filter((m) => m.imports.every((d) => done.has(d))).map((m) => m.name);
    if (ready.length === 0) {
      out.push([...left.keys()]); // import cycle: compiled one by one, retried until all pass
      break;
    }
    out.push(ready);
    for (const r of ready) {
      done.add(r);
      left.delete(r);
    }
  }
  return out;
}

async function compileSet(spec: ModuleSetSpec, root: string, otp: string): Promise<CompileInfo> {
  const mods = prepareModules(spec.dir);
  const h = createHash('sha256').update(PREP_VERSION).update(otp).update(ERLC_FLAGS.join(' '));
  for (const m of [...mods].sort((a, b) => (a.name < b.name ? -1 : 1))) h.update(m.name).update('\0').update(m.text).update('\0');
  const key = h.digest('hex').slice(0, 16);
  const safeName = spec.name.replace(/[^A-Za-z0-9._-]/g, '_');
  const final = path.join(root, `${safeName}-${key}`);
  const openTypes = findOpenTypeEntries(mods);
  const erlangIgnoredConstraints = findConstrainedTypeRefs(mods);
  const frameIds: Record<string, number> = {};
  for (const e of openTypes) if (e.idType === 'DSRCmsgID') frameIds[e.type] = e.id;
  const metaFile = path.join(final, 'meta.json');
  // another process (tap runs test files in parallel) may be compiling the same set: wait for it
  const unlock = fs.existsSync(metaFile) ? () => {} : await lockOrWait(final, metaFile);
  try {
    return await compileSetLocked(spec, mods, final, metaFile, otp, frameIds, openTypes, erlangIgnoredConstraints);
  } finally {
    unlock();
  }
}

/**
 * Take `<final>.lock` (a directory holding the owner's pid), or wait until
 * its owner has published `metaFile` or died. Returns the release function
 * (a no-op when we only waited).
 */
async function lockOrWait(final: string, metaFile: string): Promise<() => void> {
  const lock = `${final}.lock`;
  const t0 = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return () => fs.rmSync(lock, { recursive: true, force: true });
    } catch {
      /* held by someone */
    }
    if (fs.existsSync(metaFile)) return () => {};
    let alive = true;
    try {
      const pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      if (pid > 0) process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM' || !fs.existsSync(path.join(lock, 'pid'));
    }
    if (!alive || Date.now() - t0 > 15 * 60_000) {
      fs.rmSync(lock, { recursive: true, force: true }); // stale
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function compileSetLocked(
  spec: ModuleSetSpec,
  mods: PreparedModule[],
  final: string,
  metaFile: string,
  otp: string,
  frameIds: Record<string, number>,
  openTypes: OpenTypeEntry[],
  erlangIgnoredConstraints: string[],
): Promise<CompileInfo> {
  if (fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { compileMs: number; modules: string[] };
    return {
      set: spec.name,
      dir: spec.dir,
      workDir: final,
      ebinDir: path.join(final, 'ebin'),
      modules: meta.modules,
      compileMs: meta.compileMs,
      cached: true,
      otp,
      frameIds,
      openTypes,
      erlangIgnoredConstraints,
    };
  }
  const tmp = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const src = path.join(tmp, 'src');
  const ebin = path.join(tmp, 'ebin');
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(ebin, { recursive: true });
  for (const m of mods) fs.writeFileSync(path.join(src, `${m.name}.asn`), Buffer.from(m.text, 'latin1'));

  const t0 = Date.now();
  const compileOne = (name: string) =>
    run('erlc', [...ERLC_FLAGS, '-I', ebin, '-I', src, '-o', ebin, `${name}.asn`], src);
  const failed = new Map<string, string>();
  const workers = Math.max(1, Math.min(2, os.availableParallelism?.() ?? os.cpus().length));
  for (const layer of layers(mods)) {
    const queue = [...layer];
    // modules of one layer only import earlier layers, so they can compile in parallel
    const parallel = layer.every((n) => mods.find((m) => m.name === n)!.imports.every((d) => !layer.includes(d)));
    const n = parallel ? workers : 1;
    await Promise.all(
      Array.from({ length: n }, async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          const r = await compileOne(name);
          if (r.code !== 0) failed.set(name, r.out);
        }
      }),
    );
  }
  // loop until everything compiles (import cycles), or no progress
  for (let progress = true; failed.size > 0 && progress; ) {
    progress = false;
    for (const name of [...failed.keys()]) {
      const r = await compileOne(name);
      if (r.code === 0) {
        failed.delete(name);
        progress = true;
      } else failed.set(name, r.out);
    }
  }
  const compileMs = Date.now() - t0;
  if (failed.size > 0) {
    const log = [...failed].map(([n, o]) => `--- ${n}\n${o.split('\n').slice(0, 15).join('\n')}`).join('\n');
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`erlc failed for ${failed.size} module(s) of ${spec.name} (${spec.dir}):\n${log}`);
  }
  const modules = mods.map((m) => m.name);
  fs.writeFileSync(
    path.join(tmp, 'meta.json'),
    JSON.stringify({ set: spec.name, dir: spec.dir, modules, compileMs, otp, rewritten: mods.filter((m) => m.rewritten).map((m) => m.name) }, null, 1),
  );
  publish(tmp, final);
  return { set: spec.name, dir: spec.dir, workDir: final, ebinDir: path.join(final, 'ebin'), modules, compileMs, cached: false, otp, frameIds, openTypes, erlangIgnoredConstraints };
}

/**
 * Compile a module set with erlc (or take it from the cache) and start its
 * reference server. Throws when Erlang is missing or a module does not compile.
 */
export async function compileErlangRef(spec: ModuleSetSpec): Promise<ErlangRef> {
  const av = probeErlang();
  if (!av.ok) throw new Error(av.reason);
  const root = cacheRoot();
  const shim = await compileShim(root, av.otp!);
  const info = await compileSet(spec, root, av.otp!);
  const ref = new ErlangRef(info, shim);
  await ref.ready();
  if (info.openTypes.length > 0) await ref.loadOpenTypes();
  return ref;
}

// ---------------------------------------------------------------- server client

interface Pending {
  cmd: string;
  lines: string[];
  resolve: (r: { lines: string[]; final: string }) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export class ErlangRef {
  readonly info: CompileInfo;
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private buf = '';
  private stderrTail = '';
  private closed = false;
  private exitError?: Error;
  private readonly readyP: Promise<void>;
  private typesCache?: Record<string, string[]>;

  /** Use compileErlangRef(). */
  constructor(info: CompileInfo, shimDir: string) {
    this.info = info;
    this.proc = spawn(
      'erl',
      ['-noshell', '-pa', info.ebinDir, '-pa', shimDir, '-rsu_ebin', info.ebinDir, '-s', 'rsu_ref', 'main'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => this.onData(d));
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-8000);
    });
    this.proc.stdin.on('error', () => {
      /* reported through 'exit' */
    });
    this.proc.on('error', (e) => this.fail(e));
    this.proc.on('exit', (code, signal) => {
      this.closed = true;
      this.fail(new ErlangRefError(`erl exited (code ${code}, signal ${signal})${this.stderrTail ? `: ${this.stderrTail}` : ''}`));
    });
    // the server announces itself with "OK ready" before reading requests
    this.readyP = new Promise<void>((resolve, reject) => {
      this.queue.push({ cmd: '(start)', lines: [], resolve: () => resolve(), reject });
    });
  }

  /** Resolves once the server has started. */
  ready(): Promise<void> {
    return this.readyP;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  private fail(e: Error): void {
    this.exitError ??= e;
    for (const p of this.queue.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const cur = this.queue[0];
      if (!cur) continue; // nothing asked: ignore
      if (line === 'OK' || line.startsWith('OK ') || line.startsWith('ERR ')) {
        this.queue.shift();
        if (cur.timer) clearTimeout(cur.timer);
        cur.resolve({ lines: cur.lines, final: line });
      } else {
        cur.lines.push(line);
      }
    }
  }

  /**
   * Send one protocol line; resolves with the reply's intermediate lines and
   * its final "OK ..."/"ERR ..." line. On timeout the server is killed
   * (the protocol would be out of step otherwise).
   */
  raw(line: string, timeoutMs = 300_000): Promise<{ lines: string[]; final: string }> {
    if (line.includes('\n')) return Promise.reject(new ErlangRefError('request must be one line'));
    if (this.closed || this.exitError) return Promise.reject(this.exitError ?? new ErlangRefError('ErlangRef closed'));
    return new Promise((resolve, reject) => {
      const p: Pending = { cmd: line, lines: [], resolve, reject };
      p.timer = setTimeout(() => {
        this.fail(new ErlangRefError(`timeout after ${timeoutMs} ms: ${line.slice(0, 200)}`));
        this.proc.kill('SIGKILL');
      }, timeoutMs);
      this.queue.push(p);
      this.proc.stdin.write(line + '\n');
    });
  }

  private async ok(line: string, timeoutMs?: number): Promise<{ lines: string[]; body: string }> {
    const r = await this.raw(line, timeoutMs);
    if (r.final.startsWith('ERR ')) {
      const err = r.final.slice(4);
      throw new ErlangRefError(`Erlang: ${err.slice(0, 2000)} (request: ${line.slice(0, 200)})`, err);
    }
    return { lines: r.lines, body: r.final.slice(3) };
  }

  /** Tell the server which type each open-type id selects (done by compileErlangRef). */
  async loadOpenTypes(): Promise<number> {
    const entries: string[] = [];
    for (const e of this.info.openTypes) {
      const m = await this.moduleOf(e.type);
      if (m) entries.push(`${e.id}:${m}:${e.type}`);
    }
    return Number((await this.ok(`opentypes ${entries.join(' ')}`)).body);
  }

  /** The J2735 MessageFrame spec for a message type, when the set has one. */
  async frameFor(type: string): Promise<FrameSpec | undefined> {
    const id = this.info.frameIds[type];
    const module = await this.moduleOf('MessageFrame');
    if (id === undefined || !module) return undefined;
    return { module, type: 'MessageFrame', idField: 'messageId', valueField: 'value', id };
  }

  async ping(): Promise<boolean> {
    return (await this.ok('ping')).body === 'pong';
  }

  /** Erlang module -> ASN.1 type names it holds (from the compiled modules). */
  async types(): Promise<Record<string, string[]>> {
    this.typesCache ??= JSON.parse((await this.ok('types')).body) as Record<string, string[]>;
    return this.typesCache;
  }

  /**
   * The module that defines a type ("Module.Type" is accepted and checked);
   * undefined when no module does. When several do, the first in name order.
   */
  async moduleOf(type: string): Promise<string | undefined> {
    const t = await this.types();
    const dot = type.indexOf('.');
    if (dot > 0) {
      const [m, ty] = [type.slice(0, dot), type.slice(dot + 1)];
      return t[m]?.includes(ty) ? m : undefined;
    }
    return Object.keys(t)
      .sort()
      .find((m) => t[m]!.includes(type));
  }

  private static randomOpts(opts: RandomOptions): string {
    const avoid = opts.avoid?.length ? opts.avoid.join(',') : '-';
    if (/\s/.test(avoid)) throw new ErlangRefError(`bad avoid list ${avoid}`);
    return `${opts.mutate === false ? '0' : '1'} ${avoid}`;
  }

  private static parseValues(lines: string[]): RandomValue[] {
    return lines.map((l) => {
      if (!l.startsWith('V ')) throw new ErlangRefError(`unexpected line: ${l.slice(0, 200)}`);
      const sp = l.indexOf(' ', 2);
      return { hex: l.slice(2, sp).toLowerCase(), jer: JSON.parse(l.slice(sp + 1)) as unknown };
    });
  }

  /** n random values of module:type, reproducible for a seed, with the draw statistics. */
  async randomWithStats(module: string, type: string, n: number, seed: number, opts: RandomOptions = {}): Promise<{ values: RandomValue[]; stats: RandomStats }> {
    const r = await this.ok(`random ${module} ${type} ${n} ${seed} ${ErlangRef.randomOpts(opts)}`, opts.timeoutMs);
    return { values: ErlangRef.parseValues(r.lines), stats: JSON.parse(r.body) as RandomStats };
  }

  /** n random values of module:type, reproducible for a seed. */
  async random(module: string, type: string, n: number, seed: number, opts: RandomOptions = {}): Promise<RandomValue[]> {
    return (await this.randomWithStats(module, type, n, seed, opts)).values;
  }

  /** Like randomWithStats, each value wrapped in a frame (J2735 MessageFrame) whose value field is an open type. */
  async randomFrameWithStats(frame: FrameSpec, module: string, type: string, n: number, seed: number, opts: RandomOptions = {}): Promise<{ values: RandomValue[]; stats: RandomStats }> {
    const r = await this.ok(
      `randomframe ${frame.module} ${frame.type} ${frame.idField} ${frame.valueField} ${frame.id} ${module} ${type} ${n} ${seed} ${ErlangRef.randomOpts(opts)}`,
      opts.timeoutMs,
    );
    return { values: ErlangRef.parseValues(r.lines), stats: JSON.parse(r.body) as RandomStats };
  }

  /** Erlang's decode of UPER hex as JER plus the bits left after the value. Throws ErlangRefError. */
  async decodeWithRest(module: string, type: string, hex: string): Promise<{ jer: unknown; restBits: number }> {
    const clean = hex.replace(/\s+/g, '');
    return JSON.parse((await this.ok(`decode ${module} ${type} ${clean}`)).body) as { jer: unknown; restBits: number };
  }

  /** Erlang's decode of UPER hex, as JER. Throws ErlangRefError (the server keeps running). */
  async decode(module: string, type: string, hex: string): Promise<unknown> {
    return (await this.decodeWithRest(module, type, hex)).jer;
  }

  /** UPER (lower-case hex) of a JER value, via Erlang's jer_decode + encode. */
  async encode(module: string, type: string, jer: unknown): Promise<string> {
    return (await this.ok(`encode ${module} ${type} ${JSON.stringify(jer)}`)).body.toLowerCase();
  }

  /** Time `iterations` decodes and encodes of one message in Erlang. */
  async bench(module: string, type: string, hex: string, iterations: number): Promise<BenchResult> {
    return JSON.parse((await this.ok(`bench ${module} ${type} ${hex.replace(/\s+/g, '')} ${iterations}`, 600_000)).body) as BenchResult;
  }

  /** Stop the server (quit, then SIGKILL after 5 s). */
  async close(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      this.proc.stdin.write('quit\n');
      this.proc.stdin.end();
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
