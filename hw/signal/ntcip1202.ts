// NTCIP 1202 (actuated signal controller MIB) over SNMP v1/v2c/v3 with net-snmp: polls the phase status groups
// (bit n-1 = phase n of group 1, phases 9-16 in group 2), overlap status groups, unitFlashStatus and preemptState.
// OIDs (asc = 1.3.6.1.4.1.1206.4.2.1): phaseStatusGroupReds asc.1.4.1.2.g, Yellows .3, Greens .4, DontWalks .5,
// PedClears .6, Walks .7 (as used by USDOT V2X Hub DmsPlugin/dmsNTCIP.h and MMITSS); unitFlashStatus asc.3.6.0,
// preemptState asc.6.2.1.16.n, overlapStatusGroupReds asc.9.4.1.2.g (Yellows .3, Greens .4), from a public OID
// listing of the NTCIP 1202 v02.18 MIB. NTCIP 1202 v2 has no time-to-change objects: SNMP snapshots carry the
// light with `endUnknown` unless the controller also sends TSCBM (use TscbmController for timing).
import snmp, { type Session, type Varbind } from 'net-snmp';
import { StateTracker } from './tracker.js';
import type { ControllerHealth, Light, ObservedPhase, PhaseMapping, SignalController, SignalSnapshot } from './types.js';
import { NORMAL_STATUS, SignalInputError } from './types.js';

const ASC = '1.3.6.1.4.1.1206.4.2.1';
export const NTCIP1202_OID = {
  phaseStatusGroupReds: (g: number) => `${ASC}.1.4.1.2.${g}`,
  phaseStatusGroupYellows: (g: number) => `${ASC}.1.4.1.3.${g}`,
  phaseStatusGroupGreens: (g: number) => `${ASC}.1.4.1.4.${g}`,
  phaseStatusGroupDontWalks: (g: number) => `${ASC}.1.4.1.5.${g}`,
  phaseStatusGroupPedClears: (g: number) => `${ASC}.1.4.1.6.${g}`,
  phaseStatusGroupWalks: (g: number) => `${ASC}.1.4.1.7.${g}`,
  overlapStatusGroupReds: (g: number) => `${ASC}.9.4.1.2.${g}`,
  overlapStatusGroupYellows: (g: number) => `${ASC}.9.4.1.3.${g}`,
  overlapStatusGroupGreens: (g: number) => `${ASC}.9.4.1.4.${g}`,
  unitFlashStatus: `${ASC}.3.6.0`,
  preemptState: (n: number) => `${ASC}.6.2.1.16.${n}`,
} as const;

/** unitFlashStatus: other(1), notFlash(2), automatic(3), localManual(4), faultMonitor(5), mmu(6), startup(7), preempt(8). */
const NOT_FLASH = 2;
/** preemptState: other(1), notActive(2), notActiveWithCall(3), entryStarted(4), trackService(5), dwell(6), linkActive(7), exitStarted(8), maxPresence(9). */
const PREEMPT_ACTIVE = new Set([4, 5, 6, 7, 8, 9]);

export interface NtcipOptions {
  host: string;
  port?: number;
  version: 'v1' | 'v2c' | 'v3';
  community?: string;
  /** SNMPv3 user (USM). */
  user?: { name: string; level: 'noAuthNoPriv' | 'authNoPriv' | 'authPriv'; authProtocol?: 'md5' | 'sha'; authKey?: string; privProtocol?: 'des' | 'aes'; privKey?: string };
  mapping: PhaseMapping[];
  /** Preempt inputs to watch (preemptState.n). Default [1, 2]. */
  preempts?: number[];
  pollMs?: number;
  timeoutMs?: number;
  /** Default 3 × pollMs + timeout. */
  staleAfterMs?: number;
  now?: () => number;
}

export class NtcipSnmpController implements SignalController {
  private session?: Session;
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  readonly tracker: StateTracker;
  private readonly now: () => number;
  private readonly oids: string[];

  constructor(private readonly o: NtcipOptions) {
    this.now = o.now ?? Date.now;
    const poll = o.pollMs ?? 100;
    this.tracker = new StateTracker({ source: `ntcip1202 snmp ${o.host}:${o.port ?? 161}`, staleAfterMs: o.staleAfterMs ?? 3 * poll + (o.timeoutMs ?? 500), now: this.now });
    const groups = [...new Set(o.mapping.map((m) => Math.ceil(m.phase / 8)))];
    const O = NTCIP1202_OID;
    this.oids = [
      ...groups.flatMap((g) => [O.phaseStatusGroupReds(g), O.phaseStatusGroupYellows(g), O.phaseStatusGroupGreens(g)]),
      ...(o.mapping.some((m) => m.type === 'pedestrian') ? groups.flatMap((g) => [O.phaseStatusGroupDontWalks(g), O.phaseStatusGroupPedClears(g), O.phaseStatusGroupWalks(g)]) : []),
      ...(o.mapping.some((m) => m.type === 'overlap') ? groups.flatMap((g) => [O.overlapStatusGroupReds(g), O.overlapStatusGroupYellows(g), O.overlapStatusGroupGreens(g)]) : []),
      O.unitFlashStatus,
      ...(o.preempts ?? [1, 2]).map(O.preemptState),
    ];
  }

