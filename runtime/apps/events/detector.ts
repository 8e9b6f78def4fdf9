// RSI events detected from the tracks and the lane map: stopped vehicle, pedestrian/cyclist in the roadway, wrong-way
// driving, queue/congestion per approach, speeding. Lifecycle: a condition must hold for its persistence time before
// an event starts (brief drop-outs tolerated), the event then follows what it describes (position, extent, members),
// and ends only after the condition has been absent for the hold-off. Observations of the same cause close together
// (or sharing a track, or the same approach for queues) are one event. See README.md.
import type { IntersectionRef, MessageSet, RsiEvent } from '../../config/types.js';
import { referenceLinksOf } from '../map.js';
import { MAX_LINKS, MAX_PATH_POINTS, thinPoints } from '../rsi.js';
import { EnuFrame, Path, type Lane, type LaneMap } from '../../map/index.js';
import type { Track } from '../../perception/types.js';
import { eventCode, type CodeOverrides, type EventKind } from './codes.js';

export type DetectedKind = Extract<EventKind, 'stopped-vehicle' | 'vru-in-roadway' | 'wrong-way' | 'queue' | 'speeding'>;
export type Light = 'red' | 'yellow' | 'green' | 'dark' | 'flashing' | 'unknown';

export interface StoppedOptions {
  enabled: boolean;
  /** Stopped at least this long (not queued) before the event starts: 30 s, longer than a driver's ordinary hesitation. */
  minStoppedS: number;
  /** Below this speed a vehicle is stopped; it moves again above `moveSpeedMs` or 3 m from where it stopped. */
  stopSpeedMs: number;
  moveSpeedMs: number;
  /** A lead vehicle this close to the stop line (centre to line) may be waiting for the signal. */
  stopLineZoneM: number;
  /** A stopped vehicle with a stopped or slow vehicle this close ahead (bumper to bumper) is queued behind it. */
  queueGapM: number;
  /** Without signal states: a lead vehicle at the stop line counts as waiting for up to this long (a whole cycle and more). */
  maxSignalWaitS: number;
  /** With signal states: waiting at the line is excused while not green and for this long after green starts. */
  greenGraceS: number;
  holdOffS: number;
  mergeRadiusM: number;
  priority: number;
}
export interface VruOptions {
  enabled: boolean;
  persistS: number;
  /** A road user counts as in a lane when its centre is this far inside the lane's edge (absorbs position noise). */
  insetM: number;
  /** Extra margin around crosswalks (and sidewalks) where a pedestrian is never flagged. */
  crosswalkMarginM: number;
  /** Cyclists riding along a vehicle lane are normal traffic unless the approach has a bike lane; crossing one is not. */
  cyclistCrossingAngleDeg: number;
  holdOffS: number;
  mergeRadiusM: number;
  priority: number;
}
export interface WrongWayOptions {
  enabled: boolean;
  minSpeedMs: number;
  /** Angle between the velocity and the lane direction beyond which a vehicle drives against it. */
  minAngleDeg: number;
  persistS: number;
  holdOffS: number;
  mergeRadiusM: number;
  priority: number;
}
export interface QueueOptions {
  enabled: boolean;
  /** Vehicles slower than this upstream of the stop line are queued. */
  slowSpeedMs: number;
  /** The first queued vehicle must be this close to the stop line (centre), else what stands is not a signal queue. */
  headZoneM: number;
  /** Largest bumper-to-bumper gap inside a queue. */
  gapM: number;
  /** An event starts when an approach's queue is at least this long for persistS (or congestion reaches minLevel). */
  eventQueueM: number;
  persistS: number;
  /** Congestion from the shortest queue over the window (a queue that never clears in a whole cycle): level thresholds, m. */
  congestionWindowS: number;
  congestionLevelsM: [number, number, number];
  minCongestionLevel: number;
  holdOffS: number;
  priority: number;
}
export interface SpeedingOptions {
  enabled: boolean;
  /** Over the lane's limit by more than this, km/h. */
  marginKmh: number;
  persistS: number;
  holdOffS: number;
  mergeRadiusM: number;
  priority: number;
}

