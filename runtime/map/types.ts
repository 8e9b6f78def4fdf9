// The lane map: an intersection's lanes in local east-north-up metres, as loaded from GeoJSON (see README.md).

import type { GeoPoint, Xyz } from './enu.js';

export const LANE_KINDS = ['vehicle', 'bike', 'crosswalk', 'sidewalk'] as const;
export type LaneKind = (typeof LANE_KINDS)[number];

/** ingress: traffic towards the intersection; egress: away from it; both: crosswalks and sidewalks. */
export const LANE_DIRECTIONS = ['ingress', 'egress', 'both'] as const;
export type LaneDirection = (typeof LANE_DIRECTIONS)[number];

export const MANEUVERS = ['straight', 'left', 'right', 'uTurn'] as const;
export type Maneuver = (typeof MANEUVERS)[number];

export interface Approach {
  /** Approach (arm) id, 1-15 (J2735 ApproachID). */
  id: number;
  name?: string;
  /**
   * Compass bearing of the arm seen from the intersection reference, degrees clockwise from north (the north arm
   * is 0, the east arm 90). Informative; the loader warns when the lanes do not lie that way.
   */
  heading?: number;
}

export interface LaneConnection {
  /** Egress lane reached. */
  lane: number;
  maneuver: Maneuver;
  /** Signal group (SPAT phase id) controlling this movement; absent when it is not signalised. */
  signalGroup?: number;
}

export interface Lane {
  /** 1-255, unique in the intersection. */
  laneId: number;
  /** Index of the feature in the GeoJSON FeatureCollection. */
  featureIndex: number;
  kind: LaneKind;
  direction: LaneDirection;
  /** Approach (arm) the lane belongs to; for crosswalks, the arm they cross (optional). */
  approach?: number;
  name?: string;
  widthM: number;
  speedLimitKmh?: number;
  /** Movements allowed from an ingress lane (empty for other lanes). */
  maneuvers: Maneuver[];
  connectsTo: LaneConnection[];
  /** Signal group of a crosswalk (pedestrian signal) or of the lane itself. */
  signalGroup?: number;
  /**
   * Centreline in local ENU metres (x east, y north, z up) relative to the intersection reference, in the order
   * drawn: for ingress and egress lanes the direction of travel, so an ingress lane ends at its stop line and an
   * egress lane starts at the intersection. Consecutive duplicate points are removed.
   */
  points: Xyz[];
  /** The same points in WGS-84 (elevation: the file's, else the reference's). */
  geo: GeoPoint[];
  /** Length of the centreline in the horizontal plane, metres. */
  lengthM: number;
  /** Any other properties of the feature, as in the file. */
  extra: Record<string, unknown>;
}

export interface LaneMap {
  intersectionId: number;
  /** Road regulator region (0 when not used). */
  region: number;
  name?: string;
  /** The reference point: origin of the local ENU frame. */
  reference: GeoPoint;
  approaches: Approach[];
  lanes: Lane[];
  lanesById: ReadonlyMap<number, Lane>;
  /** Doubts that do not prevent using the map. */
  warnings: string[];
  /** The file loaded, when loaded from one. */
  file?: string;
}
