/**
 * The vendor's printed decoded values in test/vectors/csae/v2x_samples_utf8.txt, and a type-directed
 * comparison of such a print with one of our decoded (JER-shaped) values.
 *
 * The print is ASN.1-value-notation-like, one component per line:
 *     BasicSafetyMessage ::= {              a value of a constructed type, named by its type
 *         msgCnt: 101                       INTEGER
 *         id: 00 00 00 00 00 00 00 00       OCTET STRING, hex bytes separated by spaces
 *         transmission: 7 (unavailable)     ENUMERATED: number (identifier)
 *         status: 04 00                     BIT STRING: hex bytes,
 *         events: 00 00 (3 bits unused)         and how many bits of the last byte are not part of it
 *         pos: Position3D ::= { … }         a component of a constructed type
 *         crumbData: PathHistoryPointList ::= {
 *             PathHistoryPoint ::= { … }    SEQUENCE OF items: no component name
 *         }
 *     }
 * CHOICE values carry no alternative name: a constructed alternative is printed under the name of the
 * alternative's type (`offsetLL: Position-LLmD-64b ::= {` for offsetLL {position-LatLon …}), a primitive
 * one as the bare value (`offsetV: 0` for offsetV {elevation 0}). So for a CHOICE the comparison checks
 * the alternative's type name where the print gives one, and the value.
 * The vendor truncated the MAP print: blocks left open at the end of the text are compared as far as they go.
 */
import type { IR, MessageSetIR } from '../../codecs/asn1/ir.js';
import { deepEqual, deref } from './xer.js';

export interface PLeaf {
  kind: 'leaf';
  text: string;
  line: number;
}

export interface PBlock {
  kind: 'block';
  type: string;
  entries: PEntry[];
  /** false when the text ended before the block's closing brace (the vendor's truncation) */
  closed: boolean;
  line: number;
}

export interface PEntry {
  /** component name; absent for SEQUENCE OF items and for a top-level value */
  name?: string;
  value: PLeaf | PBlock;
}

export interface PrintedSample {
  /** SPAT, BSM, RSM, RSI, MAP */
  label: string;
  /** everything the vendor printed as sent: vendor header and payload */
  hex: string;
  /** the decoded values printed after it (the BSM sample has two) */
  values: PBlock[];
}

const IDENT = '[A-Za-z][A-Za-z0-9-]*';
const RE_NAMED_BLOCK = new RegExp(`^(${IDENT}): (${IDENT}) ::= \\{$`);
const RE_BLOCK = new RegExp(`^(${IDENT}) ::= \\{$`);
const RE_LEAF = new RegExp(`^(${IDENT}): (.+)$`);
const RE_SAMPLE = /^(\w+)(?:发送的消息|样例)：([0-9a-fA-F]+)$/;
const RE_DECODED = /^(\w+)解析：$/;

/** Parse the vendor's sample file into its samples. */
export function parseVendorSamples(text: string): PrintedSample[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const samples: PrintedSample[] = [];
  let cur: PrintedSample | undefined;
  let stack: PBlock[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const lineNo = i + 1;
    if (!line) return;
    let m: RegExpMatchArray | null;
    if ((m = RE_SAMPLE.exec(line))) {
      if (stack.length) throw new Error(`line ${lineNo}: new sample while a value is open (from line ${stack[0]!.line})`);
      cur = { label: m[1]!, hex: m[2]!.toLowerCase(), values: [] };
      samples.push(cur);
      return;
    }
    if ((m = RE_DECODED.exec(line))) {
      if (!cur || cur.label !== m[1]) throw new Error(`line ${lineNo}: decoded values of ${m[1]} without its sample`);
      return;
    }
    if (!cur) throw new Error(`line ${lineNo}: text before the first sample`);
    const top = stack[stack.length - 1];
    if (line === '}') {
      if (!top) throw new Error(`line ${lineNo}: unbalanced }`);
      top.closed = true;
      stack.pop();
      return;
    }
    let name: string | undefined;
    let value: PLeaf | PBlock;
    if ((m = RE_NAMED_BLOCK.exec(line))) {
      name = m[1];
      value = { kind: 'block', type: m[2]!, entries: [], closed: false, line: lineNo };
    } else if ((m = RE_BLOCK.exec(line))) {
      value = { kind: 'block', type: m[1]!, entries: [], closed: false, line: lineNo };
    } else if ((m = RE_LEAF.exec(line))) {
      name = m[1];
      value = { kind: 'leaf', text: m[2]!, line: lineNo };
    } else throw new Error(`line ${lineNo}: cannot read ${JSON.stringify(line)}`);
    if (top) top.entries.push({ name, value });
    else if (value.kind === 'block' && name === undefined) cur.values.push(value);
    else throw new Error(`line ${lineNo}: a component outside any value`);
    if (value.kind === 'block') stack.push(value);
  });
  // Blocks still open here were truncated by the vendor; they stay closed: false.
  return samples;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ASN.1 name a print would give a value of `type`: the referenced type's name, if it is a reference. */
