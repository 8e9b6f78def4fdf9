// MAP validation: everything that would make the MapData built from a lane map wrong, incomplete or unusable,
// found before it is broadcast. Problems name the GeoJSON feature and property (or the config path):
//   - the lane map's own errors (loadLaneMap/parseLaneMap: missing lanes, impossible geometry, bad properties);
//   - values beyond the ranges of the message set's encoding (J2735 node offsets, elevation, widths, speeds) and
//     list sizes beyond its SIZE constraints, both read from the compiled IR of the chosen message set;
//   - connectivity: ingress lanes connecting nowhere, egress lanes no connection reaches;
//   - geometry the loader accepts but no road has: centrelines that double back or cross themselves, vehicle
//     lanes crossing each other, a connection whose maneuver turns the other way;
//   - signal groups: used by the MAP but never reported by the configured signal controller (the plan's phases,
//     the actuated stages, or the phase → signal group mapping of an external controller), and the controller's
//     signal groups the MAP never uses.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IR, MessageSetIR, SizeC } from '../../codecs/asn1/ir.js';
import { compileToIR, readModuleDir } from '../../codecs/compiler/compile.js';
import { j2735Dir, type StdName } from '../../codecs/index.js';
import type { ApplicationsSection, IntersectionRef } from '../config/types.js';
import { stagesFromPlan } from '../config/validate.js';
import { endDirection, wrapPi } from './geometry.js';
import { formatLaneMapIssue, LaneMapError, parseLaneMap } from './load.js';
import type { Lane, LaneMap, Maneuver } from './types.js';

export type ProblemCode =
  | 'lane-map' // the loader's validation (feature/property as it reports them)
  | 'range' // a value beyond its range in the encoding
  | 'list-size' // a list beyond the SIZE constraint of the message set
  | 'no-connections'
  | 'unreachable-egress'
  | 'geometry'
  | 'maneuver-geometry'
  | 'signal-group-missing'
  | 'phase-unused'
  | 'signal-groups-unchecked'
  | 'intersection-id'
  | 'not-carried'
  | 'reference' // the config's rsu.reference and the MAP's reference point are not one intersection
  | 'encode';

export interface MapProblem {
  severity: 'error' | 'warning';
  code: ProblemCode;
  /** Feature index in the GeoJSON FeatureCollection; undefined for the file as a whole or the config. */
  feature?: number;
  /** Property path in the feature ("properties.connectsTo[2].lane"), or in the config ("applications.spat.phases[1]"). */
  property?: string;
  message: string;
}

export function formatProblem(p: MapProblem): string {
  const where = p.feature === undefined && p.property?.startsWith('applications.') ? `config ${p.property}` : undefined;
  const body = where ? `${where}: ${p.message}` : formatLaneMapIssue({ ...(p.feature !== undefined ? { feature: p.feature } : {}), ...(p.property !== undefined ? { property: p.property } : {}), message: p.message });
  return `${p.severity}: ${body}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Limits of the chosen message set, read from its compiled IR.

export interface SizeLimit {
  lb: number;
  ub: number | undefined;
  /** Where the constraint applies, as a path from MapData ("MapData.nodes[].inLinks[].lanes[].connectsTo"). */
  where: string;
}

export interface RangeLimit {
  lb: number;
  ub: number;
  where: string;
}

export interface XyForm {
  name: string;
  x: RangeLimit;
  y: RangeLimit;
}

export interface MapLimits {
  std: StdName;
  family: 'csae' | 'j2735';
  /**
   * CSAE: nodes, links, lanesPerLink, movements, connections, points, speedLimits.
   * J2735: intersections, lanes, nodes, connections.
   */
  sizes: Record<string, SizeLimit>;
  /** elevation (0.1 m), laneId; CSAE: laneWidth, linkWidth (cm), speed (0.02 m/s), phaseId; J2735: signalGroup. */
  ranges: Record<string, RangeLimit>;
  /** J2735 node offsets (NodeOffsetPointXY node-XY1..), smallest first; cm. */
  xyForms: XyForm[];
  /** DescriptiveName (CSAE node and link names). */
  nameSize?: SizeLimit;
}

class IrWalker {
  constructor(private readonly ir: MessageSetIR) {}

  deref(t: IR, seen = 0): IR {
    if (t.k !== 'ref') return t;
    if (seen > 64) throw new Error(`reference loop at ${t.name}`);
    const n = this.ir.types.get(t.name) ?? this.ir.types.get(this.ir.aliases.get(t.name) ?? '');
    if (!n) throw new Error(`type ${t.name} is not defined`);
    return this.deref(n.ir, seen + 1);
  }

  root(asnName: string): IR {
    const direct = this.ir.types.get(asnName);
    if (direct) return direct.ir;
    for (const n of this.ir.types.values()) if (n.asnName === asnName) return n.ir;
    throw new Error(`the message set has no type ${asnName}`);
  }

  /** Follows a path of component names, alternative names and "[]" (the item of a SEQUENCE OF). */
  at(root: IR, path: string[], label: string): IR {
    let t = this.deref(root);
    for (let i = 0; i < path.length; i++) {
      const step = path[i]!;
      const here = `${label}${path.slice(0, i).map((s) => (s === '[]' ? '[]' : `.${s}`)).join('')}`;
      let next: IR | undefined;
      if (step === '[]') next = t.k === 'seqof' ? t.item : undefined;
      else if (t.k === 'seq') {
        next = t.fields.find((f) => f.name === step)?.type;
        if (!next) for (const a of t.adds) for (const f of 'field' in a ? [a.field] : a.group) if (f.name === step) next = f.type;
      } else if (t.k === 'choice') next = [...t.alts, ...t.adds].find((a) => a.name === step)?.type;
      if (!next) throw new Error(`${here} has no ${step === '[]' ? 'list item' : `component ${step}`} (the message set's MapData differs from the one the builder writes)`);
      t = this.deref(next);
    }
    return t;
  }

  size(root: IR, path: string[], label: string): SizeLimit {
    const t = this.at(root, path, label);
    const where = `${label}${path.map((s) => (s === '[]' ? '[]' : `.${s}`)).join('')}`;
    const s: SizeC | undefined = t.k === 'seqof' || t.k === 'str' || t.k === 'octets' || t.k === 'bits' ? t.size : undefined;
    if (!s) throw new Error(`${where} is not a list`);
    return { lb: s.lb, ub: s.ext ? undefined : s.ub, where };
  }

  range(root: IR, path: string[], label: string): RangeLimit {
    const t = this.at(root, path, label);
    const where = `${label}${path.map((s) => (s === '[]' ? '[]' : `.${s}`)).join('')}`;
    if (t.k !== 'int') throw new Error(`${where} is not an INTEGER`);
    return { lb: t.lb ?? -Infinity, ub: t.ub ?? Infinity, where };
  }
}

