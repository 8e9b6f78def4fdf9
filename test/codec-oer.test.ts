// C-OER (ITU-T X.696, canonical) rules on hand-computed encodings, one small module per tagging mode: every
// INTEGER form, ENUMERATED short and long forms, strings with and without fixed size, SEQUENCE preambles and
// extension additions, SEQUENCE OF quantities, CHOICE tags (automatic and explicit, long tag numbers), DEFAULT,
// OBJECT IDENTIFIER, and the errors for non-canonical or broken input. Needs nothing outside the repository.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DecodeError, EncodeError, fromHex, loadOerModules, toHex, TrailingBytesError } from '../codecs/index.js';
import { randomValue, Rng } from './support/random-values.js';
import { loadIR } from './support/vectors.js';

const MODULE = `
OerTest DEFINITIONS AUTOMATIC TAGS ::= BEGIN
  U8 ::= INTEGER (0..255)
  U16 ::= INTEGER (0..65535)
  U32 ::= INTEGER (0..4294967295)
  U64 ::= INTEGER (0..18446744073709551615)
  S8 ::= INTEGER (-128..127)
  S16 ::= INTEGER (-32768..32767)
  S32 ::= INTEGER (-2147483648..2147483647)
  Semi ::= INTEGER (0..MAX)
  Semi5 ::= INTEGER (5..MAX)
  Unc ::= INTEGER
  Ext ::= INTEGER (0..255, ...)
  Named ::= INTEGER { low(-10), high(10) } (-10..10)
  NamedSub ::= Named (low..0)
  Fixed3 ::= INTEGER (3)
  Bool ::= BOOLEAN
  En ::= ENUMERATED { a, b(200), c(-1), ..., d(127) }
  Oct3 ::= OCTET STRING (SIZE(3))
  Oct ::= OCTET STRING
  OctExt ::= OCTET STRING (SIZE(3, ...))
  Bits4 ::= BIT STRING (SIZE(4))
  Bits ::= BIT STRING
  Flags ::= BIT STRING { a(0), b(5) } (SIZE(0..8))
  Ia2 ::= IA5String (SIZE(2))
  Ia ::= IA5String
  Num ::= NumericString (SIZE(1..4))
  Utf ::= UTF8String
  Oid ::= OBJECT IDENTIFIER
  Seq ::= SEQUENCE { a U8, b BOOLEAN OPTIONAL, ..., c U8 OPTIONAL, [[ d U8, e U8 OPTIONAL ]] }
  SeqExtOnly ::= SEQUENCE { a U8, ... }
  Def ::= SEQUENCE { a U8 DEFAULT 5 }
  Nine ::= SEQUENCE { o1 NULL OPTIONAL, o2 NULL OPTIONAL, o3 NULL OPTIONAL, o4 NULL OPTIONAL, o5 NULL OPTIONAL,
                      o6 NULL OPTIONAL, o7 NULL OPTIONAL, o8 NULL OPTIONAL, o9 NULL OPTIONAL }
  List ::= SEQUENCE OF U8
  Ch ::= CHOICE { x U8, y BOOLEAN, ..., z U8 }
  Wrap ::= SEQUENCE { id U8, ch Ch }
  EXT ::= CLASS { &id INTEGER (0..255), &Type } WITH SYNTAX { ID &id TYPE &Type }
  Exts EXT ::= { { ID 1 TYPE U8 } | { ID 2 TYPE Oct }, ... }
  Extension ::= SEQUENCE { id EXT.&id({Exts}), content EXT.&Type({Exts}{@.id}) }
  Om ::= SEQUENCE { a Oct OPTIONAL, ..., omitted NULL OPTIONAL }
  Perm ::= SEQUENCE { t BIT STRING { app(0), enroll(1) } (SIZE(8)) DEFAULT {app} }
  Deep ::= SEQUENCE { a Seq OPTIONAL, b List, c SEQUENCE OF Ch, d Extension OPTIONAL, e Deep OPTIONAL, ..., f Flags OPTIONAL }
END
Tagged DEFINITIONS ::= BEGIN
  TCh ::= CHOICE { a [APPLICATION 3] INTEGER (0..255), b [70] BOOLEAN, c [PRIVATE 1] NULL, d OCTET STRING }
END
`;

const dir = mkdtempSync(join(tmpdir(), 'rsu-oer-test-'));
writeFileSync(join(dir, 'OerTest.asn'), MODULE);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ms = await loadOerModules(dir, { cacheDir: join(dir, 'cache') });

