// NtcipSnmpController against a real agent: Debian's net-snmp snmpd on 127.0.0.1, serving the NTCIP 1202 objects
// through a pass_persist script (test/fixtures/signal/ntcip-pass-persist.sh) from a state file this test rewrites.
// SNMP v2c (community), v1 and v3 (USM, SHA/AES); the agent is killed to check the silent-controller alarm.
import t from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NTCIP1202_OID as O, NtcipSnmpController, type NtcipOptions } from '../hw/signal/ntcip1202.js';
import type { PhaseMapping } from '../hw/signal/types.js';
import { freeUdpPort } from './support/ports.js';
import { until as untilWithin } from './support/wait.js';

const SNMPD = '/usr/sbin/snmpd';
const SNMPWALK = '/usr/bin/snmpwalk';
const run = promisify(execFile);
const V3 = { name: 'rsu', level: 'authPriv', authProtocol: 'sha', authKey: 'rsu-auth-key', privProtocol: 'aes', privKey: 'rsu-priv-key' } as const;

/** The controller state the fake agent serves; bit n-1 of a group value = phase (overlap) n. */
interface AgentState {
  reds: [number, number];
  yellows: [number, number];
  greens: [number, number];
  dontWalks?: number;
  pedClears?: number;
  walks?: number;
  ovlReds?: number;
  ovlYellows?: number;
  ovlGreens?: number;
  flash?: number; // unitFlashStatus
  preempt?: [number, number]; // preemptState.1, .2
  /** Raw overrides: OID → [pass type, value]; a null value removes the object. */
  raw?: Record<string, [string, string | number] | null>;
}