/** The MAP limits of a message set, from its IR (what the builder in runtime/apps/map.ts writes). */
export function mapLimitsFromIR(ir: MessageSetIR, std: StdName): MapLimits {
  const w = new IrWalker(ir);
  const root = w.root('MapData');
  const L = 'MapData';
  if (!std.startsWith('j2735')) {
    const link = ['nodes', '[]', 'inLinks', '[]'];
    const lane = [...link, 'lanes', '[]'];
    return {
      std,
      family: 'csae',
      sizes: {
        nodes: w.size(root, ['nodes'], L),
        links: w.size(root, ['nodes', '[]', 'inLinks'], L),
        lanesPerLink: w.size(root, [...link, 'lanes'], L),
        movements: w.size(root, [...link, 'movements'], L),
        connections: w.size(root, [...lane, 'connectsTo'], L),
        points: w.size(root, [...lane, 'points'], L),
        speedLimits: w.size(root, [...lane, 'speedLimits'], L),
      },
      ranges: {
        elevation: w.range(root, ['nodes', '[]', 'refPos', 'elevation'], L),
        laneId: w.range(root, [...lane, 'laneID'], L),
        laneWidth: w.range(root, [...lane, 'laneWidth'], L),
        linkWidth: w.range(root, [...link, 'linkWidth'], L),
        speed: w.range(root, [...lane, 'speedLimits', '[]', 'speed'], L),
        phaseId: w.range(root, [...lane, 'connectsTo', '[]', 'phaseId'], L),
        lat: w.range(root, [...lane, 'points', '[]', 'posOffset', 'offsetLL', 'position-LatLon', 'lat'], L),
        lon: w.range(root, [...lane, 'points', '[]', 'posOffset', 'offsetLL', 'position-LatLon', 'lon'], L),
      },
      xyForms: [],
      nameSize: w.size(root, ['nodes', '[]', 'name'], L),
    };
  }
  const lane = ['intersections', '[]', 'laneSet', '[]'];
  const delta = w.at(root, [...lane, 'nodeList', 'nodes', '[]', 'delta'], L);
  const xyForms: XyForm[] = [];
  if (delta.k === 'choice')
    for (const a of delta.alts)
      if (/^node-XY\d+$/.test(a.name)) {
        const p = [...lane, 'nodeList', 'nodes', '[]', 'delta', a.name];
        xyForms.push({ name: a.name, x: w.range(root, [...p, 'x'], L), y: w.range(root, [...p, 'y'], L) });
      }
  if (!xyForms.length) throw new Error(`${L}...nodeList.nodes[].delta has no node-XY offsets`);
  xyForms.sort((a, b) => a.x.ub - b.x.ub);
  return {
    std,
    family: 'j2735',
    sizes: {
      intersections: w.size(root, ['intersections'], L),
      lanes: w.size(root, ['intersections', '[]', 'laneSet'], L),
      nodes: w.size(root, [...lane, 'nodeList', 'nodes'], L),
      connections: w.size(root, [...lane, 'connectsTo'], L),
    },
    ranges: {
      elevation: w.range(root, ['intersections', '[]', 'refPoint', 'elevation'], L),
      laneId: w.range(root, [...lane, 'laneID'], L),
      signalGroup: w.range(root, [...lane, 'connectsTo', '[]', 'signalGroup'], L),
    },
    xyForms,
  };
}

