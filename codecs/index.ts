// Public codec API: load a message set, encode and decode its types with JER-shaped values: UNALIGNED PER for
// the V2X message sets, canonical OER (C-OER) for the IEEE 1609.2 security structures.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CODEGEN_VERSION } from './compiler/codegen.js';
import { compileSources, compileToIR, readModuleDir, type Source } from './compiler/compile.js';
import { generateOer, OER_CODEGEN_VERSION } from './compiler/oer-codegen.js';
import { OerReader, OerWriter } from './oer/runtime.js';
import { BitReader, BitWriter, checks, DecodeError, EncodeError, fromHex, toHex } from './per/runtime.js';
import type { Types as Csae2019Types } from './generated/csae2019.js';
import type { Types as Csae2020Types } from './generated/csae2020.js';

export { DecodeError, EncodeError, fromHex, toHex };
export { Asn1SyntaxError } from './asn1/lexer.js';
export { Asn1SemanticError } from './asn1/resolve.js';

export type StdName = 'csae2020' | 'csae2019' | 'j2735-2020' | 'j2735-2016';
export const STD_NAMES: readonly StdName[] = ['csae2020', 'csae2019', 'j2735-2020', 'j2735-2016'];

export interface TypeMap {
  csae2019: Csae2019Types;
  csae2020: Csae2020Types;
  // J2735 types come from the deployer's licensed modules at run time: not known to the compiler here.
  'j2735-2020': Record<string, unknown>;
  'j2735-2016': Record<string, unknown>;
}

/** Raised when bytes remain after a complete value; the decoded value and the extra bytes are kept. */
export class TrailingBytesError extends DecodeError {
  constructor(
    readonly value: unknown,
    readonly trailing: Uint8Array,
    bitOffset: number,
    unit: 'bit' | 'byte' = 'bit',
  ) {
    super(`${trailing.length} byte(s) left over after a complete value`, bitOffset, unit);
    this.name = 'TrailingBytesError';
  }
}

export interface DecodeResult<V> {
  value: V;
  /** Bytes after the complete encoding (some public fixtures carry them); empty when none. */
  trailing: Uint8Array;
}

/** The encoding rule of a set: UNALIGNED PER (X.691) or canonical OER (X.696 clause 9). */
export type EncodingRule = 'uper' | 'coer';

export interface MessageSet<T = Record<string, unknown>, N extends string = StdName> {
  readonly name: N;
  readonly rule: EncodingRule;
  /** Every type name the set can code: the ASN.1 name, or Module.Name where two modules share a name. */
  readonly typeNames: readonly string[];
  has(typeName: string): boolean;
  /** Encode; a component the type does not have is an error (JSON from people and the cloud may carry typos). */
  encode<K extends keyof T & string>(typeName: K, value: T[K]): Uint8Array;
  /** Encode a value built by code, skipping the unknown-component check (every other check stays). */
  encodeTrusted<K extends keyof T & string>(typeName: K, value: T[K]): Uint8Array;
  /** Decode one complete value; leftover bytes raise TrailingBytesError (which carries the value). */
  decode<K extends keyof T & string>(typeName: K, bytes: Uint8Array): T[K];
  /** Decode one complete value and return the bytes after it instead of failing on them. */
  decodePrefix<K extends keyof T & string>(typeName: K, bytes: Uint8Array): DecodeResult<T[K]>;
}

type Codec = [(w: BitWriter, v: unknown) => void, (r: BitReader) => unknown];
interface GeneratedModule {
  codecs: Record<string, Codec>;
  typeNames: string[];
}

export interface LoadOptions {
  /** Directory of ASN.1 modules. Required for J2735 (or RSU_J2735_ASN1_DIR); for CSAE, replaces the shipped modules. */
  asn1Dir?: string;
  /** Where compiled codecs of deployer modules are cached (default RSU_CODEC_CACHE or ~/.cache/rsu/codecs). */
  cacheDir?: string;
}

const loaded = new Map<string, Promise<MessageSet<never>>>();

