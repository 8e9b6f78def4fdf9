/**
 * Kafka uplink failure paths, driven by a scripted fake of node-rdkafka's
 * Producer (KafkaUplinkDeps.kafka) over the real spool: failed delivery
 * reports, fatal producer errors, a full local queue, connects that fail and
 * close() with records in flight.  librdkafka's mock cluster (the tests in
 * uplink-kafka.test.ts) never fails a delivery, so these paths need a fake.
 *
 * The fake behaves like node-rdkafka as kafka.ts uses it: connect(opts, cb)
 * calls back asynchronously (after 'ready'), produce() throws when not
 * connected or when the local queue is full, delivery reports are emitted in
 * produce order by poll() (setPollInterval) and flush(), disconnect(timeout,
 * cb) flushes first, and after a fatal error the queued messages are purged
 * with ERR__FATAL reports.  The "broker" is the fake's log of records that
 * arrived, which the checks read like a consumer would.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeliveryReport, LibrdKafkaError, MessageHeader } from 'node-rdkafka';
import t, { type Test } from 'tap';
import { decodeEnvelope, encodeEnvelope, KafkaUplink, MESSAGE_TYPE_CODE, Spool, type KafkaUplinkOptions } from '../runtime/uplink/index.js';
import type { KafkaProducer, RdKafkaModule } from '../runtime/uplink/kafka.js';
import { typeFor, uperFor } from './fixtures/uplink/records.js';
import { tmpDir, until as untilWithin } from './support/wait.js';

const RSU = 'RSU-FAKE';
// librdkafka error codes (node-rdkafka lib/error.js)
const ERR_FATAL = -150;
const ERR_ALL_BROKERS_DOWN = -187;
const ERR_QUEUE_FULL = -184;
const ERR_MSG_TIMED_OUT = -192;
const ERR_TIMED_OUT = -185;
const ERR_MSG_SIZE_TOO_LARGE = 10;
const ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

function kerr(code: number, message: string, isFatal = false): LibrdKafkaError & Error {
  return Object.assign(new Error(message), { code, errno: code, origin: code < 0 ? 'local' : 'kafka', isFatal });
}

interface Queued {
  topic: string;
  key: string;
  value: Buffer;
  seq: number;
  opaque: unknown;
}

/** A record as it arrived at the fake broker. */
interface Landed {
  topic: string;
  key: string;
  seq: number;
  value: Buffer;
  producer: number;
}

type Event =
  | { k: 'produce'; seq: number; p: number; firstUnacked: number }
  | { k: 'report'; seq: number; p: number; ok: boolean; live: boolean }
  | { k: 'fatal'; p: number };

class FakeKafka {
  readonly producers: FakeProducer[] = [];
  readonly log: Landed[] = [];
  readonly events: Event[] = [];
  /** Seq ranges that may arrive twice: at each failure, [first record not acknowledged, last handed over]. */
  readonly failedWindows: Array<[number, number]> = [];
  readonly connectAttemptsAt: number[] = [];
  /** Error for connect attempt n (1-based), or undefined to connect. */
  connectError: (attempt: number) => LibrdKafkaError | undefined = () => undefined;
  /** Error for the delivery report of a record, or undefined for success. */
  deliveryError: (seq: number) => LibrdKafkaError | undefined = () => undefined;
  /** Error thrown by produce() for a record instead of queueing it. */
  produceError: (seq: number) => LibrdKafkaError | undefined = () => undefined;
  /** queue.buffering.max.messages: produce() throws ERR__QUEUE_FULL beyond. */
  queueLimit = Infinity;
  /** Broker unreachable: nothing is delivered or reported, by poll() or flush(). */
  down = false;
  /** When false the poll timer reports nothing (flush() still does): records stay in flight until close(). */
  pollDelivers = true;
  maxQueued = 0;
  okReports = 0;
  errReports = 0;
  /** Seqs with a successful report to a live producer, i.e. acknowledged in the spool. */
  private readonly acked = new Set<number>();
  private firstUnackedSeq = 1;
  private maxProducedSeq = 0;
  readonly module: RdKafkaModule;

