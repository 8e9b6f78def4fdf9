// GB/T 20999-2017 adapter against bytes that did not come from this repository: 28 frames of a real controller
// (quoted by 673879047-dev/20999-test-first) and frames built by lining1111/RVDataFusionServer's encoder
// (test/fixtures/signal/README.md). Live UDP and TCP round trips on 127.0.0.1 with a fake controller that answers
// with those bytes; the daemon with `kind: gbt20999`.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { createServer, type Socket as TcpSocket } from 'node:net';
import {
  crc16Gbt20999,
  encodeGbt20999,
  escapeGbt20999,
  Gbt20999Controller,
  Gbt20999Stream,
  GBT20999_MAX_FRAME,
  parseGbt20999,
  type Gbt20999Frame,
} from '../hw/signal/gbt20999.js';
import { SignalInputError } from '../hw/signal/types.js';
import { startDaemon, SIGNAL_SILENT_ALARM } from '../runtime/daemon.js';
import { alarmsBesidesUnsigned, radioSink, signalDaemonConfig } from './support/signal-daemon.js';
import { until as untilWithin } from './support/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** name → frame bytes of a fixture file (`name hex` or `object direction hex` lines, # comments). */
function fixture(file: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const line of readFileSync(join(import.meta.dirname, 'fixtures', 'signal', file), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const parts = line.trim().split(/\s+/);
    m.set(parts.slice(0, -1).join(' '), Buffer.from(parts[parts.length - 1]!, 'hex'));
  }
  return m;
}
const device = fixture('gbt20999-device-catalog.txt');
const lining = fixture('gbt20999-lining1111.txt');
const dev = (k: string) => device.get(k)!;
const lin = (k: string) => lining.get(k)!;

/** A copy of an unescaped frame with its CRC recomputed (for frames altered past the checksum). */
function resign(frame: Uint8Array): Buffer {
  const b = Buffer.from(frame);
  b.writeUInt16BE(crc16Gbt20999(b, 1, b.length - 3), b.length - 3);
  return b;
}

const mapping4 = [1, 2, 3, 4].map((p) => ({ signalGroup: 10 + p, phase: p }));

const until = (what: string, cond: () => boolean, ms = 3000): Promise<void> => untilWithin(what, cond, ms);

t.test('28 frames of a real controller: CRC16, length, layout; decoded and re-encoded bit-identically', async (t) => {
  t.equal(device.size, 28);
  for (const [name, b] of device) {
    const f = parseGbt20999(b);
    t.equal(hex(encodeGbt20999(f)), hex(b), `${name}: re-encodes to the same bytes`);
    t.equal(f.type, name.endsWith('query') ? 0x10 : name === '17.2.1.1 reply' ? 0x21 : 0x20, `${name}: frame type`);
    t.same([f.version, f.hostId, f.controllerId, f.roadId], [0x0100, 5, 0, 0], `${name}: header`);
    t.equal(f.values.length, 1);
  }
  // the manufacturer string, UTF-8 in 1.1.0.0
  t.equal(Buffer.from(parseGbt20999(dev('1.1.0.0 reply')).values[0]!.data).toString('utf8'), '东土正创');
  t.same(parseGbt20999(dev('3.1.0.0 reply')).values[0]!.data, [0x40], '64 lamp groups');
  // UDP frames are not escaped: this CRC ends in 0x7d right before the end byte 0x7d
  const raw = dev('4.2.4.1 reply');
  t.equal(hex(raw.subarray(-3)), 'df7d7d');
  t.throws(() => parseGbt20999(raw, { escaped: true }), { reason: 'bad-frame', message: /unescaped end byte 0x7d at offset 22/ }, 'read as a TCP frame, the bare 0x7d is an error');
  t.equal(crc16Gbt20999(dev('13.1.9.0 query'), 1, 20), 0xd65c, 'a CRC holding the escape byte 0x5c, unescaped over UDP');
  // a query built here equals the controller's host software's query byte for byte
  const q: Gbt20999Frame = { version: 0x0100, hostId: 5, controllerId: 0, roadId: 0, sequence: 1, type: 0x10, values: [{ index: 1, classId: 13, objectId: 2, attributeId: 2, elementId: 1, data: new Uint8Array(0) }] };
  t.equal(hex(encodeGbt20999(q)), hex(dev('13.2.2.1 query')));
});

