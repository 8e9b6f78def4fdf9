// Georeferencing: sensor frame → station frame (sensor pose) → local east-north-up (rsu.stationFrame) → WGS-84
// (rsu.reference), and back. Exact ellipsoid math: geodetic ↔ ECEF in closed form (Vermeille 2011 for the inverse,
// valid everywhere including inside the evolute near the Earth's centre), ECEF ↔ ENU by rotation. No flat-Earth
// or small-angle approximation anywhere.
//
// Conventions:
// - Geodetic positions are `GeoPosition` (degrees, metres above the ellipsoid), longitudes normalised to
//   [-180, 180).
// - The local frame ("local", "ENU") is east-north-up at `rsu.reference`: x east, y north, z up, metres.
// - Yaw is counter-clockwise from the local x (east) axis, radians. Heading is degrees clockwise from north,
//   [0, 360). `trueHeadingDeg` measures it from true north at the object's own position (not the reference's).

import type { GeoPosition, Pose } from '../../runtime/config/types.js';

const RAD = Math.PI / 180;
const DEG = 180 / Math.PI;

/** An ellipsoid of revolution: semi-major axis (m) and flattening. */
export interface Ellipsoid {
  a: number;
  f: number;
}

/** WGS-84 defining parameters (NGA.STND.0036). */
export const WGS84: Ellipsoid = { a: 6378137, f: 1 / 298.257223563 };
/** GRS 80 (NAD 83, ETRS89): the same a, a flattening differing by 1.6e-12 (a 0.1 mm difference in b). */
export const GRS80: Ellipsoid = { a: 6378137, f: 1 / 298.257222101 };

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/** Earth-centred, Earth-fixed Cartesian coordinates, metres. */
export type Ecef = Vec3;

/** Geodetic (degrees, metres) → ECEF. */
export function geodeticToEcef(p: GeoPosition, ell: Ellipsoid = WGS84): Ecef {
  const e2 = ell.f * (2 - ell.f);
  const phi = p.lat * RAD;
  const lam = p.lon * RAD;
  const sphi = Math.sin(phi);
  const cphi = Math.cos(phi);
  const n = ell.a / Math.sqrt(1 - e2 * sphi * sphi);
  const r = (n + p.elevation) * cphi;
  return { x: r * Math.cos(lam), y: r * Math.sin(lam), z: (n * (1 - e2) + p.elevation) * sphi };
}

/**
 * ECEF → geodetic, in closed form: H. Vermeille, "An analytical method to transform geocentric into geodetic
 * coordinates", J. Geodesy 85 (2011) 105-117, including its branch for points inside the evolute (within ~43 km
 * of the Earth's centre, where the geodetic coordinates are not unique). Accurate to well under a micrometre for
 * points near the surface. Longitude in [-180, 180).
 */
export function ecefToGeodetic(e: Ecef, ell: Ellipsoid = WGS84): GeoPosition {
  const a = ell.a;
  const e2 = ell.f * (2 - ell.f);
  const e4 = e2 * e2;
  const { x, y, z } = e;
  const w2 = x * x + y * y;
  const w = Math.sqrt(w2);
  const lon = normalizeLon(Math.atan2(y, x) * DEG);
  if (z === 0 && w <= a * e2) {
    // In the equatorial plane inside the evolute the formula below is 0/0. There the normals through the point
    // come from latitudes ±φ with w = e²·N(φ)·cos φ; take the northern one (as GeographicLib does), h = -N(1-e²).
    const c2 = (w2 * (1 - e2)) / (e2 * (e2 * a * a - w2));
    const phi = Math.acos(Math.min(1, Math.sqrt(c2)));
    const s = Math.sin(phi);
    const n = a / Math.sqrt(1 - e2 * s * s);
    return { lat: phi * DEG, lon, elevation: -n * (1 - e2) };
  }
  const p = w2 / (a * a);
  const q = ((1 - e2) * z * z) / (a * a);
  const r = (p + q - e4) / 6;
  const border = 8 * r * r * r + e4 * p * q; // sign tells outside (>0) or inside (<0) the evolute
  let u: number;
  if (border > 0) {
    const rad1 = Math.sqrt(border);
    const rad2 = Math.sqrt(e4 * p * q);
    if (border > 10 * e2) {
      const rad3 = Math.cbrt((rad1 + rad2) * (rad1 + rad2));
      u = r + 0.5 * rad3 + (2 * r * r) / rad3;
    } else {
      u = r + 0.5 * Math.cbrt((rad1 + rad2) * (rad1 + rad2)) + 0.5 * Math.cbrt((rad1 - rad2) * (rad1 - rad2));
    }
  } else {
    const rad1 = Math.sqrt(-border);
    const rad2 = Math.sqrt(-8 * r * r * r);
    const rad3 = Math.sqrt(e4 * p * q);
    const t = (2 / 3) * Math.atan2(rad3, rad1 + rad2);
    u = -4 * r * Math.sin(t) * Math.cos(Math.PI / 6 + t);
  }
  const v = Math.sqrt(u * u + e4 * q);
  const ww = (e2 * (u + v - q)) / (2 * v);
  const k = (u + v) / (Math.sqrt(ww * ww + u + v) + ww);
  const d = (k * w) / (k + e2);
  const dz = Math.sqrt(d * d + z * z);
  const h = ((k + e2 - 1) * dz) / k;
  const lat = 2 * Math.atan2(z, dz + d) * DEG;
  return { lat, lon, elevation: h };
}

