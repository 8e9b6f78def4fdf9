/**
 * Kafka uplink to the regional cloud with node-rdkafka (librdkafka).
 *
 * One topic per message type (default `v2x.v1.{type}.up`), key = RSU id, so
 * all records of one RSU and type land in one partition, in order.  Value =
 * the protobuf Envelope, timestamp = capture time, headers rsu_id / seq /
 * msg_type.
 *
 * The producer is idempotent (enable.idempotence: acks=all, at most 5
 * requests in flight, retries without reordering or duplicates within one
 * producer session) and message.timeout.ms = 0 (retry for ever): during a
 * broker outage librdkafka keeps the (at most `window`) handed-over records
 * and delivers them in order when the broker is back.  A record is
 * acknowledged in the spool only from its delivery report (dr_cb).  A
 * failed delivery report stops the hand-over, waits for the rest of the
 * window to report, rewinds the spool reader to the first unacknowledged
 * record and resumes after a backoff; a fatal (idempotence) error replaces
 * the producer and rewinds the same way.  Re-sent records can be duplicates
 * across producer sessions: at least once, consumers dedup on (rsu_id, seq).
 */
import { createRequire } from 'node:module';
import type * as RdKafka from 'node-rdkafka';
import { decodeEnvelope } from './envelope.js';
import { BrokerLink } from './link.js';
import type { SpoolReader, SpoolRecord } from './spool.js';
import { errorMessage, UplinkConfigError, type BrokerState, type Logger, type MessageTypeName } from './types.js';

export interface KafkaUplinkOptions {
  /** bootstrap.servers, e.g. "kafka1:9093,kafka2:9093". */
  brokers: string;
  /** Default `rsu-{rsuId}`. */
  clientId?: string;
  /** Topic per message type, default `v2x.v1.{type}.up`; `rx`: messages heard on the radio, default `v2x.v1.rx.up`. */
  topics?: Partial<Record<MessageTypeName | 'rx', string>>;
  /** Max records handed to librdkafka without a delivery report yet. Default 5000. */
  window?: number;
  /** Initial metadata request timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default 500 ms. */
  reconnectMinMs?: number;
  /** Default 30 s. */
  reconnectMaxMs?: number;
  /**
   * Extra librdkafka properties (security.protocol, ssl.*, sasl.*, compression.type, linger.ms, ...), or a function
   * that makes them at each connection attempt (a SASL password read from its file then). Never logged.
   */
  librdkafka?: Record<string, string | number | boolean> | (() => Record<string, string | number | boolean>);
}

export interface KafkaStats {
  state: BrokerState;
  brokers: string;
  connects: number;
  connectFailures: number;
  /** Records handed to librdkafka without a delivery report yet. */
  inFlight: number;
  /** Records handed to librdkafka (re-sends included). */
  produced: number;
  /** Successful delivery reports. */
  acked: number;
  deliveryErrors: number;
  fatalErrors: number;
  queueFull: number;
  badRecords: number;
  /** Records not yet acknowledged (in the spool). */
  pending: number;
  lastError: string;
  lastErrorAt: number;
}

interface Session {
  producer: KafkaProducer;
  gen: number;
  alive: boolean;
  ready: boolean;
  inFlight: number;
  draining: boolean;
}

interface Opaque {
  gen: number;
  id: number;
}

/** The methods and events of node-rdkafka's Producer that this link uses. */
export interface KafkaProducer {
  on(event: 'delivery-report', listener: (err: RdKafka.LibrdKafkaError | null | undefined, report: RdKafka.DeliveryReport) => void): unknown;
  on(event: 'event.error', listener: (err: RdKafka.LibrdKafkaError) => void): unknown;
  connect(opts: RdKafka.MetadataOptions, cb: (err: RdKafka.LibrdKafkaError | null | undefined) => void): unknown;
  produce(topic: string, partition: null, value: Buffer, key: string, timestamp: number | null, opaque: unknown, headers: RdKafka.MessageHeader[]): unknown;
  setPollInterval(intervalMs: number): unknown;
  flush(timeoutMs: number, cb: () => void): unknown;
  disconnect(cb: () => void): unknown;
  disconnect(timeoutMs: number, cb: () => void): unknown;
  isConnected(): boolean;
}

/** What this link needs of the node-rdkafka module; node-rdkafka itself, or a fake in tests. */
export interface RdKafkaModule {
  Producer: new (conf: RdKafka.ProducerGlobalConfig, topicConf: RdKafka.ProducerTopicConfig) => KafkaProducer;
}