t.test('the real controller\'s status objects through the adapter', async (t) => {
  const c = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: [{ signalGroup: 1, phase: 1 }] });
  c.ingest(dev('13.2.2.1 reply'));
  t.match(c.state.runMode, { code: 0x23, name: 'local coordination' });
  c.ingest(dev('13.2.4.1 reply'));
  t.match(c.state.currentStage, { stage: 3 });
  c.ingest(dev('6.3.2.1 reply'));
  c.ingest(dev('6.3.4.1 reply'));
  t.match(c.state.stages.get(1), { state: 0x30, remainingS: 5 }, 'stage 1 in transition, 5 s left (two bytes)');
  // 3.3.1.n is the lamp group number (OpenATC, and the table layout), not its state: no lamp state is taken from it
  c.ingest(dev('3.3.1.1 reply'));
  t.equal(c.state.lamps.size, 0);
  t.equal(c.snapshot(Date.now()), undefined, 'no lamp state yet: no snapshot');
  // a query error reply (17.2.1.1, centre control, not readable on that controller: 0x30)
  t.throws(() => c.ingest(dev('17.2.1.1 reply')), {
    name: 'SignalInputError',
    reason: 'controller-error',
    message: /refused query 2 \(query error reply\): 17\.2\.1\.1: no such object or element$/,
  });
  t.same(c.health().errors, { 'controller-error': 1 });
  t.equal(c.health().updates, 0);
});

t.test('frames built by lining1111\'s GB/T 20999 encoder', async (t) => {
  // the frame in that repository's test comment, with its CRC e443
  const set = parseGbt20999(lin('testSingalControl-comment'));
  t.same([set.type, set.controllerId, set.roadId, set.sequence], [0x30, 0x000c48fc, 1, 0x13]);
  t.same(set.values.map((v) => [v.classId, v.objectId, v.attributeId, v.elementId, ...v.data]), [[0x11, 1, 2, 1, 1], [0x11, 1, 3, 1, 1], [0x11, 1, 4, 1, 0x21]]);
  for (const [name, b] of lining) if (name !== 'escaped-tcp') t.equal(hex(encodeGbt20999(parseGbt20999(b))), hex(b), `${name}: re-encodes identically`);
  // our query is theirs byte for byte
  const c = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: mapping4, controllerId: 0x009a2109 });
  t.equal(hex(c.buildQuery(0x21)), hex(lin('query')));
  // TCP escaping: their TransferMean output parses to the same frame as the plain one, and escapes back the same
  const esc = lin('escaped-tcp');
  t.same(parseGbt20999(esc, { escaped: true }), parseGbt20999(lin('escaped-plain')));
  t.equal(hex(escapeGbt20999(lin('escaped-plain'))), hex(esc));
  t.equal(hex(encodeGbt20999(parseGbt20999(esc, { escaped: true }), { escape: true })), hex(esc));
  // a controller escaping over UDP too: not valid unescaped, valid escaped, accepted and counted
  const lenient = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: [{ signalGroup: 1, phase: 1 }, { signalGroup: 2, phase: 2 }] });
  t.throws(() => parseGbt20999(esc), { reason: 'bad-frame', message: /length field says 34 bytes after it, the frame has 38/ });
  lenient.ingest(esc, 5000);
  t.equal(lenient.state.escapedOverUdp, 1);
  t.same(lenient.snapshot(5000)!.phases.map((p) => p.light), ['red', 'green']);
  t.same(lenient.health().errors, {});

  // the reply: green, red, yellow, green flashing; run mode local fixed cycle
  const at = 1_000_000;
  c.ingest(lin('reply'), at);
  const s = c.snapshot(at + 300)!;
  t.same(s.phases.map((p) => [p.id, p.light, p.display]), [[11, 'green', 'steady'], [12, 'red', 'steady'], [13, 'yellow', 'steady'], [14, 'green', 'flashing']]);
  t.same(s.status, { flash: false, preempt: false, priority: false, dark: false, manual: false, fixedTime: true });
  t.match(s.phases[0]!.windows[0], { endUnknown: true, confidence: 0, nextUnknown: true }, 'GB/T 20999 has no time to change per lamp group');
  // active upload: yellow flash control
  c.ingest(lin('trap-flash'), at + 400);
  const f = c.snapshot(at + 400)!;
  t.same(f.phases.map((p) => [p.light, p.display]), [['yellow', 'flashing'], ['yellow', 'flashing'], ['yellow', 'flashing'], ['yellow', 'flashing']]);
  t.match(f.status, { flash: true, dark: false, fixedTime: false });
  // active upload: lamps off
  c.ingest(lin('trap-off'), at + 500);
  const off = c.snapshot(at + 500)!;
  t.same(off.phases.map((p) => p.display), ['dark', 'dark', 'dark', 'dark']);
  t.match(off.status, { dark: true, flash: false });
  // query error reply for a lamp group the controller does not have
  t.throws(() => c.ingest(lin('query-error'), at + 600), { reason: 'controller-error', message: /lamp group state 3\.3\.2\.9 \(灯组状态\): no such object or element/ });
  t.equal(c.health().updates, 3);
});

