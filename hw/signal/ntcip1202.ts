// NTCIP 1202 (actuated signal controller MIB) over SNMP v1/v2c/v3 with net-snmp: polls the phase status groups
// (bit n-1 = phase n of group 1, phases 9-16 in group 2), overlap status groups, unitFlashStatus and preemptState.
// OIDs (asc = 1.3.6.1.4.1.1206.4.2.1): phaseStatusGroupReds asc.1.4.1.2.g, Yellows .3, Greens .4, DontWalks .5,
// PedClears .6, Walks .7; unitFlashStatus asc.3.6.0; preemptState asc.6.2.1.16.n; overlapStatusGroupReds
// asc.9.4.1.2.g, Yellows .3, Greens .4 — checked against public listings of the 1202 MIB (hw/signal/README.md)
// and run against net-snmp's snmpd (test/signal-ntcip.test.ts). NTCIP 1202 v2 has no time-to-change objects: SNMP
// snapshots carry the light with `endUnknown` unless the controller also sends TSCBM (use TscbmController for timing).
import snmp, { type Session, type Varbind } from 'net-snmp';
import { StateTracker } from './tracker.js';
import type { ControllerHealth, Light, ObservedPhase, PhaseMapping, SignalController, SignalSnapshot } from './types.js';
import { NORMAL_STATUS, SignalInputError } from './types.js';

// net-snmp exports these too; hw/signal/net-snmp.d.ts does not declare them
const snmpX = snmp as typeof snmp & { ResponseInvalidError: new (...a: never[]) => Error & { code: number }; ResponseInvalidCode: Record<string, number> };

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

