// The demo intersection: a 4-arm signalised crossroads centred on the demo RSU reference (DEMO_REFERENCE), laid
// out for the demo's 2-phase fixed-time SPAT plan (defaultConfig(): phase 1 north-south, phase 2 east-west).
//
// demo-intersection.geojson is this module's output (regenerate with
// `npx tsx runtime/map/demo.ts > runtime/map/demo-intersection.geojson`); after that the GeoJSON file is the
// source, and may be edited with any GIS tool.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEMO_REFERENCE } from '../config/defaults.js';
import { EnuFrame, type GeoPoint } from './enu.js';
import type { Maneuver } from './types.js';

export const DEMO_LANE_MAP_FILE = 'demo-intersection.geojson';

/** Path of the shipped demo lane map (beside this module in the source tree; found from dist/ too). */
export function demoLaneMapPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, DEMO_LANE_MAP_FILE), resolve(here, '../../../runtime/map', DEMO_LANE_MAP_FILE)]) if (existsSync(p)) return p;
  return join(here, DEMO_LANE_MAP_FILE);
}

/** Geometry of the demo layout, metres (ENU at the reference). */
export const DEMO_LAYOUT = {
  laneWidthM: 3.25,
  /** Stop lines of ingress lanes and starts of egress lanes, from the centre. */
  stopLineM: 14.5,
  /** Crosswalk centre lines, from the centre; crosswalks are 4 m wide. */
  crosswalkM: 11,
  crosswalkWidthM: 4,
  /** Crosswalk ends lie this far beyond the carriageway edge (on the sidewalk). */
  crosswalkOverhangM: 2,
  /** Lanes run this far out from the centre. */
  armLengthM: 120,
  speedLimitKmh: 50,
} as const;

interface ArmSpec {
  id: number;
  name: string;
  /** Compass bearing of the arm from the centre. */
  heading: number;
  egressLanes: 1 | 2;
  /** Signal group of the arm's vehicle movements; its crosswalk takes the other group (parallel traffic). */
  signalGroup: number;
  crosswalkSignalGroup: number;
}

// North-south is the main road (2 egress lanes); east-west has a left-turn lane and one egress lane.
const ARMS: ArmSpec[] = [
  { id: 1, name: 'North', heading: 0, egressLanes: 2, signalGroup: 1, crosswalkSignalGroup: 2 },
  { id: 2, name: 'East', heading: 90, egressLanes: 1, signalGroup: 2, crosswalkSignalGroup: 1 },
  { id: 3, name: 'South', heading: 180, egressLanes: 2, signalGroup: 1, crosswalkSignalGroup: 2 },
  { id: 4, name: 'West', heading: 270, egressLanes: 1, signalGroup: 2, crosswalkSignalGroup: 1 },
];

/** Lane ids: arm k has ingress 10k+1 (inner), 10k+2 (outer); egress 10k+5 (inner), 10k+6 (outer); crosswalk 10k+9. */
const laneId = (arm: number, slot: 1 | 2 | 5 | 6 | 9) => arm * 10 + slot;

/** The arm reached by turning from an arm (right-hand traffic). */
function target(arm: number, m: Maneuver): number {
  const i = ARMS.findIndex((a) => a.id === arm);
  // Arms are listed clockwise (N, E, S, W). Coming in from arm i: straight → i+2, left → i+1, right → i+3.
  const step = m === 'straight' ? 2 : m === 'left' ? 1 : m === 'right' ? 3 : 0;
  return ARMS[(i + step) % 4]!.id;
}

function egressFor(toArm: number, m: Maneuver, fromLaneSlot: 1 | 2): number {
  const spec = ARMS.find((a) => a.id === toArm)!;
  if (spec.egressLanes === 1) return laneId(toArm, 5);
  if (m === 'left') return laneId(toArm, 5);
  if (m === 'right') return laneId(toArm, 6);
  return laneId(toArm, fromLaneSlot === 1 ? 5 : 6);
}

type Feature = { type: 'Feature'; properties: Record<string, unknown>; geometry: { type: string; coordinates: unknown } };