export function loadMessageSet<S extends StdName>(name: S, opts: LoadOptions = {}): Promise<MessageSet<TypeMap[S]>> {
  if (!STD_NAMES.includes(name)) throw new Error(`unknown message set ${JSON.stringify(name)}: expected one of ${STD_NAMES.join(', ')}`);
  const key = `${name}\0${opts.asn1Dir ?? ''}`;
  let p = loaded.get(key);
  if (!p) {
    p = load(name, opts) as Promise<MessageSet<never>>;
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p as Promise<MessageSet<TypeMap[S]>>;
}

async function load(name: StdName, opts: LoadOptions): Promise<MessageSet> {
  let mod: GeneratedModule;
  if (name.startsWith('csae') && !opts.asn1Dir) {
    mod = (name === 'csae2019' ? await import('./generated/csae2019.js') : await import('./generated/csae2020.js')) as unknown as GeneratedModule;
  } else {
    const dir = name.startsWith('j2735') ? j2735Dir(name as 'j2735-2020' | 'j2735-2016', opts.asn1Dir) : opts.asn1Dir!;
    mod = await compileCached(name, dir, opts.cacheDir);
    checkModules(name, dir, mod.typeNames);
  }
  return wrapSet(name, mod, UPER()) as MessageSet;
}

/** Types every J2735 edition (2016, 2020) defines and the CSAE sets do not: a directory without them is not J2735. */
const J2735_MARKERS = ['DSRCmsgID', 'TravelerInformation', 'PersonalSafetyMessage', 'MessageFrame'];

/**
 * Refuse modules that are not of the set they are loaded as (a CSAE directory given as J2735 compiles, then every
 * message fails to encode): J2735 needs its MessageFrame, DSRCmsgID, TIM and PSM types.
 */
export function checkModules(name: string, dir: string, typeNames: readonly string[]): void {
  if (!name.startsWith('j2735')) return;
  const has = (t: string) => typeNames.some((n) => n === t || n.endsWith(`.${t}`));
  const missing = J2735_MARKERS.filter((t) => !has(t));
  if (!missing.length) return;
  const csae = has('RoadSideInformation') || has('RoadsideSafetyMessage') ? ' (they look like CSAE modules: use --std csae2020 or csae2019)' : '';
  throw new Error(`${dir}: these are not SAE J2735 modules${csae}: no ${missing.join(', ')} among their ${typeNames.length} types; point --asn1 or RSU_J2735_ASN1_DIR at the deployer's J2735 ASN.1 files`);
}

/**
 * Where a deployer's J2735 modules are: `asn1Dir` or RSU_J2735_ASN1_DIR, either holding the modules of the
 * version directly or subdirectories named `2016` and `2020`.
 */
export function j2735Dir(name: 'j2735-2020' | 'j2735-2016', asn1Dir?: string): string {
  const base = asn1Dir ?? process.env.RSU_J2735_ASN1_DIR;
  if (!base) {
    throw new Error(
      `${name} needs the deployer's licensed SAE J2735 ASN.1 modules, which this project may not ship: pass --asn1 DIR or set RSU_J2735_ASN1_DIR`,
    );
  }
  const sub = join(base, name.slice(6));
  return existsSync(sub) ? sub : base;
}

/** Compile a module directory into a cached ES module (keyed by content and compiler version) and load it. */
export async function compileCached(name: string, dir: string, cacheDir?: string): Promise<GeneratedModule> {
  const sources = readModuleDir(dir);
  const h = createHash('sha256');
  h.update(`v${CODEGEN_VERSION}\0`);
  for (const s of sources) h.update(s.text).update('\0');
  const file = join(codecCacheDir(cacheDir), `${name}-${h.digest('hex').slice(0, 16)}.mjs`);
  return importCached(file, RUNTIME_URL, () => compileSources(sources, RUNTIME_URL));
}

function codecCacheDir(cacheDir?: string): string {
  return cacheDir ?? process.env.RSU_CODEC_CACHE ?? join(homedir(), '.cache', 'rsu', 'codecs');
}

/**
 * The generated module in `file`, generated first when missing or built against another runtime (`runtimeUrl`, which
 * the code imports); written to a temporary name and renamed, so a concurrent reader never sees half a file.
 */
async function importCached(file: string, runtimeUrl: string, generate: () => { js: string; types: string }): Promise<GeneratedModule> {
  if (!existsSync(file) || !readFileSync(file, 'utf8').includes(runtimeUrl)) {
    const gen = generate();
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, gen.js);
    renameSync(tmp, file);
    writeFileSync(file.replace(/\.mjs$/, '.d.ts'), gen.types);
  }
  return (await import(pathToFileURL(file).href)) as GeneratedModule;
}

const RUNTIME_URL = new URL('./per/runtime.js', import.meta.url).href;

/** What differs between the encoding rules around the generated code: buffers, and where a value's bytes end. */
interface Rule<W extends { reset(): void; finish(): Uint8Array }, R> {
  rule: 'uper' | 'coer';
  writer: W;
  reader(bytes: Uint8Array): R;
  /** Bytes taken by the value just read (throws for input too short to hold one). */
  used(r: R, bytes: Uint8Array): number;
  /** How the rule counts offsets in errors. */
  unit: 'bit' | 'byte';
}