t.test('heartbeats: with or without a value count, 0x80 or 0x71 replies', async (t) => {
  const hb = { version: 0x0101, hostId: 1, controllerId: 7, roadId: 0, sequence: 9, type: 0x70, values: [] };
  const bare = encodeGbt20999(hb); // ends after the type, as OpenATC's heartbeat reply does
  t.equal(hex(bare.subarray(0, 13)), '7e000c01010100000007000970', 'length 12, no value count after the type');
  t.equal(bare.length, 16);
  t.same(parseGbt20999(bare).values, []);
  // with a count of 0 (20999-test-first's build_frame) and its 0x71 reply type
  const counted = resign(Buffer.from([0x7e, 0x00, 0x0d, 0x01, 0x00, 0x05, 0, 0, 0, 0, 0, 1, 0x71, 0x00, 0, 0, 0x7d]));
  t.match(parseGbt20999(counted), { type: 0x71, values: [] });
  const c = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: mapping4 });
  c.ingest(counted);
  c.ingest(encodeGbt20999({ ...hb, type: 0x80 }));
  t.same(c.health().errors, {});
  t.equal(c.state.ignoredFrames, 2);
  const noCount = Buffer.from(bare);
  noCount[12] = 0x20;
  t.throws(() => parseGbt20999(resign(noCount)), { reason: 'bad-frame', message: /^query reply frame ends after its type: the data value count is missing$/ }, 'only heartbeats may end after the type');
});

t.test('TCP stream: frames split anywhere, garbage between them', async (t) => {
  const esc = lin('escaped-tcp');
  const frames: Uint8Array[] = [];
  const errors: SignalInputError[] = [];
  const s = new Gbt20999Stream((f) => frames.push(f), (e) => errors.push(e));
  const bytes = Buffer.concat([Buffer.from([1, 2, 3]), esc, esc, Buffer.from([0x7e, 0x00, 0x01]), esc]);
  for (const b of bytes) s.push(Uint8Array.of(b)); // one byte at a time
  t.equal(frames.length, 3);
  for (const f of frames) t.equal(hex(f), hex(esc), 'escaped 0x7e / 0x7d / 0x5c inside do not end or start a frame');
  t.same(errors.map((e) => [e.reason, e.message]), [
    ['bad-header', '3 bytes outside a frame before the start byte 0x7e'],
    ['bad-frame', 'frame cut short: a new start byte 0x7e after 3 bytes without an end byte'],
  ]);
  const big = new Gbt20999Stream(() => t.fail('no frame'), (e) => errors.push(e));
  big.push(Buffer.concat([Buffer.from([0x7e]), Buffer.alloc(GBT20999_MAX_FRAME + 5, 1)]));
  t.match(errors[2], { reason: 'too-long', message: /no end byte within \d+ bytes of a start byte/ });
});

