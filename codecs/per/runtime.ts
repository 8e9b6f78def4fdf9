// Unaligned PER (ITU-T X.691) primitives used by the generated encoders and decoders.
// Generated code calls these directly; nothing here walks a schema.

/**
 * Raised by decoding: names the field path and the offset where the bytes stopped making sense. UPER counts
 * in bits; octet-aligned rules (C-OER) say `at byte N` (`unit`), and `bitOffset` is then 8 × that byte.
 */
export class DecodeError extends Error {
  readonly segs: string[] = [];
  typeName = '';
  constructor(
    readonly reason: string,
    readonly bitOffset: number,
    readonly unit: 'bit' | 'byte' = 'bit',
  ) {
    super(reason);
    this.name = 'DecodeError';
  }
  get byteOffset(): number {
    return Math.floor(this.bitOffset / 8);
  }
  get path(): string {
    return this.typeName + this.segs.join('');
  }
  finish(typeName: string): this {
    this.typeName = typeName;
    // A path thousands of levels deep (hostile nesting) is shortened in the message; `.path` keeps all of it.
    const p = this.segs.length > 40 ? `${typeName}${this.segs.slice(0, 12).join('')}...(${this.segs.length - 24} levels)...${this.segs.slice(-12).join('')}` : this.path;
    const where = this.bitOffset < 0 ? '' : ` at ${this.unit} ${this.unit === 'bit' ? this.bitOffset : this.byteOffset}`;
    this.message = `${p}: ${this.reason}${where}`;
    return this;
  }
}

/** Raised by encoding: a value that breaks a constraint, has the wrong shape, or misses a mandatory field. */
export class EncodeError extends Error {
  readonly segs: string[] = [];
  typeName = '';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'EncodeError';
  }
  get path(): string {
    return this.typeName + this.segs.join('');
  }
  finish(typeName: string): this {
    this.typeName = typeName;
    this.message = `${this.path}: ${this.reason}`;
    return this;
  }
}

/**
 * Whether encoders reject components they do not know (a typo in JSON from a person or the cloud). The daemon's
 * own message builders produce values by code and encode them with the check off (encodeTrusted).
 */
export const checks = { unknownKeys: true };

/** Add one path segment to an error unwinding through a generated function. */
export function withPath(e: unknown, seg: string): unknown {
  if (e instanceof DecodeError || e instanceof EncodeError) e.segs.unshift(seg);
  // No regular expression here: near the stack limit compiling one throws a SyntaxError, which would escape.
  else if (e instanceof RangeError && e.message.includes('call stack')) return new DecodeError('nesting too deep', -1);
  return e;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0').toUpperCase());
const HEXVAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEXVAL[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEXVAL[65 + i] = 10 + i;
  HEXVAL[97 + i] = 10 + i;
}

export function toHex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[b[i]!];
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length & 1) throw new Error(`hex string has an odd number of digits (${s.length})`);
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const c1 = s.charCodeAt(2 * i);
    const c2 = s.charCodeAt(2 * i + 1);
    const h = c1 < 128 ? HEXVAL[c1]! : -1;
    const l = c2 < 128 ? HEXVAL[c2]! : -1;
    if (h < 0 || l < 0) throw new Error(`not a hex digit at position ${h < 0 ? 2 * i : 2 * i + 1}`);
    out[i] = (h << 4) | l;
  }
  return out;
}

const MAX_ITEMS = 1 << 20; // hard bound on any decoded count, whatever the bytes claim

