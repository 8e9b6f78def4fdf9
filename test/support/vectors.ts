/**
 * Helpers for the conformance tests against the public vectors in test/vectors (see its README):
 * where the vectors and module sets are, reading hex, the type IR of a message set (for type-directed
 * comparisons), and a value diff that names the path of every disagreement.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileToIR, readModuleDir } from '../../codecs/compiler/compile.js';
import type { MessageSetIR } from '../../codecs/asn1/ir.js';
import { fromHex, j2735Dir, toHex } from '../../codecs/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
/** The public vectors: RSU_VECTORS_DIR, or the repository's test/vectors. */
export const VECTORS = process.env.RSU_VECTORS_DIR ?? path.resolve(REPO, 'test', 'vectors');
export const CSAE_VECTORS = path.join(VECTORS, 'csae');
export const J2735_VECTORS = path.join(VECTORS, 'j2735');

/** Why the vector tests cannot run here, or undefined when they can. */
export function vectorsMissing(): string | undefined {
  return existsSync(path.join(VECTORS, 'README.md')) ? undefined : `test vectors not found at ${VECTORS} (RSU_VECTORS_DIR)`;
}

/** The deployer's J2735 module directory (RSU_J2735_ASN1_DIR), or undefined. */
export function j2735AsnBase(): string | undefined {
  const d = process.env.RSU_J2735_ASN1_DIR;
  return d ? d.replace(/^~(?=\/|$)/, process.env.HOME ?? '~') : undefined;
}

/** Why a J2735 test must skip, or undefined when the licensed modules of `name` are available. */
export function j2735Missing(name: 'j2735-2016' | 'j2735-2020'): string | undefined {
  const base = j2735AsnBase();
  if (!base) return `${name}: SAE J2735 ASN.1 modules are licensed and not in the repository; set RSU_J2735_ASN1_DIR to a directory with 2016/ and 2020/ to run`;
  const dir = j2735Dir(name, base);
  if (!existsSync(dir)) return `${name}: RSU_J2735_ASN1_DIR=${base} has no ${dir}`;
  return undefined;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Hex text (any whitespace, either case) to bytes. */
export function hexBytes(text: string): Uint8Array {
  const hex = text.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex: ${JSON.stringify(hex.slice(0, 40))}`);
  return fromHex(hex);
}

export function hex(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}

const irCache = new Map<string, MessageSetIR>();

/** The PER-ready IR of a module directory, from the codec's own front end (types only; no values). */
export function loadIR(dir: string): MessageSetIR {
  let ir = irCache.get(dir);
  if (!ir) {
    ir = compileToIR(readModuleDir(dir));
    irCache.set(dir, ir);
  }
  return ir;
}

export function csaeModuleDir(name: 'csae2019' | 'csae2020'): string {
  return path.join(REPO, 'codecs', 'sets', name);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * Every place where `got` and `want` differ, as `path: got … want …` lines (empty when equal). Objects
 * compare by key set (not order), arrays by length and items, leaves by ===.
 */
export function diffValues(got: unknown, want: unknown, at = '', out: string[] = []): string[] {
  if (got === want) return out;
  if (Array.isArray(got) && Array.isArray(want)) {
    if (got.length !== want.length) out.push(`${at || '(root)'}: ${got.length} items, want ${want.length}`);
    for (let i = 0; i < Math.min(got.length, want.length); i++) diffValues(got[i], want[i], `${at}[${i}]`, out);
    return out;
  }
  if (isObj(got) && isObj(want)) {
    const keys = [...new Set([...Object.keys(got), ...Object.keys(want)])];
    for (const k of keys) {
      const p = at ? `${at}.${k}` : k;
      if (!(k in got)) out.push(`${p}: absent, want ${show(want[k])}`);
      else if (!(k in want)) out.push(`${p}: ${show(got[k])}, want absent`);
      else diffValues(got[k], want[k], p, out);
    }
    return out;
  }
  out.push(`${at || '(root)'}: ${show(got)}, want ${show(want)}`);
  return out;
}
