// TIM (J2735 TravelerInformation, MessageFrame messageId 31): the J2735 counterpart of CSAE RSI. One
// TravelerDataFrame per active event or sign, at most 8 per TIM (TravelerDataFrameList's upper bound); more, more TIMs.
//
// An event's frame is an advisory: a road sign id at the event's position (seen from every direction, MUTCD
// warning), valid from the event's start (else the minute it is built) for its duration (to its end or expiry, else
// "forever"), its regions (first a circle around the event, then each reference path as a path of node-LL offsets
// with the path's width) and the event as ITIS codes. A sign's frame is road signage: work zone (MUTCD maintenance),
// speed limit (regulatory; the limit as text) or a generic sign, with its ITIS code (codes.ts). Reference links (MAP
// node pairs) have no TIM counterpart and are not sent.
//
// Event types in J2735 mode are ITIS codes. A J2735 deployment configures `type` as the ITIS code it wants
// sent (for example 1025 "road construction", 531 "incident"); it is sent as is. Translating CSAE event types
// (GB/T 29100) into ITIS codes is a later issue; `itisCode` is where it will go.
//
// J2735 2016 and 2020 differ only in the names of a few TravelerDataFrame components (2020 renamed the unused
// SSP rights fields `notUsed*` and fixed the `duratonTime` typo); the encodings are the same.
import type { MessageSet as StdName, RsiEvent, RsiReferencePath, RsiSign } from '../config/types.js';
import { signTypeCode } from './events/codes.js';
import { isoTimeMs, minuteOfYear } from './clock.js';
import { deg7, position3D } from './geo.js';
import { frameOf, isJ2735 } from './messages.js';

export interface TimContext {
  std: StdName;
  /** The RSU id as 8 bytes in hex (`rsuIdHex`): the first 8 bytes of every packetID. */
  rsuIdHex: string;
  nextMsgCnt: () => number;
}

/** An active event or sign; a cloud-issued one carries when it expires (`untilMs`). Shared with rsi.ts. */
export type ActiveEvent = RsiEvent & { untilMs?: number };
export type ActiveSign = RsiSign & { untilMs?: number };

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

/** When an event or sign ends: the earlier of its endTime and its expiry (cloud), or undefined. */
function endOf(e: { endTime?: string; untilMs?: number }): number | undefined {
  const ends = [isoTimeMs(e.endTime) ?? NaN, e.untilMs ?? NaN].filter(Number.isFinite);
  return ends.length ? Math.min(...ends) : undefined;
}

/** When a frame starts: the event's startTime when it has one, else `atMs` (the minute it is built). */
export function startOf(e: { startTime?: string }, atMs: number): number {
  return isoTimeMs(e.startTime) ?? atMs;
}

/**
 * MinutesDuration from `startMs` to the event's end (the earlier of its endTime and expiry): 32000 (forever)
 * without an end, else 1..31999 minutes, rounded up.
 */
export function durationMinutes(e: { endTime?: string; untilMs?: number }, startMs: number): number {
  const end = endOf(e);
  if (end === undefined) return DURATION_FOREVER;
  return Math.max(1, Math.min(DURATION_FOREVER - 1, Math.ceil((end - startMs) / 60000)));
}

type Item = { item: { itis: number } | { text: string } };

/** ITIScodesAndText: the event's ITIS code, then its description when it is ASCII text (ITIStext is IA5String). */
function advisory(e: ActiveEvent): Item[] {
  const items: Item[] = [];
  const code = itisCode(e.type);
  if (code !== undefined) items.push({ item: { itis: code } });
  if (e.description && /^[\x20-\x7e]+$/.test(e.description)) items.push({ item: { text: e.description.slice(0, 500) } });
  return items;
}

