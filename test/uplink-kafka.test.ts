/**
 * Kafka uplink with node-rdkafka against librdkafka's mock cluster (hosted
 * by kcat in its own process), verified with kcat as an independent
 * consumer.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { decodeEnvelope, Uplink } from '../runtime/uplink/index.js';
import { TYPES, typeFor, uperFor, type ChildConfig } from './fixtures/uplink/records.js';
import { KafkaMock, kafkaMissing, type KafkaRecord } from './support/kafka-mock.js';
import { freePort, Mosquitto, mosquittoMissing, UplinkVerifier } from './support/mosquitto.js';
import { tmpDir, until } from './support/wait.js';

const skip = kafkaMissing();
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const tmpdir = (t: Test): string => tmpDir(t, 'rsu-kafka-test-');

async function mock(t: Test): Promise<KafkaMock> {
  const k = await KafkaMock.start();
  t.teardown(() => k.stop());
  return k;
}


interface Check {
  seen: Map<number, number>;
  duplicates: number;
  problems: string[];
}

/** Read every type topic with kcat and check key, headers, envelope, per-partition order. */
async function readAll(k: KafkaMock, rsuId: string): Promise<Check & { records: KafkaRecord[] }> {
  const seen = new Map<number, number>();
  const problems: string[] = [];
  let duplicates = 0;
  const records: KafkaRecord[] = [];
  const perType = await Promise.all(TYPES.map((type) => k.consume(`v2x.v1.${type}.up`)));
  for (const [i, type] of TYPES.entries()) {
    const recs = perType[i]!;
    records.push(...recs);
    const partitions = new Set(recs.map((r) => r.partition));
    if (partitions.size > 1) problems.push(`${type}: one key but ${partitions.size} partitions`);
    let lastFirst = 0;
    for (const r of recs) {
      const e = decodeEnvelope(r.value);
      if (r.key !== rsuId) problems.push(`${type}@${r.offset}: key ${r.key}`);
      if (r.headers.seq !== String(e.seq)) problems.push(`${type}@${r.offset}: header seq ${r.headers.seq} != ${e.seq}`);
      if (r.headers.msg_type !== type || e.msgType !== type) problems.push(`${type}@${r.offset}: type ${e.msgType}`);
      if (!Buffer.from(e.uper).equals(uperFor(e.seq))) problems.push(`${type}@${r.offset}: uper bytes differ`);
      const n = seen.get(e.seq) ?? 0;
      seen.set(e.seq, n + 1);
      if (n > 0) duplicates++;
      else {
        if (e.seq < lastFirst) problems.push(`${type}: first arrival of ${e.seq} after ${lastFirst}`);
        lastFirst = e.seq;
      }
    }
  }
  return { seen, duplicates, problems, records };
}

function missing(seen: Map<number, number>, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) if (!seen.has(i)) out.push(i);
  return out;
}

t.test('records reach Kafka: topic per type, key = RSU id, delivery reports ack the spool', { skip: skip ?? false, timeout: 60_000 }, async (t) => {
  const k = await mock(t);
  const rsuId = 'RSU-K1';
  const up = await Uplink.open({ rsuId, spool: { dir: tmpdir(t) }, kafka: { brokers: k.bootstrap } });
  t.teardown(() => up.close());
  const N = 3000;
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) up.submit({ type: typeFor(i), uper: uperFor(i), captureTimeMs: 1_700_000_000_000 + i });
  await until('all delivery reports', () => up.stats().kafka!.pending === 0, 30_000);
  const ms = performance.now() - t0;
  const st = up.stats().kafka!;
  t.equal(st.acked, N);
  t.equal(st.deliveryErrors, 0);
  t.equal(st.state, 'up');
  const r = await readAll(k, rsuId);
  t.same(missing(r.seen, 1, N), [], 'kcat sees every record');
  t.equal(r.duplicates, 0, 'no duplicates without faults (idempotent producer)');
  t.same(r.problems, []);
  t.equal(r.records.length, N);
  t.comment(`Kafka (mock cluster): ${N} records delivered in ${Math.round(ms)} ms = ${Math.round(N / (ms / 1000))} records/s`);
});

