/**
 * The built-in IEEE 1609.2 and China security sets (codecs/sets/ieee1609dot2*, written for this project and
 * compiled at build time), proven without the deployer's modules, so in CI:
 *  - the real signed SPDUs decode to what their source states and re-encode bit-exactly;
 *  - random values of every built-in type round-trip;
 *  - tshark (Wireshark's 1609.2 dissector) reads our encodings, in WSMP frames, to the same leaf fields;
 *  - mutated encodings only ever give DecodeErrors.
 * With RSU_IEEE1609DOT2_ASN1_DIR (the full IEEE modules, and china/): a differential, both ways, on every type
 * the two share: random values of the built-in types encode to the same octets with the full modules (or, where
 * the value shapes differ, the full modules read our octets and write them back unchanged), and random values of
 * the full modules' types, encoded by them, are read by the built-in set and written back unchanged.
 * Knobs: RSU_OER_RANDOM (values per type, default 20), RSU_FUZZ_ITERATIONS (default 20000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { EncodeError, fromHex, ieee1609Dot2Dir, loadIeee1609Dot2, toHex, type Ieee1609Dot2Edition } from '../codecs/index.js';
import { checkRealSpdus, diff, ieee1609Missing, mutateAndDecode, roundTripEveryType, show, spduVectors, tsharkDifferential, tsharkMissing } from './support/ieee1609dot2.js';
import { randomValue, Rng } from './support/random-values.js';
import { loadIR, vectorsMissing } from './support/vectors.js';

const PER_TYPE = Number(process.env.RSU_OER_RANDOM ?? 20);
const FUZZ = Number(process.env.RSU_FUZZ_ITERATIONS ?? 20_000);
const SETS = fileURLToPath(new URL('../codecs/sets/', import.meta.url));
const cacheDir = mkdtempSync(join(tmpdir(), 'rsu-oer-builtin-'));
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

const BUILTINS = [
  { edition: 'builtin', dir: 'ieee1609dot2', root: 'Ieee1609Dot2Data', full: ['2022', '2016'] },
  { edition: 'builtin-china', dir: 'ieee1609dot2-china', root: 'V2XSecData', full: ['china'] },
] as const;

for (const b of BUILTINS) {
  t.test(`built-in ${b.edition}`, async (t) => {
    const ms = await loadIeee1609Dot2(b.edition);
    const ir = loadIR(join(SETS, b.dir));
    const ieee = b.edition === 'builtin';
    t.equal(ms.rule, 'coer');
    t.equal(ms.name, `ieee1609dot2-${b.edition}`);
    t.same([...ms.typeNames].sort(), [...ir.types.keys()].sort(), `the generated codec has every type of codecs/sets/${b.dir} (${ms.typeNames.length})`);

    if (ieee) {
      t.test('the real SPDUs decode to what their source says and re-encode bit-exactly', { skip: vectorsMissing() }, async (t) => {
        checkRealSpdus(t, ms);
      });
    }

    t.test(`random values of every type round-trip (${PER_TYPE} each)`, async (t) => {
      const rng = new Rng(0xb1 + b.edition.length);
      const { passed, total, failures } = roundTripEveryType(ms, ir, rng, PER_TYPE);
      t.same(failures.slice(0, 5), [], `${passed} of ${total} values of ${ms.typeNames.length} types round-trip (${failures.length} fail)`);
    });

    t.test(`mutated encodings give only DecodeErrors (${FUZZ})`, async (t) => {
      const rng = new Rng(0xf0b1 + b.edition.length);
      const seeds = ieee && !vectorsMissing() ? spduVectors().map((v) => fromHex(v.hex)) : [];
      for (let i = 0; i < 40; i++) seeds.push(ms.encode(b.root, randomValue(ir, b.root, rng) as never));
      const { accepted, other, unstable } = mutateAndDecode(ms, b.root, seeds, rng, FUZZ);
      t.same(other, [], 'no other error comes out, every DecodeError names its path and byte');
      t.same(unstable, [], `whatever decodes (${accepted} of ${FUZZ}) re-encodes to the same value`);
    });

    if (ieee) {
      t.test('tshark decodes our encodings to the same field tree', { skip: tsharkMissing() ?? vectorsMissing() }, async (t) => {
        const r = tsharkDifferential(ms, ir, new Rng(0x75b1));
        t.comment(`${r.drawn} values drawn, ${r.spdus} within what tshark 4.0 reads (see tsharkCanRead)`);
        t.equal(r.status, 0, `tshark ran: ${r.stderr.slice(0, 300)}`);
        t.equal(r.frames, r.spdus + spduVectors().length, 'one frame per SPDU');
        t.same(r.bad.slice(0, 4), [], `${r.frames} SPDUs, ${r.leaves} leaf fields: tshark agrees on every one (${r.bad.length} differ)`);
      });
    }

    for (const full of b.full as readonly Ieee1609Dot2Edition[]) {
      t.test(`differential against the full ${full} modules (${PER_TYPE} values per shared type, both ways)`, { skip: ieee1609Missing(full) }, async (t) => {
        const fs = await loadIeee1609Dot2(full, { cacheDir });
        const fir = loadIR(ieee1609Dot2Dir(full));
        const shared = ms.typeNames.filter((n) => fs.has(n));
        t.comment(`${shared.length} of ${ms.typeNames.length} built-in types are in ${full}; not there: ${ms.typeNames.filter((n) => !fs.has(n)).join(', ') || 'none'}`);
        const rng = new Rng(0xd1ff + full.length);
        const bad: string[] = [];
        let same = 0;
        let readBack = 0;
        let reverse = 0;
        let reverseSkipped = 0;
        let newer = 0;
        let wider = 0;
        // 2016's HeaderInfo and SignedDataPayload have fewer extension additions than 2022: C-OER's presence
        // bitmap has one bit per addition the encoder's modules define, so a 2022 re-encoding of a 2016 value
        // with additions writes a longer bitmap. Then the value must survive the trip: 2016 reads it back the same.
        const sameValueThrough = (type: string, bytes: Uint8Array): boolean => {
          try {
            return diff(fs.decode(type, ms.encode(type, ms.decode(type, bytes) as never)), fs.decode(type, bytes)) === undefined;
          } catch {
            return false;
          }
        };
        const readsBack = (set: typeof ms, type: string, bytes: Uint8Array): string | undefined => {
          try {
            const again = set.encode(type, set.decode(type, bytes) as never);
            return toHex(again) === toHex(bytes) ? undefined : `${set.name} writes ${toHex(again).slice(0, 80)} back`;
          } catch (e) {
            return `${set.name}: ${(e as Error).message}`;
          }
        };
        for (const type of shared) {
          for (let i = 0; i < PER_TYPE; i++) {
            // Ours -> theirs: the same value to the same octets, or (a shape the full modules name differently: an
            // open type they decode) our octets read and re-written unchanged. 2016 lacks 2022's additions (SM2,
            // `uncompressedP256`...): values it cannot encode are counted, not compared; the other way round
            // below, every 2016 encoding must read back through the built-in set unchanged.
            const v = randomValue(ir, type, rng);
            const ours = ms.encode(type, v as never);
            let theirs: Uint8Array | undefined;
            try {
              theirs = fs.encode(type, v as never);
            } catch (e) {
              if (!(e instanceof EncodeError)) throw e;
            }
            if (theirs) {
              if (toHex(theirs) === toHex(ours)) same++;
              else bad.push(`${type}: same value, different octets\n  ours   ${toHex(ours).slice(0, 80)}\n  theirs ${toHex(theirs).slice(0, 80)}\n  value ${show(v).slice(0, 300)}`);
            } else if (full === '2016') {
              newer++; // a 2022 addition (SM2, SM3, certificate extensions...) that 2016 does not have
            } else {
              const d = readsBack(fs, type, ours);
              if (d) bad.push(`${type}: ${d}\n  value ${show(v).slice(0, 300)}`);
              else readBack++;
            }
            // Theirs -> ours: a value of the full modules, their octets, read and re-written by the built-in set.
            const w = randomValue(fir, type, rng);
            let wb: Uint8Array;
            try {
              wb = fs.encode(type, w as never);
            } catch {
              reverseSkipped++; // a value their own codec refuses (a constraint the generator does not model)
              continue;
            }
            const d = readsBack(ms, type, wb);
            if (!d) reverse++;
            else if (full === '2016' && sameValueThrough(type, wb)) wider++;
            else bad.push(`${type} (theirs): ${d}\n  value ${show(w).slice(0, 300)}`);
          }
        }
        t.same(bad.slice(0, 5), [], `ours -> ${full}: ${same} values to identical octets, ${readBack} read back unchanged${full === '2016' ? `, ${newer} with 2022 additions not compared` : ''}; ${full} -> ours: ${reverse} read back unchanged${full === '2016' ? `, ${wider} the same value with the wider 2022 extension bitmap` : ''} (${reverseSkipped} of their draws their codec refused); ${bad.length} differ`);
        if (full !== '2016') {
          // Where the value shapes agree (the same JER), the same value must give the same octets.
          t.ok(same >= shared.length * PER_TYPE * 0.8, `most values (${same} of ${shared.length * PER_TYPE}) encode identically as values`);
        }
      });
    }
  });
}