/** The ASN.1 modules of a message set: the shipped CSAE sets, or the deployer's J2735 directory. */
export function moduleDirOf(std: StdName, asn1Dir?: string): string {
  if (std.startsWith('j2735')) return j2735Dir(std as 'j2735-2020' | 'j2735-2016', asn1Dir);
  if (asn1Dir) return asn1Dir;
  const here = dirname(fileURLToPath(import.meta.url));
  // Source tree (runtime/map → codecs/sets) or dist (dist/runtime/map → ../../../codecs/sets).
  for (const p of [resolve(here, '../../codecs/sets', std), resolve(here, '../../../codecs/sets', std)]) if (existsSync(p)) return p;
  return resolve(here, '../../codecs/sets', std);
}

const limitsCache = new Map<string, MapLimits>();

/** MAP limits of a message set, compiled from its modules (cached per process). */
export function loadMapLimits(std: StdName, asn1Dir?: string): MapLimits {
  const dir = moduleDirOf(std, asn1Dir);
  const key = `${std}\0${dir}`;
  let l = limitsCache.get(key);
  if (!l) {
    l = mapLimitsFromIR(compileToIR(readModuleDir(dir)), std);
    limitsCache.set(key, l);
  }
  return l;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation.

export interface ValidateOptions {
  limits: MapLimits;
  /**
   * The signal groups the configured controller reports (controllerSignalGroups(config.applications.spat));
   * omit (and `phases`) to skip the signal-group cross-check.
   */
  signalGroups?: ControllerSignalGroups;
  /** Shorthand for `signalGroups` of a fixed-time plan: SPAT phases (signal groups) of the config. */
  phases?: ReadonlyArray<{ id: number }>;
  /** The SPAT's intersection; the MAP is sent with it. */
  intersection?: IntersectionRef;
  /** Index of the reference Point feature (for problems of the reference). */
  referenceFeature?: number;
}

const cm = (m: number) => Math.round(m * 100);
const speedUnits = (kmh: number) => Math.round(kmh / 3.6 / 0.02);
const fmtSize = (s: SizeLimit) => `SIZE(${s.lb}..${s.ub ?? 'MAX'})`;
const overSize = (n: number, s: SizeLimit) => n < s.lb || (s.ub !== undefined && n > s.ub);
const outside = (v: number, r: RangeLimit) => v < r.lb || v > r.ub;
const travel = (l: Lane) => l.kind === 'vehicle' || l.kind === 'bike';

/** Indices kept when a polyline is thinned to `max` points (as the MAP builder does). */
function thinIndices(n: number, max: number): number[] {
  if (n <= max) return [...Array(n).keys()];
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(Math.round((i * (n - 1)) / (max - 1)));
  return out;
}

function distToSegment(p: { x: number; y: number }, a: { x: number; y: number }, b: { x: number; y: number }): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const l2 = dx * dx + dy * dy;
  const t = l2 > 0 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / l2)) : 0;
  return Math.hypot(p.x - a.x - dx * t, p.y - a.y - dy * t);
}

/** Largest distance of a dropped point from the thinned polyline, metres. */
function thinningError(pts: readonly { x: number; y: number }[], keep: number[]): number {
  let worst = 0;
  for (let k = 0; k + 1 < keep.length; k++)
    for (let i = keep[k]! + 1; i < keep[k + 1]!; i++) worst = Math.max(worst, distToSegment(pts[i]!, pts[keep[k]!]!, pts[keep[k + 1]!]!));
  return worst;
}