/** ASCII text as ITIStextPhrases (1..16 characters each), split at spaces where it can be. */
export function textPhrases(text: string | undefined): string[] {
  if (!text || !/^[\x20-\x7e]+$/.test(text)) return [];
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(' ').filter(Boolean)) {
    for (let w = word; w.length; ) {
      if (!cur && w.length > 16) {
        out.push(w.slice(0, 16));
        w = w.slice(16);
      } else if (!cur) {
        cur = w;
        w = '';
      } else if (cur.length + 1 + w.length <= 16) {
        cur += ` ${w}`;
        w = '';
      } else {
        out.push(cur);
        cur = '';
      }
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** TravelerDataFrame content and MUTCD code of a sign, by kind. */
const SIGN_TIM: Record<NonNullable<RsiSign['kind']> | 'other', { content: 'workZone' | 'speedLimit' | 'genericSign'; mutcd?: string }> = {
  'road-works': { content: 'workZone', mutcd: 'maintenance' },
  'speed-limit': { content: 'speedLimit', mutcd: 'regulatory' },
  'school-zone': { content: 'genericSign', mutcd: 'warning' },
  other: { content: 'genericSign' },
};

/** A sign's items (1..16): its ITIS code, the speed limit as text, then its description as text phrases. */
function signItems(s: ActiveSign, code: number): Item[] {
  const items: Item[] = [{ item: { itis: code } }];
  if (s.kind === 'speed-limit' && s.speedLimitKmh !== undefined) items.push({ item: { text: `${s.speedLimitKmh} km/h` } });
  for (const p of textPhrases(s.description)) items.push({ item: { text: p } });
  return items.slice(0, 16);
}

const NODE_LL: [string, number][] = [
  ['node-LL1', 2047],
  ['node-LL2', 8191],
  ['node-LL3', 32767],
  ['node-LL4', 131071],
  ['node-LL5', 2097151],
  ['node-LL6', 8388607],
];

/** NodeOffsetPointLL: the smallest node-LL form holding a step (1e-7 degree), else the absolute position. */
function nodeLL(dlon: number, dlat: number, abs: { lon: number; lat: number }): Record<string, { lon: number; lat: number }> {
  for (const [alt, max] of NODE_LL) if (dlon >= -(max + 1) && dlon <= max && dlat >= -(max + 1) && dlat <= max) return { [alt]: { lon: dlon, lat: dlat } };
  return { 'node-LatLon': abs };
}

/**
 * A reference path as a GeographicalPath: anchored at its first point, the points as node-LL steps (the first from
 * the anchor), in the direction of travel (`forward`), as wide as twice the path radius. Undefined under 2 points.
 */
export function pathRegion(p: RsiReferencePath): Record<string, unknown> | undefined {
  if (p.points.length < 2) return undefined;
  const pts = p.points.slice(0, 63).map((q) => ({ lat: deg7(q.lat), lon: deg7(q.lon) }));
  let prev = pts[0]!;
  const nodes = pts.map((q) => {
    const d = nodeLL(q.lon - prev.lon, q.lat - prev.lat, q);
    prev = q;
    return { delta: d };
  });
  return {
    anchor: position3D(p.points[0]!),
    laneWidth: Math.max(0, Math.min(32767, Math.round(p.radiusM * 200))),
    directionality: 'forward',
    closedPath: false,
    direction: ALL_HEADINGS,
    description: { path: { offset: { ll: { nodes } } } },
  };
}

/** The frame's regions: a circle around the position, then each reference path (16 at most). */
function regions(x: ActiveEvent | ActiveSign): unknown[] {
  const pos = position3D({ lat: x.lat, lon: x.lon });
  const circle = { description: { geometry: { direction: ALL_HEADINGS, circle: { center: pos, ...circleRadius(x.radiusM) } } } };
  const paths = (x.referencePaths ?? []).map(pathRegion).filter((r) => r !== undefined);
  return [circle, ...paths].slice(0, 16);
}

function frame(
  x: ActiveEvent | ActiveSign,
  atMs: number,
  std: 'j2735-2016' | 'j2735-2020',
  kind: { frameType: 'advisory' | 'roadSignage'; mutcd?: string; content: Record<string, Item[]> },
): Record<string, unknown> {
  const n = NAMES[std];
  const pos = position3D({ lat: x.lat, lon: x.lon });
  const start = startOf(x, atMs);
  return {
    [n.rights]: 0,
    frameType: kind.frameType,
    msgId: { roadSignID: { position: pos, viewAngle: ALL_HEADINGS, ...(kind.mutcd ? { mutcdCode: kind.mutcd } : {}) } },
    startYear: new Date(start).getUTCFullYear(),
    startTime: minuteOfYear(start),
    [n.duration]: durationMinutes(x, start),
    priority: Math.max(0, Math.min(7, Math.round(x.priority))),
    [n.location]: 0,
    regions: regions(x),
    [n.msg1]: 0,
    [n.msg2]: 0,
    content: kind.content,
  };
}

function dataFrame(e: ActiveEvent, atMs: number, std: 'j2735-2016' | 'j2735-2020'): Record<string, unknown> | undefined {
  const content = advisory(e);
  if (!content.length) return undefined; // nothing a vehicle could show
  return frame(e, atMs, std, { frameType: 'advisory', mutcd: 'warning', content: { advisory: content } });
}

/** A sign's frame, or undefined when it has no ITIS code for the set (codes.ts: school zone is not confirmed). */
function signFrame(s: ActiveSign, atMs: number, std: 'j2735-2016' | 'j2735-2020'): Record<string, unknown> | undefined {
  const code = itisCode(signTypeCode(s, std) ?? NaN);
  if (code === undefined) return undefined;
  const k = SIGN_TIM[s.kind ?? 'other'];
  return frame(s, atMs, std, { frameType: 'roadSignage', mutcd: k.mutcd, content: { [k.content]: signItems(s, code) } });
}

/** TIMs (J2735 MessageFrames, messageId 31) for the active events and signs; [] when there are none. */
export function buildTim(events: ActiveEvent[], atMs: number, ctx: TimContext, signs: ActiveSign[] = []): unknown[] {
  if (!isJ2735(ctx.std)) throw new Error(`TIM is a J2735 message; ${ctx.std} sends RSI`);
  const std = ctx.std === 'j2735-2016' ? 'j2735-2016' : 'j2735-2020';
  const frames = [
    ...events.map((e) => ({ e: e as ActiveEvent | ActiveSign, f: dataFrame(e, atMs, std) })),
    ...signs.map((s) => ({ e: s as ActiveEvent | ActiveSign, f: signFrame(s, atMs, std) })),
  ].filter((x) => x.f !== undefined);
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