  constructor() {
    const fake = this;
    this.module = {
      Producer: class extends FakeProducer {
        constructor() {
          super(fake);
        }
      },
    };
  }

  get firstUnacked(): number {
    while (this.acked.has(this.firstUnackedSeq)) this.firstUnackedSeq++;
    return this.firstUnackedSeq;
  }

  produced(p: FakeProducer, m: Queued): void {
    this.maxProducedSeq = Math.max(this.maxProducedSeq, m.seq);
    this.maxQueued = Math.max(this.maxQueued, p.queue.length);
    this.events.push({ k: 'produce', seq: m.seq, p: p.id, firstUnacked: this.firstUnacked });
  }

  land(p: FakeProducer, m: Queued): void {
    this.log.push({ topic: m.topic, key: m.key, seq: m.seq, value: m.value, producer: p.id });
  }

  reportedOk(seq: number): void {
    this.acked.add(seq);
  }

  noteFailure(): void {
    this.failedWindows.push([this.firstUnacked, this.maxProducedSeq]);
  }

  /** The producer's session dies: the first `arrivedUnreported` queued records reach the broker, reports never come. */
  fatal(p: FakeProducer, arrivedUnreported: number): void {
    this.noteFailure();
    for (const m of p.queue.slice(0, arrivedUnreported)) this.land(p, m);
    p.queue.splice(0, arrivedUnreported);
    p.dead = true;
    this.events.push({ k: 'fatal', p: p.id });
    p.emit('event.error', kerr(ERR_FATAL, 'Fatal error: Broker: Out of order sequence number', true));
  }
}

class FakeProducer extends EventEmitter implements KafkaProducer {
  readonly id: number;
  readonly queue: Queued[] = [];
  connected = false;
  /** disconnect() was called: reports from now on reach a session the link has given up. */
  disconnecting = false;
  disconnected = false;
  /** After a fatal error: produce() fails, queued records are purged with ERR__FATAL. */
  dead = false;
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly fake: FakeKafka) {
    super();
    this.id = fake.producers.push(this);
  }

  connect(_opts: unknown, cb: (err: LibrdKafkaError | null | undefined) => void): this {
    const attempt = this.fake.connectAttemptsAt.push(Date.now());
    setTimeout(() => {
      const err = this.fake.connectError(attempt);
      if (err) {
        this.emit('event.error', kerr(ERR_ALL_BROKERS_DOWN, 'Local: All broker connections are down'));
        cb(err);
        return;
      }
      this.connected = true;
      this.emit('ready', { name: `fake#${this.id}` }, { topics: [], brokers: [] });
      cb(null);
    }, 5);
    return this;
  }

  isConnected(): boolean {
    return this.connected;
  }

  produce(topic: string, _partition: null, value: Buffer, key: string, _ts: number | null, opaque: unknown, headers: MessageHeader[]): boolean {
    if (!this.connected) throw new Error('Producer not connected');
    const seq = Number(headers.find((h) => 'seq' in h)!.seq);
    if (this.dead) throw kerr(ERR_FATAL, 'Local: Fatal error');
    const err = this.fake.produceError(seq);
    if (err) throw err;
    if (this.queue.length >= this.fake.queueLimit) throw kerr(ERR_QUEUE_FULL, 'Local: Queue full');
    const m: Queued = { topic, key, value, seq, opaque };
    this.queue.push(m);
    this.fake.produced(this, m);
    return true;
  }

  /** Report the records queued now, in order; false when some had to stay queued. */
  private report(): boolean {
    for (let n = this.queue.length; n > 0; n--) {
      const live = !this.dead && !this.disconnecting;
      if (this.fake.down && !this.dead) return false;
      const m = this.queue.shift()!;
      const err = this.dead ? kerr(ERR_FATAL, 'Local: Purged due to fatal error') : this.fake.deliveryError(m.seq);
      if (err) {
        this.fake.errReports++;
        if (live) this.fake.noteFailure();
      } else {
        this.fake.okReports++;
        this.fake.land(this, m);
        if (live) this.fake.reportedOk(m.seq);
      }
      this.fake.events.push({ k: 'report', seq: m.seq, p: this.id, ok: !err, live });
      const report: DeliveryReport = { topic: m.topic, partition: 0, offset: 0, key: m.key, value: m.value, size: m.value.length, opaque: m.opaque };
      this.emit('delivery-report', err ?? null, report);
    }
    return true;
  }

  setPollInterval(intervalMs: number): this {
    clearInterval(this.poller);
    this.poller = intervalMs > 0 ? setInterval(() => this.fake.pollDelivers && this.report(), intervalMs) : undefined;
    return this;
  }

  flush(timeoutMs: number, cb: () => void): this {
    if (!this.connected) throw new Error('Producer not connected');
    const deadline = Date.now() + timeoutMs;
    const step = (): void => {
      if (this.report() || Date.now() >= deadline) cb();
      else setTimeout(step, 5);
    };
    setImmediate(step);
    return this;
  }

  disconnect(a: number | (() => void), b?: () => void): this {
    const [timeoutMs, cb] = typeof a === 'function' ? [5000, a] : [a, b];
    this.disconnecting = true;
    this.flush(timeoutMs, () => {
      this.setPollInterval(0);
      this.connected = false;
      this.disconnected = true;
      cb?.();
    });
    return this;
  }
}

