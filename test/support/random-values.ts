/**
 * Random JER-shaped values of any type of a resolved message set, drawn from the type's IR (constraints,
 * optional components, CHOICE alternatives, table-constrained open types with their id), seeded and
 * reproducible. Used for round trips of every type (C-OER) and for the tshark differential.
 *
 * Drawn values are canonical where a value has two JER spellings: named BIT STRINGs end with a 1 bit above
 * the lower bound, DEFAULT components are either absent or differ from the default, hex is upper case.
 */
import type { Field, IR, MessageSetIR } from '../../codecs/asn1/ir.js';
import { isBigInt } from '../../codecs/compiler/types.js';

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** xorshift32 in [0, 1) */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.int(0, 255).toString(16).padStart(2, '0').toUpperCase();
    return s;
  }
}

class TooDeep extends Error {}

let maxUnbounded: number | undefined;

const MAX_DEPTH = 14;

export interface DrawOptions {
  /** Upper bound for INTEGERs without one (default 2^40 above the lower bound). */
  maxUnbounded?: number;
}

export function randomValue(set: MessageSetIR, typeName: string, rng: Rng, opts: DrawOptions = {}): unknown {
  maxUnbounded = opts.maxUnbounded;
  const nt = set.types.get(typeName);
  if (!nt) throw new Error(`no type ${typeName}`);
  for (let attempt = 0; ; attempt++) {
    try {
      return draw(set, nt.ir, rng, 0);
    } catch (e) {
      if (!(e instanceof TooDeep) || attempt > 20) throw e;
    }
  }
}

function drawInt(ir: IR & { k: 'int' }, rng: Rng): number | bigint {
  if (isBigInt(ir)) {
    const r = rng.next();
    const ub = BigInt(Math.min(ir.ub!, 2 ** 64 - 2048));
    if (r < 0.2) return BigInt(ir.lb!);
    if (r < 0.4) return ub;
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(rng.int(0, 255));
    return BigInt(ir.lb!) + (v % (ub - BigInt(ir.lb!) + 1n));
  }
  const lo = ir.lb ?? -(2 ** 40);
  const hi = ir.ub ?? maxUnbounded ?? (ir.lb !== undefined ? ir.lb + 2 ** 40 : 2 ** 40);
  const r = rng.next();
  if (r < 0.15) return lo;
  if (r < 0.3) return hi;
  if (r < 0.5) return Math.min(hi, lo + rng.int(0, 300));
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

function sizeIn(s: { lb: number; ub: number | undefined }, rng: Rng, cap = 6): number {
  const hi = Math.min(s.ub ?? s.lb + cap, s.lb + cap);
  return rng.int(s.lb, Math.max(s.lb, hi));
}

function draw(set: MessageSetIR, ir: IR, rng: Rng, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new TooDeep();
  switch (ir.k) {
    case 'ref':
      return draw(set, set.types.get(ir.name)!.ir, rng, depth + 1);
    case 'bool':
      return rng.next() < 0.5;
    case 'null':
      return null;
    case 'int':
      return drawInt(ir, rng);
    case 'enum':
      return rng.pick([...ir.root, ...ir.adds]);
    case 'octets': {
      const n = ir.size.lb === ir.size.ub ? ir.size.lb : sizeIn(ir.size, rng, 40);
      return rng.hex(n);
    }
    case 'bits': {
      const fixed = ir.size.lb === ir.size.ub && !ir.size.ext;
      const n = fixed ? ir.size.lb : sizeIn(ir.size, rng, 20);
      const bits = Array.from({ length: n }, () => rng.int(0, 1));
      if (ir.named?.length && !fixed && n > ir.size.lb) bits[n - 1] = 1;
      let hex = '';
      for (let i = 0; i < Math.ceil(n / 8); i++) {
        let b = 0;
        for (let j = 0; j < 8; j++) b = (b << 1) | (bits[i * 8 + j] ?? 0);
        hex += b.toString(16).padStart(2, '0').toUpperCase();
      }
      return fixed ? hex : { value: hex, length: n };
    }
    case 'str': {
      const n = ir.size.lb === ir.size.ub ? ir.size.lb : sizeIn(ir.size, rng, 12);
      const alphabet = ir.alphabet ?? [...'abcdefghijklmnopqrstuvwxyz0123456789-.'].map((c) => c.charCodeAt(0));
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(rng.pick(alphabet));
      if (!ir.km && ir.kind === 'UTF8String' && n > 0 && rng.next() < 0.3) s = s.slice(0, -1) + 'é';
      return s;
    }
    case 'oid':
      return `1.${rng.int(0, 39)}.${rng.int(0, 100000)}.${rng.int(0, 5)}`;
    case 'open':
      return rng.hex(rng.int(1, 12));
    case 'seqof': {
      const n = depth > 8 ? ir.size.lb : sizeIn(ir.size, rng, 3);
      return Array.from({ length: n }, () => draw(set, ir.item, rng, depth + 1));
    }
    case 'choice': {
      const alts = [...ir.alts, ...ir.adds];
      const order = [...alts].sort(() => rng.next() - 0.5);
      for (const a of order) {
        try {
          return { [a.name]: draw(set, a.type, rng, depth + 1) };
        } catch (e) {
          if (!(e instanceof TooDeep)) throw e;
        }
      }
      throw new TooDeep();
    }
    case 'seq': {
      const o: Record<string, unknown> = {};
      const fields: Field[] = [...ir.fields, ...ir.adds.flatMap((a) => ('group' in a ? a.group : [a.field]))];
      const groups = ir.adds.filter((a) => 'group' in a).map((a) => (a as { group: Field[] }).group);
      const useGroup = new Map(groups.map((g) => [g, depth < 8 && rng.next() < 0.4]));
      for (const f of fields) {
        const g = groups.find((x) => x.includes(f));
        if (g && !useGroup.get(g)) continue;
        const isAdd = !ir.fields.includes(f) && !g;
        const optional = f.opt || isAdd;
        if (optional && (depth > 7 || rng.next() < 0.45)) continue;
        if (f.type.k === 'open' && f.type.table) {
          const t = f.type.table;
          if (t.rows.length) {
            const row = rng.pick(t.rows);
            o[t.idField] = row.id;
            o[f.name] = draw(set, row.type, rng, depth + 1);
          }
          continue;
        }
        if (o[f.name] !== undefined) continue; // an id already set by its open type
        let v: unknown;
        try {
          v = draw(set, f.type, rng, depth + 1);
        } catch (e) {
          if (e instanceof TooDeep && optional) continue;
          throw e;
        }
        if (f.def !== undefined && typeof v !== 'bigint' && JSON.stringify(v) === JSON.stringify(f.def)) continue;
        o[f.name] = v;
      }
      // A group that is present needs one component present: keep its first mandatory one, drawn above.
      for (const [g, on] of useGroup) if (on && !g.some((f) => o[f.name] !== undefined)) for (const f of g) delete o[f.name];
      return o;
    }
  }
}
