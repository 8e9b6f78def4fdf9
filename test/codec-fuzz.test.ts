// Mutated real messages (bit flips, truncation, extension, splices, random bytes): the decoder must only
// ever fail with a typed DecodeError, and whatever it accepts must re-encode and decode to the same value.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { DecodeError, fromHex, loadMessageSet, toHex, type MessageSet, type StdName } from '../codecs/index.js';
import { VECTORS } from './support/vectors.js';

const ITERATIONS = Number(process.env.RSU_FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.RSU_FUZZ_SEED ?? 0x5eed);
const V = VECTORS + '/';

/** xorshift32: reproducible from the seed printed on failure. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { int: (n: number) => next() % n, byte: () => next() & 0xff };
}

function csaeSeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const line of readFileSync(V + 'csae/extracted_payloads.tsv', 'utf8').trim().split('\n').slice(1)) {
    const hex = line.split('\t')[3]!;
    const b = fromHex(hex);
    if (line.startsWith('BSM')) {
      out.push(b.subarray(1, 87), b.subarray(89)); // the BSM payload is a batch of two length-framed MessageFrames
    } else out.push(b);
  }
  out.push(fromHex(JSON.parse(readFileSync(V + 'csae/ydt3709-bsm.jsonl', 'utf8').split('\n')[0]!).hex));
  return out;
}

function j2735Seeds(): Uint8Array[] {
  const out = [new Uint8Array(readFileSync(V + 'j2735/j2735.MessageFrame.Bsm.uper')), new Uint8Array(readFileSync(V + 'j2735/MessageFrame.TravelerInformation.uper'))];
  for (const k of ['map', 'spat', 'psm', 'srm', 'ssm']) {
    const m = /<asn1>\s*([0-9A-Fa-f]+)\s*<\/asn1>/.exec(readFileSync(V + `j2735/jpo-ode-decoder-output/decoder-output-${k}.xml`, 'utf8'));
    if (m) out.push(fromHex(m[1]!));
  }
  return out;
}

function mutate(r: ReturnType<typeof rng>, seed: Uint8Array): Uint8Array {
  const b = new Uint8Array(seed);
  switch (r.int(6)) {
    case 0: {
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips && b.length; i++) {
        const bit = r.int(b.length * 8);
        b[bit >>> 3]! ^= 0x80 >>> (bit & 7);
      }
      return b;
    }
    case 1:
      return b.subarray(0, r.int(b.length + 1));
    case 2: {
      const extra = new Uint8Array(1 + r.int(16)).map(() => r.byte());
      const out = new Uint8Array(b.length + extra.length);
      out.set(b);
      out.set(extra, b.length);
      return out;
    }
    case 3: {
      const at = r.int(b.length + 1);
      const ins = new Uint8Array(1 + r.int(8)).map(() => r.byte());
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return out;
    }
    case 4: {
      const at = r.int(b.length + 1);
      for (let i = at; i < Math.min(b.length, at + 1 + r.int(6)); i++) b[i] = r.byte();
      return b;
    }
    default:
      return new Uint8Array(r.int(300)).map(() => r.byte());
  }
}

/** Equal, except that a {value, length} bit string may have lost trailing 0 bits or gained them up to a bound. */
function sameModuloNamedBits(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length === 2 && ka.includes('value') && ka.includes('length') && kb.length === 2) {
    const bits = (x: { value: string; length: number }) =>
      [...x.value].map((h) => parseInt(h, 16).toString(2).padStart(4, '0')).join('').slice(0, x.length).replace(/0+$/, '');
    return bits(a as never) === bits(b as never);
  }
  return ka.length === kb.length && ka.every((k) => sameModuloNamedBits((a as never)[k], (b as never)[k]));
}

async function fuzz(t: Tap.Test, ms: MessageSet, seeds: Uint8Array[], n: number, seed: number) {
  const r = rng(seed);
  const reasons = new Map<string, number>();
  let accepted = 0;
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const input = mutate(r, seeds[r.int(seeds.length)]!);
    let value: unknown;
    try {
      value = ms.decodePrefix('MessageFrame', input).value;
    } catch (e) {
      if (!(e instanceof DecodeError) || !Number.isInteger(e.bitOffset) || !/ at bit -?\d+$/.test(e.message)) {
        if (failures++ < 5) t.fail(`not a typed DecodeError for input ${toHex(input)} (seed ${seed}, case ${i}): ${(e as Error)?.stack ?? e}`);
        continue;
      }
      const key = e.reason.replace(/\d+/g, 'N');
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      continue;
    }
    accepted++;
    try {
      // Re-encoding is canonical (named-bit strings lose trailing 0 bits, X.691 16.2), so the property is that
      // one encode reaches a fixed point: decoding it and encoding again gives the same bytes.
      const bytes = ms.encode('MessageFrame', value as never);
      const again = ms.decode('MessageFrame', bytes);
      const bytes2 = ms.encode('MessageFrame', again as never);
      if (toHex(bytes2) !== toHex(bytes)) throw new Error(`re-encoding is not stable:\n${toHex(bytes)}\n${toHex(bytes2)}`);
      if (!sameModuloNamedBits(again, value)) throw new Error(`re-decoded value differs:\n${JSON.stringify(value)}\n${JSON.stringify(again)}`);
    } catch (e) {
      if (failures++ < 5) t.fail(`accepted input ${toHex(input)} does not re-encode to the same value (seed ${seed}, case ${i}): ${(e as Error).message}`);
    }
  }
  t.equal(failures, 0, `${n} mutated inputs: ${accepted} decoded and re-encoded, ${n - accepted} rejected with a DecodeError`);
  t.comment(`${ms.name} rejection reasons: ${[...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} (${v})`).join('; ')}`);
}

const sets: { std: StdName; seeds: () => Uint8Array[]; share: number }[] = [
  { std: 'csae2019', seeds: csaeSeeds, share: 0.35 },
  { std: 'csae2020', seeds: csaeSeeds, share: 0.35 },
  { std: 'j2735-2020', seeds: j2735Seeds, share: 0.15 },
  { std: 'j2735-2016', seeds: j2735Seeds, share: 0.15 },
];

const haveJ2735 = !!process.env.RSU_J2735_ASN1_DIR;
for (const s of sets) {
  const isJ = s.std.startsWith('j2735');
  // Without J2735 modules, CSAE takes the whole budget so every run mutates at least ITERATIONS messages.
  const n = Math.round(ITERATIONS * (haveJ2735 ? s.share : isJ ? 0 : 0.5));
  t.test(`fuzz ${s.std}`, { skip: isJ && !haveJ2735 ? 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project' : false }, async (t) => {
    const ms = (await loadMessageSet(s.std)) as MessageSet;
    await fuzz(t, ms, s.seeds(), n, SEED + s.std.length);
  });
}
