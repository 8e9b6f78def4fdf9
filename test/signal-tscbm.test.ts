// TSCBM parser and listener against datagrams from USDOT V2X Hub (test/fixtures/signal/README.md), not our simulator.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { parseTscbm, TscbmController, tscbmObservation } from '../hw/signal/tscbm.js';

const fx = (f: string) => Buffer.from(readFileSync(join(import.meta.dirname, 'fixtures', 'signal', f), 'utf8').trim(), 'hex');
const capture = fx('tscbm-v2xhub-spat_1721238398773.hex');
const unitTest = fx('tscbm-v2xhub-TestNTCIP1202.hex');
const mapping = [1, 2, 3, 4, 5, 6, 7, 8].map((p) => ({ signalGroup: p, phase: p }));

t.test('V2X Hub capture spat_1721238398773.bin', async (t) => {
  const m = parseTscbm(capture);
  t.equal(capture.length, 241);
  t.equal(m.phaseCount, 16);
  t.same(m.phases.slice(0, 2), [
    { phase: 1, vehMin: 40, vehMax: 0xffff, pedMin: 0, pedMax: 0, ovlMin: 0, ovlMax: 0 },
    { phase: 2, vehMin: 0, vehMax: 0xffff, pedMin: 0, pedMax: 0xffff, ovlMin: 0, ovlMax: 0 },
  ]);
  t.equal(m.groups.greens, 0x22, 'phases 2 and 6 green');
  t.equal(m.groups.reds, 0xffdd);
  const o = tscbmObservation(m, mapping, 1_721_238_398_773);
  t.same(o.phases.map((p) => p.light), ['red', 'green', 'red', 'red', 'red', 'green', 'red', 'red'], 'the states V2X Hub\'s test expects (stop-And-Remain / protected-Movement-Allowed)');
  t.equal(o.phases[0]!.minEndInMs, 4000);
  t.equal(o.phases[0]!.maxEndInMs, undefined, '0xFFFF max is "not reported"');
});

t.test('V2X Hub unit-test blob: timing and flash status', async (t) => {
  const m = parseTscbm(unitTest);
  t.same([m.phases[1]!.vehMin, m.phases[1]!.vehMax, m.phases[3]!.vehMin], [118, 118, 168]);
  t.equal(m.intersectionStatus, 0x80);
  const o = tscbmObservation(m, mapping, 0);
  t.equal(o.status.flash, true, 'intersection status bit 7 is read as flash (V2X Hub isFlashingStatus)');
});

t.test('garbage gets an error naming the problem', async (t) => {
  const bad = (b: Uint8Array, re: RegExp, reason: string) => t.throws(() => parseTscbm(b), { name: 'SignalInputError', reason, message: re });
  bad(Buffer.alloc(10), /10 bytes, expected 241/, 'too-short');
  bad(Buffer.alloc(500, 0x58), /500 bytes/, 'too-long');
  const h = Buffer.from(capture); h[0] = 0x58;
  bad(h, /header byte 0x58/, 'bad-header');
  const c = Buffer.from(capture); c.writeUInt16BE(0x0002, 210 + 2 * 1); // phase 2 green and yellow
  t.throws(() => tscbmObservation(parseTscbm(c), mapping, 0), /phase 2 is reported yellow and green at once/);
});

t.test('listener: snapshots count down from their own time, stop when the controller goes silent', async (t) => {
  let now = 1_000_000;
  const c = new TscbmController({ port: 0, host: '127.0.0.1', mapping, staleAfterMs: 1000, now: () => now });
  await c.start();
  t.teardown(() => c.close());
  t.equal(c.snapshot(now), undefined, 'no state yet');
  t.match(c.health().alarm, /no controller state/);
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  await new Promise<void>((r) => tx.send(capture, c.port, '127.0.0.1', () => r()));
  for (let i = 0; i < 50 && c.health().updates === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(c.health().updates, 1);
  const s1 = c.snapshot(now)!;
  t.equal(s1.phases[0]!.windows[0]!.endInMs, 4000);
  now += 500;
  const s2 = c.snapshot(now)!;
  t.equal(s2.phases[0]!.windows[0]!.endInMs, 3500, 'counts down from the snapshot time, not the report time');
  // the same report again 100 ms later (jitter): the end does not move
  c.ingest(capture, now - 400);
  t.equal(c.snapshot(now)!.phases[0]!.windows[0]!.endInMs, 3500);
  await new Promise<void>((r) => tx.send(Buffer.alloc(20, 1), c.port, '127.0.0.1', () => r()));
  for (let i = 0; i < 50 && !c.health().errors['too-short']; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(c.health().errors['too-short'], 1);
  t.match(c.health().lastError?.message, /TSCBM datagram of 20 bytes/);
  t.ok(c.snapshot(now), 'garbage does not end a still-true state');
  now += 1200;
  t.equal(c.snapshot(now), undefined, 'silent controller: SPAT stops');
  t.match(c.health().alarm, /silent for \d+ ms/);
  t.equal(c.health().connected, false);
});
