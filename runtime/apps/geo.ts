// Positions in V2X units: 1e-7 degree, 0.1 m elevation, and offsets from a reference position.

export interface LatLon {
  lat: number;
  lon: number;
  elevation?: number;
}

export const ELEVATION_UNKNOWN = -4096;

export function deg7(deg: number): number {
  return Math.round(deg * 1e7);
}

/** Position3D (CSAE and J2735 share it): lat/long in 1e-7 degree, elevation in 0.1 m. */
export function position3D(p: LatLon): { lat: number; long: number; elevation?: number } {
  const out: { lat: number; long: number; elevation?: number } = { lat: deg7(p.lat), long: deg7(p.lon) };
  if (p.elevation !== undefined && Number.isFinite(p.elevation)) out.elevation = Math.max(-4095, Math.min(61439, Math.round(p.elevation * 10)));
  return out;
}

const LL_FORMS: [string, number][] = [
  ['position-LL1', 2047],
  ['position-LL2', 8191],
  ['position-LL3', 32767],
  ['position-LL4', 131071],
  ['position-LL5', 2097151],
  ['position-LL6', 8388607],
];

/** CSAE PositionOffsetLL: the smallest form that holds the offset, else the absolute position. */
export function offsetLL(p: LatLon, ref: LatLon): Record<string, { lon: number; lat: number }> {
  const dlat = deg7(p.lat) - deg7(ref.lat);
  const dlon = deg7(p.lon) - deg7(ref.lon);
  const fits = (v: number, max: number) => v >= -(max + 1) && v <= max;
  for (const [alt, max] of LL_FORMS) if (fits(dlat, max) && fits(dlon, max)) return { [alt]: { lon: dlon, lat: dlat } };
  return { 'position-LatLon': { lon: deg7(p.lon), lat: deg7(p.lat) } };
}

const V_FORMS: [string, number][] = [
  ['offset1', 63],
  ['offset2', 127],
  ['offset3', 255],
  ['offset4', 511],
  ['offset5', 1023],
  ['offset6', 2047],
];

/** CSAE VerticalOffset in 0.1 m (the smallest form), or undefined when either elevation is unknown. */
export function verticalOffset(p: LatLon, ref: LatLon): Record<string, number> | undefined {
  if (p.elevation === undefined || ref.elevation === undefined || !Number.isFinite(p.elevation)) return undefined;
  const d = Math.round((p.elevation - ref.elevation) * 10);
  for (const [alt, max] of V_FORMS) if (d >= -(max + 1) && d <= max) return { [alt]: d };
  return { elevation: Math.max(-4095, Math.min(61439, Math.round(p.elevation * 10))) };
}
