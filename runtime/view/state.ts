// What the live view shows, built from what the daemon broadcasts: the lane map, signal states from the SPATs it
// sends (CSAE TimeCountingDown / UTCTiming, J2735 TimeMark), road users from its RSMs (J2735: PSMs, so vehicles
// are not shown in J2735 mode, which has no RSM), events from its RSIs (CSAE)
// or TIMs (J2735), message rates and alarms from its status. The view shows what a vehicle would receive, so a
// message that is withheld (clock not trusted, perception stale) disappears from the view too.
import { EnuFrame, type LaneMap } from '../map/index.js';
import type { TailEvent } from '../status.js';
import { isPlainObject as isObj } from '../config/schema.js';
import { CODE_TABLE, OTHER_KNOWN_CODES, type CodeFamily, type EventKind } from '../apps/events/codes.js';

/** The lane map as the page draws it: ENU metres, x east, y north. */
export interface ViewMap {
  intersectionId: number;
  name?: string;
  reference: { lat: number; lon: number; elevation: number };
  approaches: { id: number; name?: string; heading?: number }[];
  lanes: {
    laneId: number;
    kind: string;
    direction: string;
    approach?: number;
    name?: string;
    widthM: number;
    maneuvers: string[];
    /** Signal groups controlling the lane: its connections' (ingress lanes) or its own (crosswalks). */
    signalGroups: number[];
    points: [number, number][];
  }[];
}

export type LightColour = 'red' | 'yellow' | 'green' | 'dark' | 'unknown';

export interface ViewSignal {
  group: number;
  /** The state as sent (CSAE LightState or J2735 MovementPhaseState). */
  state: string;
  colour: LightColour;
  flashing: boolean;
  /** Seconds until the state likely ends (null: not stated). */
  remainingS: number | null;
  /** The state after this one, when the message says. */
  next?: { state: string; colour: LightColour };
}

export interface ViewTrack {
  /** The RSM participant id (ptcId), what a receiver sees. */
  id: number;
  cls: string;
  x: number;
  y: number;
  /** Degrees clockwise from north (null: unavailable). */
  headingDeg: number | null;
  speedMs: number | null;
  lengthM: number;
  widthM: number;
}

/** A stretch of road an event or sign applies to (RSI referencePaths, TIM path regions): ENU metres. */
export interface ViewPath {
  points: [number, number][];
  /** Half its width: the RSI pathRadius, half the TIM laneWidth. */
  halfWidthM: number;
}

export interface ViewEvent {
  kind: 'event' | 'sign';
  id: number;
  /** Event type (GB/T 29100), sign type (GB 5768.2) or ITIS code (J2735 TIM). */
  type: number;
  /** What the code means in the project's code table (queue, road-works, speed-limit, ...), when it is one of them. */
  what?: EventKind;
  /** The code's name in its standard, when the code table knows it. */
  typeName?: string;
  x: number;
  y: number;
  radiusM: number;
  /** The stretches of road it applies to (a queue: the queued part of its lanes); [] when it states none. */
  paths: ViewPath[];
  description?: string;
  /** A speed-limit sign's limit, read from its text ("... 50 km/h"). */
  speedLimitKmh?: number;
  priority?: number;
}

/** The view's link to the daemon: in this process (always up), or attached over its status socket. */
export interface ViewLink {
  /** Attached to a running daemon over its status socket (false: the daemon runs in the view's process). */
  attached: boolean;
  /** The status socket, when attached. */
  socket?: string;
  connected: boolean;
  /** Why not connected (the daemon stopped, the socket is gone, permission denied, ...). */
  message?: string;
  /** Since when the link is in this state (ms since the epoch). */
  sinceMs: number;
  /** The daemon's process id, when known. */
  pid?: number;
}

export interface ViewFrame {
  atMs: number;
  /** The link to the daemon; while it is down, signals, road users, events and rates are empty. */
  link: ViewLink;
  rsuId: string;
  messageSet: string;
  uptimeS: number;
  signals: ViewSignal[];
  /** Age of the last SPAT, ms (null: none yet). */
  spatAgeMs: number | null;
  tracks: ViewTrack[];
  events: ViewEvent[];
  rates: { radioTxPerS: Record<string, number>; radioRxPerS: Record<string, number>; uplinkPerS: Record<string, number> };
  perception?: { mode?: string; confirmedTracks?: number };
  alarms: string[];
  recentErrors: { at: string; msg: string }[];
  /** Sensors, time, uplink links and signing as the daemon's status reports them; undefined while not connected. */
  health?: ViewHealth;
  /** The daemon's software (runtime/version.ts softwareVersion) and model digest; absent from older daemons. */
  software?: string;
}

