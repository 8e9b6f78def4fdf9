// Event and sign type codes, one table for every message set: GB/T 29100-2012 event types (CSAE / YD/T 3709 RSI
// `eventType`), GB 5768.2 sign types (RSI `signType`), and SAE J2540.2 ITIS codes (J2735 TIM `advisory` items).
//
// Every entry says where its value comes from and whether that source confirms it. The standards' own texts are not
// freely available; values were confirmed from public code bases that use them (see README.md, "Codes and their
// sources"). A value the sources did not confirm is listed as `code: null` (GB/T 29100) or with
// `confirmed: false` (a candidate, never sent unless the deployer opts in): the detector does not send a code it
// cannot stand behind, and a deployer who has the standard configures the missing ones (`EventDetectorOptions.codes`).
import type { MessageSet, SignKind } from '../../config/types.js';

/** What the detectors report, plus the configured signs. */
export const EVENT_KINDS = [
  'stopped-vehicle',
  'vru-in-roadway',
  'wrong-way',
  'queue',
  'speeding',
  'road-works',
  'speed-limit',
  'school-zone',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** The code families: GB/T 29100 event types and GB 5768.2 sign types (CSAE sets), ITIS (J2735 sets). */
export type CodeFamily = 'gbt29100' | 'gb5768' | 'itis';

export interface CodeValue {
  /** The code, or null when no source confirmed one. */
  code: number | null;
  /** The code's name in its standard (English, and the Chinese name where the source gives it). */
  name: string;
  /** True when at least one source listed in README.md states this value for this meaning. */
  confirmed: boolean;
  /** Where the value comes from, or why it is missing. */
  source: string;
}

export interface CodeEntry {
  kind: EventKind;
  description: string;
  /** CSAE RSI: RTEData.eventType (GB/T 29100-2012) for events; absent for signs. */
  gbt29100?: CodeValue;
  /** CSAE RSI: RTSData.signType (GB 5768.2-2009 sign index) for signs. */
  gb5768?: CodeValue;
  /** J2735 TIM: ITIS code (SAE J2540.2). */
  itis: CodeValue;
}

const SRC = {
  gb707:
    'two open-source CSAE RSI implementations: a GB/T 29100-2012 enum (GB_EVENT_707 交通拥堵) and an asn1c RSI example (rte->eventType = 707, 道路拥堵)',
  gbSign:
    'open-source RSU header enumerating GB 5768.2-2009 sign indexes for RSI (GbSignType), and an RSI sign display dialog (Warn_Type) with the same numbers',
  disabledVehicle:
    'J2735 DisabledVehicle.statusDetails ASN.1 comment (codes 532..541 from J2540), reproduced in usdot-jpo-ode/jpo-ode and in CARMA j2735_v2x_msgs DisabledVehicle.msg',
  itisTables: 'ITIS tables in kjg0898/J2735_mistTIMGen (ItisCodes.java) and an ITIS lookup module derived from v2xlib J2540ITIS',
  itisTable: 'ITIS lookup module derived from v2xlib J2540ITIS (one source)',
  none: 'not found in any source searched; configure it from the standard (EventDetectorOptions.codes)',
};

export const CODE_TABLE: readonly CodeEntry[] = [
  {
    kind: 'stopped-vehicle',
    description: 'vehicle stopped in a travel lane beyond the configured time (breakdown or accident)',
    gbt29100: { code: null, name: '车辆故障/抛锚 (vehicle breakdown)', confirmed: false, source: SRC.none },
    itis: { code: 532, name: 'stalled-vehicle', confirmed: true, source: SRC.disabledVehicle },
  },
  {
    kind: 'vru-in-roadway',
    description: 'pedestrian or cyclist in a vehicle lane outside a crosswalk',
    gbt29100: { code: null, name: '行人/非机动车闯入 (pedestrian on the roadway)', confirmed: false, source: SRC.none },
    itis: { code: 1286, name: 'people-on-roadway', confirmed: true, source: SRC.itisTables },
  },
  {
    kind: 'wrong-way',
    description: 'vehicle moving against the lane direction',
    gbt29100: { code: null, name: '车辆逆行 (wrong-way driving)', confirmed: false, source: SRC.none },
    itis: { code: 1793, name: 'vehicle-traveling-wrong-way', confirmed: true, source: SRC.itisTables },
  },
  {
    kind: 'queue',
    description: 'queue / congestion on an approach',
    gbt29100: { code: 707, name: '交通拥堵 (traffic congestion)', confirmed: true, source: SRC.gb707 },
    itis: {
      code: 262,
      name: 'long-queues (Traffic Conditions category, 257..)',
      confirmed: false,
      source: 'candidate from memory of J2540.2; not found in any source searched',
    },
  },
  {
    kind: 'speeding',
    description: 'vehicle over the lane speed limit by the configured margin',
    gbt29100: { code: null, name: '超速行驶 (speeding)', confirmed: false, source: SRC.none },
    itis: {
      code: null,
      name: 'no ITIS phrase for "speeding vehicle" was found (candidates: reckless-driver 1794, observe-speed-limits 7444)',
      confirmed: false,
      source: SRC.none,
    },
  },
  {
    kind: 'road-works',
    description: 'configured: road works',
    gb5768: { code: 38, name: '道路施工 (road works)', confirmed: true, source: SRC.gbSign },
    itis: { code: 1025, name: 'road-construction', confirmed: true, source: SRC.itisTable + '; also runtime/apps/tim.ts' },
  },
  {
    kind: 'speed-limit',
    description: 'configured: speed limit sign',
    gb5768: { code: 85, name: '限制速度 (speed limit)', confirmed: true, source: SRC.gbSign },
    itis: { code: 2564, name: 'speed-restriction', confirmed: true, source: SRC.itisTable },
  },
  {
    kind: 'school-zone',
    description: 'configured: school zone sign',
    gb5768: { code: 242, name: '前方学校 (school ahead)', confirmed: true, source: SRC.gbSign },
    itis: { code: null, name: 'school zone', confirmed: false, source: SRC.none },
  },
];

/**
 * Other GB/T 29100, GB 5768.2 and ITIS codes the sources confirm (accepted by checkEventCode; not produced by the
 * detectors). The GB 5768.2 ones are stated by at least two of: the RSU header, the RSI sign display dialog, an asn1c
 * RSI example and the SignType comment of the CSAE RSI module (README.md, "Codes and their sources").
 */
export const OTHER_KNOWN_CODES: Readonly<Record<CodeFamily, ReadonlyArray<{ code: number; name: string }>>> = {
  gb5768: [
    { code: 1, name: '交叉路口 (crossroads)' },
    { code: 2, name: '急弯路 (sharp turn)' },
    { code: 15, name: '注意落石 (falling rocks)' },
    { code: 17, name: '易滑 (slippery road)' },
    { code: 37, name: '注意危险 (danger)' },
    { code: 81, name: '限制宽度 (width limit)' },
    { code: 82, name: '限制高度 (height limit)' },
  ],
  gbt29100: [
    { code: 407, name: '道路积水 (water on the road)' },
    { code: 408, name: '道路湿滑 (slippery road)' },
  ],
  itis: [
    { code: 513, name: 'accident' },
    { code: 531, name: 'incident' },
    { code: 533, name: 'abandoned-vehicle' },
    { code: 534, name: 'disabled-vehicle' },
    { code: 540, name: 'vehicle-on-fire' },
    { code: 1281, name: 'obstruction-on-roadway' },
    { code: 1794, name: 'reckless-driver' },
    { code: 7443, name: 'reduce-your-speed' },
    { code: 7444, name: 'observe-speed-limits' },
  ],
};

export const isJ2735Set = (std: MessageSet): boolean => std.startsWith('j2735');

/** The entry for a kind. */
export function codeEntry(kind: EventKind): CodeEntry {
  const e = CODE_TABLE.find((c) => c.kind === kind);
  if (!e) throw new Error(`unknown event kind "${kind}" (known: ${EVENT_KINDS.join(', ')})`);
  return e;
}

/** Which family a kind's code comes from in a message set. */
export function familyOf(std: MessageSet, kind: EventKind): CodeFamily {
  if (isJ2735Set(std)) return 'itis';
  return codeEntry(kind).gb5768 ? 'gb5768' : 'gbt29100';
}

/** Per-kind overrides: a code for a message-set family (from the deployer's copy of the standard). */
export type CodeOverrides = Partial<Record<EventKind, Partial<Record<'csae' | 'j2735', number>>>>;

export interface CodeLookup {
  /** The code to send, or undefined when there is none the RSU can stand behind. */
  code: number | undefined;
  family: CodeFamily;
  value: CodeValue;
  /** 'table' (confirmed), 'override' (configured), 'unconfirmed' (candidate used because allowUnconfirmed). */
  from?: 'table' | 'override' | 'unconfirmed';
}

/**
 * The code a kind is sent with in a message set: the override if configured, else the table's value when it is
 * confirmed (or, with `allowUnconfirmed`, a candidate value), else undefined.
 */
export function eventCode(
  kind: EventKind,
  std: MessageSet,
  opts: { overrides?: CodeOverrides; allowUnconfirmed?: boolean } = {},
): CodeLookup {
  const entry = codeEntry(kind);
  const family = familyOf(std, kind);
  const value = (family === 'itis' ? entry.itis : family === 'gb5768' ? entry.gb5768 : entry.gbt29100)!;
  const ov = opts.overrides?.[kind]?.[isJ2735Set(std) ? 'j2735' : 'csae'];
  if (ov !== undefined) return { code: ov, family, value, from: 'override' };
  if (value.code !== null && value.confirmed) return { code: value.code, family, value, from: 'table' };
  if (value.code !== null && opts.allowUnconfirmed) return { code: value.code, family, value, from: 'unconfirmed' };
  return { code: undefined, family, value };
}

/** A configured or cloud sign: its kind, or a code of its own (which wins). */
export interface SignCodeSource {
  kind?: SignKind;
  type?: number;
}

/**
 * The sign type a sign is sent with in a message set: its `type` when given, else its kind's confirmed code (GB
 * 5768.2 for CSAE, ITIS for J2735); undefined when there is none (see signCodeProblem).
 */
export function signTypeCode(sign: SignCodeSource, std: MessageSet): number | undefined {
  if (sign.type !== undefined) return sign.type;
  return sign.kind ? eventCode(sign.kind, std).code : undefined;
}

/** Why a sign has no code to send in a message set, or undefined when it has one. */
export function signCodeProblem(sign: SignCodeSource, std: MessageSet): string | undefined {
  if (sign.type !== undefined) return undefined;
  if (!sign.kind) return 'missing: a sign needs a kind (road-works, speed-limit, school-zone) or a type code';
  const c = eventCode(sign.kind, std);
  if (c.code !== undefined) return undefined;
  return `no confirmed ${FAMILY_NAME[c.family]} for a ${sign.kind} sign in ${std} (none of the sources found confirms one): give the code from your copy of the standard as type`;
}

/**
 * Why an event type cannot be right for a message set, or undefined. Codes the tables do not know are accepted
 * (the standards are not available in full, a deployer or the cloud may use codes we have not seen); a code
 * that is a known code of the *other* family (an ITIS code sent to a CSAE RSU, or a GB/T 29100 type to a J2735 one)
 * and not of this one is refused: that is a mix-up of standards, not a new code.
 */
export function eventCodeProblem(type: number, std: MessageSet): string | undefined {
  const family = eventFamily(std);
  if (knownCodes(family).has(type)) return undefined;
  const hint = otherFamilyHint(type, family, std);
  return hint ? `unknown event code ${type} for ${std}: not a known ${FAMILY_NAME[family]}${hint}` : undefined;
}

/** Every known code of a family: the table's confirmed values and OTHER_KNOWN_CODES. */
export function knownCodes(family: CodeFamily): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of CODE_TABLE) {
    const v = family === 'itis' ? e.itis : family === 'gb5768' ? e.gb5768 : e.gbt29100;
    if (v && v.code !== null && v.confirmed) out.set(v.code, `${v.name} (${e.kind})`);
  }
  for (const o of OTHER_KNOWN_CODES[family]) out.set(o.code, o.name);
  return out;
}

