// Ground truth of the simulated world: what a perfect sensor would report, in local ENU metres.

import type { Light } from './signals.js';

export const ROAD_USER_CLASSES = ['car', 'van', 'truck', 'bus', 'bicycle', 'pedestrian'] as const;
export type RoadUserClass = (typeof ROAD_USER_CLASSES)[number];

export interface Size {
  length: number;
  width: number;
  height: number;
}

export interface TruthObject {
  /** Unique within the scenario, never reused. */
  id: number;
  /** Class names are those of hw/sensors OBJECT_CLASSES. */
  class: RoadUserClass;
  /** Centre of the 3D box, local ENU metres (x east, y north, z up; the ground is z = 0). */
  position: { x: number; y: number; z: number };
  /** m/s, ENU. */
  velocity: { x: number; y: number; z: number };
  /** Direction of the box's length axis (and of travel): radians counter-clockwise from east. */
  heading: number;
  speed: number;
  size: Size;
  /** Vehicles and cyclists: the route they follow. */
  route?: {
    ingressLane: number;
    egressLane: number;
    maneuver: string;
    signalGroup?: number;
    /** Front of the vehicle to the stop line along the route, metres: positive before it, negative past it. */
    toStopLineM: number;
  };
  /** Pedestrians: what they are doing, the crosswalk (lane id) they use, and its signal group. */
  pedestrian?: {
    state: 'approach' | 'wait' | 'cross' | 'leave';
    crosswalk?: number;
    signalGroup?: number;
    /** Crossing away from a crosswalk, between stopped vehicles. */
    jaywalk: boolean;
  };
}

export interface TruthTick {
  /** Seconds since the scenario start (negative during warm-up). */
  tS: number;
  /** Unix time, ns (the clock the sensors stamp their frames with, before their offsets). */
  timeNs: bigint;
  objects: TruthObject[];
  /** Light of each signal group. */
  signals: Record<number, Light>;
}