t.test('malformed frames: each is an error naming the problem, counted by reason; nothing changes', async (t) => {
  const c = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: mapping4 });
  const good = lin('reply');
  c.ingest(good, 1000);
  const before = JSON.stringify(c.snapshot(1000));
  const mutate = (f: (b: Buffer) => void, sign = true) => {
    const b = Buffer.from(good);
    f(b);
    return sign ? resign(b) : b;
  };
  // reply layout: 7e | len 0030 | 0100 | 01 | 009a2109 | 00 | seq 21 | type 20 | count 05 | 5 values of 7 bytes from
  // offset 14 (index, length 05, 3, 3, 2, lamp group, state), the last 13.2.2.1 with its run mode at 48 | CRC | 7d
  const cases: Array<[string, Uint8Array, string, RegExp]> = [
    ['10 bytes', Buffer.alloc(10, 0x7e), 'too-short', /frame of 10 bytes; at least 16 expected/],
    ['start byte', mutate((b) => (b[0] = 0x58), false), 'bad-header', /starts with 0x58, expected the start byte 0x7e/],
    ['end byte', good.subarray(0, good.length - 1), 'bad-header', /ends with 0x7e, expected the end byte 0x7d \(frame cut short\?\)/],
    ['length field', mutate((b) => b.writeUInt16BE(0x31, 1), false), 'bad-frame', /length field says 49 bytes after it, the frame has 48/],
    ['CRC', mutate((b) => (b[21] = 0x10), false), 'bad-checksum', /CRC16 0xea7e in the frame, 0x[0-9a-f]{4} computed over its 48 bytes from the length field to the last data value$/],
    ['frame type', mutate((b) => (b[12] = 0x99)), 'bad-frame', /unknown frame type 0x99/],
    ['value count too high', mutate((b) => (b[13] = 6)), 'bad-frame', /announces 6 data values but ends after 5/],
    ['value count too low', mutate((b) => (b[13] = 4)), 'bad-frame', /7 bytes between the last of 4 data values and the CRC/],
    ['value length < 4', mutate((b) => (b[15] = 3)), 'bad-frame', /data value 1 \(index 1\) has length 3, less than its 4 id bytes/],
    ['value past the CRC', mutate((b) => (b[43] = 9)), 'bad-frame', /data value 5 \(index 5\) of length 9 runs past the CRC: 5 bytes left/],
    ['lamp state', mutate((b) => (b[20] = 0x05)), 'bad-value', /lamp group state 3\.3\.2\.1 \(灯组状态\): lamp group 1 state 0x05 is not a GB\/T 20999 lamp state/],
    ['run mode', mutate((b) => (b[48] = 0x77)), 'bad-value', /run mode 13\.2\.2\.1 \(路口运行模式\): run mode 0x77 is not a GB\/T 20999 run mode/],
    ['lamp group beyond 64', mutate((b) => (b[19] = 65)), 'bad-value', /3\.3\.2\.65 .*lamp group 65 is beyond 64/],
    ['reply without lamp group 4', mutate((b) => (b[40] = 9)), 'bad-value', /the reply to query 33 has no state for lamp group 4 \(3\.3\.2\.n\)/],
  ];
  const counts: Record<string, number> = {};
  for (const [what, b, reason, re] of cases) {
    t.throws(() => c.ingest(b, 1000), { name: 'SignalInputError', reason, message: re }, what);
    counts[reason] = (counts[reason] ?? 0) + 1;
  }
  // a two-byte lamp state
  const wide = parseGbt20999(good);
  wide.values[1] = { ...wide.values[1]!, data: Uint8Array.of(0x10, 0x10) };
  t.throws(() => c.ingest(encodeGbt20999(wide), 1000), { reason: 'bad-value', message: /3\.3\.2\.2 .*: 2 data bytes, expected 1 \(a lamp state\)/ });
  counts['bad-value']!++;
  // escapes, over TCP
  const esc = lin('escaped-tcp');
  const escCases: Array<[Uint8Array, RegExp]> = [
    [Buffer.concat([esc.subarray(0, esc.length - 1), Buffer.from([0x5c, 0x7d])]), /escape byte 0x5c at offset \d+ has nothing after it before the end byte/],
    [Buffer.from(esc).fill(0x41, 7, 8), /escape byte 0x5c at offset 6 is followed by 0x41; only 0x7e, 0x7d and 0x5c are escaped/],
    [Buffer.from(esc).fill(0x7e, 6, 7), /unescaped start byte 0x7e at offset 6 inside an escaped \(TCP\) frame/],
  ];
  for (const [b, re] of escCases) t.throws(() => parseGbt20999(b, { escaped: true }), { reason: 'bad-frame', message: re });
  t.throws(() => parseGbt20999(Buffer.alloc(GBT20999_MAX_FRAME + 1, 0x7e)), { reason: 'too-long' });

  t.same(c.health().errors, counts, 'every error counted under its reason');
  t.match(c.health().lastError, { reason: 'bad-value', message: /^gbt20999 udp 127\.0\.0\.1:1: / });
  t.equal(JSON.stringify(c.snapshot(1000)), before, 'no malformed frame changed the state');
  t.equal(c.health().updates, 1);

  // a configured controller id: frames from another controller are rejected
  const other = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: mapping4, controllerId: 0x12345678 });
  t.throws(() => other.ingest(good), { reason: 'bad-header', message: /query reply frame from controller id 0x009a2109, expected 0x12345678 \(controllerId\)/ });
});

