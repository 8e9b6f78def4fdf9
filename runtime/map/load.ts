// Loads a lane map from GeoJSON (WGS-84) into local ENU metres, with validation naming the feature and property.

import { readFileSync } from 'node:fs';
import { EnuFrame, type GeoPoint, type Xyz } from './enu.js';
import { angleDiffDeg, bearingDeg, polylineLength } from './geometry.js';
import {
  LANE_DIRECTIONS,
  LANE_KINDS,
  MANEUVERS,
  type Approach,
  type Lane,
  type LaneConnection,
  type LaneDirection,
  type LaneKind,
  type LaneMap,
  type Maneuver,
} from './types.js';
import { isPlainObject as isObj } from '../config/schema.js';

export interface LaneMapIssue {
  /** Index of the feature in the FeatureCollection; undefined for problems of the file as a whole. */
  feature?: number;
  /** Property path inside the feature, e.g. "properties.connectsTo[1].lane" or "geometry.coordinates". */
  property?: string;
  message: string;
}

export function formatLaneMapIssue(i: LaneMapIssue): string {
  const where = i.feature === undefined ? i.property ?? '' : `features[${i.feature}]${i.property ? `.${i.property}` : ''}`;
  return where ? `${where}: ${i.message}` : i.message;
}

export class LaneMapError extends Error {
  constructor(
    readonly issues: LaneMapIssue[],
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}invalid lane map: ${issues.length === 1 ? formatLaneMapIssue(issues[0]!) : `${issues.length} problems:\n${issues.map((i) => `  ${formatLaneMapIssue(i)}`).join('\n')}`}`);
    this.name = 'LaneMapError';
  }
}

/** Default lane widths by kind, metres. */
export const DEFAULT_WIDTH_M: Record<LaneKind, number> = { vehicle: 3.25, bike: 1.75, crosswalk: 4, sidewalk: 2.5 };

/** Lanes further than this from the reference are taken for a coordinate mistake, metres. */
export const MAX_DISTANCE_M = 2000;
/** Shorter lanes are "zero-length", metres. */
export const MIN_LENGTH_M = 0.5;

const KNOWN_PROPS = new Set([
  'laneId',
  'kind',
  'direction',
  'approach',
  'approachName',
  'approachHeading',
  'name',
  'widthM',
  'speedLimitKmh',
  'maneuvers',
  'connectsTo',
  'signalGroup',
]);

type Obj = Record<string, unknown>;
const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** GIS tools often store lists and objects in attributes as JSON text: accept that too. */
function maybeJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('[') || t.startsWith('{'))) return v;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return v;
  }
}

export interface ParseOptions {
  file?: string;
}

/** Reads and validates a GeoJSON lane map file. Throws LaneMapError listing every problem. */
export function loadLaneMap(file: string): LaneMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LaneMapError([{ message: `cannot read the lane map: ${(e as Error).message}` }], file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (e) {
    throw new LaneMapError([{ message: `not valid JSON: ${(e as Error).message}` }], file);
  }
  return parseLaneMap(json, { file });
}

/** Validates a parsed GeoJSON object and converts it. Throws LaneMapError listing every problem. */
export function parseLaneMap(json: unknown, opts: ParseOptions = {}): LaneMap {
  const issues: LaneMapIssue[] = [];
  const warnings: string[] = [];
  const fail = (feature: number | undefined, property: string | undefined, message: string) => issues.push({ feature, property, message });
  const done = (): never => {
    throw new LaneMapError(issues, opts.file);
  };

  if (!isObj(json) || json['type'] !== 'FeatureCollection') {
    fail(undefined, 'type', `expected a GeoJSON FeatureCollection, got ${isObj(json) ? show(json['type']) : typeof json}`);
    done();
  }
  const root = json as Obj;
  const features = root['features'];
  if (!Array.isArray(features)) {
    fail(undefined, 'features', 'expected an array of features');
    done();
  }
  const feats = features as unknown[];

  // Pass 1: the reference point.
  let ref: { index: number; point: GeoPoint; intersectionId: number; region: number; name?: string } | undefined;
  feats.forEach((f, i) => {
    if (!isObj(f) || !isObj(f['geometry']) || f['geometry']['type'] !== 'Point') return;
    const props = isObj(f['properties']) ? f['properties'] : {};
    if (!('intersectionId' in props)) {
      fail(i, 'properties.intersectionId', 'missing: a Point feature is the intersection reference and needs intersectionId (0-65535)');
      return;
    }
    if (ref) {
      fail(i, 'geometry', `a second intersection reference point (the first is features[${ref.index}]): a lane map holds one intersection`);
      return;
    }
    const c = f['geometry']['coordinates'];
    const pos = position(c, i, 'geometry.coordinates', fail);
    const id = props['intersectionId'];
    if (!isInt(id, 0, 65535)) fail(i, 'properties.intersectionId', `expected an integer 0-65535, got ${show(id)}`);
    const region = props['region'] ?? 0;
    if (!isInt(region, 0, 65535)) fail(i, 'properties.region', `expected an integer 0-65535, got ${show(region)}`);
    const name = props['name'];
    if (name !== undefined && typeof name !== 'string') fail(i, 'properties.name', `expected a string, got ${show(name)}`);
    let elevation = pos?.[2];
    if (elevation === undefined && typeof props['elevation'] === 'number') elevation = props['elevation'];
    if (elevation === undefined && pos) warnings.push(`features[${i}]: the reference point has no elevation; using 0 m above the ellipsoid`);
    if (pos && isInt(id, 0, 65535))
      ref = {
        index: i,
        point: { lon: pos[0]!, lat: pos[1]!, elevation: elevation ?? 0 },
        intersectionId: id,
        region: isInt(region, 0, 65535) ? region : 0,
        ...(typeof name === 'string' ? { name } : {}),
      };
  });
  if (!ref) {
    if (issues.length === 0) fail(undefined, 'features', 'no intersection reference: add a Point feature with intersectionId (and region, name)');
    done();
  }
  const reference = ref!;
  const enu = new EnuFrame(reference.point);

  // Pass 2: lanes.
  const lanes: Lane[] = [];
  const firstIndexOfId = new Map<number, number>();
  const approaches = new Map<number, Approach & { feature: number }>();
  feats.forEach((f, i) => {
    if (!isObj(f) || f['type'] !== 'Feature') {
      fail(i, undefined, `expected a GeoJSON Feature object, got ${isObj(f) ? show(f['type']) : show(f)}`);
      return;
    }
    const g = f['geometry'];
    if (!isObj(g)) {
      fail(i, 'geometry', 'missing: a lane needs a LineString geometry');
      return;
    }
    if (g['type'] === 'Point') return; // the reference, pass 1
    const props = isObj(f['properties']) ? f['properties'] : undefined;
    if (g['type'] !== 'LineString') {
      if (props && 'laneId' in props) fail(i, 'geometry.type', `expected a LineString (the lane centreline), got ${show(g['type'])}`);
      else warnings.push(`features[${i}]: ${show(g['type'])} feature without laneId ignored`);
      return;
    }
    if (!props) {
      fail(i, 'properties', 'missing: a lane needs properties (laneId, kind, direction, approach, ...)');
      return;
    }
    const n0 = issues.length;
    const P = (k: string) => `properties.${k}`;

    const laneId = props['laneId'];
    if (laneId === undefined || laneId === null) fail(i, P('laneId'), 'missing: every lane needs an integer laneId 1-255');
    else if (!isInt(laneId, 1, 255)) fail(i, P('laneId'), `expected an integer 1-255, got ${show(laneId)}`);
    else if (firstIndexOfId.has(laneId)) fail(i, P('laneId'), `duplicate laneId ${laneId} (also features[${firstIndexOfId.get(laneId)}])`);
    else firstIndexOfId.set(laneId, i);

    const kind = (props['kind'] ?? 'vehicle') as LaneKind;
    if (!LANE_KINDS.includes(kind)) fail(i, P('kind'), `expected one of ${LANE_KINDS.join(', ')}, got ${show(props['kind'])}`);
    const travel = kind === 'vehicle' || kind === 'bike';

    let direction = props['direction'] as LaneDirection | undefined;
    if (direction === undefined) {
      if (travel) fail(i, P('direction'), `missing: a ${kind} lane needs direction "ingress" or "egress"`);
      direction = 'both';
    } else if (!LANE_DIRECTIONS.includes(direction)) {
      fail(i, P('direction'), `expected one of ${LANE_DIRECTIONS.join(', ')}, got ${show(direction)}`);
    } else if (travel && direction === 'both') {
      fail(i, P('direction'), `a ${kind} lane is "ingress" or "egress" (one direction of travel), not "both"`);
    }

    // Approach: an id, or { id, name, heading }, or approachName/approachHeading beside an id.
    let approach: number | undefined;
    const a = maybeJson(props['approach']);
    let aName = props['approachName'];
    let aHeading = props['approachHeading'];
    let aId: unknown = a;
    if (isObj(a)) {
      aId = a['id'];
      aName = a['name'] ?? aName;
      aHeading = a['heading'] ?? aHeading;
    }
    if (aId === undefined || aId === null) {
      if (travel) fail(i, P('approach'), `missing: a ${kind} lane needs its approach (arm) id, 1-15, or { id, name, heading }`);
    } else if (!isInt(aId, 1, 15)) {
      fail(i, P(isObj(a) ? 'approach.id' : 'approach'), `expected an integer approach id 1-15, got ${show(aId)}`);
    } else {
      approach = aId;
      if (aName !== undefined && typeof aName !== 'string') fail(i, P(isObj(a) ? 'approach.name' : 'approachName'), `expected a string, got ${show(aName)}`);
      if (aHeading !== undefined && !(typeof aHeading === 'number' && aHeading >= 0 && aHeading < 360))
        fail(i, P(isObj(a) ? 'approach.heading' : 'approachHeading'), `expected a compass bearing in degrees 0-360 (clockwise from north), got ${show(aHeading)}`);
      const known = approaches.get(aId);
      const name = typeof aName === 'string' ? aName : undefined;
      const heading = typeof aHeading === 'number' ? aHeading : undefined;
      if (!known) approaches.set(aId, { id: aId, feature: i, ...(name !== undefined ? { name } : {}), ...(heading !== undefined ? { heading } : {}) });
      else {
        if (name !== undefined && known.name !== undefined && name !== known.name)
          fail(i, P('approach'), `approach ${aId} is named ${show(name)} here but ${show(known.name)} in features[${known.feature}]`);
        if (heading !== undefined && known.heading !== undefined && angleDiffDeg(heading, known.heading) > 1e-9)
          fail(i, P('approach'), `approach ${aId} has heading ${heading} here but ${known.heading} in features[${known.feature}]`);
        if (known.name === undefined && name !== undefined) known.name = name;
        if (known.heading === undefined && heading !== undefined) known.heading = heading;
      }
    }

    const name = props['name'];
    if (name !== undefined && typeof name !== 'string') fail(i, P('name'), `expected a string, got ${show(name)}`);

    let widthM = props['widthM'];
    if (widthM === undefined) widthM = DEFAULT_WIDTH_M[LANE_KINDS.includes(kind) ? kind : 'vehicle'];
    else if (!(typeof widthM === 'number' && widthM > 0 && widthM <= 10)) fail(i, P('widthM'), `expected a width in metres, over 0 and at most 10, got ${show(widthM)}`);

    const speed = props['speedLimitKmh'];
    if (speed !== undefined && !(typeof speed === 'number' && speed > 0 && speed <= 200))
      fail(i, P('speedLimitKmh'), `expected a speed in km/h, over 0 and at most 200, got ${show(speed)}`);

    const sg = props['signalGroup'];
    if (sg !== undefined && sg !== null && !isInt(sg, 1, 255)) fail(i, P('signalGroup'), `expected a signal group (SPAT phase id) 1-255, got ${show(sg)}`);

    let maneuvers: Maneuver[] = [];
    const mv = maybeJson(props['maneuvers']);
    if (mv !== undefined && mv !== null) {
      if (!Array.isArray(mv)) fail(i, P('maneuvers'), `expected a list of ${MANEUVERS.join(', ')}, got ${show(mv)}`);
      else
        mv.forEach((m, k) => {
          if (!MANEUVERS.includes(m as Maneuver)) fail(i, P(`maneuvers[${k}]`), `expected one of ${MANEUVERS.join(', ')}, got ${show(m)}`);
          else if (!maneuvers.includes(m as Maneuver)) maneuvers.push(m as Maneuver);
        });
      if (maneuvers.length && direction !== 'ingress') fail(i, P('maneuvers'), `only ingress lanes have maneuvers (this lane is ${direction})`);
    }
    const declaredManeuvers = mv !== undefined && mv !== null;

    const connectsTo: LaneConnection[] = [];
    const ct = maybeJson(props['connectsTo']);
    if (ct !== undefined && ct !== null) {
      if (!Array.isArray(ct)) fail(i, P('connectsTo'), `expected a list of { lane, maneuver, signalGroup }, got ${show(ct)}`);
      else {
        if (ct.length && direction !== 'ingress') fail(i, P('connectsTo'), `only ingress lanes connect to other lanes (this lane is ${direction})`);
        ct.forEach((c, k) => {
          const cp = `connectsTo[${k}]`;
          if (!isObj(c)) {
            fail(i, P(cp), `expected { lane, maneuver, signalGroup }, got ${show(c)}`);
            return;
          }
          const lane = c['lane'];
          const man = c['maneuver'];
          const csg = c['signalGroup'];
          let ok = true;
          if (!isInt(lane, 1, 255)) {
            fail(i, P(`${cp}.lane`), lane === undefined ? 'missing: the laneId of the egress lane reached' : `expected a laneId 1-255, got ${show(lane)}`);
            ok = false;
          }
          if (!MANEUVERS.includes(man as Maneuver)) {
            fail(i, P(`${cp}.maneuver`), `${man === undefined ? 'missing: ' : ''}expected one of ${MANEUVERS.join(', ')}${man === undefined ? '' : `, got ${show(man)}`}`);
            ok = false;
          } else if (declaredManeuvers && !maneuvers.includes(man as Maneuver)) {
            fail(i, P(`${cp}.maneuver`), `"${man}" is not in the lane's maneuvers [${maneuvers.join(', ')}]`);
          }
          if (csg !== undefined && csg !== null && !isInt(csg, 1, 255)) {
            fail(i, P(`${cp}.signalGroup`), `expected a signal group (SPAT phase id) 1-255, got ${show(csg)}`);
            ok = false;
          }
          if (ok) connectsTo.push({ lane: lane as number, maneuver: man as Maneuver, ...(isInt(csg, 1, 255) ? { signalGroup: csg } : {}) });
        });
      }
    }
    if (!declaredManeuvers) for (const c of connectsTo) if (!maneuvers.includes(c.maneuver)) maneuvers.push(c.maneuver);

    // Geometry.
    const coords = g['coordinates'];
    const geo: GeoPoint[] = [];
    if (!Array.isArray(coords)) fail(i, 'geometry.coordinates', 'expected a list of [longitude, latitude(, elevation)] positions');
    else {
      if (coords.length < 2) fail(i, 'geometry.coordinates', `a lane needs at least 2 points, got ${coords.length}`);
      coords.forEach((c, k) => {
        const pos = position(c, i, `geometry.coordinates[${k}]`, fail);
        if (pos) geo.push({ lon: pos[0]!, lat: pos[1]!, elevation: pos[2] ?? reference.point.elevation });
      });
    }
    const points: Xyz[] = [];
    const geoKept: GeoPoint[] = [];
    if (geo.length === (Array.isArray(coords) ? coords.length : -1) && geo.length >= 2) {
      for (const p of geo) {
        const q = enu.toEnu(p.lat, p.lon, p.elevation);
        const last = points[points.length - 1];
        if (last && Math.hypot(q.x - last.x, q.y - last.y) < 0.01) continue; // repeated point
        points.push(q);
        geoKept.push(p);
      }
      const far = Math.max(...points.map((p) => Math.hypot(p.x, p.y)));
      const lengthM = polylineLength(points);
      if (points.length < 2 || lengthM < MIN_LENGTH_M) {
        fail(i, 'geometry.coordinates', `zero-length lane (${lengthM.toFixed(2)} m${points.length < 2 ? ', all points the same' : ''}): a lane needs at least 2 distinct points`);
      } else if (far > MAX_DISTANCE_M) {
        fail(
          i,
          'geometry.coordinates',
          `the lane lies ${(far / 1000).toFixed(1)} km from the intersection reference (features[${reference.index}]): are longitude and latitude swapped (GeoJSON is [lon, lat]), or is the reference wrong?`,
        );
      } else if (direction === 'ingress' || direction === 'egress') {
        const d0 = Math.hypot(points[0]!.x, points[0]!.y);
        const d1 = Math.hypot(points[points.length - 1]!.x, points[points.length - 1]!.y);
        if (direction === 'ingress' && d1 > d0)
          fail(i, 'geometry.coordinates', 'the ingress lane is drawn away from the intersection: draw lanes in the direction of travel, an ingress lane ending at its stop line');
        if (direction === 'egress' && d0 > d1)
          fail(i, 'geometry.coordinates', 'the egress lane is drawn towards the intersection: draw lanes in the direction of travel, an egress lane starting at the intersection');
      }
    }

    if (issues.length > n0) return;
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) if (!KNOWN_PROPS.has(k)) extra[k] = v;
    lanes.push({
      laneId: laneId as number,
      featureIndex: i,
      kind,
      direction,
      ...(approach !== undefined ? { approach } : {}),
      ...(typeof name === 'string' ? { name } : {}),
      widthM: widthM as number,
      ...(typeof speed === 'number' ? { speedLimitKmh: speed } : {}),
      maneuvers,
      connectsTo,
      ...(isInt(sg, 1, 255) ? { signalGroup: sg } : {}),
      points,
      geo: geoKept,
      lengthM: polylineLength(points),
      extra,
    });
  });

  // Cross-checks: connections.
  const byId = new Map(lanes.map((l) => [l.laneId, l]));
  for (const l of lanes) {
    l.connectsTo.forEach((c, k) => {
      const where = `properties.connectsTo[${k}].lane`;
      const to = byId.get(c.lane);
      if (!to) {
        if (!firstIndexOfId.has(c.lane)) fail(l.featureIndex, where, `lane ${c.lane} does not exist in the map`);
        return; // an invalid lane: its own feature has the error
      }
      if (to.direction !== 'egress') fail(l.featureIndex, where, `lane ${c.lane} (features[${to.featureIndex}]) is ${to.direction}; connections lead to egress lanes`);
      else if (to.kind !== l.kind) warnings.push(`features[${l.featureIndex}].${where}: ${l.kind} lane ${l.laneId} connects to ${to.kind} lane ${c.lane}`);
    });
    if (l.direction === 'ingress' && (l.kind === 'vehicle' || l.kind === 'bike') && l.connectsTo.length === 0)
      warnings.push(`features[${l.featureIndex}]: ingress lane ${l.laneId} connects to no lane (a dead end)`);
  }
  if (issues.length) done();

  // Approach headings: a warning when the lanes do not lie that way.
  for (const ap of approaches.values()) {
    if (ap.heading === undefined) continue;
    const pts = lanes.filter((l) => l.approach === ap.id && (l.kind === 'vehicle' || l.kind === 'bike')).flatMap((l) => l.points);
    if (!pts.length) continue;
    const cx = pts.reduce((s, p) => s + p.x, 0) / pts.length;
    const cy = pts.reduce((s, p) => s + p.y, 0) / pts.length;
    const b = bearingDeg(cx, cy);
    if (angleDiffDeg(b, ap.heading) > 45)
      warnings.push(`approach ${ap.id} (features[${ap.feature}]): heading ${ap.heading}° but its lanes lie at a bearing of ${b.toFixed(0)}° from the reference`);
  }

  return {
    intersectionId: reference.intersectionId,
    region: reference.region,
    ...(reference.name !== undefined ? { name: reference.name } : {}),
    reference: reference.point,
    approaches: [...approaches.values()].map(({ feature: _f, ...a }) => a).sort((x, y) => x.id - y.id),
    lanes,
    lanesById: byId,
    warnings,
    ...(opts.file !== undefined ? { file: opts.file } : {}),
  };
}

