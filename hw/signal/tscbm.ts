// The UDP SPaT broadcast of NTCIP 1202 controllers (Econolite "SPaT blob", called TSCBM in USDOT V2X Hub):
// header 0xCD, phase count, 16 phase blocks of 13 bytes (phase number, then six big-endian u16 tenths of a second
// from now: vehicle min/max, pedestrian min/max, overlap min/max time to change), eleven u16 bit groups (bit n-1 =
// phase n: reds, yellows, greens, don't walks, ped clears, walks, overlap reds/yellows/greens, flashing phase,
// flashing overlap), intersection status, timebase ASC action status, discontinuous change flag, message
// sequence counter, timestamp (hour, minute, second, u16 ms), and in newer firmware pedestrian call and detect
// (u16 each): 241 or 245 bytes. Layout as parsed by V2X Hub's SpatPlugin (NTCIP1202.h) and MMITSS
// (Ntcip1202v2Blob.py, "byte-structure provided in Econolite SPAT Guide").
import { createSocket, type Socket } from 'node:dgram';
import { StateTracker } from './tracker.js';
import type { ControllerHealth, Light, Observation, ObservedPhase, PhaseMapping, SignalController, SignalSnapshot } from './types.js';
import { NORMAL_STATUS, SignalInputError } from './types.js';

export const TSCBM_HEADER = 0xcd;
export const TSCBM_LENGTH = 241;
export const TSCBM_LENGTH_PED = 245;

export interface TscbmPhaseTimes {
  phase: number;
  /** Tenths of a second from the message to the change, as sent (0xFFFF: not reported by some firmware). */
  vehMin: number;
  vehMax: number;
  pedMin: number;
  pedMax: number;
  ovlMin: number;
  ovlMax: number;
}

export interface TscbmGroups {
  reds: number;
  yellows: number;
  greens: number;
  dontWalks: number;
  pedClears: number;
  walks: number;
  overlapReds: number;
  overlapYellows: number;
  overlapGreens: number;
  flashingPhases: number;
  flashingOverlaps: number;
}

export interface Tscbm {
  phaseCount: number;
  phases: TscbmPhaseTimes[];
  groups: TscbmGroups;
  intersectionStatus: number;
  timebaseAscActionStatus: number;
  discontinuousChange: number;
  sequence: number;
  timestamp: { hour: number; minute: number; second: number; ms: number };
  pedCalls?: number;
  pedDetects?: number;
}

