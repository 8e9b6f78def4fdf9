// `npm run bench:oer`: C-OER encode and decode throughput of the IEEE 1609.2 codec on the real SPDUs and their
// parts, with tshark (Wireshark's 1609.2 dissector, the only other OER decoder on this machine) reading the same
// SPDUs in the same run as the reference. Writes bench/results/oer.md. The 2022 modules with RSU_IEEE1609DOT2_ASN1_DIR,
// otherwise the built-in set (the same generated code shape).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultIeee1609Dot2Edition, fromHex, loadIeee1609Dot2, toHex, type MessageSet } from '../codecs/index.js';
import { spduVectors, wsmpPcap } from '../test/support/ieee1609dot2.js';
import { rate, ROUNDS } from './rate.js';

const TSHARK_FRAMES = Number(process.env.BENCH_TSHARK_FRAMES ?? 20_000);

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${Math.round(x / 1e3)}k` : x.toFixed(0));

/** SPDUs per second tshark dissects: (frames) / (time for a pcap of them − time for a pcap of one). */
function tsharkRate(spdu: Uint8Array): number | undefined {
  if (spawnSync('tshark', ['-v']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'rsu-bench-oer-'));
  try {
    const run = (n: number) => {
      const f = join(dir, `${n}.pcap`);
      writeFileSync(f, wsmpPcap(new Array<Uint8Array>(n).fill(spdu)));
      const t0 = performance.now();
      const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'ieee1609dot2.psid'], { stdio: ['ignore', 'ignore', 'ignore'] });
      if (r.status !== 0) throw new Error('tshark failed');
      return performance.now() - t0;
    };
    const base = Math.min(run(1), run(1));
    const full = Math.min(run(TSHARK_FRAMES), run(TSHARK_FRAMES));
    return TSHARK_FRAMES / ((full - base) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const edition = defaultIeee1609Dot2Edition();
  const sec = (await loadIeee1609Dot2(edition)) as MessageSet<Record<string, unknown>, string>;
  const lines = [
    `# C-OER codec (IEEE 1609.2-2022, ${edition === 'builtin' ? 'the built-in set' : 'the deployer modules'})`,
    '',
    `${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, one core; median of ${ROUNDS} rounds. Messages per second.`,
    'tshark: the same SPDU repeated in a WSMP pcap, `tshark -T fields` (full dissection), its start-up subtracted.',
    '',
    '| message | type | bytes | encode ours | decode ours | decode tshark | ours/tshark |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const v of spduVectors()) {
    const bytes = fromHex(v.hex);
    const value = sec.decode('Ieee1609Dot2Data', bytes) as { content: { signedData: { tbsData: unknown; signer: { certificate?: unknown[] } } } };
    if (toHex(sec.encode('Ieee1609Dot2Data', value)) !== v.hex.toUpperCase()) throw new Error(`${v.name} does not round-trip`);
    const parts: [string, unknown][] = [['Ieee1609Dot2Data', value], ['ToBeSignedData', value.content.signedData.tbsData]];
    const cert = value.content.signedData.signer.certificate?.[0];
    if (cert) parts.push(['Certificate', cert]);
    for (const [type, x] of parts) {
      const b = sec.encode(type, x);
      const enc = rate(() => sec.encodeTrusted(type, x));
      const dec = rate(() => sec.decode(type, b));
      const ts = type === 'Ieee1609Dot2Data' ? tsharkRate(b) : undefined;
      lines.push(`| ${v.name} | ${type} | ${b.length} | ${fmt(enc)} | ${fmt(dec)} | ${ts ? fmt(ts) : '–'} | ${ts ? `${(dec / ts).toFixed(0)}×` : '–'} |`);
      console.log(lines[lines.length - 1]);
    }
  }
  lines.push(
    '',
    'Erlang/OTP 25 asn1 has no OER and Debian’s asn1c 0.9.28 predates asn1c’s OER, so no codec library is run beside',
    'ours; tshark builds a display tree for every field, so the ratio measures a dissector, not a codec.',
  );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/oer.md', lines.join('\n') + '\n');
  console.log('wrote bench/results/oer.md');
}

await main();
