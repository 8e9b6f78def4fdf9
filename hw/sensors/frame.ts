// The detection frame model handed to the perception stage.

import type { SensorKind } from '../../runtime/config/types.js';

/** Object classes; the index of each is its value in the protobuf enum ObjectClass (detections.proto). */
export const OBJECT_CLASSES = [
  'unknown',
  'car',
  'van',
  'truck',
  'trailer',
  'bus',
  'motorcycle',
  'bicycle',
  'pedestrian',
  'emergency_vehicle',
  'animal',
  'other',
] as const;
export type ObjectClass = (typeof OBJECT_CLASSES)[number];

/** Oriented 3D box in the sensor frame: center (m), size (m), heading about z (rad). */
export interface Box3D {
  x: number;
  y: number;
  z: number;
  length: number;
  width: number;
  height: number;
  yaw: number;
}

/** 2D box in image pixels: top-left corner and size. */
export interface Box2D {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface DetectedObject {
  /** Sensor-local track or detection id. */
  id: number;
  classification: ObjectClass;
  /** 0..1. */
  confidence: number;
  /** Lidar and radar detections. */
  box3d?: Box3D;
  /** Camera detections. */
  box2d?: Box2D;
  /** m/s in the sensor frame. */
  velocity?: Vec3;
  /** Row-major 3x3, m². */
  positionCovariance?: number[];
  /** Row-major 3x3, (m/s)². */
  velocityCovariance?: number[];
}

/** A frame as a sensor sends it. */
export interface DetectionFrameInput {
  sensorId: string;
  /** Capture time, ns since the Unix epoch in the sensor's clock; 0n when the sensor has no clock. */
  captureTimeNs: bigint;
  frameNumber: number;
  objects: DetectedObject[];
}

/** A frame accepted by the ingest stage, placed on the RSU timeline. Plain numbers only (JSON-safe). */
export interface DetectionFrame {
  sensorId: string;
  sensorKind: SensorKind;
  frameNumber: number;
  /** Capture time as the sensor sent it, ms since the epoch in the sensor's clock; 0 when it sent none. */
  sensorTimeMs: number;
  /**
   * Capture time on the RSU timeline: ms since the Unix epoch in the RSU's clock, after the sensor's clock
   * offset and latency from the config (fractional ms kept). Frames of all sensors compare on this value.
   */
  timeMs: number;
  /** Arrival time at the RSU, same clock. */
  receivedMs: number;
  objects: DetectedObject[];
}
