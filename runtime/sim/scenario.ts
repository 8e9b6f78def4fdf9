// The simulated intersection: vehicles and cyclists following lanes and connections with an intelligent driver
// model (IDM), obeying the fixed-time signal plan, giving way where movements conflict and to pedestrians in
// their path; pedestrians crossing on crosswalks when their signal group is green, and some crossing between
// stopped vehicles away from the crosswalks. Seeded: the same seed, map, phases and options give the same world.

import type { SpatPhase } from '../config/types.js';
import { Path, type P2 } from '../map/geometry.js';
import type { Lane, LaneMap, Maneuver } from '../map/types.js';
import { Network, type Route } from './network.js';
import { Rng, type Seed } from './rng.js';
import { SignalPlan, type Light } from './signals.js';
import type { RoadUserClass, Size, TruthObject, TruthTick } from './truth.js';

export type VehicleClass = 'car' | 'van' | 'truck' | 'bus';

/** Rates are per hour; a number applies to every approach (crosswalk), a record gives them by approach id (crosswalk lane id). */
export type Rate = number | Record<number, number>;

export interface SpawnOptions {
  /** Motor vehicles entering per approach. */
  vehiclesPerHour: Rate;
  /** Shares of the vehicle classes. */
  mix: Record<VehicleClass, number>;
  /** Shares of the movements (among those an approach offers). */
  turnShares: Record<Maneuver, number>;
  /** Cyclists per approach (riding on the rightmost lane, straight on or right). */
  cyclistsPerHour: Rate;
  /** Pedestrians per crosswalk (both directions). */
  pedestriansPerHour: Rate;
  /** Pedestrians crossing between stopped vehicles away from a crosswalk, for the whole intersection (attempts: one happens only where a queue stands). */
  jaywalkersPerHour: number;
}

export const DEFAULT_SPAWN: SpawnOptions = {
  vehiclesPerHour: 360,
  mix: { car: 0.78, van: 0.1, truck: 0.06, bus: 0.06 },
  turnShares: { straight: 0.6, left: 0.2, right: 0.2, uTurn: 0 },
  cyclistsPerHour: 40,
  pedestriansPerHour: 90,
  jaywalkersPerHour: 30,
};

export interface ScenarioOptions {
  seed: Seed;
  laneMap: LaneMap;
  /** The SPAT phases (config applications.spat.phases): signal groups of the map's connections and crosswalks. */
  phases: readonly SpatPhase[];
  spawn?: Partial<SpawnOptions>;
  /** Informative: `done` turns true after this many seconds. */
  durationS?: number;
  /** Unix time of the scenario start, ms (signal states depend on it). Default 1_750_000_000_000. */
  startMs?: number;
  /** Simulated before the start so that traffic is flowing at t = 0, seconds. Default 60. */
  warmupS?: number;
  /** Largest internal step; step(dt) is split into steps no longer than this, seconds. Default 0.05. */
  maxStepS?: number;
}

export const DEFAULT_START_MS = 1_750_000_000_000;

interface Driver {
  a: number;
  b: number;
  T: number;
  s0: number;
  vMax: number;
  aLat: number;
}

interface Vehicle {
  id: number;
  cls: VehicleClass | 'bicycle';
  route: Route;
  /** Arc length of the box centre along the route. */
  s: number;
  v: number;
  acc: number;
  size: Size;
  drv: Driver;
  /** Metres left of the lane centreline (cyclists keep right). */
  lateral: number;
  profile: Float64Array;
  yellow?: 'stop' | 'go';
  /** Seconds stopped inside the intersection. */
  stuckS: number;
  /** Scratch mark for candidate searches. */
  stamp?: number;
}

interface Pedestrian {
  id: number;
  path: Path;
  s: number;
  v: number;
  vWalk: number;
  sWait: number;
  sCrossEnd: number;
  crosswalk?: number;
  group?: number;
  state: 'approach' | 'wait' | 'cross' | 'leave';
  jaywalk: boolean;
  size: Size;
  /** The vehicle standing in this pedestrian's way (that vehicle does not wait for it: it goes first). */
  blockedBy?: number;
  blockedS?: number;
  /** A stopped vehicle the pedestrian walks around. */
  ignore?: number;
}

interface Pending {
  cls: VehicleClass | 'bicycle';
  route: Route;
}

const DIMENSIONS: Record<RoadUserClass, (r: Rng) => Size> = {
  car: (r) => ({ length: r.uniform(4.1, 4.9), width: r.uniform(1.75, 1.9), height: r.uniform(1.4, 1.6) }),
  van: (r) => ({ length: r.uniform(5.0, 5.9), width: r.uniform(1.95, 2.05), height: r.uniform(2.1, 2.6) }),
  truck: (r) => ({ length: r.uniform(8.0, 12.0), width: 2.5, height: r.uniform(3.3, 3.9) }),
  bus: (r) => ({ length: r.uniform(12.0, 13.5), width: 2.55, height: r.uniform(3.0, 3.3) }),
  bicycle: (r) => ({ length: r.uniform(1.7, 1.9), width: r.uniform(0.6, 0.7), height: r.uniform(1.6, 1.85) }),
  pedestrian: (r) => ({ length: r.uniform(0.4, 0.6), width: r.uniform(0.5, 0.7), height: r.uniform(1.55, 1.9) }),
};

