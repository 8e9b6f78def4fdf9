/**
 * Differential test of our UPER codec (codecs/index.ts) against Erlang/OTP's
 * asn1 (an independent implementation), on random values.
 *
 * For every message type of csae2019 and csae2020 (MessageFrame, which covers
 * all five CSAE messages, and BasicSafetyMessage, MapData, SPAT,
 * RoadSideInformation, RoadsideSafetyMessage on their own) and of J2735 2020 /
 * 2016 when RSU_J2735_ASN1_DIR is set (the message types themselves, the BSM
 * partII contents, and each message wrapped in MessageFrame), Erlang draws
 * random values (seeded, reproducible) and gives their UPER bytes and its JER.
 * Then for each value:
 *   (a) our decode of Erlang's bytes must equal Erlang's JER (see jerDiff for
 *       the two documented differences that are tolerated), and
 *   (b) our encode of Erlang's JER must give exactly Erlang's bytes.
 * Failures are reported for the first few values only (type, hex, both
 * values, where they differ).
 *
 * Erlang is not always right: OTP 25 ignores a value constraint written on a
 * reference to a constrained INTEGER type (J2735 `ITIScodes(523..541)`: 16
 * bits instead of X.691's 5). Such components are found in the sources
 * (CompileInfo.erlangIgnoredConstraints) and left out of Erlang's values.
 *
 * Knobs: RSU_DIFF_COUNT values per type (default 1000; framed J2735 messages
 * get a fifth), RSU_DIFF_SEED (default 20240601), RSU_DIFF_SETS (comma list,
 * default all), RSU_J2735_ASN1_DIR. Skips with the reason when Erlang or our
 * codec is missing.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  compileErlangRef,
  CSAE_MESSAGE_TYPES,
  erlangUnavailableReason,
  j2735Dir,
  j2735SkipReason,
  J2735_MESSAGE_TYPES,
  REPO_ROOT,
  type ErlangRef,
  type FrameSpec,
  type ModuleSetSpec,
  type RandomValue,
  type RandomStats,
} from './support/erlang.js';

const COUNT = Math.max(1, Number(process.env.RSU_DIFF_COUNT ?? 1000));
const SEED = Number(process.env.RSU_DIFF_SEED ?? 20240601);
const ONLY = process.env.RSU_DIFF_SETS?.split(',').map((s) => s.trim());
const BATCH = 100;
const REPORT = 4;

type SetName = 'csae2019' | 'csae2020' | 'j2735-2020' | 'j2735-2016';

interface OurSet {
  has(typeName: string): boolean;
  encode(typeName: string, value: unknown): Uint8Array;
  decode(typeName: string, bytes: Uint8Array): unknown;
}
type LoadMessageSet = (name: SetName, opts?: { asn1Dir?: string }) => Promise<OurSet>;

// ---------------------------------------------------------------- JER comparison

const HEX = /^[0-9a-fA-F]*$/;

function isBitObj(v: unknown): v is { value: string; length: number } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.keys(v).length === 2 &&
    typeof (v as { value?: unknown }).value === 'string' &&
    HEX.test((v as { value: string }).value) &&
    typeof (v as { length?: unknown }).length === 'number'
  );
}

/** The bits of a JER {value, length} BIT STRING as a '0'/'1' string, trailing zeros removed. */
function bitsTrimmed(b: { value: string; length: number }): string {
  let s = '';
  for (const c of b.value) s += parseInt(c, 16).toString(2).padStart(4, '0');
  return s.slice(0, b.length).replace(/0+$/, '');
}

/**
 * Where two JER values differ (a path like `$.spatFrame.intersections[0].status`
 * and both leaves), or undefined when they are equal. Equal means deep
 * equality (object key order ignored) except for two differences between
 * OTP 25's JER and what an X.697 encoder may print, which are tolerated:
 *  1. Hex digits (OCTET STRING, BIT STRING): OTP prints upper case; X.697
 *     allows either case. Two strings that both consist of hex digits are
 *     compared case-insensitively. (A character string that happens to be
 *     all hex digits is then compared case-insensitively too; check (b),
 *     which compares bytes, still catches such an error.)
 *  2. BIT STRING with named bits and a variable size ({value, length}): OTP
 *     drops trailing 0 bits (length = last 1 bit + 1, even below the size
 *     constraint's lower bound, e.g. ExteriorLights SIZE(9,...) printed with
 *     length 3). X.680 22.7 gives trailing 0 bits of such types no meaning and
 *     X.691 16.x encodes the value with exactly enough 0 bits added or removed
 *     to satisfy the size constraint, so both prints denote one value.
 *     {value, length} pairs are compared with trailing 0 bits removed.
 *     (For BIT STRINGs without named bits OTP prints the exact length, and
 *     (b) checks that our encoder writes the right length.)
 */
