// The USDOT RSU Specification 4.1 immediate forward message (Appendix C): a text datagram sent to the RSU's
// immediate forward port (1516 by default), one "Key=Value" line per field, in this order, each ended by LF:
//
//   Version=0.7
//   Type=SPAT
//   PSID=0x8002
//   Priority=7
//   TxMode=CONT
//   TxChannel=183
//   TxInterval=0
//   DeliveryStart=
//   DeliveryStop=
//   Signature=False
//   Encryption=False
//   Payload=<UPER MessageFrame, upper-case hex>
//
// This is the text V2X Hub's ImmediateForwardPlugin builds (ConstructMessageRSU_4_1), byte for byte: fields in
// that order, LF after every line including the last, payload upper-cased, TxInterval 0 and empty delivery times
// (those two matter only to store-and-repeat files). Sources and known variants: README.md.

import type { RadioType } from './types.js';
import { formatPsid, isPEncoded } from './psid.js';

export type TxMode = 'CONT' | 'ALT';

/** The fields of one immediate forward message other than the payload. */
export interface ImmediateForwardHeader {
  /** `Type=`: SPAT, MAP, TIM, BSM, ... */
  type: string;
  /** p-encoded PSID (0x8002). */
  psid: number;
  /** 0 (lowest) .. 7. */
  priority: number;
  txMode: TxMode;
  /** 172..184 (DSRC channel numbers; 183 for C-V2X). */
  txChannel: number;
  /** Ask the RSU to sign the payload (1609.2) before broadcasting it. */
  signature: boolean;
  encryption: boolean;
}

export const IFM_VERSION = '0.7';
/** The immediate forward UDP port of an RSU 4.1 radio. */
export const IFM_DEFAULT_PORT = 1516;

/** Throws a RangeError naming the field when a header cannot go into the text. */
export function checkHeader(h: ImmediateForwardHeader): void {
  if (typeof h.type !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(h.type)) throw new RangeError(`immediate forward Type ${JSON.stringify(h.type)}: expected 1-32 letters, digits, _ or -`);
  if (!isPEncoded(h.psid)) throw new RangeError(`immediate forward PSID ${h.psid}: not a p-encoded PSID (0x00-0x7F, 0x8000-0xBFFF, 0xC00000-0xDFFFFF, 0xE0000000-0xEFFFFFFF)`);
  if (!Number.isInteger(h.priority) || h.priority < 0 || h.priority > 7) throw new RangeError(`immediate forward Priority ${h.priority}: expected an integer 0-7`);
  if (h.txMode !== 'CONT' && h.txMode !== 'ALT') throw new RangeError(`immediate forward TxMode ${JSON.stringify(h.txMode)}: expected CONT or ALT`);
  if (!Number.isInteger(h.txChannel) || h.txChannel < 172 || h.txChannel > 184) throw new RangeError(`immediate forward TxChannel ${h.txChannel}: expected an integer 172-184`);
  if (typeof h.signature !== 'boolean' || typeof h.encryption !== 'boolean') throw new RangeError('immediate forward Signature and Encryption must be booleans');
}

/** Every line of the text up to and including "Payload=" (the same for every message of one type). */
export function ifmPrefix(h: ImmediateForwardHeader): string {
  checkHeader(h);
  return (
    `Version=${IFM_VERSION}\n` +
    `Type=${h.type}\n` +
    `PSID=${formatPsid(h.psid)}\n` +
    `Priority=${h.priority}\n` +
    `TxMode=${h.txMode}\n` +
    `TxChannel=${h.txChannel}\n` +
    `TxInterval=0\n` +
    `DeliveryStart=\n` +
    `DeliveryStop=\n` +
    `Signature=${h.signature ? 'True' : 'False'}\n` +
    `Encryption=${h.encryption ? 'True' : 'False'}\n` +
    `Payload=`
  );
}

const HEX = '0123456789ABCDEF';
const HEX_PAIRS: Uint16Array = (() => {
  // Two ASCII digits per byte value, packed little-endian so one 16-bit store writes both.
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) t[i] = HEX.charCodeAt(i >> 4) | (HEX.charCodeAt(i & 15) << 8);
  return t;
})();

/** The datagram: `prefix` bytes, the payload in upper-case hex, LF. */
export function buildIfmDatagram(prefix: Uint8Array, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + payload.length * 2 + 1);
  out.set(prefix, 0);
  let o = prefix.length;
  for (let i = 0; i < payload.length; i++) {
    const p = HEX_PAIRS[payload[i]!]!;
    out[o++] = p & 0xff;
    out[o++] = p >> 8;
  }
  out[o] = 0x0a;
  return out;
}

/** The complete immediate forward text of one message. */
export function formatImmediateForward(h: ImmediateForwardHeader, payload: Uint8Array): string {
  return buildIfmDatagram(Buffer.from(ifmPrefix(h), 'latin1'), payload).toString('latin1');
}

/** An immediate forward text taken apart. */
export interface ParsedImmediateForward {
  /** Every field, as written (the first of repeated keys). */
  fields: Record<string, string>;
  payload: Uint8Array;
}

export class ImmediateForwardParseError extends Error {
  override name = 'ImmediateForwardParseError';
}

const VERSION_PREFIX = Buffer.from('Version=', 'latin1');

/** True when a datagram starts with "Version=", i.e. is meant as immediate forward text rather than UPER. */
export function looksLikeImmediateForward(d: Uint8Array): boolean {
  if (d.length < VERSION_PREFIX.length) return false;
  for (let i = 0; i < VERSION_PREFIX.length; i++) if (d[i] !== VERSION_PREFIX[i]) return false;
  return true;
}

/**
 * Parses an immediate forward text (LF or CRLF lines; fields in any order; unknown fields kept). Requires
 * Version and a non-empty Payload of hex digit pairs; throws ImmediateForwardParseError saying what is wrong.
 */
export function parseImmediateForward(text: string | Uint8Array): ParsedImmediateForward {
  const s = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.length).toString('latin1');
  const fields: Record<string, string> = {};
  for (const raw of s.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ImmediateForwardParseError(`line ${JSON.stringify(line.slice(0, 40))} is not Key=Value`);
    const key = line.slice(0, eq);
    if (!(key in fields)) fields[key] = line.slice(eq + 1);
  }
  if (fields.Version === undefined) throw new ImmediateForwardParseError('no Version field');
  const hex = fields.Payload?.trim();
  if (!hex) throw new ImmediateForwardParseError('no Payload');
  if (hex.length % 2 !== 0) throw new ImmediateForwardParseError(`Payload has an odd number of hex digits (${hex.length})`);
  if (!/^[0-9A-Fa-f]+$/.test(hex)) throw new ImmediateForwardParseError('Payload is not hex');
  return { fields, payload: Buffer.from(hex, 'hex') };
}

/** `Type=` names by message type when none is configured. */
export const DEFAULT_IFM_TYPE_NAMES: Readonly<Record<RadioType, string>> = { bsm: 'BSM', spat: 'SPAT', map: 'MAP', rsi: 'RSI', rsm: 'RSM' };
