// UNALIGNED PER (X.691) rules of the generator: how each type's values go on the wire, bit by bit. The module
// around the code, the walk over types and the JER value checks come from gen-base.ts, shared with C-OER.
import type { IR, MessageSetIR, SizeC } from '../asn1/ir.js';
import { CODEGEN_VERSION, fixedSize, GenBase, type Generated, type Prim } from './gen-base.js';

export { CODEGEN_VERSION, type Generated };

const RUNTIME_NAMES = 'BitWriter, BitReader, DecodeError, EncodeError, withPath, takeWriter, giveWriter, jerEqual, utf8, toHex, checks, oidBytes, oidText';

export function generate(set: MessageSetIR, runtimeImport: string): Generated {
  return new Gen(set).run(runtimeImport);
}

function bitsFor(range: number): number {
  let b = 0;
  while (2 ** b < range) b++;
  return b;
}

function isPow2Range(lb: number, ub: number): boolean {
  const r = ub - lb + 1;
  return 2 ** bitsFor(r) === r;
}

class Gen extends GenBase {
  protected readonly label = `codegen v${CODEGEN_VERSION}`;
  protected readonly runtimeNames = RUNTIME_NAMES;

  /** An extension addition or open type: encoded into a writer of its own, then written with its length. */
  protected openPart(w: string, inner: string, body: (w: string) => string): string {
    return `const ${inner} = takeWriter(); ${body(inner)}\n${w}.open(${inner}); giveWriter(${inner});`;
  }

  protected openEnd(): string {
    return '';
  }

  // ---- statements encoding the value held in identifier `v` to writer `w`
  protected encPrim(ir: Prim, v: string, w: string): string {
    switch (ir.k) {
      case 'bool':
        return `if (typeof ${v} !== 'boolean') bad('a BOOLEAN', ${v});\n${w}.bit(${v});`;
      case 'int':
        return this.intEnc(ir, v, w);
      case 'enum': {
        const map = this.konst(`new Map(${JSON.stringify([...ir.root.map((n, i) => [n, i]), ...ir.adds.map((n, i) => [n, -1 - i])])})`);
        const nb = bitsFor(ir.root.length);
        const { i, code } = this.enumLookup(ir, map, v);
        if (ir.ext) return code + `if (${i} >= 0) { ${w}.bit(0); ${w}.bits(${i}, ${nb}); } else { ${w}.bit(1); ${w}.small(-1 - ${i}); }`;
        return code + `${w}.bits(${i}, ${nb});`;
      }
      case 'octets': {
        const { n, code } = this.octetsValue(v);
        return code + this.lenEnc(ir.size, n, (from, count) => `${w}.hex(${from === '0' ? v : `${v}.slice(2 * ${from})`}, ${count});`, w);
      }
      case 'bits': {
        if (fixedSize(ir.size)) return `${this.checkFixedBits(v, ir.size.lb)}${w}.hexBits(${v}, ${ir.size.lb});`;
        const { n, hx, code } = this.bitsValue(ir, v);
        return code + this.lenEnc(ir.size, n, (from, count) => (from === '0' ? `${w}.hexBits(${hx}, ${count});` : `${w}.hexBits(${hx}.slice(${from} / 4), ${count});`), w);
      }
      case 'str':
        return this.strEnc(ir, v, w);
      case 'open':
        return `${w}.openHex(${v});`;
      case 'oid': {
        const b = this.v();
        return `const ${b} = oidBytes(${v});\n${w}.len(${b}.length); ${w}.octets(${b});`;
      }
    }
  }