let rdkafka: typeof RdKafka | undefined;
let rdkafkaError: string | undefined;

/** Load node-rdkafka (native); returns the reason when it is not usable. */
export function loadRdKafka(): { mod: typeof RdKafka } | { error: string } {
  if (rdkafka) return { mod: rdkafka };
  if (rdkafkaError) return { error: rdkafkaError };
  try {
    const require = createRequire(import.meta.url);
    rdkafka = require('node-rdkafka') as typeof RdKafka;
    return { mod: rdkafka };
  } catch (err) {
    rdkafkaError = `node-rdkafka is not usable: ${errorMessage(err)}`;
    return { error: rdkafkaError };
  }
}

export interface KafkaUplinkDeps {
  logger?: Logger;
  /** The Kafka client library; default node-rdkafka (loadRdKafka()). */
  kafka?: RdKafkaModule;
}

const ERR_QUEUE_FULL = -184;
const ERR_ALL_BROKERS_DOWN = -187;

export class KafkaUplink extends BrokerLink {
  private readonly kafka: RdKafkaModule;
  private readonly window: number;
  private readonly topics: Record<MessageTypeName | 'rx', string>;
  private session: Session | undefined;
  private gen = 0;
  /** Taken from the reader but refused by produce() (queue full): handed over first next time. */
  private held: SpoolRecord | undefined;
  protected readonly st = {
    connects: 0,
    connectFailures: 0,
    produced: 0,
    acked: 0,
    deliveryErrors: 0,
    fatalErrors: 0,
    queueFull: 0,
    badRecords: 0,
    lastError: '',
    lastErrorAt: 0,
  };

  constructor(
    readonly rsuId: string,
    private readonly o: KafkaUplinkOptions,
    reader: SpoolReader,
    deps: KafkaUplinkDeps = {},
  ) {
    const loaded = deps.kafka ? { mod: deps.kafka } : loadRdKafka();
    if ('error' in loaded) throw new UplinkConfigError(`Kafka uplink configured but ${loaded.error}`);
    if (!o.brokers) throw new UplinkConfigError('Kafka uplink needs `brokers` (bootstrap.servers)');
    const window = o.window ?? 5000;
    if (!(window >= 1)) throw new RangeError(`Kafka window must be >= 1, got ${o.window}`);
    super('kafka', reader, o, deps.logger);
    this.kafka = loaded.mod;
    this.window = window;
    this.topics = {
      bsm: o.topics?.bsm ?? 'v2x.v1.bsm.up',
      spat: o.topics?.spat ?? 'v2x.v1.spat.up',
      map: o.topics?.map ?? 'v2x.v1.map.up',
      rsi: o.topics?.rsi ?? 'v2x.v1.rsi.up',
      rsm: o.topics?.rsm ?? 'v2x.v1.rsm.up',
      rx: o.topics?.rx ?? 'v2x.v1.rx.up',
    };
  }

  protected open(): void {
    const gen = ++this.gen;
    let extra: Record<string, string | number | boolean> | undefined;
    try {
      extra = typeof this.o.librdkafka === 'function' ? this.o.librdkafka() : this.o.librdkafka;
    } catch (err) {
      this.connectFailed(`Kafka ${this.o.brokers}: ${errorMessage(err)}`);
      return;
    }
    const conf: RdKafka.ProducerGlobalConfig = {
      'bootstrap.servers': this.o.brokers,
      'client.id': this.o.clientId ?? `rsu-${this.rsuId}`,
      'enable.idempotence': true,
      dr_cb: true,
      'linger.ms': 5,
      'socket.keepalive.enable': true,
      'reconnect.backoff.ms': 100,
      'reconnect.backoff.max.ms': 5000,
      'queue.buffering.max.messages': Math.max(this.window * 2, 1000),
      ...(extra as Partial<RdKafka.ProducerGlobalConfig>),
    };
    let producer: KafkaProducer;
    try {
      producer = new this.kafka.Producer(conf, { 'request.required.acks': -1, 'message.timeout.ms': 0 });
    } catch (err) {
      this.connectFailed(`cannot create Kafka producer: ${errorMessage(err)}`);
      return;
    }
    const s: Session = { producer, gen, alive: true, ready: false, inFlight: 0, draining: false };
    this.session = s;
    producer.on('delivery-report', (err, report) => this.onDeliveryReport(s, err, report));
    producer.on('event.error', (err: RdKafka.LibrdKafkaError) => this.onEventError(s, err));
    producer.connect({ timeout: this.o.connectTimeoutMs ?? 10_000 }, (err) => {
      if (s !== this.session || !s.alive) {
        // closed or replaced while connecting
        if (!err) this.dispose(s);
        return;
      }
      if (err) {
        this.dispose(s);
        this.session = undefined;
        this.connectFailed(`Kafka ${this.o.brokers}: ${errorMessage(err)}`);
        return;
      }
      s.ready = true;
      this.st.connects++;
      this.state = 'up';
      producer.setPollInterval(50);
      this.log.info({ brokers: this.o.brokers }, 'kafka uplink connected');
      this.pump();
    });
  }