function typeName(type: IR, set: MessageSetIR): string | undefined {
  return type.k === 'ref' ? set.types.get(type.name)?.asnName : undefined;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? '(absent)' : s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

export interface CompareStats {
  /** leaves compared and found equal */
  leaves: number;
  /** CHOICE values whose alternative the print does not name (primitive alternatives) */
  unnamedAlternatives: string[];
}

/**
 * Compare a printed value with our decoded value of `type`; returns one line per disagreement.
 * `stats` counts what was compared, so a test can show it compared something.
 */
export function comparePrinted(
  printed: PBlock | PLeaf,
  value: unknown,
  type: IR,
  set: MessageSetIR,
  path: string,
  stats: CompareStats = { leaves: 0, unnamedAlternatives: [] },
  out: string[] = [],
): string[] {
  const t = deref(type, set);
  const at = `${path} (line ${printed.line})`;
  if (printed.kind === 'block') {
    const tn = typeName(type, set);
    if (tn !== undefined && t.k !== 'choice' && tn !== printed.type) out.push(`${at}: printed as ${printed.type}, the type is ${tn}`);
  }
  switch (t.k) {
    case 'choice': {
      if (!isObj(value) || Object.keys(value).length !== 1) {
        out.push(`${at}: decoded ${show(value)} is not a CHOICE value`);
        return out;
      }
      const altName = Object.keys(value)[0]!;
      const alt = [...t.alts, ...t.adds].find((a) => a.name === altName);
      if (!alt) {
        out.push(`${at}: decoded alternative ${altName} is not in the type`);
        return out;
      }
      if (printed.kind === 'block') {
        const an = typeName(alt.type, set);
        if (an !== printed.type) out.push(`${at}: printed as ${printed.type}, decoded alternative ${altName} is of type ${an ?? '(unnamed)'}`);
      } else stats.unnamedAlternatives.push(`${path}: ${altName}`);
      return comparePrinted(printed, value[altName], alt.type, set, `${path}.${altName}`, stats, out);
    }
    case 'seq': {
      if (printed.kind !== 'block') {
        out.push(`${at}: printed ${JSON.stringify(printed.text)} for a SEQUENCE`);
        return out;
      }
      if (!isObj(value)) {
        out.push(`${at}: decoded ${show(value)} is not a SEQUENCE value`);
        return out;
      }
      const order = [...t.fields, ...t.adds.flatMap((a) => ('field' in a ? [a.field] : a.group))].map((f) => f.name);
      const seen = new Set<string>();
      let lastIndex = -1;
      for (const e of printed.entries) {
        if (e.name === undefined) {
          out.push(`${path} (line ${e.value.line}): unnamed item in a SEQUENCE`);
          continue;
        }
        const f = [...t.fields, ...t.adds.flatMap((a) => ('field' in a ? [a.field] : a.group))].find((x) => x.name === e.name);
        if (!f) {
          out.push(`${path}.${e.name} (line ${e.value.line}): printed, but not a component of the type`);
          continue;
        }
        seen.add(e.name);
        lastIndex = Math.max(lastIndex, order.indexOf(e.name));
        if (!(e.name in value)) {
          out.push(`${path}.${e.name} (line ${e.value.line}): printed, absent from the decoded value`);
          continue;
        }
        comparePrinted(e.value, value[e.name], f.type, set, `${path}.${e.name}`, stats, out);
      }
      for (const k of Object.keys(value)) {
        if (seen.has(k)) continue;
        // A truncated print stops somewhere: components after the last printed one cannot be compared.
        if (!printed.closed && order.indexOf(k) > lastIndex) continue;
        out.push(`${path}.${k}: decoded ${show(value[k])}, not printed`);
      }
      return out;
    }
    case 'seqof': {
      if (printed.kind !== 'block') {
        out.push(`${at}: printed ${JSON.stringify(printed.text)} for a SEQUENCE OF`);
        return out;
      }
      if (!Array.isArray(value)) {
        out.push(`${at}: decoded ${show(value)} is not a SEQUENCE OF value`);
        return out;
      }
      const n = printed.entries.length;
      if (printed.closed ? n !== value.length : n > value.length) {
        out.push(`${at}: ${n} items printed${printed.closed ? '' : ' before the truncation'}, ${value.length} decoded`);
      }
      printed.entries.forEach((e, i) => {
        if (e.name !== undefined) out.push(`${path}[${i}] (line ${e.value.line}): named component ${e.name} in a SEQUENCE OF`);
        if (i < value.length) comparePrinted(e.value, value[i], t.item, set, `${path}[${i}]`, stats, out);
      });
      return out;
    }
    default:
      break;
  }
  if (printed.kind !== 'leaf') {
    out.push(`${at}: printed a ${printed.type} block for a ${t.k} value`);
    return out;
  }
  const s = printed.text.trim();
  let want: unknown;
  let m: RegExpMatchArray | null;
  switch (t.k) {
    case 'int':
      if (!/^-?\d+$/.test(s)) {
        out.push(`${at}: ${JSON.stringify(s)} is not an INTEGER`);
        return out;
      }
      want = Number(s);
      break;
    case 'bool':
      if (!/^(true|false)$/i.test(s)) {
        out.push(`${at}: ${JSON.stringify(s)} is not a BOOLEAN`);
        return out;
      }
      want = s.toLowerCase() === 'true';
      break;
    case 'enum': {
      if (!(m = /^(\d+) \(([A-Za-z][A-Za-z0-9-]*)\)$/.exec(s))) {
        out.push(`${at}: ${JSON.stringify(s)} is not "number (identifier)"`);
        return out;
      }
      // The CSAE enumerations number their items 0, 1, 2, … in order, so the printed number is the item's
      // index; a mismatch would show a print of another item or another definition.
      const idx = t.root.indexOf(m[2]!);
      if (idx !== Number(m[1])) out.push(`${at}: printed ${s}, but ${m[2]} is item ${idx} of the type`);
      want = m[2];
      break;
    }
    case 'octets':
      if (!/^[0-9A-Fa-f]{2}( [0-9A-Fa-f]{2})*$/.test(s)) {
        out.push(`${at}: ${JSON.stringify(s)} is not an OCTET STRING print`);
        return out;
      }
      want = s.replace(/ /g, '').toUpperCase();
      break;
    case 'bits': {
      if (!(m = /^([0-9A-Fa-f]{2}(?: [0-9A-Fa-f]{2})*)(?: \((\d) bits? unused\))?$/.exec(s))) {
        out.push(`${at}: ${JSON.stringify(s)} is not a BIT STRING print`);
        return out;
      }
      const hex = m[1]!.replace(/ /g, '').toUpperCase();
      const length = (hex.length / 2) * 8 - Number(m[2] ?? 0);
      const fixed = t.size.lb === t.size.ub && !t.size.ext;
      if (fixed) {
        if (length !== t.size.lb) out.push(`${at}: printed ${length} bits, the type fixes ${t.size.lb}`);
        want = hex;
      } else want = { value: hex, length };
      break;
    }
    case 'str':
      want = s.replace(/^"(.*)"$/, '$1');
      break;
    case 'null':
      want = null;
      break;
    default:
      out.push(`${at}: cannot compare a printed ${t.k}`);
      return out;
  }
  if (!deepEqual(want, value)) out.push(`${path}: printed ${show(want)}, decoded ${show(value)}`);
  else stats.leaves++;
  return out;
}