type P = { x: number; y: number };
function segmentsCross(a: P, b: P, c: P, d: P): boolean {
  const o = (p: P, q: P, r: P) => (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x);
  const d1 = o(c, d, a);
  const d2 = o(c, d, b);
  const d3 = o(a, b, c);
  const d4 = o(a, b, d);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

/** Turn angle of a connection in degrees, counter-clockwise (left) positive. */
export function turnAngleDeg(from: Lane, to: Lane): number {
  const u0 = endDirection(from.points, 'end');
  const u1 = endDirection(to.points, 'start');
  return (wrapPi(Math.atan2(u1.y, u1.x) - Math.atan2(u0.y, u0.x)) * 180) / Math.PI;
}

/** The maneuver a turn angle looks like (right-hand or left-hand traffic alike). */
export function maneuverOfAngle(deg: number): Maneuver {
  const a = Math.abs(deg);
  if (a <= 35) return 'straight';
  if (a > 150) return 'uTurn';
  return deg > 0 ? 'left' : 'right';
}

/** Every problem of a loaded lane map for the chosen message set and SPAT plan. */
/** One signal group the SPAT will carry, and the config entry it comes from. */
export interface ControllerGroup {
  id: number;
  /** Config path of the entry: "applications.spat.phases[1]", "applications.spat.controller.mapping[2]". */
  path: string;
  /** The entry, for messages: "SPAT phase 2", "signal group 11 (tscbm controller pedestrian phase 2)". */
  what: string;
}

/** The signal groups the configured signal controller reports (so the SPAT carries), and where they come from. */
export interface ControllerSignalGroups {
  /** applications.spat.controller.kind */
  kind: string;
  /** The source, for messages: "the SPAT plan (applications.spat.phases)". */
  source: string;
  /** Completes "lane 1 uses signal group 3, which ...": "the SPAT plan has no phase for". */
  lacks: string;
  /** Names the list of ids in messages: "phases", "mapped signal groups". */
  listName: string;
  groups: ControllerGroup[];
}

function planSignalGroups(phases: ReadonlyArray<{ id: number }>, kind: string, runBy?: string): ControllerSignalGroups {
  const source = runBy ? `the plan the ${runBy} runs (applications.spat.phases)` : 'the SPAT plan (applications.spat.phases)';
  return {
    kind,
    source,
    lacks: runBy ? `${source} has no phase for` : 'the SPAT plan has no phase for',
    listName: 'phases',
    groups: phases.map((p, i) => ({ id: p.id, path: `applications.spat.phases[${i}]`, what: `SPAT phase ${p.id}` })),
  };
}

/**
 * The signal groups the controller of `applications.spat.controller` will report: the fixed-time plan's phases
 * (kinds `plan`, `simulated` fixed, and `simulated` actuated with the stages derived from the plan), the actuated
 * stages' groups, or, for any kind with a `mapping` (tscbm, ntcip, and whatever kind maps controller phases or
 * lamp groups to signal groups), the mapped signal groups. Undefined for a kind whose groups are not known from
 * the config.
 */
export function controllerSignalGroups(spat: Pick<ApplicationsSection['spat'], 'phases' | 'controller'>): ControllerSignalGroups | undefined {
  const c = spat.controller as { kind: string; mapping?: unknown; mode?: string; stages?: unknown };
  const kind = String(c.kind);
  if (Array.isArray(c.mapping)) {
    const groups: ControllerGroup[] = [];
    c.mapping.forEach((m: unknown, i) => {
      const e = (typeof m === 'object' && m !== null ? m : {}) as { signalGroup?: unknown; phase?: unknown; type?: unknown };
      if (typeof e.signalGroup !== 'number') return;
      const type = typeof e.type === 'string' ? e.type : 'vehicle';
      const output = type === 'overlap' ? `overlap ${String(e.phase)}` : `${type} phase ${String(e.phase)}`;
      groups.push({ id: e.signalGroup, path: `applications.spat.controller.mapping[${i}]`, what: `signal group ${e.signalGroup} (${kind} controller ${output})` });
    });
    return {
      kind,
      source: `the ${kind} controller's mapping (applications.spat.controller.mapping)`,
      lacks: `the ${kind} controller never reports: no entry of applications.spat.controller.mapping maps a controller output to it`,
      listName: 'mapped signal groups',
      groups,
    };
  }
  if (kind === 'plan') return planSignalGroups(spat.phases, kind);
  if (kind === 'simulated') {
    const stages = Array.isArray(c.stages) ? (c.stages as { phases?: unknown }[]) : undefined;
    // Stages the config derived from the plan (mode actuated without stages) name the plan's phases.
    if (c.mode !== 'actuated' || !stages || JSON.stringify(stages) === JSON.stringify(stagesFromPlan(spat.phases)))
      return planSignalGroups(spat.phases, kind, c.mode === 'actuated' ? 'simulated actuated controller' : 'simulated controller');
    const groups: ControllerGroup[] = [];
    stages.forEach((st, k) =>
      (Array.isArray(st?.phases) ? st.phases : []).forEach((g: unknown, j: number) => {
        if (typeof g === 'number') groups.push({ id: g, path: `applications.spat.controller.stages[${k}].phases[${j}]`, what: `signal group ${g} (stage ${k + 1} of the simulated actuated controller)` });
      }),
    );
    return {
      kind,
      source: 'the simulated actuated controller\'s stages (applications.spat.controller.stages)',
      lacks: 'no stage of the simulated actuated controller (applications.spat.controller.stages) has',
      listName: 'signal groups of the stages',
      groups,
    };
  }
  return undefined;
}

export function validateLaneMap(map: LaneMap, opts: ValidateOptions): MapProblem[] {
  const out: MapProblem[] = [];
  const err = (feature: number | undefined, property: string | undefined, code: ProblemCode, message: string) =>
    out.push({ severity: 'error', code, ...(feature !== undefined ? { feature } : {}), ...(property !== undefined ? { property } : {}), message });
  const warn = (feature: number | undefined, property: string | undefined, code: ProblemCode, message: string) =>
    out.push({ severity: 'warning', code, ...(feature !== undefined ? { feature } : {}), ...(property !== undefined ? { property } : {}), message });
  const { limits } = opts;
  const std = limits.std;
  const R = limits.ranges;
  const refF = opts.referenceFeature;

  // Values and ranges common to both families.
  const elev = Math.round(map.reference.elevation * 10);
  if (R['elevation'] && outside(elev, R['elevation']))
    err(refF, 'geometry.coordinates[2]', 'range', `reference elevation ${map.reference.elevation} m is outside ${R['elevation'].where} (${R['elevation'].lb / 10} to ${R['elevation'].ub / 10} m in 0.1 m units of ${std})`);
  for (const l of map.lanes)
    if (R['laneId'] && outside(l.laneId, R['laneId'])) err(l.featureIndex, 'properties.laneId', 'range', `laneId ${l.laneId} is outside ${R['laneId'].where} (${R['laneId'].lb}-${R['laneId'].ub})`);

  if (limits.family === 'csae') csaeChecks(map, limits, err, warn);
  else j2735Checks(map, limits, err);

  // Connectivity.
  const reached = new Set<number>();
  for (const l of map.lanes) for (const c of l.connectsTo) reached.add(c.lane);
  for (const l of map.lanes) {
    if (l.direction === 'ingress' && travel(l) && l.connectsTo.length === 0)
      err(l.featureIndex, 'properties.connectsTo', 'no-connections', `ingress ${l.kind} lane ${l.laneId} connects to no lane: give it connectsTo [{ lane, maneuver, signalGroup }] (a vehicle reaching its stop line has nowhere to go)`);
    if (l.direction === 'egress' && travel(l) && !reached.has(l.laneId))
      err(l.featureIndex, 'properties.laneId', 'unreachable-egress', `egress ${l.kind} lane ${l.laneId} is unreachable: no ingress lane's connectsTo leads to it`);
  }

  // Geometry the loader accepts but no road has.
  for (const l of map.lanes) {
    const p = l.points;
    for (let i = 1; i + 1 < p.length; i++) {
      const h0 = Math.atan2(p[i]!.y - p[i - 1]!.y, p[i]!.x - p[i - 1]!.x);
      const h1 = Math.atan2(p[i + 1]!.y - p[i]!.y, p[i + 1]!.x - p[i]!.x);
      const turn = Math.abs(wrapPi(h1 - h0)) * (180 / Math.PI);
      if (turn > 150) {
        err(l.featureIndex, `geometry.coordinates[${i}]`, 'geometry', `lane ${l.laneId}'s centreline doubles back here (turns ${turn.toFixed(0)}°): a point is out of order or misplaced`);
        break;
      }
    }
    selfCross: for (let i = 0; i + 1 < p.length; i++)
      for (let j = i + 2; j + 1 < p.length; j++)
        if (segmentsCross(p[i]!, p[i + 1]!, p[j]!, p[j + 1]!)) {
          err(l.featureIndex, `geometry.coordinates[${j}]`, 'geometry', `lane ${l.laneId}'s centreline crosses itself (segments ${i}-${i + 1} and ${j}-${j + 1})`);
          break selfCross;
        }
  }
  const tl = map.lanes.filter(travel);
  for (let a = 0; a < tl.length; a++)
    for (let b = a + 1; b < tl.length; b++) {
      const A = tl[a]!.points;
      const B = tl[b]!.points;
      let hit = false;
      for (let i = 0; i + 1 < A.length && !hit; i++) for (let j = 0; j + 1 < B.length && !hit; j++) hit = segmentsCross(A[i]!, A[i + 1]!, B[j]!, B[j + 1]!);
      if (hit)
        err(tl[b]!.featureIndex, 'geometry.coordinates', 'geometry', `lane ${tl[b]!.laneId} crosses lane ${tl[a]!.laneId} (features[${tl[a]!.featureIndex}]): lanes meet only through connections inside the intersection`);
    }
  for (const l of map.lanes)
    l.connectsTo.forEach((c, k) => {
      const to = map.lanesById.get(c.lane);
      if (!to || to.direction !== 'egress') return;
      const ang = turnAngleDeg(l, to);
      const looks = maneuverOfAngle(ang);
      if (looks === c.maneuver) return;
      const where = `properties.connectsTo[${k}].maneuver`;
      const msg = `lane ${l.laneId} → ${c.lane} is declared "${c.maneuver}" but turns ${Math.abs(ang).toFixed(0)}° ${ang >= 0 ? 'left' : 'right'} (looks like "${looks}")`;
      const opposite = (c.maneuver === 'left' && looks === 'right') || (c.maneuver === 'right' && looks === 'left') || (c.maneuver === 'straight' && looks === 'uTurn') || (c.maneuver === 'uTurn' && looks === 'straight');
      if (opposite) err(l.featureIndex, where, 'maneuver-geometry', `${msg}: the maneuver or the lane is wrong`);
      else warn(l.featureIndex, where, 'maneuver-geometry', msg);
    });

  // Signal groups against the ones the signal controller reports, both ways.
  const sgs = opts.signalGroups ?? (opts.phases ? planSignalGroups(opts.phases, 'plan') : undefined);
  if (sgs) {
    const ids = new Set(sgs.groups.map((g) => g.id));
    const list = `(${sgs.listName}: ${[...ids].sort((a, b) => a - b).join(', ') || 'none'})`;
    const used = new Set<number>();
    for (const l of map.lanes) {
      if (l.signalGroup !== undefined) {
        used.add(l.signalGroup);
        if (!ids.has(l.signalGroup)) err(l.featureIndex, 'properties.signalGroup', 'signal-group-missing', `lane ${l.laneId} uses signal group ${l.signalGroup}, which ${sgs.lacks} ${list}`);
      }
      l.connectsTo.forEach((c, k) => {
        if (c.signalGroup === undefined) return;
        used.add(c.signalGroup);
        if (!ids.has(c.signalGroup))
          err(l.featureIndex, `properties.connectsTo[${k}].signalGroup`, 'signal-group-missing', `lane ${l.laneId} → ${c.lane} uses signal group ${c.signalGroup}, which ${sgs.lacks} ${list}`);
      });
    }
    for (const g of sgs.groups)
      if (!used.has(g.id)) err(undefined, g.path, 'phase-unused', `${g.what} controls no movement or crosswalk of the MAP: no connectsTo signalGroup or crosswalk signalGroup is ${g.id}`);
  }
  if (opts.intersection && (opts.intersection.id !== map.intersectionId || opts.intersection.region !== map.region))
    warn(refF, 'properties.intersectionId', 'intersection-id', `the lane map is intersection ${map.region}/${map.intersectionId} but the SPAT (config applications.spat.intersection) is ${opts.intersection.region}/${opts.intersection.id}: the daemon sends the MAP with the SPAT's id`);
  return out;
}

type Report = (feature: number | undefined, property: string | undefined, code: ProblemCode, message: string) => void;

function csaeChecks(map: LaneMap, limits: MapLimits, err: Report, warn: Report): void {
  const S = limits.sizes;
  const R = limits.ranges;
  // One node per MAP (this intersection), a link per approach with ingress lanes, holding its ingress lanes and
  // crosswalks/sidewalks (egress lanes are the downstream links' and are reached as connectingLane).
  const links = map.approaches.filter((a) => map.lanes.some((l) => l.approach === a.id && l.direction === 'ingress'));
  if (S['links'] && overSize(links.length, S['links']))
    err(undefined, 'features', 'list-size', `${links.length} approaches with ingress lanes, but ${S['links'].where} is ${fmtSize(S['links'])}`);
  for (const a of links) {
    const lanes = map.lanes.filter((l) => l.approach === a.id && (l.direction === 'ingress' || l.kind === 'crosswalk' || l.kind === 'sidewalk'));
    const first = lanes[0]!;
    if (S['lanesPerLink'] && overSize(lanes.length, S['lanesPerLink']))
      err(lanes[S['lanesPerLink'].ub ?? 0]?.featureIndex ?? first.featureIndex, 'properties.approach', 'list-size', `approach ${a.id} has ${lanes.length} lanes in its link (lanes ${lanes.map((l) => l.laneId).join(', ')}), but ${S['lanesPerLink'].where} is ${fmtSize(S['lanesPerLink'])}`);
    const remotes = new Set<number>();
    for (const l of lanes) for (const c of l.connectsTo) remotes.add(map.lanesById.get(c.lane)?.approach ?? 0);
    if (S['movements'] && remotes.size && overSize(remotes.size, S['movements']))
      err(first.featureIndex, 'properties.approach', 'list-size', `approach ${a.id} has movements to ${remotes.size} arms, but ${S['movements'].where} is ${fmtSize(S['movements'])}`);
    const width = cm(lanes.filter((l) => l.direction === 'ingress').reduce((s, l) => s + l.widthM, 0));
    if (R['linkWidth'] && outside(width, R['linkWidth'])) err(first.featureIndex, 'properties.widthM', 'range', `approach ${a.id}'s link is ${width} cm wide, outside ${R['linkWidth'].where} (${R['linkWidth'].lb}-${R['linkWidth'].ub} cm)`);
    if (a.name !== undefined && limits.nameSize && (!/^[\x20-\x7e]*$/.test(a.name) || overSize(a.name.length, limits.nameSize)))
      warn(first.featureIndex, 'properties.approach.name', 'not-carried', `approach name ${JSON.stringify(a.name)} is not a printable ASCII DescriptiveName of ${fmtSize(limits.nameSize)}: the MAP leaves it out`);
  }
  if (map.name !== undefined && limits.nameSize && (!/^[\x20-\x7e]*$/.test(map.name) || overSize(map.name.length, limits.nameSize)))
    warn(undefined, 'name', 'not-carried', `intersection name ${JSON.stringify(map.name)} is not a printable ASCII DescriptiveName of ${fmtSize(limits.nameSize)}: the MAP leaves it out`);
  for (const l of map.lanes) {
    const inLink = links.some((a) => a.id === l.approach) && (l.direction === 'ingress' || l.kind === 'crosswalk' || l.kind === 'sidewalk');
    if (!inLink && l.direction !== 'egress')
      warn(l.featureIndex, 'properties.approach', 'not-carried', `${l.kind} lane ${l.laneId} is in no CSAE link (${l.approach === undefined ? 'it has no approach' : `approach ${l.approach} has no ingress lane`}): the CSAE MAP leaves it out`);
    if (S['connections'] && l.connectsTo.length && overSize(l.connectsTo.length, S['connections']))
      err(l.featureIndex, 'properties.connectsTo', 'list-size', `lane ${l.laneId} has ${l.connectsTo.length} connections, but ${S['connections'].where} is ${fmtSize(S['connections'])}`);
    if (R['laneWidth'] && outside(cm(l.widthM), R['laneWidth'])) err(l.featureIndex, 'properties.widthM', 'range', `width ${cm(l.widthM)} cm is outside ${R['laneWidth'].where} (${R['laneWidth'].lb}-${R['laneWidth'].ub})`);
    if (l.speedLimitKmh !== undefined && R['speed'] && outside(speedUnits(l.speedLimitKmh), R['speed']))
      err(l.featureIndex, 'properties.speedLimitKmh', 'range', `${l.speedLimitKmh} km/h is ${speedUnits(l.speedLimitKmh)} in 0.02 m/s units, outside ${R['speed'].where} (${R['speed'].lb}-${R['speed'].ub})`);
    l.connectsTo.forEach((c, k) => {
      if (c.signalGroup !== undefined && R['phaseId'] && outside(c.signalGroup, R['phaseId']))
        err(l.featureIndex, `properties.connectsTo[${k}].signalGroup`, 'range', `signal group ${c.signalGroup} is outside ${R['phaseId'].where} (${R['phaseId'].lb}-${R['phaseId'].ub})`);
    });
    l.geo.forEach((g, k) => {
      const lat = Math.round(g.lat * 1e7);
      const lon = Math.round(g.lon * 1e7);
      if ((R['lat'] && outside(lat, R['lat'])) || (R['lon'] && outside(lon, R['lon'])))
        err(l.featureIndex, `geometry.coordinates[${k}]`, 'range', `position ${g.lat}, ${g.lon} is outside ${R['lat']!.where.replace(/\.lat$/, '')}`);
    });
    pointCount(l, S['points'], err, warn);
  }
}

function pointCount(l: Lane, s: SizeLimit | undefined, err: Report, warn: Report): void {
  if (!s) return;
  const n = l.points.length;
  if (n < s.lb) err(l.featureIndex, 'geometry.coordinates', 'list-size', `lane ${l.laneId} has ${n} points, but ${s.where} is ${fmtSize(s)}`);
  if (s.ub === undefined || n <= s.ub) return;
  const dev = thinningError(l.points, thinIndices(n, s.ub));
  const msg = `lane ${l.laneId} has ${n} points, but ${s.where} is ${fmtSize(s)}: the MAP keeps ${s.ub} of them, up to ${dev.toFixed(2)} m from the drawn centreline`;
  if (dev > l.widthM / 4) err(l.featureIndex, 'geometry.coordinates', 'list-size', `${msg} (more than a quarter of the lane width): simplify the line`);
  else warn(l.featureIndex, 'geometry.coordinates', 'list-size', msg);
}

function j2735Checks(map: LaneMap, limits: MapLimits, err: Report): void {
  const S = limits.sizes;
  const R = limits.ranges;
  if (S['lanes'] && overSize(map.lanes.length, S['lanes'])) err(undefined, 'features', 'list-size', `${map.lanes.length} lanes, but ${S['lanes'].where} is ${fmtSize(S['lanes'])}`);
  const biggest = limits.xyForms[limits.xyForms.length - 1]!;
  for (const l of map.lanes) {
    if (S['connections'] && l.connectsTo.length && overSize(l.connectsTo.length, S['connections']))
      err(l.featureIndex, 'properties.connectsTo', 'list-size', `lane ${l.laneId} has ${l.connectsTo.length} connections, but ${S['connections'].where} is ${fmtSize(S['connections'])}`);
    l.connectsTo.forEach((c, k) => {
      if (c.signalGroup !== undefined && R['signalGroup'] && outside(c.signalGroup, R['signalGroup']))
        err(l.featureIndex, `properties.connectsTo[${k}].signalGroup`, 'range', `signal group ${c.signalGroup} is outside ${R['signalGroup'].where} (${R['signalGroup'].lb}-${R['signalGroup'].ub})`);
    });
    const noopErr: Report = () => undefined;
    pointCount(l, S['nodes'], err, noopErr);
    // Node offsets: J2735 lists a lane from its intersection end outwards, each node an XY offset (cm) from the
    // previous one (the first from the reference point), as the builder writes them.
    const n = l.points.length;
    const order = l.direction === 'ingress' ? [...Array(n).keys()].reverse() : [...Array(n).keys()];
    const kept = S['nodes']?.ub !== undefined ? thinIndices(n, S['nodes'].ub).map((i) => order[i]!) : order;
    let px = 0;
    let py = 0;
    let prev: number | undefined;
    for (const i of kept) {
      const x = cm(l.points[i]!.x);
      const y = cm(l.points[i]!.y);
      const dx = x - px;
      const dy = y - py;
      if (outside(dx, biggest.x) || outside(dy, biggest.y)) {
        const from = prev === undefined ? 'the intersection reference point' : `point ${prev}`;
        err(
          l.featureIndex,
          `geometry.coordinates[${i}]`,
          'range',
          `lane ${l.laneId}: node offset from ${from} is ${(dx / 100).toFixed(2)} m east, ${(dy / 100).toFixed(2)} m north, beyond the largest J2735 node offset (${biggest.name}: ${biggest.x.lb / 100} to ${biggest.x.ub / 100} m): add points in between${prev === undefined ? ' or move the lane closer to the reference' : ''}`,
        );
      }
      px = x;
      py = y;
      prev = i;
    }
  }
}

export interface FileValidation {
  file: string;
  std: StdName;
  /** The loaded map, when the loader accepted the file. */
  map?: LaneMap;
  errors: MapProblem[];
  warnings: MapProblem[];
}

/** Loads and validates a GeoJSON lane map file; never throws for problems of the file (they are reported). */
export function validateLaneMapFile(file: string, opts: Omit<ValidateOptions, 'referenceFeature'>): FileValidation {
  const problems: MapProblem[] = [];
  let map: LaneMap | undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    const msg = (e as NodeJS.ErrnoException).code ? `cannot read the lane map: ${(e as Error).message}` : `not valid JSON: ${(e as Error).message}`;
    problems.push({ severity: 'error', code: 'lane-map', message: msg });
  }
  if (json !== undefined) {
    try {
      map = parseLaneMap(json, { file });
    } catch (e) {
      if (!(e instanceof LaneMapError)) throw e;
      for (const i of e.issues)
        problems.push({ severity: 'error', code: 'lane-map', ...(i.feature !== undefined ? { feature: i.feature } : {}), ...(i.property !== undefined ? { property: i.property } : {}), message: i.message });
    }
  }
  if (map) {
    for (const w of map.warnings) {
      if (/connects to no lane/.test(w)) continue; // an error here (no-connections)
      const m = /^features\[(\d+)\](?:\.(\S+?))?: ([\s\S]*)$/.exec(w);
      problems.push(m ? { severity: 'warning', code: 'lane-map', feature: Number(m[1]), ...(m[2] ? { property: m[2] } : {}), message: m[3]! } : { severity: 'warning', code: 'lane-map', message: w });
    }
    const feats = (json as { features: unknown[] }).features;
    const referenceFeature = feats.findIndex((f) => (f as { geometry?: { type?: string } })?.geometry?.type === 'Point' && 'intersectionId' in ((f as { properties?: object }).properties ?? {}));
    problems.push(...validateLaneMap(map, { ...opts, ...(referenceFeature >= 0 ? { referenceFeature } : {}) }));
  }
  return {
    file,
    std: opts.limits.std,
    ...(map ? { map } : {}),
    errors: problems.filter((p) => p.severity === 'error'),
    warnings: problems.filter((p) => p.severity === 'warning'),
  };
}