const UPER: () => Rule<BitWriter, BitReader> = () => ({
  rule: 'uper',
  writer: new BitWriter(4096),
  reader: (bytes) => new BitReader(bytes),
  used(r, bytes) {
    const used = Math.max(1, (r.pos + 7) >>> 3);
    if (used > bytes.length) throw new DecodeError('empty input', 0);
    return used;
  },
  unit: 'bit',
});

const COER: () => Rule<OerWriter, OerReader> = () => ({
  rule: 'coer',
  writer: new OerWriter(1024),
  reader: (bytes) => new OerReader(bytes),
  used: (r) => r.pos,
  unit: 'byte',
});

/** A message set over a generated module's [encoder, decoder] pairs, for one encoding rule. */
function wrapSet<N extends string, W extends { reset(): void; finish(): Uint8Array }, R>(name: N, mod: GeneratedModule, rule: Rule<W, R>): MessageSet<Record<string, unknown>, N> {
  type AnyCodec = [(w: W, v: unknown) => void, (r: R) => unknown];
  const codecs = new Map<string, AnyCodec>(Object.entries(mod.codecs) as unknown as [string, AnyCodec][]);
  const { writer } = rule;
  const codec = (typeName: string): AnyCodec => {
    const c = codecs.get(typeName);
    if (!c) throw new Error(`${name} has no type ${JSON.stringify(typeName)}`);
    return c;
  };
  const decodePrefix = (typeName: string, bytes: Uint8Array): DecodeResult<unknown> => {
    const [, dec] = codec(typeName);
    const r = rule.reader(bytes);
    try {
      const value = dec(r);
      return { value, trailing: bytes.subarray(rule.used(r, bytes)) };
    } catch (e) {
      if (e instanceof DecodeError) throw e.finish(typeName);
      throw e;
    }
  };
  const encode = (typeName: string, value: unknown, strict: boolean): Uint8Array => {
    const [enc] = codec(typeName);
    writer.reset();
    checks.unknownKeys = strict;
    try {
      enc(writer, value);
    } catch (e) {
      if (e instanceof EncodeError) throw e.finish(typeName);
      throw e;
    } finally {
      checks.unknownKeys = true;
    }
    return writer.finish();
  };
  return {
    name,
    rule: rule.rule,
    typeNames: mod.typeNames,
    has: (t) => codecs.has(t),
    encode: (typeName, value) => encode(typeName, value, true),
    encodeTrusted: (typeName, value) => encode(typeName, value, false),
    decode(typeName, bytes) {
      const { value, trailing } = decodePrefix(typeName, bytes);
      if (trailing.length) throw new TrailingBytesError(value, trailing, (bytes.length - trailing.length) * 8, rule.unit).finish(typeName);
      return value as never;
    },
    decodePrefix: decodePrefix as MessageSet['decodePrefix'],
  };
}

// ---- C-OER sets: IEEE 1609.2 (and any deployer module directory compiled for OER)

/**
 * The IEEE 1609.2 editions: from the deployer's modules 2016 with its amendments, 2022 (adds SM2/SM3/SM4) and the
 * China profile; built in (compiled at build time from codecs/sets/, written for this project) `builtin`, the
 * structures an RSU signs and verifies with in 2022's terms (reads 2016 as well), and `builtin-china`.
 */
export type Ieee1609Dot2Edition = '2016' | '2022' | 'china' | 'builtin' | 'builtin-china';
export const IEEE1609DOT2_EDITIONS: readonly Ieee1609Dot2Edition[] = ['2022', '2016', 'china', 'builtin', 'builtin-china'];

/**
 * The edition to use when none is named: the deployer's full modules when `asn1Dir` or RSU_IEEE1609DOT2_ASN1_DIR
 * gives them, otherwise the built-in set (so a clean clone signs and verifies).
 */
export function defaultIeee1609Dot2Edition(profile: 'ieee' | 'china' = 'ieee', asn1Dir?: string): Ieee1609Dot2Edition {
  const full = !!(asn1Dir ?? process.env.RSU_IEEE1609DOT2_ASN1_DIR);
  if (profile === 'china') return full ? 'china' : 'builtin-china';
  return full ? '2022' : 'builtin';
}
export type OerSetName = `ieee1609dot2-${Ieee1609Dot2Edition}` | `oer:${string}`;

export interface OerLoadOptions {
  /** Directory of ASN.1 modules (default RSU_IEEE1609DOT2_ASN1_DIR): the edition's modules, or subdirectories 2016/, 2022/, china/. */
  asn1Dir?: string;
  /** Where compiled codecs are cached (default RSU_CODEC_CACHE or ~/.cache/rsu/codecs). */
  cacheDir?: string;
}

