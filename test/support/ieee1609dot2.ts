/**
 * Where the IEEE 1609.2 modules (deployer-supplied, RSU_IEEE1609DOT2_ASN1_DIR) and the real SPDU vectors are,
 * the WSMP pcap the tshark differential reads (hw/radio's WSMP encoder, test/support/pcap.ts's writer), and the
 * comparison of our values with the field tree tshark prints for them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { IR, MessageSetIR } from '../../codecs/asn1/ir.js';
import { DecodeError, fromHex, ieee1609Dot2Dir, toHex, type Ieee1609Dot2Edition, type loadIeee1609Dot2 } from '../../codecs/index.js';
import { encodeWsmp } from '../../hw/radio/netlayer.js';
import { pDecodePsid } from '../../hw/radio/psid.js';
import { pcapOf } from './pcap.js';
import { randomValue, type Rng } from './random-values.js';
import { VECTORS } from './vectors.js';

type Tap = Pick<typeof import('tap').default, 'equal' | 'ok'>;

export const IEEE1609DOT2_VECTORS = path.join(VECTORS, 'ieee1609dot2');

/** Why the 1609.2 tests of an edition must skip, or undefined when its modules are there. */
export function ieee1609Missing(edition: Ieee1609Dot2Edition): string | undefined {
  const base = process.env.RSU_IEEE1609DOT2_ASN1_DIR;
  if (!base)
    return `IEEE 1609.2 ASN.1 modules are not redistributable and not in the repository; set RSU_IEEE1609DOT2_ASN1_DIR to a directory with 2016/ and 2022/ to run (codecs/README.md)`;
  const dir = ieee1609Dot2Dir(edition, base);
  if (!existsSync(dir) || dir === base) return `RSU_IEEE1609DOT2_ASN1_DIR=${base} has no ${edition}/ subdirectory`;
  return undefined;
}

export interface SpduVector {
  name: string;
  psid: number;
  generationTimeUtc: string;
  signer: string;
  hex: string;
}

export function spduVectors(): SpduVector[] {
  const file = path.join(IEEE1609DOT2_VECTORS, 'spdus.tsv');
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split('\t');
  return rows.map((line) => {
    const c = line.split('\t');
    const get = (k: string) => c[cols.indexOf(k)]!;
    return { name: get('name'), psid: Number(get('psid')), generationTimeUtc: get('generation_time_utc'), signer: get('signer'), hex: get('hex') };
  });
}

/** A classic pcap (Ethernet link type) with one WSMP v3 frame per SPDU; psid is p-encoded (1-4 octets). */
export function wsmpPcap(spdus: Uint8Array[], psid: Uint8Array = Uint8Array.of(0x20)): Buffer {
  const id = pDecodePsid(psid.reduce((n, b) => n * 256 + b, 0));
  return pcapOf(spdus.map((p) => encodeWsmp({ psid: id }, p)));
}

