/**
 * Tests of the Erlang/OTP reference harness itself (test/support/erlang.ts +
 * scripts/erlang-ref/). Skips with the reason when erlc/erl are missing; the
 * J2735 parts skip unless RSU_J2735_ASN1_DIR is set.
 *
 * Prints (as TAP comments) the compile time of each set, the values/s the
 * generator gives, and Erlang's decode/encode rate for one CSAE BSM and SPAT.
 * Knob: ERLANG_REF_BENCH_ITER (default 20000).
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  compileErlangRef,
  erlangUnavailableReason,
  ErlangRefError,
  j2735Dir,
  j2735SkipReason,
  prepareModules,
  REPO_ROOT,
  type ErlangRef,
} from './support/erlang.js';
import { CSAE_VECTORS, J2735_VECTORS } from './support/vectors.js';

const BENCH_ITER = Number(process.env.ERLANG_REF_BENCH_ITER ?? 20000);

const noErlang = erlangUnavailableReason();

/** label -> MessageFrame payload hex, from extracted_payloads.tsv */
function csaeVectors(): Map<string, string> {
  const rows = fs.readFileSync(path.join(CSAE_VECTORS, 'extracted_payloads.tsv'), 'utf8').trim().split('\n').slice(1);
  return new Map(rows.map((r) => r.split('\t')).map((c) => [c[0]!, c[3]!.trim()]));
}

function ydtBsm(): { hex: string; value: unknown } {
  const line = fs.readFileSync(path.join(CSAE_VECTORS, 'ydt3709-bsm.jsonl'), 'utf8').trim().split('\n')[0]!;
  return JSON.parse(line) as { hex: string; value: unknown };
}

