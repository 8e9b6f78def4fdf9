// The building blocks of the config definition (validate.ts), on Zod: one definition gives the validation, the
// defaults and the JSON Schema (docs/config.schema.json, for editors). What Zod leaves to us: our error texts (a
// key path, the value, the unit, a did-you-mean), and the checks that span keys, which run after the schema pass
// with the key path at hand. Object specs are typed against the config interfaces in types.ts: a field missing from
// a spec, or of the wrong type, is a compile error.

import { z } from 'zod';

export type Path = ReadonlyArray<string | number>;

export interface ConfigIssue {
  /** Key path, e.g. `sensors[2].pose.yaw`; empty for the document itself. */
  path: string;
  message: string;
  /** Set when the issue comes from a file: 1-based line and column of the key or value. */
  file?: string;
  line?: number;
  column?: number;
}

export interface Ctx {
  readonly errors: ConfigIssue[];
  readonly warnings: ConfigIssue[];
  /** Directory that relative file paths in the config are resolved against. */
  readonly baseDir: string;
}

export function newCtx(baseDir: string): Ctx {
  return { errors: [], warnings: [], baseDir };
}

export function fmtPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** Splits `a.b[2].c` back into keys. */
export function pathKeys(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

// The keys of an issue's path (a librdkafka property such as `sasl.password` is one key, not two).
const ISSUE_KEYS = new WeakMap<ConfigIssue, Path>();

export function fail(ctx: Ctx, path: Path, message: string): undefined {
  const issue = { path: fmtPath(path), message };
  ISSUE_KEYS.set(issue, path);
  ctx.errors.push(issue);
  return undefined;
}

export function warn(ctx: Ctx, path: Path, message: string): void {
  ctx.warnings.push({ path: fmtPath(path), message });
}

/** A file-system error as it reads in a message: "no such file (ENOENT)". */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent is not a directory',
  };
  return code ? `${words[code] ?? 'error'} (${code})` : (e as Error).message;
}

/** How a value is shown in messages: strings quoted, the rest as JSON, long values cut. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------------------
// Did-you-mean

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

const norm = (s: string) => s.toLowerCase().replace(/[-_ ]/g, '');

/** The closest candidate to `word`, if one is close enough to be a likely typo or a snake_case spelling. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = norm(c) === w ? 0 : editDistance(w, norm(c));
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(word.length / 3))) ? best : undefined;
}

const didYouMean = (word: string, candidates: readonly string[]) => {
  const s = suggest(word, candidates);
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
};

// ---------------------------------------------------------------------------------------------------------------
// Specs, and the validation under way

/** A config value: a Zod schema whose output is T. */
export type Spec<T> = z.ZodType<T>;
export type Check<T> = (v: T, path: Path, ctx: Ctx) => void;

/** What a spec expects, as it reads in "missing required key ... (expected)". */
const EXPECTED = new WeakMap<z.ZodType, string>();
/** Checks that span keys, run after the schema pass (runChecks). */
const CHECKS = new WeakMap<z.ZodType, Check<never>>();
/** Defaults computed at validation time (machine-dependent): left out of the JSON Schema. */
const COMPUTED_DEFAULTS = new WeakSet<z.ZodType>();

function expecting<S extends z.ZodType>(s: S, expected: string): S {
  EXPECTED.set(s, expected);
  return s;
}
const expectedOf = (s: z.ZodType): string => EXPECTED.get(s) ?? 'a value';

/** Registers a check that needs the whole value and its key path (messages that name other keys). */
export function checked<T>(spec: Spec<T>, check: Check<T>): Spec<T> {
  CHECKS.set(spec, check as Check<never>);
  return spec;
}

// Validation is synchronous: the spec code reaches the context (base directory, warnings) through this.
let current: Ctx | undefined;
// The input under validation, to tell problems in a built-in default (keys the file does not have) from the file's.
let currentInput: unknown;
let currentBase = 0;

// A message that Zod carries for a key that is absent; turned into `missing required key "k" (expected)`.
const MISSING = '\0missing:';
// Separates the messages of several unknown keys in one Zod issue.
const SEP = '\u0001';

/** A Zod error option: `missing` when the value is absent, else the message of `f`. */
const errorFn = (expected: string, f: (v: unknown) => string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? MISSING + expected : f(iss.input)),
});