const tmpdir = (t: Test): string => tmpDir(t, 'rsu-kafka-fake-');
const until = (what: string, pred: () => boolean, ms = 20_000): Promise<void> => untilWithin(what, pred, ms, 5);


interface Rig {
  spool: Spool;
  link: KafkaUplink;
  /** Append records seq from..to (ids == seq in a fresh spool). */
  append(from: number, to: number): void;
  close(timeoutMs?: number): Promise<void>;
}

async function rig(t: Test, fake: FakeKafka, opts: Partial<KafkaUplinkOptions> = {}, dir = tmpdir(t), start = true): Promise<Rig> {
  const spool = await Spool.open({ dir, consumers: ['kafka'] });
  const o: KafkaUplinkOptions = { brokers: 'fake:9092', reconnectMinMs: 10, reconnectMaxMs: 40, window: 16, ...opts };
  const link = new KafkaUplink(RSU, o, spool.reader('kafka'), { kafka: fake.module });
  let closed = false;
  const r: Rig = {
    spool,
    link,
    append(from, to) {
      for (let seq = from; seq <= to; seq++) {
        const type = typeFor(seq);
        const env = { rsuId: RSU, seq, captureTimeMs: 1_700_000_000_000 + seq, msgType: type, uper: uperFor(seq) };
        const id = spool.append(MESSAGE_TYPE_CODE[type], encodeEnvelope(env));
        if (id !== seq) throw new Error(`spool id ${id} != seq ${seq}`);
      }
    },
    async close(timeoutMs) {
      if (closed) return;
      closed = true;
      await link.close(timeoutMs);
      await spool.close();
    },
  };
  t.teardown(() => r.close());
  if (start) link.start();
  return r;
}

/**
 * What a consumer of the fake broker sees for records 1..n: every one arrived,
 * under key RSU and its type's topic; per topic, dropping all but the last
 * copy of each record leaves spool order; every duplicate lies in a failed
 * window.  Returns the duplicated seqs.
 */
