// MAP from the lane map: CSAE MapData (one node, a link per approach holding its lanes) and J2735 MapData (one
// IntersectionGeometry, lanes with XY node offsets drawn from the stop line outwards).
import { createHash } from 'node:crypto';
import type { IntersectionRef, MessageSet as StdName, RsiNodeRef, RsiReferenceLink } from '../config/types.js';
import type { Lane, LaneMap, Maneuver } from '../map/index.js';
import { minuteOfYear } from './clock.js';
import { position3D } from './geo.js';
import { frameOf, isJ2735 } from './messages.js';

export interface MapContext {
  std: StdName;
  msgCnt: number;
  atMs: number;
  /** The SPAT's intersection id, which the MAP must carry too (defaults to the lane map's). */
  intersection?: IntersectionRef;
}

const MANEUVER_BIT: Record<Maneuver, number> = { straight: 0, left: 1, right: 2, uTurn: 3 };

/** AllowedManeuvers, a 12-bit string, as the 2 hex octets JER gives a fixed-size BIT STRING. */
export function maneuverBits(ms: readonly Maneuver[]): string {
  let v = 0;
  for (const m of ms) v |= 0x8000 >>> MANEUVER_BIT[m];
  return v.toString(16).toUpperCase().padStart(4, '0');
}

const cm = (m: number) => Math.round(m * 100);
const speed = (kmh: number) => Math.max(0, Math.min(8190, Math.round(kmh / 3.6 / 0.02)));

/** At most `max` points, keeping the first and last (PointList and NodeSetXY have upper bounds). */
function thin<T>(pts: T[], max: number): T[] {
  if (pts.length <= max) return pts;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(pts[Math.round((i * (pts.length - 1)) / (max - 1))]!);
  return out;
}

function laneType(l: Lane, std: StdName): Record<string, unknown> {
  switch (l.kind) {
    case 'vehicle':
      return { vehicle: { value: '00', length: 8 } };
    case 'crosswalk':
      return { crosswalk: '0000' };
    case 'bike':
      return { bikeLane: '0000' };
    case 'sidewalk':
      return { sidewalk: '0000' };
  }
  void std;
}

export function buildMap(map: LaneMap, ctx: MapContext): unknown {
  const ref = ctx.intersection ?? { region: map.region, id: map.intersectionId };
  const nodeRef = (id: number) => ({ ...(ref.region ? { region: ref.region } : {}), id: id & 0xffff });
  return isJ2735(ctx.std) ? frameOf(ctx.std, 'map', j2735(map, ctx, ref)) : frameOf(ctx.std, 'map', csae(map, ctx, ref, nodeRef));
}

/** The node at the far end of an arm: not described by this MAP, so it gets an id derived from the arm. */
export function armNode(ref: IntersectionRef, approach: number): number {
  return (ref.id * 16 + approach) & 0xffff;
}

/**
 * The MAP links (CSAE ReferenceLink) lanes of the lane map lie on, with the same node ids as buildMap: an ingress
 * lane of approach a is on the link from the arm's far node (armNode) to the intersection, an egress lane on the
 * link from the intersection out to it. One link per approach and direction, in lane order; lanes other than
 * vehicle and bike lanes are not on a link. `lanes` (ReferenceLanes, bits lane1..lane15) is given only when every
 * lane of the link named is 1-15; otherwise it is left out, which means every lane of the link.
 */
export function referenceLinksOf(map: LaneMap, laneIds: readonly number[], intersection?: IntersectionRef): RsiReferenceLink[] {
  const ref = intersection ?? { region: map.region, id: map.intersectionId };
  const node = (id: number): RsiNodeRef => ({ ...(ref.region ? { region: ref.region } : {}), id: id & 0xffff });
  const links = new Map<string, { link: RsiReferenceLink; lanes: number[] }>();
  for (const id of laneIds) {
    const l = map.lanesById.get(id);
    if (!l || (l.kind !== 'vehicle' && l.kind !== 'bike') || l.approach === undefined || (l.direction !== 'ingress' && l.direction !== 'egress')) continue;
    const key = `${l.approach}:${l.direction}`;
    const far = node(armNode(ref, l.approach));
    const centre = node(ref.id);
    const entry = links.get(key) ?? { link: l.direction === 'ingress' ? { upstreamNodeId: far, downstreamNodeId: centre } : { upstreamNodeId: centre, downstreamNodeId: far }, lanes: [] };
    entry.lanes.push(l.laneId);
    links.set(key, entry);
  }
  return [...links.values()].map(({ link, lanes }) => (lanes.every((x) => x >= 1 && x <= 15) ? { ...link, lanes: [...new Set(lanes)].sort((a, b) => a - b) } : link));
}