type Obj = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function viewMapOf(map: LaneMap): ViewMap {
  return {
    intersectionId: map.intersectionId,
    name: map.name,
    reference: map.reference,
    approaches: map.approaches.map((a) => ({ id: a.id, name: a.name, heading: a.heading })),
    lanes: map.lanes.map((l) => ({
      laneId: l.laneId,
      kind: l.kind,
      direction: l.direction,
      approach: l.approach,
      name: l.name,
      widthM: l.widthM,
      maneuvers: [...l.maneuvers],
      signalGroups: [...new Set([...l.connectsTo.map((c) => c.signalGroup), l.signalGroup].filter((g): g is number => g !== undefined))].sort((a, b) => a - b),
      points: l.points.map((p) => [Math.round(p.x * 100) / 100, Math.round(p.y * 100) / 100]),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------- SPaT

const LIGHTS: Record<string, { colour: LightColour; flashing: boolean }> = {
  // CSAE LightState
  unavailable: { colour: 'unknown', flashing: false },
  dark: { colour: 'dark', flashing: false },
  'flashing-red': { colour: 'red', flashing: true },
  red: { colour: 'red', flashing: false },
  'flashing-green': { colour: 'green', flashing: true },
  'permissive-green': { colour: 'green', flashing: false },
  'protected-green': { colour: 'green', flashing: false },
  yellow: { colour: 'yellow', flashing: false },
  'flashing-yellow': { colour: 'yellow', flashing: true },
  // J2735 MovementPhaseState
  'stop-Then-Proceed': { colour: 'red', flashing: true },
  'stop-And-Remain': { colour: 'red', flashing: false },
  'pre-Movement': { colour: 'red', flashing: false },
  'permissive-Movement-Allowed': { colour: 'green', flashing: false },
  'protected-Movement-Allowed': { colour: 'green', flashing: false },
  'permissive-clearance': { colour: 'yellow', flashing: false },
  'protected-clearance': { colour: 'yellow', flashing: false },
  'caution-Conflicting-Traffic': { colour: 'yellow', flashing: true },
};

export function lightOf(state: string): { colour: LightColour; flashing: boolean } {
  return LIGHTS[state] ?? { colour: 'unknown', flashing: false };
}

/** A TimeMark (tenths of a second within the hour) as ms from `atMs`, taking the nearer hour. */
export function markToRelMs(mark: number, atMs: number): number {
  const nowTenths = (((atMs % 3_600_000) + 3_600_000) % 3_600_000) / 100;
  let d = mark - nowTenths;
  if (d > 18000) d -= 36000;
  if (d <= -18000) d += 36000;
  return d * 100;
}

/** One movement state: when it starts and likely ends, ms relative to the message time. */
interface StateWindow {
  state: string;
  startInMs: number;
  endInMs: number | null;
}

export interface SignalGroupState {
  group: number;
  windows: StateWindow[];
}

/** Signal groups and their state windows from a SPAT MessageFrame (CSAE spatFrame or J2735 messageId 19). */
export function parseSpat(frame: unknown, atMs: number, intersectionId?: number): SignalGroupState[] | undefined {
  if (!isObj(frame)) return undefined;
  if (isObj(frame.spatFrame)) {
    const ints = arr(frame.spatFrame.intersections).filter(isObj);
    const it = ints.find((i) => isObj(i.intersectionId) && i.intersectionId.id === intersectionId) ?? ints[0];
    if (!it) return [];
    return arr(it.phases)
      .filter(isObj)
      .map((p) => ({
        group: num(p.id) ?? -1,
        windows: arr(p.phaseStates)
          .filter(isObj)
          .map((s): StateWindow => {
            const state = String(s.light);
            const timing = isObj(s.timing) ? s.timing : {};
            if (isObj(timing.counting)) {
              const c = timing.counting;
              const end = num(c.likelyEndTime) ?? num(c.minEndTime);
              return { state, startInMs: (num(c.startTime) ?? 0) * 100, endInMs: end === undefined ? null : end * 100 };
            }
            if (isObj(timing.utcTiming)) {
              const u = timing.utcTiming;
              const end = num(u.likelyEndUTCTime) ?? num(u.minEndUTCTime);
              const start = num(u.startUTCTime);
              return { state, startInMs: start === undefined ? 0 : markToRelMs(start, atMs), endInMs: end === undefined || end > 35999 ? null : markToRelMs(end, atMs) };
            }
            return { state, startInMs: 0, endInMs: null };
          }),
      }))
      .filter((g) => g.group >= 0);
  }
  if (frame.messageId === 19 && isObj(frame.value)) {
    const ints = arr(frame.value.intersections).filter(isObj);
    const it = ints.find((i) => isObj(i.id) && i.id.id === intersectionId) ?? ints[0];
    if (!it) return [];
    return arr(it.states)
      .filter(isObj)
      .map((g) => ({
        group: num(g.signalGroup) ?? -1,
        windows: arr(g['state-time-speed'])
          .filter(isObj)
          .map((s): StateWindow => {
            const state = String(s.eventState);
            const t = isObj(s.timing) ? s.timing : {};
            const end = num(t.likelyTime) ?? num(t.minEndTime);
            const start = num(t.startTime);
            return { state, startInMs: start === undefined ? 0 : markToRelMs(start, atMs), endInMs: end === undefined || end > 35999 ? null : markToRelMs(end, atMs) };
          }),
      }))
      .filter((g) => g.group >= 0);
  }
  return undefined;
}

/** The signal heads at `nowMs` from the last SPAT (sent at `atMs`). */
export function signalsAt(groups: SignalGroupState[], atMs: number, nowMs: number): ViewSignal[] {
  const since = nowMs - atMs;
  return groups
    .map((g) => {
      // The current window: the one that has started and not ended; else the earliest.
      const ws = [...g.windows].sort((a, b) => a.startInMs - b.startInMs);
      let k = ws.findIndex((w) => w.startInMs <= since && (w.endInMs === null || w.endInMs > since));
      if (k < 0) k = ws.findIndex((w) => w.startInMs <= since);
      if (k < 0) k = 0;
      const cur = ws[k];
      if (!cur) return { group: g.group, state: 'unavailable', colour: 'unknown' as const, flashing: false, remainingS: null };
      const next = ws[k + 1];
      return {
        group: g.group,
        state: cur.state,
        ...lightOf(cur.state),
        remainingS: cur.endInMs === null ? null : Math.max(0, Math.round((cur.endInMs - since) / 100) / 10),
        ...(next ? { next: { state: next.state, colour: lightOf(next.state).colour } } : {}),
      };
    })
    .sort((a, b) => a.group - b.group);
}

// ----------------------------------------------------------------------------------------------------------- RSM

const VEHICLE_CLASSES: Record<number, string> = { 10: 'car', 20: 'van', 25: 'truck', 30: 'trailer', 40: 'motorcycle', 50: 'bus', 60: 'emergency_vehicle', 82: 'pedestrian', 85: 'bicycle' };

/** A position from a PositionOffsetLLV (offsetLL forms, or absolute position-LatLon) and its reference. */
function latLonOf(pos: unknown, ref: unknown): { lat: number; lon: number } | undefined {
  if (!isObj(ref)) return undefined;
  const rlat = num(ref.lat);
  const rlon = num(ref.long);
  if (rlat === undefined || rlon === undefined) return undefined;
  if (!isObj(pos) || !isObj(pos.offsetLL)) return { lat: rlat / 1e7, lon: rlon / 1e7 };
  const [alt, v] = Object.entries(pos.offsetLL)[0] ?? [];
  if (!isObj(v)) return undefined;
  const lat = num(v.lat);
  const lon = num(v.lon);
  if (lat === undefined || lon === undefined) return undefined;
  if (alt === 'position-LatLon') return { lat: lat / 1e7, lon: lon / 1e7 };
  return { lat: (rlat + lat) / 1e7, lon: (rlon + lon) / 1e7 };
}

export function classOf(p: Obj): string {
  const vc = isObj(p.vehicleClass) ? num(p.vehicleClass.classification) : undefined;
  if (vc !== undefined && VEHICLE_CLASSES[vc]) return VEHICLE_CLASSES[vc]!;
  if (p.ptcType === 'pedestrian') return 'pedestrian';
  if (p.ptcType === 'non-motor') return 'bicycle';
  if (p.ptcType === 'motor') return 'vehicle';
  return 'unknown';
}

/** Road users from an RSM MessageFrame (CSAE rsmFrame), in the frame's ENU metres. */
export function parseRsm(frame: unknown, enu: EnuFrame): ViewTrack[] | undefined {
  if (!isObj(frame) || !isObj(frame.rsmFrame)) return undefined;
  const rsm = frame.rsmFrame;
  const out: ViewTrack[] = [];
  for (const p of arr(rsm.participants)) {
    if (!isObj(p)) continue;
    const ll = latLonOf(p.pos, rsm.refPos);
    const id = num(p.ptcId);
    if (!ll || id === undefined) continue;
    const e = enu.toEnu(ll.lat, ll.lon);
    const h = num(p.heading);
    const s = num(p.speed);
    const size = isObj(p.size) ? p.size : {};
    out.push({
      id,
      cls: classOf(p),
      x: Math.round(e.x * 100) / 100,
      y: Math.round(e.y * 100) / 100,
      headingDeg: h === undefined || h >= 28800 ? null : h * 0.0125,
      speedMs: s === undefined || s >= 8191 ? null : s * 0.02,
      lengthM: (num(size.length) ?? 0) / 100,
      widthM: (num(size.width) ?? 0) / 100,
    });
  }
  return out;
}

const PSM_TYPES: Record<string, string> = { aPEDESTRIAN: 'pedestrian', aPEDALCYCLIST: 'bicycle', aPUBLICSAFETYWORKER: 'pedestrian', anANIMAL: 'animal' };

/** A road user from a J2735 PSM (messageId 32): what J2735 mode sends for pedestrians and cyclists. */
export function parsePsm(frame: unknown, enu: EnuFrame): ViewTrack[] | undefined {
  if (!isObj(frame) || frame.messageId !== 32 || !isObj(frame.value)) return undefined;
  const p = frame.value;
  const ll = latLonOf(undefined, p.position);
  if (!ll) return [];
  const e = enu.toEnu(ll.lat, ll.lon);
  const h = num(p.heading);
  const s = num(p.speed);
  const cls = PSM_TYPES[String(p.basicType)] ?? 'unknown';
  return [
    {
      id: typeof p.id === 'string' && /^[0-9a-f]{1,8}$/i.test(p.id) ? parseInt(p.id, 16) : 0,
      cls,
      x: Math.round(e.x * 100) / 100,
      y: Math.round(e.y * 100) / 100,
      headingDeg: h === undefined || h >= 28800 ? null : h * 0.0125,
      speedMs: s === undefined || s >= 8191 ? null : s * 0.02,
      lengthM: cls === 'bicycle' ? 1.8 : 0.8,
      widthM: 0.8,
    },
  ];
}

// ----------------------------------------------------------------------------------------------------------- RSI

/** What a type code means: the code table's kind and the code's name (codes.ts), as far as it knows the code. */
export function codeMeaning(family: CodeFamily, code: number): { what?: EventKind; typeName?: string } {
  for (const e of CODE_TABLE) {
    const v = family === 'itis' ? e.itis : family === 'gb5768' ? e.gb5768 : e.gbt29100;
    if (v && v.code === code) return { what: e.kind, typeName: v.name };
  }
  const other = OTHER_KNOWN_CODES[family].find((c) => c.code === code);
  return other ? { typeName: other.name } : {};
}

/**
 * A TIM's text items as one text. The sender splits a description into ITIS text phrases (16 characters at most),
 * so they are joined with spaces; a leading phrase the rest repeats (a speed-limit sign's "50 km/h" item before
 * its description "speed limit 50 km/h") is shown once.
 */
export function joinTexts(texts: readonly string[]): string | undefined {
  const ts = texts.map((t) => t.trim()).filter(Boolean);
  if (!ts.length) return undefined;
  const rest = ts.slice(1).join(' ');
  return ts.length > 1 && rest.toLowerCase().includes(ts[0]!.toLowerCase()) ? rest : ts.join(' ');
}

const limitOf = (what: EventKind | undefined, text: string | undefined): number | undefined => {
  const m = what === 'speed-limit' && text ? /(\d{1,3})\s*km\/h/i.exec(text) : null;
  return m ? Number(m[1]) : undefined;
};

/** Events and signs from an RSI (CSAE rsiFrame) or a TIM (J2735 messageId 31). */
export function parseRsi(frame: unknown, enu: EnuFrame): ViewEvent[] | undefined {
  if (!isObj(frame)) return undefined;
  const xy = (ll: { lat: number; lon: number }): [number, number] => {
    const e = enu.toEnu(ll.lat, ll.lon);
    return [Math.round(e.x * 100) / 100, Math.round(e.y * 100) / 100];
  };
  const at = (ll: { lat: number; lon: number }) => {
    const [x, y] = xy(ll);
    return { x, y };
  };
  const prio = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{2}$/i.test(v) ? parseInt(v, 16) >> 5 : num(v));
  const text = (d: unknown) => (isObj(d) && typeof d.textString === 'string' ? d.textString : undefined);
  if (isObj(frame.rsiFrame)) {
    const rsi = frame.rsiFrame;
    // ReferencePathList: points are PositionOffsetLLV from the RSI's refPos; pathRadius in 0.1 m.
    const paths = (list: unknown): ViewPath[] =>
      arr(list)
        .filter(isObj)
        .map((p) => ({
          points: arr(p.activePath)
            .map((q) => latLonOf(q, rsi.refPos))
            .filter((q): q is { lat: number; lon: number } => q !== undefined)
            .map(xy),
          halfWidthM: (num(p.pathRadius) ?? 0) / 10,
        }))
        .filter((p) => p.points.length >= 2);
    const out: ViewEvent[] = [];
    for (const r of arr(rsi.rtes)) {
      if (!isObj(r)) continue;
      const ll = latLonOf(r.eventPos, rsi.refPos);
      if (!ll) continue;
      const type = num(r.eventType) ?? 0;
      out.push({ kind: 'event', id: num(r.rteId) ?? 0, type, ...codeMeaning('gbt29100', type), ...at(ll), radiusM: (num(r.eventRadius) ?? 0) / 10, paths: paths(r.referencePaths), description: text(r.description), priority: prio(r.priority) });
    }
    for (const r of arr(rsi.rtss)) {
      if (!isObj(r)) continue;
      const ll = latLonOf(r.signPos, rsi.refPos);
      if (!ll) continue;
      const type = num(r.signType) ?? 0;
      const meaning = codeMeaning('gb5768', type);
      const description = text(r.description);
      const limit = limitOf(meaning.what, description);
      out.push({ kind: 'sign', id: num(r.rtsId) ?? 0, type, ...meaning, ...at(ll), radiusM: 0, paths: paths(r.referencePaths), description, ...(limit !== undefined ? { speedLimitKmh: limit } : {}), priority: prio(r.priority) });
    }
    return out;
  }
  if (frame.messageId === 31 && isObj(frame.value)) {
    const out: ViewEvent[] = [];
    const packet = typeof frame.value.packetID === 'string' ? frame.value.packetID : '';
    let k = 0;
    for (const f of arr(frame.value.dataFrames)) {
      if (!isObj(f)) continue;
      const regions = arr(f.regions).filter(isObj);
      const region = regions[0];
      const geom = isObj(region) && isObj(region.description) && isObj(region.description.geometry) ? region.description.geometry : undefined;
      const circle = geom && isObj(geom.circle) ? geom.circle : undefined;
      const sign = isObj(f.msgId) && isObj(f.msgId.roadSignID) ? f.msgId.roadSignID : undefined;
      const centre = (circle && isObj(circle.center) ? circle.center : undefined) ?? (sign ? sign.position : undefined);
      const ll = latLonOf(undefined, centre);
      if (!ll) continue;
      const items = isObj(f.content) ? arr(f.content.advisory ?? f.content.workZone ?? f.content.genericSign ?? f.content.speedLimit ?? f.content.exitService) : [];
      const codes = items.filter(isObj).map((i) => (isObj(i.item) ? i.item : {}));
      const itis = codes.map((c) => num(c.itis)).find((c) => c !== undefined);
      const description = joinTexts(codes.map((c) => c.text).filter((c): c is string => typeof c === 'string'));
      const radius = circle ? (num(circle.radius) ?? 0) * (circle.units === 'kilometer' ? 1000 : 1) : 0;
      const id = k === 0 && packet.length >= 18 ? parseInt(packet.slice(16, 18), 16) : k;
      const type = itis ?? 0;
      const meaning = codeMeaning('itis', type);
      const limit = limitOf(meaning.what, description);
      out.push({
        kind: f.frameType === 'roadSignage' ? 'sign' : 'event',
        id,
        type,
        ...meaning,
        ...at(ll),
        radiusM: radius,
        paths: regions.slice(1).map((r) => timPath(r, xy)).filter((p): p is ViewPath => p !== undefined),
        description,
        ...(limit !== undefined ? { speedLimitKmh: limit } : {}),
        priority: num(f.priority),
      });
      k++;
    }
    return out;
  }
  return undefined;
}

/** A TIM GeographicalPath region (anchor, node-LL steps each from the previous point, laneWidth in cm) as a ViewPath. */
function timPath(region: Obj, xy: (ll: { lat: number; lon: number }) => [number, number]): ViewPath | undefined {
  const anchor = latLonOf(undefined, region.anchor);
  const d = isObj(region.description) && isObj(region.description.path) ? region.description.path : undefined;
  const ll = d && isObj(d.offset) && isObj(d.offset.ll) ? d.offset.ll : undefined;
  if (!anchor || !ll) return undefined;
  let lat = Math.round(anchor.lat * 1e7);
  let lon = Math.round(anchor.lon * 1e7);
  const points: [number, number][] = [];
  for (const n of arr(ll.nodes)) {
    const [alt, v] = isObj(n) && isObj(n.delta) ? (Object.entries(n.delta)[0] ?? []) : [];
    if (!isObj(v) || num(v.lat) === undefined || num(v.lon) === undefined) return undefined;
    if (alt === 'node-LatLon') [lat, lon] = [num(v.lat)!, num(v.lon)!];
    else [lat, lon] = [lat + num(v.lat)!, lon + num(v.lon)!];
    points.push(xy({ lat: lat / 1e7, lon: lon / 1e7 }));
  }
  return points.length >= 2 ? { points, halfWidthM: (num(region.laneWidth) ?? 0) / 200 } : undefined;
}

// ------------------------------------------------------------------------------------------------------- health

/** A sensor as the panel shows it: the daemon's judgement (status.sensorHealth) and its frames (status.sensors). */
export interface ViewSensor {
  id: string;
  kind?: string;
  /**
   * unhealthy: the daemon judges it so (its detections dropped); silent: no accepted frame for longer than
   * SENSOR_SILENT_MS (or none yet); ok; unknown: the daemon reports neither.
   */
  state: 'ok' | 'unhealthy' | 'silent' | 'unknown';
  /** Over the daemon's last 10 s: detections, and the share perception dropped. */
  detections?: number;
  droppedPct?: number;
  mainReason?: string;
  frameRateHz?: number;
  lastFrameAgeMs: number | null;
}

/** A sensor with no accepted frame for this long is silent: the daemon's default perception staleness (1 s). */
export const SENSOR_SILENT_MS = 1000;

export interface ViewTime {
  source: string;
  connected: boolean;
  /** False while the clock is known to be off by more than the bound (SPAT and RSM withheld). */
  trusted: boolean;
  /** System clock minus GNSS time, ms; null: unknown. */
  offsetMs: number | null;
  boundMs?: number;
  reason?: string;
  fix?: string;
  satellites?: { visible: number; used: number };
  lastMessageAgeMs: number | null;
}

export interface ViewUplinkLink {
  link: string;
  state: string;
  connected: boolean;
  sinceMs?: number;
  backlog?: number;
  oldestUndeliveredS: number | null;
  deliveredPerS?: number;
  errors?: number;
  lastError?: string;
}

export interface ViewSigning {
  /** 'off' (messages go out unsigned), 'on', or what the daemon says. */
  state: string;
  certificate?: { usable?: boolean; daysToExpiry?: number; validUntilMs?: number; hashedId8?: string; problems: string[] };
  /** The uplinks' TLS client certificates (status.security.tls). */
  tls?: Array<{ uplink: string; subject?: string; daysToExpiry?: number; problems: string[] }>;
}

export interface ViewHealth {
  sensors: ViewSensor[];
  time?: ViewTime;
  /** Per link; [] when the daemon runs without an uplink. */
  uplink?: ViewUplinkLink[];
  /** Only when the daemon's status says anything about signing (status.security). */
  signing?: ViewSigning;
  /** What this daemon's status does not report (an older daemon): the panel says so rather than guessing. */
  notReported: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The health panels from a daemon's status, read defensively: an older daemon (or one attached over the socket)
 * may lack any part. Signing is read from `status.security` ({ signing: boolean | string, certificate?: the
 * certificate's health }) when present (runtime/security/rsu-security.ts SecurityStatus); an older daemon has none,
 * and then there is no signing panel.
 */
export function healthOf(status: unknown): ViewHealth {
  const st: Obj = isObj(status) ? status : {};
  const notReported: string[] = [];
  // Sensors: the ingest's per-sensor stats and the daemon's judgement of each.
  const ingest = isObj(st.sensors) && isObj(st.sensors.sensors) ? st.sensors.sensors : undefined;
  const judged = isObj(st.sensorHealth) ? st.sensorHealth : undefined;
  if (!ingest) notReported.push('sensor frames');
  if (!judged) notReported.push('sensor health');
  const ids = [...new Set([...Object.keys(ingest ?? {}), ...Object.keys(judged ?? {})])].sort();
  const sensors = ids.map((id): ViewSensor => {
    const f = ingest && isObj(ingest[id]) ? (ingest[id] as Obj) : undefined;
    const h = judged && isObj(judged[id]) ? (judged[id] as Obj) : undefined;
    const age = f ? (num(f.lastFrameAgeMs) ?? null) : null;
    const state: ViewSensor['state'] =
      h?.healthy === false ? 'unhealthy' : f && (age === null || age > SENSOR_SILENT_MS) ? 'silent' : h?.healthy === true || f ? 'ok' : 'unknown';
    return {
      id,
      kind: str(f?.kind),
      state,
      detections: num(h?.detections),
      droppedPct: num(h?.droppedPct),
      mainReason: str(h?.mainReason),
      frameRateHz: num(f?.frameRateHz),
      lastFrameAgeMs: age,
    };
  });
  // Time: hw/gnss TimeHealthSnapshot.
  let time: ViewTime | undefined;
  if (isObj(st.time) && typeof st.time.source === 'string') {
    const t = st.time;
    const clock = isObj(t.clock) ? t.clock : {};
    const sats = isObj(t.satellites) && num(t.satellites.visible) !== undefined && num(t.satellites.used) !== undefined ? { visible: num(t.satellites.visible)!, used: num(t.satellites.used)! } : undefined;
    time = {
      source: t.source as string,
      connected: t.connected !== false,
      trusted: clock.trusted !== false,
      offsetMs: num(t.offsetMs) ?? null,
      boundMs: num(clock.boundMs),
      reason: str(clock.reason),
      fix: str(t.fix),
      ...(sats ? { satellites: sats } : {}),
      lastMessageAgeMs: num(t.lastMessageAgeMs) ?? null,
    };
  } else notReported.push('time source');
  // Uplink: runtime/uplink/health.ts LinkHealth per link; no `uplink` at all: the daemon runs without one.
  let uplink: ViewUplinkLink[] | undefined = [];
  if (isObj(st.uplink)) {
    if (Array.isArray(st.uplink.links))
      uplink = st.uplink.links.filter(isObj).map((l) => ({
        link: str(l.link) ?? '?',
        state: str(l.state) ?? (l.connected ? 'up' : 'down'),
        connected: l.connected === true,
        sinceMs: num(l.sinceMs),
        backlog: num(l.backlog),
        oldestUndeliveredS: num(l.oldestUndeliveredS) ?? null,
        deliveredPerS: num(l.deliveredPerS),
        errors: num(l.errors),
        lastError: str(l.lastError) || undefined,
      }));
    else {
      uplink = undefined;
      notReported.push('uplink links');
    }
  }
  // Signing: only what the status states.
  let signing: ViewSigning | undefined;
  if (isObj(st.security)) {
    const s = st.security;
    const c = isObj(s.certificate) ? s.certificate : undefined;
    signing = {
      state: s.signing === false ? 'off' : s.signing === true ? 'on' : (str(s.signing) ?? 'unknown'),
      ...(c
        ? {
            certificate: {
              usable: typeof c.usable === 'boolean' ? c.usable : undefined,
              daysToExpiry: num(c.daysToExpiry),
              validUntilMs: num(c.validUntilMs),
              hashedId8: str(c.hashedId8),
              problems: arr(c.problems).map((p) => (isObj(p) ? (str(p.message) ?? str(p.code) ?? '') : String(p))).filter(Boolean),
            },
          }
        : {}),
      ...(Array.isArray(s.tls)
        ? {
            tls: s.tls.filter(isObj).map((x) => ({
              uplink: str(x.uplink) ?? '?',
              ...(str(x.subject) !== undefined ? { subject: str(x.subject) } : {}),
              ...(num(x.daysToExpiry) !== undefined ? { daysToExpiry: num(x.daysToExpiry) } : {}),
              problems: arr(x.problems).map((p) => (isObj(p) ? (str(p.message) ?? str(p.code) ?? '') : String(p))).filter(Boolean),
            })),
          }
        : {}),
    };
  }
  return { sensors, ...(time ? { time } : {}), ...(uplink ? { uplink } : {}), ...(signing ? { signing } : {}), notReported };
}

// --------------------------------------------------------------------------------------------------- aggregation

export interface ViewStateOptions {
  /** The local frame's origin: the lane map's reference, else the RSU's. */
  reference: { lat: number; lon: number; elevation: number };
  intersectionId?: number;
  /** A road user not in an RSM for this long is gone (RSMs go out at 10 Hz, several per tick with > 16). */
  trackTtlMs?: number;
  /** An event not in an RSI/TIM for this long is over. */
  eventTtlMs?: number;
  /** A SPAT older than this no longer shows its lights (the daemon stopped sending it). */
  spatTtlMs?: number;
}

/** Keeps the latest of each broadcast message kind; `frame()` gives what the page draws now. */
export class ViewState {
  private readonly enu: EnuFrame;
  private spat?: { atMs: number; groups: SignalGroupState[]; rxMs: number };
  private tracks = new Map<number, { t: ViewTrack; seenMs: number }>();
  private events = new Map<string, { e: ViewEvent; seenMs: number }>();
  private readonly trackTtlMs: number;
  private readonly eventTtlMs: number;
  private readonly spatTtlMs: number;

  constructor(private readonly opts: ViewStateOptions) {
    this.enu = new EnuFrame(opts.reference);
    this.trackTtlMs = opts.trackTtlMs ?? 400;
    this.eventTtlMs = opts.eventTtlMs ?? 5000;
    this.spatTtlMs = opts.spatTtlMs ?? 2000;
  }

  /** Feed one daemon tail event; only what it sends (dir 'tx') is used. */
  onTail(e: TailEvent, nowMs = Date.now()): void {
    if (e.dir !== 'tx') return;
    if (e.type === 'spat') {
      const groups = parseSpat(e.value, e.atMs, this.opts.intersectionId);
      if (groups) this.spat = { atMs: e.atMs, groups, rxMs: nowMs };
    } else if (e.type === 'rsm' || e.type === 'psm') {
      for (const t of parseRsm(e.value, this.enu) ?? parsePsm(e.value, this.enu) ?? []) this.tracks.set(t.id, { t, seenMs: nowMs });
    } else if (e.type === 'rsi') {
      for (const ev of parseRsi(e.value, this.enu) ?? []) this.events.set(`${ev.kind}:${ev.id}`, { e: ev, seenMs: nowMs });
    }
  }

  signals(nowMs: number): { signals: ViewSignal[]; spatAgeMs: number | null } {
    if (!this.spat) return { signals: [], spatAgeMs: null };
    const age = nowMs - this.spat.rxMs;
    const signals = signalsAt(this.spat.groups, this.spat.atMs, nowMs);
    if (age > this.spatTtlMs) return { signals: signals.map((s) => ({ group: s.group, state: 'no SPAT', colour: 'unknown', flashing: false, remainingS: null })), spatAgeMs: age };
    return { signals, spatAgeMs: age };
  }

  currentTracks(nowMs: number): ViewTrack[] {
    for (const [id, v] of this.tracks) if (nowMs - v.seenMs > this.trackTtlMs) this.tracks.delete(id);
    return [...this.tracks.values()].map((v) => v.t).sort((a, b) => a.id - b.id);
  }

  currentEvents(nowMs: number): ViewEvent[] {
    for (const [id, v] of this.events) if (nowMs - v.seenMs > this.eventTtlMs) this.events.delete(id);
    return [...this.events.values()].map((v) => v.e);
  }
}