function jerDiff(ours: unknown, theirs: unknown, at = '$'): { path: string; ours: unknown; erlang: unknown } | undefined {
  if (ours === theirs) return undefined;
  if (typeof ours === 'string' && typeof theirs === 'string') {
    if (HEX.test(ours) && HEX.test(theirs) && ours.toLowerCase() === theirs.toLowerCase()) return undefined;
    return { path: at, ours, erlang: theirs };
  }
  if (isBitObj(ours) && isBitObj(theirs)) {
    if (bitsTrimmed(ours) === bitsTrimmed(theirs)) return undefined;
    return { path: at, ours, erlang: theirs };
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (ours.length !== theirs.length) return { path: `${at}.length`, ours: ours.length, erlang: theirs.length };
    for (let i = 0; i < ours.length; i++) {
      const d = jerDiff(ours[i], theirs[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof ours === 'object' && ours !== null && typeof theirs === 'object' && theirs !== null && !Array.isArray(ours) && !Array.isArray(theirs)) {
    const o = ours as Record<string, unknown>;
    const e = theirs as Record<string, unknown>;
    const keys = new Set([...Object.keys(o), ...Object.keys(e)]);
    for (const k of [...keys].sort()) {
      if (!(k in o)) return { path: `${at}.${k}`, ours: '(absent)', erlang: e[k] };
      if (!(k in e)) return { path: `${at}.${k}`, ours: o[k], erlang: '(absent)' };
      const d = jerDiff(o[k], e[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return { path: at, ours, erlang: theirs };
}

/** Paths where two JER values differ strictly (no tolerance), at most `max`. */
function strictDiffs(a: unknown, b: unknown, at = '$', out: string[] = [], max = 3): string[] {
  if (out.length >= max || a === b) return out;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => strictDiffs(x, b[i], `${at}[${i}]`, out, max));
  } else if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = a as Record<string, unknown>;
    const kb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ka), ...Object.keys(kb)])) strictDiffs(ka[k], kb[k], `${at}.${k}`, out, max);
  } else {
    out.push(`${at}: ours ${clip(a, 120)} vs Erlang ${clip(b, 120)}`);
  }
  return out;
}

// ---------------------------------------------------------------- helpers

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const clip = (v: unknown, n = 3000): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
};
const errText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

interface Failure {
  type: string;
  /** Erlang's UPER */
  hex: string;
  problem: string;
  erlangJer: string;
  ours: string;
  hint?: string;
}

/**
 * Failure categories, reported separately (up to REPORT examples each) so
 * that one frequent problem does not hide the others:
 *  decode-differs      our decode of Erlang's bytes != Erlang's JER
 *  decode-throws       our decode of Erlang's bytes throws
 *  encode-differs      our encode of Erlang's JER gives other bytes
 *  encode-throws       our encode of Erlang's JER throws
 *  encode-input-form   ... but our encode of OUR decoded value (which equals
 *                      Erlang's JER within jerDiff's tolerance) gives
 *                      Erlang's bytes: the encoder does not accept a JER
 *                      form Erlang prints (upper-case hex, or a named BIT
 *                      STRING without its trailing 0 bits, which X.691
 *                      16.x requires the encoder to add back)
 */
type Category = 'decode-differs' | 'decode-throws' | 'encode-differs' | 'encode-throws' | 'encode-input-form';

interface Tally {
  values: number;
  decodeFail: number;
  encodeFail: number;
  counts: Partial<Record<Category, number>>;
  examples: Partial<Record<Category, Failure[]>>;
}

function record(tally: Tally, cat: Category, f: Failure): void {
  tally.counts[cat] = (tally.counts[cat] ?? 0) + 1;
  const ex = (tally.examples[cat] ??= []);
  if (ex.length < REPORT) ex.push(f);
}