function checkBroker(t: Test, fake: FakeKafka, n: number): number[] {
  const copies = new Map<number, number>();
  const lastAt = new Map<number, number>();
  const problems: string[] = [];
  fake.log.forEach((r, i) => {
    copies.set(r.seq, (copies.get(r.seq) ?? 0) + 1);
    lastAt.set(r.seq, i);
    if (r.key !== RSU) problems.push(`${r.seq}: key ${r.key}`);
    if (r.topic !== `v2x.v1.${typeFor(r.seq)}.up`) problems.push(`${r.seq}: topic ${r.topic}`);
    const env = decodeEnvelope(r.value);
    if (env.seq !== r.seq || env.msgType !== typeFor(r.seq) || !uperFor(r.seq).equals(env.uper)) problems.push(`${r.seq}: envelope ${env.seq}`);
  });
  const missing: number[] = [];
  for (let seq = 1; seq <= n; seq++) if (!copies.has(seq)) missing.push(seq);
  t.same(missing, [], `all ${n} records arrived`);
  t.equal(Math.max(0, ...copies.keys()), n, 'nothing beyond the spool arrived');
  const lastPerTopic = new Map<string, number>();
  fake.log.forEach((r, i) => {
    if (lastAt.get(r.seq) !== i) return;
    if (r.seq < (lastPerTopic.get(r.topic) ?? 0)) problems.push(`${r.topic}: ${r.seq} after ${lastPerTopic.get(r.topic)}`);
    lastPerTopic.set(r.topic, r.seq);
  });
  const dups = [...copies].filter(([, c]) => c > 1).map(([seq]) => seq);
  const outside = dups.filter((seq) => !fake.failedWindows.some(([lo, hi]) => seq >= lo && seq <= hi));
  t.same(problems, [], 'keys, topics and per-topic order');
  t.same(outside, [], 'duplicates only within failed windows');
  return dups;
}

/** After each failure the next record handed over is the first unacknowledged one (none new while draining). */
function checkResumes(t: Test, fake: FakeKafka): void {
  const bad: string[] = [];
  fake.events.forEach((e, i) => {
    if (!(e.k === 'fatal' || (e.k === 'report' && e.live && !e.ok))) return;
    const next = fake.events.slice(i + 1).find((x) => x.k === 'produce');
    if (next?.k === 'produce' && next.seq !== next.firstUnacked) bad.push(`after event ${i}: produced ${next.seq}, first unacked ${next.firstUnacked}`);
  });
  t.same(bad, [], 'every failure is followed by a resend from the first unacknowledged record');
}