t.test('Erlang reference on csae2020', { skip: noErlang }, async (t) => {
  const t0 = Date.now();
  const ref = await compileErlangRef({ name: 'csae2020', dir: path.join(REPO_ROOT, 'codecs', 'sets', 'csae2020') });
  t.teardown(() => ref.close());
  t.comment(
    `csae2020: erlc ${ref.info.compileMs} ms for ${ref.info.modules.length} modules` +
      `${ref.info.cached ? ' (taken from cache ' + ref.info.workDir + ')' : ''}; ready in ${Date.now() - t0} ms`,
  );
  t.equal(ref.info.modules.length, 23, '23 modules compiled');
  t.ok(await ref.ping(), 'server answers');

  t.test('types and modules', async (t) => {
    const types = await ref.types();
    t.ok(types['MsgFrame']?.includes('MessageFrame'), 'MsgFrame holds MessageFrame');
    t.equal(await ref.moduleOf('MessageFrame'), 'MsgFrame');
    t.equal(await ref.moduleOf('BasicSafetyMessage'), 'BSM');
    t.equal(await ref.moduleOf('SPAT'), 'SignalPhaseAndTiming');
    t.equal(await ref.moduleOf('RoadSideInformation'), 'RSI');
    t.equal(await ref.moduleOf('RoadsideSafetyMessage'), 'RSM');
    t.equal(await ref.moduleOf('MapData'), 'Map');
    t.equal(await ref.moduleOf('Map.MapData'), 'Map', 'Module.Type accepted');
    t.equal(await ref.moduleOf('NoSuchType'), undefined);
  });

  t.test('random values are reproducible for a seed', async (t) => {
    const a = await ref.randomWithStats('MsgFrame', 'MessageFrame', 50, 12345);
    const b = await ref.random('MsgFrame', 'MessageFrame', 50, 12345);
    const c = await ref.random('MsgFrame', 'MessageFrame', 50, 54321);
    t.equal(a.values.length, 50);
    t.equal(a.stats.n, 50);
    t.same(b, a.values, 'same seed, same values');
    t.not(JSON.stringify(c), JSON.stringify(a.values), 'other seed, other values');
    const alts = new Set(a.values.map((v) => Object.keys(v.jer as object)[0]));
    t.ok(alts.size >= 4, `several CHOICE alternatives drawn (${[...alts].join(', ')})`);
    for (const v of a.values) {
      t.match(v.hex, /^([0-9a-f]{2})+$/, 'hex is lower-case octets');
    }
    const unmutated = await ref.random('MsgFrame', 'MessageFrame', 5, 12345, { mutate: false });
    t.equal(unmutated.length, 5, 'unmutated draws work too');

    // Erlang decodes each drawn encoding to the JER printed with it
    for (const v of a.values.slice(0, 10)) {
      const d = await ref.decodeWithRest('MsgFrame', 'MessageFrame', v.hex);
      t.same(d.jer, v.jer, 'decode(hex) = printed JER');
      t.ok(d.restBits < 8, 'only padding left');
    }
    // and encodes the JER back to the same bytes (Erlang's jer_decode + encode)
    for (const v of a.values.slice(0, 10)) {
      t.equal(await ref.encode('MsgFrame', 'MessageFrame', v.jer), v.hex, 'encode(JER) = hex');
    }
  });

  t.test('generation rate', async (t) => {
    for (const [m, ty] of [
      ['MsgFrame', 'MessageFrame'],
      ['BSM', 'BasicSafetyMessage'],
      ['SignalPhaseAndTiming', 'SPAT'],
      ['Map', 'MapData'],
    ] as const) {
      const t0 = Date.now();
      const r = await ref.randomWithStats(m, ty, 500, 7);
      const ms = Date.now() - t0;
      t.equal(r.values.length, 500, `${ty}: 500 values`);
      t.comment(`${ty}: ${Math.round((500 * 1000) / ms)} values/s end to end (Erlang ${r.stats.ms} ms, dropped ${JSON.stringify(r.stats.dropped)})`);
    }
  });

  t.test('real YD/T 3709 BSM vector', async (t) => {
    const { hex, value } = ydtBsm();
    const d = await ref.decodeWithRest('MsgFrame', 'MessageFrame', hex);
    t.same(d.jer, value, 'Erlang decodes it to the JER recorded with it (pycrate)');
    t.equal(await ref.encode('MsgFrame', 'MessageFrame', d.jer), hex.toLowerCase(), 'and encodes that back to the same bytes');
  });

  t.test('field vectors (extracted_payloads.tsv) that are YD/T 3709-2020 compatible', async (t) => {
    const vec = csaeVectors();
    for (const label of ['SPAT', 'RSM']) {
      const hex = vec.get(label)!;
      const d = await ref.decodeWithRest('MsgFrame', 'MessageFrame', hex);
      t.ok(d.jer && typeof d.jer === 'object', `${label} decodes`);
      t.equal(await ref.encode('MsgFrame', 'MessageFrame', d.jer), hex.toLowerCase(), `${label}: encode(decode(x)) = x`);
    }
    // README: RSI and MAP differ between 2019 and YD/T 3709-2020
    await t.rejects(ref.decode('MsgFrame', 'MessageFrame', vec.get('RSI')!), ErlangRefError, 'RSI does not decode with 2020');
  });

  t.test('errors are replied, and the server keeps serving', async (t) => {
    const bad = await ref.raw('decode MsgFrame MessageFrame zz');
    t.match(bad.final, /^ERR .*badarg/, 'bad hex: an ERR line');
    await t.rejects(ref.decode('MsgFrame', 'MessageFrame', 'zz'), ErlangRefError);
    await t.rejects(ref.decode('MsgFrame', 'MessageFrame', 'abc'), /odd_length_hex/);
    await t.rejects(ref.decode('MsgFrame', 'MessageFrame', '00'), ErlangRefError, 'truncated message');
    await t.rejects(ref.decode('NoModule', 'MessageFrame', '00'), /unknown_module/);
    await t.rejects(ref.decode('MsgFrame', 'NoType', '00'), /unknown_type/);
    await t.rejects(ref.encode('MsgFrame', 'MessageFrame', { noSuchAlt: 1 }), ErlangRefError, 'bad JER');
    await t.rejects(ref.random('MsgFrame', 'NoType', 1, 1), /unknown_type/);
    t.match((await ref.raw('frobnicate')).final, /^ERR .*unknown_command/);
    t.ok(await ref.ping(), 'still alive');
    const { hex, value } = ydtBsm();
    t.same(await ref.decode('MsgFrame', 'MessageFrame', hex), value, 'still decoding');
  });

  t.test('bench', async (t) => {
    const bsm = ydtBsm().hex;
    const r = await ref.bench('MsgFrame', 'MessageFrame', bsm, BENCH_ITER);
    t.ok(r.decodePerSec > 0 && r.encodePerSec > 0);
    t.ok(r.reencodeSame, 'BSM re-encodes to the same bytes');
    t.comment(`Erlang OTP ${r.otp} csae2020 BSM (${r.bytes} B, YD/T 3709 vector): decode ${Math.round(r.decodePerSec)} msg/s, encode ${Math.round(r.encodePerSec)} msg/s`);
    const spat = csaeVectors().get('SPAT')!;
    const s = await ref.bench('MsgFrame', 'MessageFrame', spat, BENCH_ITER);
    t.ok(s.reencodeSame, 'SPAT re-encodes to the same bytes');
    t.comment(`Erlang OTP ${s.otp} csae2020 SPAT (${s.bytes} B, field vector): decode ${Math.round(s.decodePerSec)} msg/s, encode ${Math.round(s.encodePerSec)} msg/s`);
  });
});