const cases: [type: string, value: unknown, hex: string, decoded?: unknown][] = [
  // X.696 10: fixed-size fields for bounds that fit 1, 2, 4, 8 octets; the value itself, not value - lb
  ['U8', 5, '05'],
  ['U16', 256, '0100'],
  ['U32', 1, '00000001'],
  ['U64', 18446744073709551615n, 'FFFFFFFFFFFFFFFF'],
  ['U64', 7, '0000000000000007'],
  ['S8', -1, 'FF'],
  ['S16', -2, 'FFFE'],
  ['S32', -2147483648, '80000000'],
  ['Fixed3', 3, '03'],
  ['Named', -10, 'F6'],
  ['NamedSub', -3, 'FD'],
  // length-prefixed: unsigned with a lower bound >= 0, two's complement otherwise, or when extensible
  ['Semi', 300, '02012C'],
  ['Semi', 0, '0100'],
  ['Semi5', 5, '0105'],
  ['Unc', 0, '0100'],
  ['Unc', -129, '02FF7F'],
  ['Unc', 128, '020080'],
  ['Ext', 5, '0105'],
  ['Ext', 300, '02012C'],
  ['Bool', true, 'FF'],
  ['Bool', false, '00'],
  // X.696 11: enumeration numbers; 0..127 in one octet, else 0x80|n and n octets two's complement
  ['En', 'a', '00'],
  ['En', 'b', '8200C8'],
  ['En', 'c', '81FF'],
  ['En', 'd', '7F'],
  ['Oct3', 'AABBCC', 'AABBCC'],
  ['Oct', 'AABB', '02AABB'],
  ['Oct', '', '00'],
  ['Oct', '11'.repeat(300), '82012C' + '11'.repeat(300)],
  ['Oct', '22'.repeat(200), '81C8' + '22'.repeat(200)],
  ['OctExt', 'AABBCC', '03AABBCC'],
  // X.696 13: fixed size: the bits; else length, unused-bits octet, bits; named bits lose trailing zeros
  ['Bits4', 'A0', 'A0'],
  ['Bits', { value: 'A0', length: 3 }, '0205A0'],
  ['Bits', { value: '', length: 0 }, '0100'],
  ['Flags', { value: '80', length: 8 }, '020780', { value: '80', length: 1 }],
  ['Flags', { value: '84', length: 6 }, '020284'],
  // known-multiplier strings: no length when the size is fixed
  ['Ia2', 'ab', '6162'],
  ['Ia', 'ab', '026162'],
  ['Num', '12 3', '0431322033'],
  ['Utf', 'é', '02C3A9'],
  ['Oid', '1.2.840.10045.3.1.7', '082A8648CE3D030107'],
  // X.696 16: preamble (extension bit, presence bits, padded), root components, then the additions' bitmap
  // (a BIT STRING: length, unused bits, bits) and each present addition as an open type
  ['Seq', { a: 1 }, '0001'],
  ['Seq', { a: 1, b: true }, '4001FF'],
  ['Seq', { a: 1, c: 2 }, '8001' + '0206' + '80' + '0102'],
  ['Seq', { a: 1, d: 3 }, '8001' + '0206' + '40' + '020003'],
  ['Seq', { a: 1, b: false, c: 2, d: 3, e: 4 }, 'C00100' + '0206C0' + '0102' + '03800304'],
  ['SeqExtOnly', { a: 7 }, '0007'],
  ['Def', { a: 5 }, '00', {}],
  ['Def', { a: 6 }, '8006'],
  ['Perm', { t: '80' }, '00', {}], // a fixed-size named BIT STRING's DEFAULT {app} is '80' and is not sent
  ['Perm', { t: 'C0' }, '80C0'],
  // a NULL extension addition is an empty open type (rasn's C-OER test of 1609.2's SignedDataPayload.omitted)
  ['Om', { a: '000102', omitted: null }, 'C003000102020780' + '00'],
  ['Nine', { o9: null }, '0080'],
  ['Nine', { o1: null, o8: null }, '8100'],
  // X.696 17: quantity as a length-prefixed unsigned number
  ['List', [1, 2], '01020102'],
  ['List', [], '0100'],
  ['List', new Array(256).fill(9), '020100' + '09'.repeat(256)],
  // X.696 20: the alternative's tag (automatic: context-specific, textual order), additions in an open type
  ['Ch', { x: 5 }, '8005'],
  ['Ch', { y: true }, '81FF'],
  ['Ch', { z: 5 }, '820105'],
  ['Wrap', { id: 1, ch: { z: 6 } }, '01820106'],
  // explicit tags: class bits, numbers >= 63 in base-128 octets; an untagged alternative has its universal tag
  ['TCh', { a: 9 }, '4309'],
  ['TCh', { b: true }, 'BF46FF'],
  ['TCh', { c: null }, 'C1'],
  ['TCh', { d: 'AB' }, '0401AB'],
  // an open type selected by its id through the object set; an id outside the set keeps the octets as hex
  ['Extension', { id: 1, content: 5 }, '010105'],
  ['Extension', { id: 2, content: 'AB' }, '020201AB'],
  ['Extension', { id: 9, content: 'FF00' }, '0902FF00'],
];

