// Canonical OER (ITU-T X.696, C-OER) rules of the generator: how each type's values go on the wire, octet by
// octet. The module around the code, the walk over types and the JER value checks come from gen-base.ts, shared
// with UPER. Everything is octet-aligned, so one writer serves a whole message: length-prefixed parts (open
// types, extension additions) reserve their length octet and fix it up afterwards.
import type { Alt, IR, MessageSetIR, SizeC } from '../asn1/ir.js';
import { fixedSize, GenBase, type Generated, type Prim } from './gen-base.js';
import { isBigInt } from './types.js';

export const OER_CODEGEN_VERSION = 2;

const RUNTIME_NAMES = 'DecodeError, EncodeError, withPath, jerEqual, utf8, checks, oidBytes, oidText';

export function generateOer(set: MessageSetIR, runtimeImport: string): Generated {
  return new OerGen(set).run(runtimeImport);
}

type IntForm = { kind: 'fixedU' | 'fixedS'; n: number } | { kind: 'varU' | 'varS' };

/**
 * X.696 10: bounds that fit 1, 2, 4 or 8 octets give a fixed-size field; otherwise a length-prefixed one.
 * An extensible constraint is not OER-visible. The IR holds bounds as doubles, in which 2^64 - 1 and 2^63 - 1
 * round up to 2^64 and 2^63: those are taken as the 8-octet limits (1609.2's Uint64 is exactly that).
 */
function intForm(ir: IR & { k: 'int' }): IntForm {
  const { lb, ub } = ir;
  if (ir.ext || lb === undefined) return { kind: 'varS' };
  if (ub === undefined) return { kind: lb >= 0 ? 'varU' : 'varS' };
  if (lb >= 0) {
    if (ub <= 0xff) return { kind: 'fixedU', n: 1 };
    if (ub <= 0xffff) return { kind: 'fixedU', n: 2 };
    if (ub <= 0xffffffff) return { kind: 'fixedU', n: 4 };
    if (ub <= 2 ** 64) return { kind: 'fixedU', n: 8 };
    return { kind: 'varU' };
  }
  if (lb >= -128 && ub <= 127) return { kind: 'fixedS', n: 1 };
  if (lb >= -32768 && ub <= 32767) return { kind: 'fixedS', n: 2 };
  if (lb >= -(2 ** 31) && ub <= 2 ** 31 - 1) return { kind: 'fixedS', n: 4 };
  if (lb >= -(2 ** 63) && ub <= 2 ** 63) return { kind: 'fixedS', n: 8 };
  return { kind: 'varS' };
}

function bigLit(x: number): string {
  if (x === 2 ** 64) return '18446744073709551615n';
  if (x === 2 ** 63) return '9223372036854775807n';
  return `${BigInt(x)}n`;
}

class OerGen extends GenBase {
  protected readonly label = `C-OER codegen v${OER_CODEGEN_VERSION}`;
  protected readonly runtimeNames = RUNTIME_NAMES;

  /** A length-prefixed part: its length octets are reserved, then fixed up (`w` is always the one writer). */
  protected openPart(w: string, _inner: string, body: (w: string) => string): string {
    return `const m = ${w}.begin(); ${body(w)}\n${w}.end(m);`;
  }

  /** C-OER: what a length says is exactly what the value takes. */
  protected openEnd(r: string): string {
    return `${r}.done(); `;
  }

  // ---- encoding the value in identifier `v` to the message's one writer `w`
  protected encPrim(ir: Prim, v: string): string {
    switch (ir.k) {
      case 'bool':
        return `if (typeof ${v} !== 'boolean') bad('a BOOLEAN', ${v});\nw.u8(${v} ? 255 : 0);`;
      case 'int':
        return this.intEnc(ir, v);
      case 'enum': {
        const values = [...(ir.values ?? ir.root.map((_, i) => i)), ...(ir.addValues ?? ir.adds.map((_, i) => ir.root.length + i))];
        const map = this.konst(`new Map(${JSON.stringify([...ir.root, ...ir.adds].map((n, i) => [n, values[i]]))})`);
        const { i, code } = this.enumLookup(ir, map, v);
        return code + `w.enumerated(${i});`;
      }
      case 'octets': {
        const { n, code: check } = this.octetsValue(v);
        if (fixedSize(ir.size)) return `${check}if (${n} !== ${ir.size.lb}) size(${n}, '${ir.size.lb}');\nw.hex(${v}, ${n});`;
        return `${check}${this.sizeCheck(ir.size, n)}w.len(${n}); w.hex(${v}, ${n});`;
      }
      case 'bits': {
        if (fixedSize(ir.size)) return `${this.checkFixedBits(v, ir.size.lb)}w.hexBits(${v}, ${ir.size.lb});`;
        // A length, the unused-bits octet, then the bits (X.696 16).
        const { n, hx, code } = this.bitsValue(ir, v);
        return code + this.sizeCheck(ir.size, n) + `w.len(((${n} + 7) >>> 3) + 1); w.u8((8 - (${n} & 7)) & 7); w.hexBits(${hx}, ${n});`;
      }
      case 'str':
        return this.strEnc(ir, v);
      case 'open':
        return `w.openHex(${v});`;
      case 'oid': {
        const b = this.v();
        return `const ${b} = oidBytes(${v});\nw.len(${b}.length); w.octets(${b});`;
      }
    }
  }