/** (a) and (b) for one value. */
function check(ms: OurSet, typeName: string, v: RandomValue, tally: Tally): void {
  tally.values++;
  let ours: unknown;
  let decodedOk = false;
  try {
    ours = ms.decode(typeName, fromHex(v.hex));
    const d = jerDiff(ours, v.jer);
    if (d) {
      tally.decodeFail++;
      record(tally, 'decode-differs', {
        type: typeName,
        hex: v.hex,
        problem: `values differ at ${d.path}: ours ${clip(d.ours, 300)}, Erlang ${clip(d.erlang, 300)}`,
        erlangJer: clip(v.jer),
        ours: clip(ours),
      });
    } else decodedOk = true;
  } catch (e) {
    tally.decodeFail++;
    record(tally, 'decode-throws', { type: typeName, hex: v.hex, problem: `our decode threw ${errText(e)}`, erlangJer: clip(v.jer), ours: '(threw)' });
  }
  let hex: string | undefined;
  let thrown: unknown;
  try {
    hex = toHex(ms.encode(typeName, v.jer));
    if (hex === v.hex) return;
  } catch (e) {
    thrown = e;
  }
  tally.encodeFail++;
  const problem = hex !== undefined ? `our encode gives ${hex}` : `our encode threw ${errText(thrown)}`;
  if (decodedOk) {
    let again: string | undefined;
    try {
      again = toHex(ms.encode(typeName, ours));
    } catch {
      /* fall through */
    }
    if (again === v.hex) {
      record(tally, 'encode-input-form', {
        type: typeName,
        hex: v.hex,
        problem,
        erlangJer: clip(v.jer),
        ours: hex ?? '(threw)',
        hint: `our encode of OUR decoded value gives Erlang's bytes; the two values differ (within jerDiff's tolerance) at: ${strictDiffs(ours, v.jer).join('; ')}`,
      });
      return;
    }
  }
  record(tally, hex !== undefined ? 'encode-differs' : 'encode-throws', { type: typeName, hex: v.hex, problem, erlangJer: clip(v.jer), ours: hex ?? '(threw)' });
}

/** Run n values of one type in batches; the next batch is drawn by Erlang while we check this one. */
async function runType(
  t: Test,
  ref: ErlangRef,
  ms: OurSet,
  label: string,
  ourType: string,
  draw: (n: number, seed: number) => Promise<{ values: RandomValue[]; stats: RandomStats }>,
  n: number,
  seedBase: number,
): Promise<void> {
  const tally: Tally = { values: 0, decodeFail: 0, encodeFail: 0, counts: {}, examples: {} };
  const dropped: Record<string, number> = {};
  let removed = 0;
  let avoided = 0;
  let erlangMs = 0;
  const t0 = Date.now();
  const batches = Math.ceil(n / BATCH);
  let next = draw(Math.min(BATCH, n), seedBase);
  for (let b = 0; b < batches; b++) {
    const cur = await next;
    if (b + 1 < batches) next = draw(Math.min(BATCH, n - (b + 1) * BATCH), seedBase + b + 1);
    erlangMs += cur.stats.ms;
    removed += cur.stats.removedOpenTypeFields;
    avoided += cur.stats.removedAvoidedFields;
    for (const [k, c] of Object.entries(cur.stats.dropped)) dropped[k] = (dropped[k] ?? 0) + c;
    for (const v of cur.values) check(ms, ourType, v, tally);
  }
  const ms_ = Date.now() - t0;
  t.comment(
    `${label}: ${tally.values} values in ${ms_} ms (Erlang ${erlangMs} ms); ` +
      `open-type fields removed ${removed}; avoided fields removed ${avoided}; draws dropped ${JSON.stringify(dropped)}`,
  );
  t.ok(tally.values >= Math.ceil(n * 0.9), `${label}: Erlang drew ${tally.values}/${n} values`, { dropped });
  const pick = (cats: Category[]) => {
    const o: Record<string, unknown> = {};
    for (const c of cats) if (tally.counts[c]) o[c] = { count: tally.counts[c], examples: tally.examples[c] };
    return o;
  };
  const seeds = `seeds ${seedBase}..${seedBase + batches - 1}`;
  t.equal(tally.decodeFail, 0, `${label}: our decode of Erlang's bytes = Erlang's JER (${tally.values} values, ${seeds})`, pick(['decode-differs', 'decode-throws']));
  t.equal(
    tally.encodeFail,
    0,
    `${label}: our encode of Erlang's JER = Erlang's bytes (${tally.values} values)` +
      (tally.counts['encode-input-form'] ? `; ${tally.counts['encode-input-form']} of the failures only in reading the JER form (see encode-input-form)` : ''),
    pick(['encode-differs', 'encode-throws', 'encode-input-form']),
  );
}

// ---------------------------------------------------------------- the sets