  private intEnc(ir: IR & { k: 'int' }, v: string, w: string): string {
    const isInt = this.checkInt(v);
    if (ir.lb === undefined) return `${isInt}\n${w}.unconstrained(${v});`;
    if (ir.ub === undefined) return `${isInt}\n${this.checkRange(v, ir.lb, undefined)}\n${w}.semi(${v} - ${ir.lb});`;
    const nb = bitsFor(ir.ub - ir.lb + 1);
    const put = nb ? `${w}.bits(${v} - ${ir.lb}, ${nb});` : '';
    if (ir.ext) {
      return `${isInt}\nif (${v} >= ${ir.lb} && ${v} <= ${ir.ub}) { ${w}.bit(0); ${put} } else { ${w}.bit(1); ${w}.unconstrained(${v}); }`;
    }
    return `${isInt}\n${this.checkRange(v, ir.lb, ir.ub)}\n${put}`;
  }

  /** Length determinant for a size constraint plus the units (X.691 11.9, 16, 17, 20, 30). */
  private lenEnc(size: SizeC, n: string, units: (from: string, count: string) => string, w = 'w'): string {
    const { lb, ub, ext } = size;
    const rootCheck = ub === undefined ? `${n} >= ${lb}` : `${n} >= ${lb} && ${n} <= ${ub}`;
    const general = `if (${n} < 16384) { ${w}.len(${n}); ${units('0', n)} } else ${w}.fragments(${n}, (f, c) => { ${units('f', 'c')} });`;
    let root: string;
    if (ub !== undefined && ub < 65536) {
      if (lb === ub) root = units('0', n);
      else root = `${w}.bits(${n} - ${lb}, ${bitsFor(ub - lb + 1)}); ${units('0', n)}`;
    } else root = general;
    if (ext) return `if (${rootCheck}) { ${w}.bit(0); ${root} } else { ${w}.bit(1); ${general} }`;
    return `if (!(${rootCheck})) size(${n}, '${lb}..${ub ?? 'MAX'}');\n${root}`;
  }

  private strEnc(ir: IR & { k: 'str' }, v: string, w: string): string {
    const check = this.checkStr(v);
    if (!ir.km) {
      const b = this.v();
      const n = this.v();
      return `${check}\nconst ${b} = ${this.strBytes(ir, v)}, ${n} = ${b}.length;\n${this.lenEnc({ lb: 0, ub: undefined, ext: false }, n, (from, count) => `${w}.octets(${b}, ${from}, ${from} + ${count});`, w)}`;
    }
    const n = this.v();
    const table = this.charTable(ir);
    const [i, e, c, x] = [this.v(), this.v(), this.v(), this.v()];
    const put = (from: string, count: string) =>
      `for (let ${i} = ${from}, ${e} = ${from} + ${count}; ${i} < ${e}; ${i}++) { const ${c} = ${v}.charCodeAt(${i}); const ${x} = ${c} < ${table.len} ? ${table.enc}[${c}] : -1; if (${x} < 0) badChar(${v}, ${i}); ${w}.bits(${x}, ${ir.bits}); }`;
    return `${check}\nconst ${n} = ${v}.length;\n${this.lenEnc(ir.size, n, put, w)}`;
  }

  private charTable(ir: IR & { k: 'str' }): { enc: string; dec: string; len: number } {
    const alphabet = ir.alphabet!;
    const len = Math.max(...alphabet) + 1;
    const enc = new Array<number>(len).fill(-1);
    const dec = new Array<number>(1 << ir.bits).fill(-1);
    alphabet.forEach((c, i) => {
      const code = ir.direct ? c : i;
      enc[c] = code;
      dec[code] = c;
    });
    return { enc: this.konst(`new Int16Array(${JSON.stringify(enc)})`), dec: this.konst(`new Int16Array(${JSON.stringify(dec)})`), len };
  }

