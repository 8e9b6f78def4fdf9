// The network layer some radios want in front of the message (udp-raw only): IEEE 1609.3 WSMP v3 (US) or a
// China DSMP header (YD/T 3707 style), and on receive, what a datagram is once such a header is stripped.
//
// WSMP v3 (IEEE 1609.3-2016 8.3; field layout as Wireshark's packet-wsmp.c dissects it):
//   N-Header  octet: subtype (4 bits, 0 = null networking) | option indicator (1) | version (3 bits, = 3)
//             [option indicator: Count, then WAVE information elements: element ID (1 octet), Length, value]
//             elements used here: Channel Number (15, 1 octet), Data Rate (16, 1 octet, 500 kbit/s units),
//             Transmit Power Used (4, 1 octet: dBm + 128, the UPER of 1609.3's TXpower80211 INTEGER (-128..127))
//             TPID octet: 0 = the T-Header holds a PSID and no extension elements
//   T-Header  PSID, p-encoded (IEEE 1609.12, 1-4 octets); WSM Length
//   Length and Count (8.1.3): one octet 0..127, or two octets 10xxxxxx xxxxxxxx up to 16383.
// DSMP (China LTE-V2X network layer, YD/T 3707-2020 "DSM" messages): version octet, AID p-encoded as above,
//   2-octet big-endian length, data. YD/T 3707's text was not at hand: this is the field order of its public
//   descriptions (version, AID, length); check it against your radio's manual. Radios that take a bare frame
//   need neither header (`radio.header: none`, the default).
//
// Receive: after an optional header, the payload is told apart by its first octets (V2X Hub confused these,
// PR#923): a 1609.2 SPDU (Ieee1609Dot2Data, C-OER) starts with protocolVersion 3 and a content tag 0x80-0x83
// (unsecuredData, signedData, encryptedData, signedCertificateRequest); a WSMP v3 frame also starts with 0x03
// (subtype 0, no options) but is followed by TPID 0x00/0x01, or starts with 0x0B (options present); anything
// else is taken as a bare UPER MessageFrame, which the message set's decoder then confirms or rejects.

import { pDecodePsid, pEncodePsid } from './psid.js';

export type NetworkHeaderKind = 'none' | 'wsmp' | 'dsmp';

export interface WsmpHeader {
  /** PSID as an integer (130 for SPAT/MAP, whose p-encoded form is 0x8002). */
  psid: number;
  channel?: number;
  /** 500 kbit/s units (IEEE 802.11 DataRate). */
  dataRate?: number;
  /** dBm, -128..127. */
  txPowerDbm?: number;
}

export interface DsmpHeader {
  version: number;
  /** AID as an integer (3618 for CSAE MAP). */
  aid: number;
}

export const NET_ERROR_REASONS = ['truncated', 'bad-version', 'bad-length', 'bad-psid', 'unsupported-tpid', 'bad-element'] as const;
export type NetErrorReason = (typeof NET_ERROR_REASONS)[number];

export class NetHeaderError extends Error {
  override readonly name = 'NetHeaderError';
  constructor(
    readonly reason: NetErrorReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

const WSMP_VERSION = 3;
const ELEMENT = { txPower: 4, channel: 15, dataRate: 16 } as const;
const MAX_COUNT = 16383;
/** Longest WSM data (its Length field's range). */
export const MAX_WSM_LENGTH = MAX_COUNT;

function count(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_COUNT) throw new RangeError(`WSMP length ${n} is outside 0..${MAX_COUNT}`);
  return n < 128 ? [n] : [0x80 | (n >> 8), n & 0xff];
}

function pBytes(id: number): number[] {
  const p = pEncodePsid(id);
  const n = p < 0x80 ? 1 : p < 0xc000 ? 2 : p < 0xe00000 ? 3 : 4;
  return Array.from({ length: n }, (_, i) => (p >>> (8 * (n - 1 - i))) & 0xff);
}

function byteIn(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`WSMP ${name} ${v} is outside ${lo}..${hi}`);
  return v;
}