async function loadOurCodec(): Promise<{ load?: LoadMessageSet; skip?: string; error?: string }> {
  const index = path.join(REPO_ROOT, 'codecs', 'index.ts');
  if (!fs.existsSync(index)) return { skip: 'codecs/index.ts does not exist yet' };
  try {
    const mod = (await import('../codecs/index.js')) as { loadMessageSet?: LoadMessageSet };
    if (typeof mod.loadMessageSet !== 'function') return { error: 'codecs/index.ts exports no loadMessageSet' };
    return { load: mod.loadMessageSet };
  } catch (e) {
    return { error: `codecs/index.ts does not load: ${errText(e)}` };
  }
}

/** Stable small number per string, to give every type its own seeds. */
function hashSeed(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h % 1_000_000;
}

const noErlang = erlangUnavailableReason();

const sets: { name: SetName; dir?: string; skip?: string; types: readonly string[] }[] = [
  { name: 'csae2019', dir: path.join(REPO_ROOT, 'codecs', 'sets', 'csae2019'), types: CSAE_MESSAGE_TYPES },
  { name: 'csae2020', dir: path.join(REPO_ROOT, 'codecs', 'sets', 'csae2020'), types: CSAE_MESSAGE_TYPES },
  { name: 'j2735-2020', dir: j2735Dir('2020'), skip: j2735SkipReason('2020'), types: J2735_MESSAGE_TYPES },
  { name: 'j2735-2016', dir: j2735Dir('2016'), skip: j2735SkipReason('2016'), types: J2735_MESSAGE_TYPES },
];

const codec = noErlang ? {} : await loadOurCodec();

t.test('differential: our codec vs Erlang/OTP asn1', { skip: noErlang ?? codec.skip }, async (t) => {
  if (codec.error || !codec.load) {
    t.fail(codec.error ?? 'no loadMessageSet');
    return;
  }
  const load = codec.load;

  for (const set of sets) {
    if (ONLY && !ONLY.includes(set.name)) continue;
    t.test(set.name, { skip: set.skip }, async (t) => {
      const spec: ModuleSetSpec = { name: set.name, dir: set.dir! };
      const ref = await compileErlangRef(spec);
      t.teardown(() => ref.close());
      t.comment(`${set.name}: Erlang compile ${ref.info.compileMs} ms${ref.info.cached ? ' (cached)' : ''}`);
      // components where OTP 25 ignores a constraint (see CompileInfo.erlangIgnoredConstraints): left out of the draws
      const avoid = ref.info.erlangIgnoredConstraints;
      if (avoid.length) t.comment(`${set.name}: left out of Erlang's values (OTP ignores their constraint): ${avoid.join(', ')}`);
      let ms: OurSet;
      try {
        ms = await load(set.name, set.name.startsWith('j2735') ? { asn1Dir: set.dir } : {});
      } catch (e) {
        t.fail(`our codec cannot load ${set.name}: ${errText(e)}`);
        return;
      }
      const ourName = async (type: string): Promise<string | undefined> => {
        if (ms.has(type)) return type;
        const m = await ref.moduleOf(type);
        return m && ms.has(`${m}.${type}`) ? `${m}.${type}` : undefined;
      };

      for (const type of set.types) {
        const module = await ref.moduleOf(type);
        if (!module) continue; // not in this version of the set (e.g. a J2735 message added later)
        const ourType = await ourName(type);
        if (!ourType) {
          t.fail(`${set.name}: our codec has no type ${type} (Erlang has ${module}.${type})`);
          continue;
        }
        const seed = SEED + hashSeed(`${set.name}/${type}`) * 1000;
        await t.test(`${type}`, async (t) => {
          await runType(t, ref, ms, `${set.name} ${type}`, ourType, (n, s) => ref.randomWithStats(module, type, n, s, { avoid }), COUNT, seed);
        });
      }

      // J2735: each message inside MessageFrame (the open type `value`)
      if (set.name.startsWith('j2735')) {
        const frameType = await ourName('MessageFrame');
        if (!frameType) {
          t.fail(`${set.name}: our codec has no MessageFrame`);
          return;
        }
        for (const type of set.types) {
          const frame: FrameSpec | undefined = await ref.frameFor(type);
          const module = await ref.moduleOf(type);
          if (!frame || !module) continue;
          const seed = SEED + hashSeed(`${set.name}/frame/${type}`) * 1000;
          await t.test(`MessageFrame(${type})`, async (t) => {
            await runType(
              t,
              ref,
              ms,
              `${set.name} MessageFrame(${type})`,
              frameType,
              (n, s) => ref.randomFrameWithStats(frame, module, type, n, s, { avoid }),
              Math.max(1, Math.ceil(COUNT / 5)),
              seed,
            );
          });
        }
      }
    });
  }
});