  // ---- statements decoding from reader `r` into variable or property `t`
  protected decPrim(ir: Prim, t: string, r: string): string {
    switch (ir.k) {
      case 'bool':
        return `${t} = ${r}.bit() === 1;`;
      case 'int':
        return `${t} = ${this.intDec(ir, r)};`;
      case 'enum': {
        const names = this.konst(JSON.stringify(ir.root));
        const nb = bitsFor(ir.root.length);
        const i = this.v();
        const rootPart = isPow2Range(0, ir.root.length - 1)
          ? `${t} = ${names}[${r}.bits(${nb})];`
          : `{ const ${i} = ${r}.bits(${nb}); if (${i} >= ${ir.root.length}) ${r}.fail('enumeration index ' + ${i} + ' out of range', ${r}.pos - ${nb}); ${t} = ${names}[${i}]; }`;
        if (!ir.ext) return rootPart;
        const adds = this.konst(JSON.stringify(ir.adds));
        return `if (${r}.bit() === 0) { ${rootPart} } else { const ${i} = ${r}.small(); if (${i} >= ${ir.adds.length}) ${r}.fail('unknown enumeration extension ' + ${i}); ${t} = ${adds}[${i}]; }`;
      }
      case 'octets': {
        const n = this.v();
        return this.lenDec(ir.size, n, 8, (count) => `${t} = ${r}.hex(${count});`, (count) => `${t} += ${r}.hex(${count});`, r);
      }
      case 'bits': {
        if (fixedSize(ir.size)) return `${t} = ${r}.hexBits(${ir.size.lb});`;
        const n = this.v();
        const acc = this.v();
        const tot = this.v();
        // Fragmented bit strings are a multiple of 16K bits, so hex pieces concatenate exactly.
        return `let ${acc} = '', ${tot} = 0;\n${this.lenDec(ir.size, n, 1, (count) => `${acc} = ${r}.hexBits(${count}); ${tot} = ${count};`, (count) => `${acc} += ${r}.hexBits(${count}); ${tot} += ${count};`, r)}\n${t} = { value: ${acc}, length: ${tot} };`;
      }
      case 'str':
        return this.strDec(ir, t, r);
      case 'open':
        return `${t} = ${r}.openHex();`;
      case 'oid': {
        const n = this.v();
        return `{ const ${n} = ${r}.count(${r}.len(), 8); if (${r}.more) ${r}.fail('fragmented OBJECT IDENTIFIER'); ${t} = oidText(${r}.octets(${n})); if (${t} === undefined) ${r}.fail('malformed OBJECT IDENTIFIER'); }`;
      }
    }
  }

  private intDec(ir: IR & { k: 'int' }, r: string): string {
    if (ir.lb === undefined) return `${r}.unconstrained()`;
    if (ir.ub === undefined) return `${r}.semi(${ir.lb})`;
    const nb = bitsFor(ir.ub - ir.lb + 1);
    const root = nb === 0 ? `${ir.lb}` : isPow2Range(ir.lb, ir.ub) ? `${r}.bits(${nb}) + ${ir.lb}` : `${r}.ranged(${nb}, ${ir.lb}, ${ir.ub})`;
    if (ir.ext) return `(${r}.bit() === 0 ? ${root} : ${r}.unconstrained())`;
    return root;
  }

  /**
   * Decode a length and then the units. `first(count)` handles a whole run (or the first fragment),
   * `more(count)` each further fragment.
   */
  private lenDec(size: SizeC, n: string, unitBits: number, first: (count: string) => string, more: (count: string) => string, r: string): string {
    const { lb, ub, ext } = size;
    const general = `{ let ${n} = ${r}.count(${r}.len(), ${unitBits}); ${first(n)} while (${r}.more) { ${n} = ${r}.count(${r}.len(), ${unitBits}); ${more(n)} } }`;
    let root: string;
    if (ub !== undefined && ub < 65536) {
      if (lb === ub) root = `{ const ${n} = ${lb}; ${first(n)} }`;
      else {
        const nb = bitsFor(ub - lb + 1);
        const read = isPow2Range(lb, ub) ? `${r}.bits(${nb}) + ${lb}` : `${r}.ranged(${nb}, ${lb}, ${ub})`;
        root = `{ const ${n} = ${r}.count(${read}, ${unitBits}); ${first(n)} }`;
      }
    } else root = general;
    if (!ext) return root;
    return `if (${r}.bit() === 0) ${root} else ${general}`;
  }