  private onEventError(s: Session, err: RdKafka.LibrdKafkaError): void {
    if (s !== this.session || !s.alive) return;
    this.fail(`Kafka ${this.o.brokers}: ${errorMessage(err)}`);
    if (err.code === ERR_ALL_BROKERS_DOWN) this.state = 'down';
    if (err.isFatal) {
      this.st.fatalErrors++;
      this.log.error({ err: errorMessage(err) }, 'kafka uplink: fatal producer error, replacing the producer');
      this.dispose(s);
      this.session = undefined;
      this.rewind();
      this.scheduleReconnect();
    }
  }

  private dispose(s: Session): void {
    s.alive = false;
    try {
      s.producer.setPollInterval(0);
    } catch {
      /* ignore */
    }
    try {
      if (s.producer.isConnected()) s.producer.disconnect(0, () => {});
    } catch {
      /* ignore */
    }
  }

  protected override rewind(): void {
    this.held = undefined;
    super.rewind();
  }

  protected pump(): void {
    const s = this.session;
    if (!s || !s.ready || !s.alive || s.draining || this.closing) return;
    while (s.inFlight < this.window) {
      const rec = this.held ?? this.reader.next();
      if (!rec) return;
      this.held = undefined;
      const route = this.routeOf(rec);
      if (!route) continue;
      const type = route.type;
      let ts: number | null = null;
      try {
        ts = decodeEnvelope(rec.payload).captureTimeMs || null;
      } catch {
        ts = null;
      }
      const opaque: Opaque = { gen: s.gen, id: rec.id };
      try {
        s.producer.produce(this.topics[route.received ? 'rx' : type], null, rec.payload, this.rsuId, ts, opaque, [
          { rsu_id: this.rsuId },
          { seq: String(rec.id) },
          { msg_type: type },
        ]);
      } catch (err) {
        this.held = rec;
        const code = (err as { code?: number }).code;
        if (code === ERR_QUEUE_FULL) {
          this.st.queueFull++;
          if (s.inFlight === 0) this.retryLater();
        } else {
          this.fail(`Kafka produce of record ${rec.id} failed: ${errorMessage(err)}`);
          this.retryLater();
        }
        return;
      }
      s.inFlight++;
      this.st.produced++;
    }
  }

  private retryLater(): void {
    this.backoff.after(() => this.pump());
  }

  private onDeliveryReport(s: Session, err: RdKafka.LibrdKafkaError | null | undefined, report: RdKafka.DeliveryReport): void {
    const op = report?.opaque as Opaque | undefined;
    if (s !== this.session || !s.alive || !op || op.gen !== s.gen) return;
    s.inFlight--;
    if (err) {
      this.st.deliveryErrors++;
      this.fail(`Kafka delivery of record ${op.id} failed: ${errorMessage(err)}`);
      s.draining = true;
    } else {
      this.st.acked++;
      this.reader.ack(op.id);
      if (this.state !== 'up') this.state = 'up';
      this.backoff.reset();
    }
    this.completed(s, s.inFlight);
  }

  /**
   * Stop handing over records, wait up to timeoutMs for delivery reports of
   * the in-flight ones (flush) and disconnect.  Unacknowledged records stay
   * in the spool.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.beginClose()) return;
    const s = this.session;
    if (s && s.alive && s.ready) {
      const deadline = Date.now() + timeoutMs;
      await new Promise<void>((resolve) => {
        try {
          s.producer.flush(timeoutMs, () => resolve());
        } catch {
          resolve();
        }
      });
      while (s.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    if (s) {
      s.alive = false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        try {
          s.producer.setPollInterval(0);
          s.producer.disconnect(() => {
            clearTimeout(t);
            resolve();
          });
        } catch {
          clearTimeout(t);
          resolve();
        }
      });
    }
    this.session = undefined;
    this.state = 'closed';
  }

  stats(): KafkaStats {
    return {
      state: this.state,
      brokers: this.o.brokers,
      ...this.st,
      inFlight: this.session?.inFlight ?? 0,
      pending: this.reader.pending,
    };
  }
}