t.test('hand-computed C-OER encodings', async (t) => {
  t.equal(ms.rule, 'coer');
  for (const [type, value, hex, decoded] of cases) {
    const label = `${type} ${JSON.stringify(value, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)).slice(0, 60)}`;
    t.equal(toHex(ms.encode(type, value as never)), hex, `${label} encodes to ${hex.slice(0, 40)}`);
    const back = ms.decode(type, fromHex(hex));
    t.same(back, decoded ?? (typeof value === 'number' && type === 'U64' ? BigInt(value) : value), `${label} decodes back`);
  }
});

t.test('an encoding stays valid after the next encode (the writer is reused)', async (t) => {
  const a = ms.encode('Oct', '11'.repeat(20));
  const b = ms.encode('Oct', '22'.repeat(100));
  ms.encode('Oct', '33'.repeat(20));
  ms.encode('Oct', '44'.repeat(100));
  t.equal(toHex(a), '14' + '11'.repeat(20));
  t.equal(toHex(b), '64' + '22'.repeat(100));
});

t.test('integers beyond 2^53 are bigints; numbers that are safe are accepted on encode', async (t) => {
  t.equal(ms.decode('U64', fromHex('0000000000000007')), 7n);
  t.equal(ms.decode('U64', fromHex('FFFFFFFFFFFFFFFF')), 18446744073709551615n);
  t.throws(() => ms.encode('U64', 2n ** 64n), /U64: value 18446744073709551616 is outside 0\.\.18446744073709551615/);
  t.throws(() => ms.encode('U64', 2 ** 60), /expected an INTEGER \(bigint, safe integer or decimal string\)/);
  t.equal(toHex(ms.encode('U64', '18446744073709551615')), 'FFFFFFFFFFFFFFFF', 'decimal text, for JSON input');
  t.throws(() => ms.encode('Semi', 2 ** 60), /out of range/);
});

t.test('non-canonical or broken input is a DecodeError naming the path and the byte', async (t) => {
  const bad: [string, string, RegExp][] = [
    ['Oct', '8102AABB', /Oct: length 2 not in its canonical \(minimal\) form at byte 0$/],
    ['Oct', '820002AABB', /not in its canonical/],
    ['Bool', '01', /BOOLEAN octet 1 is neither 0 nor 255 \(C-OER\) at byte 0/],
    ['U8', '', /needs 1 more byte\(s\) but the data ends at byte 0/],
    ['Semi', '020005', /integer not in its minimal form at byte 0/],
    ['Unc', '02FFFF', /integer not in its minimal form/],
    ['En', '8105', /enumerated value not in its canonical \(short\) form/],
    ['En', '05', /enumeration value 5 is not in the type at byte 0/],
    ['Seq', '0101', /Seq: preamble padding bits are not zero/],
    ['Seq', '8001020680', /Seq: needs 1 more byte/],
    ['Wrap', '0183', /Wrap\.ch: unknown extension alternative with tag \[3\] at byte 1$/],
    ['TCh', '4209', /no alternative with tag \[APPLICATION 2\]/],
    ['Bits', '0208A0', /bad number of unused bits 8/],
    ['Bits', '0205A1', /unused bits of a BIT STRING are not zero at byte 2/],
    ['List', '01FF', /length 255 exceeds the remaining data/],
    ['Oid', '0180', /malformed OBJECT IDENTIFIER/],
    ['Ia', '0161', /^/], // valid: 'a'
    ['Ia2', '61FF', /character code 255 not in the permitted alphabet at byte 1/],
    ['Utf', '02C328', /invalid UTF-8/],
    ['Seq', '8001020680020203', /Seq\.c: 1 byte\(s\) left over inside an open type/],
  ];
  for (const [type, hex, re] of bad) {
    if (type === 'Ia') continue;
    const e = t.throws(() => ms.decode(type, fromHex(hex)), `${type} ${hex}`) as Error;
    t.ok(e instanceof DecodeError, `${type} ${hex}: a DecodeError`);
    t.match(e.message, re, `${type} ${hex}: ${e.message}`);
  }
  const e = t.throws(() => ms.decode('U8', fromHex('0506'))) as TrailingBytesError;
  t.ok(e instanceof TrailingBytesError && e.value === 5 && toHex(e.trailing) === '06', 'trailing bytes keep the value');
  t.match(e.message, /U8: 1 byte\(s\) left over after a complete value at byte 1/);
  t.same(ms.decodePrefix('U8', fromHex('0506')), { value: 5, trailing: fromHex('06') });
  // hostile nesting: a DecodeError with a shortened path, not a stack overflow
  const deep = t.throws(() => ms.decode('Deep', fromHex('1001000100'.repeat(20_000) + '0001000100'))) as DecodeError;
  t.ok(deep instanceof DecodeError && /^Deep\.e\.e.*\(\d+ levels\).*: nesting too deep$/.test(deep.message), `deep nesting: ${deep.message.slice(0, 80)}...`);
  t.equal(toHex(ms.encode('Deep', { b: [], c: [], e: { b: [], c: [] } })), '1001000100' + '0001000100');
  // the same NULL addition as one 00 octet inside its length (PER's habit; pycrate writes it) is read too
  t.same(ms.decode('Om', fromHex('C003000102020780' + '0100')), { a: '000102', omitted: null });
  // an unknown extension addition is skipped (X.696 16.5), as it must be for forward compatibility
  t.same(ms.decode('SeqExtOnly', fromHex('80070207800100')), { a: 7 });
});