type GroupObject = Exclude<keyof typeof NTCIP1202_OID, 'unitFlashStatus' | 'preemptState'>;

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
  /** OID → MIB name with index ("phaseStatusGroupReds.1"), so errors name the object. */
  private readonly names = new Map<string, string>();

  constructor(private readonly o: NtcipOptions) {
    this.now = o.now ?? Date.now;
    const poll = o.pollMs ?? 100;
    this.tracker = new StateTracker({ source: `ntcip1202 snmp ${o.host}:${o.port ?? 161}`, staleAfterMs: o.staleAfterMs ?? 3 * poll + (o.timeoutMs ?? 500), now: this.now });
    const O = NTCIP1202_OID;
    for (const m of o.mapping) if (!Number.isInteger(m.phase) || m.phase < 1 || m.phase > 255) throw new Error(`ntcip1202: mapping of signal group ${m.signalGroup}: phase ${m.phase} is not 1-255`);
    // only the groups (and group kinds) the mapping uses: an agent without phases 9-16 or overlaps is not asked for them
    const groupsOf = (types: (PhaseMapping['type'])[]) => [...new Set(o.mapping.filter((m) => types.includes(m.type)).map((m) => Math.ceil(m.phase / 8)))];
    const named = (name: string, f: (n: number) => string) => (n: number) => (this.names.set(f(n), `${name}.${n}`), f(n));
    const cols = (names: GroupObject[], groups: number[]) => groups.flatMap((g) => names.map((n) => named(n, O[n])(g)));
    this.names.set(O.unitFlashStatus, 'unitFlashStatus.0');
    this.oids = [
      ...cols(['phaseStatusGroupReds', 'phaseStatusGroupYellows', 'phaseStatusGroupGreens'], groupsOf([undefined, 'vehicle'])),
      ...cols(['phaseStatusGroupDontWalks', 'phaseStatusGroupPedClears', 'phaseStatusGroupWalks'], groupsOf(['pedestrian'])),
      ...cols(['overlapStatusGroupReds', 'overlapStatusGroupYellows', 'overlapStatusGroupGreens'], groupsOf(['overlap'])),
      O.unitFlashStatus,
      ...(o.preempts ?? [1, 2]).map(named('preemptState', O.preemptState)),
    ];
  }

  /** "phaseStatusGroupReds.1 (1.3.6.1.4.1.1206.4.2.1.1.4.1.2.1)" */
  private label(oid: string): string {
    const n = this.names.get(oid);
    return n ? `${n} (${oid})` : oid;
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
    // net-snmp 3.29 re-emits socket errors under the error object itself as the event name (Session.onError), so
    // this listener rarely fires: an unreachable agent shows up as timeouts.
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
        // close() cancels the request in flight ("Socket forcibly closed"): not a controller error
        if (this.session !== s) return resolve();
        try {
          if (err) throw this.requestError(err);
          const values = new Map<string, number>();
          for (const vb of vbs) {
            if (snmp.isVarbindError(vb)) throw new SignalInputError('snmp-error', `${this.label(vb.oid)}: ${snmp.varbindError(vb).replace(/: [\d.]+$/, '')}`);
            if (typeof vb.value !== 'number') throw new SignalInputError('bad-value', `${this.label(vb.oid)}: expected an INTEGER, got ${snmp.ObjectType[vb.type] ?? `type ${vb.type}`}`);
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

  /** A failed request as an error naming its likely cause. */
  private requestError(err: Error): SignalInputError {
    const o = this.o;
    const where = `${o.host}:${o.port ?? 161}`;
    if (err instanceof snmp.RequestTimedOutError || /timed out/i.test(err.message)) {
      const who =
        o.version === 'v3'
          ? `SNMPv3 user '${o.user?.name}' unknown to the agent or security level not allowed (agents may not answer)`
          : `the community '${o.community ?? 'public'}' is wrong (SNMP ${o.version} agents drop such requests without an answer)`;
      return new SignalInputError('timeout', `no response from ${where} within ${o.timeoutMs ?? 500} ms: controller down or unreachable, or ${who}`);
    }
    if (err instanceof snmpX.ResponseInvalidError && o.version === 'v3' && (err.code === snmpX.ResponseInvalidCode.EAuthFailure || err.code === snmpX.ResponseInvalidCode.ECouldNotDecrypt)) {
      return new SignalInputError('snmp-error', `SNMPv3 authentication failed for user '${o.user?.name}' (${o.user?.level}) at ${where}: ${err.message}`);
    }
    // v1 reports a missing object as a noSuchName error status naming the OID
    const msg = err.message.replace(/[\d]+(?:\.[\d]+){5,}/g, (oid) => this.label(oid));
    return new SignalInputError('snmp-error', `SNMP ${o.version} request to ${where} failed: ${msg}`);
  }

  private apply(v: Map<string, number>, atMs: number): void {
    const O = NTCIP1202_OID;
    const get = (oid: string, min: number, max: number) => {
      const x = v.get(oid);
      if (x === undefined) throw new SignalInputError('bad-value', `SNMP response lacks ${this.label(oid)}`);
      if (x < min || x > max) throw new SignalInputError('bad-value', `${this.label(oid)}: value ${x} out of range ${min}-${max}`);
      return x;
    };
    const flashStatus = get(O.unitFlashStatus, 1, 8);
    const flash = flashStatus !== NOT_FLASH && flashStatus !== 1;
    const preempt = (this.o.preempts ?? [1, 2]).some((n) => PREEMPT_ACTIVE.has(get(O.preemptState(n), 1, 9)));
    const phases: ObservedPhase[] = this.o.mapping.map((m) => {
      const g = Math.ceil(m.phase / 8);
      const b = 1 << ((m.phase - 1) % 8);
      const [r, y, gr] =
        m.type === 'pedestrian'
          ? [O.phaseStatusGroupDontWalks(g), O.phaseStatusGroupPedClears(g), O.phaseStatusGroupWalks(g)]
          : m.type === 'overlap'
            ? [O.overlapStatusGroupReds(g), O.overlapStatusGroupYellows(g), O.overlapStatusGroupGreens(g)]
            : [O.phaseStatusGroupReds(g), O.phaseStatusGroupYellows(g), O.phaseStatusGroupGreens(g)];
      const on = [get(r, 0, 255), get(y, 0, 255), get(gr, 0, 255)].map((x) => (x & b) !== 0);
      const n = on.filter(Boolean).length;
      if (n > 1) throw new SignalInputError('inconsistent', `${m.type ?? 'vehicle'} phase ${m.phase} reported in ${n} colours at once`);
      const light: Light = on[2] ? 'green' : on[1] ? 'yellow' : 'red';
      // In flash the heads are driven by the flasher / monitor, not by phase timing: a phase may show no colour bit.
      // Its colour is then unknown; report flashing red (stop, then proceed), the cautious reading, rather than dark.
      return { signalGroup: m.signalGroup, light, display: flash ? 'flashing' : n === 0 ? 'dark' : 'steady' };
    });
    this.tracker.update({ atMs, phases, status: { ...NORMAL_STATUS, flash, preempt, dark: phases.length > 0 && phases.every((p) => p.display === 'dark') } });
  }

  snapshot(atMs: number): SignalSnapshot | undefined {
    return this.tracker.snapshot(atMs);
  }

  health(): ControllerHealth {
    const h = this.tracker.health(this.session !== undefined);
    // the tracker names the last error only before the first state; a silent controller's alarm should say why too
    if (h.alarm && h.lastError && !h.alarm.includes('last error') && h.lastUpdateAgeMs !== undefined && h.lastError.atMs >= this.now() - h.lastUpdateAgeMs) {
      h.alarm += ` (last error: ${h.lastError.message})`;
    }
    return h;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const s = this.session;
    this.session = undefined;
    if (s) s.close();
  }
}