/** [lon, lat, elevation?] after checks, or undefined (with an issue). */
function position(c: unknown, i: number, property: string, fail: (f: number, p: string, m: string) => void): number[] | undefined {
  if (!Array.isArray(c) || c.length < 2 || c.length > 3 || !c.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    fail(i, property, `expected a position [longitude, latitude] or [longitude, latitude, elevation], got ${show(c)}`);
    return undefined;
  }
  const [lon, lat] = c as number[];
  if (Math.abs(lat!) > 90 || Math.abs(lon!) > 180) {
    fail(i, property, `longitude ${lon} / latitude ${lat} out of range (GeoJSON positions are [longitude, latitude])`);
    return undefined;
  }
  return c as number[];
}

/** Signal groups used by the map (connections and crosswalks), ascending. */
export function signalGroupsOf(map: LaneMap): number[] {
  const s = new Set<number>();
  for (const l of map.lanes) {
    if (l.signalGroup !== undefined) s.add(l.signalGroup);
    for (const c of l.connectsTo) if (c.signalGroup !== undefined) s.add(c.signalGroup);
  }
  return [...s].sort((a, b) => a - b);
}

/**
 * Problems between a map and a signal plan: signal groups of the map that the plan has no phase for (their
 * movements would never get a signal). Messages name the lane's feature.
 */