export class BitWriter {
  buf: Uint8Array;
  pos = 0; // in bits

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
  }

  reset(): void {
    this.buf.fill(0, 0, (this.pos + 7) >>> 3);
    this.pos = 0;
  }

  private grow(nbits: number): void {
    const need = ((this.pos + nbits + 7) >>> 3) + 8;
    if (need <= this.buf.length) return;
    const b = new Uint8Array(Math.max(need, this.buf.length * 2));
    b.set(this.buf);
    this.buf = b;
  }

  /** Append the low n bits of a non-negative integer v (n up to 53). */
  bits(v: number, n: number): void {
    if (n === 0) return;
    if ((this.pos + n + 7) >>> 3 > this.buf.length) this.grow(n);
    if (n > 32) {
      const hi = Math.floor(v / 4294967296);
      this.bits(hi, n - 32);
      v = v >>> 0;
      n = 32;
    }
    if (n > 25) {
      // Two writes that each fit the one-shift path below.
      this.bits(v >>> 16, n - 16);
      v &= 0xffff;
      n = 16;
    }
    const buf = this.buf;
    let pos = this.pos;
    if (n <= 25) {
      // One shift places the bits in a 32-bit window starting at the current byte (grow() keeps 8 spare bytes).
      const p = pos >>> 3;
      const x = v << (32 - (pos & 7) - n);
      buf[p]! |= x >>> 24;
      buf[p + 1]! |= x >>> 16;
      buf[p + 2]! |= x >>> 8;
      buf[p + 3]! |= x;
      this.pos = pos + n;
      return;
    }
    while (n > 0) {
      const free = 8 - (pos & 7);
      const take = n < free ? n : free;
      const chunk = (n - take >= 32 ? 0 : v >>> (n - take)) & ((1 << take) - 1);
      buf[pos >>> 3] |= chunk << (free - take);
      pos += take;
      n -= take;
    }
    this.pos = pos;
  }

  bit(b: boolean | number): void {
    if ((this.pos + 8) >>> 3 >= this.buf.length) this.grow(1);
    if (b) this.buf[this.pos >>> 3]! |= 0x80 >>> (this.pos & 7);
    this.pos++;
  }

  octets(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.grow(n * 8);
    if ((this.pos & 7) === 0) {
      this.buf.set(src.subarray(start, end), this.pos >>> 3);
      this.pos += n * 8;
    } else for (let i = start; i < end; i++) this.bits(src[i]!, 8);
  }

  /** Octets given as a hex string (OCTET STRING values). */
  hex(s: string, nbytes: number): void {
    this.grow(nbytes * 8);
    for (let i = 0; i < nbytes; i++) {
      const c1 = s.charCodeAt(2 * i);
      const c2 = s.charCodeAt(2 * i + 1);
      const h = c1 < 128 ? HEXVAL[c1]! : -1;
      const l = c2 < 128 ? HEXVAL[c2]! : -1;
      if (h < 0 || l < 0) throw new EncodeError(`not a hex digit in ${JSON.stringify(s.slice(2 * i, 2 * i + 2))}`);
      this.bits((h << 4) | l, 8);
    }
  }

  /** The first nbits bits of a hex string (BIT STRING values). */
  hexBits(s: string, nbits: number): void {
    const full = nbits >>> 3;
    this.hex(s, full);
    const rest = nbits & 7;
    if (rest) {
      const c1 = s.charCodeAt(2 * full);
      const c2 = s.charCodeAt(2 * full + 1);
      const h = c1 < 128 ? HEXVAL[c1]! : -1;
      const l = c2 < 128 ? HEXVAL[c2]! : -1;
      if (h < 0 || l < 0) throw new EncodeError('not a hex digit in a bit string');
      this.bits(((h << 4) | l) >>> (8 - rest), rest);
    }
  }

  /** General length determinant (X.691 11.9.4.2) for n < 16384; larger lengths go through fragments(). */
  len(n: number): void {
    if (n < 128) this.bits(n, 8);
    else if (n < 16384) this.bits(0x8000 | n, 16);
    else throw new EncodeError(`internal: length ${n} needs fragmentation`);
  }

  /** Write a length-prefixed run of n units with fragmentation (X.691 11.9.3.8); emit(from, count) writes the units. */
  fragments(n: number, emit: (from: number, count: number) => void): void {
    let i = 0;
    while (n - i >= 16384) {
      const m = Math.min(4, Math.floor((n - i) / 16384));
      this.bits(0xc0 | m, 8);
      emit(i, m * 16384);
      i += m * 16384;
    }
    this.len(n - i);
    emit(i, n - i);
  }

  /** Non-negative-binary-integer in the minimum number of octets, preceded by its length (semi-constrained). */
  semi(v: number): void {
    if (v < 0 || !Number.isSafeInteger(v)) throw new EncodeError(`integer ${v} is out of range`);
    let n = 1;
    while (n < 7 && v >= 2 ** (8 * n)) n++;
    this.len(n);
    this.bits(v, 8 * n);
  }

  /** Two's-complement integer in the minimum number of octets, preceded by its length (unconstrained). */
  unconstrained(v: number): void {
    if (!Number.isSafeInteger(v)) throw new EncodeError(`integer ${v} is beyond the safe integer range`);
    let n = 1;
    while (n < 7 && (v < -(2 ** (8 * n - 1)) || v >= 2 ** (8 * n - 1))) n++;
    this.len(n);
    this.bits(v < 0 ? v + 2 ** (8 * n) : v, 8 * n);
  }

  /** Normally small non-negative whole number (X.691 11.6). */
  small(v: number): void {
    if (v < 64) this.bits(v, 7);
    else {
      this.bit(1);
      this.semi(v);
    }
  }

  /** Normally small length (X.691 11.9.3.4): the size of an extension bitmap. */
  smallLen(n: number): void {
    if (n <= 64) this.bits(n - 1, 7);
    else {
      this.bit(1);
      this.len(n);
    }
  }

  /** Open type (X.691 11.2): the complete encoding of an inner value, octet-aligned, length-prefixed. */
  open(inner: BitWriter): void {
    let nbytes = (inner.pos + 7) >>> 3;
    if (nbytes === 0) {
      nbytes = 1; // an empty encoding is sent as one zero octet
    }
    if (nbytes < 16384) {
      this.len(nbytes);
      this.octets(inner.buf, 0, nbytes);
    } else this.fragments(nbytes, (from, count) => this.octets(inner.buf, from, from + count));
  }

  /** Raw bytes of an unknown open type value, given as hex. */
  openHex(s: string): void {
    if (typeof s !== 'string' || s.length & 1) throw new EncodeError('an open type value of unknown type must be an even-length hex string');
    const bytes = fromHex(s);
    if (bytes.length === 0) throw new EncodeError('an open type value cannot be empty');
    if (bytes.length < 16384) {
      this.len(bytes.length);
      this.octets(bytes);
    } else this.fragments(bytes.length, (from, count) => this.octets(bytes, from, from + count));
  }

  /** The complete encoding (X.691 11.1): whole octets, at least one. */
  finish(): Uint8Array {
    const n = Math.max(1, (this.pos + 7) >>> 3);
    // Small arrays live on V8's heap and slice fast; larger ones come from Node's pooled slab, which is
    // several times cheaper than a fresh ArrayBuffer (the result may share that slab: use byteOffset).
    if (n <= 64) return this.buf.slice(0, n);
    const out = Buffer.allocUnsafe(n);
    out.set(this.buf.subarray(0, n));
    return out;
  }
}

