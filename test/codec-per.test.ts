// UNALIGNED PER rules on hand-computed cases (ITU-T X.691), independent of any other codec.
import t from 'tap';
import { compileInline } from './support/inline-asn1.js';

const ms = await compileInline(`
Test DEFINITIONS AUTOMATIC TAGS ::= BEGIN
  Small ::= INTEGER (0..7)
  ExtInt ::= INTEGER (0..255, ...)
  Semi ::= INTEGER (10..MAX)
  Unc ::= INTEGER
  Neg ::= INTEGER (-2048..2047)
  Const ::= INTEGER (5)
  Flag ::= BOOLEAN
  Color ::= ENUMERATED { red(5), green(1), blue(3), ..., cyan(10), magenta(8) }
  Opt ::= SEQUENCE { a INTEGER (0..3) OPTIONAL, b BOOLEAN, ... }
  Ext ::= SEQUENCE { a BOOLEAN, ..., b INTEGER (0..255), [[ c BOOLEAN, d INTEGER (0..3) OPTIONAL ]] }
  Ia5 ::= IA5String (SIZE(1..4))
  Num ::= NumericString (SIZE(3))
  Pr ::= PrintableString (FROM("ABC"))
  Vis ::= VisibleString (SIZE(2, ...))
  U8 ::= UTF8String (SIZE(1..10))
  Oct2 ::= OCTET STRING (SIZE(2))
  OctAny ::= OCTET STRING
  Bits4 ::= BIT STRING (SIZE(4))
  BitsVar ::= BIT STRING (SIZE(0..16))
  Named ::= BIT STRING { x(0), y(1) } (SIZE(2))
  NamedVar ::= BIT STRING { a(0), b(1), c(2) } (SIZE(2..8, ...))
  Ch ::= CHOICE { a NULL, b BOOLEAN, c INTEGER (0..3) }
  ChExt ::= CHOICE { a BOOLEAN, ..., z INTEGER (0..255) }
  List ::= SEQUENCE (SIZE(0..2)) OF BOOLEAN
  ListExt ::= SEQUENCE (SIZE(1..2, ...)) OF BOOLEAN
  Big ::= OCTET STRING
  Def ::= SEQUENCE { a INTEGER (0..7) DEFAULT 3, b BOOLEAN }
  max INTEGER ::= 15
  ByRef ::= INTEGER (0..max)

  ID ::= CLASS { &id INTEGER (0..255) UNIQUE, &Type } WITH SYNTAX { &Type IDENTIFIED BY &id }
  Objs ID ::= { { BOOLEAN IDENTIFIED BY 1 } | { Small IDENTIFIED BY 2 }, ... }
  Frame ::= SEQUENCE { id ID.&id({Objs}), value ID.&Type({Objs}{@id}) }
  Pair {ID:Set} ::= SEQUENCE { id ID.&id({Set}), value ID.&Type({Set}{@id}) }
  PFrame ::= Pair {{Objs}}
END`);