t.test('bad values are an EncodeError naming the path', async (t) => {
  const bad: [string, unknown, RegExp][] = [
    ['U8', 256, /^U8: value 256 is outside 0\.\.255$/],
    ['Oct3', 'AABB', /^Oct3: size 2 is outside 3$/],
    ['Ia2', 'aé', /character "é" at index 1 is not in the permitted alphabet/],
    ['Num', '12a', /character "a"/],
    ['Seq', { b: true }, /^Seq\.a: mandatory component is missing$/],
    ['Seq', { a: 1, zz: 1 }, /unknown component "zz"/],
    ['Wrap', { id: 1, ch: { q: 1 } }, /^Wrap\.ch\.q: expected one of the alternatives/],
    ['En', 'zz', /expected one of \["c","a","b","d"\]/],
    ['List', [1, 'x'], /^List\[1\]: expected an INTEGER/],
    ['Oid', '1.2.x', /expected an OBJECT IDENTIFIER as dotted text/],
  ];
  for (const [type, value, re] of bad) {
    const e = t.throws(() => ms.encode(type, value as never)) as Error;
    t.ok(e instanceof EncodeError, `${type}: an EncodeError`);
    t.match(e.message, re, `${type}: ${e.message}`);
  }
  t.equal(toHex(ms.encodeTrusted('Seq', { a: 1, zz: 1 } as never)), '0001', 'encodeTrusted skips the unknown-component check only');
});

t.test('random values of every type round-trip; mutations of them give only DecodeErrors', async (t) => {
  const ir = loadIR(dir);
  const rng = new Rng(0x0e4);
  const seeds: [string, Uint8Array][] = [];
  const bad: string[] = [];
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
  for (const type of ms.typeNames) {
    for (let i = 0; i < 50; i++) {
      const v = randomValue(ir, type, rng);
      try {
        const b = ms.encode(type, v as never);
        const back = ms.decode(type, b);
        if (show(back).toUpperCase() !== show(v).toUpperCase()) throw new Error(`decodes to ${show(back)}`);
        if (toHex(ms.encode(type, back as never)) !== toHex(b)) throw new Error('re-encodes differently');
        seeds.push([type, b]);
      } catch (e) {
        if (bad.length < 5) bad.push(`${type} ${show(v)}: ${(e as Error).message}`);
      }
    }
  }
  t.same(bad, [], `${seeds.length} random values of ${ms.typeNames.length} types round-trip`);
  const other: string[] = [];
  let accepted = 0;
  const N = Number(process.env.RSU_FUZZ_ITERATIONS ?? 20_000);
  for (let i = 0; i < N; i++) {
    const [type, orig] = rng.pick(seeds);
    const b = Uint8Array.from(orig);
    let m: Uint8Array = b;
    const op = rng.int(0, 2);
    if (op === 0 && b.length) b[rng.int(0, b.length - 1)]! ^= 1 << rng.int(0, 7);
    else if (op === 1) m = b.subarray(0, rng.int(0, Math.max(0, b.length - 1)));
    else m = Uint8Array.from([...b.subarray(0, rng.int(0, b.length)), rng.int(0, 255), ...b.subarray(rng.int(0, b.length))]);
    try {
      const v = ms.decodePrefix(type, m).value;
      accepted++;
      ms.decode(type, ms.encode(type, v as never));
    } catch (e) {
      if (!(e instanceof DecodeError) && other.length < 3) other.push(`${type} ${toHex(m)}: ${(e as Error).stack}`);
    }
  }
  t.same(other, [], `${N} mutations: only DecodeErrors (${accepted} decoded and re-encoded)`);
});