/** Runs `fn` with a fresh error list, and moves its errors into Zod's issues (paths relative to the value). */
function intoZod<T>(zctx: z.core.$RefinementCtx, v: unknown, fn: (ctx: Ctx) => T | undefined): T {
  const ctx: Ctx = { errors: [], warnings: current?.warnings ?? [], baseDir: current?.baseDir ?? process.cwd() };
  const r = fn(ctx);
  for (const e of ctx.errors) zctx.issues.push({ code: 'custom', message: e.message, input: v, path: [...(ISSUE_KEYS.get(e) ?? pathKeys(e.path))] });
  return (r === undefined || ctx.errors.length > 0 ? z.NEVER : r) as T;
}

/** A value checked by code (`parse` reports and returns undefined, or converts); `json` is its JSON Schema. */
export function custom<T>(expected: string, json: Record<string, unknown>, parse: (v: unknown, path: Path, ctx: Ctx) => T | undefined): Spec<T> {
  const s = z
    .custom<unknown>(() => true)
    .transform((v, zctx): T => {
      if (v !== undefined) return intoZod(zctx, v, (ctx) => parse(v, [], ctx));
      zctx.issues.push({ code: 'custom', message: MISSING + expected, input: v });
      return z.NEVER;
    })
    .meta(json);
  return expecting(s, expected) as Spec<T>;
}

/** A spec with an extra check or conversion after the base spec accepted the value. */
export function refine<A, B = A>(base: Spec<A>, fn: (v: A, path: Path, ctx: Ctx) => B | undefined, expected = expectedOf(base)): Spec<B> {
  return expecting(base.transform((v, zctx) => intoZod(zctx, v, (ctx) => fn(v, [], ctx))), expected) as Spec<B>;
}

/**
 * Parses `input` with `spec`: the schema pass, then the checks that span keys, each where the value below it had no
 * error (so one run names every problem it can). Errors and warnings go to `ctx`, with key paths under `path`.
 */
export function parseWith<T>(spec: Spec<T>, input: unknown, path: Path, ctx: Ctx): T | undefined {
  const prev = [current, currentInput, currentBase] as const;
  [current, currentInput, currentBase] = [ctx, input, path.length];
  try {
    const r = spec.safeParse(input, { reportInput: true });
    if (!r.success) {
      const issues = zodIssues(r.error, path);
      ctx.errors.push(...issues);
      checkCleanParts(spec, input, path, ctx, issues.map((i) => i.path));
      return undefined;
    }
    const before = ctx.errors.length;
    runChecks(spec, r.data, path, ctx);
    return ctx.errors.length === before ? r.data : undefined;
  } finally {
    [current, currentInput, currentBase] = prev;
  }
}

/** Whether the input lacks `keys` (below the validation's base path): the value there is a built-in default. */
function inDefault(keys: ReadonlyArray<PropertyKey>): boolean {
  let v = currentInput;
  for (const k of keys) {
    if (v === null || typeof v !== 'object' || (v as Record<PropertyKey, unknown>)[k] == null) return true;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return false;
}
const DEFAULT_NOTE = ' (in the built-in default)';

/** Zod's issues as ours: one per key path (the first), unknown keys one each, absent keys named. */
function zodIssues(err: z.ZodError, base: Path): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const iss of err.issues) {
    const keys: Array<string | undefined> = iss.code === 'unrecognized_keys' ? iss.keys : [undefined];
    const messages = iss.message.split(SEP);
    keys.forEach((k, i) => {
      const keyPath = [...base, ...(iss.path as Array<string | number>), ...(k === undefined ? [] : [k])];
      const path = fmtPath(keyPath);
      if (seen.has(path)) return;
      seen.add(path);
      const m = messages[i] ?? messages[0]!;
      const note = inDefault((iss.path as PropertyKey[]).slice(0, -1)) ? DEFAULT_NOTE : '';
      out.push({ path, message: (m.startsWith(MISSING) ? `missing required key "${String(keyPath.at(-1))}" (${m.slice(MISSING.length)})` : m) + note });
    });
  }
  return out;
}