/** √(a² + b²) without Math.hypot, which allocates on every call in V8 (no overflow care needed here). */
export function hyp2(a: number, b: number): number {
  return Math.sqrt(a * a + b * b);
}

/** √(a² + b² + c²), likewise. */
export function hyp3(a: number, b: number, c: number): number {
  return Math.sqrt(a * a + b * b + c * c);
}

/** Longitude in degrees folded into [-180, 180). */
export function normalizeLon(lon: number): number {
  if (lon >= -180 && lon < 180) return lon;
  const l = ((((lon + 180) % 360) + 360) % 360) - 180;
  return l;
}

/** Angle in degrees folded into [0, 360). */
export function normalizeDeg360(d: number): number {
  const r = ((d % 360) + 360) % 360;
  return r === 360 ? 0 : r;
}

/** Angle in radians folded into (-π, π]. */
export function wrapPi(a: number): number {
  if (a > -Math.PI && a <= Math.PI) return a;
  const r = a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
  return r <= -Math.PI ? r + 2 * Math.PI : r;
}

/** Local yaw (radians, counter-clockwise from east) → heading (degrees clockwise from north, [0, 360)). */
export function yawToHeadingDeg(yaw: number): number {
  return normalizeDeg360(90 - yaw * DEG);
}

/** Heading (degrees clockwise from north) → local yaw (radians counter-clockwise from east, (-π, π]). */
export function headingDegToYaw(headingDeg: number): number {
  return wrapPi((90 - headingDeg) * RAD);
}

/**
 * A local east-north-up frame at a geodetic origin. The rotation ECEF → ENU is
 * [-sinλ cosλ 0; -sinφcosλ -sinφsinλ cosφ; cosφcosλ cosφsinλ sinφ].
 */
export class EnuFrame {
  readonly originEcef: Ecef;
  /** Rows: the east, north and up unit vectors in ECEF. */
  private readonly r: Float64Array;

  constructor(
    readonly origin: GeoPosition,
    readonly ellipsoid: Ellipsoid = WGS84,
  ) {
    if (![origin.lat, origin.lon, origin.elevation].every(Number.isFinite) || Math.abs(origin.lat) > 90)
      throw new RangeError(`invalid ENU origin ${JSON.stringify(origin)}`);
    this.originEcef = geodeticToEcef(origin, ellipsoid);
    this.r = enuRotation(origin.lat, origin.lon);
  }

  /** ECEF → ENU. */
  fromEcef(e: Ecef): Vec3 {
    const dx = e.x - this.originEcef.x;
    const dy = e.y - this.originEcef.y;
    const dz = e.z - this.originEcef.z;
    const r = this.r;
    return {
      x: r[0]! * dx + r[1]! * dy + r[2]! * dz,
      y: r[3]! * dx + r[4]! * dy + r[5]! * dz,
      z: r[6]! * dx + r[7]! * dy + r[8]! * dz,
    };
  }

  /** ENU → ECEF. */
  toEcef(p: Vec3): Ecef {
    const r = this.r;
    return {
      x: this.originEcef.x + r[0]! * p.x + r[3]! * p.y + r[6]! * p.z,
      y: this.originEcef.y + r[1]! * p.x + r[4]! * p.y + r[7]! * p.z,
      z: this.originEcef.z + r[2]! * p.x + r[5]! * p.y + r[8]! * p.z,
    };
  }

  /** An ENU direction (no translation) → ECEF. */
  vectorToEcef(v: Vec3): Vec3 {
    const r = this.r;
    return {
      x: r[0]! * v.x + r[3]! * v.y + r[6]! * v.z,
      y: r[1]! * v.x + r[4]! * v.y + r[7]! * v.z,
      z: r[2]! * v.x + r[5]! * v.y + r[8]! * v.z,
    };
  }