function driverFor(cls: VehicleClass | 'bicycle', r: Rng, limit: number): Driver {
  switch (cls) {
    case 'car':
      return { a: r.uniform(1.5, 2.1), b: 2.5, T: r.uniform(1.1, 1.5), s0: 2, vMax: limit * r.uniform(0.9, 1.1), aLat: 2.5 };
    case 'van':
      return { a: r.uniform(1.3, 1.7), b: 2.3, T: r.uniform(1.2, 1.6), s0: 2, vMax: limit * r.uniform(0.9, 1.05), aLat: 2.2 };
    case 'truck':
      return { a: r.uniform(0.8, 1.0), b: 2.0, T: r.uniform(1.5, 1.8), s0: 2.5, vMax: limit * r.uniform(0.85, 1.0), aLat: 1.6 };
    case 'bus':
      return { a: r.uniform(0.9, 1.1), b: 2.0, T: r.uniform(1.5, 1.8), s0: 2.5, vMax: limit * r.uniform(0.85, 1.0), aLat: 1.6 };
    case 'bicycle':
      return { a: 1.0, b: 2.0, T: 1.0, s0: 1.5, vMax: r.uniform(4.0, 7.0), aLat: 2.0 };
  }
}

const rateFor = (rate: Rate, key: number) => (typeof rate === 'number' ? rate : rate[key] ?? 0);

/** Hard braking used to decide whether a vehicle can still stop, m/s². */
const B_HARD = 6;
/** Comfortable braking for the decision to stop at yellow, m/s². */
const B_YELLOW = 3;
/** A vehicle stopped this long inside the intersection is taken for a deadlock and moves on, seconds. */
const GRIDLOCK_S = 45;

export class Scenario {
  readonly network: Network;
  readonly signals: SignalPlan;
  readonly spawn: SpawnOptions;
  readonly startMs: number;
  readonly durationS: number;
  /** Seconds since the start; negative while warming up. */
  t: number;
  /** Counts of what happened, for summaries. */
  readonly stats = { vehicles: 0, cyclists: 0, pedestrians: 0, jaywalkers: 0, finished: 0, steps: 0, gridlockBreaks: 0 };