/** The schema below a wrapper, a key, an element or the variant of a `kind`; `v` is the value there. */
function inner(schema: z.ZodType, v: unknown): Array<[z.ZodType, unknown, string | number | undefined]> {
  const def = schema._zod.def as unknown as Record<string, never>;
  if (v === undefined) return [];
  switch (def['type'] as string) {
    case 'pipe': {
      const from: z.ZodType = def['in'];
      return [[from._zod.def.type === 'transform' ? def['out'] : from, v, undefined]];
    }
    case 'optional':
    case 'prefault':
      return [[def['innerType'], v, undefined]];
    case 'object':
      return isPlainObject(v) ? Object.entries(def['shape'] as Record<string, z.ZodType>).map(([k, s]) => [s, v[k], k]) : [];
    case 'array':
      return Array.isArray(v) ? v.map((x, i) => [def['element'], x, i]) : [];
    case 'union': {
      const kind = isPlainObject(v) ? v['kind'] : undefined;
      const option = (def['options'] as z.ZodType[]).find((o) => (o._zod.propValues?.['kind'] as Set<unknown> | undefined)?.has(kind));
      return option ? [[option, v, undefined]] : [];
    }
  }
  return [];
}

/** Walks a parsed value beside its schema and runs the registered checks, children first. */
function runChecks(schema: z.ZodType, v: unknown, path: Path, ctx: Ctx): void {
  const before = ctx.errors.length;
  for (const [s, x, k] of inner(schema, v)) runChecks(s, x, k === undefined ? path : [...path, k], ctx);
  const check = CHECKS.get(schema);
  if (!check || v === undefined || ctx.errors.length !== before) return;
  check(v as never, path, ctx);
  if (inDefault(path.slice(currentBase))) for (const e of ctx.errors.slice(before)) e.message += DEFAULT_NOTE;
}

/** After a failed schema pass: runs the checks of the parts of the input that had no error. */
function checkCleanParts(schema: z.ZodType, raw: unknown, path: Path, ctx: Ctx, bad: string[]): void {
  const here = fmtPath(path);
  const dirty = bad.some((p) => p === here || here === '' || p.startsWith(`${here}.`) || p.startsWith(`${here}[`));
  if (!dirty) {
    const r = schema.safeParse(raw);
    if (r.success) runChecks(schema, r.data, path, ctx);
    return;
  }
  for (const [s, x, k] of inner(schema, raw)) checkCleanParts(s, x, k === undefined ? path : [...path, k], ctx, bad);
}

