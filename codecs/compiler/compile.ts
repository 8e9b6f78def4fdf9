// Front end to back end: a directory of ASN.1 modules in, generated codec source out.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../asn1/ast.js';
import type { MessageSetIR } from '../asn1/ir.js';
import { parseModules } from '../asn1/parser.js';
import { resolveModules } from '../asn1/resolve.js';
import { generate } from './codegen.js';
import type { Generated } from './gen-base.js';

export interface Source {
  file: string;
  text: string;
}

/** The .asn/.asn1 files of a directory, in name order. */
export function readModuleDir(dir: string): Source[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read ASN.1 directory ${dir}: ${(e as Error).message}`);
  }
  const files = names.filter((n) => /\.(asn1?|ASN1?)$/.test(n) && statSync(join(dir, n)).isFile()).sort();
  if (!files.length) throw new Error(`no .asn files in ${dir}`);
  return files.map((n) => ({ file: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
}

export function parseSources(sources: Source[]): Module[] {
  return sources.flatMap((s) => parseModules(s.text, s.file));
}

export function compileToIR(sources: Source[]): MessageSetIR {
  return resolveModules(parseSources(sources));
}

export function compileSources(sources: Source[], runtimeImport: string): Generated {
  return generate(compileToIR(sources), runtimeImport);
}