export class EventCodeError extends Error {
  constructor(
    message: string,
    readonly std: MessageSet,
    readonly type: unknown,
  ) {
    super(message);
    this.name = 'EventCodeError';
  }
}

const FAMILY_NAME: Record<CodeFamily, string> = {
  gbt29100: 'GB/T 29100-2012 event type',
  gb5768: 'GB 5768.2 sign type',
  itis: 'ITIS code (J2540.2)',
};

/** The family of event codes a message set sends (sign types aside). */
function eventFamily(std: MessageSet): CodeFamily {
  return isJ2735Set(std) ? 'itis' : 'gbt29100';
}

/** '; N is an ITIS code (name), but csae2020 sends …' when N is a known code of another family, else ''. */
function otherFamilyHint(type: number, family: CodeFamily, std: MessageSet): string {
  const other: CodeFamily = family === 'itis' ? 'gbt29100' : 'itis';
  const otherName = knownCodes(other).get(type) ?? (family === 'itis' ? knownCodes('gb5768').get(type) : undefined);
  if (!otherName) return '';
  const otherFam = FAMILY_NAME[family === 'itis' ? (knownCodes(other).has(type) ? other : 'gb5768') : other];
  return `; ${type} is ${family === 'itis' ? 'a' : 'an'} ${otherFam} (${otherName}), but ${std} sends ${FAMILY_NAME[family]}s`;
}