  async start(): Promise<void> {
    const o = this.o;
    const common = { port: o.port ?? 161, timeout: o.timeoutMs ?? 500, retries: 0 };
    if (o.version === 'v3') {
      if (!o.user) throw new Error('ntcip1202: SNMPv3 needs a user');
      const u = o.user;
      this.session = snmp.createV3Session(o.host, {
        name: u.name,
        level: snmp.SecurityLevel[u.level],
        ...(u.authProtocol ? { authProtocol: snmp.AuthProtocols[u.authProtocol], authKey: u.authKey } : {}),
        ...(u.privProtocol ? { privProtocol: snmp.PrivProtocols[u.privProtocol], privKey: u.privKey } : {}),
      }, { ...common, version: snmp.Version3 });
    } else {
      this.session = snmp.createSession(o.host, o.community ?? 'public', { ...common, version: o.version === 'v1' ? snmp.Version1 : snmp.Version2c });
    }
    this.session.on('error', (e: Error) => this.tracker.error(new SignalInputError('socket-error', e.message)));
    this.timer = setInterval(() => void this.poll(), o.pollMs ?? 100);
    await this.poll();
  }

  /** One poll; resolves when it has been applied or counted as an error. */
  poll(): Promise<void> {
    const s = this.session;
    if (!s || this.inFlight) return Promise.resolve();
    this.inFlight = true;
    const sentAt = this.now();
    return new Promise<void>((resolve) => {
      s.get(this.oids, (err: Error | null, vbs: Varbind[]) => {
        this.inFlight = false;
        try {
          if (err) {
            const timeout = err instanceof snmp.RequestTimedOutError || /timed out/i.test(err.message);
            throw new SignalInputError(timeout ? 'timeout' : 'snmp-error', timeout ? `SNMP get timed out after ${this.o.timeoutMs ?? 500} ms` : `SNMP error: ${err.message}`);
          }
          const values = new Map<string, number>();
          for (const vb of vbs) {
            if (snmp.isVarbindError(vb)) throw new SignalInputError('snmp-error', `SNMP ${vb.oid}: ${snmp.varbindError(vb)}`);
            if (typeof vb.value !== 'number') throw new SignalInputError('bad-value', `SNMP ${vb.oid}: expected an INTEGER, got ${snmp.ObjectType[vb.type] ?? vb.type}`);
            values.set(vb.oid, vb.value);
          }
          this.apply(values, sentAt);
        } catch (e) {
          this.tracker.error(e);
        }
        resolve();
      });
    });
  }

  private apply(v: Map<string, number>, atMs: number): void {
    const O = NTCIP1202_OID;
    const get = (oid: string) => {
      const x = v.get(oid);
      if (x === undefined) throw new SignalInputError('bad-value', `SNMP response lacks ${oid}`);
      return x;
    };
    const flashStatus = get(O.unitFlashStatus);
    if (flashStatus < 1 || flashStatus > 8) throw new SignalInputError('bad-value', `unitFlashStatus ${flashStatus} out of range 1-8`);
    const flash = flashStatus !== NOT_FLASH && flashStatus !== 1;
    const preempt = (this.o.preempts ?? [1, 2]).some((n) => PREEMPT_ACTIVE.has(get(O.preemptState(n))));
    const phases: ObservedPhase[] = this.o.mapping.map((m) => {
      const g = Math.ceil(m.phase / 8);
      const b = 1 << ((m.phase - 1) % 8);
      const [r, y, gr] =
        m.type === 'pedestrian'
          ? [O.phaseStatusGroupDontWalks(g), O.phaseStatusGroupPedClears(g), O.phaseStatusGroupWalks(g)]
          : m.type === 'overlap'
            ? [O.overlapStatusGroupReds(g), O.overlapStatusGroupYellows(g), O.overlapStatusGroupGreens(g)]
            : [O.phaseStatusGroupReds(g), O.phaseStatusGroupYellows(g), O.phaseStatusGroupGreens(g)];
      const on = [get(r), get(y), get(gr)].map((x) => {
        if (x < 0 || x > 255) throw new SignalInputError('bad-value', `status group value ${x} out of range 0-255`);
        return (x & b) !== 0;
      });
      const n = on.filter(Boolean).length;
      if (n > 1) throw new SignalInputError('inconsistent', `${m.type ?? 'vehicle'} phase ${m.phase} reported in ${n} colours at once`);
      const light: Light = on[2] ? 'green' : on[1] ? 'yellow' : 'red';
      return { signalGroup: m.signalGroup, light, display: n === 0 ? 'dark' : flash ? 'flashing' : 'steady' };
    });
    this.tracker.update({ atMs, phases, status: { ...NORMAL_STATUS, flash, preempt, dark: phases.every((p) => p.display === 'dark') } });
  }

  snapshot(atMs: number): SignalSnapshot | undefined {
    return this.tracker.snapshot(atMs);
  }

  health(): ControllerHealth {
    return this.tracker.health(this.session !== undefined);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const s = this.session;
    this.session = undefined;
    if (s) s.close();
  }
}