/** Deep equality of JER values with bigints, hex compared case-insensitively; the first difference's path. */
export function diff(a: unknown, b: unknown, at = '$'): string | undefined {
  if (a === b) return undefined;
  if (typeof a === 'bigint' || typeof b === 'bigint') return BigInt(a as bigint) === BigInt(b as bigint) ? undefined : `${at}: ${a} vs ${b}`;
  if (typeof a === 'string' && typeof b === 'string') return a.toUpperCase() === b.toUpperCase() && /^[0-9A-F]*$/i.test(a) ? undefined : `${at}: ${a} vs ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${a.length} vs ${b.length} items`;
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    for (const k of new Set([...ka, ...kb])) {
      const d = diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return `${at}: ${String(a)} vs ${String(b)}`;
}

export const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** Microseconds since 2004-01-01 00:00:00 UTC on the TAI scale (1609.2 Time64): five leap seconds by 2019. */
export function time64(utc: string): bigint {
  const ms = Date.parse(utc.replace(' ', 'T') + 'Z') - Date.UTC(2004, 0, 1);
  return BigInt(ms) * 1000n + 5_000_000n;
}

/** Whether a value avoids what Wireshark 4.0's OER dissector does not implement (see the test above). */
export function tsharkCanRead(set: MessageSetIR, ir: IR, x: unknown): boolean {
  switch (ir.k) {
    case 'ref':
      return tsharkCanRead(set, set.types.get(ir.name)!.ir, x);
    case 'seq': {
      const o = x as Record<string, unknown>;
      const opts = ir.fields.filter((f) => f.opt).length;
      if (ir.ext && (opts === 0 || opts % 8 === 0)) return false;
      if (ir.adds.some((a) => ('group' in a ? a.group : [a.field]).some((f) => o[f.name] !== undefined))) return false;
      return ir.fields.every((f) => o[f.name] === undefined || (f.type.k === 'open' && f.type.table) || tsharkCanRead(set, f.type, o[f.name]));
    }
    case 'choice': {
      const [k] = Object.keys(x as object);
      const alt = ir.alts.find((a) => a.name === k);
      return !!alt && tsharkCanRead(set, alt.type, (x as Record<string, unknown>)[k!]);
    }
    case 'seqof':
      return (x as unknown[]).every((i) => tsharkCanRead(set, ir.item, i));
    default:
      return true;
  }
}

export function tsharkMissing(): string | undefined {
  const r = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'tshark is not installed (apt-get install tshark)';
}

export type Leaf = [label: string, text: string];

/** The leaves tshark shows for a value: integers in decimal, octets as colon hex, enumerations by number. */
export function ourLeaves(set: MessageSetIR, v: unknown, typeName: string): Leaf[] {
  const out: Leaf[] = [];
  const label = (s: string) => s.replace(/-/g, '_');
  const walk = (ir: IR, x: unknown, name: string): void => {
    switch (ir.k) {
      case 'ref':
        return walk(set.types.get(ir.name)!.ir, x, name);
      case 'seq':
        for (const f of [...ir.fields, ...ir.adds.flatMap((a) => ('group' in a ? a.group : [a.field]))]) {
          const fx = (x as Record<string, unknown>)[f.name];
          if (fx === undefined) continue;
          if (f.type.k === 'open' && f.type.table) {
            const row = f.type.table.rows.find((r) => r.id === (x as Record<string, unknown>)[f.type.k === 'open' ? f.type.table!.idField : '']);
            if (row) walk(row.type, fx, f.name);
          } else walk(f.type, fx, f.name);
        }
        return;
      case 'choice': {
        const [k] = Object.keys(x as object);
        const alt = [...ir.alts, ...ir.adds].find((a) => a.name === k)!;
        return walk(alt.type, (x as Record<string, unknown>)[k!], k!);
      }
      case 'seqof':
        if (!(x as unknown[]).length) out.push([label(name), '0']); // tshark shows an empty list as its count
        for (const item of x as unknown[]) walk(ir.item, item, '*');
        return;
      case 'int':
        out.push([label(name), String(x)]);
        return;
      case 'enum': {
        const names = [...ir.root, ...ir.adds];
        const values = [...(ir.values ?? []), ...(ir.addValues ?? [])];
        out.push([label(name), String(values[names.indexOf(x as string)])]);
        return;
      }
      case 'octets':
        out.push([label(name), (x as string).toLowerCase().replace(/(..)(?!$)/g, '$1:')]);
        return;
      case 'str':
        out.push([label(name), x as string]);
        return;
      default:
        return; // NULL, BOOLEAN, BIT STRING, open types: not compared
    }
  };
  walk(set.types.get(typeName)!.ir, v, typeName);
  return out;
}

/** The ieee1609dot2.* leaves of a tshark JSON frame, in order (a key with a `_tree` sibling is structure). */
export function tsharkLeaves(layers: Record<string, unknown>): Leaf[] {
  const out: Leaf[] = [];
  const walk = (o: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(o)) {
      const vs = Array.isArray(v) ? v : [v];
      for (const x of vs) {
        if (k.startsWith('ieee1609dot2.')) {
          const name = k.slice('ieee1609dot2.'.length);
          if (x && typeof x === 'object') walk(x as Record<string, unknown>);
          else if (typeof x === 'string' && !(`${k}_tree` in o) && !name.endsWith('_element')) out.push([name, x]);
        } else if (/^Item \d+$/.test(k) || k === 'Wave Short Message' || k === 'wsmp') {
          if (x && typeof x === 'object') walk(x as Record<string, unknown>);
        }
      }
    }
  };
  walk(layers);
  return out;
}