  fromGeodetic(g: GeoPosition): Vec3 {
    return this.fromEcef(geodeticToEcef(g, this.ellipsoid));
  }

  toGeodetic(p: Vec3): GeoPosition {
    return ecefToGeodetic(this.toEcef(p), this.ellipsoid);
  }
}

/** Row-major rotation ECEF → ENU at (lat, lon) in degrees. */
export function enuRotation(latDeg: number, lonDeg: number): Float64Array {
  const sphi = Math.sin(latDeg * RAD);
  const cphi = Math.cos(latDeg * RAD);
  const slam = Math.sin(lonDeg * RAD);
  const clam = Math.cos(lonDeg * RAD);
  return Float64Array.of(-slam, clam, 0, -sphi * clam, -sphi * slam, cphi, cphi * clam, cphi * slam, sphi);
}

/** A rigid transform p' = R·p + t; R row-major. */
export class RigidTransform {
  constructor(
    readonly r: Float64Array,
    readonly t: Float64Array,
  ) {}

  static identity(): RigidTransform {
    return new RigidTransform(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), new Float64Array(3));
  }

  /** The body → parent transform of a pose (config convention: Rz(yaw)·Ry(pitch)·Rx(roll), degrees). */
  static fromPose(p: Pose): RigidTransform {
    const [cr, sr] = [Math.cos(p.roll * RAD), Math.sin(p.roll * RAD)];
    const [cp, sp] = [Math.cos(p.pitch * RAD), Math.sin(p.pitch * RAD)];
    const [cy, sy] = [Math.cos(p.yaw * RAD), Math.sin(p.yaw * RAD)];
    return new RigidTransform(
      Float64Array.of(
        cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
        sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
        -sp, cp * sr, cp * cr,
      ),
      Float64Array.of(p.x, p.y, p.z),
    );
  }

  /** this ∘ other: first `other`, then `this`. */
  compose(other: RigidTransform): RigidTransform {
    const a = this.r;
    const b = other.r;
    const r = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!;
    const t = other.t;
    const tt = Float64Array.of(
      a[0]! * t[0]! + a[1]! * t[1]! + a[2]! * t[2]! + this.t[0]!,
      a[3]! * t[0]! + a[4]! * t[1]! + a[5]! * t[2]! + this.t[1]!,
      a[6]! * t[0]! + a[7]! * t[1]! + a[8]! * t[2]! + this.t[2]!,
    );
    return new RigidTransform(r, tt);
  }

  inverse(): RigidTransform {
    const r = this.r;
    const ri = Float64Array.of(r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!);
    const t = this.t;
    return new RigidTransform(
      ri,
      Float64Array.of(
        -(ri[0]! * t[0]! + ri[1]! * t[1]! + ri[2]! * t[2]!),
        -(ri[3]! * t[0]! + ri[4]! * t[1]! + ri[5]! * t[2]!),
        -(ri[6]! * t[0]! + ri[7]! * t[1]! + ri[8]! * t[2]!),
      ),
    );
  }

  apply(p: Vec3): Vec3 {
    const r = this.r;
    return {
      x: r[0]! * p.x + r[1]! * p.y + r[2]! * p.z + this.t[0]!,
      y: r[3]! * p.x + r[4]! * p.y + r[5]! * p.z + this.t[1]!,
      z: r[6]! * p.x + r[7]! * p.y + r[8]! * p.z + this.t[2]!,
    };
  }

  /** Rotates a direction (no translation). */
  applyVector(v: Vec3): Vec3 {
    const r = this.r;
    return {
      x: r[0]! * v.x + r[1]! * v.y + r[2]! * v.z,
      y: r[3]! * v.x + r[4]! * v.y + r[5]! * v.z,
      z: r[6]! * v.x + r[7]! * v.y + r[8]! * v.z,
    };
  }

  /**
   * A yaw about this frame's z axis (the body's heading in its own horizontal plane) → the yaw of the same
   * direction projected on the parent's horizontal plane. NaN when the direction is vertical in the parent.
   */
  applyYaw(yaw: number): number {
    const c = Math.cos(yaw);
    const s = Math.sin(yaw);
    const r = this.r;
    const dx = r[0]! * c + r[1]! * s;
    const dy = r[3]! * c + r[4]! * s;
    if (Math.abs(dx) < 1e-12 && Math.abs(dy) < 1e-12) return NaN;
    return Math.atan2(dy, dx);
  }

  /** R·C·Rᵀ of a row-major 3x3 covariance. */
  rotateCovariance(c: ArrayLike<number>): Float64Array {
    const r = this.r;
    const rc = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) rc[i * 3 + j] = r[i * 3]! * c[j]! + r[i * 3 + 1]! * c[3 + j]! + r[i * 3 + 2]! * c[6 + j]!;
    const out = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) out[i * 3 + j] = rc[i * 3]! * r[j * 3]! + rc[i * 3 + 1]! * r[j * 3 + 1]! + rc[i * 3 + 2]! * r[j * 3 + 2]!;
    return out;
  }
}