const cases: [string, unknown, string, string][] = [
  // type, value, hex, why
  ['Small', 5, 'A0', '3 bits 101'],
  ['ExtInt', 7, '0380', 'ext bit 0, then 8 bits'],
  ['ExtInt', 300, '81009600', 'ext bit 1, length 2, 0x012C two-complement'],
  ['Semi', 266, '020100', 'length 2, offset 256'],
  ['Unc', -1, '01FF', 'length 1, 0xFF'],
  ['Unc', 128, '020080', 'length 2: 128 needs a sign bit'],
  ['Neg', -2048, '0000', '12 bits of zero offset'],
  ['Neg', 2047, 'FFF0', '12 bits all ones'],
  ['Const', 5, '00', 'a single-value range takes no bits: the complete encoding is one zero octet'],
  ['Flag', true, '80', '1 bit'],
  ['Color', 'green', '00', 'root sorted by value: green(1)=0, blue(3)=1, red(5)=2; ext bit 0 + 2 bits'],
  ['Color', 'red', '40', '0 10'],
  ['Color', 'magenta', '80', 'extension: additions sorted by value, magenta(8) index 0 as normally small: 1 0000000'],
  ['Color', 'cyan', '81', '1 0000001'],
  ['Opt', { b: true }, '20', 'ext 0, presence 0, b 1'],
  ['Opt', { a: 2, b: false }, '60', 'ext 0, presence 1, a=10, b=0'],
  ['Ext', { a: true, b: 5 }, 'C0C020A0', 'ext 1, a 1, bitmap of 2 (0000001), 10, open type 01 05'],
  ['Ia5', 'AB', '60C2', 'length-1 in 2 bits, 7-bit characters'],
  ['Num', '123', '2340', 'fixed size, 4-bit indexes into " 0123456789"'],
  ['Pr', 'CAB', '0384', 'FROM("ABC"): 2 bits per char by index (C=10 A=00 B=01); length unconstrained 8 bits'],
  ['Vis', 'hi', '68D2', 'in root: ext bit 0, fixed size 2, 7-bit chars'],
  ['Vis', 'abc', '81E1C58C', 'outside root: ext 1, length 3 (8 bits), 7-bit chars'],
  ['U8', 'é', '02C3A9', 'UTF8String: octet length, SIZE not PER-visible'],
  ['Oct2', 'ABCD', 'ABCD', 'fixed size: no length'],
  ['OctAny', 'AB', '01AB', 'unconstrained length'],
  ['Bits4', 'A0', 'A0', 'fixed 4 bits'],
  ['BitsVar', { value: 'A0', length: 3 }, '1D', 'length 00011 in 5 bits (0..16), then 101'],
  ['Named', 'C0', 'C0', 'fixed size named bits'],
  ['NamedVar', { value: '80', length: 2 }, '08', 'named bits 10: ext 0, length 2-2 in 3 bits, bits: 0 000 10'],
  ['Ch', { b: true }, '60', 'index 01, then 1'],
  ['Ch', { c: 3 }, 'B0', 'index 10, then 11'],
  ['ChExt', { z: 5 }, '800105', 'ext 1, normally small index 0, open type of 1 octet'],
  ['List', [true, false], 'A0', 'length 2 in 2 bits, then 1, 0'],
  ['ListExt', [true, false, true], '81D0', 'outside root: ext 1, length 00000011, items 101'],
  ['ByRef', 15, 'F0', 'upper bound from a value reference: 4 bits'],
  ['Def', { b: true }, '40', 'DEFAULT absent: presence 0, b=1'],
  ['Def', { a: 3, b: true }, '40', 'a value equal to its DEFAULT is not encoded'],
  ['Def', { a: 5, b: true }, 'D8', 'presence 1, a=101, b=1'],
  ['Frame', { id: 1, value: true }, '010180', 'id 8 bits, open type length 1, BOOLEAN TRUE'],
  ['Frame', { id: 2, value: 5 }, '0201A0', 'open type selected by id=2: Small'],
  ['Frame', { id: 9, value: 'ABCD' }, '0902ABCD', 'id not in the (extensible) object set: the raw octets, as hex'],
  ['PFrame', { id: 2, value: 5 }, '0201A0', 'parameterized type instantiated with an object set'],
];

// ext 1, a 1, normally small length of 2 additions (n-1 = 1: 0000001), bitmap 11,
// open type {b}: 01 05, open type {group c, d}: presence of d 0, c 1 -> '01' padded: 01 40.
cases.push(['Ext', { a: true, b: 5, c: true }, 'C0E020A02800', 'two additions: b, and the group [[c, d]]']);

for (const [type, value, hex, why] of cases) {
  t.test(`${type} ${JSON.stringify(value)}`, async (t) => {
    t.equal(ms.enc(type, value), hex, `encode: ${why}`);
    const expected = type === 'Def' && (value as { a?: number }).a === 3 ? { b: true } : value;
    t.same(ms.dec(type, hex), expected, 'decode');
  });
}

t.test('named bits: trailing 0 bits dropped, then padded to the lower bound (X.691 16.2, 16.3)', async (t) => {
  t.equal(ms.enc('NamedVar', { value: '8000', length: 16 }), '08', 'beyond the root only because of trailing zeros: trimmed to 1, padded to 10');
  t.equal(ms.enc('NamedVar', { value: '00', length: 1 }), '00', 'shorter than the lower bound: padded to 00');
  t.equal(ms.enc('NamedVar', { value: 'A0', length: 3 }), '1A', '101: ext 0, length 001, bits 101');
  t.equal(ms.enc('NamedVar', { value: 'FF80', length: 9 }), '84FFC0', 'a real 9-bit value is outside the root: ext 1, length 00001001, nine 1 bits');
});

t.test('fragmentation of long OCTET STRINGs (X.691 11.9.3.8)', async (t) => {
  const n = 16384 + 5;
  const value = 'AB'.repeat(n);
  const hex = ms.enc('Big', value);
  t.equal(hex.slice(0, 2), 'C1', 'first fragment: 11 000001 = one block of 16K');
  t.equal(hex.slice(2 + 16384 * 2, 2 + 16384 * 2 + 2), '05', 'then the remainder length');
  t.equal(hex.length, 2 + 16384 * 2 + 2 + 10);
  t.equal(ms.dec('Big', hex), value);
  const exact = 'CD'.repeat(16384);
  const hx2 = ms.enc('Big', exact);
  t.equal(hx2.slice(-2), '00', 'a multiple of 16K ends with a zero length');
  t.equal(ms.dec('Big', hx2), exact);
});

