// RSM from tracks (CSAE / YD/T 3709): participant ids 1..65535 unique and stable per track, positions
// as offsets from refPos, at most 16 participants per message (more tracks: more messages).
import type { MessageSet as StdName } from '../config/types.js';
import { dSecond } from './clock.js';
import { offsetLL, position3D, verticalOffset, type LatLon } from './geo.js';
import { frameOf, isJ2735 } from './messages.js';
import { buildPsm, isVulnerable } from './psm.js';
import { DEFAULT_TRACKER_OPTIONS } from '../perception/tracker.js';

/** What the RSM builder needs of a track (the perception stage's Track has all of it). */
export interface TrackLike {
  id: number;
  classification: string;
  lat: number;
  lon: number;
  elevation: number;
  speed: number; // m/s
  headingDeg: number; // clockwise from north
  size: { length: number; width: number; height: number };
  posStdM: number;
  speedStdMs?: number;
  headingStdDeg?: number;
  accel?: number; // m/s², along the heading
  sources: string[];
  /** Temporary id of the BSM this road user also broadcasts (hex), when one was matched. */
  bsmId?: string;
}

/**
 * The range of RSM ptcId: INTEGER (0..65535) in both CSAE sets (csae2019 and csae2020 RSM.asn; the modules' comment
 * "0 is RSU itself, 1..255 represent participants" is not a constraint). 0 stays the RSU's own.
 */
export const PTC_ID_MIN = 1;
export const PTC_ID_MAX = 65535;

/** Why a tracked road user was not in the RSM of a cycle (rsu_rsm_participants_left_out_total). */
export const LEFT_OUT_REASONS = [
  'ids_exhausted', // every participant id is in use or resting
  'encode_error', // its RSM failed to encode (the whole message's participants)
  'no_j2735_counterpart', // J2735 mode: only pedestrians and cyclists go out (as PSMs); J2735 has no RSM
] as const;
export type LeftOutReason = (typeof LEFT_OUT_REASONS)[number];

/**
 * RSM participant ids PTC_ID_MIN..PTC_ID_MAX for track ids. A track unseen for `goneMs` releases its id: as long as
 * the tracker's re-identification window (TrackerOptions.reidentifyMs), so a road user lost for a moment and
 * re-identified comes back under the same id. A released id rests for `restMs` before it is given out again, so a
 * receiver never confuses a new road user with one that just left; the id resting longest goes first. With 65535
 * ids and a 10 s rest, 6500 new road users a second can be named; `exhausted` counts those that could not.
 */
export class ParticipantIds {
  private byTrack = new Map<number, { ptcId: number; seenMs: number }>();
  /** Released ids in the order they were released (so their rest ends in this order too): a queue. */
  private free: { ptcId: number; since: number }[] = [];
  private head = 0;
  /** The next id never given out (they have rested longest: they go first). */
  private fresh: number;
  private readonly max: number;
  exhausted = 0;

  constructor(
    private readonly restMs = 10_000,
    private readonly goneMs = DEFAULT_TRACKER_OPTIONS.reidentifyMs,
    range: { min: number; max: number } = { min: PTC_ID_MIN, max: PTC_ID_MAX },
  ) {
    this.fresh = range.min;
    this.max = range.max;
  }

  /** Ids in use now. */
  get inUse(): number {
    return this.byTrack.size;
  }