t.test('Erlang reference on csae2019 and the field vectors', { skip: noErlang }, async (t) => {
  const ref = await compileErlangRef({ name: 'csae2019', dir: path.join(REPO_ROOT, 'codecs', 'sets', 'csae2019') });
  t.teardown(() => ref.close());
  t.comment(`csae2019: erlc ${ref.info.compileMs} ms${ref.info.cached ? ' (cached)' : ''}`);
  for (const [label, hex] of csaeVectors()) {
    const d = await ref.decodeWithRest('MsgFrame', 'MessageFrame', hex);
    const alt = Object.keys(d.jer as object)[0];
    t.ok(alt, `${label} decodes (${alt}, ${d.restBits} bits left)`);
    const re = await ref.encode('MsgFrame', 'MessageFrame', d.jer);
    if (d.restBits < 8) {
      t.equal(re, hex.toLowerCase(), `${label}: encode(decode(x)) = x`);
    } else {
      // the BSM row: its length field says 22018 and bytes follow the value
      t.equal(hex.toLowerCase().startsWith(re.slice(0, -2)), true, `${label}: re-encoding is a prefix of the payload (${d.restBits} bits follow the value)`);
    }
  }
  const spat = csaeVectors().get('SPAT')!;
  const s = await ref.bench('MsgFrame', 'MessageFrame', spat, BENCH_ITER);
  t.comment(`Erlang OTP ${s.otp} csae2019 SPAT (${s.bytes} B): decode ${Math.round(s.decodePerSec)} msg/s, encode ${Math.round(s.encodePerSec)} msg/s`);
  const r = await ref.randomWithStats('BSM', 'BasicSafetyMessage', 200, 3);
  const b = r.values[0]!;
  const bb = await ref.bench('BSM', 'BasicSafetyMessage', b.hex, BENCH_ITER);
  t.comment(`Erlang OTP ${bb.otp} csae2019 random BasicSafetyMessage (${bb.bytes} B): decode ${Math.round(bb.decodePerSec)} msg/s, encode ${Math.round(bb.encodePerSec)} msg/s`);
});

t.test('OTP quirk: a constraint on a reference to a constrained INTEGER is ignored', { skip: noErlang }, async (t) => {
  // a tiny module of our own (not J2735) shaped like J2735's `description ITIScodes(523..541)`
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsu-erlang-quirk-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'QuirkCodes.asn'), 'QuirkCodes DEFINITIONS AUTOMATIC TAGS ::= BEGIN\nCodes ::= INTEGER (0..65535)\nEND\n');
  fs.writeFileSync(
    path.join(dir, 'Quirk.asn'),
    'Quirk DEFINITIONS AUTOMATIC TAGS ::= BEGIN\nIMPORTS Codes FROM QuirkCodes;\nS ::= SEQUENCE { a Codes(523..541), b INTEGER (523..541) }\nEND\n',
  );
  const ref = await compileErlangRef({ name: 'quirk', dir });
  t.teardown(() => ref.close());
  t.same(ref.info.erlangIgnoredConstraints, ['S.a'], 'the harness finds the affected component');
  // X.691: a is constrained to 523..541 (5 bits, 533 -> 01010) like b; OTP writes a in 16 bits
  t.equal(await ref.encode('Quirk', 'S', { a: 533, b: 533 }), '021550', 'OTP: a = 533 in 16 bits, b = 10 in 5 bits');
  const r = await ref.randomWithStats('Quirk', 'S', 5, 1, { avoid: ref.info.erlangIgnoredConstraints });
  t.equal(r.values.length, 0, 'a mandatory avoided component drops the draw');
  t.equal(r.stats.dropped['avoidedFieldNotRemovable'], r.stats.attempts);
});

