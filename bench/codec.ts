// `npm run bench:codec`: encode and decode throughput of our codec, Erlang/OTP asn1 and asn1c -O2,
// measured in one run on the same bytes. Writes bench/results/codec.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fromHex, loadMessageSet, toHex, type MessageSet } from '../codecs/index.js';
import { asn1cAvailable, asn1cUnavailableReason, buildAsn1c } from '../test/support/asn1c.js';
import { compileErlangRef, erlangAvailable, erlangUnavailableReason, knownModuleSets } from '../test/support/erlang.js';
import { csaeSamples, j2735Samples, type Sample } from './samples.js';
import { rate, ROUNDS } from './rate.js';

interface Row {
  sample: Sample;
  bytes: number;
  ours: { enc: number; strict: number; dec: number };
  erlang?: { enc: number; dec: number };
  asn1c?: { enc: number; dec: number };
}

async function main() {
  const samples: Sample[] = await csaeSamples();
  const haveJ = !!process.env.RSU_J2735_ASN1_DIR;
  if (haveJ) samples.push(...(await j2735Samples('j2735-2020')));
  const notes: string[] = [];
  if (!haveJ) notes.push('J2735 rows absent: RSU_J2735_ASN1_DIR is not set (the SAE modules cannot ship with the project).');

  const rows: Row[] = [];
  for (const s of samples) {
    const ms = (await loadMessageSet(s.std)) as MessageSet;
    const bytes = fromHex(s.hex);
    const value = ms.decode('MessageFrame', bytes);
    if (toHex(ms.encode('MessageFrame', value as never)) !== s.hex) throw new Error(`${s.name} does not round-trip`);
    rows.push({
      sample: s,
      bytes: bytes.length,
      ours: {
        enc: rate(() => ms.encodeTrusted('MessageFrame', value as never)),
        strict: rate(() => ms.encode('MessageFrame', value as never)),
        dec: rate(() => ms.decode('MessageFrame', bytes)),
      },
    });
    console.error(`ours ${s.name}: done`);
  }

  if (erlangAvailable()) {
    const sets = knownModuleSets();
    for (const std of new Set(samples.map((s) => s.std))) {
      const spec = sets.find((x) => x.name === std);
      if (!spec) continue;
      const ref = await compileErlangRef(spec);
      try {
        for (const row of rows.filter((r) => r.sample.std === std)) {
          const iters = Math.max(2000, Math.round(2_000_000 / row.bytes));
          const b = await ref.bench('MsgFrame', 'MessageFrame', row.sample.hex, iters).catch(() => ref.bench('MessageFrame', 'MessageFrame', row.sample.hex, iters));
          if (!b.reencodeSame) notes.push(`Erlang did not re-encode ${row.sample.name} to the same bytes.`);
          row.erlang = { enc: b.encodePerSec, dec: b.decodePerSec };
          console.error(`erlang ${row.sample.name}: done`);
        }
      } finally {
        await ref.close();
      }
    }
  } else notes.push(`Erlang column absent: ${erlangUnavailableReason()}`);

  if (asn1cAvailable()) {
    const csaeRows = rows.filter((r) => r.sample.std === 'csae2019');
    const tool = await buildAsn1c('csae2019');
    const res = await tool.bench(
      csaeRows.map((r) => r.sample.hex),
      Number(process.env.BENCH_ASN1C_ITER ?? 20000),
    );
    csaeRows.forEach((r, i) => (r.asn1c = { enc: res[i]!.encodePerSec, dec: res[i]!.decodePerSec }));
    notes.push('asn1c 0.9.28 cannot compile J2735 (information object classes), so J2735 rows have no asn1c column.');
  } else notes.push(`asn1c column absent: ${asn1cUnavailableReason()}`);

  const k = (x?: number) => (x === undefined ? '–' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
  const ratio = (a: number, b?: number) => (b === undefined ? '–' : `${(a / b).toFixed(2)}×`);
  const lines = [
    '# Codec benchmark',
    '',
    `Messages per second (median of ${ROUNDS} rounds), one run, same bytes for every codec. Ratios are ours ÷ theirs (above 1: we are faster).`,
    `Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Shared and noisy: compare ratios, not absolute numbers.`,
    '',
    '| message | bytes | encode ours | (strict) | encode Erlang | encode asn1c | ours/Erlang | ours/asn1c | decode ours | decode Erlang | decode asn1c | ours/Erlang | ours/asn1c |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.sample.name} (${r.sample.std}) | ${r.bytes} | ${k(r.ours.enc)} | ${k(r.ours.strict)} | ${k(r.erlang?.enc)} | ${k(r.asn1c?.enc)} | ${ratio(r.ours.enc, r.erlang?.enc)} | ${ratio(r.ours.enc, r.asn1c?.enc)} | ${k(r.ours.dec)} | ${k(r.erlang?.dec)} | ${k(r.asn1c?.dec)} | ${ratio(r.ours.dec, r.erlang?.dec)} | ${ratio(r.ours.dec, r.asn1c?.dec)} |`,
    ),
    '',
    'How each is measured: ours, `ms.encodeTrusted` (what the daemon uses for the messages it builds) and `ms.decode` of MessageFrame',
    'in this Node process (values are JER-shaped objects); "(strict)" is `ms.encode`, which also rejects components the type does not',
    'have (for JSON from people and the cloud; asn1c and Erlang take typed structures, where such a mistake cannot occur);',
    'Erlang, `MsgFrame:encode/decode` timed inside one `erl` process (erlc -buper +maps); asn1c, `uper_encode_to_buffer` and',
    '`uper_decode_complete` + free, compiled with cc -O2 from the same modules (scripts/asn1c/driver.c).',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ];
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/codec.md', import.meta.url), lines.join('\n'));
  console.log(lines.join('\n'));
}

await main();