export function compareLeaves(ours: Leaf[], theirs: Leaf[]): string | undefined {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const a = ours[i];
    const b = theirs[i];
    if (!a || !b) return `leaf ${i}: ours ${a?.join('=') ?? '(none)'}, tshark ${b?.join('=') ?? '(none)'} (${ours.length} vs ${theirs.length} leaves)`;
    if ((a[0] !== '*' && a[0] !== b[0]) || a[1] !== b[1]) return `leaf ${i}: ours ${a.join('=')}, tshark ${b.join('=')}`;
  }
  return undefined;
}

/** The C-OER set the tests drive (codecs' MessageSet of rule 'coer'). */
type OerSet = Awaited<ReturnType<typeof loadIeee1609Dot2>>;

export interface MutationReport {
  accepted: number;
  /** Errors other than DecodeError, or DecodeErrors whose message lacks the path and byte (first 3). */
  other: string[];
  /** Accepted inputs whose value does not survive a re-encoding (first 3). */
  unstable: string[];
}

/** Mutates the seeds (bit flips, truncation, a byte replaced, bytes appended) and decodes each as `root`. */
export function mutateAndDecode(ms: OerSet, root: string, seeds: Uint8Array[], rng: Rng, n: number): MutationReport {
  const out: MutationReport = { accepted: 0, other: [], unstable: [] };
  for (let i = 0; i < n; i++) {
    const b = Uint8Array.from(rng.pick(seeds));
    const op = rng.int(0, 3);
    let m: Uint8Array = b;
    if (op === 0) for (let k = rng.int(1, 3); k > 0; k--) b[rng.int(0, b.length - 1)]! ^= 1 << rng.int(0, 7);
    else if (op === 1) m = b.subarray(0, rng.int(0, b.length - 1));
    else if (op === 2) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
    else m = Uint8Array.from([...b, ...fromHex(rng.hex(rng.int(1, 4)))]);
    try {
      const v = ms.decodePrefix(root, m).value;
      out.accepted++;
      const d = diff(ms.decode(root, ms.encode(root, v as never)), v);
      if (d && out.unstable.length < 3) out.unstable.push(`${toHex(m)}: ${d}`);
    } catch (e) {
      if (!(e instanceof DecodeError)) {
        if (out.other.length < 3) out.other.push(`${toHex(m)}: ${(e as Error).stack}`);
      } else if (!new RegExp(`^${root}[^ ]*: .+ at byte \\d+$`).test(e.message) && out.other.length < 3) out.other.push(`message without path/byte: ${e.message}`);
    }
  }
  return out;
}

export interface TsharkReport {
  drawn: number;
  spdus: number;
  status: number | null;
  stderr: string;
  frames: number;
  leaves: number;
  /** One line per frame whose leaves differ from ours. */
  bad: string[];
}

/**
 * The real SPDUs and random Ieee1609Dot2Data values (half around a random SignedData, for depth), only those
 * Wireshark 4.0's OER dissector implements (tsharkCanRead), encoded by `ms`, written as WSMP frames in a pcap
 * and read by tshark; each frame's ieee1609dot2 leaves compared with our value's.
 */
