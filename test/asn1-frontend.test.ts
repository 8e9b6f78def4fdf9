// The ASN.1 front end: errors that name file, line and construct; the csae2020 set is the 2019 release
// with exactly the seven YD/T 3709-2020 edits (codecs/sets/README.md).
import { join } from 'node:path';
import t from 'tap';
import { Asn1SemanticError, Asn1SyntaxError } from '../codecs/index.js';
import { compileToIR, parseSources, readModuleDir } from '../codecs/compiler/compile.js';
import { parseModules } from '../codecs/asn1/parser.js';

const SETS = new URL('../codecs/sets/', import.meta.url).pathname;

function withoutLoc(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (k, v) => (k === 'loc' || k === 'line' || k === 'col' || k === 'file' ? undefined : v)));
}

t.test('csae2020 differs from csae2019 in exactly the seven YD/T 3709-2020 type assignments', async (t) => {
  const a = parseSources(readModuleDir(join(SETS, 'csae2019')));
  const b = parseSources(readModuleDir(join(SETS, 'csae2020')));
  const index = (mods: typeof a) => new Map(mods.flatMap((m) => m.assignments.map((x) => [`${m.name}.${x.name}`, JSON.stringify(withoutLoc(x))])));
  const ia = index(a);
  const ib = index(b);
  t.same([...ia.keys()].sort(), [...ib.keys()].sort(), 'same 162 type assignments, same modules');
  t.equal(ia.size, 162 + [...ia.keys()].filter((k) => /\.[a-z]/.test(k)).length, '162 type assignments (plus value assignments)');
  const changed = [...ia.keys()].filter((k) => ia.get(k) !== ib.get(k)).map((k) => k.split('.')[1]).sort();
  t.same(changed, ['ConnectsToList', 'DHour', 'DTimeOffset', 'FullPositionVector', 'Link', 'NodeList', 'PathPointList']);
});

t.test('both CSAE sets compile, and each has the five messages', async (t) => {
  for (const set of ['csae2019', 'csae2020']) {
    const ir = compileToIR(readModuleDir(join(SETS, set)));
    for (const name of ['MessageFrame', 'BasicSafetyMessage', 'MapData', 'SPAT', 'RoadSideInformation', 'RoadsideSafetyMessage']) {
      t.ok(ir.types.has(name), `${set} has ${name}`);
    }
  }
});

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

const syntaxCases: [string, string, RegExp][] = [
  ['missing END', 'M DEFINITIONS ::= BEGIN\n  A ::= INTEGER\n', /m\.asn:3:1: module M has no END/],
  ['bad constraint', 'M DEFINITIONS ::= BEGIN\n  A ::= INTEGER (0..\n  B ::= BOOLEAN\nEND', /m\.asn:3:3: expected a value \(found "B"\)/],
  ['unterminated comment', 'M DEFINITIONS ::= BEGIN\n /* no end\nEND', /m\.asn:\d+:\d+: unterminated \/\* comment/],
  ['upper-case component', 'M DEFINITIONS ::= BEGIN\n  S ::= SEQUENCE {\n    Bad INTEGER }\nEND', /m\.asn:3:5: .*component name Bad must start with a lower-case letter/],
  ['stray character', 'M DEFINITIONS ::= BEGIN\n  A ::= INTEGER ?\nEND', /m\.asn:2:17: unexpected character "\?"/],
  ['group outside extension', 'M DEFINITIONS ::= BEGIN\n  S ::= SEQUENCE { a BOOLEAN, [[ b BOOLEAN ]] }\nEND', /m\.asn:2:31: an extension addition group/],
];
for (const [name, text, re] of syntaxCases) {
  t.test(`syntax error: ${name}`, async (t) => {
    const e = caught(() => parseModules(text, 'm.asn'));
    t.type(e, Asn1SyntaxError);
    t.match((e as Error).message, re);
  });
}

const semanticCases: [string, string, RegExp][] = [
  ['undefined type', 'M DEFINITIONS AUTOMATIC TAGS ::= BEGIN\n  A ::= SEQUENCE { x Missing }\nEND', /m\.asn:2: Missing is not defined in module M nor imported/],
  ['import from absent module', 'M DEFINITIONS ::= BEGIN\nIMPORTS X FROM Nowhere;\n  A ::= INTEGER\nEND', /module M imports from module Nowhere, which is not in the set/],
  ['empty range', 'M DEFINITIONS ::= BEGIN\n  A ::= INTEGER (5..1)\nEND', /m\.asn:2: constraint leaves no value/],
  ['duplicate component', 'M DEFINITIONS AUTOMATIC TAGS ::= BEGIN\n  S ::= SEQUENCE { a BOOLEAN, a INTEGER }\nEND', /m\.asn:2: component a appears twice/],
  ['wrong parameter count', 'M DEFINITIONS AUTOMATIC TAGS ::= BEGIN\n  P {T} ::= SEQUENCE { x T }\n  A ::= P {BOOLEAN, INTEGER}\nEND', /m\.asn:3: P takes 1 parameter\(s\), 2 given/],
  ['unsupported REAL', 'M DEFINITIONS ::= BEGIN\n  A ::= REAL\nEND', /m\.asn:2: REAL is not supported/],
];
for (const [name, text, re] of semanticCases) {
  t.test(`semantic error: ${name}`, async (t) => {
    const e = caught(() => compileToIR([{ file: 'm.asn', text }]));
    t.type(e, Asn1SemanticError);
    t.match((e as Error).message, re);
  });
}

t.test('modules as published: BOM, CRLF, several modules in one file, OIDs, dotted references', async (t) => {
  const text =
    '\ufeffA {iso(1) 2} DEFINITIONS AUTOMATIC TAGS ::=\r\nBEGIN\r\nEXPORTS ALL;\r\nX ::= INTEGER (0..max) -- c --\r\nmax INTEGER ::= 7\r\nEND\r\n' +
    'B DEFINITIONS AUTOMATIC TAGS ::= BEGIN\r\nIMPORTS X FROM A {iso(1) 2};\r\nY ::= SEQUENCE { x X, y A.X }\r\nEND\r\n';
  const ir = compileToIR([{ file: 'ab.asn', text }]);
  t.same(ir.types.get('X')!.ir, { k: 'int', lb: 0, ub: 7, ext: false });
  const y = ir.types.get('Y')!.ir;
  t.equal(y.k, 'seq');
});
