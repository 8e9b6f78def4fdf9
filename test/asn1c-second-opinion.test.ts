/**
 * asn1c 0.9.28 (Debian) as a second opinion on the CSAE message sets.
 *
 * 1. Every real CSAE MessageFrame (test/vectors/csae) round-trips
 *    bit-identically through asn1c's UPER codec of the right module set, and
 *    asn1c decodes the YD/T 3709 BSM to the value its JER says.
 * 2. Known asn1c 0.9.28 defects that touch these modules are demonstrated and
 *    asserted, so that they are recorded rather than silently worked around.
 * 3. Our codec (codecs/index.ts): its encodings of the vectors, of a few
 *    hundred mutated vector values and of values it decodes from random bytes
 *    are accepted by asn1c, re-encoded bit-identically and decoded to the same
 *    value.
 * 4. asn1c's decode/encode speed on the field vectors (C baseline of the codec
 *    benchmark), printed as TAP comments.
 *
 * Needs asn1c and a C compiler (skips with the reason otherwise). The asn1c
 * build is cached in bench/work/asn1c-<set>/ (gitignored).
 * Knobs: ASN1C_MUTANTS (per set, default 300), ASN1C_RANDOM_TRIES (per set,
 * default 3000), ASN1C_FUZZ_SEED, ASN1C_BENCH_ITER (default 20000).
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import {
  asn1cUnavailableReason,
  buildAsn1c,
  diffXerJer,
  parseXer,
  repoRoot,
  type Asn1cTool,
  type CsaeSetName,
  type XerNode,
} from './support/asn1c.js';
import { CSAE_VECTORS } from './support/vectors.js';

const csaeDir = CSAE_VECTORS;
const unavailable = asn1cUnavailableReason();

const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
};

// ---------------------------------------------------------------------------
// Vectors

interface Frame {
  /** e.g. SPAT, BSM#1 */
  name: string;
  /** SPAT, RSM, RSI, MAP, BSM */
  kind: string;
  hex: string;
}

interface TsvRow {
  label: string;
  headerHex: string;
  lenField: number;
  payloadHex: string;
}

function readTsv(): TsvRow[] {
  const text = fs.readFileSync(path.join(csaeDir, 'extracted_payloads.tsv'), 'utf8');
  const [head, ...rows] = text.split('\n').filter((l) => l.trim() !== '');
  if (!head?.startsWith('label\tvendor_header_hex')) throw new Error(`unexpected TSV header: ${head}`);
  return rows.map((line) => {
    const [label, headerHex, lenField, payloadHex] = line.split('\t');
    return { label: label!, headerHex: headerHex!.toLowerCase(), lenField: Number(lenField), payloadHex: payloadHex!.trim().toLowerCase() };
  });
}

/**
 * The MessageFrames of one TSV row. The README describes each row as an
 * 18-byte vendor header (8-byte id, 8-byte LE timestamp, 2-byte LE length)
 * and one MessageFrame. That holds when the length field equals the payload
 * size (SPAT, RSM, RSI, MAP). The BSM row does not fit (length field 22018,
 * payload 142 bytes): its record is a batch, split one byte too late, namely
 * after the 8-byte timestamp one count byte (02), then per frame a 2-byte LE
 * length and the frame: 02 | 5600 <86-byte MessageFrame> | 3500 <53-byte
 * MessageFrame>. asn1c and Erlang both decode the raw 142-byte payload as a
 * 36-byte BSM followed by 106 undecoded bytes, and the two frames recovered
 * this way as complete BSMs (the 53-byte one is the first BSM the vendor
 * printed: msgCnt 101, secMark 9500).
 */