export function parseTscbm(buf: Uint8Array): Tscbm {
  if (buf.length < TSCBM_LENGTH) throw new SignalInputError('too-short', `TSCBM datagram of ${buf.length} bytes, expected ${TSCBM_LENGTH} or ${TSCBM_LENGTH_PED}`);
  if (buf.length !== TSCBM_LENGTH && buf.length !== TSCBM_LENGTH_PED) throw new SignalInputError('too-long', `TSCBM datagram of ${buf.length} bytes, expected ${TSCBM_LENGTH} or ${TSCBM_LENGTH_PED}`);
  if (buf[0] !== TSCBM_HEADER) throw new SignalInputError('bad-header', `TSCBM header byte 0x${buf[0]!.toString(16).padStart(2, '0')}, expected 0xcd`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const phaseCount = buf[1]!;
  if (phaseCount > 16) throw new SignalInputError('bad-value', `TSCBM phase count ${phaseCount} > 16`);
  const phases: TscbmPhaseTimes[] = [];
  for (let i = 0; i < 16; i++) {
    const o = 2 + 13 * i;
    const u = (k: number) => v.getUint16(o + 1 + 2 * k);
    const phase = buf[o]!;
    if (phase > 16) throw new SignalInputError('bad-value', `TSCBM phase block ${i + 1} names phase ${phase} (1-16 or 0)`);
    phases.push({ phase, vehMin: u(0), vehMax: u(1), pedMin: u(2), pedMax: u(3), ovlMin: u(4), ovlMax: u(5) });
  }
  const g = (k: number) => v.getUint16(210 + 2 * k);
  const groups: TscbmGroups = {
    reds: g(0), yellows: g(1), greens: g(2), dontWalks: g(3), pedClears: g(4), walks: g(5),
    overlapReds: g(6), overlapYellows: g(7), overlapGreens: g(8), flashingPhases: g(9), flashingOverlaps: g(10),
  };
  const msg: Tscbm = {
    phaseCount,
    phases,
    groups,
    intersectionStatus: buf[232]!,
    timebaseAscActionStatus: buf[233]!,
    discontinuousChange: buf[234]!,
    sequence: buf[235]!,
    timestamp: { hour: buf[236]!, minute: buf[237]!, second: buf[238]!, ms: v.getUint16(239) },
  };
  if (buf.length === TSCBM_LENGTH_PED) {
    msg.pedCalls = v.getUint16(241);
    msg.pedDetects = v.getUint16(243);
  }
  return msg;
}

const bit = (mask: number, n: number) => ((mask >> (n - 1)) & 1) === 1;

/** The light of one controller output from the bit groups; throws when the bits contradict each other. */
function lightOf(r: boolean, y: boolean, g: boolean, what: string): Light | 'dark' {
  const n = Number(r) + Number(y) + Number(g);
  if (n > 1) throw new SignalInputError('inconsistent', `${what} is reported ${[r && 'red', y && 'yellow', g && 'green'].filter(Boolean).join(' and ')} at once`);
  return g ? 'green' : y ? 'yellow' : r ? 'red' : 'dark';
}

/** 0xFFFF (and values beyond the J2735 hour) mean "not reported". */
const tenthsMs = (t: number) => (t >= 36001 ? undefined : t * 100);

/** Observed state of the mapped signal groups. Intersection status bit 7 (0x80) is read as flash, per V2X Hub. */
export function tscbmObservation(m: Tscbm, mapping: PhaseMapping[], atMs: number): Observation {
  const G = m.groups;
  const phases: ObservedPhase[] = [];
  for (const map of mapping) {
    const type = map.type ?? 'vehicle';
    const n = map.phase;
    const times = m.phases.find((p) => p.phase === n);
    let light: Light | 'dark';
    let flashing = false;
    let min: number | undefined;
    let max: number | undefined;
    if (type === 'vehicle') {
      light = lightOf(bit(G.reds, n), bit(G.yellows, n), bit(G.greens, n), `phase ${n}`);
      flashing = bit(G.flashingPhases, n);
      min = times && tenthsMs(times.vehMin);
      max = times && tenthsMs(times.vehMax);
    } else if (type === 'pedestrian') {
      // don't walk → red, ped clear → yellow (flashing don't walk), walk → green
      light = lightOf(bit(G.dontWalks, n), bit(G.pedClears, n), bit(G.walks, n), `pedestrian phase ${n}`);
      min = times && tenthsMs(times.pedMin);
      max = times && tenthsMs(times.pedMax);
    } else {
      light = lightOf(bit(G.overlapReds, n), bit(G.overlapYellows, n), bit(G.overlapGreens, n), `overlap ${n}`);
      flashing = bit(G.flashingOverlaps, n);
      min = times && tenthsMs(times.ovlMin);
      max = times && tenthsMs(times.ovlMax);
    }
    if (min !== undefined && max !== undefined && max < min) max = undefined; // max below min: not a usable bound
    const flash = (m.intersectionStatus & 0x80) !== 0;
    phases.push({
      signalGroup: map.signalGroup,
      light: light === 'dark' ? 'red' : light,
      display: light === 'dark' ? 'dark' : flashing ? 'flashing' : 'steady',
      // in flash or dark there is no countdown to announce
      ...(light === 'dark' || flashing || flash ? {} : { minEndInMs: min, maxEndInMs: max }),
    });
  }
  return {
    atMs,
    phases,
    status: {
      ...NORMAL_STATUS,
      flash: (m.intersectionStatus & 0x80) !== 0 || G.flashingPhases !== 0,
      dark: phases.length > 0 && phases.every((p) => p.display === 'dark'),
      // byte 234 (spatDiscontinuousChangeFlag in V2X Hub) is 8 in both public captures; its meaning is not
      // documented publicly, so it is kept in Tscbm.discontinuousChange but not interpreted.
    },
  };
}

export interface TscbmOptions {
  /** UDP port the controller sends to (V2X Hub default 6053). */
  port: number;
  host?: string;
  mapping: PhaseMapping[];
  /** Default 1000 ms: TSCBM comes at 10 Hz, so ten lost datagrams. */
  staleAfterMs?: number;
  /** Only accept datagrams from this address. */
  controllerAddress?: string;
  now?: () => number;
}

export class TscbmController implements SignalController {
  private sock?: Socket;
  readonly tracker: StateTracker;
  private lastSeq?: number;
  private readonly now: () => number;
  port = 0;

  constructor(private readonly o: TscbmOptions) {
    this.now = o.now ?? Date.now;
    this.tracker = new StateTracker({ source: `tscbm udp/${o.port}`, staleAfterMs: o.staleAfterMs ?? 1000, now: this.now });
  }

  /** Feed one datagram (the UDP listener does this; tests may call it). Throws SignalInputError on garbage. */
  ingest(buf: Uint8Array, atMs = this.now()): void {
    try {
      const m = parseTscbm(buf);
      this.lastSeq = m.sequence;
      this.tracker.update(tscbmObservation(m, this.o.mapping, atMs));
    } catch (e) {
      throw this.tracker.error(e, atMs);
    }
  }

  async start(): Promise<void> {
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    this.sock = sock;
    sock.on('message', (msg, rinfo) => {
      if (this.o.controllerAddress && rinfo.address !== this.o.controllerAddress) return;
      try {
        this.ingest(msg);
      } catch {
        /* counted in health() */
      }
    });
    sock.on('error', (e) => this.tracker.error(new SignalInputError('socket-error', e.message)));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.o.port, this.o.host ?? '0.0.0.0', () => {
        sock.off('error', reject);
        this.port = sock.address().port;
        resolve();
      });
    });
  }

  snapshot(atMs: number): SignalSnapshot | undefined {
    return this.tracker.snapshot(atMs);
  }

  health(): ControllerHealth {
    return this.tracker.health(this.sock !== undefined);
  }

  get sequence(): number | undefined {
    return this.lastSeq;
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