  /** Root size check; an extensible size constraint allows any size (and OER then always sends the length). */
  private sizeCheck(s: SizeC, n: string): string {
    if (s.ext || (s.lb === 0 && s.ub === undefined)) return '';
    const cond = s.ub === undefined ? `${n} < ${s.lb}` : `${n} < ${s.lb} || ${n} > ${s.ub}`;
    return `if (${cond}) size(${n}, '${s.lb}..${s.ub ?? 'MAX'}');\n`;
  }

  private intEnc(ir: IR & { k: 'int' }, v: string): string {
    const form = intForm(ir);
    const visible = !ir.ext && ir.lb !== undefined;
    if (isBigInt(ir)) {
      const x = this.v();
      const lb = bigLit(ir.lb!);
      const ub = bigLit(ir.ub!);
      const put = form.kind === 'fixedU' ? `w.uint(${x}, ${form.n});` : form.kind === 'fixedS' ? `w.sint(${x}, ${form.n});` : form.kind === 'varU' ? `w.varUint(${x});` : `w.varInt(${x});`;
      return (
        // bigint, a safe integer, or decimal text (JSON cannot carry 64-bit numbers through JSON.parse exactly)
        `const ${x} = typeof ${v} === 'bigint' ? ${v} : Number.isSafeInteger(${v}) ? BigInt(${v}) : typeof ${v} === 'string' && /^-?[0-9]{1,20}$/.test(${v}) ? BigInt(${v}) : bad('an INTEGER (bigint, safe integer or decimal string)', ${v});\n` +
        `if (${x} < ${lb} || ${x} > ${ub}) range(${x}, '${lb.slice(0, -1)}..${ub.slice(0, -1)}');\n${put}`
      );
    }
    let s = `${this.checkInt(v)}\n`;
    if (visible) s += `${this.checkRange(v, ir.lb!, ir.ub)}\n`;
    switch (form.kind) {
      case 'fixedU':
        return s + `w.uint(${v}, ${form.n});`;
      case 'fixedS':
        return s + `w.sint(${v}, ${form.n});`;
      case 'varU':
        return s + `w.varUint(${v});`;
      case 'varS':
        return s + `w.varInt(${v});`;
    }
  }

  private strEnc(ir: IR & { k: 'str' }, v: string): string {
    const check = this.checkStr(v);
    const b = this.v();
    if (!ir.km) {
      return `${check}\nconst ${b} = ${this.strBytes(ir, v)};\nw.len(${b}.length); w.octets(${b});`;
    }
    // Known-multiplier strings: one octet per character; no length when the size is fixed (X.696 27).
    const ok = this.alphabetTable(ir);
    const [i, n] = [this.v(), this.v()];
    const chars = `const ${n} = ${v}.length;\n${this.sizeCheck(ir.size, n)}for (let ${i} = 0; ${i} < ${n}; ${i}++) { const c = ${v}.charCodeAt(${i}); if (c > 255 || !${ok}[c]) badChar(${v}, ${i}); }\nconst ${b} = latin1(${v});\n`;
    if (fixedSize(ir.size)) return `${check}\n${chars}w.octets(${b});`;
    return `${check}\n${chars}w.len(${n}); w.octets(${b});`;
  }

  private alphabetTable(ir: IR & { k: 'str' }): string {
    const ok = new Array<number>(256).fill(0);
    for (const c of ir.alphabet ?? []) if (c < 256) ok[c] = 1;
    return this.konst(`new Uint8Array(${JSON.stringify(ok)})`);
  }