export interface EventDetectorOptions {
  stopped: StoppedOptions;
  vru: VruOptions;
  wrongWay: WrongWayOptions;
  queue: QueueOptions;
  speeding: SpeedingOptions;
  /** Gaps in a condition shorter than this (a missed frame, a noisy speed) do not restart its persistence timer. */
  dropoutS: number;
  /** Ids given to detected events (RsiEvent.id 0..255): keep them apart from configured and cloud event ids. */
  idRange: [number, number];
  /** Codes from the deployer's copy of the standards, for kinds the table has no confirmed code for. */
  codes: CodeOverrides;
  /** Send the table's unconfirmed candidate codes (off: such events are left out of rsiEvents and counted). */
  allowUnconfirmedCodes: boolean;
}

export const DEFAULT_EVENT_OPTIONS: EventDetectorOptions = {
  stopped: {
    enabled: true,
    minStoppedS: 30,
    stopSpeedMs: 0.5,
    moveSpeedMs: 1.5,
    stopLineZoneM: 12,
    queueGapM: 8,
    maxSignalWaitS: 120,
    greenGraceS: 5,
    holdOffS: 10,
    mergeRadiusM: 15,
    priority: 5,
  },
  vru: { enabled: true, persistS: 2, insetM: 0.3, crosswalkMarginM: 0.5, cyclistCrossingAngleDeg: 45, holdOffS: 3, mergeRadiusM: 10, priority: 6 },
  wrongWay: { enabled: true, minSpeedMs: 3, minAngleDeg: 135, persistS: 2, holdOffS: 3, mergeRadiusM: 15, priority: 7 },
  queue: {
    enabled: true,
    slowSpeedMs: 2,
    headZoneM: 15,
    gapM: 10,
    eventQueueM: 60,
    persistS: 5,
    congestionWindowS: 120,
    congestionLevelsM: [20, 50, 90],
    minCongestionLevel: 1,
    holdOffS: 15,
    priority: 2,
  },
  speeding: { enabled: true, marginKmh: 10, persistS: 2, holdOffS: 3, mergeRadiusM: 20, priority: 3 },
  dropoutS: 0.6,
  idRange: [128, 255],
  codes: {},
  allowUnconfirmedCodes: false,
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends number[] ? T[K] : T[K] extends object ? Partial<T[K]> : T[K] };

export interface DetectedEvent {
  /** RsiEvent.id (from idRange), stable for the event's life. */
  id: number;
  kind: DetectedKind;
  state: 'active' | 'ended';
  /** When the condition began (before persistence), when the event started, last updated, ended. RSU time, ms. */
  sinceMs: number;
  startMs: number;
  updatedMs: number;
  endMs?: number;
  /** Centre of what the event covers (ENU m and WGS-84) and a radius covering it. */
  x: number;
  y: number;
  lat: number;
  lon: number;
  radiusM: number;
  priority: number;
  /** Tracks involved now (for a queue: the queued vehicles). */
  trackIds: number[];
  /** MAP links: the lanes and approach the event lies on. */
  laneIds: number[];
  approach?: number;
  /** Reference path from the MAP: the affected stretch of lane, in the direction of travel (WGS-84). */
  referencePath: { lat: number; lon: number }[];
  description: string;
  /** Kind-specific figures: queueLengthM, queuedVehicles, congestionLevel, speedKmh, limitKmh, stoppedS. */
  data: Record<string, number>;
}

export interface UpdateResult {
  started: DetectedEvent[];
  updated: DetectedEvent[];
  ended: DetectedEvent[];
}

export interface ApproachState {
  approach: number;
  /** Longest queue over the approach's ingress lanes, from the stop line back, m. */
  queueLengthM: number;
  queuedVehicles: number;
  /** 0 free .. 3 heavy: from the shortest queue over the congestion window. */
  congestionLevel: number;
}

interface LaneGeo {
  lane: Lane;
  path: Path;
  half: number;
}

interface Observation {
  kind: DetectedKind;
  key?: string;
  trackIds: number[];
  points: { x: number; y: number }[];
  pad: number;
  laneIds: number[];
  approach?: number;
  sinceMs: number;
  data: Record<string, number>;
  path?: { x: number; y: number }[];
  description: string;
}

interface Incident extends DetectedEvent {
  key?: string;
  lastSeenMs: number;
}

interface StopState {
  ax: number;
  ay: number;
  sinceMs: number;
  /** Time stopped without an excuse (not queued, not waiting for the signal). */
  unexcusedMs: number;
  lastMs: number;
}

const VEHICLES = new Set(['car', 'van', 'truck', 'trailer', 'bus', 'motorcycle', 'emergency_vehicle']);
const DEG = Math.PI / 180;

