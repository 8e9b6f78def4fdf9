// Vehicles that broadcast BSMs are also seen by the sensors. YD/T 3709 / T/CSAE 159: such an RSM participant carries
// the vehicle's temporary id from its BSM, so receivers can tell the two reports are one vehicle. Matching is
// one-to-one (Hungarian) on the ground plane, after moving each BSM's position to the RSM's time with its own speed
// and heading, and only between road users of compatible kind.
import { hungarian } from '../perception/hungarian.js';
import type { TrackLike } from './rsm.js';

export interface HeardBsm {
  /** The BSM's temporary id, hex (8 octets in CSAE). */
  id: string;
  lat: number;
  lon: number;
  /** m/s and degrees clockwise from north; undefined when unavailable. */
  speed?: number;
  headingDeg?: number;
  atMs: number;
}

export interface BsmMatchOptions {
  /** A BSM older than this is forgotten, ms. */
  maxAgeMs: number;
  /** Farthest a BSM position (moved to the RSM time) may be from a track, m. */
  gateM: number;
  /** Largest heading difference for moving vehicles, degrees. */
  maxHeadingDiffDeg: number;
}

export const DEFAULT_BSM_MATCH: BsmMatchOptions = { maxAgeMs: 1500, gateM: 4, maxHeadingDiffDeg: 45 };

const VEHICLES = new Set(['car', 'van', 'truck', 'trailer', 'bus', 'motorcycle', 'emergency_vehicle', 'unknown']);
const R = 6_371_008.8;

/** Latest BSM per vehicle, and the one-to-one match of BSMs to vehicle tracks. */
export class BsmMatcher {
  private heard = new Map<string, HeardBsm>();
  constructor(private readonly opts: BsmMatchOptions = DEFAULT_BSM_MATCH) {}

  /** A received BSM value (CSAE BasicSafetyMessage or J2735 BSMcoreData): keeps its id, position and motion. */
  hear(value: unknown, atMs: number): void {
    const v = value as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const core = v?.coreData ?? v;
    const id = core?.id;
    const lat = core?.pos?.lat ?? core?.lat;
    const lon = core?.pos?.long ?? core?.long;
    if (typeof id !== 'string' || typeof lat !== 'number' || typeof lon !== 'number') return;
    if (Math.abs(lat) > 900000000 || Math.abs(lon) > 1800000000) return; // 900000001 / 1800000001: unavailable
    const speed = typeof core.speed === 'number' && core.speed < 8191 ? core.speed * 0.02 : undefined;
    const headingDeg = typeof core.heading === 'number' && core.heading < 28800 ? core.heading * 0.0125 : undefined;
    this.heard.set(id, { id, lat: lat / 1e7, lon: lon / 1e7, speed, headingDeg, atMs });
  }

  /** Track id → BSM id, for the tracks at atMs. */
  match(tracks: readonly TrackLike[], atMs: number): Map<number, string> {
    for (const [id, b] of this.heard) if (atMs - b.atMs > this.opts.maxAgeMs) this.heard.delete(id);
    const out = new Map<number, string>();
    const bsms = [...this.heard.values()];
    const cands = tracks.filter((t) => VEHICLES.has(t.classification));
    if (!bsms.length || !cands.length) return out;
    const BIG = 1e9;
    const cost = cands.map((t) =>
      bsms.map((b) => {
        const dt = (atMs - b.atMs) / 1000;
        let { lat, lon } = b;
        if (b.speed !== undefined && b.headingDeg !== undefined) {
          const h = (b.headingDeg * Math.PI) / 180;
          lat += ((b.speed * dt * Math.cos(h)) / R) * (180 / Math.PI);
          lon += ((b.speed * dt * Math.sin(h)) / (R * Math.cos((lat * Math.PI) / 180))) * (180 / Math.PI);
        }
        const dn = ((t.lat - lat) * Math.PI * R) / 180;
        const de = ((t.lon - lon) * Math.PI * R * Math.cos((lat * Math.PI) / 180)) / 180;
        const d = Math.hypot(dn, de);
        if (d > this.opts.gateM) return BIG;
        if (b.headingDeg !== undefined && (b.speed ?? 0) > 2 && t.speed > 2) {
          const diff = Math.abs(((t.headingDeg - b.headingDeg + 540) % 360) - 180);
          if (diff > this.opts.maxHeadingDiffDeg) return BIG;
        }
        return d;
      }),
    );
    const { rowToCol } = hungarian(cost, { maxCost: this.opts.gateM });
    rowToCol.forEach((j, i) => {
      if (j >= 0 && cost[i]![j]! < BIG) out.set(cands[i]!.id, bsms[j]!.id);
    });
    return out;
  }
}
