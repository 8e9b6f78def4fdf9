/**
 * XER (X.693, as asn1c prints it) to JER-shaped values (the shape our codec decodes to), for the
 * conformance tests against the USDOT vectors.
 *
 * - parseXml: a minimal XML reader (elements, text, entities; no attributes are needed by XER).
 * - xerToJer: converts one XER element into the JER shape, directed by the ASN.1 type of the element
 *   (the PER-ready IR of codecs/asn1/ir.ts). Every leaf value comes from the XER text; the type only
 *   says how to read it:
 *     INTEGER                text                       -> number
 *     BOOLEAN                <true/> | <false/>         -> boolean
 *     NULL                   empty                      -> null
 *     ENUMERATED             <identifier/>              -> identifier
 *     BIT STRING             binary digits              -> hex (fixed size) | {value: hex, length}
 *                            (or a list of <namedBit/> elements)
 *     OCTET STRING           hex digits, maybe spaced   -> uppercase hex
 *     character strings      text                       -> string
 *     SEQUENCE / SET         one element per component  -> object
 *     CHOICE                 <alternative>…</…>         -> {alternative: value}
 *     SEQUENCE OF            one element per item: the item type's name wrapping the value, or (BOOLEAN,
 *                            ENUMERATED, CHOICE items) the value's own element -> array
 *     open type              <TypeName>…</TypeName>     -> the value of the type the table constraint selects
 * - Normalisations, each recorded in `notes` (never silent):
 *     a DEFAULT component present in the XER with its default value, where the reference value (our
 *     decoded value, passed as `guide`) lacks it: asn1c fills in absent DEFAULT components when it
 *     decodes PER and then prints them. Only ever dropped when it equals the DEFAULT value.
 *     `rename`: component names of one J2735 edition in the XER mapped to those of another.
 */
import type { Field, IR, MessageSetIR } from '../../codecs/asn1/ir.js';

export interface XmlNode {
  name: string;
  /** Child elements and text chunks (entities decoded), in document order. */
  content: (XmlNode | string)[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    const r = ENTITIES[e];
    if (r === undefined) throw new Error(`unknown XML entity ${m}`);
    return r;
  });
}