function framesOfRow(row: TsvRow): { frames: Frame[]; layout: string } {
  const payloadBytes = row.payloadHex.length / 2;
  if (row.lenField === payloadBytes) {
    return { frames: [{ name: row.label, kind: row.label, hex: row.payloadHex }], layout: 'single' };
  }
  const rec = Buffer.from(row.headerHex.slice(32) + row.payloadHex, 'hex');
  const count = rec[0]!;
  const frames: Frame[] = [];
  let off = 1;
  for (let i = 0; i < count; i++) {
    if (off + 2 > rec.length) throw new Error(`${row.label}: batch record truncated at frame ${i + 1}`);
    const len = rec.readUInt16LE(off);
    off += 2;
    if (off + len > rec.length) throw new Error(`${row.label}: frame ${i + 1} of ${len} bytes overruns the record`);
    frames.push({ name: `${row.label}#${i + 1}`, kind: row.label, hex: rec.subarray(off, off + len).toString('hex') });
    off += len;
  }
  if (off !== rec.length || count === 0) {
    throw new Error(`${row.label}: neither one frame (length field ${row.lenField}, payload ${payloadBytes}) nor a batch`);
  }
  return { frames, layout: `batch of ${count}: ${frames.map((f) => f.hex.length / 2).join(' + ')} bytes` };
}

interface YdtVector {
  std: string;
  type: string;
  hex: string;
  value: unknown;
}

