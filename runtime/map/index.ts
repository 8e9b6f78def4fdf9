// Lane map: the intersection's lane geometry (GeoJSON in WGS-84 → local ENU metres). See README.md.

export * from './types.js';
export { EnuFrame, WGS84, ecefToGeodetic, geodeticToEcef, type GeoPoint, type Xyz } from './enu.js';
export {
  checkSignalGroups,
  DEFAULT_WIDTH_M,
  formatLaneMapIssue,
  intersectionEnd,
  LaneMapError,
  loadLaneMap,
  MAX_DISTANCE_M,
  MIN_LENGTH_M,
  nodesFromIntersection,
  parseLaneMap,
  signalGroupsOf,
  type LaneMapIssue,
  type ParseOptions,
} from './load.js';
export { angleDiffDeg, bearingDeg, connectionCurve, cumulative, headingOf, Path, polylineLength, wrapPi, type P2 } from './geometry.js';
export { buildDemoIntersection, DEMO_LANE_MAP_FILE, DEMO_LAYOUT, demoIntersectionText, demoLaneMapPath } from './demo.js';