/** Writers for open types, reused to avoid allocation on the hot path. */
const pool: BitWriter[] = [];
export function takeWriter(): BitWriter {
  const w = pool.pop() ?? new BitWriter(64);
  return w;
}
export function giveWriter(w: BitWriter): void {
  w.reset();
  if (pool.length < 64) pool.push(w);
}

export class BitReader {
  pos = 0; // in bits, from buf[0]
  end: number; // in bits
  constructor(
    readonly buf: Uint8Array,
    /** Bit offset of buf[0] in the outermost message, so errors inside open types point at the real bit. */
    readonly base = 0,
  ) {
    this.end = buf.length * 8;
  }

  /** A reader over the next nbytes octets of this one (an open type's contents), without copying. */
  private window(nbytes: number): BitReader {
    this.need(nbytes * 8);
    const sub = new BitReader(this.buf, this.base);
    sub.pos = this.pos;
    sub.end = this.pos + nbytes * 8;
    this.pos = sub.end;
    return sub;
  }

  fail(reason: string, at = this.pos): never {
    throw new DecodeError(reason, this.base + at);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) this.fail(`needs ${n} more bit(s) but the data ends`);
  }

  bits(n: number): number {
    if (n === 0) return 0;
    this.need(n);
    if (n > 32) {
      const hi = this.bits(n - 32);
      return hi * 4294967296 + this.bits(32);
    }
    if (n > 25) {
      const hi = this.bits(n - 16);
      return hi * 65536 + this.bits(16);
    }
    const buf = this.buf;
    let pos = this.pos;
    if (n <= 25) {
      // A 32-bit window from the current byte holds all n bits; bytes past the end read as 0 and are never used.
      const p = pos >>> 3;
      const x = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
      this.pos = pos + n;
      return (x << (pos & 7)) >>> (32 - n);
    }
    let v = 0;
    let left = n;
    while (left > 0) {
      const avail = 8 - (pos & 7);
      const take = left < avail ? left : avail;
      const byte = buf[pos >>> 3]!;
      const chunk = (byte >>> (avail - take)) & ((1 << take) - 1);
      v = n > 24 ? v * (1 << take) + chunk : (v << take) | chunk;
      pos += take;
      left -= take;
    }
    this.pos = pos;
    return v;
  }

  bit(): number {
    if (this.pos >= this.end) this.fail('needs 1 more bit but the data ends');
    const b = (this.buf[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  /** Constrained whole number with an upper-bound check (the bit field may hold more than the range). */
  ranged(nbits: number, lb: number, ub: number): number {
    const at = this.pos;
    const v = this.bits(nbits) + lb;
    if (v > ub) this.fail(`value ${v} above upper bound ${ub}`, at);
    return v;
  }

  /** More fragments follow the last length read. */
  more = false;

  /** General length determinant; sets `more` when it was a fragment (multiple of 16K). */
  len(): number {
    const at = this.pos;
    const b = this.bits(8);
    this.more = false;
    if ((b & 0x80) === 0) return b;
    if ((b & 0x40) === 0) return ((b & 0x3f) << 8) | this.bits(8);
    const m = b & 0x3f;
    if (m < 1 || m > 4) this.fail(`bad fragment length multiplier ${m}`, at);
    this.more = true;
    return m * 16384;
  }

  /** A count that must fit in what is left of the data, given that each unit takes at least minBits. */
  count(n: number, minBits: number): number {
    if (n > MAX_ITEMS || n * minBits > this.end - this.pos) this.fail(`length ${n} exceeds the remaining data`);
    return n;
  }

  semi(lb: number): number {
    const at = this.pos;
    const n = this.len();
    if (this.more || n === 0 || n > 7) this.fail(`bad integer length ${n}`, at);
    const v = this.bits(8 * n);
    if (!Number.isSafeInteger(v + lb)) this.fail('integer beyond the safe integer range', at);
    return v + lb;
  }

  unconstrained(): number {
    const at = this.pos;
    const n = this.len();
    if (this.more || n === 0 || n > 7) this.fail(`bad integer length ${n}`, at);
    const v = this.bits(8 * n);
    const half = 2 ** (8 * n - 1);
    return v >= half ? v - 2 * half : v;
  }

  small(): number {
    if (this.bit() === 0) return this.bits(6);
    return this.semi(0);
  }

  /** Normally small length (X.691 11.9.3.4): the size of an extension bitmap. */
  smallLen(): number {
    if (this.bit() === 0) return this.bits(6) + 1;
    const n = this.len();
    if (this.more) this.fail('fragmented extension bitmap');
    return this.count(n, 1);
  }

  hex(nbytes: number): string {
    this.need(nbytes * 8);
    let s = '';
    if ((this.pos & 7) === 0) {
      const start = this.pos >>> 3;
      for (let i = 0; i < nbytes; i++) s += HEX[this.buf[start + i]!];
      this.pos += nbytes * 8;
    } else for (let i = 0; i < nbytes; i++) s += HEX[this.bits(8)];
    return s;
  }

  /** nbits bits as hex, the last octet padded with zero bits. */
  hexBits(nbits: number): string {
    this.need(nbits);
    let s = this.hex(nbits >>> 3);
    const rest = nbits & 7;
    if (rest) s += HEX[this.bits(rest) << (8 - rest)];
    return s;
  }

  octets(nbytes: number): Uint8Array {
    this.need(nbytes * 8);
    if ((this.pos & 7) === 0) {
      const s = this.pos >>> 3;
      this.pos += nbytes * 8;
      return this.buf.subarray(s, s + nbytes);
    }
    const out = new Uint8Array(nbytes);
    for (let i = 0; i < nbytes; i++) out[i] = this.bits(8);
    return out;
  }

  /** The content octets of an open type, as a reader over them. */
  open(): BitReader {
    let n = this.len();
    if (!this.more) {
      if (n === 0) this.fail('open type of length 0');
      return this.window(n);
    }
    const parts: Uint8Array[] = [this.octets(n).slice()];
    while (this.more) {
      n = this.len();
      parts.push(this.octets(n).slice());
    }
    const total = parts.reduce((a, p) => a + p.length, 0);
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return new BitReader(all, this.base + this.pos);
  }

  /** Skip an open type whose type is not known (an unknown extension addition). */
  skipOpen(): void {
    this.open();
  }

  openHex(): string {
    return this.open().restHex();
  }

  /** Whatever is left of this reader, as hex (the contents of an open type of unknown type). */
  restHex(): string {
    return this.hex((this.end - this.pos) >>> 3);
  }
}

/** Structural equality for DEFAULT comparison on JER-shaped values. */
export function jerEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') return a.toUpperCase() === b.toUpperCase();
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jerEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** BER contents octets of an OBJECT IDENTIFIER given as dotted text ("1.2.840.10045.3.1.7"). */
export function oidBytes(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^[0-2](\.(0|[1-9][0-9]*))+$/.test(v)) throw new EncodeError(`expected an OBJECT IDENTIFIER as dotted text, got ${JSON.stringify(v)}`);
  const arcs = v.split('.').map(Number);
  if (arcs.some((a) => !Number.isSafeInteger(a)) || (arcs[0]! < 2 && arcs[1]! > 39)) throw new EncodeError(`invalid OBJECT IDENTIFIER ${v}`);
  const out: number[] = [];
  const put = (a: number) => {
    const tmp = [a % 128];
    for (a = Math.floor(a / 128); a > 0; a = Math.floor(a / 128)) tmp.push(0x80 | a % 128);
    out.push(...tmp.reverse());
  };
  put(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) put(a);
  return Uint8Array.from(out);
}

/** Dotted text of BER OBJECT IDENTIFIER contents octets, or undefined when they are malformed. */
export function oidText(b: Uint8Array): string | undefined {
  if (!b.length || b[b.length - 1]! & 0x80) return undefined;
  const arcs: number[] = [];
  let a = 0;
  for (let i = 0; i < b.length; i++) {
    if (a === 0 && b[i] === 0x80) return undefined; // non-minimal
    a = a * 128 + (b[i]! & 0x7f);
    if (!Number.isSafeInteger(a)) return undefined;
    if (!(b[i]! & 0x80)) {
      if (!arcs.length) arcs.push(a < 40 ? 0 : a < 80 ? 1 : 2, a < 80 ? a % 40 : a - 80);
      else arcs.push(a);
      a = 0;
    }
  }
  return arcs.join('.');
}

export const utf8 = {
  enc: new TextEncoder(),
  dec: new TextDecoder('utf-8', { fatal: true }),
};
