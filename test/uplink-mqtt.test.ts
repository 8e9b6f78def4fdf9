/** MQTT uplink against a real mosquitto: topics, envelope, status/will, downlinks, full spool, throughput. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import {
  encodeDownlink,
  Uplink,
  type DownlinkHandler,
  type DownlinkMessage,
  type UplinkOptions,
} from '../runtime/uplink/index.js';
import { silentLogger } from '../runtime/uplink/types.js';
import { typeFor, uperFor } from './fixtures/uplink/records.js';
import { freePort, Mosquitto, mosquittoMissing, UplinkVerifier } from './support/mosquitto.js';
import { tmpDir, until } from './support/wait.js';

const skip = mosquittoMissing();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const tmpdir = (t: Test): string => tmpDir(t, 'rsu-mqtt-test-');

async function broker(t: Test): Promise<Mosquitto> {
  const m = await Mosquitto.start();
  t.teardown(() => m.stop());
  return m;
}

async function openUplink(t: Test, opts: UplinkOptions): Promise<Uplink> {
  const up = await Uplink.open(opts);
  t.teardown(() => up.close());
  return up;
}


for (const protocolVersion of [5, 4] as const) {
  t.test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: records, topics, envelope, order, retained status`, { skip: skip ?? false }, async (t) => {
    const m = await broker(t);
    const rsuId = `RSU-V${protocolVersion}`;
    const v = await UplinkVerifier.connect(m.url, rsuId, { keepEnvelopes: true, protocolVersion });
    t.teardown(() => v.end());
    const up = await openUplink(t, {
      rsuId,
      spool: { dir: tmpdir(t) },
      mqtt: { url: m.url, protocolVersion, window: 16, softwareVersion: 'test-1' },
      messageSet: 'csae2020',
    });
    const N = 1000;
    const seqs: number[] = [];
    for (let i = 1; i <= N; i++) {
      const r = up.submit({
        type: typeFor(i),
        uper: uperFor(i),
        captureTimeMs: 1_700_000_000_000 + i,
        summary: i % 2 ? { stationId: `veh${i}`, latDeg: 31.5, lonDeg: 121.25, msgCount: i % 128 } : undefined,
      });
      if (r.ok) seqs.push(r.seq);
    }
    t.same(seqs, Array.from({ length: N }, (_, i) => i + 1), 'seq numbers 1..N');
    await v.waitFor(() => v.seen.size === N, 20_000, 'all records');
    await until('all PUBACKs', () => up.stats().mqtt!.pending === 0, 5000);
    t.same(v.errors, []);
    t.same(v.orderViolations(), []);
    t.equal(v.duplicates, 0, 'no duplicates without faults');
    const e7 = v.envelopes.find((e) => e.seq === 7)!;
    t.equal(e7.msgType, 'map');
    t.equal(e7.captureTimeMs, 1_700_000_000_007);
    t.same(Buffer.from(e7.uper), uperFor(7));
    t.equal(e7.messageSet, 'csae2020');
    t.same(e7.summary, { stationId: 'veh7', latDeg: 31.5, lonDeg: 121.25, msgCount: 7 });
    t.equal(v.envelopes.find((e) => e.seq === 8)!.summary, undefined);
    const st = up.stats();
    t.equal(st.mqtt!.acked, N);
    t.equal(st.mqtt!.pending, 0);
    t.equal(st.mqtt!.state, 'up');
    t.equal(st.submitted, N);
    t.ok(st.mqtt!.inFlight <= 16);
    await v.waitFor(() => v.statuses.length > 0, 5000, 'status');
    t.equal(v.statuses[0]!.state, 'ONLINE');
    t.equal(v.statuses[0]!.softwareVersion, 'test-1');
    // retained: a late subscriber gets the status
    const late = await UplinkVerifier.connect(m.url, rsuId);
    await late.waitFor(() => late.statuses.length > 0, 5000, 'retained status');
    t.equal(late.statuses[0]!.state, 'ONLINE');
    await up.close();
    await v.waitFor(() => v.statuses.some((s) => s.state === 'OFFLINE'), 5000, 'OFFLINE status');
    await late.end();
    const late2 = await UplinkVerifier.connect(m.url, rsuId);
    await late2.waitFor(() => late2.statuses.length > 0, 5000, 'retained status after close');
    t.equal(late2.statuses[0]!.state, 'OFFLINE', 'clean shutdown leaves OFFLINE retained');
    await late2.end();
  });
}

t.test('last will: a connection lost without shutdown leaves OFFLINE_LOST retained', { skip: skip ?? false }, async (t) => {
  const m = await broker(t);
  const rsuId = 'RSU-WILL';
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  const up = await openUplink(t, { rsuId, spool: { dir: tmpdir(t) }, mqtt: { url: m.url, reconnectMinMs: 5000, reconnectMaxMs: 5000 } });
  await v.waitFor(() => v.statuses.some((s) => s.state === 'ONLINE'), 5000, 'ONLINE');
  // cut the TCP connection under the client, as a crash or a network failure would
  const conn = (up.mqtt as unknown as { conn: { client: { stream: { destroy(): void } } } }).conn;
  conn.client.stream.destroy();
  await v.waitFor(() => v.statuses.some((s) => s.state === 'OFFLINE_LOST'), 5000, 'OFFLINE_LOST will');
  t.pass('will published');
  await until('disconnect counted', () => up.stats().mqtt!.disconnects === 1, 5000);
  t.equal(up.stats().mqtt!.state, 'down');
});

t.test('downlinks: valid ones applied and acked, bad ones rejected with a reason and change nothing', { skip: skip ?? false }, async (t) => {
  const m = await broker(t);
  const rsuId = 'RSU-DL';
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  const applied: Array<{ kind: string; msgId: string }> = [];
  const rsi: DownlinkHandler = {
    validate(msg: DownlinkMessage) {
      if (msg.payload[0] === 0xee) return { ok: false, reason: 'RSI UPER does not decode' };
      if (msg.payload[0] === 0xef) throw new Error('validator exploded');
      return { ok: true };
    },
    apply(msg: DownlinkMessage) {
      if (msg.payload[0] === 0xaa) throw new Error('radio queue full');
      applied.push({ kind: 'rsi', msgId: msg.msgId });
    },
  };
  // Plain MQTT to a test broker: its identity is not verified (test/adversarial/downlinks.test.ts covers that refusal).
  const up = await openUplink(t, { rsuId, spool: { dir: tmpdir(t) }, mqtt: { url: m.url, downlink: { rsi }, requireVerifiedBroker: false } });
  await v.waitFor(() => v.statuses.some((s) => s.state === 'ONLINE'), 5000, 'ONLINE');
  await sleep(100); // downlink subscription in place
  const cloud = await mqtt.connectAsync(m.url, { clientId: 'cloud', protocolVersion: 5 });
  t.teardown(() => cloud.endAsync());
  const base = `v2x/v1/rsu/${rsuId}`;
  const now = Date.now();
  const dl = (o: Partial<DownlinkMessage>): Buffer =>
    Buffer.from(encodeDownlink({ rsuId, issuedTimeMs: now, contentType: 'application/x-uper;set=csae2020', payload: Buffer.from([1, 2, 3]), ...o }));
  const valid = dl({ msgId: 'ok-1' });
  const cases: Array<{ topic: string; payload: Buffer; expect: RegExp | 'accepted'; msgId?: string }> = [
    { topic: `${base}/rsi/down`, payload: valid, expect: 'accepted', msgId: 'ok-1' },
    { topic: `${base}/rsi/down`, payload: valid, expect: 'accepted', msgId: 'ok-1' }, // duplicate: acked again, applied once
    { topic: `${base}/rsi/down`, payload: valid.subarray(0, valid.length - 2), expect: /malformed downlink/ },
    { topic: `${base}/rsi/down`, payload: Buffer.alloc(0), expect: /empty downlink payload/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: 'wrong', rsuId: 'RSU-OTHER' }), expect: /addressed to rsu_id "RSU-OTHER"/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: 'old', expiresTimeMs: now - 1000 }), expect: /expired/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: 'nopayload', payload: Buffer.alloc(0) }), expect: /payload field is empty/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: '', payload: Buffer.from([1]) }), expect: /msg_id is empty/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: 'bad-uper', payload: Buffer.from([0xee]) }), expect: /RSI UPER does not decode/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: 'boom', payload: Buffer.from([0xef]) }), expect: /validation failed: validator exploded/ },
    { topic: `${base}/rsi/down`, payload: dl({ msgId: 'applyfail', payload: Buffer.from([0xaa]) }), expect: /apply failed: radio queue full/ },
    { topic: `${base}/config/down`, payload: dl({ msgId: 'cfg-1', contentType: 'application/yaml' }), expect: /no config downlink handler/ },
    { topic: `${base}/config/down`, payload: randomBytes(66 * 1024), expect: /exceeds the limit/ },
  ];
  // random bytes and truncations of a valid message
  for (let i = 0; i < 40; i++) cases.push({ topic: `${base}/${i % 2 ? 'rsi' : 'config'}/down`, payload: randomBytes(1 + (i * 37) % 300), expect: /./ });
  for (let cut = 1; cut < valid.length; cut += 3) cases.push({ topic: `${base}/rsi/down`, payload: valid.subarray(0, cut), expect: /./ });
  for (const c of cases) await cloud.publishAsync(c.topic, c.payload, { qos: 1 });
  await v.waitFor(() => v.acks.length >= cases.length, 10_000, `${cases.length} acks`);
  t.equal(v.acks.length, cases.length, 'one ack per downlink');
  for (let i = 0; i < 13; i++) {
    const c = cases[i]!;
    const a = v.acks[i]!;
    if (c.expect === 'accepted') {
      t.ok(a.accepted, `case ${i} accepted`);
      t.equal(a.msgId, c.msgId);
    } else {
      t.notOk(a.accepted, `case ${i} rejected: ${a.reason}`);
      t.match(a.reason, c.expect);
    }
    t.equal(a.rsuId, rsuId);
    t.equal(a.payloadBytes, c.payload.length);
  }
  t.ok(v.acks.slice(13).every((a) => !a.accepted && a.reason.length > 0), 'every fuzzed downlink rejected with a reason');
  t.same(applied, [{ kind: 'rsi', msgId: 'ok-1' }], 'only the valid message was applied, once');
  const st = up.stats().mqtt!.downlink;
  t.equal(st.received, cases.length);
  t.equal(st.accepted, 1);
  t.equal(st.duplicates, 1);
  t.equal(st.rejected, cases.length - 2);
  // a handler plugged in later
  up.setDownlinkHandler('config', { validate: () => ({ ok: true }), apply: (msg) => void applied.push({ kind: 'config', msgId: msg.msgId }) });
  await cloud.publishAsync(`${base}/config/down`, dl({ msgId: 'cfg-2', contentType: 'application/yaml' }), {
    qos: 1,
    properties: { correlationData: Buffer.from('corr-42') },
  });
  await v.waitFor(() => v.acks.length > cases.length, 5000, 'config ack');
  t.ok(v.acks.at(-1)!.accepted);
  t.same(applied.at(-1), { kind: 'config', msgId: 'cfg-2' });
  t.equal(up.stats().mqtt!.state, 'up', 'the link stayed up through all of it');
});

t.test('submit() refuses bad records with a clear error and counts them', async (t) => {
  const up = await openUplink(t, { rsuId: 'RSU-IN', spool: { dir: tmpdir(t), segmentBytes: 8192, maxBytes: 65536 }, mqtt: { url: 'mqtt://127.0.0.1:1' } });
  t.match(up.submit({ type: 'cam' as 'bsm', uper: Buffer.from([1]) }), { ok: false, error: /unknown uplink message type "cam"/ });
  t.match(up.submit({ type: 'bsm', uper: Buffer.alloc(0) }), { ok: false, error: /uper is empty/ });
  t.match(up.submit({ type: 'bsm', uper: 'abc' as unknown as Uint8Array }), { ok: false, error: /must be a Uint8Array/ });
  t.match(up.submit({ type: 'bsm', uper: Buffer.from([1]), captureTimeMs: 1.5 }), { ok: false, error: /captureTimeMs/ });
  t.match(up.submit({ type: 'bsm', uper: Buffer.alloc(9000) }), { ok: false, error: /exceeds the spool limit/ });
  t.match(up.submit({ type: 'bsm', uper: Buffer.from([1]) }), { ok: true, seq: 1 });
  t.equal(up.stats().rejected, 5);
  t.equal(up.stats().submitted, 1);
  await t.rejects(Uplink.open({ rsuId: 'a/b', spool: { dir: tmpdir(t) } }), /may only contain/);
});

t.test('full spool while the broker is unreachable: oldest dropped and counted, the rest delivered after restart', { skip: skip ?? false }, async (t) => {
  const dir = tmpdir(t);
  const rsuId = 'RSU-FULL';
  const deadPort = await freePort();
  const spool = { dir, segmentBytes: 16 * 1024, maxBytes: 64 * 1024 };
  const N = 5000;
  {
    const up = await Uplink.open({ rsuId, spool, mqtt: { url: `mqtt://127.0.0.1:${deadPort}`, reconnectMinMs: 50, reconnectMaxMs: 100 } });
    for (let i = 1; i <= N; i++) {
      const r = up.submit({ type: typeFor(i), uper: uperFor(i) });
      if (!r.ok) t.fail(r.error);
    }
    await until('connect failure', () => up.stats().mqtt!.connectFailures > 0, 5000);
    const st = up.stats();
    t.equal(st.mqtt!.state === 'down' || st.mqtt!.state === 'connecting', true, `state ${st.mqtt!.state}`);
    t.match(st.mqtt!.lastError, /ECONNREFUSED|connection closed/);
    t.ok(st.spool.bytes <= 64 * 1024, 'bounded');
    t.ok(st.spool.droppedRecords > 0, `dropped ${st.spool.droppedRecords}`);
    t.equal(st.mqtt!.acked, 0);
    t.equal(st.submitted, N, 'every submit succeeded: the spool never refuses because it is full');
    await up.close();
  }
  const m = await broker(t);
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  const up = await openUplink(t, { rsuId, spool, mqtt: { url: m.url } });
  const firstKept = up.stats().spool.firstId;
  const pending = up.stats().mqtt!.pending;
  t.equal(firstKept + pending, N + 1, 'the spool holds exactly the newest records');
  await v.waitFor(() => v.seen.size >= pending, 10_000, 'kept records delivered');
  await sleep(100);
  t.equal(v.seen.size, pending);
  t.same(v.missing(firstKept, N), [], 'every kept record delivered');
  t.equal(Math.min(...v.seen.keys()), firstKept, 'nothing older than the oldest kept record');
});

t.test('MQTT 5 broker refusal (ACL): refused records are dropped and counted, the others flow; retry policy keeps them', { skip: skip ?? false }, async (t) => {
  const dir = tmpdir(t);
  const acl = path.join(dir, 'acl');
  fs.writeFileSync(acl, ['bsm', 'spat', 'map', 'rsi'].map((x) => `topic write v2x/v1/rsu/+/${x}/up`).concat(['topic write v2x/v1/rsu/+/status', 'topic write v2x/v1/rsu/+/ack/up', 'topic read v2x/#', '']).join('\n'));
  const m = await Mosquitto.start({ extra: [`acl_file ${acl}`] });
  t.teardown(() => m.stop());
  const rsuId = 'RSU-ACL';
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  {
    // mosquitto 2.0.11 answers a denied QoS 1 publish of an MQTT 5 client with PUBACK 0x87 and
    // then drops the connection, discarding PUBACKs still queued; window 1 lets every PUBACK out
    // Each refusal is logged; lastError may already name the connection the broker dropped after the last one.
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (o: object) => void warnings.push(String((o as { err?: unknown }).err ?? '')) };
    const up = await openUplink(t, {
      rsuId,
      spool: { dir: path.join(dir, 'drop') },
      mqtt: { url: m.url, window: 1, reconnectMinMs: 10, reconnectMaxMs: 20 },
      logger,
    });
    for (let i = 1; i <= 100; i++) up.submit({ type: typeFor(i), uper: uperFor(i) });
    await until('drained', () => up.stats().mqtt!.pending === 0, 20_000);
    const st = up.stats().mqtt!;
    t.equal(st.refusedByBroker, 20, 'the 20 rsm records were refused and counted');
    const refusals = warnings.filter((w) => /refused record \d+ on v2x\/v1\/rsu\/RSU-ACL\/rsm\/up for good.*Not authorized/.test(w));
    t.equal(refusals.length, 20, 'each refusal logged, naming the record, the topic and the reason');
    await v.waitFor(() => v.seen.size >= 80, 5000, '80 records');
    t.notOk([...v.seen.keys()].some((s) => typeFor(s) === 'rsm'));
    t.equal(st.state, 'up');
    await up.close();
  }
  {
    const up = await openUplink(t, { rsuId, spool: { dir: path.join(dir, 'retry') }, mqtt: { url: m.url, window: 1, onBrokerRefusal: 'retry', reconnectMinMs: 10, reconnectMaxMs: 20 } });
    for (let i = 1; i <= 10; i++) up.submit({ type: 'rsm', uper: uperFor(i) });
    await until('retries', () => up.stats().mqtt!.rejectedByBroker >= 3, 10_000);
    t.equal(up.stats().mqtt!.pending, 10, "'retry' keeps refused records in the spool");
  }
});

t.test('end-to-end throughput to local mosquitto (numbers for the report)', { skip: skip ?? false }, async (t) => {
  const m = await broker(t);
  const rsuId = 'RSU-PERF';
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  const up = await openUplink(t, { rsuId, spool: { dir: tmpdir(t) }, mqtt: { url: m.url } });
  await until('connected', () => up.stats().mqtt!.state === 'up', 5000);
  const N = 20_000;
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) up.submit({ type: typeFor(i), uper: uperFor(i) });
  const submitted = performance.now();
  await until('all acked', () => up.stats().mqtt!.pending === 0, 60_000);
  const acked = performance.now();
  await v.waitFor(() => v.seen.size >= N, 30_000, 'all received');
  const received = performance.now();
  t.equal(v.seen.size, N);
  t.comment(
    `MQTT 5 QoS 1, window 64, ${N} records of ~70 B: submit ${Math.round(N / ((submitted - t0) / 1000))}/s; ` +
      `broker-acked ${Math.round(N / ((acked - t0) / 1000))}/s; at independent subscriber ${Math.round(N / ((received - t0) / 1000))}/s`,
  );
});
