// Public codec API: load a message set, encode and decode its types in UNALIGNED PER with JER-shaped values.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CODEGEN_VERSION } from './compiler/codegen.js';
import { compileSources, readModuleDir } from './compiler/compile.js';
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
  ) {
    super(`${trailing.length} byte(s) left over after a complete value`, bitOffset);
    this.name = 'TrailingBytesError';
  }
}

export interface DecodeResult<V> {
  value: V;
  /** Bytes after the complete encoding (some public fixtures carry them); empty when none. */
  trailing: Uint8Array;
}

export interface MessageSet<T = Record<string, unknown>> {
  readonly name: StdName;
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
  return wrap(name, mod);
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
  const file = join(cacheDir ?? process.env.RSU_CODEC_CACHE ?? join(homedir(), '.cache', 'rsu', 'codecs'), `${name}-${h.digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file) || !readFileSync(file, 'utf8').includes(RUNTIME_URL)) {
    const gen = compileSources(sources, RUNTIME_URL);
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, gen.js);
    renameSync(tmp, file);
    writeFileSync(file.replace(/\.mjs$/, '.d.ts'), gen.types);
  }
  return (await import(pathToFileURL(file).href)) as GeneratedModule;
}

const RUNTIME_URL = new URL('./per/runtime.js', import.meta.url).href;

function wrap(name: StdName, mod: GeneratedModule): MessageSet {
  const codecs = new Map<string, Codec>(Object.entries(mod.codecs));
  const writer = new BitWriter(4096);
  const codec = (typeName: string): Codec => {
    const c = codecs.get(typeName);
    if (!c) throw new Error(`${name} has no type ${JSON.stringify(typeName)}`);
    return c;
  };
  const decodePrefix = (typeName: string, bytes: Uint8Array): DecodeResult<unknown> => {
    const [, dec] = codec(typeName);
    const r = new BitReader(bytes);
    let value: unknown;
    try {
      value = dec(r);
    } catch (e) {
      if (e instanceof DecodeError) throw e.finish(typeName);
      throw e;
    }
    const used = Math.max(1, (r.pos + 7) >>> 3);
    if (used > bytes.length) throw new DecodeError('empty input', 0).finish(typeName);
    return { value, trailing: bytes.subarray(used) };
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
    typeNames: mod.typeNames,
    has: (t) => codecs.has(t),
    encode: (typeName, value) => encode(typeName, value, true),
    encodeTrusted: (typeName, value) => encode(typeName, value, false),
    decode(typeName, bytes) {
      const { value, trailing } = decodePrefix(typeName, bytes);
      if (trailing.length) throw new TrailingBytesError(value, trailing, (bytes.length - trailing.length) * 8).finish(typeName);
      return value as never;
    },
    decodePrefix: decodePrefix as MessageSet['decodePrefix'],
  };
}
