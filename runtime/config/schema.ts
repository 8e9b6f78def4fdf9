// A small declarative validator for the configuration file. Every check reports into one list, so a run names
// every problem at once, each with the key path it belongs to (`sensors[2].pose.yaw`). Object specs are typed
// against the config interfaces in types.ts: a field missing from a spec, or of the wrong type, is a compile error.

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
  /** Depth of nesting inside a built-in default value (errors there are worded as such). */
  inDefault: number;
}

export function newCtx(baseDir: string): Ctx {
  return { errors: [], warnings: [], baseDir, inDefault: 0 };
}

export function fmtPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

export function fail(ctx: Ctx, path: Path, message: string): undefined {
  ctx.errors.push({ path: fmtPath(path), message: ctx.inDefault > 0 ? `${message} (in the built-in default)` : message });
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

/** A spec parses raw (YAML/JSON) input into a typed value, or reports and returns undefined. */
export interface Spec<T> {
  /** What the value should be, as it reads in "expected ...". */
  readonly expected: string;
  parse(v: unknown, path: Path, ctx: Ctx): T | undefined;
}

export interface Field<T> {
  spec: Spec<Exclude<T, undefined>>;
  /** Raw input used when the key is absent; it goes through `spec` like user input. A function is called lazily. */
  default?: unknown | ((ctx: Ctx) => unknown);
  optional?: boolean;
}

export const req = <T>(spec: Spec<Exclude<T, undefined>>): Field<T> => ({ spec });
export const opt = <T>(spec: Spec<Exclude<T, undefined>>): Field<T> => ({ spec, optional: true });
export const def = <T>(spec: Spec<Exclude<T, undefined>>, d: unknown | ((ctx: Ctx) => unknown)): Field<T> => ({ spec, default: d });
/** A nested section whose keys all have defaults: absent means `{}`. */
export const section = <T>(spec: Spec<Exclude<T, undefined>>): Field<T> => ({ spec, default: {} });

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
  return {
    expected: what + range,
    parse(v, path, ctx) {
      if (typeof v !== 'number' || Number.isNaN(v)) return fail(ctx, path, `expected ${what}, got ${show(v)}`);
      if (!Number.isFinite(v)) return fail(ctx, path, `expected a finite ${what.replace(/^an? /, '')}, got ${v}`);
      if (o.int && !Number.isInteger(v)) return fail(ctx, path, `expected ${what}${range}, got ${v}`);
      const low = o.min !== undefined && (o.minExclusive ? v <= o.min : v < o.min);
      if (low || (o.max !== undefined && v > o.max)) return fail(ctx, path, `expected ${what}${range}, got ${v}`);
      return v;
    },
  };
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
  return {
    expected: o.patternText ?? 'a string',
    parse(v, path, ctx) {
      if (typeof v !== 'string') return fail(ctx, path, `expected ${o.patternText ?? 'a string'}, got ${show(v)}`);
      if (v.length < minLength) return fail(ctx, path, minLength === 1 ? 'must not be empty' : `must be at least ${minLength} characters long`);
      if (o.maxLength !== undefined && v.length > o.maxLength) return fail(ctx, path, `must be at most ${o.maxLength} characters long, got ${v.length}`);
      if (o.pattern && !o.pattern.test(v)) return fail(ctx, path, `expected ${o.patternText ?? `a string matching ${o.pattern}`}, got ${show(v)}`);
      return v;
    },
  };
}

export const bool: Spec<boolean> = {
  expected: 'true or false',
  parse(v, path, ctx) {
    return typeof v === 'boolean' ? v : fail(ctx, path, `expected true or false, got ${show(v)}`);
  },
};

export function oneOf<const T extends string | number>(values: readonly T[]): Spec<T> {
  const list = values.map(String).join(', ');
  return {
    expected: `one of ${list}`,
    parse(v, path, ctx) {
      if ((values as readonly unknown[]).includes(v)) return v as T;
      // YAML reads `5` as a number and `3.1.1` as a string: accept the other spelling of a listed value.
      const alt = values.find((x) => String(x) === String(v));
      if (alt !== undefined && (typeof v === 'string' || typeof v === 'number')) return alt;
      const hint = typeof v === 'string' ? didYouMean(v, values.map(String)) : '';
      return fail(ctx, path, `expected one of ${list}, got ${show(v)}${hint}`);
    },
  };
}

/** HOST:PORT, with `[v6addr]:PORT` for IPv6. The value stays a string; parseHostPort splits it. */
export function hostPort(o: { allowZeroPort?: boolean } = {}): Spec<string> {
  return {
    expected: 'HOST:PORT',
    parse(v, path, ctx) {
      if (typeof v !== 'string') return fail(ctx, path, `expected HOST:PORT, got ${show(v)}`);
      const hp = splitHostPort(v);
      if (!hp) return fail(ctx, path, `expected HOST:PORT (IPv6 as [ADDR]:PORT), got ${show(v)}`);
      if (hp.port < (o.allowZeroPort ? 0 : 1) || hp.port > 65535)
        return fail(ctx, path, `port must be between ${o.allowZeroPort ? 0 : 1} and 65535, got ${hp.port}`);
      return v;
    },
  };
}

export function splitHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

const UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A byte count: an integer, or a string such as "256MiB", "1.5GB". */
export function bytes(o: { min?: number } = {}): Spec<number> {
  const min = o.min ?? 0;
  return {
    expected: 'a size in bytes (e.g. 268435456 or "256MiB")',
    parse(v, path, ctx) {
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
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Containers

export function arr<T>(item: Spec<T>, o: { min?: number; max?: number } = {}): Spec<T[]> {
  return {
    expected: `a list of ${item.expected}`,
    parse(v, path, ctx) {
      if (!Array.isArray(v)) return fail(ctx, path, `expected a list, got ${show(v)}`);
      if (o.min !== undefined && v.length < o.min) return fail(ctx, path, `needs at least ${o.min} entr${o.min === 1 ? 'y' : 'ies'}, got ${v.length}`);
      if (o.max !== undefined && v.length > o.max) return fail(ctx, path, `allows at most ${o.max} entries, got ${v.length}`);
      const out: T[] = [];
      let ok = true;
      v.forEach((x, i) => {
        const r = item.parse(x, [...path, i], ctx);
        if (r === undefined) ok = false;
        else out.push(r);
      });
      return ok ? out : undefined;
    },
  };
}

/** A mapping from free-form keys (restricted to `keys` when given) to values of one spec. */
export function record<K extends string, T>(item: Spec<T>, keys?: readonly K[]): Spec<Partial<Record<K, T>>> {
  return {
    expected: 'a mapping',
    parse(v, path, ctx) {
      if (!isPlainObject(v)) return fail(ctx, path, `expected a mapping, got ${show(v)}`);
      const out: Partial<Record<K, T>> = {};
      let ok = true;
      for (const [k, x] of Object.entries(v)) {
        if (keys && !(keys as readonly string[]).includes(k)) {
          fail(ctx, [...path, k], `unknown key "${k}"${didYouMean(k, keys)}; expected one of ${keys.join(', ')}`);
          ok = false;
          continue;
        }
        const r = item.parse(x, [...path, k], ctx);
        if (r === undefined) ok = false;
        else out[k as K] = r;
      }
      return ok ? out : undefined;
    },
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type Fields<T> = { [K in keyof T]-?: Field<T[K]> };

/**
 * A mapping with known keys. Unknown keys are errors with a suggestion. `check` runs after all fields parsed
 * without error, for rules that span several keys.
 */
export function obj<T extends object>(fields: Fields<T>, check?: (v: T, path: Path, ctx: Ctx) => void): Spec<T> {
  const names = Object.keys(fields);
  return {
    expected: 'a mapping',
    parse(v, path, ctx) {
      if (!isPlainObject(v)) return fail(ctx, path, `expected a mapping with keys ${names.join(', ')}; got ${show(v)}`);
      let ok = true;
      for (const k of Object.keys(v)) {
        // Own keys only: `__proto__` or `constructor` in a file or downlink are unknown keys, not Object.prototype's.
        if (!Object.hasOwn(fields, k)) {
          fail(ctx, [...path, k], `unknown key "${k}"${didYouMean(k, names)}`);
          ok = false;
        }
      }
      const out: Record<string, unknown> = {};
      for (const k of names) {
        const f = (fields as Record<string, Field<unknown>>)[k]!;
        let raw = v[k];
        let fromDefault = false;
        if (raw === undefined || (raw === null && (f.optional || f.default !== undefined))) {
          if (f.default !== undefined) {
            raw = typeof f.default === 'function' ? (f.default as (c: Ctx) => unknown)(ctx) : f.default;
            fromDefault = true;
          } else if (f.optional) continue;
          else {
            fail(ctx, [...path, k], `missing required key "${k}" (${f.spec.expected})`);
            ok = false;
            continue;
          }
        }
        if (fromDefault) ctx.inDefault++;
        const r = f.spec.parse(raw, [...path, k], ctx);
        if (fromDefault) ctx.inDefault--;
        if (r === undefined) ok = false;
        else out[k] = r;
      }
      if (!ok) return undefined;
      const errorsBefore = ctx.errors.length;
      check?.(out as T, path, ctx);
      return ctx.errors.length === errorsBefore ? (out as T) : undefined;
    },
  };
}

/** A spec with an extra check or conversion after the base spec accepted the value. */
export function refine<A, B = A>(base: Spec<A>, fn: (v: A, path: Path, ctx: Ctx) => B | undefined, expected = base.expected): Spec<B> {
  return {
    expected,
    parse(v, path, ctx) {
      const a = base.parse(v, path, ctx);
      return a === undefined ? undefined : fn(a, path, ctx);
    },
  };
}

/**
 * A mapping whose `kind` key selects one of several specs (each an `obj` that lists `kind` too, so keys of another
 * kind are unknown keys). An unknown kind is an error on `kind` with a suggestion.
 */
export function byKind<T extends { kind: string }>(variants: { [K in T['kind']]: Spec<Extract<T, { kind: K }>> }): Spec<T> {
  const kinds = Object.keys(variants);
  return {
    expected: `a mapping with kind: ${kinds.join(' | ')}`,
    parse(v, path, ctx) {
      if (!isPlainObject(v)) return fail(ctx, path, `expected a mapping with kind: ${kinds.join(' | ')}; got ${show(v)}`);
      const k = v['kind'];
      if (k === undefined || k === null) return fail(ctx, [...path, 'kind'], `missing required key "kind" (one of ${kinds.join(', ')})`);
      if (typeof k !== 'string' || !kinds.includes(k)) {
        const hint = typeof k === 'string' ? didYouMean(k, kinds) : '';
        return fail(ctx, [...path, 'kind'], `expected one of ${kinds.join(', ')}, got ${show(k)}${hint}`);
      }
      return (variants as Record<string, Spec<T>>)[k]!.parse(v, path, ctx);
    },
  };
}