/**
 * Checks an event type code for a message set (a downlink or configured event). Throws EventCodeError naming the
 * code and the problem: not an integer, outside 0..65535 (EventType / ITIScodes), or not a known code of the set's
 * family, saying so when it is a code of the other family (an ITIS code sent to a CSAE set or the reverse).
 * `allowUnknown` accepts in-range codes the table does not list (the table is partial; a deployer with the
 * standard may send others). `extra` adds codes the deployment knows. Returns the code's name when known.
 */
export function checkEventCode(
  std: MessageSet,
  type: unknown,
  opts: { allowUnknown?: boolean; extra?: Iterable<number>; family?: 'event' | 'sign'; where?: string } = {},
): string | undefined {
  const where = opts.where ?? 'type';
  const family: CodeFamily = opts.family === 'sign' && !isJ2735Set(std) ? 'gb5768' : eventFamily(std);
  const fam = FAMILY_NAME[family];
  if (typeof type !== 'number' || !Number.isInteger(type))
    throw new EventCodeError(`${where}: bad event code ${JSON.stringify(type)}: a ${fam} must be an integer`, std, type);
  if (type < 0 || type > 65535)
    throw new EventCodeError(`${where}: bad event code ${type}: a ${fam} is 0..65535 (${std})`, std, type);
  const known = knownCodes(family);
  const name = known.get(type);
  if (name !== undefined) return name;
  if (opts.extra) for (const c of opts.extra) if (c === type) return undefined;
  if (opts.allowUnknown) return undefined;
  const hint = otherFamilyHint(type, family, std);
  const list = [...known].map(([c, n]) => `${c} ${n}`).join(', ');
  throw new EventCodeError(`${where}: unknown event code ${type} for ${std}: not a known ${fam}${hint} (known: ${list})`, std, type);
}