/** The demo intersection as a GeoJSON FeatureCollection (WGS-84, coordinates rounded to 1e-8 degree, ~1 mm). */
export function buildDemoIntersection(
  reference: GeoPoint = DEMO_REFERENCE,
  /** Where the crossing's centre lies from the reference point, ENU metres (the reference stays the MAP reference point). */
  centre: { x: number; y: number } = { x: 0, y: 0 },
): { type: 'FeatureCollection'; name: string; features: Feature[] } {
  const L = DEMO_LAYOUT;
  const enu = new EnuFrame(reference);
  const r8 = (v: number) => Math.round(v * 1e8) / 1e8;
  const ll = (x: number, y: number) => {
    const g = enu.toGeo(centre.x + x, centre.y + y, 0);
    return [r8(g.lon), r8(g.lat)];
  };
  const rad = Math.PI / 180;
  const w = L.laneWidthM;
  const features: Feature[] = [
    {
      type: 'Feature',
      properties: { intersectionId: 110, region: 0, name: 'Demo crossroads (S110 site, Garching)' },
      geometry: { type: 'Point', coordinates: [reference.lon, reference.lat, reference.elevation] },
    },
  ];
  for (const arm of ARMS) {
    // o: outward along the arm; r: right of inbound travel (inbound travel is -o).
    const o = { x: Math.sin(arm.heading * rad), y: Math.cos(arm.heading * rad) };
    const r = { x: -o.y, y: o.x };
    const at = (along: number, lateral: number) => ll(o.x * along + r.x * lateral, o.y * along + r.y * lateral);
    const approach = { id: arm.id, name: arm.name, heading: arm.heading };
    const common = { kind: 'vehicle', approach, widthM: w, speedLimitKmh: L.speedLimitKmh };
    for (const slot of [1, 2] as const) {
      const lateral = (slot - 0.5) * w;
      const maneuvers: Maneuver[] = slot === 1 ? (arm.egressLanes === 2 ? ['left', 'straight'] : ['left']) : ['straight', 'right'];
      features.push({
        type: 'Feature',
        properties: {
          laneId: laneId(arm.id, slot),
          name: `${arm.name} in ${slot === 1 ? 'inner' : 'outer'}`,
          ...common,
          direction: 'ingress',
          maneuvers,
          connectsTo: maneuvers.map((m) => ({ lane: egressFor(target(arm.id, m), m, slot), maneuver: m, signalGroup: arm.signalGroup })),
        },
        geometry: { type: 'LineString', coordinates: [at(L.armLengthM, lateral), at(L.stopLineM + 30, lateral), at(L.stopLineM, lateral)] },
      });
    }
    for (let k = 0; k < arm.egressLanes; k++) {
      const slot = k === 0 ? 5 : 6;
      const lateral = -(k + 0.5) * w;
      features.push({
        type: 'Feature',
        properties: { laneId: laneId(arm.id, slot), name: `${arm.name} out ${k === 0 ? 'inner' : 'outer'}`, ...common, direction: 'egress' },
        geometry: { type: 'LineString', coordinates: [at(L.stopLineM, lateral), at(L.stopLineM + 30, lateral), at(L.armLengthM, lateral)] },
      });
    }
    // Crosswalk across the arm, drawn from the right curb (ingress side) to the left one.
    const right = 2 * w + L.crosswalkOverhangM;
    const left = -arm.egressLanes * w - L.crosswalkOverhangM;
    features.push({
      type: 'Feature',
      properties: {
        laneId: laneId(arm.id, 9),
        name: `${arm.name} crosswalk`,
        kind: 'crosswalk',
        direction: 'both',
        approach,
        widthM: L.crosswalkWidthM,
        signalGroup: arm.crosswalkSignalGroup,
      },
      geometry: { type: 'LineString', coordinates: [at(L.crosswalkM, right), at(L.crosswalkM, left)] },
    });
  }
  return { type: 'FeatureCollection', name: 'demo-intersection', features };
}

/** GeoJSON text: one feature per line, for readable diffs. */
export function demoIntersectionText(): string {
  const fc = buildDemoIntersection();
  return `{\n"type": "FeatureCollection",\n"name": ${JSON.stringify(fc.name)},\n"features": [\n${fc.features.map((f) => JSON.stringify(f)).join(',\n')}\n]\n}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.stdout.write(demoIntersectionText());
