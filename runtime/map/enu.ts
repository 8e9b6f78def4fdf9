// WGS-84 geodetic <-> ECEF <-> local east-north-up (ENU) for the lane map: a thin adapter over the perception
// stage's georeferencing (runtime/perception/georef.ts: exact ellipsoid math, Vermeille's closed-form inverse), so
// that lanes and tracks are placed by the same code. ENU: x east, y north, z up, metres, tangent plane at the
// reference position (ellipsoid normal as up).

import {
  ecefToGeodetic as ecefToGeo,
  EnuFrame as GeorefEnuFrame,
  geodeticToEcef as geoToEcef,
  WGS84 as WGS84_ELLIPSOID,
} from '../perception/georef.js';

/** WGS-84 position: degrees, metres above the ellipsoid. */
export interface GeoPoint {
  lat: number;
  lon: number;
  elevation: number;
}

export interface Xyz {
  x: number;
  y: number;
  z: number;
}

/** WGS-84 ellipsoid: semi-major axis (m) and flattening. */
export const WGS84: { readonly a: number; readonly f: number } = WGS84_ELLIPSOID;

/** Geodetic (degrees, metres above the ellipsoid) → Earth-centred, Earth-fixed (metres). */
export function geodeticToEcef(lat: number, lon: number, h: number): Xyz {
  return geoToEcef({ lat, lon, elevation: h });
}

/** ECEF → geodetic (closed form; longitude in [-180, 180)). */
export function ecefToGeodetic(x: number, y: number, z: number): GeoPoint {
  return ecefToGeo({ x, y, z });
}

/** A local east-north-up frame at a WGS-84 reference position. */
export class EnuFrame {
  /** The reference in ECEF. */
  readonly origin: Xyz;
  private readonly frame: GeorefEnuFrame;

  constructor(readonly reference: GeoPoint) {
    if (!Number.isFinite(reference.lat) || !Number.isFinite(reference.lon) || Math.abs(reference.lat) > 90 || Math.abs(reference.lon) > 180)
      throw new RangeError(`bad reference position ${JSON.stringify(reference)}`);
    this.frame = new GeorefEnuFrame({ lat: reference.lat, lon: reference.lon, elevation: reference.elevation ?? 0 });
    this.origin = this.frame.originEcef;
  }

  /** WGS-84 → ENU metres. Elevation defaults to the reference's (a point on the reference's height surface). */
  toEnu(lat: number, lon: number, elevation = this.reference.elevation): Xyz {
    return this.frame.fromGeodetic({ lat, lon, elevation });
  }

  /** ENU metres → WGS-84. */
  toGeo(x: number, y: number, z = 0): GeoPoint {
    return this.frame.toGeodetic({ x, y, z });
  }
}
