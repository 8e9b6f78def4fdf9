// Canonical OER (ITU-T X.696 clause 9, C-OER) primitives used by the generated encoders and decoders.
// Everything is octet-aligned; generated code calls these directly and never walks a schema.
import { checks, DecodeError, EncodeError, fromHex, jerEqual, oidBytes, oidText, toHex, utf8, withPath } from '../per/runtime.js';

export { checks, DecodeError, EncodeError, fromHex, jerEqual, oidBytes, oidText, toHex, utf8, withPath };

const MAX_ITEMS = 1 << 20; // hard bound on any decoded count, whatever the bytes claim
const TWO32 = 4294967296;

const HEXVAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEXVAL[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEXVAL[65 + i] = 10 + i;
  HEXVAL[97 + i] = 10 + i;
}
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0').toUpperCase());

/** Octets of the minimal two's-complement (signed) or unsigned form of a safe integer. */
function intOctets(v: number, signed: boolean): number {
  let n = 1;
  if (signed) while (n < 7 && (v < -(2 ** (8 * n - 1)) || v >= 2 ** (8 * n - 1))) n++;
  else while (n < 7 && v >= 2 ** (8 * n)) n++;
  return n;
}

/** Runs of octets at least this long go through Buffer's native hex conversion (cheaper past the call cost). */
const NATIVE_HEX = 16;

export class OerWriter {
  buf: Buffer;
  pos = 0; // in octets

  constructor(size = 256) {
    this.buf = Buffer.alloc(size);
  }

  reset(): void {
    this.pos = 0;
  }

