// `rsu decode` / `rsu encode` / `rsu codec compile`, run in-process with captured streams, and once as the real bin.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import t from 'tap';
import { main } from '../runtime/cli/main.js';
import type { Io } from '../runtime/cli/io.js';
import { VECTORS } from './support/vectors.js';
import { ieee1609Missing } from './support/ieee1609dot2.js';

const V = VECTORS + '/';
const rows = Object.fromEntries(
  readFileSync(V + 'csae/extracted_payloads.tsv', 'utf8').trim().split('\n').slice(1).map((l) => [l.split('\t')[0]!, l.split('\t')[3]!]),
);

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from([stdin]), out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out, err };
}

t.test('decode a field SPAT from an argument, encode it back from stdin', async (t) => {
  const d = await run(['decode', '--std', 'csae2019', rows.SPAT!]);
  t.equal(d.code, 0);
  const value = JSON.parse(d.out[0]!);
  t.equal(value.spatFrame.msgCnt, 48);
  const e = await run(['encode', '--std', 'csae2019'], d.out[0]!);
  t.equal(e.code, 0);
  t.equal(e.out[0]!.toLowerCase(), rows.SPAT);
});

t.test('--lines: one output line per input line, errors in place, exit 1 at the end', async (t) => {
  const d = await run(['decode', '--std', 'csae2019', '--lines'], `${rows.RSM}\nnot-hex\n${rows.RSI}\n00\n`);
  t.equal(d.code, 1);
  t.equal(d.out.length, 4);
  t.ok(JSON.parse(d.out[0]!).rsmFrame);
  t.match(JSON.parse(d.out[1]!), { error: /hex string has an odd number of digits \(7\)/ });
  t.ok(JSON.parse(d.out[2]!).rsiFrame);
  t.match(JSON.parse(d.out[3]!), { error: /MessageFrame\.bsmFrame: needs 1 more bit but the data ends at bit 8/ });
  const e = await run(['encode', '--std', 'csae2020', '--lines'], `${d.out[0]}\n{"bsmFrame":{}}\n{oops\n`);
  t.equal(e.code, 1);
  t.equal(e.out.length, 3);
  t.equal(e.out[0]!.toLowerCase(), rows.RSM);
  t.equal(e.out[1], 'ERROR: MessageFrame.bsmFrame.msgCnt: mandatory component is missing');
  t.match(e.out[2], /^ERROR: not JSON/);
});

t.test('trailing bytes are reported, and decoded only when allowed', async (t) => {
  const hex = rows.RSM + 'abcd';
  const strict = await run(['decode', '--std', 'csae2019', hex]);
  t.equal(strict.code, 1);
  t.match(strict.err[0], /2 byte\(s\) left over after a complete value .*trailing ABCD/);
  const allowed = await run(['decode', '--std', 'csae2019', '--allow-trailing', hex]);
  t.equal(allowed.code, 0);
  t.ok(JSON.parse(allowed.out[0]!).rsmFrame);
  t.match(allowed.err[0], /warning: 2 byte\(s\) after the complete value: ABCD/);
});

t.test('--type, and usage errors', async (t) => {
  t.same((await run(['encode', '--std', 'csae2020', '--type', 'DHour', '31'])).out, ['F8']);
  const bad = await run(['encode', '--std', 'csae2019', '--type', 'DHour', '31']);
  t.equal(bad.code, 1);
  t.match(bad.err[0], /DHour: value 31 is outside 0\.\.24/);
  t.equal((await run(['decode', '--std', 'csae2021', '00'])).code, 2);
  t.equal((await run(['decode', '00'])).code, 2);
  t.equal((await run(['decode', '--std', 'csae2020', '--type', 'Nope', '00'])).code, 2);
  t.equal((await run(['frobnicate'])).code, 2);
  const j = await run(['decode', '--std', 'j2735-2020', '00']);
  if (!process.env.RSU_J2735_ASN1_DIR) t.match(j.err[0], /licensed SAE J2735 ASN\.1 modules.*--asn1 DIR or set RSU_J2735_ASN1_DIR/);
});

t.test('J2735 through the CLI', { skip: process.env.RSU_J2735_ASN1_DIR ? false : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project' }, async (t) => {
  const c = await run(['codec', 'compile', '--std', 'j2735-2016']);
  t.equal(c.code, 0);
  t.match(c.out[0], /j2735-2016: compiled \d+ types/);
  const hex = readFileSync(V + 'j2735/j2735.MessageFrame.Bsm.hex', 'utf8').replace(/\s+/g, '');
  const d = await run(['decode', '--std', 'j2735-2020', hex]);
  t.equal(d.code, 0);
  t.equal(JSON.parse(d.out[0]!).messageId, 20);
  const e = await run(['encode', '--std', 'j2735-2020'], d.out[0]!);
  t.equal(e.out[0], hex.toUpperCase());
});

const bin = new URL('../dist/runtime/cli/main.js', import.meta.url).pathname;
t.test('the built bin', { skip: existsSync(bin) ? false : 'dist/ is not built (npm ci or npm run build builds it)' }, async (t) => {
  const r = spawnSync(process.execPath, [bin, 'decode', '--std', 'csae2019', '--lines'], { input: `${rows.MAP}\nff\n`, encoding: 'utf8' });
  t.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 2);
  t.ok(JSON.parse(lines[0]!).mapFrame);
  t.ok(JSON.parse(lines[1]!).error);
});

t.test('C-OER: an IEEE 1609.2 SPDU decodes to JER (Time64 as a JSON number) and encodes back', async (t) => {
  const saved = process.env.RSU_IEEE1609DOT2_ASN1_DIR;
  delete process.env.RSU_IEEE1609DOT2_ASN1_DIR;
  const none = await run(['decode', '--std', 'ieee1609dot2-2022', '0380']);
  if (saved !== undefined) process.env.RSU_IEEE1609DOT2_ASN1_DIR = saved;
  t.not(none.code, 0, 'without the modules: fails');
  t.match(none.err.join('\n'), /RSU_IEEE1609DOT2_ASN1_DIR/, 'and says where the modules go');
  // The built-in set (no modules needed), and 2022 when RSU_IEEE1609DOT2_ASN1_DIR has it.
  const spdu = readFileSync(V + 'ieee1609dot2/spdus.tsv', 'utf8').trim().split('\n')[1]!.split('\t').pop()!;
  for (const std of ['ieee1609dot2-builtin', ...(ieee1609Missing('2022') ? [] : ['ieee1609dot2-2022'])]) {
    const d = await run(['decode', '--std', std, spdu]);
    t.equal(d.code, 0, d.err.join('\n'));
    t.match(d.out[0], /"generationTime":501427754847055[,}]/, `${std}: Time64 printed exactly, as a number`);
    const e = await run(['encode', '--std', std], d.out[0]!);
    t.equal(e.code, 0, e.err.join('\n'));
    t.equal(e.out[0]!.toLowerCase(), spdu.toLowerCase(), `${std}: and encodes back bit-exactly (no rounding of the 64-bit time)`);
    const c = await run(['decode', '--std', std, '--type', 'Certificate', spdu]);
    t.equal(c.code, 1);
    t.match(c.err[0], /^error: Certificate: .+ at byte \d+/);
  }
});