/** Parse an XML document (or several concatenated root elements) into its root elements. */
export function parseXml(text: string): XmlNode[] {
  const src = text.replace(/^\uFEFF/, '');
  const roots: XmlNode[] = [];
  const stack: XmlNode[] = [];
  const re = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=>\/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    const [, cdata, close, name, , selfClose, chars, stray] = m;
    if (stray) throw new Error(`malformed XML at offset ${m.index}: ${JSON.stringify(src.slice(m.index, m.index + 40))}`);
    const top = stack[stack.length - 1];
    if (chars !== undefined || cdata !== undefined) {
      const s = cdata ?? decodeEntities(chars!);
      if (top) top.content.push(s);
      else if (s.trim()) throw new Error(`text outside any element at offset ${m.index}`);
      continue;
    }
    if (!name) continue; // comment, processing instruction, doctype
    if (close) {
      if (!top || top.name !== name) throw new Error(`unbalanced </${name}> at offset ${m.index} (open: ${top?.name ?? 'none'})`);
      stack.pop();
      if (!stack.length) roots.push(top);
      continue;
    }
    const node: XmlNode = { name, content: [] };
    if (top) top.content.push(node);
    if (selfClose) {
      if (!top) roots.push(node);
    } else stack.push(node);
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}> at end of XML`);
  return roots;
}

export function childElements(n: XmlNode): XmlNode[] {
  return n.content.filter((c): c is XmlNode => typeof c !== 'string');
}

export function textOf(n: XmlNode): string {
  return n.content.filter((c): c is string => typeof c === 'string').join('');
}

/** The only child element named `name` (throws unless exactly one). */
export function child(n: XmlNode, name: string): XmlNode {
  const found = childElements(n).filter((c) => c.name === name);
  if (found.length !== 1) throw new Error(`<${n.name}> has ${found.length} <${name}> elements, expected 1`);
  return found[0]!;
}

/** Every element named `name` in document order (depth first). */
export function findAll(n: XmlNode, name: string, out: XmlNode[] = []): XmlNode[] {
  if (n.name === name) out.push(n);
  for (const c of childElements(n)) findAll(c, name, out);
  return out;
}

export interface XerOptions {
  /**
   * Our decoded value at the same place. Used for one decision only: whether a DEFAULT component the
   * XER carries was absent in the encoding (then dropped, with a note, when it equals the DEFAULT value).
   */
  guide?: unknown;
  /** Component names in the XER -> component names of `type` (another edition of the same module). */
  rename?: Record<string, string>;
  /** Receives one line per normalisation made. */
  notes?: string[];
}

interface Cx {
  set: MessageSetIR;
  rename: Record<string, string>;
  notes: string[];
}

export class XerError extends Error {
  constructor(path: string, problem: string) {
    super(`${path || '(root)'}: ${problem}`);
    this.name = 'XerError';
  }
}

/** Follow references to the IR of a type. */
export function deref(type: IR, set: MessageSetIR): Exclude<IR, { k: 'ref' }> {
  let t = type;
  for (let i = 0; t.k === 'ref'; i++) {
    const nt = set.types.get(t.name) ?? set.types.get(set.aliases.get(t.name) ?? '');
    if (!nt || i > 100) throw new Error(`unresolvable type reference ${t.name}`);
    t = nt.ir;
  }
  return t;
}

/** The IR of the named type (unique name or Module.Name). */
export function typeIR(set: MessageSetIR, name: string): IR {
  const nt = set.types.get(name) ?? set.types.get(set.aliases.get(name) ?? '');
  if (!nt) throw new Error(`no type ${name}`);
  return nt.ir;
}

/** Convert the XER element `el` (whose content is a value of `type`) to the JER shape. */
export function xerToJer(el: XmlNode, type: IR, set: MessageSetIR, opts: XerOptions = {}): unknown {
  const cx: Cx = { set, rename: opts.rename ?? {}, notes: opts.notes ?? [] };
  return conv(el, type, cx, el.name, opts.guide);
}

function allFields(t: Extract<IR, { k: 'seq' }>): Field[] {
  return [...t.fields, ...t.adds.flatMap((a) => ('field' in a ? [a.field] : a.group))];
}

function emptyElement(el: XmlNode, path: string): string | undefined {
  const kids = childElements(el);
  if (kids.length === 0) return undefined;
  if (kids.length !== 1 || textOf(el).trim() || childElements(kids[0]!).length || textOf(kids[0]!).trim()) {
    throw new XerError(path, `expected a single empty element, got ${describe(el)}`);
  }
  return kids[0]!.name;
}

function onlyText(el: XmlNode, path: string): string {
  if (childElements(el).length) throw new XerError(path, `expected text, got ${describe(el)}`);
  return textOf(el);
}

function onlyChild(el: XmlNode, path: string): XmlNode {
  const kids = childElements(el);
  if (kids.length !== 1 || textOf(el).trim()) throw new XerError(path, `expected exactly one element, got ${describe(el)}`);
  return kids[0]!;
}

function describe(el: XmlNode): string {
  const kids = childElements(el).map((k) => `<${k.name}>`);
  const text = textOf(el).trim();
  return `<${el.name}> with ${kids.length ? kids.join('') : 'no elements'}${text ? ` and text ${JSON.stringify(text.slice(0, 40))}` : ''}`;
}

function bitsToHex(bits: string): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 8) {
    const byte = bits.slice(i, i + 8).padEnd(8, '0');
    hex += parseInt(byte, 2).toString(16).padStart(2, '0');
  }
  return hex.toUpperCase();
}

const CONTROL_NAMES = [
  'nul', 'soh', 'stx', 'etx', 'eot', 'enq', 'ack', 'bel', 'bs', 'ht', 'lf', 'vt', 'ff', 'cr', 'so', 'si',
  'dle', 'dc1', 'dc2', 'dc3', 'dc4', 'nak', 'syn', 'etb', 'can', 'em', 'sub', 'esc', 'is4', 'is3', 'is2', 'is1',
];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

function conv(el: XmlNode, type: IR, cx: Cx, path: string, guide: unknown, siblings?: Record<string, unknown>): unknown {
  const t = deref(type, cx.set);
  switch (t.k) {
    case 'int': {
      const named = emptyElement(el, path);
      if (named !== undefined) throw new XerError(path, `INTEGER written as a named number <${named}/>: the IR carries no named numbers`);
      const s = onlyText(el, path).trim();
      if (!/^-?\d+$/.test(s)) throw new XerError(path, `not an INTEGER: ${JSON.stringify(s)}`);
      const n = Number(s);
      if (!Number.isSafeInteger(n)) throw new XerError(path, `INTEGER ${s} beyond 2^53`);
      return n;
    }
    case 'bool': {
      const named = emptyElement(el, path) ?? onlyText(el, path).trim();
      if (named === 'true') return true;
      if (named === 'false') return false;
      throw new XerError(path, `not a BOOLEAN: ${JSON.stringify(named)}`);
    }
    case 'null':
      if (childElements(el).length || textOf(el).trim()) throw new XerError(path, `NULL with content: ${describe(el)}`);
      return null;
    case 'enum': {
      const named = emptyElement(el, path);
      if (named === undefined) throw new XerError(path, `ENUMERATED without an <identifier/>: ${describe(el)}`);
      if (!t.root.includes(named) && !t.adds.includes(named)) throw new XerError(path, `<${named}/> is not an identifier of the ENUMERATED type`);
      return named;
    }
    case 'bits': {
      let bits: string;
      const kids = childElements(el);
      if (kids.length) {
        // XMLValueList of named bits
        const named = new Map(t.named ?? []);
        const set: number[] = [];
        for (const k of kids) {
          const n = named.get(k.name);
          if (n === undefined || childElements(k).length || textOf(k).trim()) throw new XerError(path, `<${k.name}/> is not a named bit`);
          set.push(n);
        }
        const len = Math.max(t.size.lb, set.length ? Math.max(...set) + 1 : 0);
        const arr = Array.from({ length: len }, () => '0');
        for (const n of set) arr[n] = '1';
        bits = arr.join('');
      } else {
        bits = textOf(el).replace(/\s+/g, '');
        if (!/^[01]*$/.test(bits)) throw new XerError(path, `not binary digits: ${JSON.stringify(bits.slice(0, 40))}`);
      }
      const fixed = t.size.lb === t.size.ub && !t.size.ext;
      if (fixed) {
        if (bits.length !== t.size.lb) throw new XerError(path, `BIT STRING of ${bits.length} bits, the type fixes ${t.size.lb}`);
        return bitsToHex(bits);
      }
      return { value: bitsToHex(bits), length: bits.length };
    }
    case 'octets': {
      const hex = onlyText(el, path).replace(/\s+/g, '').toUpperCase();
      if (!/^([0-9A-F]{2})*$/.test(hex)) throw new XerError(path, `not an OCTET STRING in hex: ${JSON.stringify(hex.slice(0, 40))}`);
      return hex;
    }
    case 'str': {
      let s = '';
      for (const c of el.content) {
        if (typeof c === 'string') s += c;
        else {
          const i = CONTROL_NAMES.indexOf(c.name);
          if (i < 0 && c.name !== 'del') throw new XerError(path, `unexpected <${c.name}> in a character string`);
          s += String.fromCharCode(i < 0 ? 127 : i);
        }
      }
      return s;
    }
    case 'seq': {
      const fields = allFields(t);
      const out: Record<string, unknown> = {};
      const g = isPlainObject(guide) ? guide : undefined;
      for (const k of childElements(el)) {
        // A rename applies only where the XER name is not a component of this type.
        const name = fields.some((x) => x.name === k.name) ? k.name : (cx.rename[k.name] ?? k.name);
        if (name !== k.name) cx.notes.push(`${path}.${k.name}: renamed ${name}`);
        const f = fields.find((x) => x.name === name);
        if (!f) throw new XerError(path, `<${k.name}> is not a component (components: ${fields.map((x) => x.name).join(', ')})`);
        if (name in out) throw new XerError(path, `<${k.name}> twice`);
        const v = conv(k, f.type, cx, `${path}.${name}`, g?.[name], out);
        if (f.def !== undefined && g && !(name in g) && deepEqual(v, f.def)) {
          cx.notes.push(`${path}.${name}: XER carries the DEFAULT value ${JSON.stringify(v)} of a component absent from the encoding; dropped`);
          continue;
        }
        out[name] = v;
      }
      if (textOf(el).trim()) throw new XerError(path, `text in a SEQUENCE: ${JSON.stringify(textOf(el).trim().slice(0, 40))}`);
      return out;
    }
    case 'seqof': {
      if (textOf(el).trim()) throw new XerError(path, `text in a SEQUENCE OF: ${JSON.stringify(textOf(el).trim().slice(0, 40))}`);
      const item = deref(t.item, cx.set);
      const g = Array.isArray(guide) ? guide : undefined;
      return childElements(el).map((k, i) => {
        const p = `${path}[${i}]`;
        const empty = childElements(k).length === 0 && !textOf(k).trim();
        // Items of these types are written as their own element (XMLValueList), not wrapped in the type name.
        if (item.k === 'choice' && [...item.alts, ...item.adds].some((a) => a.name === k.name)) {
          return conv({ name: p, content: [k] }, item, cx, p, g?.[i]);
        }
        if (empty && item.k === 'enum' && (item.root.includes(k.name) || item.adds.includes(k.name))) return k.name;
        if (empty && item.k === 'bool' && (k.name === 'true' || k.name === 'false')) return k.name === 'true';
        return conv(k, t.item, cx, p, g?.[i]);
      });
    }
    case 'choice': {
      const k = onlyChild(el, path);
      const alt = [...t.alts, ...t.adds].find((a) => a.name === k.name);
      if (!alt) throw new XerError(path, `<${k.name}> is not an alternative (alternatives: ${[...t.alts, ...t.adds].map((a) => a.name).join(', ')})`);
      const g = isPlainObject(guide) ? guide[alt.name] : undefined;
      return { [alt.name]: conv(k, alt.type, cx, `${path}.${alt.name}`, g) };
    }
    case 'open': {
      if (!t.table) throw new XerError(path, 'open type without a table constraint');
      const id = siblings?.[t.table.idField];
      const row = t.table.rows.find((r) => deepEqual(r.id, id));
      if (!row) throw new XerError(path, `no row of the table constraint for ${t.table.idField} = ${JSON.stringify(id)}`);
      const k = onlyChild(el, path);
      if (row.type.k === 'ref') {
        const nt = cx.set.types.get(row.type.name);
        if (nt && nt.asnName !== k.name) throw new XerError(path, `open type value wrapped in <${k.name}>, expected <${nt.asnName}>`);
      }
      return conv(k, row.type, cx, `${path}.${k.name}`, guide);
    }
  }
}