export function checkSignalGroups(map: LaneMap, phases: ReadonlyArray<{ id: number }>): string[] {
  const ids = new Set(phases.map((p) => p.id));
  const out: string[] = [];
  for (const l of map.lanes) {
    if (l.signalGroup !== undefined && !ids.has(l.signalGroup))
      out.push(`features[${l.featureIndex}].properties.signalGroup: lane ${l.laneId} uses signal group ${l.signalGroup}, which the SPAT plan has no phase for`);
    l.connectsTo.forEach((c, k) => {
      if (c.signalGroup !== undefined && !ids.has(c.signalGroup))
        out.push(`features[${l.featureIndex}].properties.connectsTo[${k}].signalGroup: lane ${l.laneId} → ${c.lane} uses signal group ${c.signalGroup}, which the SPAT plan has no phase for`);
    });
  }
  return out;
}

/** The end of a lane at the intersection (ingress: the stop line, its last point; egress: its first point). */
export function intersectionEnd(lane: Lane): Xyz {
  return lane.direction === 'egress' ? lane.points[0]! : lane.points[lane.points.length - 1]!;
}

/** The lane's points starting at the intersection end, as J2735/CSAE MAP node lists run. */
export function nodesFromIntersection(lane: Lane): Xyz[] {
  return lane.direction === 'ingress' ? [...lane.points].reverse() : [...lane.points];
}