/**
 * The site's chain of frames: sensor → station (sensor pose) → local ENU (rsu.stationFrame) → WGS-84
 * (rsu.reference). Build one per configuration and reuse it.
 */
export class Georef {
  readonly enu: EnuFrame;
  /** Station frame → local ENU. */
  readonly stationToLocal: RigidTransform;
  readonly localToStation: RigidTransform;

  constructor(reference: GeoPosition, stationFrame: Pose, ellipsoid: Ellipsoid = WGS84) {
    this.enu = new EnuFrame(reference, ellipsoid);
    this.stationToLocal = RigidTransform.fromPose(stationFrame);
    this.localToStation = this.stationToLocal.inverse();
  }

  /** Sensor body frame → local ENU for a sensor pose given in the station frame. */
  sensorToLocal(sensorPose: Pose): RigidTransform {
    return this.stationToLocal.compose(RigidTransform.fromPose(sensorPose));
  }

  localToGeodetic(p: Vec3): GeoPosition {
    return this.enu.toGeodetic(p);
  }

  geodeticToLocal(g: GeoPosition): Vec3 {
    return this.enu.fromGeodetic(g);
  }

  stationToGeodetic(p: Vec3): GeoPosition {
    return this.enu.toGeodetic(this.stationToLocal.apply(p));
  }

  geodeticToStation(g: GeoPosition): Vec3 {
    return this.localToStation.apply(this.enu.fromGeodetic(g));
  }

  /**
   * Heading (degrees clockwise from true north at `at`, [0, 360)) of the horizontal local direction `yaw`
   * (radians from local east) at the local point `at` whose geodetic position is `geo`. Differs from
   * `yawToHeadingDeg(yaw)` by the convergence of the meridians between the reference and `at` (about 0.01° at
   * 1 km east of the reference at 48° latitude).
   */
  trueHeadingDeg(yaw: number, geo: GeoPosition): number {
    const d = this.enu.vectorToEcef({ x: Math.cos(yaw), y: Math.sin(yaw), z: 0 });
    const r = enuRotation(geo.lat, geo.lon);
    const east = r[0]! * d.x + r[1]! * d.y + r[2]! * d.z;
    const north = r[3]! * d.x + r[4]! * d.y + r[5]! * d.z;
    return normalizeDeg360(Math.atan2(east, north) * DEG);
  }

  /** Inverse of trueHeadingDeg: local yaw (radians) of a heading measured from true north at `geo`. */
  yawFromTrueHeading(headingDeg: number, geo: GeoPosition): number {
    const h = headingDeg * RAD;
    const ch = Math.cos(h);
    const sh = Math.sin(h);
    // M = R_point · R_refᵀ maps local (reference ENU) directions to ENU at the point. The horizontal local
    // direction (c, s, 0) has east/north there e = M00 c + M01 s, n = M10 c + M11 s; it has heading h when
    // e·cos h − n·sin h = 0 and e·sin h + n·cos h > 0.
    const rp = enuRotation(geo.lat, geo.lon);
    const col = (j: 0 | 1) => this.enu.vectorToEcef(j === 0 ? { x: 1, y: 0, z: 0 } : { x: 0, y: 1, z: 0 });
    const c0 = col(0);
    const c1 = col(1);
    const m00 = rp[0]! * c0.x + rp[1]! * c0.y + rp[2]! * c0.z;
    const m01 = rp[0]! * c1.x + rp[1]! * c1.y + rp[2]! * c1.z;
    const m10 = rp[3]! * c0.x + rp[4]! * c0.y + rp[5]! * c0.z;
    const m11 = rp[3]! * c1.x + rp[4]! * c1.y + rp[5]! * c1.z;
    const a = m00 * ch - m10 * sh;
    const b = m01 * ch - m11 * sh;
    let c = b;
    let s = -a;
    const e = m00 * c + m01 * s;
    const n = m10 * c + m11 * s;
    if (e * sh + n * ch < 0) {
      c = -c;
      s = -s;
    }
    return Math.atan2(s, c);
  }
}
