/** Durable spool: framing, cursors, recovery from torn/corrupt files, bound, throughput. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { tmpDir } from './support/wait.js';
import { Spool, SpoolError, type SpoolOptions, type SpoolReader, type SpoolRecord } from '../runtime/uplink/spool.js';

const tmpdir = (t: Test): string => tmpDir(t, 'rsu-spool-test-');

async function open(t: Test, opts: SpoolOptions): Promise<Spool> {
  const s = await Spool.open(opts);
  t.teardown(() => s.close());
  return s;
}

function payload(i: number, n = 32): Buffer {
  const b = Buffer.alloc(n, i & 0xff);
  b.writeUInt32BE(i >>> 0, 0);
  return b;
}

function drain(r: SpoolReader, ack = true): SpoolRecord[] {
  const out: SpoolRecord[] = [];
  for (let rec = r.next(); rec; rec = r.next()) {
    out.push(rec);
    if (ack) r.ack(rec.id);
  }
  return out;
}

function segFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort();
}

t.test('append, read, ack, reopen: ids keep increasing, cursor is durable', async (t) => {
  const dir = tmpdir(t);
  let s = await Spool.open({ dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  for (let i = 1; i <= 500; i++) t.equal(s.append(i % 5, payload(i)), i);
  const r = s.reader('a');
  const got = drain(r, false);
  t.equal(got.length, 500);
  t.same(
    got.map((g) => g.id),
    Array.from({ length: 500 }, (_, i) => i + 1),
    'in id order',
  );
  t.ok(got.every((g) => g.tag === g.id % 5 && g.payload.readUInt32BE(0) === g.id), 'tags and payloads intact');
  for (const g of got.slice(0, 300)) r.ack(g.id);
  t.equal(r.stats().ackedLow, 301);
  t.ok(segFiles(dir).length > 1, 'several segments');
  await s.close();

  s = await open(t, { dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  t.equal(s.nextId, 501, 'next id after reopen');
  const again = drain(s.reader('a'));
  t.equal(again[0]!.id, 301, 'resumes at the first unacknowledged record');
  t.equal(again.length, 200);
  t.equal(s.append(1, payload(501)), 501);
  t.equal(s.reader('a').next()!.id, 501, 'new records follow');
});

t.test('function payload gets the record id; size limit', async (t) => {
  const s = await open(t, { dir: tmpdir(t), consumers: ['a'], segmentBytes: 4096, maxBytes: 65536, maxRecordBytes: 100 });
  const id = s.append(3, (i) => Buffer.from(`record ${i}`));
  t.equal(s.reader('a').next()!.payload.toString(), `record ${id}`);
  t.throws(() => s.append(1, Buffer.alloc(101)), { code: 'RECORD_TOO_LARGE' });
  t.throws(() => s.append(300, Buffer.alloc(1)), SpoolError);
  t.equal(s.stats().rejectedTooLarge, 1);
  t.throws(() => Spool.openSync({ dir: tmpdir(t), consumers: ['a'], segmentBytes: 4096, maxBytes: 65536, maxRecordBytes: 5000 }), {
    code: 'BAD_OPTIONS',
  });
});

t.test('out-of-order acks, rewind redelivers from the first unacknowledged record', async (t) => {
  const s = await open(t, { dir: tmpdir(t), consumers: ['a'], segmentBytes: 2048, maxBytes: 1 << 20 });
  for (let i = 1; i <= 100; i++) s.append(1, payload(i));
  const r = s.reader('a');
  const first = Array.from({ length: 50 }, () => r.next()!);
  // ack everything but 10 and 20
  for (const rec of first) if (rec.id !== 10 && rec.id !== 20) r.ack(rec.id);
  t.equal(r.stats().ackedLow, 10);
  t.equal(r.outstanding, 2);
  r.ack(10);
  t.equal(r.stats().ackedLow, 20);
  r.rewind();
  const again = drain(r);
  t.equal(again[0]!.id, 20, 'redelivery starts at 20');
  t.equal(again.length, 81, '20..100');
  t.equal(r.stats().ackedLow, 101);
  r.ack(5); // stale ack is ignored
  t.equal(r.stats().ackedLow, 101);
});

t.test('independent consumers; segments deleted when every consumer acked', async (t) => {
  const dir = tmpdir(t);
  const s = await open(t, { dir, consumers: ['mqtt', 'kafka'], segmentBytes: 2048, maxBytes: 1 << 20 });
  for (let i = 1; i <= 300; i++) s.append(1, payload(i));
  const segs = segFiles(dir).length;
  drain(s.reader('mqtt'));
  t.equal(segFiles(dir).length, segs, 'kafka has not acked: nothing deleted');
  t.equal(s.reader('kafka').pending, 300);
  drain(s.reader('kafka'));
  t.equal(segFiles(dir).length, 1, 'only the active segment remains');
  t.equal(s.stats().droppedRecords, 0);
});

t.test('full spool drops whole oldest segments, counts them, never throws', async (t) => {
  const dir = tmpdir(t);
  const s = await open(t, { dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 16384 });
  const r = s.reader('a');
  // hand out a few records first: they are in flight when their segment goes
  const inflight = [r.next(), r.next()];
  t.same(inflight, [undefined, undefined]);
  for (let i = 1; i <= 5000; i++) s.append(1, payload(i, 60));
  const st = s.stats();
  t.ok(st.bytes <= 16384, `bounded: ${st.bytes} bytes`);
  t.ok(st.droppedRecords > 4000, `dropped ${st.droppedRecords}`);
  t.equal(st.consumers.a!.dropped, st.droppedRecords);
  const rest = drain(r);
  t.equal(rest[rest.length - 1]!.id, 5000, 'the newest records are kept');
  t.equal(rest[0]!.id, st.droppedRecords + 1, 'exactly the oldest records were dropped');
  t.equal(rest.length + st.droppedRecords, 5000, 'every record is either delivered or counted as dropped');
});

t.test('records handed out before their segment is dropped: late acks ignored, reader skips ahead', async (t) => {
  const s = await open(t, { dir: tmpdir(t), consumers: ['a'], segmentBytes: 2048, maxBytes: 8192 });
  const r = s.reader('a');
  for (let i = 1; i <= 20; i++) s.append(1, payload(i, 40));
  const early = [r.next()!, r.next()!];
  for (let i = 21; i <= 2000; i++) s.append(1, payload(i, 40));
  r.ack(early[0]!.id);
  r.ack(early[1]!.id);
  r.rewind();
  const rest = drain(r);
  t.ok(rest[0]!.id > 20, `resumes after the dropped records (at ${rest[0]!.id})`);
  t.equal(rest[rest.length - 1]!.id, 2000);
  t.equal(rest.length + s.stats().consumers.a!.dropped, 2000);
});

t.test('torn last record after a crash is truncated, earlier records survive', async (t) => {
  const dir = tmpdir(t);
  let s = await Spool.open({ dir, consumers: ['a'], segmentBytes: 1 << 20, maxBytes: 8 << 20 });
  for (let i = 1; i <= 100; i++) s.append(1, payload(i));
  await s.close();
  const seg = path.join(dir, segFiles(dir).at(-1)!);
  const size = fs.statSync(seg).size;
  fs.truncateSync(seg, size - 7); // crash in the middle of writing record 100
  s = await open(t, { dir, consumers: ['a'], segmentBytes: 1 << 20, maxBytes: 8 << 20 });
  t.equal(s.nextId, 100, 'record 100 is gone, id 100 is reused for the next record');
  t.ok(s.stats().tornTailBytes > 0, 'torn tail counted');
  t.equal(s.append(1, payload(100)), 100);
  const got = drain(s.reader('a'));
  t.equal(got.length, 100);
  t.equal(got[99]!.payload.readUInt32BE(0), 100);
});

t.test('random garbage after the last record (power loss) is cut off', async (t) => {
  const dir = tmpdir(t);
  let s = await Spool.open({ dir, consumers: ['a'], segmentBytes: 1 << 20, maxBytes: 8 << 20 });
  for (let i = 1; i <= 50; i++) s.append(1, payload(i));
  await s.close();
  const seg = path.join(dir, segFiles(dir).at(-1)!);
  fs.appendFileSync(seg, randomBytes(3000));
  fs.appendFileSync(seg, Buffer.alloc(4096)); // zero-filled block
  s = await open(t, { dir, consumers: ['a'], segmentBytes: 1 << 20, maxBytes: 8 << 20 });
  t.equal(s.nextId, 51);
  t.equal(drain(s.reader('a')).length, 50);
  t.equal(s.stats().corruptRecords, 0);
});

t.test('corruption inside sealed and active segments is skipped, counted, and named', async (t) => {
  const dir = tmpdir(t);
  const logs: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
  const logger = {
    debug() {},
    info() {},
    warn(obj: object, msg?: string) {
      logs.push({ obj: obj as Record<string, unknown>, msg });
    },
    error(obj: object, msg?: string) {
      logs.push({ obj: obj as Record<string, unknown>, msg });
    },
  };
  let s = await Spool.open({ dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  for (let i = 1; i <= 400; i++) s.append(1, payload(i));
  await s.close();
  const files = segFiles(dir);
  t.ok(files.length >= 3);
  // flip bytes in the middle of the first (sealed) and the last (active) segment
  for (const f of [files[0]!, files.at(-1)!]) {
    const p = path.join(dir, f);
    const b = fs.readFileSync(p);
    const at = Math.floor(b.length / 2);
    for (let i = 0; i < 10; i++) b[at + i] ^= 0x5a;
    fs.writeFileSync(p, b);
  }
  s = await open(t, { dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20, logger });
  const got = drain(s.reader('a'));
  const st = s.stats();
  t.ok(got.length >= 400 - 6 && got.length < 400, `all but the damaged records are read (${got.length})`);
  t.ok(
    got.every((g, i) => i === 0 || g.id > got[i - 1]!.id),
    'still in order',
  );
  t.ok(got.every((g) => g.payload.readUInt32BE(0) === g.id), 'payloads intact');
  t.equal(st.corruptRecords, 2, 'two corrupt places counted');
  t.ok(
    logs.some((l) => String(l.obj.file).endsWith(files[0]!) && typeof l.obj.offset === 'number'),
    'the log names the file and offset',
  );
  t.equal(s.append(1, payload(401)), 401, 'appending continues');
});

t.test('corrupt cursor file and foreign files: counted, consumer restarts at the oldest record', async (t) => {
  const dir = tmpdir(t);
  let s = await Spool.open({ dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  for (let i = 1; i <= 100; i++) s.append(1, payload(i));
  drain(s.reader('a'));
  s.append(1, payload(101));
  await s.close();
  fs.writeFileSync(path.join(dir, 'cursor-a.bin'), randomBytes(24));
  fs.writeFileSync(path.join(dir, 'README.txt'), 'hello');
  fs.writeFileSync(path.join(dir, 'seg-00000000000000000000.log'), randomBytes(100)); // bad header, not last
  s = await open(t, { dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  const st = s.stats();
  t.equal(st.cursorErrors, 1);
  t.equal(st.corruptSegments, 1);
  const got = drain(s.reader('a'));
  t.ok(got.length >= 1 && got.at(-1)!.id === 101, `no loss: redelivers from the oldest record (${got.length})`);
});

t.test('empty or header-less last segment (crash right after creating it)', async (t) => {
  const dir = tmpdir(t);
  let s = await Spool.open({ dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  for (let i = 1; i <= 10; i++) s.append(1, payload(i));
  await s.close();
  fs.writeFileSync(path.join(dir, 'seg-00000000000000000011.log'), Buffer.alloc(0));
  s = await open(t, { dir, consumers: ['a'], segmentBytes: 4096, maxBytes: 1 << 20 });
  t.equal(s.nextId, 11);
  t.equal(s.append(1, payload(11)), 11);
  t.equal(drain(s.reader('a')).length, 11);
});

t.test('lock: a second open of the same directory is refused', async (t) => {
  const dir = tmpdir(t);
  const s = await open(t, { dir, consumers: ['a'] });
  await t.rejects(Spool.open({ dir, consumers: ['a'] }), { code: 'LOCKED' });
  // a lock file of a dead process is taken over
  await s.close();
  fs.writeFileSync(path.join(dir, 'lock'), '999999999\n');
  const s2 = await open(t, { dir, consumers: ['a'] });
  t.equal(s2.isClosed, false);
});

t.test('fsync policies', async (t) => {
  const dir = tmpdir(t);
  const s = await open(t, { dir, consumers: ['a'], fsync: { mode: 'interval', intervalMs: 20, everyRecords: 100000 } });
  s.append(1, payload(1));
  await new Promise((r) => setTimeout(r, 150));
  t.ok(s.stats().fsyncs >= 1, 'interval fsync happened');
  t.equal(s.stats().unsyncedRecords, 0);
  const s2 = await open(t, { dir: tmpdir(t), consumers: ['a'], fsync: { mode: 'interval', intervalMs: 60_000, everyRecords: 10 } });
  for (let i = 0; i < 10; i++) s2.append(1, payload(i));
  await s2.flush();
  t.ok(s2.stats().fsyncs >= 1, 'record-count fsync happened');
  const s3 = await open(t, { dir: tmpdir(t), consumers: ['a'], fsync: { mode: 'always' } });
  for (let i = 0; i < 5; i++) s3.append(1, payload(i));
  t.equal(s3.stats().fsyncs, 5, "'always' syncs every append");
  t.throws(() => Spool.openSync({ dir: tmpdir(t), consumers: ['a'], fsync: { mode: 'sometimes' as 'always' } }), { code: 'BAD_OPTIONS' });
});

t.test('throughput and recovery time (numbers for the report)', async (t) => {
  const dir = tmpdir(t);
  const N = 100_000;
  const body = randomBytes(120); // a BSM envelope is ~100-150 bytes
  const s = await Spool.open({ dir, consumers: ['mqtt'] }); // default policy: interval 200 ms / 1000 records
  // appends arrive from the event loop in bursts, so let fsyncs run in between
  let t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    for (let j = 0; j < 1000; j++) s.append(1, body);
    await new Promise((r) => setImmediate(r));
  }
  const appendRate = N / ((performance.now() - t0) / 1000);
  await s.flush();
  const syncs = s.stats().fsyncs;
  t0 = performance.now();
  const r = s.reader('mqtt');
  let n = 0;
  for (let rec = r.next(); rec; rec = r.next()) {
    r.ack(rec.id);
    n++;
  }
  const readRate = n / ((performance.now() - t0) / 1000);
  t.equal(n, N);
  await s.close();
  // recovery of a spool with ~14 MB of unacknowledged records
  const d2 = tmpdir(t);
  const s2 = await Spool.open({ dir: d2, consumers: ['mqtt'], fsync: { mode: 'never' } });
  for (let i = 0; i < N; i++) s2.append(1, body);
  await s2.close();
  t0 = performance.now();
  const s3 = await Spool.open({ dir: d2, consumers: ['mqtt'] });
  const recoverMs = performance.now() - t0;
  t.equal(s3.reader('mqtt').pending, N);
  await s3.close();
  const strict = await Spool.open({ dir: tmpdir(t), consumers: ['mqtt'], fsync: { mode: 'always' } });
  t0 = performance.now();
  let k = 0;
  while (performance.now() - t0 < 1000 && k < 20000) {
    strict.append(1, body);
    k++;
  }
  const strictRate = k / ((performance.now() - t0) / 1000);
  await strict.close();
  t.comment(`spool append (default fsync policy, 120 B payload): ${Math.round(appendRate)} records/s, ${syncs} fsyncs`);
  t.comment(`spool append (fsync always): ${Math.round(strictRate)} records/s`);
  t.comment(`spool read+ack: ${Math.round(readRate)} records/s`);
  t.comment(`spool open/recovery with ${N} unacknowledged records: ${recoverMs.toFixed(1)} ms`);
  t.ok(appendRate > 1000, 'append rate is sane');
});