  private readonly rngSpawn: Rng;
  private readonly rngAgents: Rng;
  private readonly maxStep: number;
  private vehicles: Vehicle[] = [];
  private peds: Pedestrian[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending[]>();
  private readonly sources: Array<{ next: number; rate: number; fire: () => void }> = [];
  private readonly approachLanes = new Map<number, Lane[]>();
  /** When set (see explainVehicles), what limited each vehicle's acceleration in the last step. */
  private explain: Map<number, string> | undefined;
  /** Vehicles in each vehicle's path, last step and this step. */
  private blockedBy = new Map<number, Set<number>>();
  private poses = new Map<Vehicle, { c: P2; h: number }>();
  private stampCounter = 0;
  private nextBlockedBy = new Map<number, Set<number>>();

  constructor(readonly opts: ScenarioOptions) {
    this.signals = new SignalPlan(opts.phases);
    this.network = new Network(opts.laneMap, this.signals);
    this.spawn = {
      ...DEFAULT_SPAWN,
      ...opts.spawn,
      mix: { ...DEFAULT_SPAWN.mix, ...opts.spawn?.mix },
      turnShares: { ...DEFAULT_SPAWN.turnShares, ...opts.spawn?.turnShares },
    };
    this.startMs = Math.round(opts.startMs ?? DEFAULT_START_MS);
    this.durationS = opts.durationS ?? Infinity;
    this.maxStep = opts.maxStepS ?? 0.05;
    const root = new Rng(opts.seed, 'scenario');
    this.rngSpawn = root.fork('spawn');
    this.rngAgents = root.fork('agents');
    const warmup = opts.warmupS ?? 60;
    this.t = -warmup;

    for (const l of opts.laneMap.lanes) {
      if (l.approach === undefined || (l.kind !== 'vehicle' && l.kind !== 'bike')) continue;
      const list = this.approachLanes.get(l.approach) ?? [];
      list.push(l);
      this.approachLanes.set(l.approach, list);
    }
    this.setUpSources();
    if (warmup > 0) this.step(warmup);
  }

  get done(): boolean {
    return this.t >= this.durationS;
  }

  /** Unix time now, ms. */
  get timeMs(): number {
    return this.startMs + this.t * 1000;
  }

  /** Unix time now, ns. */
  get timeNs(): bigint {
    return BigInt(this.startMs) * 1_000_000n + BigInt(Math.round(this.t * 1e9));
  }

  /** Advances the world by dtS seconds (in steps of at most maxStepS). */
  step(dtS: number): void {
    if (!(dtS >= 0)) throw new RangeError(`step: dt must be a non-negative number of seconds, got ${dtS}`);
    let left = dtS;
    while (left > 1e-9) {
      const dt = Math.min(this.maxStep, left);
      this.tick(dt);
      left -= dt;
    }
  }

  /**
   * Diagnostics: from now on, records for each vehicle what limited its acceleration in the last step ("free",
   * "signal", "leader 12", "yield 7 (31>15)", "pedestrian 40", "in line 9"); returns the live map.
   */
  explainVehicles(): ReadonlyMap<number, string> {
    this.explain ??= new Map();
    return this.explain;
  }

  /** Light of a signal group now. */
  light(group: number | undefined): Light {
    return this.signals.light(group, this.timeMs);
  }

  groundTruth(): TruthTick {
    const objects: TruthObject[] = [];
    for (const v of this.vehicles) {
      const { c: p, h } = this.pose(v);
      const c = v.route.connection;
      objects.push({
        id: v.id,
        class: v.cls,
        position: { x: p.x, y: p.y, z: v.size.height / 2 },
        velocity: { x: v.v * Math.cos(h), y: v.v * Math.sin(h), z: 0 },
        heading: h,
        speed: v.v,
        size: { ...v.size },
        route: {
          ingressLane: v.route.ingress.laneId,
          egressLane: v.route.egress.laneId,
          maneuver: c.maneuver,
          ...(c.signalGroup !== undefined ? { signalGroup: c.signalGroup } : {}),
          toStopLineM: v.route.sStop - (v.s + v.size.length / 2),
        },
      });
    }
    for (const q of this.peds) {
      const p = q.path.pointAt(q.s);
      const h = q.path.headingAt(Math.min(q.s + 0.3, q.path.length));
      objects.push({
        id: q.id,
        class: 'pedestrian',
        position: { x: p.x, y: p.y, z: q.size.height / 2 },
        velocity: { x: q.v * Math.cos(h), y: q.v * Math.sin(h), z: 0 },
        heading: h,
        speed: q.v,
        size: { ...q.size },
        pedestrian: {
          state: q.state,
          ...(q.crosswalk !== undefined ? { crosswalk: q.crosswalk } : {}),
          ...(q.group !== undefined ? { signalGroup: q.group } : {}),
          jaywalk: q.jaywalk,
        },
      });
    }
    const signals: Record<number, Light> = {};
    for (const p of this.signals.phases) signals[p.id] = this.light(p.id);
    return { tS: this.t, timeNs: this.timeNs, objects, signals };
  }

  // ---- spawning -------------------------------------------------------------------------------------------

  private setUpSources(): void {
    const sp = this.spawn;
    const r = this.rngSpawn;
    const add = (perHour: number, fire: () => void) => {
      if (!(perHour > 0)) return;
      const rate = perHour / 3600;
      this.sources.push({ next: this.t + r.exponential(rate), rate, fire });
    };
    for (const [approach, lanes] of [...this.approachLanes].sort((a, b) => a[0] - b[0])) {
      const routes = lanes.filter((l) => l.direction === 'ingress').flatMap((l) => this.network.routesFrom.get(l.laneId) ?? []);
      const vehicleRoutes = routes.filter((rt) => rt.ingress.kind === 'vehicle');
      if (vehicleRoutes.length) add(rateFor(sp.vehiclesPerHour, approach), () => this.arriveVehicle(vehicleRoutes));
      const bikeLaneRoutes = routes.filter((rt) => rt.ingress.kind === 'bike');
      const cycleRoutes = bikeLaneRoutes.length ? bikeLaneRoutes : this.rightmostRoutes(vehicleRoutes).filter((rt) => rt.connection.maneuver === 'straight' || rt.connection.maneuver === 'right');
      if (cycleRoutes.length) add(rateFor(sp.cyclistsPerHour, approach), () => this.arriveCyclist(cycleRoutes));
    }
    for (const l of this.opts.laneMap.lanes)
      if (l.kind === 'crosswalk') add(rateFor(sp.pedestriansPerHour, l.laneId), () => this.arrivePedestrian(l));
    add(sp.jaywalkersPerHour, () => this.tryJaywalker());
  }

  /** Routes from the ingress lane furthest right (in the direction of travel) among those given. */
  private rightmostRoutes(routes: Route[]): Route[] {
    let best: Lane | undefined;
    let bestOff = -Infinity;
    for (const rt of routes) {
      const l = rt.ingress;
      const p = l.points[l.points.length - 1]!;
      const q = l.points[l.points.length - 2]!;
      const d = { x: p.x - q.x, y: p.y - q.y };
      const n = Math.hypot(d.x, d.y) || 1;
      const off = (p.x * d.y - p.y * d.x) / n; // right of the travel direction, relative to the reference
      if (off > bestOff) {
        bestOff = off;
        best = l;
      }
    }
    return routes.filter((rt) => rt.ingress === best);
  }

  private arriveVehicle(routes: Route[]): void {
    const r = this.rngSpawn;
    const cls = r.weighted(Object.entries(this.spawn.mix) as Array<[VehicleClass, number]>);
    const offered = [...new Set(routes.map((rt) => rt.connection.maneuver))];
    const weights = offered.map((m) => [m, this.spawn.turnShares[m]] as const).filter(([, w]) => w > 0);
    if (!weights.length) return;
    const m = r.weighted(weights);
    const candidates = routes.filter((rt) => rt.connection.maneuver === m);
    const route = r.weighted(candidates.map((rt) => [rt, 1 / (1 + (this.pending.get(rt.ingress.laneId)?.length ?? 0) + this.queueOn(rt.ingress.laneId))] as const));
    this.enqueue({ cls, route });
  }

  private arriveCyclist(routes: Route[]): void {
    const route = this.rngSpawn.pick(routes);
    this.enqueue({ cls: 'bicycle', route });
  }

  private enqueue(p: Pending): void {
    const list = this.pending.get(p.route.ingress.laneId) ?? [];
    list.push(p);
    this.pending.set(p.route.ingress.laneId, list);
  }

  private queueOn(laneId: number): number {
    let n = 0;
    for (const v of this.vehicles) if (v.route.ingress.laneId === laneId && v.s < v.route.sStop && v.v < 2) n++;
    return n;
  }

  /** Puts waiting vehicles onto their lanes when there is room at the lane's start. */
  private insertPending(): void {
    for (const [laneId, list] of this.pending) {
      if (!list.length) continue;
      const head = list[0]!;
      let last: Vehicle | undefined;
      for (const v of this.vehicles) if (v.route.ingress.laneId === laneId && v.s < v.route.sStop + 5 && (!last || v.s < last.s)) last = v;
      const r = this.rngAgents;
      const size = DIMENSIONS[head.cls](r);
      const drv = driverFor(head.cls, r, head.route.limitIn);
      const profile = this.network.profile(head.route, drv.vMax, drv.aLat, drv.b);
      const v0 = profile[0]!;
      let speed = v0 * r.uniform(0.85, 1);
      if (last) {
        const gap = last.s - last.size.length / 2 - size.length;
        if (gap < drv.s0 + 0.5) continue;
        speed = Math.min(speed, Math.max(0, (gap - drv.s0) / drv.T), last.v + 3);
      }
      list.shift();
      const lateral = head.cls === 'bicycle' && head.route.ingress.kind === 'vehicle' ? -Math.max(0, head.route.halfWidth - 0.75) : 0;
      this.vehicles.push({ id: this.nextId++, cls: head.cls, route: head.route, s: size.length / 2, v: speed, acc: 0, size, drv, lateral, profile, stuckS: 0 });
      if (head.cls === 'bicycle') this.stats.cyclists++;
      else this.stats.vehicles++;
    }
  }

  private arrivePedestrian(cw: Lane): void {
    const r = this.rngSpawn;
    const pts: P2[] = cw.points.map((p) => ({ x: p.x, y: p.y }));
    if (r.chance(0.5)) pts.reverse();
    // Keep within the crosswalk's width; offset the whole crossing sideways.
    const off = r.uniform(-1, 1) * Math.max(0, cw.widthM / 2 - 0.5);
    const d = unit(sub(pts[pts.length - 1]!, pts[0]!));
    const side = { x: -d.y, y: d.x };
    const crossing = pts.map((p) => ({ x: p.x + side.x * off, y: p.y + side.y * off }));
    const a = crossing[0]!;
    const b = crossing[crossing.length - 1]!;
    const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    // Outwards: the normal of the crosswalk pointing away from the intersection reference.
    const out = side.x * mid.x + side.y * mid.y >= 0 ? side : { x: -side.x, y: -side.y };
    const start = add(a, scale(out, r.uniform(4, 25)));
    const end = add(b, scale(out, r.uniform(4, 25)));
    this.addPedestrian([start, ...crossing, end], dist(start, a), dist(start, a) + polyLen(crossing), cw, false);
  }

  private addPedestrian(points: P2[], sWait: number, sCrossEnd: number, cw: Lane | undefined, jaywalk: boolean): void {
    const r = this.rngAgents;
    const vWalk = Math.max(0.8, r.normal(1.35, 0.2));
    this.peds.push({
      id: this.nextId++,
      path: new Path(points, 0.25),
      s: 0,
      v: vWalk,
      vWalk,
      sWait,
      sCrossEnd,
      ...(cw ? { crosswalk: cw.laneId } : {}),
      ...(cw?.signalGroup !== undefined ? { group: cw.signalGroup } : {}),
      state: 'approach',
      jaywalk,
      size: DIMENSIONS.pedestrian(r),
    });
    if (jaywalk) this.stats.jaywalkers++;
    else this.stats.pedestrians++;
  }

  /**
   * A pedestrian stepping out between two vehicles stopped in a queue, crossing the whole arm away from the
   * crosswalk. Happens only where such a gap exists now.
   */
  private tryJaywalker(): void {
    const r = this.rngSpawn;
    const approaches = [...this.approachLanes.keys()].sort((a, b) => a - b);
    const order = approaches.map((a) => [a, r.next()] as const).sort((x, y) => x[1] - y[1]).map(([a]) => a);
    for (const ap of order) {
      const lanes = this.approachLanes.get(ap)!;
      const ingress = lanes.filter((l) => l.direction === 'ingress');
      if (!ingress.length) continue;
      const outer = this.rightmostRoutes(ingress.flatMap((l) => this.network.routesFrom.get(l.laneId) ?? []))[0]?.ingress;
      if (!outer) continue;
      const queue = this.vehicles
        .filter((v) => v.route.ingress === outer && v.s < v.route.sStop && v.v < 0.3 && v.cls !== 'bicycle')
        .sort((a, b) => b.s - a.s);
      for (let k = 0; k + 1 < queue.length; k++) {
        const front = queue[k]!;
        const back = queue[k + 1]!;
        const gapStart = back.s + back.size.length / 2;
        const gapEnd = front.s - front.size.length / 2;
        if (gapEnd - gapStart < 1.2) continue;
        const lanePath = this.network.lanePaths.get(outer.laneId)!;
        const sMid = (gapStart + gapEnd) / 2;
        const p = lanePath.pointAt(sMid);
        const h = lanePath.headingAt(sMid);
        const u = { x: Math.cos(h), y: Math.sin(h) };
        const left = { x: -u.y, y: u.x };
        // Extent of the arm's carriageway across, from the lanes of this approach.
        let minOff = Infinity;
        let maxOff = -Infinity;
        for (const l of lanes) {
          const lp = this.network.lanePaths.get(l.laneId)!.project(p);
          if (!lp || lp.dist > 15) continue;
          const q = this.network.lanePaths.get(l.laneId)!.pointAt(lp.s);
          const o = (q.x - p.x) * left.x + (q.y - p.y) * left.y;
          minOff = Math.min(minOff, o - l.widthM / 2);
          maxOff = Math.max(maxOff, o + l.widthM / 2);
        }
        if (!Number.isFinite(minOff)) continue;
        const a = add(p, scale(left, minOff - 1.5));
        const b = add(p, scale(left, maxOff + 1.5));
        if (this.vehicles.some((v) => this.segmentHitsVehicle(a, b, v, 0.4) || this.willCross(a, b, v, 4))) continue;
        const back1 = r.chance(0.5) ? 1 : -1;
        const start = add(a, scale(u, back1 * r.uniform(2, 8)));
        const end = add(b, scale(u, (r.chance(0.5) ? 1 : -1) * r.uniform(4, 15)));
        this.addPedestrian([start, a, b, end], dist(start, a), dist(start, a) + dist(a, b), undefined, true);
        return;
      }
    }
  }

  // ---- dynamics -------------------------------------------------------------------------------------------

  private tick(dt: number): void {
    for (const src of this.sources) {
      while (src.next <= this.t + dt) {
        src.fire();
        src.next += this.rngSpawn.exponential(src.rate);
      }
    }
    this.insertPending();
    this.poses.clear();
    const nowMs = this.timeMs;
    const lanesOcc = new Map<number, Vehicle[]>();
    const connOcc = new Map<string, Vehicle[]>();
    const byConn = new Map<string, Vehicle[]>();
    for (const v of this.vehicles) {
      const r = v.route;
      if (v.s < r.sStop) push(lanesOcc, r.ingress.laneId, v);
      else if (v.s < r.sExit) push(connOcc, r.connection.key, v);
      else push(lanesOcc, r.egress.laneId, v);
      push(byConn, r.connection.key, v);
    }
    const accs = this.vehicles.map((v) => this.acceleration(v, nowMs, lanesOcc, connOcc, byConn));
    this.blockedBy = this.nextBlockedBy;
    this.nextBlockedBy = new Map();
    this.vehicles.forEach((v, i) => {
      const a = accs[i]!;
      v.acc = a;
      const inside = v.s + v.size.length / 2 > v.route.sStop && v.s - v.size.length / 2 < v.route.sExit;
      v.stuckS = inside && v.v < 0.1 ? v.stuckS + dt : 0;
      const nv = v.v + a * dt;
      if (nv < 0) {
        v.s += a < 0 ? (v.v * v.v) / (-2 * a) : 0;
        v.v = 0;
      } else {
        v.s += v.v * dt + 0.5 * a * dt * dt;
        v.v = nv;
      }
    });
    const before = this.vehicles.length;
    this.vehicles = this.vehicles.filter((v) => v.s - v.size.length / 2 < v.route.path.length);
    this.stats.finished += before - this.vehicles.length;
    this.poses.clear();
    this.movePedestrians(dt, nowMs);
    this.t += dt;
    this.stats.steps++;
  }

  private acceleration(v: Vehicle, nowMs: number, lanesOcc: Map<number, Vehicle[]>, connOcc: Map<string, Vehicle[]>, byConn: Map<string, Vehicle[]>): number {
    const r = v.route;
    const d = v.drv;
    const front = v.s + v.size.length / 2;
    const path = r.path;
    const vIdx = Math.min(v.profile.length - 1, Math.max(0, Math.round(front / path.ds)));
    const v0 = Math.max(0.5, v.profile[vIdx]!);
    const free = d.a * (1 - (v.v / v0) ** 4);
    let worst = 0; // most negative interaction term
    let why = '';
    const sqrtAB = 2 * Math.sqrt(d.a * d.b);
    // IDM interaction term for an obstacle `gap` metres ahead moving at `speed`; `what`/`id` say what it is.
    const interact = (gap: number, speed: number, what: string, id = -1, extra = '') => {
      const sStar = d.s0 + Math.max(0, v.v * d.T + (v.v * (v.v - speed)) / sqrtAB);
      const q = sStar / (gap > 0.05 ? gap : 0.05);
      const term = -d.a * q * q;
      if (term < worst) {
        worst = term;
        if (this.explain) why = `${what}${id >= 0 ? ` ${id}` : ''}${extra}`;
      }
    };

    // Leaders along the route: the nearest vehicle ahead on the same lane or connection.
    // How far ahead other obstacles matter: up to 30 m, or the leader's rear.
    let horizon = front + 30;
    for (let k = 0; k < 3; k++) {
      const s0 = k === 0 ? 0 : k === 1 ? r.sStop : r.sExit;
      const s1 = k === 0 ? r.sStop : k === 1 ? r.sExit : path.length;
      if (s1 < v.s - 1e-9) continue;
      if (s0 - v.s > 150) break;
      const list = k === 0 ? lanesOcc.get(r.ingress.laneId) : k === 1 ? connOcc.get(r.connection.key) : lanesOcc.get(r.egress.laneId);
      if (!list) continue;
      let best: Vehicle | undefined;
      let bestD = Infinity;
      for (const w of list) {
        if (w === v) continue;
        const local = k === 0 ? w.s : k === 1 ? w.s - r.sStop : w.s - w.route.sExit;
        const dd = s0 + local - v.s;
        if ((dd > 0 || (dd === 0 && w.id < v.id)) && dd < bestD) {
          bestD = dd;
          best = w;
        }
      }
      if (best) {
        const gap = bestD - (v.size.length + best.size.length) / 2;
        interact(gap, best.v, 'leader', best.id);
        horizon = Math.min(horizon, front + Math.max(0, gap) + 1);
        break;
      }
    }

    // Near and in the intersection: vehicles whose body is in our path (on connections sharing our ingress or
    // egress lane, or anywhere in the box). When two are in each other's path, the one with the lower id goes.
    // Stopped in the box for long: a deadlock of vehicles waiting for each other. Creep on (counted).
    const gridlocked = v.stuckS > GRIDLOCK_S;
    if (gridlocked && v.stuckS - GRIDLOCK_S < 0.051) this.stats.gridlockBreaks++;
    const sigNow = front < r.sStop ? this.signals.state(r.connection.signalGroup, nowMs).light : 'green';
    const waitingAtRed = v.v < 0.1 && sigNow !== 'green';
    if (front > r.sStop - 30 && v.s < r.sExit + 30 && !waitingAtRed) {
      const stamp = ++this.stampCounter;
      const here = path.pointAt(front);
      const hh = path.headingAt(front);
      const ux = Math.cos(hh);
      const uy = Math.sin(hh);
      const cands: Vehicle[] = [];
      for (const n of this.network.neighbours.get(r.connection.key) ?? []) for (const w of byConn.get(n.key) ?? []) cands.push(w);
      for (const list of connOcc.values()) for (const w of list) cands.push(w);
      let blocking: Set<number> | undefined;
      for (const w of cands) {
        if (w === v || w.stamp === stamp || w.route.connection === r.connection) continue;
        w.stamp = stamp;
        if (w.s < w.route.sStop - 15 || w.s > w.route.sExit + 20) continue;
        const { c: wc, h: wh } = this.pose(w);
        const rx = wc.x - here.x;
        const ry = wc.y - here.y;
        const reachW = (w.size.length + w.size.width) / 2;
        if (Math.abs(rx) > 32 + reachW || Math.abs(ry) > 32 + reachW || rx * ux + ry * uy < -reachW) continue;
        const prC = path.project(wc, front - 0.5, horizon);
        if (!prC || prC.dist > reachW + v.size.width / 2 + 0.5) continue;
        let gapMin = Infinity;
        for (const c of boxCorners(wc, wh, w.size)) {
          const pr = path.project(c, front - 0.5, horizon);
          if (!pr || pr.dist > 6 || Math.abs(pr.lateral - v.lateral) > v.size.width / 2 + 0.4) continue;
          gapMin = Math.min(gapMin, pr.s - front);
        }
        if (!Number.isFinite(gapMin)) continue;
        (blocking ??= new Set()).add(w.id);
        if (this.blockedBy.get(w.id)?.has(v.id) && v.id < w.id) continue; // each in the other's way: we go
        if (gridlocked && w.v < 0.1) continue;
        const hd = wh - path.headingAt(Math.min(path.length, front + Math.max(0, gapMin)));
        interact(Math.max(0.05, gapMin), Math.max(0, w.v * Math.cos(hd)), 'in path', w.id);
      }
      if (blocking) this.nextBlockedBy.set(v.id, blocking);
    }

    // The signal.
    if (front < r.sStop) {
      const st = this.signals.state(r.connection.signalGroup, nowMs);
      const dLine = r.sStop - front;
      if (st.light === 'green') v.yellow = undefined;
      else if (st.light === 'yellow') {
        if (v.yellow === undefined) {
          const comfortable = dLine > v.v * 0.5 + (v.v * v.v) / (2 * B_YELLOW);
          const possible = dLine > (v.v * v.v) / (2 * B_HARD);
          const inTime = dLine < v.v * st.remainingS;
          v.yellow = v.v < 0.5 || comfortable || (possible && !inTime) ? 'stop' : 'go';
        }
      } else if (v.yellow === 'go' && dLine > v.v * 0.3 + (v.v * v.v) / (2 * B_HARD)) v.yellow = 'stop'; // still far: stop after all
      else if (v.yellow === undefined) v.yellow = 'stop';
      if (st.light !== 'green' && v.yellow === 'stop') interact(dLine + d.s0 - 0.5, 0, 'signal');
    }

    // Conflicts in the intersection.
    if (front < r.sExit && front > r.sStop - 60) {
      // Before the stop line: do not enter while signal-separated cross traffic is still in the box on our path,
      // or while our exit has no room.
      if (front <= r.sStop) {
        let by = '';
        let byId = -1;
        for (const z of r.connection.conflicts) {
          if (z.permissive) continue;
          for (const w of byConn.get(z.other.key) ?? []) {
            const wr = w.route;
            if (w.s + w.size.length / 2 > wr.sStop && w.s - w.size.length / 2 <= wr.sStop + z.otherOut) {
              by = 'box:';
              byId = w.id;
              break;
            }
          }
          if (by) break;
        }
        if (!by) {
          for (const w of lanesOcc.get(r.egress.laneId) ?? []) {
            if (w.s - w.size.length / 2 - w.route.sExit < v.size.length + 1 && w.v < 2) {
              by = 'exit:';
              byId = w.id;
              break;
            }
          }
        }
        const dLine = r.sStop - front;
        if (by && (v.v < 1 || dLine >= (v.v * v.v) / (2 * B_HARD))) interact(Math.max(0.05, dLine) + d.s0 - 0.5, 0, by, byId);
      }
      // Movements with green at the same time: the lower-priority one gives way (a left turn to oncoming traffic,
      // a merge); nobody drives into a zone someone is in.
      for (const z of r.connection.conflicts) {
        if (!z.permissive) continue;
        const sIn = r.sStop + z.sIn;
        if (front > sIn) continue; // we are in the zone: clear it
        let mustYield = false;
        let occupied = false;
        let yieldTo = 0;
        for (const w of byConn.get(z.other.key) ?? []) {
          const wr = w.route;
          const wFront = w.s + w.size.length / 2;
          const wRear = w.s - w.size.length / 2;
          const wIn = wr.sStop + z.otherIn;
          const wOut = wr.sStop + z.otherOut;
          if (wRear > wOut) continue; // it has cleared the zone
          yieldTo = w.id;
          if (wFront >= wIn) {
            mustYield = occupied = true;
            break;
          }
          if (!z.yields) continue;
          if (wFront <= wr.sStop) {
            const wl = this.signals.state(wr.connection.signalGroup, nowMs).light;
            if (wl === 'red' && w.yellow !== 'go') continue;
            if (wl === 'yellow' && w.yellow === 'stop') continue;
          }
          // Its earliest arrival (it may be about to accelerate) against the time we need to clear the zone.
          const tW = timeToCover(wIn - wFront, w.v, w.drv.a, Math.max(w.v, w.drv.vMax));
          const tClear = timeToCover(r.sStop + z.sOut + v.size.length - front, v.v, d.a, Math.max(v.v, 8));
          if (tW < tClear + 1.5) {
            mustYield = true;
            break;
          }
        }
        if (mustYield && !(gridlocked && !occupied)) {
          // Wait before the zone, but not standing on a crosswalk: then before the crosswalk.
          let stopAt = sIn - 1;
          for (const c of r.crosswalks) if (stopAt > c.sIn - 1 && stopAt - v.size.length < c.sOut + 0.5 && front <= c.sIn) stopAt = Math.min(stopAt, c.sIn - 1);
          const gap = stopAt - front;
          const canStop = v.v < 1 || gap >= (v.v * v.v) / (2 * B_HARD);
          if (canStop || occupied) interact(Math.max(0.05, gap) + d.s0, 0, 'yield', yieldTo, ` (${z.other.key})`);
        }
      }
    }

    // Crosswalks ahead: stop before one while a pedestrian on it is at or heading for our path.
    for (const c of r.crosswalks) {
      const gap = c.sIn - front - 1;
      if (front > c.sIn || gap > 40 || c.sIn > horizon + 1 || !(v.v < 1 || gap >= (v.v * v.v) / (2 * B_HARD))) continue;
      const tClear = timeToCover(c.sOut + v.size.length - front, v.v, d.a, Math.max(v.v, 8));
      for (const q of this.peds) {
        if (q.crosswalk !== c.crosswalk.laneId || q.blockedBy === v.id) continue;
        let going = q.state === 'cross';
        if (q.state === 'wait') {
          const st = this.signals.state(q.group, nowMs);
          going = st.light === 'green';
        }
        if (!going) continue;
        const pr = c.path.project(q.path.pointAt(q.s));
        if (!pr) continue;
        const dir = Math.cos(q.path.headingAt(Math.min(q.s + 0.3, q.path.length)) - c.path.headingAt(pr.s)) >= 0 ? 1 : -1;
        const rel = (c.u - pr.s) * dir; // ahead of the pedestrian: positive
        const reach = v.size.width / 2 + 1.2;
        if (Math.abs(rel) < reach || (rel > 0 && rel < reach + q.vWalk * (tClear + 2))) {
          interact(Math.max(0.05, gap) + d.s0, 0, `crosswalk ${c.crosswalk.laneId} pedestrian`, q.id);
          break;
        }
      }
    }

    // Pedestrians in the path.
    const fp = path.pointAt(front);
    for (const q of this.peds) {
      if (q.blockedBy === v.id) continue;
      const qp = q.path.pointAt(q.s);
      if (Math.abs(qp.x - fp.x) > 35 || Math.abs(qp.y - fp.y) > 35) continue;
      const reach = v.size.width / 2 + q.size.width / 2 + 0.6;
      const check = (pt: P2) => {
        const pr = path.project(pt, front - 1, horizon);
        if (!pr || Math.abs(pr.lateral - v.lateral) > reach) return undefined;
        return pr.s - front - q.size.length / 2;
      };
      let g = check(qp);
      if (g === undefined && q.v > 0.1) {
        const ahead = q.path.pointAt(q.s + q.v * 1.5);
        const g2 = check(ahead);
        if (g2 !== undefined) g = g2;
      }
      if (g !== undefined && g > -0.5) interact(Math.max(0.05, g) + d.s0 - 1.5, 0, 'pedestrian', q.id);
    }

    if (this.explain) this.explain.set(v.id, why || 'free');
    return Math.max(-9, Math.min(d.a, free + worst));
  }

  private movePedestrians(dt: number, nowMs: number): void {
    for (const q of this.peds) {
      if (q.state === 'approach' && q.s >= q.sWait) {
        q.s = q.sWait;
        q.state = 'wait';
      }
      if (q.state === 'wait') {
        const st = this.signals.state(q.group, nowMs);
        const crossTime = (q.sCrossEnd - q.sWait) / q.vWalk;
        if ((q.jaywalk || (st.light === 'green' && st.remainingS >= Math.min(8, 0.4 * crossTime))) && !this.vehicleNear(q, 4, 1.0)) q.state = 'cross';
      }
      if (q.state === 'cross' && q.s >= q.sCrossEnd) q.state = 'leave';
      let speed = q.state === 'wait' ? 0 : q.vWalk;
      if (q.state === 'cross' && !q.jaywalk && this.signals.light(q.group, nowMs) !== 'green') speed *= 1.25;
      if (speed > 0 && this.pedBlocked(q)) {
        speed = 0;
        q.blockedS = (q.blockedS ?? 0) + dt;
      }
      q.v = speed;
      const limit = q.state === 'approach' ? q.sWait : q.path.length + 1;
      q.s = Math.min(limit, q.s + speed * dt);
    }
    this.peds = this.peds.filter((q) => q.s < q.path.length);
  }

  /** A moving vehicle's body within `margin` of the pedestrian's next `ahead` metres (a waiting pedestrian does not step out in front of it). */
  private vehicleNear(q: Pedestrian, ahead: number, margin: number): boolean {
    const here = q.path.pointAt(q.s);
    for (const v of this.vehicles) {
      if (v.v < 1) continue; // it stops for us
      const { c, h } = this.pose(v);
      if (Math.abs(c.x - here.x) > 15 || Math.abs(c.y - here.y) > 15) continue;
      for (let k = 0.5; k <= ahead; k += 0.5) if (inBox(q.path.pointAt(q.s + k), c, h, v.size, margin)) return true;
    }
    return false;
  }

  /** A vehicle right ahead of a walking pedestrian (and the pedestrian not already beside or inside it). */
  private pedBlocked(q: Pedestrian): boolean {
    const here = q.path.pointAt(q.s);
    const ahead = q.path.pointAt(q.s + 1.0);
    for (const v of this.vehicles) {
      const { c, h } = this.pose(v);
      if (Math.abs(c.x - here.x) > 12 || Math.abs(c.y - here.y) > 12) continue;
      if (inBox(ahead, c, h, v.size, 0.45) && !inBox(here, c, h, v.size, 0.45)) {
        if (v.id === q.ignore) continue;
        if (q.blockedBy === v.id && v.v < 0.3 && (q.blockedS ?? 0) > 3) {
          q.ignore = v.id; // it is not moving: squeeze past it
          continue;
        }
        if (q.blockedBy !== v.id) q.blockedS = 0;
        q.blockedBy = v.id;
        return true;
      }
    }
    q.blockedBy = undefined;
    return false;
  }

  /** Whether a moving vehicle will pass over the segment within the next `horizonS` seconds. */
  private willCross(a: P2, b: P2, v: Vehicle, horizonS: number): boolean {
    if (v.v < 0.5) return false;
    for (let tau = 0.5; tau <= horizonS; tau += 0.5) if (this.segmentHitsVehicle(a, b, v, 1.0, v.s + v.v * tau)) return true;
    return false;
  }

  /**
   * Where a vehicle's box is: both ends on its path (front and rear axle regions), so that in a curve a long
   * vehicle's body lies inside the curve as a real one's does, rather than swinging out around its centre.
   * Cached for the current step.
   */
  private pose(v: Vehicle): { c: P2; h: number } {
    let p = this.poses.get(v);
    if (!p) {
      p = footprintAt(v, v.s);
      this.poses.set(v, p);
    }
    return p;
  }

  private segmentHitsVehicle(a: P2, b: P2, v: Vehicle, margin: number, s = v.s): boolean {
    const { c, h } = s === v.s ? this.pose(v) : footprintAt(v, s);
    const n = Math.max(2, Math.ceil(dist(a, b) / 0.25));
    for (let i = 0; i <= n; i++) if (inBox(lerp(a, b, i / n), c, h, v.size, margin)) return true;
    return false;
  }
}

/** A point at arc length s, continuing straight beyond either end of the path. */
function pointBeyond(path: Path, s: number, lateral: number): P2 {
  const over = s > path.length ? s - path.length : s < 0 ? s : 0;
  const p = path.pointAt(s, lateral);
  if (over === 0) return p;
  const h = path.headingAt(s);
  return { x: p.x + Math.cos(h) * over, y: p.y + Math.sin(h) * over };
}

function footprintAt(v: Vehicle, s: number): { c: P2; h: number } {
  const path = v.route.path;
  const half = v.size.length * 0.4;
  if (half < 1) return { c: path.pointAt(s, v.lateral), h: path.headingAt(s) };
  const f = pointBeyond(path, s + half, v.lateral);
  const r = pointBeyond(path, s - half, v.lateral);
  return { c: { x: (f.x + r.x) / 2, y: (f.y + r.y) / 2 }, h: Math.atan2(f.y - r.y, f.x - r.x) };
}

/** Time to cover a distance from speed v accelerating at a up to vMax, seconds. */
export function timeToCover(dist: number, v: number, a: number, vMax: number): number {
  if (dist <= 0) return 0;
  if (v >= vMax || a <= 0) return dist / Math.max(v, 0.1);
  const ta = (vMax - v) / a;
  const da = v * ta + 0.5 * a * ta * ta;
  if (dist <= da) return (-v + Math.sqrt(v * v + 2 * a * dist)) / a;
  return ta + (dist - da) / vMax;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

const sub = (a: P2, b: P2): P2 => ({ x: a.x - b.x, y: a.y - b.y });
const add = (a: P2, b: P2): P2 => ({ x: a.x + b.x, y: a.y + b.y });
const scale = (a: P2, k: number): P2 => ({ x: a.x * k, y: a.y * k });
const dist = (a: P2, b: P2) => Math.hypot(a.x - b.x, a.y - b.y);
const lerp = (a: P2, b: P2, t: number): P2 => ({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t });
function unit(a: P2): P2 {
  const l = Math.hypot(a.x, a.y) || 1;
  return { x: a.x / l, y: a.y / l };
}
function polyLen(p: P2[]): number {
  let s = 0;
  for (let i = 1; i < p.length; i++) s += dist(p[i - 1]!, p[i]!);
  return s;
}

/** The four corners of an oriented box footprint. */
export function boxCorners(c: P2, h: number, size: Size): P2[] {
  const co = Math.cos(h);
  const si = Math.sin(h);
  const l = size.length / 2;
  const w = size.width / 2;
  return [
    { x: c.x + l * co - w * si, y: c.y + l * si + w * co },
    { x: c.x + l * co + w * si, y: c.y + l * si - w * co },
    { x: c.x - l * co + w * si, y: c.y - l * si - w * co },
    { x: c.x - l * co - w * si, y: c.y - l * si + w * co },
  ];
}

/** Whether a point lies in an oriented box (centre c, heading h) grown by a margin. */
export function inBox(p: P2, c: P2, h: number, size: Size, margin: number): boolean {
  const dx = p.x - c.x;
  const dy = p.y - c.y;
  const lx = dx * Math.cos(h) + dy * Math.sin(h);
  const ly = -dx * Math.sin(h) + dy * Math.cos(h);
  return Math.abs(lx) <= size.length / 2 + margin && Math.abs(ly) <= size.width / 2 + margin;
}
