// The drivable network the simulator builds from a lane map: routes (ingress lane → connection curve → egress
// lane) as resampled paths, the conflict zones between connections, and which movement yields to which.

import { connectionCurve, endDirection, Path, type P2 } from '../map/geometry.js';
import type { Lane, LaneMap, Maneuver } from '../map/types.js';
import type { SignalPlan } from './signals.js';

export interface Connection {
  key: string;
  from: Lane;
  to: Lane;
  maneuver: Maneuver;
  signalGroup?: number;
  /** The curve through the intersection, from the stop line to the egress lane's start. */
  curve: P2[];
  length: number;
  conflicts: Conflict[];
}

/** Where two connections come closer than their vehicles' widths allow, seen from one of them. */
export interface Conflict {
  other: Connection;
  /** Zone along this connection's curve, metres from its start. */
  sIn: number;
  sOut: number;
  /** The same zone along the other connection. */
  otherIn: number;
  otherOut: number;
  /** Both movements can have green at once: the lower-priority one gives way (else the signals separate them). */
  permissive: boolean;
  /** For permissive conflicts: whether this movement gives way to the other. */
  yields: boolean;
  /** The two paths join (same egress lane). */
  merge: boolean;
}

export interface Route {
  id: number;
  connection: Connection;
  ingress: Lane;
  egress: Lane;
  path: Path;
  /** Arc length of the stop line (end of the ingress lane) and of the egress lane's start. */
  sStop: number;
  sExit: number;
  /** Speed limit along the route, m/s (the lanes', else 50 km/h). */
  limitIn: number;
  limitOut: number;
  /** The lane's right edge is this far right of the centreline (for riders keeping right), metres. */
  halfWidth: number;
  /** Crosswalks the route crosses. */
  crosswalks: CrosswalkCrossing[];
  /** Speed profiles computed so far (see Network.profile). */
  profileCache: Map<string, Float64Array>;
}

/** Where a route crosses a crosswalk. */
export interface CrosswalkCrossing {
  crosswalk: Lane;
  path: Path;
  /** Along the route: where the crosswalk's area begins and ends. */
  sIn: number;
  sOut: number;
  /** Along the crosswalk: where the route crosses it. */
  u: number;
}

/** Centrelines closer than this are a conflict (two of the widest vehicles, 2.55 m, side by side), metres. */
export const CONFLICT_DISTANCE_M = 2.7;

const RANK: Record<Maneuver, number> = { straight: 0, right: 1, left: 2, uTurn: 3 };

export class Network {
  readonly connections: Connection[] = [];
  readonly routes: Route[] = [];
  readonly lanePaths = new Map<number, Path>();
  /** Routes by ingress lane. */
  readonly routesFrom = new Map<number, Route[]>();
  /** Connections sharing an ingress or egress lane with each connection (their vehicles can be in line). */
  readonly neighbours = new Map<string, Connection[]>();

  constructor(
    readonly map: LaneMap,
    readonly signals: SignalPlan,
  ) {
    for (const l of map.lanes) this.lanePaths.set(l.laneId, new Path(l.points, 0.5));
    for (const from of map.lanes) {
      if (from.direction !== 'ingress' || (from.kind !== 'vehicle' && from.kind !== 'bike')) continue;
      for (const c of from.connectsTo) {
        const to = map.lanesById.get(c.lane);
        if (!to) continue;
        const p0 = from.points[from.points.length - 1]!;
        const p3 = to.points[0]!;
        const curve =
          Math.hypot(p3.x - p0.x, p3.y - p0.y) < 0.05
            ? [p0, { x: p3.x + endDirection(to.points, 'start').x * 0.1, y: p3.y + endDirection(to.points, 'start').y * 0.1 }]
            : connectionCurve(p0, endDirection(from.points, 'end'), p3, endDirection(to.points, 'start'));
        const conn: Connection = {
          key: `${from.laneId}>${to.laneId}`,
          from,
          to,
          maneuver: c.maneuver,
          ...(c.signalGroup !== undefined ? { signalGroup: c.signalGroup } : {}),
          curve,
          length: new Path(curve, 0.25).length,
          conflicts: [],
        };
        this.connections.push(conn);
        const pts: P2[] = [...from.points, ...curve.slice(1), ...to.points.slice(1)];
        const path = new Path(pts, 0.5);
        const kmh = (l: Lane) => (l.speedLimitKmh ?? 50) / 3.6;
        const route: Route = {
          id: this.routes.length,
          connection: conn,
          ingress: from,
          egress: to,
          path,
          sStop: from.lengthM,
          sExit: from.lengthM + conn.length,
          limitIn: kmh(from),
          limitOut: kmh(to),
          halfWidth: from.widthM / 2,
          crosswalks: [],
          profileCache: new Map(),
        };
        for (const cw of map.lanes) {
          if (cw.kind !== 'crosswalk') continue;
          const cwPath = this.lanePaths.get(cw.laneId)!;
          let sIn = Infinity;
          let sOut = -Infinity;
          for (let k = 0; k < path.n; k++) {
            const pr = cwPath.project({ x: path.xs[k]!, y: path.ys[k]! });
            if (pr && pr.dist < cw.widthM / 2 + 0.3 && pr.s > 0 && pr.s < cwPath.length) {
              sIn = Math.min(sIn, k * path.ds);
              sOut = Math.max(sOut, k * path.ds);
            }
          }
          if (!Number.isFinite(sIn)) continue;
          const mid = path.pointAt((sIn + sOut) / 2);
          route.crosswalks.push({ crosswalk: cw, path: cwPath, sIn, sOut, u: cwPath.project(mid)!.s });
        }
        this.routes.push(route);
        const list = this.routesFrom.get(from.laneId) ?? [];
        list.push(route);
        this.routesFrom.set(from.laneId, list);
      }
    }
    this.findConflicts();
    for (const c of this.connections)
      this.neighbours.set(
        c.key,
        this.connections.filter((o) => o !== c && (o.from === c.from || o.to === c.to)),
      );
  }

