// Exact WGS-84 geodetic <-> ECEF <-> local east-north-up (ENU) conversions.
//
// Written here because runtime/perception/georef.ts did not exist when the lane map was written; when it does,
// the two must agree (test/map-enu.test.ts checks this module against closed-form cases and round trips).
// ENU: x east, y north, z up, metres, tangent plane at the reference position (ellipsoid normal as up).

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

/** WGS-84 ellipsoid. */
export const WGS84 = {
  a: 6378137.0,
  f: 1 / 298.257223563,
} as const;
const A = WGS84.a;
const F = WGS84.f;
const E2 = F * (2 - F); // first eccentricity squared
const B = A * (1 - F);
const EP2 = E2 / (1 - E2); // second eccentricity squared

const RAD = Math.PI / 180;

/** Geodetic (degrees, metres above the ellipsoid) → Earth-centred, Earth-fixed (metres). */
export function geodeticToEcef(lat: number, lon: number, h: number): Xyz {
  const phi = lat * RAD;
  const lam = lon * RAD;
  const s = Math.sin(phi);
  const c = Math.cos(phi);
  const n = A / Math.sqrt(1 - E2 * s * s);
  return { x: (n + h) * c * Math.cos(lam), y: (n + h) * c * Math.sin(lam), z: (n * (1 - E2) + h) * s };
}

/**
 * ECEF → geodetic. Bowring's initial value refined with Newton-like iterations of the exact relation: converges
 * to below 1e-12 rad and 1e-6 m in 2-3 iterations for any point above a few km below the surface.
 */
export function ecefToGeodetic(x: number, y: number, z: number): GeoPoint {
  const lon = Math.atan2(y, x);
  const p = Math.hypot(x, y);
  if (p < 1e-6) {
    // On the polar axis.
    return { lat: z >= 0 ? 90 : -90, lon: 0, elevation: Math.abs(z) - B };
  }
  // Bowring's parametric-latitude start.
  const beta0 = Math.atan2(z * A, p * B);
  let phi = Math.atan2(z + EP2 * B * Math.sin(beta0) ** 3, p - E2 * A * Math.cos(beta0) ** 3);
  for (let i = 0; i < 5; i++) {
    const beta = Math.atan2((1 - F) * Math.sin(phi), Math.cos(phi));
    const next = Math.atan2(z + EP2 * B * Math.sin(beta) ** 3, p - E2 * A * Math.cos(beta) ** 3);
    const done = Math.abs(next - phi) < 1e-14;
    phi = next;
    if (done) break;
  }
  const s = Math.sin(phi);
  const n = A / Math.sqrt(1 - E2 * s * s);
  // Height, well conditioned at all latitudes.
  const h = p * Math.cos(phi) + z * s - (A * A) / n;
  return { lat: phi / RAD, lon: lon / RAD, elevation: h };
}

/** A local east-north-up frame at a WGS-84 reference position. */
export class EnuFrame {
  readonly origin: Xyz;
  /** Rows: east, north, up unit vectors in ECEF. */
  private readonly r: [Xyz, Xyz, Xyz];

  constructor(readonly reference: GeoPoint) {
    if (!Number.isFinite(reference.lat) || !Number.isFinite(reference.lon) || Math.abs(reference.lat) > 90 || Math.abs(reference.lon) > 180)
      throw new RangeError(`bad reference position ${JSON.stringify(reference)}`);
    this.origin = geodeticToEcef(reference.lat, reference.lon, reference.elevation ?? 0);
    const phi = reference.lat * RAD;
    const lam = reference.lon * RAD;
    const [sp, cp, sl, cl] = [Math.sin(phi), Math.cos(phi), Math.sin(lam), Math.cos(lam)];
    this.r = [
      { x: -sl, y: cl, z: 0 },
      { x: -sp * cl, y: -sp * sl, z: cp },
      { x: cp * cl, y: cp * sl, z: sp },
    ];
  }

  /** WGS-84 → ENU metres. Elevation defaults to the reference's (a point on the reference's height surface). */
  toEnu(lat: number, lon: number, elevation = this.reference.elevation): Xyz {
    const p = geodeticToEcef(lat, lon, elevation);
    const d = { x: p.x - this.origin.x, y: p.y - this.origin.y, z: p.z - this.origin.z };
    const [e, n, u] = this.r;
    return {
      x: e.x * d.x + e.y * d.y + e.z * d.z,
      y: n.x * d.x + n.y * d.y + n.z * d.z,
      z: u.x * d.x + u.y * d.y + u.z * d.z,
    };
  }

  /** ENU metres → WGS-84. */
  toGeo(x: number, y: number, z = 0): GeoPoint {
    const [e, n, u] = this.r;
    return ecefToGeodetic(
      this.origin.x + e.x * x + n.x * y + u.x * z,
      this.origin.y + e.y * x + n.y * y + u.y * z,
      this.origin.z + e.z * x + n.z * y + u.z * z,
    );
  }
}