function stateLines(s: AgentState): string {
  const m = new Map<string, [string, string | number]>();
  const int = (oid: string, v: number) => m.set(oid, ['integer', v]);
  for (const g of [1, 2] as const) {
    int(O.phaseStatusGroupReds(g), s.reds[g - 1]);
    int(O.phaseStatusGroupYellows(g), s.yellows[g - 1]);
    int(O.phaseStatusGroupGreens(g), s.greens[g - 1]);
    int(O.phaseStatusGroupDontWalks(g), g === 1 ? (s.dontWalks ?? 0) : 0);
    int(O.phaseStatusGroupPedClears(g), g === 1 ? (s.pedClears ?? 0) : 0);
    int(O.phaseStatusGroupWalks(g), g === 1 ? (s.walks ?? 0) : 0);
    int(O.overlapStatusGroupReds(g), g === 1 ? (s.ovlReds ?? 0) : 0);
    int(O.overlapStatusGroupYellows(g), g === 1 ? (s.ovlYellows ?? 0) : 0);
    int(O.overlapStatusGroupGreens(g), g === 1 ? (s.ovlGreens ?? 0) : 0);
  }
  int(O.unitFlashStatus, s.flash ?? 2);
  int(O.preemptState(1), s.preempt?.[0] ?? 2);
  int(O.preemptState(2), s.preempt?.[1] ?? 2);
  for (const [oid, v] of Object.entries(s.raw ?? {})) {
    if (v === null) m.delete(oid);
    else m.set(oid, v);
  }
  const key = (oid: string) => oid.split('.').map(Number);
  const cmp = (a: string, b: string) => {
    const x = key(a), y = key(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  };
  return [...m.keys()].sort(cmp).map((oid) => `.${oid} ${m.get(oid)![0]} ${m.get(oid)![1]}`).join('\n') + '\n';
}


class FakeAgent {
  readonly dir = mkdtempSync(join(tmpdir(), 'rsu-ntcip-'));
  readonly stateFile = join(this.dir, 'state.txt');
  port = 0;
  private proc?: ChildProcess;
  log = '';

  setState(s: AgentState): void {
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, stateLines(s));
    renameSync(tmp, this.stateFile); // atomic: the script never reads half a file
  }

  async start(initial: AgentState): Promise<void> {
    this.setState(initial);
    const script = join(this.dir, 'pass-persist.sh');
    copyFileSync(join(import.meta.dirname, 'fixtures', 'signal', 'ntcip-pass-persist.sh'), script);
    const conf = join(this.dir, 'snmpd.conf');
    writeFileSync(
      conf,
      [
        'rocommunity public 127.0.0.1',
        `createUser ${V3.name} SHA ${V3.authKey} AES ${V3.privKey}`,
        `rouser ${V3.name} priv`,
        `pass_persist .1.3.6.1.4.1.1206.4.2.1 /bin/sh ${script} ${this.stateFile}`,
        '',
      ].join('\n'),
    );
    this.port = await freeUdpPort();
    // -C: only our config; persistent dir and MIB path in the tmp dir (nothing written to /var/lib/snmp, no MIB noise).
    const env = { ...process.env, SNMP_PERSISTENT_DIR: join(this.dir, 'persist'), MIBS: '', MIBDIRS: this.dir, SNMPCONFPATH: this.dir };
    const p = spawn(SNMPD, ['-f', '-Lo', '-C', '-c', conf, `udp:127.0.0.1:${this.port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const killOnExit = () => p.kill('SIGKILL'); // even if the test process ends without its teardown
    process.once('exit', killOnExit);
    p.once('exit', () => process.off('exit', killOnExit));
    p.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    // snmpd prints its version once it listens
    for (let i = 0; i < 200 && !/NET-SNMP version/.test(this.log); i++) {
      if (p.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!/NET-SNMP version/.test(this.log)) throw new Error(`snmpd did not start: ${this.log}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// group 1: phases 2, 6 green, 1 3 4 5 7 8 red; group 2: phase 10 yellow, 9 11-16 red.
// peds 2 walk, 6 dont-walk; overlap 1 (A) green, overlap 2 (B) red.
const BASE: AgentState = {
  reds: [0b1101_1101, 0b1111_1101],
  yellows: [0, 0b0000_0010],
  greens: [0b0010_0010, 0],
  walks: 0b0000_0010,
  dontWalks: 0b0010_0000,
  ovlGreens: 0b01,
  ovlReds: 0b10,
};
const MAPPING: PhaseMapping[] = [
  ...[1, 2, 3, 4, 5, 6, 7, 8, 10].map((p) => ({ signalGroup: p, phase: p })),
  { signalGroup: 102, phase: 2, type: 'pedestrian' },
  { signalGroup: 106, phase: 6, type: 'pedestrian' },
  { signalGroup: 201, phase: 1, type: 'overlap' },
  { signalGroup: 202, phase: 2, type: 'overlap' },
];

const lights = (c: NtcipSnmpController) => Object.fromEntries((c.snapshot(Date.now())?.phases ?? []).map((p) => [p.id, p.light]));
const until = (what: string, ok: () => boolean, ms = 3000): Promise<void> => untilWithin(what, ok, ms, 20);

const skip = existsSync(SNMPD) ? false : `${SNMPD} is not installed (Debian package snmpd); these tests need a real SNMP agent`;

t.test('NTCIP 1202 over SNMP against net-snmp snmpd', { skip }, async (t) => {
  const agent = new FakeAgent();
  t.teardown(() => agent.dispose());
  await agent.start(BASE);
  const opts = (o: Partial<NtcipOptions>): NtcipOptions => ({ host: '127.0.0.1', port: agent.port, version: 'v2c', mapping: MAPPING, pollMs: 100, timeoutMs: 300, ...o });

  await t.test('snmpwalk of the agent lists every object the adapter polls, as INTEGER', { skip: existsSync(SNMPWALK) ? false : `${SNMPWALK} not installed` }, async (t) => {
    const env = { ...process.env, MIBS: '', MIBDIRS: agent.dir, SNMP_PERSISTENT_DIR: join(agent.dir, 'persist-client') };
    const { stdout } = await run(SNMPWALK, ['-v2c', '-c', 'public', '-On', '-t', '1', '-r', '0', `127.0.0.1:${agent.port}`, '.1.3.6.1.4.1.1206.4.2.1'], { env });
    const polled = [
      ...[1, 2].flatMap((g) => [O.phaseStatusGroupReds(g), O.phaseStatusGroupYellows(g), O.phaseStatusGroupGreens(g), O.phaseStatusGroupDontWalks(g), O.phaseStatusGroupPedClears(g), O.phaseStatusGroupWalks(g)]),
      ...[1, 2].flatMap((g) => [O.overlapStatusGroupReds(g), O.overlapStatusGroupYellows(g), O.overlapStatusGroupGreens(g)]),
      O.unitFlashStatus,
      O.preemptState(1),
      O.preemptState(2),
    ];
    for (const oid of polled) t.match(stdout, new RegExp(`^\\.${oid.replaceAll('.', '\\.')} = INTEGER: \\d+$`, 'm'), oid);
    t.match(stdout, /^\.1\.3\.6\.1\.4\.1\.1206\.4\.2\.1\.1\.4\.1\.4\.1 = INTEGER: 34$/m, 'phaseStatusGroupGreens.1 = 0x22 (phases 2 and 6)');
  });

  await t.test('v2c: colours of each phase, pedestrian and overlap decoded from the group bit masks', async (t) => {
    const c = new NtcipSnmpController(opts({ community: 'public' }));
    t.teardown(() => c.close());
    await c.start();
    t.equal(c.health().updates, 1, `first poll applied (last error: ${c.health().lastError?.message ?? 'none'})`);
    t.same(lights(c), { 1: 'red', 2: 'green', 3: 'red', 4: 'red', 5: 'red', 6: 'green', 7: 'red', 8: 'red', 10: 'yellow', 102: 'green', 106: 'red', 201: 'green', 202: 'red' });
    const s = c.snapshot(Date.now())!;
    t.ok(s.phases.every((p) => p.display === 'steady'));
    for (const p of s.phases) {
      const w = p.windows[0]!;
      t.equal(w.endUnknown, true, `phase ${p.id}: NTCIP 1202 v2 has no time to change, the end is unknown`);
      t.equal(w.confidence, 0);
      t.equal(w.nextUnknown, true);
    }
    t.same(s.status, { flash: false, preempt: false, priority: false, dark: false, manual: false, fixedTime: false });
    t.equal(c.health().connected, true);
    t.equal(c.health().alarm, undefined);

    // phase 2 → yellow, ped 2 → ped clear (flashing don't walk), phase 10 → red, overlap A → yellow
    agent.setState({ ...BASE, greens: [0b0010_0000, 0], yellows: [0b0000_0010, 0], reds: [0b1101_1101, 0b1111_1111], walks: 0, pedClears: 0b10, ovlGreens: 0, ovlYellows: 0b01 });
    await until('phase 2 yellow', () => lights(c)[2] === 'yellow');
    t.same(lights(c), { 1: 'red', 2: 'yellow', 3: 'red', 4: 'red', 5: 'red', 6: 'green', 7: 'red', 8: 'red', 10: 'red', 102: 'yellow', 106: 'red', 201: 'yellow', 202: 'red' });

    // unitFlashStatus automatic(3): flash; preemptState.2 dwell(6): preempt
    agent.setState({ ...BASE, flash: 3, preempt: [2, 6] });
    await until('flash', () => c.snapshot(Date.now())?.status?.flash === true);
    const f = c.snapshot(Date.now())!;
    t.equal(f.status?.preempt, true, 'preemptState.2 = dwell(6) is an active preemption');
    t.ok(f.phases.every((p) => p.display === 'flashing'));
    agent.setState({ ...BASE, flash: 2, preempt: [3, 2] });
    await until('flash off', () => c.snapshot(Date.now())?.status?.flash === false);
    t.equal(c.snapshot(Date.now())!.status?.preempt, false, 'notActiveWithCall(3) is not active');
    // flash with no colour bits (heads driven by the flasher): flashing, cautious red, not dark
    agent.setState({ ...BASE, flash: 6, reds: [0, 0], yellows: [0, 0], greens: [0, 0], walks: 0, dontWalks: 0, ovlGreens: 0, ovlReds: 0 });
    await until('flash, no bits', () => c.snapshot(Date.now())?.status?.flash === true);
    const fd = c.snapshot(Date.now())!;
    t.ok(fd.phases.every((p) => p.display === 'flashing' && p.light === 'red'), 'mmu(6) flash without colour bits: flashing red');
    t.equal(fd.status?.dark, false);
    // all bits off without flash: dark
    agent.setState({ ...BASE, reds: [0, 0], yellows: [0, 0], greens: [0, 0], walks: 0, dontWalks: 0, ovlGreens: 0, ovlReds: 0 });
    await until('dark', () => c.snapshot(Date.now())?.status?.dark === true);
    t.ok(c.snapshot(Date.now())!.phases.every((p) => p.display === 'dark'));
    t.equal(c.health().errors['bad-value'], undefined);
    t.equal(c.health().updates > 5, true);
    agent.setState(BASE);
  });

  await t.test('an 8-phase controller: only the status groups the mapping uses are polled', async (t) => {
    // no phase status group 2 in the agent (phases 9-16 absent), overlap 9 in overlap status group 2
    const phase2 = ['phaseStatusGroupReds', 'phaseStatusGroupYellows', 'phaseStatusGroupGreens', 'phaseStatusGroupDontWalks', 'phaseStatusGroupPedClears', 'phaseStatusGroupWalks'] as const;
    const raw: AgentState['raw'] = Object.fromEntries(phase2.map((n) => [O[n](2), null]));
    raw[O.overlapStatusGroupGreens(2)] = ['integer', 0b1];
    agent.setState({ ...BASE, raw });
    const c = new NtcipSnmpController(opts({ community: 'public', mapping: [{ signalGroup: 2, phase: 2 }, { signalGroup: 209, phase: 9, type: 'overlap' }] }));
    t.teardown(() => c.close());
    await c.start();
    t.equal(c.health().updates, 1, `polled (last error: ${c.health().lastError?.message ?? 'none'})`);
    t.same(lights(c), { 2: 'green', 209: 'green' });
    agent.setState(BASE);
  });

  await t.test('wrong value types and missing objects: errors naming the object', async (t) => {
    const c = new NtcipSnmpController(opts({ community: 'public' }));
    t.teardown(() => c.close());
    await c.start();
    t.equal(c.health().updates, 1);
    agent.setState({ ...BASE, raw: { [O.unitFlashStatus]: ['string', 'notFlash'] } });
    await until('bad-value', () => (c.health().errors['bad-value'] ?? 0) > 0);
    t.match(c.health().lastError?.message, /unitFlashStatus.*expected an INTEGER, got OctetString/);
    agent.setState({ ...BASE, raw: { [O.phaseStatusGroupGreens(2)]: ['integer', 4096] } });
    await until('out of range', () => /out of range/.test(c.health().lastError?.message ?? ''));
    t.match(c.health().lastError?.message, /phaseStatusGroupGreens\.2 .*4096 out of range 0-255/);
    agent.setState({ ...BASE, raw: { [O.preemptState(2)]: null } });
    await until('missing object', () => (c.health().errors['snmp-error'] ?? 0) > 0);
    t.match(c.health().lastError?.message, /preemptState\.2 \(1\.3\.6\.1\.4\.1\.1206\.4\.2\.1\.6\.2\.1\.16\.2\).*NoSuchInstance/);
    agent.setState({ ...BASE, greens: [0b0010_0010, 0], yellows: [0b0000_0010, 0] });
    await until('inconsistent', () => (c.health().errors.inconsistent ?? 0) > 0);
    t.match(c.health().lastError?.message, /vehicle phase 2 reported in 2 colours at once/);
    // garbage only: the last good state ages out, the alarm says why
    await new Promise((r) => setTimeout(r, c.tracker.staleAfterMs + 100));
    t.equal(c.snapshot(Date.now()), undefined, 'no SPAT from a controller that answers only garbage');
    t.match(c.health().alarm, /SPAT stopped.*last error: .*phase 2 reported in 2 colours/);
    agent.setState(BASE);
    await until('recovered', () => c.snapshot(Date.now()) !== undefined);
  });

  await t.test('v1: a missing object is a request error naming the object', async (t) => {
    const c = new NtcipSnmpController(opts({ version: 'v1', community: 'public' }));
    t.teardown(() => c.close());
    await c.start();
    t.equal(c.health().updates, 1, `v1 poll applied (last error: ${c.health().lastError?.message ?? 'none'})`);
    t.equal(lights(c)[2], 'green');
    agent.setState({ ...BASE, raw: { [O.preemptState(2)]: null } });
    await until('noSuchName', () => (c.health().errors['snmp-error'] ?? 0) > 0);
    t.match(c.health().lastError?.message, /NoSuchName.*preemptState\.2/);
    agent.setState(BASE);
  });

  await t.test('v3 (USM authPriv, SHA/AES): reads the state; a wrong key is an authentication error', async (t) => {
    const c = new NtcipSnmpController(opts({ version: 'v3', user: { ...V3 } }));
    t.teardown(() => c.close());
    await c.start();
    await until('v3 state', () => c.health().updates > 0);
    t.equal(lights(c)[6], 'green', `v3 poll (last error: ${c.health().lastError?.message ?? 'none'})`);
    t.equal(lights(c)[10], 'yellow');
    const bad = new NtcipSnmpController(opts({ version: 'v3', user: { ...V3, authKey: 'not-the-key' } }));
    t.teardown(() => bad.close());
    await bad.start();
    await until('v3 auth error', () => bad.health().lastError !== undefined);
    t.equal(bad.snapshot(Date.now()), undefined);
    t.match(bad.health().lastError, { reason: 'snmp-error', message: /SNMPv3.*Wrong Digest/ });
    t.match(bad.health().alarm, /no controller state received yet.*Wrong Digest/);
  });

  await t.test('wrong community: a timeout whose message names the community as a cause', async (t) => {
    const c = new NtcipSnmpController(opts({ community: 'private' }));
    t.teardown(() => c.close());
    await c.start();
    t.equal(c.snapshot(Date.now()), undefined);
    t.match(c.health().lastError, { reason: 'timeout', message: /no response .* 300 ms.*community 'private'/ });
    t.match(c.health().alarm, /no controller state received yet \(last error: .*no response from/);
  });

  await t.test('agent goes silent (snmpd killed): snapshots stop, alarm raised, timeout error', async (t) => {
    const c = new NtcipSnmpController(opts({ community: 'public' }));
    t.teardown(() => c.close());
    await c.start();
    t.ok(c.snapshot(Date.now()));
    await agent.stop();
    const killedAt = Date.now();
    await until('stale', () => c.snapshot(Date.now()) === undefined, 3000);
    t.ok(Date.now() - killedAt <= c.tracker.staleAfterMs + 1000, 'stops about staleAfterMs (3 polls + timeout) after the last answer');
    const h = c.health();
    t.equal(h.connected, false);
    t.match(h.alarm, /controller silent for \d+ ms .*SPAT stopped/);
    t.ok((h.errors.timeout ?? 0) > 0, 'timeouts counted');
    t.match(h.lastError, { reason: 'timeout', message: /no response from 127\.0\.0\.1:\d+ within 300 ms/ });
  });
});