  private grow(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(need + 64, this.buf.length * 2));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  u8(v: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  /** A non-negative safe integer (or bigint below 2^64) in exactly n octets, big-endian. */
  uint(v: number | bigint, n: number): void {
    this.grow(n);
    if (typeof v === 'bigint') {
      for (let i = n - 1; i >= 0; i--) {
        this.buf[this.pos + i] = Number(v & 0xffn);
        v >>= 8n;
      }
    } else if (n <= 4) {
      for (let i = n - 1; i >= 0; i--) {
        this.buf[this.pos + i] = v & 0xff;
        v = v >>> 8;
      }
    } else {
      let lo = v % TWO32;
      let hi = Math.floor(v / TWO32);
      for (let i = n - 1; i >= n - 4; i--) {
        this.buf[this.pos + i] = lo & 0xff;
        lo = lo >>> 8;
      }
      for (let i = n - 5; i >= 0; i--) {
        this.buf[this.pos + i] = hi & 0xff;
        hi = Math.floor(hi / 256);
      }
    }
    this.pos += n;
  }

  /** A signed integer in exactly n octets, two's complement. */
  sint(v: number | bigint, n: number): void {
    if (typeof v === 'bigint') this.uint(v < 0n ? v + (1n << BigInt(8 * n)) : v, n);
    else this.uint(v < 0 ? v + 2 ** (8 * n) : v, n);
  }

  /** Length determinant (X.696 8.6): short form below 128, else 0x80|k and k octets, minimal. */
  len(n: number): void {
    if (n < 128) return this.u8(n);
    const k = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
    this.u8(0x80 | k);
    this.uint(n, k);
  }

  /** Variable-length unsigned integer (semi-constrained with lb >= 0, or beyond 8 octets): length + minimal octets. */
  varUint(v: number | bigint): void {
    if (typeof v === 'bigint') {
      if (v < 0n) throw new EncodeError(`integer ${v} is negative`);
      let n = 1;
      while (v >= 1n << BigInt(8 * n)) n++;
      this.len(n);
      this.uint(v, n);
      return;
    }
    if (v < 0 || !Number.isSafeInteger(v)) throw new EncodeError(`integer ${v} is out of range`);
    const n = intOctets(v, false);
    this.len(n);
    this.uint(v, n);
  }

  /** Variable-length two's-complement integer (unconstrained or extensible): length + minimal octets. */
  varInt(v: number | bigint): void {
    if (typeof v === 'bigint') {
      let n = 1;
      while (v < -(1n << BigInt(8 * n - 1)) || v >= 1n << BigInt(8 * n - 1)) n++;
      this.len(n);
      this.sint(v, n);
      return;
    }
    if (!Number.isSafeInteger(v)) throw new EncodeError(`integer ${v} is beyond the safe integer range`);
    const n = intOctets(v, true);
    this.len(n);
    this.sint(v, n);
  }

  /** ENUMERATED (X.696 11): 0..127 in one octet, else 0x80|k then k octets two's complement. */
  enumerated(v: number): void {
    if (v >= 0 && v < 128) return this.u8(v);
    const n = intOctets(v, true);
    this.u8(0x80 | n);
    this.sint(v, n);
  }

  /** Tag of a CHOICE alternative (X.696 8.7): class in the top two bits, number below 63 inline, else base 128. */
  tag(cls: number, num: number): void {
    if (num < 63) return this.u8((cls << 6) | num);
    this.u8((cls << 6) | 0x3f);
    const parts = [num & 0x7f];
    for (num >>>= 7; num > 0; num >>>= 7) parts.push(0x80 | (num & 0x7f));
    for (let i = parts.length - 1; i >= 0; i--) this.u8(parts[i]!);
  }

  octets(src: Uint8Array, start = 0, end = src.length): void {
    this.grow(end - start);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  /** n octets given as a hex string (OCTET STRING values). */
  hex(s: string, n: number): void {
    this.grow(n);
    if (n >= NATIVE_HEX) {
      // Buffer.write stops at the first character that is not hex: fewer octets written means a bad digit.
      const written = this.buf.write(s, this.pos, n, 'hex');
      if (written === n && s.length >= 2 * n) {
        this.pos += n;
        return;
      }
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c1 = s.charCodeAt(2 * i);
      const c2 = s.charCodeAt(2 * i + 1);
      const h = c1 < 128 ? HEXVAL[c1]! : -1;
      const l = c2 < 128 ? HEXVAL[c2]! : -1;
      if (h < 0 || l < 0) throw new EncodeError(`not a hex digit in ${JSON.stringify(s.slice(2 * i, 2 * i + 2))}`);
      buf[p++] = (h << 4) | l;
    }
    this.pos = p;
  }

  /** The first nbits of a hex string, the last octet's unused bits zero (canonical). */
  hexBits(s: string, nbits: number): void {
    const full = nbits >>> 3;
    this.hex(s, full);
    const rest = nbits & 7;
    if (rest) {
      const before = this.pos;
      this.hex(s.slice(2 * full, 2 * full + 2), 1);
      this.buf[before]! &= (0xff << (8 - rest)) & 0xff;
    }
  }

  /**
   * Start a length-prefixed part (open type, extension addition): reserve one length octet. end(mark) then
   * writes the real length, moving the contents when the length needs the long form.
   */
  begin(): number {
    this.u8(0);
    return this.pos;
  }

  end(mark: number): void {
    const n = this.pos - mark;
    if (n < 128) {
      this.buf[mark - 1] = n;
      return;
    }
    const k = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
    this.grow(k);
    this.buf.copyWithin(mark + k, mark, mark + n);
    this.buf[mark - 1] = 0x80 | k;
    for (let i = k - 1, x = n; i >= 0; i--, x = Math.floor(x / 256)) this.buf[mark + i] = x & 0xff;
    this.pos += k;
  }

  /** An open type value of unknown type, given as the hex of its octets. */
  openHex(s: unknown): void {
    if (typeof s !== 'string' || s.length & 1) throw new EncodeError('an open type value of unknown type must be an even-length hex string');
    const b = fromHex(s);
    this.len(b.length);
    this.octets(b);
  }

  /** A copy of the encoding (the writer's buffer is reused by the next encode). */
  finish(): Uint8Array {
    const n = this.pos;
    if (n <= 64) {
      const out = new Uint8Array(n); // not buf.slice: Buffer#slice shares memory
      out.set(this.buf.subarray(0, n));
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    out.set(this.buf.subarray(0, n));
    return out;
  }
}

export class OerReader {
  pos: number;
  end: number;
  constructor(
    readonly buf: Uint8Array,
    readonly start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  fail(reason: string, at = this.pos): never {
    throw new DecodeError(reason, at * 8, 'byte');
  }

  need(n: number): void {
    if (this.pos + n > this.end) this.fail(`needs ${n} more byte(s) but the data ends`);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('needs 1 more byte but the data ends');
    return this.buf[this.pos++]!;
  }

  uint(n: number): number {
    this.need(n);
    const b = this.buf;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + b[this.pos + i]!;
    this.pos += n;
    return v;
  }

  bigUint(n: number): bigint {
    this.need(n);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.pos + i]!);
    this.pos += n;
    return v;
  }

  sint(n: number): number {
    const at = this.pos;
    const v = this.uint(n);
    const half = 2 ** (8 * n - 1);
    const s = v >= half ? v - 2 * half : v;
    if (!Number.isSafeInteger(s)) this.fail('integer beyond the safe integer range', at);
    return s;
  }

  bigSint(n: number): bigint {
    const v = this.bigUint(n);
    return v >= 1n << BigInt(8 * n - 1) ? v - (1n << BigInt(8 * n)) : v;
  }

  /** Length determinant; C-OER wants the short form below 128 and no leading zero octets. */
  len(): number {
    const at = this.pos;
    const b = this.u8();
    if (b < 128) return b;
    const k = b & 0x7f;
    if (k === 0 || k > 4) this.fail(`bad length of length ${k}`, at);
    const n = this.uint(k);
    if (n < 128 || (k > 1 && n < 2 ** (8 * (k - 1)))) this.fail(`length ${n} not in its canonical (minimal) form`, at);
    return n;
  }

  /** A length that must fit in what is left of the data. */
  count(n: number, minBytes = 1): number {
    if (n > MAX_ITEMS || n * minBytes > this.end - this.pos) this.fail(`length ${n} exceeds the remaining data`);
    return n;
  }

  varUint(big: boolean): number | bigint {
    const at = this.pos;
    const n = this.count(this.len());
    if (n === 0) this.fail('integer of length 0', at);
    if (n > 1 && this.buf[this.pos] === 0) this.fail('integer not in its minimal form', at);
    if (big) return this.bigUint(n);
    if (n > 7 || (n === 7 && this.buf[this.pos]! > 0x1f)) this.fail('integer beyond the safe integer range', at);
    return this.uint(n);
  }

  varInt(big: boolean): number | bigint {
    const at = this.pos;
    const n = this.count(this.len());
    if (n === 0) this.fail('integer of length 0', at);
    if (n > 1) {
      const a = this.buf[this.pos]!;
      const b = this.buf[this.pos + 1]!;
      if ((a === 0 && b < 0x80) || (a === 0xff && b >= 0x80)) this.fail('integer not in its minimal form', at);
    }
    if (big) return this.bigSint(n);
    if (n > 7) this.fail('integer beyond the safe integer range', at);
    return this.sint(n);
  }

  enumerated(): number {
    const at = this.pos;
    const b = this.u8();
    if (b < 128) return b;
    const n = b & 0x7f;
    if (n === 0 || n > 6) this.fail(`bad enumerated length ${n}`, at);
    const v = this.sint(n);
    if (v >= 0 && v < 128) this.fail('enumerated value not in its canonical (short) form', at);
    return v;
  }

  /** A CHOICE tag as class * 2^24 + number (one number to switch on). */
  tag(): number {
    const at = this.pos;
    const b = this.u8();
    const cls = b >>> 6;
    let num = b & 0x3f;
    if (num === 0x3f) {
      num = 0;
      for (let i = 0; ; i++) {
        const x = this.u8();
        if (i === 0 && x === 0x80) this.fail('tag number not in its minimal form', at);
        num = num * 128 + (x & 0x7f);
        if (num >= 1 << 24) this.fail('tag number too large', at);
        if (!(x & 0x80)) break;
      }
      if (num < 63) this.fail('tag number not in its minimal form', at);
    }
    return cls * 16777216 + num;
  }

  hex(n: number): string {
    this.need(n);
    if (n >= NATIVE_HEX) {
      const b = this.buf;
      const s = Buffer.from(b.buffer, b.byteOffset + this.pos, n).toString('hex').toUpperCase();
      this.pos += n;
      return s;
    }
    let s = '';
    const b = this.buf;
    for (let i = this.pos, e = this.pos + n; i < e; i++) s += HEX[b[i]!];
    this.pos += n;
    return s;
  }

  /** nbits as hex; the unused bits of the last octet must be zero (C-OER). */
  hexBits(nbits: number): string {
    const n = (nbits + 7) >>> 3;
    this.need(n);
    const rest = nbits & 7;
    if (rest && this.buf[this.pos + n - 1]! & (0xff >>> rest)) this.fail('unused bits of a BIT STRING are not zero', this.pos + n - 1);
    return this.hex(n);
  }

  octets(n: number): Uint8Array {
    this.need(n);
    const s = this.pos;
    this.pos += n;
    return this.buf.subarray(s, s + n);
  }

  /** The contents of a length-prefixed part (open type, extension addition) as a reader over them, no copy. */
  open(): OerReader {
    const n = this.count(this.len());
    const sub = new OerReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }

  /**
   * Require that a part was consumed exactly (an open type's contents are one whole value). A value that encodes
   * to nothing (NULL) is sent as an empty part (C-OER, as rasn and asn1c do); one 00 octet, PER's habit that
   * pycrate keeps, is accepted too.
   */
  done(): void {
    if (this.pos === this.end) return;
    if (this.pos === this.start && this.end === this.pos + 1 && this.buf[this.pos] === 0) return;
    this.fail(`${this.end - this.pos} byte(s) left over inside an open type`);
  }

  restHex(): string {
    return this.hex(this.end - this.pos);
  }
}

/** The reserved writer of the codec, reused between calls. */
export function newWriter(): OerWriter {
  return new OerWriter(1024);
}
