/**
 * Where the IEEE 1609.2 modules (deployer-supplied, RSU_IEEE1609DOT2_ASN1_DIR) and the real SPDU vectors are,
 * and the WSMP pcap writer the tshark differential uses (a TypeScript rewrite of the shared vectors'
 * wsmp-pcap.py: Ethernet, EtherType 0x88DC, a minimal IEEE 1609.3 WSMP v3 header, the SPDU).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ieee1609Dot2Dir, type Ieee1609Dot2Edition } from '../../codecs/index.js';
import { VECTORS } from './vectors.js';

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
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeInt32LE(0, 8);
  head.writeUInt32LE(0, 12);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  parts.push(head);
  spdus.forEach((p, i) => {
    const n = p.length;
    if (n >= 0x4000) throw new Error('WSMP length above 16383');
    const len = n < 128 ? Buffer.of(n) : Buffer.of(0x80 | (n >> 8), n & 0xff);
    const frame = Buffer.concat([Buffer.alloc(6, 0xff), Buffer.of(2, 0, 0, 0, 0, 1), Buffer.of(0x88, 0xdc), Buffer.of(0x03, 0x00), Buffer.from(psid), len, Buffer.from(p)]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1700000000 + i, 0);
    rec.writeUInt32LE(0, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}