/** A WSMP v3 frame around `payload`. Throws RangeError for a header value out of range. */
export function encodeWsmp(h: WsmpHeader, payload: Uint8Array): Uint8Array {
  const elems: number[][] = [];
  if (h.channel !== undefined) elems.push([ELEMENT.channel, 1, byteIn('channel', h.channel, 0, 200)]);
  if (h.dataRate !== undefined) elems.push([ELEMENT.dataRate, 1, byteIn('data rate', h.dataRate, 0, 255)]);
  if (h.txPowerDbm !== undefined) elems.push([ELEMENT.txPower, 1, byteIn('transmit power', h.txPowerDbm, -128, 127) + 128]);
  const head = [(elems.length ? 0x08 : 0) | WSMP_VERSION, ...(elems.length ? [...count(elems.length), ...elems.flat()] : []), 0x00, ...pBytes(h.psid), ...count(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

class Reader {
  o = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}
  u8(): number {
    if (this.o >= this.b.length) throw new NetHeaderError('truncated', `${this.what} ends at octet ${this.o}`);
    return this.b[this.o++]!;
  }
  count(): number {
    const a = this.u8();
    if ((a & 0x80) === 0) return a;
    if ((a & 0xc0) !== 0x80) throw new NetHeaderError('bad-length', `${this.what}: length/count octet 0x${a.toString(16)} at ${this.o - 1}`);
    return ((a & 0x3f) << 8) | this.u8();
  }
  pId(): number {
    const a = this.u8();
    const n = a < 0x80 ? 1 : a < 0xc0 ? 2 : a < 0xe0 ? 3 : a < 0xf0 ? 4 : 0;
    if (n === 0) throw new NetHeaderError('bad-psid', `${this.what}: 0x${a.toString(16)} does not start a p-encoded PSID`);
    let p = a;
    for (let i = 1; i < n; i++) p = p * 256 + this.u8();
    return pDecodePsid(p);
  }
  rest(len: number): Uint8Array {
    if (this.b.length - this.o !== len) throw new NetHeaderError(this.b.length - this.o < len ? 'truncated' : 'bad-length', `${this.what} says ${len} octets of data, ${this.b.length - this.o} follow`);
    return this.b.subarray(this.o);
  }
}

/** The header and payload of a WSMP v3 frame (the payload is a view into `frame`). */
export function decodeWsmp(frame: Uint8Array): { header: WsmpHeader; payload: Uint8Array } {
  const r = new Reader(frame, 'WSMP frame');
  const first = r.u8();
  if ((first & 0x07) !== WSMP_VERSION) throw new NetHeaderError('bad-version', `WSMP version ${first & 0x07}, expected 3`);
  const header: WsmpHeader = { psid: 0 };
  if (first & 0x08) {
    for (let n = r.count(); n > 0; n--) {
      const id = r.u8();
      const len = r.count();
      if (frame.length - r.o < len) throw new NetHeaderError('truncated', `WSMP element ${id} of ${len} octets`);
      const v = frame.subarray(r.o, r.o + len);
      r.o += len;
      if ((id === ELEMENT.channel || id === ELEMENT.dataRate || id === ELEMENT.txPower) && len !== 1) throw new NetHeaderError('bad-element', `WSMP element ${id} has ${len} octets, expected 1`);
      if (id === ELEMENT.channel) header.channel = v[0]!;
      else if (id === ELEMENT.dataRate) header.dataRate = v[0]!;
      else if (id === ELEMENT.txPower) header.txPowerDbm = v[0]! - 128;
    }
  }
  const tpid = r.u8();
  if (tpid !== 0 && tpid !== 1) throw new NetHeaderError('unsupported-tpid', `WSMP TPID ${tpid} (only PSID addressing, 0 and 1, is supported)`);
  header.psid = r.pId();
  if (tpid === 1) for (let n = r.count(); n > 0; n--) (r.u8(), (r.o += r.count())); // T-Header elements: skipped
  return { header, payload: r.rest(r.count()) };
}

/** A DSMP frame around `payload`: version, AID (p-encoded), 2-octet length. */
export function encodeDsmp(h: DsmpHeader, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(h.version) || h.version < 0 || h.version > 255) throw new RangeError(`DSMP version ${h.version} is outside 0..255`);
  if (payload.length > 0xffff) throw new RangeError(`DSMP payload of ${payload.length} octets exceeds 65535`);
  const head = [h.version, ...pBytes(h.aid), payload.length >> 8, payload.length & 0xff];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** The header and payload of a DSMP frame; `version` is the one expected. */
export function decodeDsmp(frame: Uint8Array, version: number): { header: DsmpHeader; payload: Uint8Array } {
  const r = new Reader(frame, 'DSMP frame');
  const v = r.u8();
  if (v !== version) throw new NetHeaderError('bad-version', `DSMP version ${v}, expected ${version}`);
  const aid = r.pId();
  const len = (r.u8() << 8) | r.u8();
  return { header: { version: v, aid }, payload: r.rest(len) };
}

export type PayloadKind = 'spdu' | 'message-frame';

/** What a payload (after any network header) looks like: a 1609.2 SPDU or a bare MessageFrame. */
export function payloadKind(p: Uint8Array): PayloadKind {
  return p.length >= 2 && p[0] === 3 && p[1]! >= 0x80 && p[1]! <= 0x83 ? 'spdu' : 'message-frame';
}

/** True when the datagram has the shape of a WSMP v3 frame (not of an SPDU, which also starts with 0x03). */
export function looksLikeWsmp(d: Uint8Array): boolean {
  if (d.length < 4) return false;
  if (d[0] === 0x03) return d[1] === 0x00 || d[1] === 0x01;
  return d[0] === 0x0b;
}

export interface Unwrapped {
  header: { kind: 'wsmp'; wsmp: WsmpHeader } | { kind: 'dsmp'; dsmp: DsmpHeader } | { kind: 'none' };
  kind: PayloadKind;
  payload: Uint8Array;
}

/**
 * Strips the network header a datagram has and says what is inside. `expect` is the configured header: with
 * 'dsmp' a DSMP header is required (its version octet cannot be told from other data); with 'wsmp' or 'none'
 * a WSMP frame is recognised by its shape and anything else is taken as a bare SPDU or MessageFrame (with 'none',
 * a datagram shaped like WSMP that does not parse as WSMP is bare data too). Throws NetHeaderError when an
 * expected header is broken.
 */
export function unwrap(d: Uint8Array, expect: NetworkHeaderKind, dsmpVersion = 1): Unwrapped {
  if (expect === 'dsmp') {
    const { header, payload } = decodeDsmp(d, dsmpVersion);
    return { header: { kind: 'dsmp', dsmp: header }, kind: payloadKind(payload), payload };
  }
  if (looksLikeWsmp(d)) {
    try {
      const { header, payload } = decodeWsmp(d);
      return { header: { kind: 'wsmp', wsmp: header }, kind: payloadKind(payload), payload };
    } catch (e) {
      // Without a configured WSMP header, a frame that only looked like one is taken as bare data.
      if (expect === 'wsmp' || !(e instanceof NetHeaderError)) throw e;
    }
  }
  return { header: { kind: 'none' }, kind: payloadKind(d), payload: d };
}
