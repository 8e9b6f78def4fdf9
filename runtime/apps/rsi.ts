// RSI (CSAE) for road traffic events and signs: one RTEData per active event (at most 8 per message, RTEList) and
// one RTSData per active sign (at most 16 per message, RTSList); more of either, more messages. In J2735 mode the
// same events and signs go out as TIMs (tim.ts).
//
// Each RTE/RTS carries what the event or sign says: its type code (GB/T 29100 event type, GB 5768.2 sign type),
// position, radius (events), priority, description, start/end time (RSITimeDetails), reference paths (the stretch
// of road it applies to, from the MAP or configured) and reference links (MAP node pairs, with lanes).
//
// csae2019 and csae2020 differ here only in PathPointList: 1..32 points in 2019, 2..32 in YD/T 3709-2020. Paths
// with fewer than 2 points are not sent in either (config and downlink require 2; a round area is the event's
// position and radius), so one value encodes in both.
import type { MessageSet as StdName, RsiReferenceLink, RsiReferencePath, RsiSign } from '../config/types.js';
import { signTypeCode } from './events/codes.js';
import { isoTimeMs, minuteOfYear } from './clock.js';
import { offsetLL, position3D, type LatLon } from './geo.js';
import { frameOf, isJ2735 } from './messages.js';
import { buildTim, type ActiveEvent, type ActiveSign } from './tim.js';

export type { ActiveEvent, ActiveSign };

export interface RsiContext {
  std: StdName;
  rsuIdHex: string;
  ref: LatLon;
  nextMsgCnt: () => number;
}


/** RTEList and RTSList upper bounds (RSI.asn). */
export const MAX_RTES = 8;
export const MAX_RTSS = 16;
/** ReferencePathList, PathPointList and ReferenceLinkList upper bounds. */
export const MAX_PATHS = 8;
export const MAX_PATH_POINTS = 32;
export const MAX_LINKS = 16;
/** MinuteOfTheYear: 527040 means invalid, so the last valid minute is 527039. */
const MOY_MAX = 527039;

/** Radius (0.1 m, 0..65535). */
export function radius01(m: number): number {
  return Math.max(0, Math.min(65535, Math.round(m * 10)));
}

/** RSIPriority: the upper three bits, 0 lowest .. 7 highest; the lower five are zero. One octet in hex. */
export function rsiPriority(p: number): string {
  return ((Math.max(0, Math.min(7, Math.round(p))) << 5) & 0xe0).toString(16).padStart(2, '0').toUpperCase();
}

/** Description: ASCII text (IA5String, 1..512); anything else is left out. */
function description(text: string | undefined): { textString: string } | undefined {
  return text && /^[\x20-\x7e]{1,512}$/.test(text) ? { textString: text } : undefined;
}

/** At most `max` points, keeping the first and the last. */
export function thinPoints<T>(pts: readonly T[], max: number): T[] {
  if (pts.length <= max) return [...pts];
  return Array.from({ length: max }, (_, i) => pts[Math.round((i * (pts.length - 1)) / (max - 1))]!);
}

/** An ISO 8601 time as ms since the epoch, or undefined when absent or unreadable. */
export function timeMs(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : isoTimeMs(iso);
}

/** When an event or sign ends: the earlier of its endTime and (cloud) expiry, or undefined. */
export function endMs(x: { endTime?: string; untilMs?: number }): number | undefined {
  const ends = [timeMs(x.endTime), x.untilMs].filter((v): v is number => v !== undefined && Number.isFinite(v));
  return ends.length ? Math.min(...ends) : undefined;
}

/**
 * RSITimeDetails for a start and end, in MinuteOfTheYear of the year of `atMs` (UTC; the field has no year). A start
 * in an earlier year is sent as minute 0 (active since the year began); a start or end in a later year cannot be
 * stated and is left out. The start is rounded down, the end up. Undefined when there is nothing to state.
 */
export function rsiTimeDetails(x: { startTime?: string; endTime?: string; untilMs?: number }, atMs: number): { startTime?: number; endTime?: number } | undefined {
  const year = new Date(atMs).getUTCFullYear();
  const yearStart = Date.UTC(year, 0, 1);
  const yearOf = (ms: number) => new Date(ms).getUTCFullYear();
  const out: { startTime?: number; endTime?: number } = {};
  const s = timeMs(x.startTime);
  if (s !== undefined) {
    if (yearOf(s) < year) out.startTime = 0;
    else if (yearOf(s) === year) out.startTime = minuteOfYear(s);
  }
  const e = endMs(x);
  if (e !== undefined && yearOf(e) === year) out.endTime = Math.min(MOY_MAX, Math.ceil((e - yearStart) / 60000));
  return out.startTime === undefined && out.endTime === undefined ? undefined : out;
}

/** ReferencePathList: paths of 2..32 points (offsets from the RSI's reference position) and their radius. */
export function referencePaths(paths: readonly RsiReferencePath[] | undefined, ref: LatLon): { activePath: { offsetLL: unknown }[]; pathRadius: number }[] | undefined {
  const out = (paths ?? [])
    .filter((p) => p.points.length >= 2)
    .slice(0, MAX_PATHS)
    .map((p) => ({ activePath: thinPoints(p.points, MAX_PATH_POINTS).map((pt) => ({ offsetLL: offsetLL(pt, ref) })), pathRadius: radius01(p.radiusM) }));
  return out.length ? out : undefined;
}