function merge<T extends object>(base: T, over: Partial<T> | undefined): T {
  return { ...base, ...(over ?? {}) };
}

export class EventDetector {
  readonly options: EventDetectorOptions;
  private readonly frame: EnuFrame;
  private readonly travel: LaneGeo[] = [];
  private readonly walkAreas: LaneGeo[] = [];
  private readonly bikeApproaches = new Set<number>();
  private readonly timers = new Map<string, { sinceMs: number; lastMs: number }>();
  private readonly stops = new Map<number, StopState>();
  private readonly incidents: Incident[] = [];
  private readonly queueHistory = new Map<number, { atMs: number; m: number }[]>();
  private approachStates: ApproachState[] = [];
  private nextId: number;
  private lastMs = -Infinity;
  private readonly counters = { uncoded: 0, started: 0, ended: 0 };

  constructor(
    private readonly map: LaneMap,
    options: DeepPartial<EventDetectorOptions> = {},
  ) {
    const d = DEFAULT_EVENT_OPTIONS;
    this.options = {
      stopped: merge(d.stopped, options.stopped),
      vru: merge(d.vru, options.vru),
      wrongWay: merge(d.wrongWay, options.wrongWay),
      queue: merge(d.queue, options.queue as Partial<QueueOptions>),
      speeding: merge(d.speeding, options.speeding),
      dropoutS: options.dropoutS ?? d.dropoutS,
      idRange: (options.idRange as [number, number] | undefined) ?? d.idRange,
      codes: (options.codes as CodeOverrides | undefined) ?? d.codes,
      allowUnconfirmedCodes: options.allowUnconfirmedCodes ?? d.allowUnconfirmedCodes,
    };
    const [lo, hi] = this.options.idRange;
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi <= 255 && lo <= hi))
      throw new RangeError(`idRange must be two integers 0..255, low first; got ${JSON.stringify(this.options.idRange)}`);
    this.nextId = lo;
    this.frame = new EnuFrame(map.reference);
    for (const lane of map.lanes) {
      const geo = { lane, path: new Path(lane.points, 0.5), half: lane.widthM / 2 };
      if (lane.kind === 'vehicle' || lane.kind === 'bike') this.travel.push(geo);
      else this.walkAreas.push(geo);
      if (lane.kind === 'bike' && lane.approach !== undefined) this.bikeApproaches.add(lane.approach);
    }
  }

  /** The travel lane a point lies in (centre inside the lane by `inset`), nearest centreline first. */
  private laneAt(x: number, y: number, inset: number, kinds: ReadonlySet<string> = new Set(['vehicle', 'bike'])) {
    let best: { g: LaneGeo; s: number; lateral: number } | undefined;
    for (const g of this.travel) {
      if (!kinds.has(g.lane.kind)) continue;
      const p = g.path.project({ x, y });
      if (!p || p.dist > g.half - inset) continue;
      // Beyond either end of the lane the projection clamps: not in the lane.
      if ((p.s <= 0.01 || p.s >= g.path.length - 0.01) && p.dist > 0.05) continue;
      if (!best || Math.abs(p.lateral) < Math.abs(best.lateral)) best = { g, s: p.s, lateral: p.lateral };
    }
    return best;
  }

  private inWalkArea(x: number, y: number, margin: number): boolean {
    for (const g of this.walkAreas) {
      const p = g.path.project({ x, y });
      if (p && p.dist <= g.half + margin) return true;
    }
    return false;
  }

  /** Persistence timer of a per-track condition: returns when it began, or undefined when it is not true now. */
  private hold(key: string, on: boolean, atMs: number): number | undefined {
    if (!on) return undefined;
    const t = this.timers.get(key);
    if (!t || atMs - t.lastMs > this.options.dropoutS * 1000) {
      this.timers.set(key, { sinceMs: atMs, lastMs: atMs });
      return atMs;
    }
    t.lastMs = atMs;
    return t.sinceMs;
  }

  /**
   * Feed the tracks of one instant (10 Hz). `signals`: light of each signal group now (SPAT phase id → light),
   * when known; without it a lead vehicle at a stop line is excused for `stopped.maxSignalWaitS`.
   */
  update(tracks: readonly Track[], atMs: number, ctx: { signals?: ReadonlyMap<number, Light> | Record<number, Light> } = {}): UpdateResult {
    if (atMs < this.lastMs) throw new RangeError(`update at ${atMs} ms is before the previous update (${this.lastMs} ms)`);
    const dtMs = Number.isFinite(this.lastMs) ? Math.min(atMs - this.lastMs, 1000) : 0;
    this.lastMs = atMs;
    const signals = ctx.signals instanceof Map ? ctx.signals : ctx.signals ? new Map(Object.entries(ctx.signals).map(([k, v]) => [Number(k), v as Light])) : undefined;
    const obs: Observation[] = [];
    const o = this.options;
    const placed = tracks.map((t) => ({ t, at: this.laneAt(t.enu.x, t.enu.y, 0) }));

    // Per-lane ordering of vehicles, for queues and the queued-behind test.
    const byLane = new Map<LaneGeo, { t: Track; s: number }[]>();
    for (const { t, at } of placed) {
      if (!at || !VEHICLES.has(t.classification)) continue;
      let l = byLane.get(at.g);
      if (!l) byLane.set(at.g, (l = []));
      l.push({ t, s: at.s });
    }
    for (const l of byLane.values()) l.sort((a, b) => b.s - a.s); // furthest along (nearest the lane's end) first

    this.observeSignals(signals, atMs);
    if (o.stopped.enabled) this.detectStopped(byLane, atMs, dtMs, signals, obs);
    if (o.queue.enabled) this.detectQueues(byLane, atMs, obs);
    for (const { t, at } of placed) {
      const x = t.enu.x;
      const y = t.enu.y;
      const isVru = t.classification === 'pedestrian' || t.classification === 'bicycle';
      // Pedestrian / cyclist in the roadway.
      if (o.vru.enabled && isVru) {
        const lane = this.laneAt(x, y, o.vru.insetM, new Set(['vehicle']));
        let flag = false;
        if (lane && !this.inWalkArea(x, y, o.vru.crosswalkMarginM)) {
          if (t.classification === 'pedestrian') flag = true;
          else {
            const h = lane.g.path.headingAt(lane.s);
            const ang = Math.abs(Math.atan2(Math.sin(Math.atan2(t.velocity.north, t.velocity.east) - h), Math.cos(Math.atan2(t.velocity.north, t.velocity.east) - h))) / DEG;
            const crossing = t.speed > 0.5 && ang > o.vru.cyclistCrossingAngleDeg && ang < 180 - o.vru.cyclistCrossingAngleDeg;
            flag = crossing || (lane.g.lane.approach !== undefined && this.bikeApproaches.has(lane.g.lane.approach));
          }
        }
        const since = this.hold(`vru:${t.id}`, flag, atMs);
        if (since !== undefined && atMs - since >= o.vru.persistS * 1000 && lane)
          obs.push({
            kind: 'vru-in-roadway',
            trackIds: [t.id],
            points: [{ x, y }],
            pad: 5,
            laneIds: [lane.g.lane.laneId],
            approach: lane.g.lane.approach,
            sinceMs: since,
            data: {},
            description: `${t.classification} in the roadway outside a crosswalk`,
          });
      }
      if (!at || !VEHICLES.has(t.classification)) continue;
      const lane = at.g.lane;
      const h = at.g.path.headingAt(at.s);
      const vh = Math.atan2(t.velocity.north, t.velocity.east);
      const ang = Math.abs(Math.atan2(Math.sin(vh - h), Math.cos(vh - h))) / DEG;
      // Wrong way.
      if (o.wrongWay.enabled) {
        const since = this.hold(`ww:${t.id}`, t.speed >= o.wrongWay.minSpeedMs && ang >= o.wrongWay.minAngleDeg, atMs);
        if (since !== undefined && atMs - since >= o.wrongWay.persistS * 1000)
          obs.push({
            kind: 'wrong-way',
            trackIds: [t.id],
            points: [{ x, y }],
            pad: 15,
            laneIds: [lane.laneId],
            approach: lane.approach,
            sinceMs: since,
            data: { speedKmh: Math.round(t.speed * 3.6) },
            path: this.stretch(at.g, at.s - 60, at.s + 20),
            description: `vehicle driving against the direction of lane ${lane.laneId}`,
          });
      }
      // Speeding.
      if (o.speeding.enabled && lane.speedLimitKmh !== undefined) {
        const kmh = t.speed * 3.6;
        const since = this.hold(`sp:${t.id}`, kmh > lane.speedLimitKmh + o.speeding.marginKmh && ang < 90, atMs);
        if (since !== undefined && atMs - since >= o.speeding.persistS * 1000)
          obs.push({
            kind: 'speeding',
            trackIds: [t.id],
            points: [{ x, y }],
            pad: 10,
            laneIds: [lane.laneId],
            approach: lane.approach,
            sinceMs: since,
            data: { speedKmh: Math.round(kmh), limitKmh: lane.speedLimitKmh },
            description: `vehicle at ${Math.round(kmh)} km/h where the limit is ${lane.speedLimitKmh} km/h`,
          });
      }
    }
    // Forget timers and stop states of tracks no longer seen.
    const limit = o.dropoutS * 1000;
    for (const [k, v] of this.timers) if (atMs - v.lastMs > limit) this.timers.delete(k);
    for (const [k, v] of this.stops) if (atMs - v.lastMs > limit) this.stops.delete(k);
    return this.reconcile(obs, atMs);
  }

  private laneLight(lane: Lane, signals: ReadonlyMap<number, Light> | undefined): Light | undefined {
    if (!signals) return undefined;
    const groups = lane.connectsTo.map((c) => c.signalGroup).filter((g): g is number => g !== undefined);
    if (!groups.length) return undefined;
    const lights = groups.map((g) => signals.get(g) ?? 'unknown');
    return lights.every((l) => l === 'green') ? 'green' : lights.find((l) => l !== 'green');
  }

  private detectStopped(
    byLane: Map<LaneGeo, { t: Track; s: number }[]>,
    atMs: number,
    dtMs: number,
    signals: ReadonlyMap<number, Light> | undefined,
    obs: Observation[],
  ): void {
    const o = this.options.stopped;
    for (const [g, list] of byLane) {
      const lane = g.lane;
      const light = this.laneLight(lane, signals);
      for (let i = 0; i < list.length; i++) {
        const { t, s } = list[i]!;
        let st = this.stops.get(t.id);
        const moved = st ? Math.hypot(t.enu.x - st.ax, t.enu.y - st.ay) > 3 : false;
        if (st && (t.speed > o.moveSpeedMs || moved)) {
          this.stops.delete(t.id);
          st = undefined;
        }
        if (!st) {
          if (t.speed >= o.stopSpeedMs) continue;
          st = { ax: t.enu.x, ay: t.enu.y, sinceMs: atMs, unexcusedMs: 0, lastMs: atMs };
          this.stops.set(t.id, st);
        }
        st.lastMs = atMs;
        // Queued behind a stopped or slow vehicle close ahead in the same lane?
        const ahead = i > 0 ? list[i - 1]! : undefined;
        const gap = ahead ? ahead.s - s - (ahead.t.size.length + t.size.length) / 2 : Infinity;
        const queued = ahead !== undefined && gap <= o.queueGapM && ahead.t.speed < this.options.queue.slowSpeedMs;
        // A lead vehicle waiting at the stop line for the signal.
        const toLine = g.path.length - s;
        const atLine = lane.direction === 'ingress' && toLine <= o.stopLineZoneM;
        let waiting = false;
        if (atLine) {
          if (light === undefined) waiting = atMs - st.sinceMs < o.maxSignalWaitS * 1000;
          else waiting = light !== 'green' || this.greenFor(lane, atMs) < o.greenGraceS * 1000;
        }
        if (queued || waiting) st.unexcusedMs = 0;
        else st.unexcusedMs += dtMs;
        let fire: boolean;
        if (queued || waiting) fire = false;
        else if (atLine && light === undefined) fire = atMs - st.sinceMs >= Math.max(o.minStoppedS, o.maxSignalWaitS) * 1000;
        else fire = st.unexcusedMs >= o.minStoppedS * 1000;
        if (fire)
          obs.push({
            kind: 'stopped-vehicle',
            trackIds: [t.id],
            points: [{ x: t.enu.x, y: t.enu.y }],
            pad: Math.max(10, t.size.length),
            laneIds: [lane.laneId],
            approach: lane.approach,
            sinceMs: st.sinceMs,
            data: { stoppedS: Math.round((atMs - st.sinceMs) / 1000) },
            path: this.stretch(g, s - 100, s + 10),
            description: `${t.classification} stopped in lane ${lane.laneId} for ${Math.round((atMs - st.sinceMs) / 1000)} s`,
          });
      }
    }
  }

  private readonly greenSince = new Map<number, number>();
  /** How long the lane's movements have all been green (tracked from the signals seen by update). */
  private greenFor(lane: Lane, atMs: number): number {
    const since = this.greenSince.get(lane.laneId);
    return since === undefined ? 0 : atMs - since;
  }

  private detectQueues(byLane: Map<LaneGeo, { t: Track; s: number }[]>, atMs: number, obs: Observation[]): void {
    const o = this.options.queue;
    const perApproach = new Map<number, { m: number; n: number; ids: number[]; lanes: number[]; path?: { x: number; y: number }[]; pts: { x: number; y: number }[] }>();
    for (const g of this.travel) {
      if (g.lane.direction !== 'ingress' || g.lane.approach === undefined) continue;
      const list = byLane.get(g) ?? [];
      let prev: { t: Track; s: number } | undefined;
      let tail = g.path.length;
      const ids: number[] = [];
      for (const v of list) {
        if (v.t.speed >= o.slowSpeedMs) {
          if (!prev && g.path.length - v.s <= o.headZoneM) continue; // a mover at the line: the queue may start behind
          if (prev) break;
          continue;
        }
        if (!prev && g.path.length - v.s > o.headZoneM) break;
        if (prev && prev.s - v.s - (prev.t.size.length + v.t.size.length) / 2 > o.gapM) break;
        ids.push(v.t.id);
        tail = v.s - v.t.size.length / 2;
        prev = v;
      }
      const m = ids.length ? Math.max(0, g.path.length - tail) : 0;
      const a = perApproach.get(g.lane.approach) ?? { m: 0, n: 0, ids: [], lanes: [], pts: [] };
      a.n += ids.length;
      a.ids.push(...ids);
      if (ids.length) a.lanes.push(g.lane.laneId);
      if (m > a.m) {
        a.m = m;
        a.path = this.stretch(g, g.path.length - m, g.path.length);
      }
      perApproach.set(g.lane.approach, a);
    }
    const states: ApproachState[] = [];
    for (const [approach, a] of [...perApproach].sort((x, y) => x[0] - y[0])) {
      const hist = this.queueHistory.get(approach) ?? [];
      hist.push({ atMs, m: a.m });
      while (hist.length && atMs - hist[0]!.atMs > o.congestionWindowS * 1000) hist.shift();
      this.queueHistory.set(approach, hist);
      const full = atMs - hist[0]!.atMs >= o.congestionWindowS * 1000 * 0.95;
      const minQ = full ? Math.min(...hist.map((h) => h.m)) : 0;
      const level = o.congestionLevelsM.filter((th) => minQ >= th).length;
      states.push({ approach, queueLengthM: Math.round(a.m * 10) / 10, queuedVehicles: a.n, congestionLevel: level });
      const on = a.m >= o.eventQueueM || (level >= o.minCongestionLevel && level > 0);
      const since = this.hold(`q:${approach}`, on, atMs);
      if (since !== undefined && atMs - since >= o.persistS * 1000 && a.path)
        obs.push({
          kind: 'queue',
          key: `q:${approach}`,
          trackIds: a.ids,
          points: [a.path[0]!, a.path[a.path.length - 1]!],
          pad: 5,
          laneIds: a.lanes,
          approach,
          sinceMs: since,
          data: { queueLengthM: Math.round(a.m), queuedVehicles: a.n, congestionLevel: level },
          path: a.path,
          description: `queue of ${Math.round(a.m)} m (${a.n} vehicles) on approach ${approach}, congestion level ${level}`,
        });
    }
    this.approachStates = states;
  }

  /** Points of a lane between two arc lengths (clamped), every ~10 m, in the direction of travel. */
  private stretch(g: LaneGeo, s0: number, s1: number): { x: number; y: number }[] {
    const a = Math.max(0, Math.min(g.path.length, s0));
    const b = Math.max(a, Math.min(g.path.length, s1));
    const n = Math.max(1, Math.ceil((b - a) / 10));
    const out: { x: number; y: number }[] = [];
    for (let i = 0; i <= n; i++) out.push(g.path.pointAt(a + ((b - a) * i) / n));
    return out;
  }

  private reconcile(obs: Observation[], atMs: number): UpdateResult {
    const result: UpdateResult = { started: [], updated: [], ended: [] };
    const opt = (k: DetectedKind) =>
      k === 'stopped-vehicle' ? this.options.stopped : k === 'vru-in-roadway' ? this.options.vru : k === 'wrong-way' ? this.options.wrongWay : k === 'queue' ? this.options.queue : this.options.speeding;
    const radius = (k: DetectedKind) => ('mergeRadiusM' in opt(k) ? (opt(k) as { mergeRadiusM: number }).mergeRadiusM : 0);
    // Group observations into incidents: same key, a shared track, or within the kind's merge radius.
    const touched = new Map<Incident, Observation[]>();
    const fresh: Observation[][] = [];
    for (const ob of obs) {
      const live = this.incidents.filter((i) => i.state === 'active' && i.kind === ob.kind);
      const match = live.filter(
        (i) =>
          (ob.key !== undefined && i.key === ob.key) ||
          (ob.key === undefined && (ob.trackIds.some((id) => i.trackIds.includes(id)) || ob.points.some((p) => Math.hypot(p.x - i.x, p.y - i.y) <= radius(ob.kind)))),
      );
      if (match.length) {
        // Duplicates of one cause: merge incidents the observation joins, keeping the oldest.
        match.sort((a, b) => a.startMs - b.startMs);
        const keep = match[0]!;
        for (const other of match.slice(1)) {
          touched.set(keep, [...(touched.get(keep) ?? []), ...(touched.get(other) ?? [])]);
          touched.delete(other);
          this.incidents.splice(this.incidents.indexOf(other), 1);
          keep.sinceMs = Math.min(keep.sinceMs, other.sinceMs);
        }
        touched.set(keep, [...(touched.get(keep) ?? []), ob]);
        continue;
      }
      const grp = ob.key === undefined ? fresh.find((f) => f[0]!.kind === ob.kind && f.some((x) => x.points.some((p) => ob.points.some((q) => Math.hypot(p.x - q.x, p.y - q.y) <= radius(ob.kind))))) : fresh.find((f) => f[0]!.key === ob.key);
      if (grp) grp.push(ob);
      else fresh.push([ob]);
    }
    for (const [inc, list] of touched) {
      this.apply(inc, list, atMs);
      inc.lastSeenMs = atMs;
      result.updated.push(this.publicCopy(inc));
    }
    for (const list of fresh) {
      const id = this.allocateId();
      if (id === undefined) break; // every id in the range is in use: the event waits for one to free up
      const first = list[0]!;
      const inc: Incident = {
        id,
        kind: first.kind,
        key: first.key,
        state: 'active',
        sinceMs: Math.min(...list.map((l) => l.sinceMs)),
        startMs: atMs,
        updatedMs: atMs,
        lastSeenMs: atMs,
        x: 0,
        y: 0,
        lat: 0,
        lon: 0,
        radiusM: 0,
        priority: opt(first.kind).priority,
        trackIds: [],
        laneIds: [],
        referencePath: [],
        description: '',
        data: {},
      };
      this.apply(inc, list, atMs);
      this.incidents.push(inc);
      this.counters.started++;
      result.started.push(this.publicCopy(inc));
    }
    for (const inc of [...this.incidents]) {
      if (inc.state === 'active' && !touched.has(inc) && !result.started.some((s) => s.id === inc.id) && atMs - inc.lastSeenMs >= opt(inc.kind).holdOffS * 1000) {
        inc.state = 'ended';
        inc.endMs = atMs;
        this.counters.ended++;
        result.ended.push(this.publicCopy(inc));
        this.incidents.splice(this.incidents.indexOf(inc), 1);
      }
    }
    return result;
  }

  private apply(inc: Incident, list: Observation[], atMs: number): void {
    const pts = list.flatMap((l) => l.points);
    const cx = pts.reduce((a, p) => a + p.x, 0) / pts.length;
    const cy = pts.reduce((a, p) => a + p.y, 0) / pts.length;
    const pad = Math.max(...list.map((l) => l.pad));
    inc.x = cx;
    inc.y = cy;
    const g = this.frame.toGeo(cx, cy, 0);
    inc.lat = g.lat;
    inc.lon = g.lon;
    inc.radiusM = Math.round((Math.max(0, ...pts.map((p) => Math.hypot(p.x - cx, p.y - cy))) + pad) * 10) / 10;
    inc.trackIds = [...new Set(list.flatMap((l) => l.trackIds))].sort((a, b) => a - b);
    inc.laneIds = [...new Set(list.flatMap((l) => l.laneIds))].sort((a, b) => a - b);
    inc.approach = list.find((l) => l.approach !== undefined)?.approach;
    const path = list.find((l) => l.path)?.path;
    if (path) inc.referencePath = path.map((p) => {
      const q = this.frame.toGeo(p.x, p.y, 0);
      return { lat: q.lat, lon: q.lon };
    });
    inc.data = list.length === 1 ? list[0]!.data : { ...list[0]!.data, count: list.length };
    inc.description = list.length === 1 ? list[0]!.description : `${list[0]!.description} (+${list.length - 1} nearby)`;
    inc.sinceMs = Math.min(inc.sinceMs, ...list.map((l) => l.sinceMs));
    if (inc.kind === 'queue') inc.priority = Math.min(7, this.options.queue.priority + (inc.data.congestionLevel ?? 0));
    inc.updatedMs = atMs;
  }

  private allocateId(): number | undefined {
    const [lo, hi] = this.options.idRange;
    const used = new Set(this.incidents.map((i) => i.id));
    for (let k = 0; k <= hi - lo; k++) {
      const id = lo + ((this.nextId - lo + k) % (hi - lo + 1));
      if (!used.has(id)) {
        this.nextId = id + 1 > hi ? lo : id + 1;
        return id;
      }
    }
    return undefined;
  }

  private publicCopy(inc: Incident): DetectedEvent {
    const { key: _k, lastSeenMs: _l, ...e } = inc;
    return { ...e, trackIds: [...e.trackIds], laneIds: [...e.laneIds], referencePath: [...e.referencePath], data: { ...e.data } };
  }

  /** Events active now. */
  active(): DetectedEvent[] {
    return this.incidents.filter((i) => i.state === 'active').map((i) => this.publicCopy(i));
  }

  /** Queue length and congestion per approach, as of the last update. */
  approaches(): ApproachState[] {
    return this.approachStates.map((a) => ({ ...a }));
  }

  /**
   * The active events as RsiEvents for a message set (type: GB/T 29100 event type or ITIS code). Kinds without a
   * code the RSU can stand behind (see codes.ts) are left out and counted in stats().uncoded. Each carries its
   * source (`detection`), its start, its reference path (the affected stretch of lane, as wide as the widest of its
   * lanes; 32 points at most) and its reference links (the MAP links of its lanes, `referenceLinksOf`, with the node
   * ids of the MAP built for `intersection`, default the lane map's).
   */
  rsiEvents(std: MessageSet, opts: { intersection?: IntersectionRef } = {}): RsiEvent[] {
    const out: RsiEvent[] = [];
    for (const e of this.active()) {
      const c = eventCode(e.kind, std, { overrides: this.options.codes, allowUnconfirmed: this.options.allowUnconfirmedCodes });
      if (c.code === undefined) {
        this.counters.uncoded++;
        continue;
      }
      const half = Math.max(0, ...e.laneIds.map((id) => (this.map.lanesById.get(id)?.widthM ?? 0) / 2));
      const links = referenceLinksOf(this.map, e.laneIds, opts.intersection).slice(0, MAX_LINKS);
      out.push({
        id: e.id,
        type: c.code,
        description: e.description.replace(/[^\x20-\x7e]/g, '').slice(0, 512) || undefined,
        lat: e.lat,
        lon: e.lon,
        radiusM: Math.min(6553.5, e.radiusM),
        priority: e.priority,
        source: 'detection',
        startTime: new Date(e.startMs).toISOString(),
        ...(e.referencePath.length >= 2
          ? { referencePaths: [{ points: thinPoints(e.referencePath, MAX_PATH_POINTS), radiusM: Math.min(6553.5, Math.round((half || 1.75) * 10) / 10) }] }
          : {}),
        ...(links.length ? { referenceLinks: links } : {}),
      });
    }
    return out;
  }

  stats(): { active: number; started: number; ended: number; uncoded: number } {
    return { active: this.incidents.length, ...this.counters };
  }

  /** Called by update with the signal states to know how long a lane has had green. */
  observeSignals(signals: ReadonlyMap<number, Light> | undefined, atMs: number): void {
    if (!signals) return;
    for (const g of this.travel) {
      const green = this.laneLight(g.lane, signals) === 'green';
      if (!green) this.greenSince.delete(g.lane.laneId);
      else if (!this.greenSince.has(g.lane.laneId)) this.greenSince.set(g.lane.laneId, atMs);
    }
  }
}