  private strDec(ir: IR & { k: 'str' }, t: string, r: string): string {
    const n = this.v();
    if (!ir.km) {
      const parts = this.v();
      const conv = ir.kind === 'UTF8String' ? `utf8text(${r}, ${parts})` : `latin1text(${parts})`;
      const push = (c: string) => `${parts}.push(${r}.octets(${c}).slice());`;
      return `{ const ${parts} = []; ${this.lenDec({ lb: 0, ub: undefined, ext: false }, n, 8, push, push, r)} ${t} = ${conv}; }`;
    }
    const table = this.charTable(ir);
    const [s, i, x, c] = [this.v(), this.v(), this.v(), this.v()];
    const read = (count: string, op: string) =>
      `{ ${r}.count(${count}, ${ir.bits}); let ${s} = ''; for (let ${i} = 0; ${i} < ${count}; ${i}++) { const ${x} = ${r}.bits(${ir.bits}); const ${c} = ${table.dec}[${x}]; if (${c} < 0) ${r}.fail('character code ' + ${x} + ' not in the permitted alphabet', ${r}.pos - ${ir.bits}); ${s} += String.fromCharCode(${c}); } ${t} ${op} ${s}; }`;
    return this.lenDec(ir.size, n, ir.bits, (cnt) => read(cnt, '='), (cnt) => read(cnt, '+='), r);
  }

  // ---- SEQUENCE: extension bit and presence bitmap, root components, then additions as open types (X.691 19)
  protected seqEnc(f: string, ir: IR & { k: 'seq' }): string {
    const s = this.seqValue(ir);
    const body = [...s.lines];
    // The preamble (extension bit, then a presence bit per optional root component) in one write.
    for (let i = 0; i < s.pre.length; i += 24) {
      const chunk = s.pre.slice(i, i + 24);
      body.push(`w.bits(${chunk.map((p, j) => `(${p} ? ${1 << (chunk.length - 1 - j)} : 0)`).join(' | ')}, ${chunk.length});`);
    }
    for (const fl of ir.fields) body.push(this.encField(s, fl, 'w'));
    if (ir.ext && ir.adds.length) {
      body.push('if (ext) {', `w.smallLen(${ir.adds.length});`);
      for (const ap of s.addPresent) body.push(`w.bit(${ap});`);
      ir.adds.forEach((a, i) => {
        const inner = (sw: string) =>
          'group' in a
            ? [...a.group.filter((g) => g.opt).map((g) => `${sw}.bit(${s.present(g)});`), ...a.group.map((g) => this.encField(s, g, sw))].join('\n')
            : this.encField(s, a.field, sw);
        body.push(`if (${s.addPresent[i]}) { ${this.openPart('w', 'sw', inner)} }`);
      });
      body.push('}');
    }
    return this.fnWithPath(this.seqEncHead(f), body, 'p');
  }

  protected seqDec(f: string, ir: IR & { k: 'seq' }): string {
    const body: string[] = [];
    if (ir.ext) body.push('const ext = r.bit();');
    const opts = ir.fields.filter((x) => x.opt);
    opts.forEach((_, i) => body.push(`const o${i} = r.bit();`));
    body.push('const o = {};');
    let oi = 0;
    for (const fl of ir.fields) body.push(this.decField(fl, 'r', fl.opt ? `o${oi++}` : undefined));
    if (ir.ext) {
      body.push('if (ext) {', `p = ''; const n = r.smallLen(); const bm = []; for (let i = 0; i < n; i++) bm.push(r.bit());`);
      ir.adds.forEach((a, i) => {
        if ('group' in a) {
          let gi = 0;
          const inner = [
            ...a.group.filter((g) => g.opt).map((_, j) => `const g${j} = sr.bit();`),
            ...a.group.map((g) => this.decField(g, 'sr', g.opt ? `g${gi++}` : undefined)),
          ].join('\n');
          body.push(`if (bm[${i}]) { const sr = r.open(); ${inner} }`);
        } else {
          body.push(`if (bm[${i}]) { const sr = r.open(); ${this.decField(a.field, 'sr')} }`);
        }
      });
      body.push(`for (let i = ${ir.adds.length}; i < n; i++) if (bm[i]) r.skipOpen();`, '}');
    }
    body.push('return o;');
    return this.fnWithPath([`function d_${f}(r) {`, `let p = '';`], body, 'p');
  }