  private findConflicts(): void {
    const sampled = this.connections.map((c) => {
      const p = new Path(c.curve, 0.25);
      const pts: Array<{ s: number; x: number; y: number }> = [];
      for (let i = 0; i < p.n; i++) pts.push({ s: i * p.ds, x: p.xs[i]!, y: p.ys[i]! });
      return pts;
    });
    for (let i = 0; i < this.connections.length; i++) {
      for (let j = i + 1; j < this.connections.length; j++) {
        const a = this.connections[i]!;
        const b = this.connections[j]!;
        if (a.from === b.from) continue; // they diverge from one lane: car following handles them
        const merge = a.to === b.to;
        let aIn = Infinity;
        let aOut = -Infinity;
        let bIn = Infinity;
        let bOut = -Infinity;
        for (const pa of sampled[i]!)
          for (const pb of sampled[j]!) {
            if (Math.abs(pa.x - pb.x) > CONFLICT_DISTANCE_M || Math.abs(pa.y - pb.y) > CONFLICT_DISTANCE_M) continue;
            if (Math.hypot(pa.x - pb.x, pa.y - pb.y) < CONFLICT_DISTANCE_M) {
              aIn = Math.min(aIn, pa.s);
              aOut = Math.max(aOut, pa.s);
              bIn = Math.min(bIn, pb.s);
              bOut = Math.max(bOut, pb.s);
            }
          }
        if (!Number.isFinite(aIn)) continue;
        if (merge) {
          aOut = a.length;
          bOut = b.length;
        }
        const permissive = this.signals.overlap(a.signalGroup, b.signalGroup);
        const pa = [RANK[a.maneuver], a.from.approach ?? 0, a.from.laneId];
        const pb = [RANK[b.maneuver], b.from.approach ?? 0, b.from.laneId];
        const aFirst = pa[0]! !== pb[0]! ? pa[0]! < pb[0]! : pa[1]! !== pb[1]! ? pa[1]! < pb[1]! : pa[2]! < pb[2]!;
        a.conflicts.push({ other: b, sIn: aIn, sOut: aOut, otherIn: bIn, otherOut: bOut, permissive, yields: !aFirst, merge });
        b.conflicts.push({ other: a, sIn: bIn, sOut: bOut, otherIn: aIn, otherOut: aOut, permissive, yields: aFirst, merge });
      }
    }
  }

  /**
   * Speed profile of a route for a road user: the highest speed at each sample (every path.ds metres) given the
   * speed limit, the user's top speed, lateral acceleration in curves, and comfortable braking ahead of them.
   */
  profile(route: Route, vMax: number, aLat: number, bComf: number): Float64Array {
    const key = `${vMax.toFixed(2)}|${aLat}|${bComf}`;
    const cached = route.profileCache.get(key);
    if (cached) return cached;
    const p = route.path;
    const v = new Float64Array(p.n);
    for (let i = 0; i < p.n; i++) {
      const s = i * p.ds;
      const limit = s < route.sExit ? route.limitIn : route.limitOut;
      const k = p.kappa[i]!;
      const vc = k > 1e-4 ? Math.sqrt(aLat / k) : Infinity;
      v[i] = Math.min(vMax, limit * 1.05, vc);
    }
    for (let i = p.n - 2; i >= 0; i--) v[i] = Math.min(v[i]!, Math.sqrt(v[i + 1]! ** 2 + 2 * bComf * p.ds));
    route.profileCache.set(key, v);
    return v;
  }
}