t.test('decode errors name the path and the bit', async (t) => {
  t.throws(() => ms.dec('Ch', 'C0'), { name: 'DecodeError', message: 'Ch: choice index 3 out of range at bit 0' });
  t.throws(() => ms.dec('Small', ''), { name: 'DecodeError', message: /Small: needs 3 more bit\(s\) but the data ends at bit 0/ });
  t.throws(() => ms.dec('Frame', '0105'), { message: /Frame\.value: needs 40 more bit\(s\) but the data ends at bit 16/ });
  t.throws(() => ms.dec('List', 'C0'), { message: /List: value 3 above upper bound 2 at bit 0/ });
  t.throws(() => ms.dec('Color', '60'), { message: /Color: enumeration index 3 out of range at bit 1/ });
  t.throws(() => ms.dec('ChExt', '80'), { message: /ChExt: needs 8 more bit/ });
  t.throws(() => ms.dec('ChExt', '8101FF'), { message: /unknown extension alternative 1/ });
  t.throws(() => ms.dec('Pr', '01C0'), { message: /character code 3 not in the permitted alphabet/ });
  t.throws(() => ms.dec('U8', '01FF'), { message: /invalid UTF-8/ });
  t.throws(() => ms.dec('OctAny', 'FFFF'), { message: /bad fragment length multiplier|exceeds the remaining data/ });
  t.throws(() => ms.dec('OctAny', '7F00'), { message: /length 127 exceeds the remaining data/ });
});

t.test('encode errors name the path and the problem', async (t) => {
  t.throws(() => ms.enc('Small', 8), { name: 'EncodeError', message: 'Small: value 8 is outside 0..7' });
  t.throws(() => ms.enc('Small', '5'), { message: 'Small: expected an INTEGER, got "5"' });
  t.throws(() => ms.enc('Opt', {}), { message: 'Opt.b: mandatory component is missing' });
  t.throws(() => ms.enc('Opt', { b: true, bogus: 1 }), { message: /Opt: unknown component "bogus"/ });
  t.throws(() => ms.enc('Color', 'purple'), { message: /Color: expected one of/ });
  t.throws(() => ms.enc('Ch', { a: null, b: true }), { message: /exactly one key/ });
  t.throws(() => ms.enc('Ch', { d: 1 }), { message: /one of the alternatives/ });
  t.throws(() => ms.enc('List', [true, true, true]), { message: 'List: size 3 is outside 0..2' });
  t.throws(() => ms.enc('List', [true, 1]), { message: 'List[1]: expected a BOOLEAN, got 1' });
  t.throws(() => ms.enc('Ia5', 'AB\u00e9'), { message: /character "é" at index 2 is not in the permitted alphabet/ });
  t.throws(() => ms.enc('Oct2', 'ABC'), { message: /hex string/ });
  t.throws(() => ms.enc('Oct2', 'ZZZZ'), { message: /not a hex digit/ });
  t.throws(() => ms.enc('Bits4', 'A'), { message: /BIT STRING of 4 bits/ });
  t.throws(() => ms.enc('Frame', { id: 1, value: 3 }), { message: 'Frame.value: expected a BOOLEAN, got 3' });
});

t.test('unknown components: encode rejects them, encodeTrusted (values built by code) skips the check', async (t) => {
  const { loadMessageSet } = await import('../codecs/index.js');
  const ms = await loadMessageSet('csae2020');
  const v = { msgCnt: 1, id: '0000000000000001', refPos: { lat: 1, long: 2 }, participants: [] as never[] };
  const withTypo = { ...v, refpos: v.refPos } as never;
  t.throws(() => ms.encode('RoadsideSafetyMessage', withTypo), { name: 'EncodeError', message: /RoadsideSafetyMessage: unknown component "refpos"/ });
  const ok = { ...v, participants: [] } as never;
  t.throws(() => ms.encode('RoadsideSafetyMessage', ok), /size 0 is outside 1\.\.16/, 'every other check stays');
  const good = { ...v, participants: [{ ptcType: 'pedestrian', ptcId: 1, source: 'lidar', secMark: 0, pos: { offsetLL: { 'position-LL1': { lon: 0, lat: 0 } } }, posConfidence: { pos: 'a1m' }, speed: 0, heading: 0, size: { width: 50, length: 50 } }] };
  const bytes = ms.encode('RoadsideSafetyMessage', good as never);
  t.same(ms.encodeTrusted('RoadsideSafetyMessage', { ...good, extra: 1 } as never), bytes, 'trusted: the unknown component is ignored');
  t.throws(() => ms.encode('RoadsideSafetyMessage', { ...good, extra: 1 } as never), /unknown component "extra"/, 'and encode is strict again afterwards');
});