function csae(map: LaneMap, ctx: MapContext, ref: IntersectionRef, nodeRef: (id: number) => object) {
  const links = map.approaches
    .map((a) => {
      const lanes = map.lanes.filter((l) => l.approach === a.id && (l.direction === 'ingress' || l.kind === 'crosswalk' || l.kind === 'sidewalk'));
      if (!lanes.some((l) => l.direction === 'ingress')) return undefined;
      const movements = new Map<number, number | undefined>();
      const laneValues = lanes.map((l) => {
        const connectsTo = l.connectsTo.slice(0, 8).map((c) => {
          const to = map.lanesById.get(c.lane);
          const remote = armNode(ref, to?.approach ?? 0);
          if (!movements.has(remote) || c.signalGroup !== undefined) movements.set(remote, c.signalGroup);
          return {
            remoteIntersection: nodeRef(remote),
            connectingLane: { lane: c.lane, maneuver: maneuverBits([c.maneuver]) },
            ...(c.signalGroup !== undefined ? { phaseId: c.signalGroup } : {}),
          };
        });
        return {
          laneID: l.laneId,
          laneWidth: cm(l.widthM),
          laneAttributes: { laneType: laneType(l, ctx.std) },
          ...(l.maneuvers.length ? { maneuvers: maneuverBits(l.maneuvers) } : {}),
          ...(connectsTo.length ? { connectsTo } : {}),
          ...(l.speedLimitKmh ? { speedLimits: [{ type: 'vehicleMaxSpeed', speed: speed(l.speedLimitKmh) }] } : {}),
          points: thin(l.geo, 31).map((g) => ({ posOffset: { offsetLL: { 'position-LatLon': { lon: Math.round(g.lon * 1e7), lat: Math.round(g.lat * 1e7) } } } })),
        };
      });
      const ingress = lanes.filter((l) => l.direction === 'ingress');
      const limit = Math.max(0, ...ingress.map((l) => l.speedLimitKmh ?? 0));
      return {
        ...(a.name && /^[\x20-\x7e]{1,63}$/.test(a.name) ? { name: a.name } : {}),
        upstreamNodeId: nodeRef(armNode(ref, a.id)),
        ...(limit ? { speedLimits: [{ type: 'vehicleMaxSpeed', speed: speed(limit) }] } : {}),
        linkWidth: cm(ingress.reduce((s, l) => s + l.widthM, 0)),
        ...(movements.size ? { movements: [...movements].slice(0, 32).map(([id, pid]) => ({ remoteIntersection: nodeRef(id), ...(pid !== undefined ? { phaseId: pid } : {}) })) } : {}),
        lanes: laneValues.slice(0, 32),
      };
    })
    .filter((x) => x !== undefined);
  return {
    msgCnt: ctx.msgCnt,
    timeStamp: minuteOfYear(ctx.atMs),
    nodes: [
      {
        ...(map.name && /^[\x20-\x7e]{1,63}$/.test(map.name) ? { name: map.name } : {}),
        id: nodeRef(ref.id),
        refPos: position3D({ lat: map.reference.lat, lon: map.reference.lon, elevation: map.reference.elevation }),
        ...(links.length ? { inLinks: links.slice(0, 32) } : {}),
      },
    ],
  };
}

const XY_FORMS: [string, number][] = [
  ['node-XY1', 511],
  ['node-XY2', 1023],
  ['node-XY3', 2047],
  ['node-XY4', 4095],
  ['node-XY5', 8191],
  ['node-XY6', 32767],
];

function xyDelta(dx: number, dy: number): Record<string, { x: number; y: number }> {
  for (const [alt, max] of XY_FORMS) if (Math.abs(dx) <= max && Math.abs(dy) <= max) return { [alt]: { x: dx, y: dy } };
  throw new Error(`lane node step of ${dx} cm, ${dy} cm is too long for a J2735 node offset`);
}

function j2735(map: LaneMap, ctx: MapContext, ref: IntersectionRef) {
  const laneSet = map.lanes.map((l) => {
    // J2735 draws a lane from its stop line (the intersection end) outwards; ours follow the direction of travel.
    const pts = thin(l.direction === 'ingress' ? [...l.points].reverse() : l.points, 63);
    let px = 0;
    let py = 0;
    const nodes = pts.map((p) => {
      const x = cm(p.x);
      const y = cm(p.y);
      const d = xyDelta(x - px, y - py);
      px = x;
      py = y;
      return { delta: d };
    });
    const dirUse = l.direction === 'ingress' ? '80' : l.direction === 'egress' ? '40' : 'C0';
    const connectsTo = l.connectsTo.slice(0, 16).map((c, i) => ({
      connectingLane: { lane: c.lane, maneuver: maneuverBits([c.maneuver]) },
      ...(c.signalGroup !== undefined ? { signalGroup: c.signalGroup } : {}),
      connectionID: i + 1,
    }));
    return {
      laneID: l.laneId,
      ...(l.approach !== undefined && l.direction === 'ingress' ? { ingressApproach: l.approach } : {}),
      ...(l.approach !== undefined && l.direction === 'egress' ? { egressApproach: l.approach } : {}),
      laneAttributes: { directionalUse: dirUse, sharedWith: '0000', laneType: laneType(l, ctx.std) },
      ...(l.maneuvers.length ? { maneuvers: maneuverBits(l.maneuvers) } : {}),
      nodeList: { nodes },
      ...(connectsTo.length ? { connectsTo } : {}),
    };
  });
  const geometry = {
    id: { ...(ref.region ? { region: ref.region } : {}), id: ref.id },
    refPoint: position3D({ lat: map.reference.lat, lon: map.reference.lon, elevation: map.reference.elevation }),
    laneSet: laneSet.slice(0, 255),
  };
  // The revision changes only when the content does (J2735 msgIssueRevision), not with every message.
  const revision = createHash('sha256').update(JSON.stringify(geometry)).digest()[0]! & 0x7f;
  return {
    timeStamp: minuteOfYear(ctx.atMs),
    msgIssueRevision: revision,
    layerType: 'intersectionData',
    intersections: [{ ...geometry, revision }],
  };
}
