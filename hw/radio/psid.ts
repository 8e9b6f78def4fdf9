// PSIDs / AIDs per message type, and the IEEE 1609.12 p-encoding they are written in (sources in README.md).
//
// An IEEE 1609.12 PSID is an integer 0..270549119. Radios and the RSU 4.1 immediate forward text write it in
// its "p-encoded" form, whose length prefix is in the leading bits: 1 octet 0x00-0x7F (PSID 0..127), 2 octets
// 0x8000-0xBFFF (PSID 128..16511), 3 octets 0xC00000-0xDFFFFF, 4 octets 0xE0000000-0xEFFFFFFF. So the SPAT/MAP
// PSID written "0x8002" (p-encoded 0p80-02) is the integer 130, and BSM's 0x20 is 32 either way. The config
// (runtime/config) takes PSIDs in the p-encoded form; the CSAE/China AIDs below are integers, so they are
// p-encoded before they go into the text.

import type { RadioType } from './types.js';

const P_RANGES: ReadonlyArray<{ lo: number; hi: number; base: number }> = [
  { lo: 0x00, hi: 0x7f, base: 0 },
  { lo: 0x8000, hi: 0xbfff, base: 0x80 },
  { lo: 0xc00000, hi: 0xdfffff, base: 0x4080 },
  { lo: 0xe0000000, hi: 0xefffffff, base: 0x204080 },
];

/** Largest PSID (IEEE 1609.12): 0x1020407F. */
export const MAX_PSID = 0x1020407f;

/** True when `n` is a valid p-encoded PSID (0x00-0x7F, 0x8000-0xBFFF, 0xC00000-0xDFFFFF, 0xE0000000-0xEFFFFFFF). */
export function isPEncoded(n: number): boolean {
  return Number.isInteger(n) && P_RANGES.some((r) => n >= r.lo && n <= r.hi);
}

/** The p-encoded form of PSID (or ITS-AID) integer `psid`: 130 → 0x8002, 3618 → 0x8DA2. */
export function pEncodePsid(psid: number): number {
  if (!Number.isInteger(psid) || psid < 0 || psid > MAX_PSID) throw new RangeError(`PSID ${psid} is outside 0..${MAX_PSID}`);
  for (const r of P_RANGES) {
    const v = psid - r.base + r.lo;
    if (v >= r.lo && v <= r.hi) return v;
  }
  throw new RangeError(`PSID ${psid} cannot be p-encoded`); // unreachable: the ranges cover 0..MAX_PSID
}

/** The PSID integer of p-encoded value `p`: 0x8002 → 130. */
export function pDecodePsid(p: number): number {
  for (const r of P_RANGES) if (Number.isInteger(p) && p >= r.lo && p <= r.hi) return p - r.lo + r.base;
  throw new RangeError(`0x${p.toString(16)} is not a p-encoded PSID`);
}

/** A p-encoded PSID as the immediate forward text writes it: "0x" and upper-case hex digits ("0x8002", "0xE0000017"). */
export function formatPsid(p: number): string {
  if (!isPEncoded(p)) throw new RangeError(`PSID 0x${p.toString(16)} is not p-encodable`);
  return `0x${p.toString(16).toUpperCase()}`;
}

/** PSID (p-encoded) and radio channel of one message type. */
export interface PsidChannel {
  psid: number;
  channel: number;
  /** The immediate forward `Type=` name. */
  typeName: string;
}

/**
 * SAE J2735 deployments (USDOT RSU 4.1): BSM 0x20 (IEEE RA PSID listing: "vehicle to vehicle safety and
 * awareness"), SPAT and MAP 0x8002, TIM 0x8003, as V2X Hub's ImmediateForwardPlugin sends them; channel 183
 * (C-V2X, V2X Hub's default). RSI goes out as J2735 TIM (Type=TIM, 0x8003). RSM has no J2735 counterpart and
 * no PSID here: configure one. Note: runtime/config defaults MAP to 0xE0000017 instead (the private-range
 * PSID older RSU firmware and MMITSS use); a config always supplies its own values.
 * Checked against the ISO/TC 204 RITSI ITS-AID registry (ISO 5345; github ISO-TC204/iso5345, its-aid.md):
 * 0x20 "vehicle to vehicle safety and awareness" (SAE J2945/1), 0x82 = 0p80.02 "Intersection safety and
 * awareness" (SAE J2735), 0x83 = 0p80.03 "Traveler information and roadside signage" (SAE J2735). Wireshark's
 * WSMP dissector names 0x20 and 130 the same way and decodes 1609.2 only under them.
 */
export const J2735_PSIDS: Readonly<Partial<Record<RadioType, PsidChannel>>> = {
  bsm: { psid: 0x20, channel: 183, typeName: 'BSM' },
  spat: { psid: 0x8002, channel: 183, typeName: 'SPAT' },
  map: { psid: 0x8002, channel: 183, typeName: 'MAP' },
  rsi: { psid: 0x8003, channel: 183, typeName: 'TIM' },
};

/**
 * China LTE-V2X application identifiers (AIDs, integers) of the CSAE messages, as a vendor LTE-V2X SDK's
 * constants give them (YD/T 3707-2020 assigns them nationally; the standard's text was not at hand: check them
 * against your radio's documentation). BSM has four AIDs (111-114) and RSI three (3620-3622) by application;
 * the first of each is used. They are not in the international registry: the ISO/TC 204 RITSI ITS-AID list
 * (ISO 5345; github ISO-TC204/iso5345, its-aid.md) marks both ranges they fall in, 0x6F-0x7E (111-126) and
 * 0x0E20-0x3E7F (3616-15999), "not yet available for assignments", so they collide with no registered PSID.
 */
export const CSAE_AIDS: Readonly<Record<RadioType, number>> = {
  bsm: 111,
  map: 3618,
  spat: 3619,
  rsi: 3620,
  rsm: 3623,
};

/** CSAE_AIDS p-encoded for the PSID field of an immediate forward text, on channel 183. */
export const CSAE_PSIDS: Readonly<Record<RadioType, PsidChannel>> = {
  bsm: { psid: pEncodePsid(CSAE_AIDS.bsm), channel: 183, typeName: 'BSM' },
  map: { psid: pEncodePsid(CSAE_AIDS.map), channel: 183, typeName: 'MAP' },
  spat: { psid: pEncodePsid(CSAE_AIDS.spat), channel: 183, typeName: 'SPAT' },
  rsi: { psid: pEncodePsid(CSAE_AIDS.rsi), channel: 183, typeName: 'RSI' },
  rsm: { psid: pEncodePsid(CSAE_AIDS.rsm), channel: 183, typeName: 'RSM' },
};