t.test('broker unreachable at start: records wait in the spool, delivered once it is there', { skip: skip ?? false, timeout: 60_000 }, async (t) => {
  const dir = tmpdir(t);
  const rsuId = 'RSU-K2';
  const N = 500;
  {
    const dead = `127.0.0.1:${await freePort()}`;
    const up = await Uplink.open({
      rsuId,
      spool: { dir },
      kafka: { brokers: dead, connectTimeoutMs: 1000, reconnectMinMs: 100, reconnectMaxMs: 200 },
    });
    for (let i = 1; i <= N; i++) up.submit({ type: typeFor(i), uper: uperFor(i) });
    await until('connect failure', () => up.stats().kafka!.connectFailures >= 1, 15_000);
    const st = up.stats().kafka!;
    t.not(st.state, 'up');
    t.ok(st.lastError.length > 0, `error reported: ${st.lastError}`);
    t.equal(st.pending, N, 'records stay in the spool');
    await up.close();
  }
  const k = await mock(t);
  const up = await Uplink.open({ rsuId, spool: { dir }, kafka: { brokers: k.bootstrap } });
  t.teardown(() => up.close());
  await until('delivered', () => up.stats().kafka!.pending === 0, 30_000);
  const r = await readAll(k, rsuId);
  t.same(missing(r.seen, 1, N), []);
  t.same(r.problems, []);
});

t.test('daemon SIGKILLed mid-stream with the Kafka link: 10,000 records, none lost', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const k = await mock(t);
  const TOTAL = 10_000;
  const rsuId = 'RSU-KCRASH';
  const cfg: ChildConfig = { dir: tmpdir(t), rsuId, total: TOTAL, batch: 100, tickMs: 5, kafkaBrokers: k.bootstrap };
  const run = (killAt: number | undefined): Promise<{ killedAt?: number; openMs: number; code: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, UPLINK_CHILD: JSON.stringify(cfg) };
      delete env.NODE_OPTIONS;
      const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fixtures/uplink/publisher-child.ts')], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      t.teardown(() => void proc.kill('SIGKILL'));
      let buf = '';
      let stderr = '';
      let openMs = 0;
      let killedAt: number | undefined;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`child timed out: ${stderr}`));
      }, 90_000);
      proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const e = JSON.parse(buf.slice(0, i)) as { event: string; nextId?: number; openMs?: number; acked?: number };
          buf = buf.slice(i + 1);
          if (e.event === 'open') openMs = e.openMs!;
          if (killAt !== undefined && killedAt === undefined && e.event === 'progress' && e.nextId! > killAt && e.acked! > 0) {
            killedAt = e.nextId! - 1;
            proc.kill('SIGKILL');
          }
        }
      });
      proc.once('close', (code) => {
        clearTimeout(timer);
        resolve({ killedAt, openMs, code, stderr });
      });
    });
  const first = await run(4000);
  t.ok(first.killedAt !== undefined, `killed mid-stream after appending ${first.killedAt}`);
  const second = await run(undefined);
  t.equal(second.code, 0, `restarted child finishes (${second.stderr})`);
  const r = await readAll(k, rsuId);
  t.same(missing(r.seen, 1, TOTAL).slice(0, 20), [], 'kcat sees every record at least once');
  t.equal(r.seen.size, TOTAL);
  t.same(r.problems, [], 'keys, headers, envelopes, per-type order');
  t.comment(`Kafka crash: killed after ${first.killedAt}; restart open ${second.openMs.toFixed(1)} ms; duplicates ${r.duplicates}`);
});

t.test('MQTT and Kafka from one spool: each link has its own cursor', { skip: skip ?? mosquittoMissing() ?? false, timeout: 60_000 }, async (t) => {
  const k = await mock(t);
  const m = await Mosquitto.start();
  t.teardown(() => m.stop());
  const rsuId = 'RSU-BOTH';
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  const up = await Uplink.open({ rsuId, spool: { dir: tmpdir(t), segmentBytes: 64 * 1024 }, mqtt: { url: m.url }, kafka: { brokers: k.bootstrap } });
  t.teardown(() => up.close());
  const N = 2000;
  for (let i = 1; i <= N; i++) up.submit({ type: typeFor(i), uper: uperFor(i) });
  await until('both drained', () => up.stats().kafka!.pending === 0 && up.stats().mqtt!.pending === 0, 30_000);
  await v.waitFor(() => v.seen.size >= N, 10_000, 'MQTT subscriber');
  const r = await readAll(k, rsuId);
  t.same(missing(r.seen, 1, N), [], 'Kafka has every record');
  t.same(v.missing(1, N), [], 'MQTT has every record');
  t.equal(up.stats().spool.segments, 1, 'segments acked by both links are deleted');
});