  /** Ids for the given tracks at time nowMs; tracks unseen for goneMs release theirs. A track missing from the map: none free. */
  assign(trackIds: number[], nowMs: number): Map<number, number> {
    for (const t of trackIds) {
      const e = this.byTrack.get(t);
      if (e) e.seenMs = nowMs;
    }
    for (const [t, e] of this.byTrack) {
      if (nowMs - e.seenMs > this.goneMs) {
        this.byTrack.delete(t);
        this.free.push({ ptcId: e.ptcId, since: nowMs });
      }
    }
    const out = new Map<number, number>();
    for (const t of trackIds) {
      let e = this.byTrack.get(t);
      if (!e) {
        const f = this.free[this.head];
        let ptcId: number;
        if (this.fresh <= this.max) ptcId = this.fresh++;
        else if (f && nowMs - f.since >= this.restMs) {
          ptcId = f.ptcId;
          this.head++;
        } else {
          this.exhausted++;
          continue;
        }
        e = { ptcId, seenMs: nowMs };
        this.byTrack.set(t, e);
      }
      out.set(t, e.ptcId);
    }
    if (this.head > 4096 && this.head * 2 > this.free.length) {
      this.free = this.free.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

export interface RsmContext {
  std: StdName;
  rsuIdHex: string;
  ref: LatLon;
  nextMsgCnt: () => number;
  maxParticipants: number;
  ids: ParticipantIds;
  /** Told of the tracked road users this cycle's RSM leaves out, by reason. */
  leftOut?: (reason: LeftOutReason, n: number) => void;
}

const PTC_TYPE: Record<string, string> = { pedestrian: 'pedestrian', bicycle: 'non-motor', animal: 'unknown', unknown: 'unknown', other: 'unknown' };
const VEHICLE_CLASS: Record<string, number> = {
  car: 10,
  van: 20,
  truck: 25,
  trailer: 30,
  bus: 50,
  motorcycle: 40,
  bicycle: 85,
  pedestrian: 82,
  emergency_vehicle: 60,
};

/** PositionConfidence from a 1-sigma position error (the largest class the error fits in). */
function posConfidence(stdM: number): string {
  const table: [number, string][] = [
    [0.01, 'a1cm'], [0.02, 'a2cm'], [0.05, 'a5cm'], [0.1, 'a10cm'], [0.2, 'a20cm'], [0.5, 'a50cm'], [1, 'a1m'],
    [2, 'a2m'], [5, 'a5m'], [10, 'a10m'], [20, 'a20m'], [50, 'a50m'], [100, 'a100m'], [200, 'a200m'], [500, 'a500m'],
  ];
  if (!Number.isFinite(stdM)) return 'unavailable';
  return table.find(([m]) => stdM <= m)?.[1] ?? 'unavailable';
}

function speedConfidence(std: number | undefined): string {
  if (std === undefined || !Number.isFinite(std)) return 'unavailable';
  const t: [number, string][] = [[0.01, 'prec0-01ms'], [0.05, 'prec0-05ms'], [0.1, 'prec0-1ms'], [1, 'prec1ms'], [5, 'prec5ms'], [10, 'prec10ms'], [100, 'prec100ms']];
  return t.find(([m]) => std <= m)?.[1] ?? 'unavailable';
}

function headingConfidence(std: number | undefined): string {
  if (std === undefined || !Number.isFinite(std)) return 'unavailable';
  const t: [number, string][] = [[0.01, 'prec0-01deg'], [0.0125, 'prec0-0125deg'], [0.05, 'prec0-05deg'], [0.1, 'prec0-1deg'], [1, 'prec01deg'], [5, 'prec05deg'], [10, 'prec10deg']];
  return t.find(([m]) => std <= m)?.[1] ?? 'unavailable';
}

function sourceOf(sources: string[]): string {
  const s = new Set(sources);
  if (s.size > 1) return 'integrated';
  if (s.has('lidar')) return 'lidar';
  if (s.has('camera')) return 'video';
  if (s.has('radar')) return 'microwaveRadar';
  return 'unknown';
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

export function participant(t: TrackLike, ptcId: number, atMs: number, ref: LatLon): Record<string, unknown> {
  const cls = t.classification;
  const p: Record<string, unknown> = {
    ptcType: PTC_TYPE[cls] ?? 'motor',
    ptcId,
    source: sourceOf(t.sources),
    secMark: dSecond(atMs),
    pos: { offsetLL: offsetLL(t, ref) },
    posConfidence: { pos: posConfidence(t.posStdM) },
    speed: Number.isFinite(t.speed) ? clamp(Math.round(t.speed / 0.02), 0, 8190) : 8191,
    heading: Number.isFinite(t.headingDeg) ? Math.round((((t.headingDeg % 360) + 360) % 360) / 0.0125) % 28800 : 28800,
    motionCfd: { speedCfd: speedConfidence(t.speedStdMs), headingCfd: headingConfidence(t.headingStdDeg) },
    size: {
      width: clamp(Math.round(t.size.width * 100), 0, 1023),
      length: clamp(Math.round(t.size.length * 100), 0, 4095),
      height: clamp(Math.round(t.size.height / 0.05), 0, 127),
    },
  };
  if (t.bsmId && /^[0-9A-Fa-f]{16}$/.test(t.bsmId)) p.id = t.bsmId.toUpperCase();
  const v = verticalOffset(t, ref);
  if (v) (p.pos as Record<string, unknown>).offsetV = v;
  if (t.accel !== undefined && Number.isFinite(t.accel)) {
    // Acceleration in 0.01 m/s² (-2000..2001, 2001 unavailable); VerticalAcceleration 0.02 G (-127 unavailable).
    p.accelSet = { long: clamp(Math.round(t.accel * 100), -2000, 2000), lat: 2001, vert: -127, yaw: 0 };
  }
  if (VEHICLE_CLASS[cls] !== undefined) p.vehicleClass = { classification: VEHICLE_CLASS[cls] };
  return p;
}

/** RSM frames for the tracks: as many messages as it takes to carry them all, maxParticipants each. */
export function buildRsm(tracks: TrackLike[], atMs: number, ctx: RsmContext): unknown[] {
  // J2735 2016/2020 have no RSM (J3224 SDSM needs the deployer's modules): vulnerable road users go out as PSMs.
  if (isJ2735(ctx.std)) {
    const vru = tracks.filter(isVulnerable);
    if (vru.length < tracks.length) ctx.leftOut?.('no_j2735_counterpart', tracks.length - vru.length);
    return vru.map((t) => buildPsm(t, atMs, ctx.nextMsgCnt(), ctx.rsuIdHex));
  }
  const ids = ctx.ids.assign(
    tracks.map((t) => t.id),
    atMs,
  );
  if (ids.size < tracks.length) ctx.leftOut?.('ids_exhausted', tracks.length - ids.size);
  const parts = tracks.filter((t) => ids.has(t.id)).map((t) => participant(t, ids.get(t.id)!, atMs, ctx.ref));
  const max = Math.max(1, Math.min(16, ctx.maxParticipants));
  const out: unknown[] = [];
  for (let i = 0; i < parts.length; i += max) {
    out.push(
      frameOf(ctx.std, 'rsm', {
        msgCnt: ctx.nextMsgCnt(),
        id: ctx.rsuIdHex,
        refPos: position3D(ctx.ref),
        participants: parts.slice(i, i + max),
      }),
    );
  }
  return out;
}