/**
 * Where a deployer's IEEE 1609.2 modules are. IEEE publishes them without a licence to redistribute, so the
 * project does not ship them (like J2735): `asn1Dir` or RSU_IEEE1609DOT2_ASN1_DIR, holding the modules of one
 * edition directly or subdirectories named after the editions.
 */
export function ieee1609Dot2Dir(edition: Ieee1609Dot2Edition, asn1Dir?: string): string {
  const base = asn1Dir ?? process.env.RSU_IEEE1609DOT2_ASN1_DIR;
  if (!base) {
    throw new Error(
      `IEEE 1609.2 (${edition}) needs the ASN.1 modules, which IEEE publishes without a licence to redistribute: pass --asn1 DIR or set RSU_IEEE1609DOT2_ASN1_DIR (see codecs/README.md)`,
    );
  }
  const sub = join(base, edition);
  return existsSync(sub) ? sub : base;
}

const oerLoaded = new Map<string, Promise<MessageSet<Record<string, unknown>, OerSetName>>>();

/**
 * The C-OER codec of an IEEE 1609.2 edition: `encode('Ieee1609Dot2Data', v)`, `decode('Certificate', bytes)`,
 * with the same values, errors and checks as the UPER sets (`rule` is 'coer'; errors say `at byte N`).
 */
export function loadIeee1609Dot2(edition: Ieee1609Dot2Edition = '2022', opts: OerLoadOptions = {}): Promise<MessageSet<Record<string, unknown>, OerSetName>> {
  if (!IEEE1609DOT2_EDITIONS.includes(edition)) throw new Error(`unknown IEEE 1609.2 edition ${JSON.stringify(edition)}: expected one of ${IEEE1609DOT2_EDITIONS.join(', ')}`);
  if (edition === 'builtin' || edition === 'builtin-china') return loadBuiltinOer(edition);
  return loadOerModules(ieee1609Dot2Dir(edition, opts.asn1Dir), { ...opts, name: `ieee1609dot2-${edition}` });
}

/** Compile any directory of ASN.1 modules to a C-OER codec (cached like the J2735 sets). */
export function loadOerModules(dir: string, opts: { cacheDir?: string; name?: OerSetName } = {}): Promise<MessageSet<Record<string, unknown>, OerSetName>> {
  const key = `${dir}\0${opts.cacheDir ?? ''}`;
  let p = oerLoaded.get(key);
  if (!p) {
    const name: OerSetName = opts.name ?? `oer:${dir}`;
    p = compileCachedOer(name, readModuleDir(dir), opts.cacheDir).then((mod) => wrapSet(name, mod, COER()));
    oerLoaded.set(key, p);
    p.catch(() => oerLoaded.delete(key));
  }
  return p;
}

const builtinLoaded = new Map<string, Promise<MessageSet<Record<string, unknown>, OerSetName>>>();

function loadBuiltinOer(edition: 'builtin' | 'builtin-china'): Promise<MessageSet<Record<string, unknown>, OerSetName>> {
  let p = builtinLoaded.get(edition);
  if (!p) {
    const mod = edition === 'builtin' ? import('./generated/ieee1609dot2.js') : import('./generated/ieee1609dot2-china.js');
    p = mod.then((m) => wrapSet(`ieee1609dot2-${edition}` as OerSetName, m as unknown as GeneratedModule, COER()));
    builtinLoaded.set(edition, p);
  }
  return p;
}

const OER_RUNTIME_URL = new URL('./oer/runtime.js', import.meta.url).href;

async function compileCachedOer(name: string, sources: Source[], cacheDir?: string): Promise<GeneratedModule> {
  const h = createHash('sha256');
  h.update(`coer v${OER_CODEGEN_VERSION}.${CODEGEN_VERSION}\0`);
  for (const s of sources) h.update(s.text).update('\0');
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  const file = join(codecCacheDir(cacheDir), `${safe}-coer-${h.digest('hex').slice(0, 16)}.mjs`);
  return importCached(file, OER_RUNTIME_URL, () => generateOer(compileToIR(sources), OER_RUNTIME_URL));
}

/**
 * JSON text of a JER value. Integers beyond 2^53 (1609.2 Time64) are bigints in values and are written as JSON
 * numbers, as X.697 wants; JSON.stringify alone throws on bigint.
 */
export function toJerJson(value: unknown, space?: number): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, x) => (typeof x === 'bigint' ? `\u0000big${marks.push(x.toString()) - 1}\u0000` : x), space);
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
}
