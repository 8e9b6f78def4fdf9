// The daemon with a signal controller (applications.spat.controller) over real sockets: SPAT follows a TSCBM
// datagram from USDOT V2X Hub (test/fixtures/signal/README.md), stops with an alarm when the controller goes
// silent, and flows from the simulated actuated controller.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon, SIGNAL_SILENT_ALARM } from '../runtime/daemon.js';
import { freeUdpPort } from './support/ports.js';
import { alarmsBesidesUnsigned, radioSink, signalDaemonConfig } from './support/signal-daemon.js';

const fx = (f: string) => Buffer.from(readFileSync(join(import.meta.dirname, 'fixtures', 'signal', f), 'utf8').trim(), 'hex');
// Phases 2 and 6 green, every other phase red; phase 1's minimum time to change 4.0 s, maxima not reported.
const capture = fx('tscbm-v2xhub-spat_1721238398773.hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


const config = signalDaemonConfig;


t.test('TSCBM controller: SPAT shows the datagram, stops with an alarm when the controller goes silent', async (t) => {
  const sink = await radioSink(t);
  const port = await freeUdpPort();
  const mapping = [1, 2, 3, 4, 5, 6, 7, 8].map((p) => ({ signalGroup: 10 + p, phase: p }));
  const cfg = config({ kind: 'tscbm', listen: `127.0.0.1:${port}`, mapping }, sink.port);
  t.equal(cfg.applications.spat.controller.kind, 'tscbm');
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());

  // Before the first datagram: no SPAT, the alarm says why.
  await sleep(400);
  t.equal(sink.spats.length, 0, 'no SPAT before the controller has said anything');
  t.match(alarmsBesidesUnsigned(d.status().alarms), [new RegExp(`^${SIGNAL_SILENT_ALARM} \\(tscbm udp/${port}: no state received yet\\)$`)]);

  // The controller sends at 10 Hz for 1.5 s.
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  for (let i = 0; i < 15; i++) {
    tx.send(capture, port, '127.0.0.1');
    await sleep(100);
  }
  t.ok(sink.spats.length >= 8, `SPAT flows while the controller talks: ${sink.spats.length}`);
  const last = sink.spats[sink.spats.length - 1]!.v;
  const phases = last.intersections[0].phases as any[];
  t.same(
    phases.map((p) => [p.id, p.phaseStates[0].light]),
    [[11, 'red'], [12, 'protected-green'], [13, 'red'], [14, 'red'], [15, 'red'], [16, 'protected-green'], [17, 'red'], [18, 'red']],
    'the lights of the datagram, on the mapped signal groups',
  );
  const c1 = phases[0].phaseStates[0].timing.counting;
  t.ok(c1.minEndTime > 0 && c1.minEndTime <= 40 && c1.likelyEndTime === c1.minEndTime, `phase 1: minimum time to change 4.0 s, counting down (${JSON.stringify(c1)})`);
  t.notOk('maxEndTime' in c1, 'phase 1: the datagram has no maximum time to change (0xFFFF), so none is sent');
  t.same(alarmsBesidesUnsigned(d.status().alarms), [], 'no alarm while the controller talks');
  const st = d.status().signal!;
  t.match(st, { kind: 'tscbm', connected: true, updates: 15 });

  // The controller goes silent: within staleAfterMs (1 s) plus a SPAT interval, SPAT stops.
  const silentAt = Date.now();
  await sleep(1600);
  const after = sink.spats.filter((s) => s.at > silentAt + 1000 + 150);
  t.equal(after.length, 0, `no SPAT more than 1 s after the last datagram (${sink.spats.filter((s) => s.at > silentAt).length} in the last second of validity)`);
  const status = d.status();
  t.match(alarmsBesidesUnsigned(status.alarms), [new RegExp(`^${SIGNAL_SILENT_ALARM} \\(tscbm udp/${port}: last state \\d+ ms ago\\)$`)]);
  t.match(status.signal, { kind: 'tscbm', connected: false, alarm: /controller silent/ });
  const withheld = (status.scheduler as { withheld: Record<string, number> }).withheld;
  t.ok((withheld['spat:controller_stale'] ?? 0) >= 5, `withheld SPATs counted: ${JSON.stringify(withheld)}`);

  // It comes back: SPAT resumes, the alarm goes.
  const n = sink.spats.length;
  for (let i = 0; i < 5; i++) {
    tx.send(capture, port, '127.0.0.1');
    await sleep(100);
  }
  t.ok(sink.spats.length > n, 'SPAT resumes with the controller');
  t.same(alarmsBesidesUnsigned(d.status().alarms), []);

  // Stopping the daemon closes the controller's socket: the port can be bound again.
  await d.stop();
  const again = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.bind(port, '127.0.0.1', () => resolve());
  });
  again.close();
  t.pass('controller port released on stop');
});

t.test('simulated actuated controller: SPAT flows with end bounds', async (t) => {
  const sink = await radioSink(t);
  const cfg = config({ kind: 'simulated', mode: 'actuated' }, sink.port);
  const c = cfg.applications.spat.controller;
  t.same(c.kind === 'simulated' && c.stages?.map((s) => s.phases), [[1], [2]], 'stages from the plan\'s phases');
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  await sleep(1000);
  t.ok(sink.spats.length >= 7, `SPAT at 10 Hz: ${sink.spats.length} in 1 s`);
  const ix = sink.spats[sink.spats.length - 1]!.v.intersections[0];
  t.same(ix.phases.map((p: any) => p.id), [1, 2]);
  t.equal(ix.status, '0200', 'traffic-dependent operation, not fixed time');
  const lights = ix.phases.map((p: any) => p.phaseStates[0].light);
  t.ok(lights.includes('protected-green') && lights.includes('red'), `one stage green, the other red: ${lights}`);
  const green = ix.phases.find((p: any) => p.phaseStates[0].light === 'protected-green').phaseStates[0].timing.counting;
  t.ok(green.maxEndTime > green.minEndTime, `an actuated green ends between min and max: ${JSON.stringify(green)}`);
  t.same(alarmsBesidesUnsigned(d.status().alarms), []);
  t.match(d.status().signal, { kind: 'simulated', source: 'simulated (actuated)', connected: true });
});

t.test('the default is the fixed-time plan, as before', async (t) => {
  const sink = await radioSink(t);
  const cfg = config(undefined, sink.port);
  t.same(cfg.applications.spat.controller, { kind: 'plan' });
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  await sleep(500);
  t.ok(sink.spats.length >= 3, `SPAT flows: ${sink.spats.length}`);
  t.equal(sink.spats[0]!.v.intersections[0].status, '0400', 'fixed-time operation');
  t.match(d.status().signal, { kind: 'plan', connected: true });
});
