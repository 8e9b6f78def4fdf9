/**
 * Where the IEEE 1609.2 modules (deployer-supplied, RSU_IEEE1609DOT2_ASN1_DIR) and the real SPDU vectors are,
 * and the WSMP pcap the tshark differential reads (hw/radio's WSMP encoder, test/support/pcap.ts's writer).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ieee1609Dot2Dir, type Ieee1609Dot2Edition } from '../../codecs/index.js';
import { encodeWsmp } from '../../hw/radio/netlayer.js';
import { pDecodePsid } from '../../hw/radio/psid.js';
import { pcapOf } from './pcap.js';
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
  const id = pDecodePsid(psid.reduce((n, b) => n * 256 + b, 0));
  return pcapOf(spdus.map((p) => encodeWsmp({ psid: id }, p)));
}