/**
 * ReferenceLanes (BIT STRING SIZE(16), bit 0 reserved, bits lane1..lane15) as JER hex; undefined when no lane 1..15.
 * RSI.asn does not say how the lanes are counted: bit n is read as the MAP's LaneID n.
 */
export function referenceLanes(lanes: readonly number[] | undefined): string | undefined {
  let v = 0;
  for (const l of lanes ?? []) if (Number.isInteger(l) && l >= 1 && l <= 15) v |= 0x8000 >>> l;
  return v ? v.toString(16).toUpperCase().padStart(4, '0') : undefined;
}

/** ReferenceLinkList: MAP node pairs, with the lanes when given. */
export function referenceLinks(links: readonly RsiReferenceLink[] | undefined): Record<string, unknown>[] | undefined {
  const node = (n: { region?: number; id: number }) => ({ ...(n.region !== undefined ? { region: n.region } : {}), id: n.id });
  const out = (links ?? []).slice(0, MAX_LINKS).map((l) => {
    const lanes = referenceLanes(l.lanes);
    return { upstreamNodeId: node(l.upstreamNodeId), downstreamNodeId: node(l.downstreamNodeId), ...(lanes ? { referenceLanes: lanes } : {}) };
  });
  return out.length ? out : undefined;
}

/** The optional components RTEData and RTSData share, in their ASN.1 order after the description. */
function shared(x: ActiveEvent | ActiveSign, ref: LatLon, atMs: number): Record<string, unknown> {
  const time = rsiTimeDetails(x, atMs);
  const paths = referencePaths(x.referencePaths, ref);
  const links = referenceLinks(x.referenceLinks);
  return {
    ...(time ? { timeDetails: time } : {}),
    priority: rsiPriority(x.priority),
    ...(paths ? { referencePaths: paths } : {}),
    ...(links ? { referenceLinks: links } : {}),
  };
}

export function rteData(e: ActiveEvent, ref: LatLon, atMs = Date.now()): Record<string, unknown> {
  const desc = description(e.description);
  return {
    rteId: e.id,
    eventType: e.type,
    eventSource: e.source ?? 'unknown',
    eventPos: { offsetLL: offsetLL({ lat: e.lat, lon: e.lon }, ref) },
    eventRadius: radius01(e.radiusM),
    ...(desc ? { description: desc } : {}),
    ...shared(e, ref, atMs),
  };
}

/** The text a sign carries: its description and, for a speed limit, the limit (RTSData has no field for it). */
export function signText(s: RsiSign): string | undefined {
  const limit = s.kind === 'speed-limit' && s.speedLimitKmh !== undefined ? `speed limit ${s.speedLimitKmh} km/h` : undefined;
  // A description that already states the limit ("speed limit 50 km/h") is not repeated.
  const said = limit !== undefined && s.description !== undefined && s.description.toLowerCase().replace(/\s+/g, '').includes(`${s.speedLimitKmh}km/h`);
  const parts = [s.description, said ? undefined : limit].filter((x): x is string => !!x);
  return parts.length ? parts.join('; ') : undefined;
}

/** RTSData for a sign, or undefined when the sign has no type code for the message set (codes.ts). */
export function rtsData(s: ActiveSign, ref: LatLon, std: StdName, atMs = Date.now()): Record<string, unknown> | undefined {
  const type = signTypeCode(s, std);
  if (type === undefined || !Number.isInteger(type) || type < 0 || type > 65535) return undefined;
  const desc = description(signText(s));
  return {
    rtsId: s.id,
    signType: type,
    signPos: { offsetLL: offsetLL({ lat: s.lat, lon: s.lon }, ref) },
    ...(desc ? { description: desc } : {}),
    ...shared(s, ref, atMs),
  };
}

/** RSI MessageFrames (CSAE) or TIMs (J2735) for the active events and signs; [] when there are none. */
export function buildRsi(events: ActiveEvent[], atMs: number, ctx: RsiContext, signs: ActiveSign[] = []): unknown[] {
  if (isJ2735(ctx.std)) return buildTim(events, atMs, ctx, signs); // J2735's counterpart: TravelerInformation
  const rtes = events.map((e) => rteData(e, ctx.ref, atMs));
  const rtss = signs.map((s) => rtsData(s, ctx.ref, ctx.std, atMs)).filter((x) => x !== undefined);
  const n = Math.max(Math.ceil(rtes.length / MAX_RTES), Math.ceil(rtss.length / MAX_RTSS));
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const r = rtes.slice(i * MAX_RTES, (i + 1) * MAX_RTES);
    const s = rtss.slice(i * MAX_RTSS, (i + 1) * MAX_RTSS);
    out.push(
      frameOf(ctx.std, 'rsi', {
        msgCnt: ctx.nextMsgCnt(),
        moy: minuteOfYear(atMs),
        id: ctx.rsuIdHex,
        refPos: position3D(ctx.ref),
        ...(r.length ? { rtes: r } : {}),
        ...(s.length ? { rtss: s } : {}),
      }),
    );
  }
  return out;
}