function readYdt(): YdtVector[] {
  return fs
    .readFileSync(path.join(csaeDir, 'ydt3709-bsm.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as YdtVector);
}

function findNodes(node: XerNode, name: string, out: XerNode[] = []): XerNode[] {
  if (node.name === name) out.push(node);
  for (const c of node.children) findNodes(c, name, out);
  return out;
}

/** Root of asn1c's XER, or a failure description. */
function xerRoot(xer: string): XerNode | string {
  if (xer.startsWith('ERROR')) return xer;
  try {
    return parseXer(xer);
  } catch (e) {
    return `unparsable XER: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------
// Known asn1c 0.9.28 defects relevant to these modules

/**
 * D2: asn1c's constraint checker ignores the extension marker of a SIZE
 * constraint on these BIT STRING types and rejects sizes outside the root,
 * although X.680 allows any size for (SIZE(13, ...)) and asn1c's own UPER
 * codec decodes and re-encodes such values correctly (X.691 16.6/16.11:
 * extension bit 1, then the length as a general length determinant, then the
 * bits; Erlang produces and reads the same bits).
 * type -> [element name in the CSAE modules, root size]
 */
const EXTENSIBLE_SIZE_BIT_STRINGS: Record<string, [string, number]> = {
  VehicleEventFlags: ['events', 13],
  ExteriorLights: ['lights', 9],
  'LaneAttributes-Vehicle': ['vehicle', 8],
};

/**
 * True when an asn1c failure is exactly defect D2: the checker names one of
 * those types, asn1c re-encodes the input bit-identically when its checker
 * is not run, and asn1c's decoded value does hold such a BIT STRING with an
 * out-of-root size.
 */
function isExtensibleSizeCheckerDefect(inputHex: string, checked: string, unchecked: string, xer: string): boolean {
  const m = /^ERROR constraint check failed after decode: ([\w-]+): constraint failed/.exec(checked);
  if (!m || unchecked !== inputHex) return false;
  const known = EXTENSIBLE_SIZE_BIT_STRINGS[m[1]!];
  if (!known) return false;
  const root = xerRoot(xer);
  if (typeof root === 'string') return false;
  return findNodes(root, known[0]).some(
    (n) => n.children.length === 0 && /^[01]*$/.test(n.text) && n.text.length !== known[1],
  );
}

// D1: a BSM (the 53-byte field BSM) whose pos.long is set to all ones: the
// 32-bit offset from -1799999999 decodes to 2494967296 > 1800000001.
const LONGITUDE_OUT_OF_RANGE =
  '002ca00000000000000004a399af1aa25fffffffe23a7c000de7fe87e8401fffe022587080a68000000d61471ce135e355bc001000';
// D2: the 86-byte field BSM with safetyExt.events set to the 14-bit value
// 00000000000101 (out of the root of SIZE(13, ...)), encoded by Erlang/OTP asn1.
const EVENTS_14_BITS =
  '002eb7d528470707070704a399af1ab4b614721fc22efc0006047e87e8401fffe022587080a6c380050306b0a389799af1a7ee00080d614719ad35e352bc00101ac28e37aa6bc6a610002035851c74e4d78d4a40004000';
// D3: MessageFrame with its extension bit set: the first extension alternative
// (index 5) holding a 2-byte open type (01 00). Erlang decodes it as
// {asn1_ExtAlt, <<1,0>>}.
const UNKNOWN_CHOICE_EXTENSION = '80020100';

// ---------------------------------------------------------------------------
// Our codec (written in parallel; part 3 runs once codecs/index.ts exists)

interface OurMessageSet {
  encode(type: string, value: unknown): Uint8Array;
  /** one complete value; bytes left over are an error */
  decode(type: string, bytes: Uint8Array): unknown;
  /** one value from the start of bytes (optional in this test) */
  decodePrefix?(type: string, bytes: Uint8Array): { value: unknown; trailing: Uint8Array };
}
interface OurCodecModule {
  loadMessageSet(name: CsaeSetName): Promise<OurMessageSet> | OurMessageSet;
}

const ourCodecFile = ['index.ts', 'index.js'].map((f) => path.join(repoRoot, 'codecs', f)).find((f) => fs.existsSync(f));
const ourCodecMissing = ourCodecFile ? undefined : 'codecs/index.ts does not exist yet (our codec is written in parallel)';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// --- deterministic mutation of JER-shaped values

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const clone = <T>(v: T): T => structuredClone(v);
const isObj = (v: Json): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBitString = (v: Json): v is { value: string; length: number } =>
  isObj(v) && Object.keys(v).length === 2 && typeof v.value === 'string' && typeof v.length === 'number';

/** Values seen under each key (and key[] for array items) in a corpus. */
type Pool = Map<string, Json[]>;

function addToPool(pool: Pool, v: Json, key = '$'): void {
  const list = pool.get(key) ?? [];
  const s = JSON.stringify(v);
  if (list.length < 64 && !list.some((x) => JSON.stringify(x) === s)) list.push(clone(v));
  pool.set(key, list);
  if (Array.isArray(v)) v.forEach((x) => addToPool(pool, x, `${key}[]`));
  else if (isObj(v) && !isBitString(v)) for (const [k, x] of Object.entries(v)) addToPool(pool, x, k);
}

interface Slot {
  parent: { [k: string]: Json } | Json[];
  key: string | number;
  poolKey: string;
}

function slots(v: Json, poolKey = '$', out: Slot[] = []): Slot[] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push({ parent: v, key: i, poolKey: `${poolKey}[]` });
      slots(x, `${poolKey}[]`, out);
    });
  } else if (isObj(v) && !isBitString(v)) {
    for (const [k, x] of Object.entries(v)) {
      out.push({ parent: v, key: k, poolKey: k });
      slots(x, k, out);
    }
  }
  return out;
}

function mutateOnce(root: Json, pool: Pool, rnd: () => number): string {
  const all = slots(root);
  if (all.length === 0) return 'nothing to mutate';
  const s = all[Math.floor(rnd() * all.length)]!;
  const get = (): Json => (s.parent as Record<string | number, Json>)[s.key]!;
  const set = (x: Json): void => {
    (s.parent as Record<string | number, Json>)[s.key] = x;
  };
  const v = get();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const fromPool = (): Json | undefined => {
    const cands = (pool.get(s.poolKey) ?? []).filter((x) => JSON.stringify(x) !== JSON.stringify(v));
    return cands.length ? clone(pick(cands)) : undefined;
  };
  const at = `${s.poolKey}`;
  if (typeof v === 'number') {
    const choices = [v + 1, v - 1, 0, v + Math.round((rnd() - 0.5) * 200), Math.round(v * rnd()), -v, v * 2];
    const p = rnd() < 0.25 ? fromPool() : undefined;
    const n = typeof p === 'number' ? p : pick(choices);
    set(n);
    return `${at}: ${v} -> ${n}`;
  }
  if (typeof v === 'string') {
    const p = fromPool();
    const hexLike = /^[0-9A-Fa-f]+$/.test(v) && v.length % 2 === 0;
    if (p !== undefined && (!hexLike || rnd() < 0.3)) {
      set(p);
      return `${at}: ${JSON.stringify(v)} -> ${JSON.stringify(p)}`;
    }
    if (hexLike) {
      const i = Math.floor(rnd() * v.length);
      const d = (parseInt(v[i]!, 16) ^ (1 + Math.floor(rnd() * 15))).toString(16);
      const n = v.slice(0, i) + (v[i] === v[i]!.toUpperCase() ? d.toUpperCase() : d) + v.slice(i + 1);
      set(n);
      return `${at}: ${v} -> ${n}`;
    }
    if (v.length > 0) {
      const i = Math.floor(rnd() * v.length);
      const n = v.slice(0, i) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + v.slice(i + 1);
      set(n);
      return `${at}: ${JSON.stringify(v)} -> ${JSON.stringify(n)}`;
    }
    return `${at}: empty string kept`;
  }
  if (isBitString(v)) {
    if (rnd() < 0.4) {
      // a longer value (these BIT STRINGs have named bits and an extensible
      // SIZE): random bits ending in 1, so that no trailing 0 bits could be
      // removed by the encoder (X.691 16.3) and the size stays as given
      const len = v.length + 1 + Math.floor(rnd() * 12);
      let bits = '';
      for (let i = 0; i < len - 1; i++) bits += rnd() < 0.5 ? '0' : '1';
      bits += '1';
      const bytes = Buffer.alloc(Math.ceil(len / 8));
      for (let i = 0; i < len; i++) if (bits[i] === '1') bytes[i >> 3]! |= 0x80 >> (i & 7);
      set({ value: bytes.toString('hex').toUpperCase(), length: len });
      return `${at}: BIT STRING of ${v.length} bits -> ${len} bits`;
    }
    if (v.length === 0) return `${at}: empty BIT STRING kept`;
    const bit = Math.floor(rnd() * v.length);
    const bytes = Buffer.from(v.value.padEnd(Math.ceil(v.length / 8) * 2, '0'), 'hex');
    bytes[bit >> 3]! ^= 0x80 >> (bit & 7);
    set({ value: bytes.toString('hex').toUpperCase(), length: v.length });
    return `${at}: BIT STRING bit ${bit} flipped`;
  }
  if (Array.isArray(v)) {
    const r = rnd();
    if (r < 0.35 && v.length > 1) {
      const i = Math.floor(rnd() * v.length);
      v.splice(i, 1);
      return `${at}: item ${i} removed`;
    }
    if (r < 0.7 && v.length > 0) {
      const i = Math.floor(rnd() * v.length);
      v.push(clone(v[i]!));
      return `${at}: item ${i} appended again`;
    }
    if (v.length > 1) {
      const i = Math.floor(rnd() * v.length);
      const j = Math.floor(rnd() * v.length);
      [v[i], v[j]] = [v[j]!, v[i]!];
      return `${at}: items ${i} and ${j} swapped`;
    }
    return `${at}: array kept`;
  }
  if (isObj(v)) {
    const r = rnd();
    const keys = Object.keys(v);
    if (r < 0.3 && keys.length > 0) {
      const k = pick(keys);
      delete v[k];
      return `${at}: .${k} deleted`;
    }
    if (r < 0.7) {
      // add a member seen in another value under the same key
      const others = (pool.get(s.poolKey) ?? []).filter(isObj);
      const extra = others.flatMap((o) => Object.keys(o).filter((k) => !(k in v)).map((k) => [k, o[k]!] as const));
      if (extra.length) {
        const [k, x] = pick(extra);
        v[k] = clone(x);
        return `${at}: .${k} added`;
      }
    }
    const p = fromPool();
    if (p !== undefined) {
      set(p);
      return `${at}: replaced by another value seen there`;
    }
    return `${at}: object kept`;
  }
  return `${at}: kept`;
}

// ---------------------------------------------------------------------------

t.test('asn1c 0.9.28 second opinion on the CSAE message sets', { skip: unavailable ?? false }, async (t) => {
  const tools = {} as Record<CsaeSetName, Asn1cTool>;
  await t.test('build the asn1c codecs (cached by input hash)', async (t) => {
    const [a, b] = await Promise.all([buildAsn1c('csae2019'), buildAsn1c('csae2020')]);
    tools.csae2019 = a;
    tools.csae2020 = b;
    for (const tool of [a, b]) {
      const bi = tool.build;
      t.comment(
        `${bi.set}: ${bi.cached ? 'cached build' : 'built'} ${bi.driver} ` +
          `(that build took ${bi.totalSec}s: asn1c ${bi.asn1cSec}s, cc -O2 ${bi.ccSec}s)`,
      );
      t.ok(fs.existsSync(bi.driver), `${bi.set} driver exists`);
    }
  });
  if (!tools.csae2019 || !tools.csae2020) return;
  const a19 = tools.csae2019;
  const a20 = tools.csae2020;

  const rows = readTsv();
  const fieldFrames: Frame[] = [];

  await t.test('field vector layout (extracted_payloads.tsv)', async (t) => {
    t.same(rows.map((r) => r.label).sort(), ['BSM', 'MAP', 'RSI', 'RSM', 'SPAT'], 'one row per message type');
    for (const row of rows) {
      const { frames, layout } = framesOfRow(row);
      fieldFrames.push(...frames);
      if (row.label === 'BSM') {
        t.equal(layout, 'batch of 2: 86 + 53 bytes', 'the BSM row is a batch record of two MessageFrames');
        const [raw] = await a19.roundtrip([row.payloadHex]);
        t.match(
          raw,
          /^ERROR 106 bytes left over: the message ends after 36 of 142 bytes/,
          'asn1c reads the raw BSM payload as a 36-byte message plus 106 other bytes (Erlang agrees)',
        );
      } else {
        t.equal(layout, 'single', `${row.label}: length field ${row.lenField} = payload size`);
      }
    }
  });

  await t.test('every field MessageFrame round-trips bit-identically through asn1c (csae2019)', async (t) => {
    t.ok(fieldFrames.length >= 6, `${fieldFrames.length} frames`);
    const out = await a19.roundtrip(fieldFrames.map((f) => f.hex));
    const xers = await a19.xerMany(fieldFrames.map((f) => f.hex));
    fieldFrames.forEach((f, i) => {
      t.equal(out[i], f.hex, `${f.name} (${f.hex.length / 2} bytes)`);
      const root = xerRoot(xers[i]!);
      t.ok(typeof root !== 'string' && root.children.length === 1, `${f.name}: asn1c XER parses`);
      if (typeof root !== 'string') {
        const alt = root.children[0]!.name;
        const want = { BSM: 'bsmFrame', MAP: 'mapFrame', RSM: 'rsmFrame', SPAT: 'spatFrame', RSI: 'rsiFrame' }[f.kind];
        t.equal(alt, want, `${f.name} is a ${want}`);
      }
    });
  });

  await t.test('field vectors under csae2020: RSI and MAP differ from YD/T 3709-2020 (as vectors/README says)', async (t) => {
    const out = await a20.roundtrip(fieldFrames.map((f) => f.hex));
    fieldFrames.forEach((f, i) => {
      if (f.kind === 'RSI' || f.kind === 'MAP') {
        t.not(out[i], f.hex, `${f.name} does not round-trip with csae2020: ${out[i]!.slice(0, 90)}`);
      } else {
        t.equal(out[i], f.hex, `${f.name} round-trips with csae2020 too (no type it uses changed)`);
      }
    });
  });

  await t.test('YD/T 3709 BSM round-trips through asn1c (csae2020) and decodes to its JER value', async (t) => {
    const vectors = readYdt();
    t.ok(vectors.length >= 1, 'at least one YD/T 3709 vector');
    for (const v of vectors) {
      t.equal(v.std, 'csae2020', 'vector is for csae2020');
      const hex = v.hex.toLowerCase();
      const [rt] = await a20.roundtrip([hex]);
      t.equal(rt, hex, `YD/T BSM: round-trip of ${hex.length / 2} bytes`);
      const root = xerRoot(await a20.xer(hex));
      if (typeof root === 'string') t.fail(root);
      else t.same(diffXerJer(root, v.value), [], 'asn1c value = JER value in ydt3709-bsm.jsonl');
    }
  });

  await t.test('known asn1c 0.9.28 defects (asserted, so a change in asn1c shows up)', async (t) => {
    await t.test('D1: constraint checkers of derived types are disabled after the first decode', async (t) => {
      // Longitude.c: Longitude_1_inherit_TYPE_descriptor() runs on every
      // decode/encode of a Longitude and sets td->check_constraints to
      // NativeInteger's no-op checker. The driver snapshots all checkers at
      // start-up and restores them before each asn_check_constraints().
      const [withFix] = await a19.roundtrip([LONGITUDE_OUT_OF_RANGE]);
      const [asShipped] = await a19.roundtrip([LONGITUDE_OUT_OF_RANGE], { restoreCheckers: false });
      const [unchecked] = await a19.roundtrip([LONGITUDE_OUT_OF_RANGE], { checkConstraints: false });
      const root = xerRoot(await a19.xer(LONGITUDE_OUT_OF_RANGE));
      t.ok(typeof root !== 'string' && findNodes(root, 'long')[0]?.text === '2494967296', 'decodes pos.long = 2494967296 (> 1800000001)');
      t.match(withFix, /^ERROR constraint check failed after decode: Longitude: constraint failed/, 'with the driver work-around the checker reports it');
      t.equal(asShipped, 'ERROR encode failed at type Longitude', 'as shipped the checker passes it; only the UPER encoder refuses');
      t.equal(unchecked, 'ERROR encode failed at type Longitude', 'the encoder refuses the out-of-range value');
    });
    await t.test('D2: the checker rejects out-of-root sizes of extensible SIZE BIT STRINGs', async (t) => {
      const [checked] = await a19.roundtrip([EVENTS_14_BITS]);
      const [unchecked] = await a19.roundtrip([EVENTS_14_BITS], { checkConstraints: false });
      const xer = await a19.xer(EVENTS_14_BITS);
      const root = xerRoot(xer);
      t.ok(typeof root !== 'string' && findNodes(root, 'events')[0]?.text === '00000000000101', 'asn1c decodes events as 14 bits, as Erlang encoded them');
      t.match(checked, /^ERROR constraint check failed after decode: VehicleEventFlags: constraint failed/, 'the checker rejects VehicleEventFlags (SIZE (13, ...)) of size 14');
      t.equal(unchecked, EVENTS_14_BITS, "asn1c's UPER codec itself re-encodes it bit-identically");
      t.ok(isExtensibleSizeCheckerDefect(EVENTS_14_BITS, checked!, unchecked!, xer), 'recognised as D2 by the classifier used below');
    });
    await t.test('D3: unknown extension alternatives of a CHOICE are not decoded', async (t) => {
      const [rt] = await a19.roundtrip([UNKNOWN_CHOICE_EXTENSION]);
      t.match(rt, /^ERROR decode failed: RC_FAIL/, 'asn1c fails where X.691 23.8/10.2 call for an open type (Erlang: {asn1_ExtAlt,<<1,0>>})');
    });
  });

  await t.test('asn1c agrees with our codec', { skip: ourCodecMissing ?? false }, async (t) => {
    const mod = (await import('../codecs/index.js')) as unknown as OurCodecModule;
    t.type(mod.loadMessageSet, 'function', 'codecs/index exports loadMessageSet');
    const seed = envInt('ASN1C_FUZZ_SEED', 0x5eed);
    const mutantsPerSet = envInt('ASN1C_MUTANTS', 300);
    const randomTries = envInt('ASN1C_RANDOM_TRIES', 3000);
    t.comment(`seed ${seed} (ASN1C_FUZZ_SEED), ${mutantsPerSet} mutants and ${randomTries} random inputs per set`);

    // The field RSI and MAP are not csae2020 encodings (see above), but their
    // values, as our csae2019 codec decodes them, are good starting points for
    // csae2020 mutants (ConnectsToList, NodeList, Link, PathPointList differ).
    const ms19 = await mod.loadMessageSet('csae2019');
    const fieldValues: Json[] = [];
    for (const f of fieldFrames) {
      try {
        fieldValues.push(ms19.decode('MessageFrame', fromHex(f.hex)) as Json);
      } catch {
        /* reported in the csae2019 subtest */
      }
    }
    const sets: { set: CsaeSetName; tool: Asn1cTool; vectors: { name: string; hex: string }[]; extraBases: Json[] }[] = [
      { set: 'csae2019', tool: a19, vectors: fieldFrames.map((f) => ({ name: f.name, hex: f.hex })), extraBases: [] },
      {
        set: 'csae2020',
        tool: a20,
        vectors: [
          ...readYdt().map((v, i) => ({ name: `YD/T BSM ${i + 1}`, hex: v.hex.toLowerCase() })),
          ...fieldFrames.filter((f) => f.kind !== 'RSI' && f.kind !== 'MAP').map((f) => ({ name: f.name, hex: f.hex })),
        ],
        extraBases: fieldValues,
      },
    ];

    for (const { set, tool, vectors, extraBases } of sets) {
      await t.test(set, async (t) => {
        const ms = await mod.loadMessageSet(set);

        /**
         * Our encoding must round-trip through asn1c bit-identically (an
         * asn1c defect D2 is accepted only when proven, and counted), and
         * asn1c's value must equal every given JER value.
         */
        const knownDefects: string[] = [];
        const judge = async (
          t: Test,
          items: { name: string; hex: string; values: { what: string; value: unknown }[] }[],
        ): Promise<number> => {
          const hexes = items.map((i) => i.hex);
          const checked = await tool.roundtrip(hexes);
          const unchecked = await tool.roundtrip(hexes, { checkConstraints: false });
          const xers = await tool.xerMany(hexes);
          let failures = 0;
          const fail = (msg: string, extra: object): void => {
            failures++;
            if (failures <= 10) t.fail(msg, extra);
          };
          items.forEach((item, i) => {
            if (checked[i] !== item.hex) {
              if (isExtensibleSizeCheckerDefect(item.hex, checked[i]!, unchecked[i]!, xers[i]!)) {
                knownDefects.push(`${item.name}: ${checked[i]}`);
              } else {
                fail(`${item.name}: asn1c does not re-encode our encoding bit-identically`, {
                  ours: item.hex,
                  asn1c: checked[i],
                  asn1cWithoutChecker: unchecked[i],
                });
                return;
              }
            }
            const root = xerRoot(xers[i]!);
            if (typeof root === 'string') {
              fail(`${item.name}: asn1c XER: ${root}`, { ours: item.hex });
              return;
            }
            for (const { what, value } of item.values) {
              const d = diffXerJer(root, value);
              if (d.length) fail(`${item.name}: asn1c's value differs from ${what}`, { diff: d.slice(0, 8), ours: item.hex });
            }
          });
          if (failures > 10) t.fail(`${failures - 10} more failures not shown`);
          return failures;
        };

        // --- the vectors
        const decoded: Json[] = [];
        const vectorItems: { name: string; hex: string; values: { what: string; value: unknown }[] }[] = [];
        for (const v of vectors) {
          let value: unknown;
          try {
            value = ms.decode('MessageFrame', fromHex(v.hex));
          } catch (e) {
            t.fail(`${v.name}: our codec does not decode it: ${(e as Error).message}`);
            continue;
          }
          decoded.push(value as Json);
          let ours: string;
          try {
            ours = toHex(ms.encode('MessageFrame', value));
          } catch (e) {
            t.fail(`${v.name}: our codec does not re-encode its own decoding: ${(e as Error).message}`);
            continue;
          }
          t.equal(ours, v.hex, `${v.name}: our decode -> encode is bit-identical`);
          vectorItems.push({ name: v.name, hex: ours, values: [{ what: 'our decoding of the vector', value }] });
        }
        const vf = await judge(t, vectorItems);
        t.equal(vf, 0, `${vectorItems.length} vectors: asn1c accepts our encodings and decodes the values we decode`);

        // --- mutated vector values
        const bases = [...decoded, ...extraBases];
        const pool: Pool = new Map();
        for (const d of bases) addToPool(pool, d);
        const rnd = mulberry32(seed ^ (set === 'csae2019' ? 0x2019 : 0x2020));
        const mutants: { name: string; hex: string; values: { what: string; value: unknown }[] }[] = [];
        const rejected = new Map<string, number>();
        let attempts = 0;
        const seen = new Set<string>();
        while (mutants.length < mutantsPerSet && attempts < mutantsPerSet * 20 && bases.length > 0) {
          attempts++;
          const base = bases[Math.floor(rnd() * bases.length)]!;
          const m = clone(base);
          const ops: string[] = [];
          const nOps = 1 + Math.floor(rnd() * 4);
          for (let k = 0; k < nOps; k++) ops.push(mutateOnce(m, pool, rnd));
          let bytes: Uint8Array;
          try {
            bytes = ms.encode('MessageFrame', m);
          } catch (e) {
            const key = String((e as Error).message).replace(/-?\d+/g, 'N').slice(0, 80);
            rejected.set(key, (rejected.get(key) ?? 0) + 1);
            continue;
          }
          const hex = toHex(bytes);
          if (seen.has(hex)) continue;
          seen.add(hex);
          let back: unknown;
          try {
            back = ms.decode('MessageFrame', bytes);
          } catch (e) {
            t.fail(`mutant ${mutants.length}: our codec does not decode its own encoding: ${(e as Error).message}`, { hex, ops });
            continue;
          }
          mutants.push({
            name: `mutant ${mutants.length} [${ops.join('; ')}]`,
            hex,
            values: [
              { what: 'the value we encoded', value: m },
              { what: 'our decoding of our encoding', value: back },
            ],
          });
        }
        const perKind = new Map<string, number>();
        for (const m of mutants) {
          const kind = Object.keys((m.values[0]!.value ?? {}) as object)[0] ?? '?';
          perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
        }
        t.comment(
          `${mutants.length} distinct mutants encoded by our codec (${[...perKind].map(([k, n]) => `${k} ${n}`).join(', ')}), ` +
            `${[...rejected.values()].reduce((a, b) => a + b, 0)} rejected by it, in ${attempts} attempts`,
        );
        if (rejected.size) t.comment(`our codec's rejections: ${JSON.stringify([...rejected.entries()].slice(0, 8))}`);
        t.ok(
          mutants.length >= Math.min(mutantsPerSet, 100),
          `enough mutants accepted by our codec (${mutants.length}; at least ${Math.min(mutantsPerSet, 100)})`,
        );
        const mf = await judge(t, mutants);
        t.equal(mf, 0, `${mutants.length} mutants: asn1c accepts our encodings, re-encodes them bit-identically and decodes the values we encoded`);

        // --- values our codec decodes from random bytes
        const rnd2 = mulberry32(seed ^ (set === 'csae2019' ? 0x7019 : 0x7020));
        const randomItems: { name: string; hex: string; values: { what: string; value: unknown }[] }[] = [];
        for (let i = 0; i < randomTries; i++) {
          const len = 4 + Math.floor(rnd2() * 120);
          const bytes = new Uint8Array(len);
          for (let j = 0; j < len; j++) bytes[j] = Math.floor(rnd2() * 256);
          bytes[0]! &= 0x7f; // root alternatives only: JER cannot hold unknown extensions
          let value: unknown;
          let hex: string;
          try {
            // random bytes rarely end where a value does: take the value at their start
            value = ms.decodePrefix ? ms.decodePrefix('MessageFrame', bytes).value : ms.decode('MessageFrame', bytes);
            hex = toHex(ms.encode('MessageFrame', value));
          } catch {
            continue;
          }
          randomItems.push({ name: `random ${i} (input ${toHex(bytes)})`, hex, values: [{ what: 'our decoding', value }] });
        }
        t.comment(`${randomItems.length} of ${randomTries} random inputs decoded and re-encoded by our codec`);
        const rf = await judge(t, randomItems);
        t.equal(rf, 0, `${randomItems.length} values decoded from random bytes: asn1c agrees`);

        if (knownDefects.length) {
          t.comment(`asn1c defect D2 (extensible SIZE checker) hit by ${knownDefects.length} encodings; asn1c re-encoded each bit-identically without its checker. First: ${knownDefects[0]}`);
        }
      });
    }
  });

  await t.test('asn1c UPER speed on the field vectors (C baseline)', async (t) => {
    const iter = envInt('ASN1C_BENCH_ITER', 20000);
    if (iter === 0) {
      t.comment('ASN1C_BENCH_ITER=0: skipped');
      return;
    }
    const res = await a19.bench(fieldFrames.map((f) => f.hex), iter);
    t.comment(`asn1c 0.9.28, cc -O2, ${iter} iterations each (decode includes freeing the value)`);
    t.comment('frame       bytes   decode/s   encode/s');
    fieldFrames.forEach((f, i) => {
      const r = res[i]!;
      t.comment(`${f.name.padEnd(10)} ${String(r.bytes).padStart(6)} ${Math.round(r.decodePerSec).toString().padStart(10)} ${Math.round(r.encodePerSec).toString().padStart(10)}`);
      t.equal(r.encodedBytes, r.bytes, `${f.name}: re-encoded size`);
      t.ok(r.decodePerSec > 0 && r.encodePerSec > 0, `${f.name}: rates measured`);
    });
  });
});