export function tsharkDifferential(ms: OerSet, ir: MessageSetIR, rng: Rng, total = 202): TsharkReport {
  const values: unknown[] = spduVectors().map((v) => ms.decode('Ieee1609Dot2Data', fromHex(v.hex)));
  const real = values.length;
  let drawn = 0;
  while (values.length < total) {
    const opts = { maxUnbounded: 2 ** 32 - 1 };
    const v = values.length % 2 ? randomValue(ir, 'Ieee1609Dot2Data', rng, opts) : { protocolVersion: 3, content: { signedData: randomValue(ir, 'SignedData', rng, opts) } };
    drawn++;
    if (tsharkCanRead(ir, ir.types.get('Ieee1609Dot2Data')!.ir, v)) values.push(v);
  }
  const encoded = values.map((v) => ms.encode('Ieee1609Dot2Data', v as never));
  const dir = mkdtempSync(path.join(tmpdir(), 'rsu-tshark-'));
  try {
    const pcap = path.join(dir, 'spdus.pcap');
    writeFileSync(pcap, wsmpPcap(encoded));
    const r = spawnSync('tshark', ['-r', pcap, '-T', 'json', '--no-duplicate-keys'], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
    const frames = r.status === 0 ? (JSON.parse(r.stdout) as { _source: { layers: Record<string, unknown> } }[]) : [];
    const bad: string[] = [];
    let leaves = 0;
    frames.forEach((f, i) => {
      const ours = ourLeaves(ir, values[i], 'Ieee1609Dot2Data');
      leaves += ours.length;
      const d = compareLeaves(ours, tsharkLeaves(f._source.layers));
      if (process.env.RSU_TSHARK_DUMP && d) console.error(`frame ${i + 1}: ${d}\n${show(values[i])}`);
      if (d) bad.push(`frame ${i + 1} (${toHex(encoded[i]!).slice(0, 60)}…): ${d}`);
    });
    return { drawn, spdus: values.length - real, status: r.status, stderr: r.stderr, frames: frames.length, leaves, bad };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The real SPDUs: each decodes to the psid, time and signer its source states and re-encodes bit-exactly. */
export function checkRealSpdus(t: Tap, ms: OerSet): void {
  for (const v of spduVectors()) {
    const bytes = fromHex(v.hex);
    const value = ms.decode('Ieee1609Dot2Data', bytes) as any;
    t.equal(toHex(ms.encode('Ieee1609Dot2Data', value)), v.hex.toUpperCase(), `${v.name}: bit-exact (${bytes.length} bytes)`);
    const sd = value.content.signedData;
    t.equal(value.protocolVersion, 3, `${v.name}: protocol version 3`);
    t.equal(sd.tbsData.headerInfo.psid, v.psid, `${v.name}: psid ${v.psid}`);
    // The source gives the time to the millisecond; Time64 counts microseconds.
    t.equal(sd.tbsData.headerInfo.generationTime / 1000n, time64(v.generationTimeUtc) / 1000n, `${v.name}: generationTime is ${v.generationTimeUtc} UTC`);
    t.ok(sd.signature.ecdsaNistP256Signature, `${v.name}: ECDSA P-256 signature`);
    if (v.signer.startsWith('digest')) t.equal(sd.signer.digest.toLowerCase(), v.signer.split(' ')[1], `${v.name}: digest signer`);
    else t.equal(sd.signer.certificate[0].issuer.sha256AndDigest.toLowerCase(), /issuer ([0-9a-f]+)/.exec(v.signer)![1], `${v.name}: certificate issuer`);
    // The signed octets as codecs/README.md finds them (from byte 3 to where ToBeSignedData ends) are what
    // ToBeSignedData re-encodes to.
    const { trailing } = ms.decodePrefix('ToBeSignedData', bytes.subarray(3));
    const received = toHex(bytes.subarray(3, bytes.length - trailing.length));
    t.equal(toHex(ms.encode('ToBeSignedData', sd.tbsData)), received, `${v.name}: ToBeSignedData re-encodes to the octets the signature covers`);
  }
}

/** Random values of every type of `ms` (drawn from `ir`): encode, decode to the same value, re-encode to the same octets. */
export function roundTripEveryType(ms: OerSet, ir: MessageSetIR, rng: Rng, perType: number): { passed: number; total: number; failures: string[] } {
  const failures: string[] = [];
  let passed = 0;
  for (const type of ms.typeNames) {
    for (let i = 0; i < perType; i++) {
      const v = randomValue(ir, type, rng);
      let stage = 'encode';
      try {
        const bytes = ms.encode(type, v as never);
        stage = 'decode';
        const back = ms.decode(type, bytes);
        const d = diff(back, v);
        if (d) throw new Error(`value differs: ${d}`);
        stage = 're-encode';
        if (toHex(ms.encode(type, back as never)) !== toHex(bytes)) throw new Error('bytes differ');
        passed++;
      } catch (e) {
        failures.push(`${type} ${stage}: ${(e as Error).message}\n  value ${show(v).slice(0, 400)}`);
      }
    }
  }
  return { passed, total: ms.typeNames.length * perType, failures };
}