t.test('fake sanity: no faults, every record once, in order, acked', async (t) => {
  const fake = new FakeKafka();
  const r = await rig(t, fake);
  r.append(1, 300);
  await until('acked', () => r.link.stats().pending === 0);
  const st = r.link.stats();
  t.same(checkBroker(t, fake, 300), []);
  t.same(
    fake.log.map((x) => x.seq),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  t.match(st, { state: 'up', connects: 1, connectFailures: 0, produced: 300, acked: 300, deliveryErrors: 0, fatalErrors: 0, queueFull: 0, inFlight: 0 });
  t.ok(fake.maxQueued <= 16, `window respected (max ${fake.maxQueued} in flight)`);
  t.equal(r.spool.stats().consumers.kafka!.rewinds, 0);
});

t.test('failed delivery reports: window drains, rewind, resend from the first unacked record', async (t) => {
  const fake = new FakeKafka();
  // 37 once; 101 twice in a row; 205 and 209 in the same window
  const failures = new Map([
    [37, 1],
    [101, 2],
    [205, 1],
    [209, 1],
  ]);
  fake.deliveryError = (seq) => {
    const left = failures.get(seq) ?? 0;
    if (left === 0) return undefined;
    failures.set(seq, left - 1);
    return kerr(ERR_MSG_TIMED_OUT, 'Local: Message timed out');
  };
  const r = await rig(t, fake);
  const N = 400;
  r.append(1, N);
  await until('all acked', () => r.link.stats().pending === 0);
  const st = r.link.stats();
  const dups = checkBroker(t, fake, N);
  checkResumes(t, fake);
  t.equal(st.deliveryErrors, 5, 'every failed report counted');
  t.equal(fake.errReports, 5);
  t.equal(st.acked, fake.okReports, 'acked = successful reports');
  t.equal(st.produced, fake.okReports + fake.errReports, 'every handed-over record reported');
  t.ok(dups.length > 0, `records acked after a failure in its window were re-sent (${dups.length}, ${fake.log.length - N} extra copies)`);
  t.ok(
    fake.failedWindows.every(([lo, hi]) => hi - lo < 16),
    'failed windows are at most `window` records',
  );
  t.ok(fake.maxQueued <= 16, 'window respected');
  t.ok(r.spool.stats().consumers.kafka!.rewinds >= 3, 'spool reader rewound after each drained window');
  t.match(st, { state: 'up', pending: 0, inFlight: 0, connects: 1, fatalErrors: 0 });
  t.match(st.lastError, /delivery of record (37|101|205|209) failed: Local: Message timed out/);
  t.equal(fake.producers.length, 1, 'a failed report does not replace the producer');
});

t.test('non-fatal event.error (all brokers down): link reported down, same producer resumes', async (t) => {
  const fake = new FakeKafka();
  const r = await rig(t, fake);
  r.append(1, 50);
  await until('first batch', () => r.link.stats().pending === 0);
  fake.down = true;
  r.append(51, 100);
  await until('records in flight', () => r.link.stats().inFlight > 0);
  fake.producers[0]!.emit('event.error', kerr(ERR_ALL_BROKERS_DOWN, 'Local: 1/1 brokers are down'));
  t.equal(r.link.stats().state, 'down');
  t.match(r.link.stats().lastError, /brokers are down/);
  fake.down = false;
  await until('rest acked', () => r.link.stats().pending === 0);
  t.same(checkBroker(t, fake, 100), []);
  t.match(r.link.stats(), { state: 'up', fatalErrors: 0, deliveryErrors: 0, connects: 1 });
  t.equal(fake.producers.length, 1);
});

t.test('fatal producer error with records in flight: producer replaced, rewind, reconnect', async (t) => {
  const fake = new FakeKafka();
  const r = await rig(t, fake, { window: 20 });
  r.append(1, 60);
  await until('first batch', () => r.link.stats().pending === 0);
  fake.down = true;
  r.append(61, 200);
  await until('a full window in flight', () => r.link.stats().inFlight === 20);
  const p1 = fake.producers[0]!;
  // 5 of the 20 reached the broker but their reports never come; the rest are purged with ERR__FATAL
  fake.fatal(p1, 5);
  fake.down = false;
  await until('all acked', () => r.link.stats().pending === 0);
  const st = r.link.stats();
  const dups = checkBroker(t, fake, 200);
  checkResumes(t, fake);
  t.same(dups, [61, 62, 63, 64, 65], 'only the records that arrived unreported went twice');
  t.equal(fake.producers.length, 2, 'one new producer');
  t.ok(p1.disconnected, 'the dead producer was disconnected');
  t.equal(
    fake.events.filter((e) => e.k === 'produce' && e.p === 1).length,
    80,
    'nothing produced on the dead producer after the fatal error',
  );
  t.ok(
    fake.events.some((e) => e.k === 'report' && e.p === 1 && !e.live),
    'the dead producer reported its purged records',
  );
  t.match(st, { state: 'up', fatalErrors: 1, deliveryErrors: 0, connects: 2, pending: 0, inFlight: 0 });
  t.equal(st.acked, fake.events.filter((e) => e.k === 'report' && e.live && e.ok).length, 'reports of the dead producer are ignored');
  t.match(st.lastError, /Out of order sequence number/);
});

t.test('fatal error while connecting: that producer is dropped even if its connect succeeds later', async (t) => {
  const fake = new FakeKafka();
  const r = await rig(t, fake, {}, undefined, false);
  r.append(1, 100);
  r.link.start();
  const p1 = fake.producers[0]!;
  t.notOk(p1.connected);
  p1.emit('event.error', kerr(ERR_FATAL, 'Fatal error: Broker: Cluster authorization failed', true));
  await until('all acked', () => r.link.stats().pending === 0);
  await until('the first producer disconnected', () => p1.disconnected);
  t.same(checkBroker(t, fake, 100), []);
  t.equal(fake.events.filter((e) => e.k === 'produce' && e.p === 1).length, 0, 'nothing produced on the first producer');
  t.match(r.link.stats(), { state: 'up', fatalErrors: 1, connects: 1, connectFailures: 0 });
});

t.test('queue full: the refused record is held and handed over first, nothing lost or duplicated', async (t) => {
  const fake = new FakeKafka();
  fake.queueLimit = 4;
  const r = await rig(t, fake, { window: 32 });
  const N = 120;
  r.append(1, N);
  await until('all acked', () => r.link.stats().pending === 0);
  const st = r.link.stats();
  t.same(checkBroker(t, fake, N), []);
  t.same(
    fake.log.map((x) => x.seq),
    Array.from({ length: N }, (_, i) => i + 1),
    'exactly once, in spool order',
  );
  t.ok(st.queueFull > 0, `queue-full refusals counted (${st.queueFull})`);
  t.match(st, { produced: N, acked: N, deliveryErrors: 0, state: 'up', inFlight: 0 });
  t.equal(r.spool.stats().consumers.kafka!.rewinds, 0);
});

t.test('queue full with nothing in flight: retried after a backoff without new appends', async (t) => {
  const fake = new FakeKafka();
  let refusals = 5;
  fake.produceError = () => (refusals-- > 0 ? kerr(ERR_QUEUE_FULL, 'Local: Queue full') : undefined);
  const r = await rig(t, fake, {}, undefined, false);
  const N = 100;
  r.append(1, N); // all appended before start: only the retry timer can resume the hand-over
  r.link.start();
  await until('all acked', () => r.link.stats().pending === 0);
  t.same(
    fake.log.map((x) => x.seq),
    Array.from({ length: N }, (_, i) => i + 1),
    'exactly once, in spool order',
  );
  t.match(r.link.stats(), { queueFull: 5, produced: N, acked: N, state: 'up' });
});

t.test('other produce() error: counted as an error, the record is retried, order kept', async (t) => {
  const fake = new FakeKafka();
  let refusals = 2;
  fake.produceError = (seq) => (seq === 7 && refusals-- > 0 ? kerr(ERR_MSG_SIZE_TOO_LARGE, 'Broker: Message size too large') : undefined);
  const r = await rig(t, fake);
  r.append(1, 50);
  await until('all acked', () => r.link.stats().pending === 0);
  t.same(
    fake.log.map((x) => x.seq),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  const st = r.link.stats();
  t.match(st.lastError, /produce of record 7 failed: Broker: Message size too large/);
  t.match(st, { queueFull: 0, produced: 50, acked: 50, deliveryErrors: 0 });
});

t.test('queue full and a failed delivery in one window: the held record is dropped on rewind and resent in order', async (t) => {
  const fake = new FakeKafka();
  fake.queueLimit = 5;
  let failed = false;
  fake.deliveryError = (seq) => (seq === 50 && !failed ? ((failed = true), kerr(ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 'Broker: Out of order sequence number')) : undefined);
  const r = await rig(t, fake, { window: 32 });
  r.append(1, 120);
  await until('all acked', () => r.link.stats().pending === 0);
  checkBroker(t, fake, 120);
  checkResumes(t, fake);
  const st = r.link.stats();
  t.ok(st.queueFull > 0);
  t.match(st, { deliveryErrors: 1, state: 'up', inFlight: 0 });
});

t.test('broker never reachable: connect retried with backoff, no crash, records kept; delivered once it is there', async (t) => {
  const fake = new FakeKafka();
  let up = false;
  fake.connectError = () => (up ? undefined : kerr(ERR_TIMED_OUT, 'Local: Timed out'));
  const min = 20;
  const r = await rig(t, fake, { reconnectMinMs: min, reconnectMaxMs: 80, connectTimeoutMs: 100 });
  r.append(1, 100);
  await until('several connect failures', () => r.link.stats().connectFailures >= 5);
  const st = r.link.stats();
  t.match(st, { connects: 0, produced: 0, pending: 100, inFlight: 0 });
  t.ok(['connecting', 'down'].includes(st.state), `state ${st.state}`);
  t.match(st.lastError, /Kafka fake:9092: Local: Timed out/);
  t.ok(
    fake.producers.every((p) => !p.connected),
    'no failed producer left connected',
  );
  // each attempt starts a backoff (>= reconnectMinMs) after the previous one failed (which takes the fake 5 ms)
  const gaps = fake.connectAttemptsAt.slice(1).map((at, i) => at - fake.connectAttemptsAt[i]!);
  t.ok(
    gaps.every((g) => g >= min),
    `attempts spaced by the backoff: ${gaps.join(', ')} ms`,
  );
  up = true;
  await until('delivered after the broker came up', () => r.link.stats().pending === 0);
  t.same(checkBroker(t, fake, 100), []);
  t.match(r.link.stats(), { state: 'up', connects: 1, acked: 100 });
  t.ok(r.link.stats().connectFailures >= 5);
});

t.test('close() while connects keep failing: no retries after close', async (t) => {
  const fake = new FakeKafka();
  fake.connectError = () => kerr(ERR_TIMED_OUT, 'Local: Timed out');
  const r = await rig(t, fake);
  r.append(1, 10);
  await until('connect failures', () => r.link.stats().connectFailures >= 2);
  await r.close();
  const attempts = fake.connectAttemptsAt.length;
  await delay(200); // several reconnectMaxMs
  t.equal(fake.connectAttemptsAt.length, attempts, 'no connect attempt after close');
  t.equal(r.link.stats().state, 'closed');
});

const timers = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;

t.test('close() with records in flight: reports during the flush ack the spool, the rest stays for the next run', async (t) => {
  const before = timers();
  const fake = new FakeKafka();
  fake.pollDelivers = false; // reports come only from close()'s flush
  const r = await rig(t, fake, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  const dir = r.spool.stats().dir;
  r.append(1, 100);
  await until('a window in flight', () => r.link.stats().inFlight === 16);
  await r.link.close(2000);
  r.append(101, 110);
  const st = r.link.stats();
  t.match(st, { state: 'closed', acked: 16, produced: 16, inFlight: 0, pending: 110 - 16 });
  t.same(
    fake.log.map((x) => x.seq),
    Array.from({ length: 16 }, (_, i) => i + 1),
    'the in-flight records were delivered by the flush',
  );
  t.ok(fake.producers[0]!.disconnected, 'producer disconnected');
  await r.close();
  t.equal(timers(), before, 'no timer left behind');
  const fake2 = new FakeKafka();
  const r2 = await rig(t, fake2, {}, dir);
  await until('the rest delivered by the next run', () => r2.link.stats().pending === 0);
  t.same(
    fake2.log.map((x) => x.seq),
    Array.from({ length: 110 - 16 }, (_, i) => i + 17),
    'exactly the unacknowledged records, once, in order',
  );
});

t.test('close() with a failed report during the flush: no retry timer left behind, nothing lost', async (t) => {
  const before = timers();
  const fake = new FakeKafka();
  fake.pollDelivers = false;
  fake.deliveryError = (seq) => (seq === 5 ? kerr(ERR_MSG_TIMED_OUT, 'Local: Message timed out') : undefined);
  const r = await rig(t, fake, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  const dir = r.spool.stats().dir;
  r.append(1, 40);
  await until('a window in flight', () => r.link.stats().inFlight === 16);
  await r.close(2000);
  t.equal(timers(), before, 'no timer left behind');
  t.match(r.link.stats(), { state: 'closed', deliveryErrors: 1, acked: 15 });
  const fake2 = new FakeKafka();
  const r2 = await rig(t, fake2, {}, dir);
  await until('the rest delivered by the next run', () => r2.link.stats().pending === 0);
  t.same(
    fake2.log.map((x) => x.seq),
    Array.from({ length: 36 }, (_, i) => i + 5),
    'from the failed record on, in order',
  );
});

t.test('close() while the broker is unreachable: returns, every record stays in the spool', async (t) => {
  const fake = new FakeKafka();
  fake.down = true;
  const r = await rig(t, fake);
  const dir = r.spool.stats().dir;
  r.append(1, 40);
  await until('a window in flight', () => r.link.stats().inFlight === 16);
  await r.close(100);
  t.match(r.link.stats(), { state: 'closed', acked: 0 });
  t.equal(fake.log.length, 0);
  fake.down = false; // lets the given-up producer finish its disconnect
  const fake2 = new FakeKafka();
  const r2 = await rig(t, fake2, {}, dir);
  await until('all delivered by the next run', () => r2.link.stats().pending === 0);
  t.same(checkBroker(t, fake2, 40), []);
});
