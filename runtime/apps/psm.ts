// J2735 has no RSM (SDSM needs the deployer's J3224 modules): the RSU reports each vulnerable road user its sensors
// see as a Personal Safety Message (MessageFrame messageId 32), with a temporary id that stays the same for the
// track and differs between tracks.
import { createHash } from 'node:crypto';
import { dSecond } from './clock.js';
import { position3D } from './geo.js';
import type { TrackLike } from './rsm.js';

export const PSM_MESSAGE_ID = 32;

const USER_TYPE: Record<string, string> = { pedestrian: 'aPEDESTRIAN', bicycle: 'aPEDALCYCLIST', animal: 'anANIMAL' };

/** Whether a track is a road user J2735 reports with a PSM. */
export function isVulnerable(t: TrackLike): boolean {
  return USER_TYPE[t.classification] !== undefined;
}

/** TemporaryID (4 octets) of a track: derived from the RSU id and the track id, so it is stable and distinct. */
export function psmTemporaryId(rsuIdHex: string, trackId: number): string {
  return createHash('sha256').update(`${rsuIdHex}/${trackId}`).digest('hex').slice(0, 8).toUpperCase();
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

export function buildPsm(t: TrackLike, atMs: number, msgCnt: number, rsuIdHex: string): unknown {
  // PositionalAccuracy: semi-axes in 0.05 m (254: ≥ 12.7 m, 255 unavailable), orientation unknown (65535).
  const axis = Number.isFinite(t.posStdM) ? clamp(Math.round(t.posStdM / 0.05), 0, 254) : 255;
  return {
    messageId: PSM_MESSAGE_ID,
    value: {
      basicType: USER_TYPE[t.classification] ?? 'unavailable',
      secMark: dSecond(atMs),
      msgCnt,
      id: psmTemporaryId(rsuIdHex, t.id),
      position: position3D(t),
      accuracy: { semiMajor: axis, semiMinor: axis, orientation: 65535 },
      speed: Number.isFinite(t.speed) ? clamp(Math.round(t.speed / 0.02), 0, 8190) : 8191,
      heading: Number.isFinite(t.headingDeg) ? Math.round((((t.headingDeg % 360) + 360) % 360) / 0.0125) % 28800 : 28800,
    },
  };
}