  // ---- decoding from reader `r` into variable or property `t`
  protected decPrim(ir: Prim, t: string, r: string): string {
    switch (ir.k) {
      case 'bool': {
        const b = this.v();
        return `{ const ${b} = ${r}.u8(); if (${b} === 255) ${t} = true; else if (${b} === 0) ${t} = false; else ${r}.fail('BOOLEAN octet ' + ${b} + ' is neither 0 nor 255 (C-OER)', ${r}.pos - 1); }`;
      }
      case 'int':
        return this.intDec(ir, t, r);
      case 'enum': {
        const values = [...(ir.values ?? ir.root.map((_, i) => i)), ...(ir.addValues ?? ir.adds.map((_, i) => ir.root.length + i))];
        const map = this.konst(`new Map(${JSON.stringify([...ir.root, ...ir.adds].map((n, i) => [values[i], n]))})`);
        const [x, at] = [this.v(), this.v()];
        return `{ const ${at} = ${r}.pos; const ${x} = ${r}.enumerated(); ${t} = ${map}.get(${x}); if (${t} === undefined) ${r}.fail('enumeration value ' + ${x} + ' is not in the type', ${at}); }`;
      }
      case 'octets': {
        if (fixedSize(ir.size)) return `${t} = ${r}.hex(${ir.size.lb});`;
        const [n, at] = [this.v(), this.v()];
        return `{ const ${at} = ${r}.pos; const ${n} = ${r}.count(${r}.len()); ${this.sizeDecCheck(ir.size, n, r, at)}${t} = ${r}.hex(${n}); }`;
      }
      case 'bits': {
        if (fixedSize(ir.size)) return `${t} = ${r}.hexBits(${ir.size.lb});`;
        const [n, u, at, nb] = [this.v(), this.v(), this.v(), this.v()];
        return (
          `{ const ${at} = ${r}.pos; const ${n} = ${r}.count(${r}.len()); if (${n} === 0) ${r}.fail('BIT STRING without its initial octet', ${at}); const ${u} = ${r}.u8(); ` +
          `if (${u} > 7 || (${n} === 1 && ${u} !== 0)) ${r}.fail('bad number of unused bits ' + ${u}, ${r}.pos - 1); const ${nb} = (${n} - 1) * 8 - ${u}; ` +
          `${this.sizeDecCheck(ir.size, nb, r, at)}${t} = { value: ${r}.hexBits(${nb}), length: ${nb} }; }`
        );
      }
      case 'str':
        return this.strDec(ir, t, r);
      case 'open':
        return `${t} = ${r}.open().restHex();`;
      case 'oid': {
        const n = this.v();
        return `{ const ${n} = ${r}.count(${r}.len()); ${t} = oidText(${r}.octets(${n})); if (${t} === undefined) ${r}.fail('malformed OBJECT IDENTIFIER'); }`;
      }
    }
  }

  private sizeDecCheck(s: SizeC, n: string, r: string, at: string): string {
    if (s.ext || (s.lb === 0 && s.ub === undefined)) return '';
    const cond = s.ub === undefined ? `${n} < ${s.lb}` : `${n} < ${s.lb} || ${n} > ${s.ub}`;
    return `if (${cond}) ${r}.fail('size ' + ${n} + ' is outside ${s.lb}..${s.ub ?? 'MAX'}', ${at}); `;
  }

  private intDec(ir: IR & { k: 'int' }, t: string, r: string): string {
    const form = intForm(ir);
    const at = this.v();
    if (isBigInt(ir)) {
      const read = form.kind === 'fixedU' ? `${r}.bigUint(${form.n})` : form.kind === 'fixedS' ? `${r}.bigSint(${form.n})` : form.kind === 'varU' ? `${r}.varUint(true)` : `${r}.varInt(true)`;
      const lb = bigLit(ir.lb!);
      const ub = bigLit(ir.ub!);
      const full = form.kind === 'fixedU' && ir.lb === 0 && ir.ub === 2 ** (8 * form.n);
      return `{ const ${at} = ${r}.pos; ${t} = ${read}; ${full ? '' : `if (${t} < ${lb} || ${t} > ${ub}) ${r}.fail('value ' + ${t} + ' is outside ${lb.slice(0, -1)}..${ub.slice(0, -1)}', ${at});`} }`;
    }
    const read =
      form.kind === 'fixedU' ? `${r}.uint(${form.n})` : form.kind === 'fixedS' ? `${r}.sint(${form.n})` : form.kind === 'varU' ? `${r}.varUint(false)` : `${r}.varInt(false)`;
    if (ir.ext || ir.lb === undefined) return `${t} = ${read};`;
    const fullU = form.kind === 'fixedU' && ir.lb === 0 && ir.ub === 2 ** (8 * form.n) - 1;
    const fullS = form.kind === 'fixedS' && ir.lb === -(2 ** (8 * form.n - 1)) && ir.ub === 2 ** (8 * form.n - 1) - 1;
    if (fullU || fullS || (form.kind === 'varU' && ir.lb === 0)) return `${t} = ${read};`;
    const cond = ir.ub === undefined ? `${t} < ${ir.lb}` : `${t} < ${ir.lb} || ${t} > ${ir.ub}`;
    return `{ const ${at} = ${r}.pos; ${t} = ${read}; if (${cond}) ${r}.fail('value ' + ${t} + ' is outside ${ir.lb}..${ir.ub ?? 'MAX'}', ${at}); }`;
  }

