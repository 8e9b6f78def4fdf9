// Benchmark messages: the real field messages, grown to the sizes the issue names (SPAT with 16 phases,
// RSM with 16 participants, a 4-arm MAP), so each codec codes the same bytes.
import { readFileSync } from 'node:fs';
import { fromHex, loadMessageSet, toHex, type MessageSet, type StdName } from '../codecs/index.js';
import { VECTORS } from '../test/support/vectors.js';

export interface Sample {
  name: string;
  std: StdName;
  hex: string;
}

const VEC = VECTORS + '/';

function fieldRows(): Record<string, Uint8Array> {
  const rows: Record<string, Uint8Array> = {};
  for (const line of readFileSync(VEC + 'csae/extracted_payloads.tsv', 'utf8').trim().split('\n').slice(1)) {
    const c = line.split('\t');
    rows[c[0]!] = fromHex(c[3]!);
  }
  return rows;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function csaeSamples(): Promise<Sample[]> {
  const ms = (await loadMessageSet('csae2019')) as MessageSet;
  const rows = fieldRows();
  const dec = (b: Uint8Array) => ms.decode('MessageFrame', b) as Obj;
  // The BSM row is a batch: 2-byte little-endian length, frame, length, frame; the first frame has a path history.
  const bsm = dec(rows.BSM!.subarray(1, 87));
  const spat = dec(rows.SPAT!);
  const phases = spat.spatFrame.intersections[0].phases as Obj[];
  spat.spatFrame.intersections[0].phases = Array.from({ length: 16 }, (_, i) => ({ ...structuredClone(phases[i % phases.length]!), id: i + 1 }));
  const rsm = dec(rows.RSM!);
  const p0 = rsm.rsmFrame.participants[0] as Obj;
  rsm.rsmFrame.participants = Array.from({ length: 16 }, (_, i) => {
    const p = structuredClone(p0);
    p.ptcId = i + 1;
    p.secMark = (p.secMark + i * 10) % 60000;
    return p;
  });
  const map = dec(rows.MAP!);
  const node = map.mapFrame.nodes[0] as Obj;
  const link0 = node.inLinks[0] as Obj;
  // Four approaches: the real approach and three more with their lanes, as a 4-arm intersection has.
  node.inLinks = Array.from({ length: 4 }, (_, i) => ({ ...structuredClone(link0), upstreamNodeId: { region: 1, id: 148 + i } }));
  const rsi = dec(rows.RSI!);
  const out: Sample[] = [];
  for (const [name, v] of [
    ['BSM', bsm],
    ['SPAT 16 phases', spat],
    ['MAP 4 arms', map],
    ['RSI', rsi],
    ['RSM 16 participants', rsm],
  ] as const) {
    out.push({ name, std: 'csae2019', hex: toHex(ms.encode('MessageFrame', v)) });
  }
  return out;
}

export async function j2735Samples(std: 'j2735-2020' | 'j2735-2016'): Promise<Sample[]> {
  const ms = (await loadMessageSet(std)) as MessageSet;
  const frame = (file: string) => {
    const m = /<asn1>\s*([0-9A-Fa-f]+)\s*<\/asn1>/.exec(readFileSync(VEC + `j2735/jpo-ode-decoder-output/${file}`, 'utf8'));
    const { value } = ms.decodePrefix('MessageFrame', fromHex(m![1]!)); // the fixtures carry trailing bytes
    return toHex(ms.encode('MessageFrame', value as never));
  };
  return [
    { name: 'J2735 BSM', std, hex: toHex(new Uint8Array(readFileSync(VEC + 'j2735/j2735.MessageFrame.Bsm.uper'))) },
    { name: 'J2735 SPAT', std, hex: frame('decoder-output-spat.xml') },
    { name: 'J2735 MAP', std, hex: frame('decoder-output-map.xml') },
  ];
}
