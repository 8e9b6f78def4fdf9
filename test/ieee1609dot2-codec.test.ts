/**
 * The C-OER codec on the IEEE 1609.2 modules (2016 with amendments, 2022), proven on inputs we did not make:
 *  - the real signed SPDUs of the shared vectors decode to the values their source states and re-encode
 *    bit-exactly;
 *  - random values of EVERY type of each edition round-trip (value -> bytes -> the same value -> the same bytes);
 *  - tshark (Wireshark's own 1609.2 dissector, an independent OER decoder) reads our encodings of random
 *    Ieee1609Dot2Data values, wrapped in WSMP frames in a pcap, to the same field tree as our values;
 *  - mutated encodings only ever fail with a DecodeError naming a path and a byte offset.
 * The modules are the deployer's (RSU_IEEE1609DOT2_ASN1_DIR with 2016/ and 2022/); without them this skips,
 * saying why. Knobs: RSU_OER_RANDOM (values per type, default 20), RSU_FUZZ_ITERATIONS (default 20000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DecodeError, fromHex, ieee1609Dot2Dir, loadIeee1609Dot2, toHex, type Ieee1609Dot2Edition } from '../codecs/index.js';
import { checkRealSpdus, ieee1609Missing, mutateAndDecode, roundTripEveryType, spduVectors, tsharkDifferential, tsharkMissing } from './support/ieee1609dot2.js';
import { randomValue, Rng } from './support/random-values.js';
import { loadIR, vectorsMissing } from './support/vectors.js';

const PER_TYPE = Number(process.env.RSU_OER_RANDOM ?? 20);
const FUZZ = Number(process.env.RSU_FUZZ_ITERATIONS ?? 20_000);
const cacheDir = mkdtempSync(join(tmpdir(), 'rsu-oer-'));
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

for (const edition of ['2016', '2022', 'china'] as Ieee1609Dot2Edition[]) {
  const missing = ieee1609Missing(edition);
  // The China profile (YD/T 3957) renames the envelope; the real SPDUs and tshark are 1609.2 only.
  const root = edition === 'china' ? 'V2XSecData' : 'Ieee1609Dot2Data';
  const ieee = edition !== 'china';
  t.test(`IEEE 1609.2 ${edition}`, { skip: missing }, async (t) => {
    const ms = await loadIeee1609Dot2(edition, { cacheDir });
    const ir = loadIR(ieee1609Dot2Dir(edition));
    t.equal(ms.rule, 'coer');

    t.test('the real SPDUs decode to what their source says and re-encode bit-exactly', { skip: ieee ? vectorsMissing() : 'no public China SPDUs' }, async (t) => {
      checkRealSpdus(t, ms);
    });

    t.test(`random values of every type round-trip (${PER_TYPE} each)`, async (t) => {
      const rng = new Rng(0x1609 + edition.length);
      const { passed, total, failures } = roundTripEveryType(ms, ir, rng, PER_TYPE);
      t.same(failures.slice(0, 5), [], `${passed} of ${total} values of ${ms.typeNames.length} types round-trip (${failures.length} fail)`);
    });

    t.test(`mutated encodings give only DecodeErrors (${FUZZ})`, { skip: ieee ? vectorsMissing() : undefined }, async (t) => {
      const rng = new Rng(0xf022 + edition.length);
      const seeds = ieee ? spduVectors().map((v) => fromHex(v.hex)) : [];
      for (let i = 0; i < 40; i++) seeds.push(ms.encode(root, randomValue(ir, root, rng) as never));
      const { accepted, other, unstable } = mutateAndDecode(ms, root, seeds, rng, FUZZ);
      t.same(other, [], 'no other error comes out, every DecodeError names its path and byte');
      t.same(unstable, [], `whatever decodes (${accepted} of ${FUZZ}) re-encodes to the same value`);
    });

    t.test('errors name the path and the byte', { skip: ieee ? undefined : 'checked on the 1609.2 editions' }, async (t) => {
      const good = fromHex(spduVectors()[0]?.hex ?? '03800100');
      const e = t.throws(() => ms.decode('Ieee1609Dot2Data', good.subarray(0, 40))) as DecodeError;
      t.ok(e instanceof DecodeError && e.unit === 'byte' && e.byteOffset <= 40, `truncated SPDU: ${e.message}`);
      t.match(e.message, /^Ieee1609Dot2Data\.content\.signedData\..+ at byte \d+$/);
      t.throws(() => ms.encode('HeaderInfo', { psid: -1 }), /HeaderInfo\.psid: value -1 is outside 0\.\.MAX/);
      t.throws(() => ms.encode('HeaderInfo', { psid: 32, generationTime: 2n ** 64n }), /HeaderInfo\.generationTime: value 18446744073709551616 is outside/);
      t.throws(() => ms.encode('EccP256CurvePoint', { 'x-only': 'AB' }), /EccP256CurvePoint\.x-only: size 1 is outside 32/);
    });

    if (ieee) {
      t.test('tshark decodes our encodings to the same field tree', { skip: tsharkMissing() }, async (t) => {
        // What Wireshark 4.0's OER dissector (epan/dissectors/packet-oer.c) cannot read is not drawn: extension
        // additions (SEQUENCE and CHOICE: "We do not handle extensions"), the preamble of an extensible SEQUENCE
        // without optional root components or with 8k of them (it counts the octets without the extension bit),
        // and semi-constrained INTEGERs (Psid) above 4 octets.
        const r = tsharkDifferential(ms, ir, new Rng(0x75a2));
        t.comment(`${r.drawn} values drawn, ${r.spdus} within what tshark 4.0 reads`);
        t.equal(r.status, 0, `tshark ran: ${r.stderr.slice(0, 300)}`);
        t.equal(r.frames, r.spdus + spduVectors().length, 'one frame per SPDU');
        t.same(r.bad.slice(0, 4), [], `${r.frames} SPDUs, ${r.leaves} leaf fields: tshark agrees on every one (${r.bad.length} differ)`);
      });
    }
  });
}
