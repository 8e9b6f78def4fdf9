// TIM (J2735 TravelerInformation, MessageFrame messageId 31): the J2735 counterpart of CSAE RSI. One
// TravelerDataFrame per active event, at most 8 per TIM (TravelerDataFrameList's upper bound); more events, more TIMs.
//
// Each frame is an advisory: a road sign id at the event's position (seen from every direction, MUTCD warning),
// valid from the minute it is built, one region (a circle around the event) and the event as ITIS codes.
//
// Event types in J2735 mode are ITIS codes. A J2735 deployment configures `type` as the ITIS code it wants
// sent (for example 1025 "road construction", 531 "incident"); it is sent as is. Translating CSAE event types
// (GB/T 29100) into ITIS codes is a later issue; `itisCode` is where it will go.
//
// J2735 2016 and 2020 differ only in the names of a few TravelerDataFrame components (2020 renamed the unused
// SSP rights fields `notUsed*` and fixed the `duratonTime` typo); the encodings are the same.
import type { MessageSet as StdName, RsiEvent } from '../config/types.js';
import { minuteOfYear } from './clock.js';
import { position3D } from './geo.js';
import { frameOf, isJ2735 } from './messages.js';

export interface TimContext {
  std: StdName;
  /** The RSU id as 8 bytes in hex (`rsuIdHex`): the first 8 bytes of every packetID. */
  rsuIdHex: string;
  nextMsgCnt: () => number;
}

/** An event, optionally with when it ends (a cloud event); without one it lasts until it is removed. */
export type TimEvent = RsiEvent & { untilMs?: number };

/** MinutesDuration 32000: "forever", what configured events (no end) carry. */
export const DURATION_FOREVER = 32000;
/** HeadingSlice with all 16 bits set: applies whatever the direction of travel. */
export const ALL_HEADINGS = 'FFFF';
/** Radius-B12's upper bound, in whatever DistanceUnits the circle names. */
const RADIUS_MAX = 4095;

/** The TravelerDataFrame component names that changed from J2735 2016 to 2020. */
const NAMES = {
  'j2735-2016': { rights: 'sspTimRights', duration: 'duratonTime', location: 'sspLocationRights', msg1: 'sspMsgRights1', msg2: 'sspMsgRights2' },
  'j2735-2020': { rights: 'notUsed', duration: 'durationTime', location: 'notUsed1', msg1: 'notUsed2', msg2: 'notUsed3' },
} as const;

/**
 * The ITIS code (ITIScodes, 0..65535) an event type is sent as, or undefined when there is none. J2735
 * deployments configure ITIS codes as event types, so every type in range is its own code.
 */
export function itisCode(type: number): number | undefined {
  return Number.isInteger(type) && type >= 0 && type <= 65535 ? type : undefined;
}

/** UniqueMSGID (9 octets, hex): the 8-byte RSU id and the id of the TIM's first event. */
export function packetId(rsuIdHex: string, eventId: number): string {
  const rsu = rsuIdHex.toUpperCase().padStart(16, '0').slice(-16);
  return rsu + (eventId & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

/** A circle's radius in Radius-B12: metres, or whole kilometres (rounded up) beyond 4095 m. */
export function circleRadius(radiusM: number): { radius: number; units: 'meter' | 'kilometer' } {
  const m = Math.max(0, Math.round(radiusM));
  if (m <= RADIUS_MAX) return { radius: m, units: 'meter' };
  return { radius: Math.min(RADIUS_MAX, Math.ceil(radiusM / 1000)), units: 'kilometer' };
}

/** MinutesDuration from `atMs` to the event's end: 32000 (forever) without an end, else 1..31999 minutes. */
export function durationMinutes(e: TimEvent, atMs: number): number {
  if (e.untilMs === undefined) return DURATION_FOREVER;
  return Math.max(1, Math.min(DURATION_FOREVER - 1, Math.ceil((e.untilMs - atMs) / 60000)));
}

/** ITIScodesAndText: the event's ITIS code, then its description when it is ASCII text (ITIStext is IA5String). */
function advisory(e: TimEvent): { item: { itis: number } | { text: string } }[] {
  const items: { item: { itis: number } | { text: string } }[] = [];
  const code = itisCode(e.type);
  if (code !== undefined) items.push({ item: { itis: code } });
  if (e.description && /^[\x20-\x7e]+$/.test(e.description)) items.push({ item: { text: e.description.slice(0, 500) } });
  return items;
}

function dataFrame(e: TimEvent, atMs: number, std: 'j2735-2016' | 'j2735-2020'): Record<string, unknown> | undefined {
  const content = advisory(e);
  if (!content.length) return undefined; // nothing a vehicle could show
  const n = NAMES[std];
  const pos = position3D({ lat: e.lat, lon: e.lon });
  return {
    [n.rights]: 0,
    frameType: 'advisory',
    msgId: { roadSignID: { position: pos, viewAngle: ALL_HEADINGS, mutcdCode: 'warning' } },
    startYear: new Date(atMs).getUTCFullYear(),
    startTime: minuteOfYear(atMs),
    [n.duration]: durationMinutes(e, atMs),
    priority: Math.max(0, Math.min(7, Math.round(e.priority))),
    [n.location]: 0,
    regions: [{ description: { geometry: { direction: ALL_HEADINGS, circle: { center: pos, ...circleRadius(e.radiusM) } } } }],
    [n.msg1]: 0,
    [n.msg2]: 0,
    content: { advisory: content },
  };
}

/** TIMs (J2735 MessageFrames, messageId 31) for the active events; [] when there are none. */
export function buildTim(events: TimEvent[], atMs: number, ctx: TimContext): unknown[] {
  if (!isJ2735(ctx.std)) throw new Error(`TIM is a J2735 message; ${ctx.std} sends RSI`);
  const std = ctx.std === 'j2735-2016' ? 'j2735-2016' : 'j2735-2020';
  const frames = events.map((e) => ({ e, f: dataFrame(e, atMs, std) })).filter((x) => x.f !== undefined);
  const out: unknown[] = [];
  for (let i = 0; i < frames.length; i += 8) {
    const chunk = frames.slice(i, i + 8);
    out.push(
      frameOf(ctx.std, 'rsi', {
        msgCnt: ctx.nextMsgCnt(),
        timeStamp: minuteOfYear(atMs),
        packetID: packetId(ctx.rsuIdHex, chunk[0]!.e.id),
        dataFrames: chunk.map((x) => x.f),
      }),
    );
  }
  return out;
}