t.test('source preparation splits J2735 2016 and turns Module.name into IMPORTS', { skip: j2735SkipReason('2016') }, async (t) => {
  const dir = j2735Dir('2016')!;
  const mods = prepareModules(dir);
  t.same(mods.map((m) => m.name).sort(), ['AddGrpB', 'AddGrpC', 'DSRC', 'ITIS', 'NTCIP', 'REGION']);
  const region = mods.find((m) => m.name === 'REGION')!;
  t.match(region.text, /IMPORTS[\s\S]*FROM DSRC/, 'REGION imports from DSRC');
  t.notMatch(region.text, /\bDSRC\.[A-Za-z]/, 'no dotted references left');
  t.ok(region.imports.includes('DSRC') && region.imports.includes('AddGrpC'));
});

for (const version of ['2020', '2016'] as const) {
  t.test(`Erlang reference on J2735 ${version}`, { skip: noErlang ?? j2735SkipReason(version) }, async (t) => {
    const dir = j2735Dir(version)!;
    let ref: ErlangRef;
    try {
      ref = await compileErlangRef({ name: `j2735-${version}`, dir });
    } catch (e) {
      t.fail(`J2735 ${version} does not compile with erlc: ${String(e).slice(0, 3000)}`);
      return;
    }
    t.teardown(() => ref.close());
    t.pass(`J2735 ${version} compiles: ${ref.info.modules.length} modules, erlc ${ref.info.compileMs} ms${ref.info.cached ? ' (cached)' : ''}`);
    t.comment(`j2735-${version}: erlc ${ref.info.compileMs} ms for ${ref.info.modules.length} modules`);
    const bsmModule = (await ref.moduleOf('BasicSafetyMessage'))!;
    t.ok(bsmModule, `BasicSafetyMessage is in ${bsmModule}`);
    t.equal(ref.info.frameIds['BasicSafetyMessage'], 20, 'BSM message id 20 found in the sources');
    t.same(ref.info.erlangIgnoredConstraints, ['DisabledVehicle.statusDetails', 'ObstacleDetection.description'], 'components with ITIScodes(523..541), which OTP encodes in 16 bits');

    const r = await ref.randomWithStats(bsmModule, 'BasicSafetyMessage', 100, 1);
    t.equal(r.values.length, 100);
    t.comment(`BSM draws: ${JSON.stringify(r.stats)}`);
    t.ok(r.values.every((v) => !JSON.stringify(v.jer).includes('"partII"')), 'partII (open type) left out');

    // MessageFrame cannot be drawn (its value is an open type) ...
    const mfModule = (await ref.moduleOf('MessageFrame'))!;
    const mf = await ref.randomWithStats(mfModule, 'MessageFrame', 3, 1);
    t.equal(mf.values.length, 0, 'MessageFrame draws are all dropped');
    t.ok((mf.stats.dropped['openTypeNotRemovable'] ?? 0) > 0, `reported: ${JSON.stringify(mf.stats.dropped)}`);
    // ... but drawn messages can be framed
    const frame = (await ref.frameFor('SPAT'))!;
    const framed = await ref.randomFrameWithStats(frame, (await ref.moduleOf('SPAT'))!, 'SPAT', 20, 5);
    t.equal(framed.values.length, 20, 'framed SPATs');
    for (const v of framed.values.slice(0, 5)) {
      t.same(await ref.decode(mfModule, 'MessageFrame', v.hex), v.jer, 'Erlang decodes the frame to the same JER');
    }

    // the real J2735 messages decode, open types (partII, regional) included
    const vectors: [string, string][] = [
      ['j2735.MessageFrame.Bsm.hex', fs.readFileSync(path.join(J2735_VECTORS, 'j2735.MessageFrame.Bsm.hex'), 'utf8')],
      ['MessageFrame.TravelerInformation.hex', fs.readFileSync(path.join(J2735_VECTORS, 'MessageFrame.TravelerInformation.hex'), 'utf8')],
    ];
    const ode = path.join(J2735_VECTORS, 'jpo-ode-decoder-output');
    for (const f of fs.readdirSync(ode).sort()) {
      const m = /<asn1>([^<]*)<\/asn1>/.exec(fs.readFileSync(path.join(ode, f), 'utf8'));
      if (m) vectors.push([f, m[1]!]);
    }
    for (const [name, hex] of vectors) {
      const d = await ref.decodeWithRest(mfModule, 'MessageFrame', hex);
      t.ok(d.jer, `${name} decodes (${d.restBits} bits after the value)`);
    }
    const bsm = (await ref.decode(mfModule, 'MessageFrame', vectors[0]![1])) as { value: { partII?: unknown[] } };
    t.ok(Array.isArray(bsm.value.partII) && bsm.value.partII.length > 0, 'BSM partII printed as JER of its contents');
  });
}
