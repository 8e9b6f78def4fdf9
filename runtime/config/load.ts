// Reading the YAML file: syntax errors with line and column, validation issues mapped back to the line of the
// key they name.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { errnoText, pathKeys, type ConfigIssue } from './schema.js';
import type { RsuConfig } from './types.js';
import { validateConfig, type ValidationResult } from './validate.js';

export type { ConfigIssue } from './schema.js';

/** `FILE:LINE:COL: path: message`, with the parts that are known. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}:${issue.column ?? 1}` : ''}: ` : '';
  return `${where}${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

export class ConfigError extends Error {
  constructor(
    readonly errors: ConfigIssue[],
    readonly warnings: ConfigIssue[] = [],
  ) {
    super(`invalid configuration (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${errors.map((e) => `  ${formatIssue(e)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Line and column of `path` in the document: of its key when present, else of the deepest key of the path that
 * is (e.g. the section a missing key belongs in). Undefined when no key of the path is in the file (defaults).
 */
function locate(doc: Document, lc: LineCounter, path: string): { line: number; column: number } | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const k of pathKeys(path)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === k);
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof k === 'number' && node.items[k] !== undefined) {
      node = node.items[k];
      offset = (node as Node).range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) return undefined;
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

export interface CheckResult extends ValidationResult {
  /** The file as given. */
  file: string;
}

/**
 * Reads and validates a config file without starting anything: the body of `rsu config check FILE`.
 * Never throws; unreadable files and YAML syntax errors are reported as errors with line and column.
 */
export function configCheck(file: string, opts: { extraChecks?: (cfg: RsuConfig) => ConfigIssue[] } = {}): CheckResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { file, ok: false, warnings: [], errors: [{ file, path: '', message: `cannot read the config file: ${errnoText(e)}` }] };
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      file,
      ok: false,
      warnings: [],
      errors: doc.errors.map((e) => ({
        file,
        path: '',
        line: e.linePos?.[0].line,
        column: e.linePos?.[0].col,
        // prettyErrors appends " at line L, column C:" and an excerpt; line and column are fields here.
        message: `YAML syntax error: ${e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}`,
      })),
    };
  }
  const r = validateConfig(doc.toJS({ maxAliasCount: 1000 }), { baseDir: dirname(resolve(file)) });
  // Checks of the machine the config will run on (files, ports, directories), placed on the keys like the rest.
  const extra = r.config && opts.extraChecks ? opts.extraChecks(r.config) : [];
  if (extra.length) {
    r.errors.push(...extra);
    r.ok = false;
  }
  const place = (issues: ConfigIssue[]) =>
    issues
      .map((i): ConfigIssue => ({ ...i, file, ...locate(doc, lc, i.path) }))
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  return { ...r, file, errors: place(r.errors), warnings: place(r.warnings) };
}

export interface LoadOptions {
  /** Called for each warning (doubts that do not stop the daemon), e.g. to log them. */
  onWarning?: (issue: ConfigIssue) => void;
}

function settle(r: ValidationResult, opts: LoadOptions): RsuConfig {
  if (!r.config) throw new ConfigError(r.errors, r.warnings);
  r.warnings.forEach((w) => opts.onWarning?.(w));
  return r.config;
}

/** The default configuration (the demo site). Throws ConfigError when the demo calibration files are missing. */
export function defaultConfig(opts: LoadOptions = {}): RsuConfig {
  return settle(validateConfig({}), opts);
}

/**
 * Loads and validates the config file at `path`, or returns the defaults when no path is given.
 * Throws ConfigError listing every problem.
 */
export function loadConfig(path?: string, opts: LoadOptions = {}): RsuConfig {
  return path === undefined ? defaultConfig(opts) : settle(configCheck(path), opts);
}