  // ---- CHOICE: the root index in the fewest bits, or an extension bit and a small index (X.691 23)
  protected choiceEnc(f: string, ir: IR & { k: 'choice' }): string {
    const nb = bitsFor(ir.alts.length);
    return this.choiceEncWith(f, ir, (_, i, add) => (add ? `w.bit(1); w.small(${i}); ` : (ir.ext ? 'w.bit(0); ' : '') + (nb ? `w.bits(${i}, ${nb}); ` : '')));
  }

  protected choiceDec(f: string, ir: IR & { k: 'choice' }): string {
    const nb = bitsFor(ir.alts.length);
    const body: string[] = [];
    const rootSwitch = [
      `const i = r.bits(${nb});`,
      'switch (i) {',
      ...ir.alts.map((a, i) => `case ${i}: { ${this.altDec(a, 'r')} }`),
      `default: r.fail('choice index ' + i + ' out of range', r.pos - ${nb});`,
      '}',
    ].join('\n');
    if (ir.ext) {
      body.push('if (r.bit() === 0) {', rootSwitch, '}');
      body.push(
        `const i = r.small(); const sr = r.open();`,
        'switch (i) {',
        ...ir.adds.map((a, i) => `case ${i}: { ${this.altDec(a, 'sr')} }`),
        `default: r.fail('unknown extension alternative ' + i);`,
        '}',
      );
    } else body.push(rootSwitch);
    return this.fnWithPath([`function d_${f}(r) {`, `let p = '';`], body, 'p');
  }

  // ---- SEQUENCE OF: a length determinant, then the items (X.691 20)
  protected seqofEnc(f: string, ir: IR & { k: 'seqof' }): string {
    const item = this.encStmt(ir.item, 'x');
    const items = (from: string, count: string) => `for (let j = ${from}, e = ${from} + ${count}; j < e; j++) { p = j; const x = v[j]; ${item} }`;
    return this.seqofEncWith(f, [this.lenEnc(ir.size, 'n', items)]);
  }

  protected seqofDec(f: string, ir: IR & { k: 'seqof' }): string {
    const dec = this.decStmt(ir.item, 'x');
    const min = minBits(ir.item, this.set);
    const items = (count: string) => `for (let j = 0; j < ${count}; j++) { p = a.length; let x; ${dec} a.push(x); }`;
    return this.seqofDecWith(f, ['const a = [];', this.lenDec(ir.size, 'n', min, items, items, 'r'), 'return a;']);
  }
}

/** A lower bound on the bits one value of a type takes, to reject impossible counts before allocating. */
function minBits(ir: IR, set: MessageSetIR, depth = 0): number {
  if (depth > 8) return 0;
  switch (ir.k) {
    case 'bool':
      return 1;
    case 'int':
      return ir.lb === undefined || ir.ub === undefined ? 8 : bitsFor(ir.ub - ir.lb + 1) + (ir.ext ? 1 : 0);
    case 'enum':
      return bitsFor(ir.root.length) + (ir.ext ? 1 : 0);
    case 'ref':
      return minBits(set.types.get(ir.name)!.ir, set, depth + 1);
    case 'seq':
      return (ir.ext ? 1 : 0) + ir.fields.reduce((a, f) => a + (f.opt ? 1 : minBits(f.type, set, depth + 1)), 0);
    case 'choice':
      return (ir.ext ? 1 : 0) + bitsFor(ir.alts.length);
    case 'open':
      return 16;
    case 'octets':
    case 'bits':
    case 'str':
      return ir.size.lb === ir.size.ub ? 0 : 1;
    default:
      return 0;
  }
}