  private strDec(ir: IR & { k: 'str' }, t: string, r: string): string {
    const [n, at, b, i] = [this.v(), this.v(), this.v(), this.v()];
    if (!ir.km) {
      const conv = ir.kind === 'UTF8String' ? `utf8text(${r}, [${r}.octets(${n})])` : `latin1text([${r}.octets(${n})])`;
      return `{ const ${n} = ${r}.count(${r}.len()); ${t} = ${conv}; }`;
    }
    const ok = this.alphabetTable(ir);
    const len = fixedSize(ir.size) ? `const ${n} = ${ir.size.lb};` : `const ${n} = ${r}.count(${r}.len()); ${this.sizeDecCheck(ir.size, n, r, at)}`;
    return `{ const ${at} = ${r}.pos; ${len} const ${b} = ${r}.octets(${n}); for (let ${i} = 0; ${i} < ${n}; ${i}++) if (!${ok}[${b}[${i}]]) ${r}.fail('character code ' + ${b}[${i}] + ' not in the permitted alphabet', ${r}.pos - ${n} + ${i}); ${t} = latin1text([${b}]); }`;
  }

  // ---- SEQUENCE: the preamble bitmap, root components, then an extension bitmap and open types (X.696 16)
  protected seqEnc(f: string, ir: IR & { k: 'seq' }): string {
    const s = this.seqValue(ir);
    const body = [...s.lines, ...this.bitmapBytes(s.pre)];
    for (const fl of ir.fields) body.push(this.encField(s, fl, 'w'));
    if (ir.ext && ir.adds.length) {
      // The presence bitmap of the additions is a BIT STRING with its length and unused-bits octet (X.696 16.4).
      const k = ir.adds.length;
      body.push('if (ext) {', `w.len(${Math.ceil(k / 8) + 1}); w.u8(${(8 - (k & 7)) & 7});`, ...this.bitmapBytes(s.addPresent));
      ir.adds.forEach((a, i) => {
        const inner = () =>
          'group' in a ? [...this.bitmapBytes(a.group.filter((g) => g.opt).map(s.present)), ...a.group.map((g) => this.encField(s, g, 'w'))].join('\n') : this.encField(s, a.field, 'w');
        body.push(`if (${s.addPresent[i]}) { ${this.openPart('w', 'sw', inner)} }`);
      });
      body.push('}');
    }
    return this.fnWithPath(this.seqEncHead(f), body, 'p');
  }