t.test('random corruption of every fixture: only SignalInputErrors, never a crash', async (t) => {
  const all = [...device.values(), ...lining.values()];
  let seed = 20999; // xorshift32: deterministic runs
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return Math.floor(((seed >>> 0) / 2 ** 32) * n);
  };
  const c = new Gbt20999Controller({ host: '127.0.0.1', port: 1, mapping: mapping4 });
  const stream = new Gbt20999Stream((f) => { try { parseGbt20999(f, { escaped: true }); } catch (e) { if (!(e instanceof SignalInputError)) throw e; } }, () => {});
  let other = 0;
  let accepted = 0;
  let ingested = 0;
  for (let i = 0; i < 20000; i++) {
    const b = Buffer.from(all[rnd(all.length)]!);
    let m: Buffer = b;
    switch (rnd(4)) {
      case 0: m[rnd(b.length)] = rnd(256); break;
      case 1: m = b.subarray(0, rnd(b.length)); break;
      case 2: m = Buffer.concat([b.subarray(0, rnd(b.length)), Buffer.from([rnd(256)]), b.subarray(rnd(b.length))]); break;
      default: m[rnd(b.length)] = rnd(256); m = resign(m.length >= 4 ? m : b); break; // past the CRC
    }
    for (const escaped of [false, true]) {
      try {
        if (escaped) parseGbt20999(m, { escaped });
        else {
          c.ingest(m, 1000);
          ingested++;
        }
        accepted++;
      } catch (e) {
        if (!(e instanceof SignalInputError)) other++;
      }
    }
    stream.push(m);
  }
  t.equal(other, 0, 'no other exception');
  const h = c.health();
  const rejected = Object.values(h.errors).reduce((a, b) => a + (b ?? 0), 0);
  t.equal(rejected + ingested, 20000, `every datagram either applied (${ingested}) or counted as an error: ${JSON.stringify(h.errors)}`);
  for (const r of ['bad-checksum', 'bad-frame', 'bad-header', 'bad-value', 'too-short'] as const) t.ok((h.errors[r] ?? 0) > 0, `mutations rejected as ${r}`);
  t.ok(accepted > 0, 'mutations past the CRC of objects not read here are accepted');
});

/** A fake GB/T 20999 controller on UDP 127.0.0.1 that answers every query with `answer` (until it is undefined). */
async function udpController(t: { teardown(fn: () => unknown): void }, answer: () => Uint8Array | undefined) {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sock.close());
  const queries: Gbt20999Frame[] = [];
  const others: Gbt20999Frame[] = [];
  let peer: { port: number; address: string } | undefined;
  sock.on('message', (msg, rinfo) => {
    const f = parseGbt20999(msg);
    peer = rinfo;
    if (f.type !== 0x10) return void others.push(f);
    queries.push(f);
    const a = answer();
    if (a) sock.send(a, rinfo.port, rinfo.address);
  });
  return { port: sock.address().port, queries, others, send: (b: Uint8Array, port: number) => sock.send(b, port, '127.0.0.1'), peer: () => peer };
}