/** The JSON Schema of a spec, as input (defaults shown; computed ones left out). */
export function toJsonSchema(spec: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(spec, {
    // Draft 7: what the YAML language server and most editors read.
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    override: (c) => {
      const s = c.zodSchema as unknown as z.ZodType;
      if (COMPUTED_DEFAULTS.has(s)) delete c.jsonSchema.default;
      // What the value is, where the JSON Schema cannot say it (units, formats), for keys without a description.
      const expected = EXPECTED.get(s);
      if (expected && !/^(true or false|one of |a string$|a mapping|a list|an? (integer|number)( between| of| greater|$))/.test(expected))
        c.jsonSchema.description = expected[0]!.toUpperCase() + expected.slice(1);
    },
  }) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// Fields of a mapping

/** A field of a mapping: its spec, absent (or empty in YAML) allowed when optional or defaulted. */
export type Field<T> = Spec<T>;
export type Fields<T> = { [K in keyof T]-?: Field<T[K]> };

const absentIfNull = (v: unknown) => (v === null ? undefined : v);

export const req = <T>(spec: Spec<Exclude<T, undefined>>): Field<T> => spec as Field<T>;
// (Optional in the input; a check may still fill it in, as sensors' poses from their calibration.)
export const opt = <T>(spec: Spec<Exclude<T, undefined>>): Field<T> => z.preprocess(absentIfNull, spec.optional()) as unknown as Field<T>;

/** A field with a default: raw input that goes through `spec` like user input; a function is called at validation. */
export function def<T>(spec: Spec<Exclude<T, undefined>>, d: unknown): Field<T> {
  if (typeof d !== 'function') return z.preprocess(absentIfNull, spec.prefault(d as never)) as Field<T>;
  const computed = spec.prefault((() => (current ? (d as (c: Ctx) => unknown)(current) : null)) as never);
  COMPUTED_DEFAULTS.add(computed);
  return z.preprocess(absentIfNull, computed) as Field<T>;
}

/** A nested section whose keys all have defaults: absent means `{}`. */
export const section = <T>(spec: Spec<Exclude<T, undefined>>): Field<T> => def(spec, {});

// ---------------------------------------------------------------------------------------------------------------
// Scalars

export interface NumOpts {
  min?: number;
  max?: number;
  int?: boolean;
  /** Unit as it reads after "a number in": "degrees", "ms", "meters". */
  unit?: string;
  /** Lower bound is exclusive. */
  minExclusive?: boolean;
}

export function num(o: NumOpts = {}): Spec<number> {
  const what = `${o.int ? 'an integer' : 'a number'}${o.unit ? ` in ${o.unit}` : ''}`;
  const range =
    o.min !== undefined && o.max !== undefined
      ? ` between ${o.min} and ${o.max}`
      : o.min !== undefined
        ? o.minExclusive
          ? ` greater than ${o.min}`
          : ` of at least ${o.min}`
        : o.max !== undefined
          ? ` of at most ${o.max}`
          : '';
  const e = errorFn(what + range, (v) =>
    typeof v !== 'number' || Number.isNaN(v)
      ? `expected ${what}, got ${show(v)}`
      : !Number.isFinite(v)
        ? `expected a finite ${what.replace(/^an? /, '')}, got ${v}`
        : `expected ${what}${range}, got ${v}`,
  );
  let s = o.int ? z.int(e) : z.number(e);
  if (o.min !== undefined) s = o.minExclusive ? s.gt(o.min, e) : s.gte(o.min, e);
  if (o.max !== undefined) s = s.lte(o.max, e);
  return expecting(s, what + range);
}

export const port = (allowZero = false): Spec<number> => num({ int: true, min: allowZero ? 0 : 1, max: 65535 });

export interface StrOpts {
  pattern?: RegExp;
  /** How the pattern reads in messages. */
  patternText?: string;
  minLength?: number;
  maxLength?: number;
}

export function str(o: StrOpts = {}): Spec<string> {
  const minLength = o.minLength ?? 1;
  const expected = o.patternText ?? 'a string';
  const e = (f: (v: string) => string) => errorFn(expected, (v) => (typeof v === 'string' ? f(v) : `expected ${expected}, got ${show(v)}`));
  let s = z.string(e(() => '')).min(minLength, e(() => (minLength === 1 ? 'must not be empty' : `must be at least ${minLength} characters long`)));
  if (o.maxLength !== undefined) s = s.max(o.maxLength, e((v) => `must be at most ${o.maxLength} characters long, got ${v.length}`));
  if (o.pattern) s = s.regex(o.pattern, e((v) => `expected ${o.patternText ?? `a string matching ${o.pattern}`}, got ${show(v)}`));
  return expecting(s, expected);
}

export const bool: Spec<boolean> = expecting(z.boolean(errorFn('true or false', (v) => `expected true or false, got ${show(v)}`)), 'true or false');

export function oneOf<const T extends string | number>(values: readonly T[]): Spec<T> {
  const list = values.map(String).join(', ');
  const bad = (v: unknown) => `expected one of ${list}, got ${show(v)}${typeof v === 'string' ? didYouMean(v, values.map(String)) : ''}`;
  // Strings: a Zod enum (it also serves as the `kind` of a discriminated union).
  if (values.every((x) => typeof x === 'string')) return expecting(z.enum(values as readonly string[] as [string, ...string[]], errorFn(`one of ${list}`, bad)), `one of ${list}`) as unknown as Spec<T>;
  return custom(`one of ${list}`, { enum: values }, (v, path, ctx) => {
    if ((values as readonly unknown[]).includes(v)) return v as T;
    // YAML reads `5` as a number and `3.1.1` as a string: accept the other spelling of a listed value.
    const alt = values.find((x) => String(x) === String(v));
    if (alt !== undefined && (typeof v === 'string' || typeof v === 'number')) return alt;
    return fail(ctx, path, bad(v));
  });
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;

/** HOST:PORT, with `[v6addr]:PORT` for IPv6. The value stays a string; parseHostPort splits it. */
export function hostPort(o: { allowZeroPort?: boolean } = {}): Spec<string> {
  return custom('HOST:PORT', { type: 'string', pattern: HOST_PORT.source }, (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, `expected HOST:PORT, got ${show(v)}`);
    const hp = splitHostPort(v);
    if (!hp) return fail(ctx, path, `expected HOST:PORT (IPv6 as [ADDR]:PORT), got ${show(v)}`);
    if (hp.port < (o.allowZeroPort ? 0 : 1) || hp.port > 65535) return fail(ctx, path, `port must be between ${o.allowZeroPort ? 0 : 1} and 65535, got ${hp.port}`);
    return v;
  });
}

export function splitHostPort(s: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(s.trim());
  if (!m) return undefined;
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

const UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A byte count: an integer, or a string such as "256MiB", "1.5GB". */
export function bytes(o: { min?: number } = {}): Spec<number> {
  const min = o.min ?? 0;
  const json = { anyOf: [{ type: 'integer', minimum: min }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*([BbKkMmGg]|[KkMmGg][Bb]|[KkMmGg][Ii][Bb])?\\s*$' }] };
  return custom('a size in bytes (e.g. 268435456 or "256MiB")', json, (v, path, ctx) => {
    let n: number | undefined;
    if (typeof v === 'number' && Number.isInteger(v)) n = v;
    else if (typeof v === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v);
      const mult = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
      if (m && mult !== undefined) n = Math.round(Number(m[1]) * mult);
    }
    if (n === undefined) return fail(ctx, path, `expected a size in bytes such as 268435456 or "256MiB" (units B, KB, MB, GB, KiB, MiB, GiB), got ${show(v)}`);
    if (n < min) return fail(ctx, path, `must be at least ${min} bytes, got ${n}`);
    return n;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Containers

export function arr<T>(item: Spec<T>, o: { min?: number; max?: number } = {}): Spec<T[]> {
  const expected = `a list of ${expectedOf(item)}`;
  const e = (f: (v: unknown[]) => string) => errorFn(expected, (v) => (Array.isArray(v) ? f(v) : `expected a list, got ${show(v)}`));
  let s = z.array(item, e(() => ''));
  if (o.min !== undefined) s = s.min(o.min, e((v) => `needs at least ${o.min} entr${o.min === 1 ? 'y' : 'ies'}, got ${v.length}`));
  if (o.max !== undefined) s = s.max(o.max, e((v) => `allows at most ${o.max} entries, got ${v.length}`));
  return expecting(s, expected);
}

/**
 * A mapping with known keys. Unknown keys are errors with a suggestion (`listKeys`: and the list of keys). `check`
 * runs after the schema pass when the value had no error, for rules that span several keys.
 */
export function obj<T extends object>(fields: Fields<T>, check?: Check<T>, o: { listKeys?: boolean } = {}): Spec<T> {
  const names = Object.keys(fields);
  const unknownKey = (k: string) => `unknown key "${k}"${didYouMean(k, names)}${o.listKeys ? `; expected one of ${names.join(', ')}` : ''}`;
  const s = z.strictObject(fields as Record<string, z.ZodType>, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? iss.keys.map(unknownKey).join(SEP)
        : iss.input === undefined
          ? `${MISSING}a mapping`
          : `expected a mapping with keys ${names.join(', ')}; got ${show(iss.input)}`,
  });
  if (check) CHECKS.set(s, check as Check<never>);
  return expecting(s, 'a mapping') as unknown as Spec<T>;
}

/** A mapping from the keys `keys` (each optional) to values of one spec. */
export function record<K extends string, T>(item: Spec<T>, keys: readonly K[]): Spec<Partial<Record<K, T>>> {
  return obj(Object.fromEntries(keys.map((k) => [k, opt(item as Spec<Exclude<T, undefined>>)])) as Fields<Partial<Record<K, T>>>, undefined, { listKeys: true });
}

/**
 * A mapping whose `kind` key selects one of several specs (each an `obj` that lists `kind` as oneOf([the kind]),
 * so keys of another kind are unknown keys). An unknown kind is an error on `kind` with a suggestion.
 */
export function byKind<T extends { kind: string }>(variants: { [K in T['kind']]: Spec<Extract<T, { kind: K }>> }): Spec<T> {
  const kinds = Object.keys(variants);
  const s = z.discriminatedUnion('kind', Object.values(variants) as [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]], {
    error: (iss) => {
      const v = iss.input;
      if (v === undefined) return `${MISSING}a mapping with kind: ${kinds.join(' | ')}`;
      if (!isPlainObject(v)) return `expected a mapping with kind: ${kinds.join(' | ')}; got ${show(v)}`;
      const k = v['kind'];
      if (k === undefined || k === null) return `missing required key "kind" (one of ${kinds.join(', ')})`;
      return `expected one of ${kinds.join(', ')}, got ${show(k)}${typeof k === 'string' ? didYouMean(k, kinds) : ''}`;
    },
  });
  return expecting(s, `a mapping with kind: ${kinds.join(' | ')}`) as unknown as Spec<T>;
}