  /** Write presence conditions as bits, most significant first, padded with 0 to whole octets. */
  private bitmapBytes(conds: string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < conds.length; i += 8) {
      const chunk = conds.slice(i, i + 8);
      out.push(`w.u8(${chunk.map((c, j) => `(${c} ? ${0x80 >> j} : 0)`).join(' | ')});`);
    }
    return out;
  }

  protected seqDec(f: string, ir: IR & { k: 'seq' }): string {
    const flags: string[] = [];
    if (ir.ext) flags.push('ext');
    ir.fields.forEach((fl, i) => fl.opt && flags.push(`o${i}`));
    const body = [...this.readBitmap(flags, 'r'), 'const o = {};'];
    ir.fields.forEach((fl, i) => body.push(this.decField(fl, 'r', fl.opt ? `o${i}` : undefined)));
    if (ir.ext) {
      body.push(
        'if (ext) {',
        `p = ''; const at = r.pos; const bl = r.count(r.len()); if (bl === 0) r.fail('empty extension bitmap', at); const un = r.u8(); if (un > 7 || (bl === 1 && un !== 0)) r.fail('bad number of unused bits ' + un, at + 1);`,
        `const nb = (bl - 1) * 8 - un; const bm = r.octets(bl - 1); const has = (i) => i < nb && (bm[i >> 3] & (0x80 >> (i & 7))) !== 0;`,
      );
      ir.adds.forEach((a, i) => {
        if ('group' in a) {
          const gflags: string[] = [];
          a.group.forEach((g, j) => g.opt && gflags.push(`g${j}`));
          const inner = [...this.readBitmap(gflags, 'sr'), ...a.group.map((g, j) => this.decField(g, 'sr', g.opt ? `g${j}` : undefined))].join('\n');
          body.push(`if (has(${i})) { const sr = r.open(); ${inner}\nsr.done(); }`);
        } else body.push(`if (has(${i})) { const sr = r.open(); ${this.decField(a.field, 'sr')}\nsr.done(); }`);
      });
      body.push(`for (let i = ${ir.adds.length}; i < nb; i++) if (has(i)) r.open();`, '}');
    }
    body.push('return o;');
    return this.fnWithPath([`function d_${f}(r) {`, `let p = '';`], body, 'p');
  }

  /** Read presence bits into consts named by `names`; padding bits must be 0 (C-OER). */
  private readBitmap(names: string[], r: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < names.length; i += 8) {
      const chunk = names.slice(i, i + 8);
      const b = `pb${i >> 3}`;
      out.push(`const ${b} = ${r}.u8();`);
      const pad = 0xff >> chunk.length;
      if (pad) out.push(`if (${b} & ${pad}) ${r}.fail('preamble padding bits are not zero', ${r}.pos - 1);`);
      chunk.forEach((n, j) => out.push(`const ${n} = (${b} & ${0x80 >> j}) !== 0;`));
    }
    return out;
  }

  // ---- CHOICE: the alternative's tag, then its encoding (an extension alternative's inside a length, X.696 20)
  private tagOf(f: string, a: { name: string; tag?: [number, number] }): [number, number] {
    if (!a.tag) throw new Error(`C-OER: CHOICE ${f} alternative ${a.name} has no tag of its own (an untagged CHOICE inside a CHOICE)`);
    return a.tag;
  }

  protected choiceEnc(f: string, ir: IR & { k: 'choice' }): string {
    return this.choiceEncWith(f, ir, (a) => `w.tag(${this.tagOf(f, a).join(', ')}); `);
  }

  protected choiceDec(f: string, ir: IR & { k: 'choice' }): string {
    const body = ['const at = r.pos;', 'const tg = r.tag();', 'switch (tg) {'];
    const tagCase = (a: Alt) => {
      const [cls, num] = this.tagOf(f, a);
      return `case ${cls * 16777216 + num}:`;
    };
    for (const a of ir.alts) body.push(`${tagCase(a)} { ${this.altDec(a, 'r')} }`);
    for (const a of ir.adds) body.push(`${tagCase(a)} { ${this.altDec(a, 'r', true)} }`);
    const show = `'[' + ['UNIVERSAL ', 'APPLICATION ', '', 'PRIVATE '][Math.floor(tg / 16777216)] + (tg % 16777216) + ']'`;
    body.push(`default: r.fail((${ir.ext} ? 'unknown extension alternative with tag ' : 'no alternative with tag ') + ${show}, at);`, '}');
    return this.fnWithPath([`function d_${f}(r) {`, `let p = '';`], body, 'p');
  }

  // ---- SEQUENCE OF: a quantity field (length-prefixed unsigned count), then the items (X.696 21)
  protected seqofEnc(f: string, ir: IR & { k: 'seqof' }): string {
    return this.seqofEncWith(f, [this.sizeCheck(ir.size, 'n'), 'w.varUint(n);', `for (let j = 0; j < n; j++) { p = j; const x = v[j]; ${this.encStmt(ir.item, 'x')} }`]);
  }

  protected seqofDec(f: string, ir: IR & { k: 'seqof' }): string {
    const min = minBytes(ir.item, this.set);
    return this.seqofDecWith(f, [
      'const at = r.pos;',
      `const n = r.count(r.varUint(false), ${min});`,
      this.sizeDecCheck(ir.size, 'n', 'r', 'at'),
      'const a = [];',
      `for (let j = 0; j < n; j++) { p = j; let x; ${this.decStmt(ir.item, 'x', 'r')} a.push(x); }`,
      'return a;',
    ]);
  }
}

/** 0 when a value of the type can take no octets (NULL, empty SEQUENCE), else 1: bounds a decoded count. */
function minBytes(ir: IR, set: MessageSetIR, depth = 0): number {
  if (depth > 8) return 0;
  switch (ir.k) {
    case 'null':
      return 0;
    case 'ref':
      return minBytes(set.types.get(ir.name)!.ir, set, depth + 1);
    case 'seq':
      return ir.ext || ir.fields.some((f) => f.opt) ? 1 : Math.min(1, ir.fields.reduce((a, f) => a + minBytes(f.type, set, depth + 1), 0));
    case 'octets':
    case 'bits':
    case 'str':
      return fixedSize(ir.size) && ir.size.lb === 0 ? 0 : 1;
    default:
      return 1;
  }
}