t.test('live UDP round trip on 127.0.0.1: query loop, active upload, heartbeat, silence → alarm', async (t) => {
  let answer: Uint8Array | undefined = lin('reply');
  const ctl = await udpController(t, () => answer);
  const c = new Gbt20999Controller({ host: '127.0.0.1', port: ctl.port, listenHost: '127.0.0.1', mapping: mapping4, controllerId: 0x009a2109, pollMs: 50, timeoutMs: 100 });
  t.equal(c.tracker.staleAfterMs, 250, 'stale after 3 polls + the timeout');
  t.match(c.health().alarm, /no controller state received yet/);
  await c.start();
  t.teardown(() => c.close());
  await until('a state', () => c.health().updates >= 3);
  const q = ctl.queries[0]!;
  t.same(q.values.map((v) => `${v.classId}.${v.objectId}.${v.attributeId}.${v.elementId}`), ['3.3.2.1', '3.3.2.2', '3.3.2.3', '3.3.2.4', '13.2.2.1'], 'the query asks for the mapped lamp groups and the run mode');
  t.same([q.hostId, q.controllerId, q.version], [1, 0x009a2109, 0x0100]);
  t.same(ctl.queries.slice(0, 3).map((f) => f.sequence), [1, 2, 3], 'a sequence number per query');
  t.same(c.snapshot(Date.now())!.phases.map((p) => p.light), ['green', 'red', 'yellow', 'green']);
  t.same(c.health().errors, {});
  t.equal(c.health().connected, true);

  // the controller uploads yellow flash on its own
  answer = undefined;
  ctl.send(lin('trap-flash'), c.port);
  await until('the upload', () => c.snapshot(Date.now())?.status?.flash === true);
  t.same(c.snapshot(Date.now())!.phases.map((p) => p.display), ['flashing', 'flashing', 'flashing', 'flashing']);
  // a heartbeat query from the controller is answered with a heartbeat reply (same sequence)
  ctl.send(encodeGbt20999({ version: 0x0100, hostId: 1, controllerId: 0x009a2109, roadId: 0, sequence: 77, type: 0x70, values: [] }), c.port);
  await until('the heartbeat reply', () => ctl.others.length > 0);
  t.match(ctl.others[0], { type: 0x80, sequence: 77, controllerId: 0x009a2109, values: [] });

  // silence: no more answers; the state goes stale, the alarm says why
  await until('stale', () => c.snapshot(Date.now()) === undefined, 2000);
  const h = c.health();
  t.equal(h.connected, false);
  t.match(h.alarm, /^gbt20999 udp 127\.0\.0\.1:\d+: controller silent for \d+ ms \(> 250 ms\); SPAT stopped \(last error: .*no reply from 127\.0\.0\.1:\d+ within 100 ms to query \d+/);
  t.ok((h.errors.timeout ?? 0) >= 1, `timeouts counted: ${JSON.stringify(h.errors)}`);

  // garbage from the controller's address is counted, not thrown
  ctl.send(Buffer.from('hello'), c.port);
  await until('garbage counted', () => (c.health().errors['too-short'] ?? 0) === 1);
  // it answers again: the state comes back
  answer = lin('reply');
  await until('fresh again', () => c.snapshot(Date.now()) !== undefined);
  t.equal(c.health().alarm, undefined);
});

t.test('live TCP round trip on 127.0.0.1: escaped frames in pieces, reconnect, refused connection', async (t) => {
  const conns: TcpSocket[] = [];
  let queries = 0;
  const server = createServer((s) => {
    conns.push(s);
    const st = new Gbt20999Stream(
      (f) => {
        const q = parseGbt20999(f, { escaped: true });
        if (q.type !== 0x10) return;
        queries++;
        // the reply, escaped by lining1111's TransferMean, written in 3-byte pieces after two stray bytes
        const r = Buffer.concat([Buffer.from([0x00, 0xff]), lin('escaped-tcp')]);
        for (let i = 0; i < r.length; i += 3) s.write(r.subarray(i, i + 3));
      },
      () => {},
    );
    s.on('data', (d) => st.push(d));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const c = new Gbt20999Controller({ host: '127.0.0.1', port, transport: 'tcp', mapping: [{ signalGroup: 1, phase: 1 }, { signalGroup: 2, phase: 2 }], pollMs: 50, timeoutMs: 100, reconnectMs: 50 });
  await c.start();
  t.teardown(() => c.close());
  await until('a state over TCP', () => c.health().updates >= 2);
  const s = c.snapshot(Date.now())!;
  t.same(s.phases.map((p) => [p.id, p.light]), [[1, 'red'], [2, 'green']]);
  t.match(c.state, { controllerId: 0x7e7d5c01, runMode: { code: 0x22, name: 'local actuated' } });
  t.ok((c.health().errors['bad-header'] ?? 0) >= 1, 'the stray bytes are counted');
  t.equal(c.health().connected, true);

  // the controller drops the connection: the RSU reconnects
  const n = queries;
  conns[0]!.destroy();
  await until('reconnected and answered', () => conns.length >= 2 && queries > n + 1);
  // the controller goes away: connection refused, state stale, alarm
  for (const s of conns) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  await until('stale', () => c.snapshot(Date.now()) === undefined, 2000);
  await until('refused counted', () => (c.health().errors['socket-error'] ?? 0) >= 1, 2000);
  t.match(c.health().lastError?.message, /TCP connection to 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  t.match(c.health().alarm, /controller silent .*SPAT stopped/);
  t.equal(c.health().connected, false);
});

const config = signalDaemonConfig;

t.test('daemon with kind gbt20999: SPAT from the controller\'s lamp groups, withheld with an alarm when it goes silent', async (t) => {
  const { port: sinkPort, spats } = await radioSink(t);
  let answer: Uint8Array | undefined = lin('reply');
  const ctl = await udpController(t, () => answer);
  const cfg = config({ kind: 'gbt20999', target: `127.0.0.1:${ctl.port}`, listen: '127.0.0.1:0', controllerId: 0x009a2109, mapping: mapping4 }, sinkPort);
  t.match(cfg.applications.spat.controller, { kind: 'gbt20999', transport: 'udp', hostId: 1, roadId: 0, intersection: 1, version: 0x0100, pollMs: 100, timeoutMs: 500 });
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  await until('SPAT', () => spats.length >= 5, 4000);
  const ix = spats[spats.length - 1]!.v.intersections[0];
  t.same(ix.phases.map((p: any) => [p.id, p.phaseStates[0].light]), [[11, 'protected-green'], [12, 'red'], [13, 'yellow'], [14, 'flashing-green']]);
  t.equal(ix.status, '0400', 'local fixed cycle: fixed-time operation');
  t.equal(ix.phases[0].phaseStates[0].timing.counting.likelyEndTime, 36001, 'no time to change: unknown');
  t.match(d.status().signal, { kind: 'gbt20999', connected: true });
  t.same(alarmsBesidesUnsigned(d.status().alarms), []);

  answer = undefined;
  const silentAt = Date.now();
  await until('alarm', () => alarmsBesidesUnsigned(d.status().alarms).length > 0, 3000);
  t.match(alarmsBesidesUnsigned(d.status().alarms), [new RegExp(`^${SIGNAL_SILENT_ALARM} \\(gbt20999 udp 127\\.0\\.0\\.1:${ctl.port}: last state \\d+ ms ago(; last error: .*no reply from .*)?\\)$`)]);
  await sleep(300);
  const stale = 3 * 100 + 500;
  t.equal(spats.filter((s) => s.at > silentAt + stale + 150).length, 0, 'no SPAT once the state is stale');
  t.match(d.status().signal, { kind: 'gbt20999', connected: false, alarm: /controller silent/ });
});
