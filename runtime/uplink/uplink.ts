/**
 * The uplink facade: every record goes into the durable spool first and is
 * drained from there by the configured broker links (MQTT, Kafka), each
 * with its own ack cursor.
 */
import type { DownlinkHandler, DownlinkKind } from './downlink.js';
import { encodeEnvelope, type EnvelopeSummary } from './envelope.js';
import { LinkMonitor, SubmitTimes, WatchedReader, type LinkHealth } from './health.js';
import { KafkaUplink, type KafkaStats, type KafkaUplinkOptions } from './kafka.js';
import { MqttUplink, type MqttStats, type MqttUplinkOptions } from './mqtt.js';
import { Spool, type SpoolOptions, type SpoolStats } from './spool.js';
import {
  errorMessage,
  isMessageTypeName,
  MESSAGE_TYPE_CODE,
  silentLogger,
  UplinkConfigError,
  validateRsuId,
  type Logger,
  type MessageTypeName,
} from './types.js';

export interface UplinkOptions {
  rsuId: string;
  /** Spool settings; the consumers are derived from the configured links. */
  spool: Omit<SpoolOptions, 'consumers' | 'logger'>;
  mqtt?: MqttUplinkOptions;
  kafka?: KafkaUplinkOptions;
  /** Default ASN.1 message set name written into envelopes (e.g. "csae2020"). */
  messageSet?: string;
  logger?: Logger;
}

export interface UplinkRecord {
  type: MessageTypeName;
  /** UPER bytes as on the air. */
  uper: Uint8Array;
  /** Unix epoch ms; default now. */
  captureTimeMs?: number;
  summary?: EnvelopeSummary;
  messageSet?: string;
}

export type SubmitResult = { ok: true; seq: number } | { ok: false; error: string };

export interface UplinkStats {
  rsuId: string;
  /** Records accepted into the spool since open. */
  submitted: number;
  /** Records refused by submit() (bad input, spool write failure). */
  rejected: number;
  lastRejectReason: string;
  spool: SpoolStats;
  mqtt?: MqttStats;
  kafka?: KafkaStats;
  /** Per link: connected, backlog, oldest undelivered, delivered/s, errors. */
  links: LinkHealth[];
}

export class Uplink {
  private submitted = 0;
  private rejected = 0;
  private lastRejectReason = '';
  private closed = false;
  private readonly delivered = new Set<(link: string, type: MessageTypeName) => void>();
  private readonly monitors: LinkMonitor[] = [];
  private readonly times = new SubmitTimes(Date.now());
  private sampler: NodeJS.Timeout | undefined;

  private constructor(
    readonly rsuId: string,
    readonly spool: Spool,
    readonly mqtt: MqttUplink | undefined,
    readonly kafka: KafkaUplink | undefined,
    private readonly messageSet: string,
    private readonly log: Logger,
  ) {}

  /** Open the spool (recovering it), start the broker links. */
  static async open(opts: UplinkOptions): Promise<Uplink> {
    validateRsuId(opts.rsuId);
    const log = opts.logger ?? silentLogger;
    const consumers: string[] = [];
    if (opts.mqtt) consumers.push('mqtt');
    if (opts.kafka) consumers.push('kafka');
    const spool = await Spool.open({ ...opts.spool, consumers, logger: log });
    let mqtt: MqttUplink | undefined;
    let kafka: KafkaUplink | undefined;
    // The links read through watched readers, so that deliveries (acknowledgements) are counted by type.
    let u: Uplink | undefined;
    const watched = (name: 'mqtt' | 'kafka') => new WatchedReader(spool.reader(name), (type) => u?.delivered.forEach((fn) => fn(name, type)));
    const readers = { mqtt: opts.mqtt ? watched('mqtt') : undefined, kafka: opts.kafka ? watched('kafka') : undefined };
    try {
      if (opts.mqtt) mqtt = new MqttUplink(opts.rsuId, opts.mqtt, readers.mqtt!, { logger: log });
      if (opts.kafka) kafka = new KafkaUplink(opts.rsuId, opts.kafka, readers.kafka!, { logger: log });
    } catch (err) {
      await spool.close();
      if (err instanceof UplinkConfigError) throw err;
      throw new UplinkConfigError(errorMessage(err), { cause: err });
    }
    u = new Uplink(opts.rsuId, spool, mqtt, kafka, opts.messageSet ?? '', log);
    const now = Date.now();
    if (mqtt) u.monitors.push(new LinkMonitor('mqtt', mqtt, readers.mqtt!, now));
    if (kafka) u.monitors.push(new LinkMonitor('kafka', kafka, readers.kafka!, now));
    u.sampler = setInterval(() => u!.sampleLinks(), 1000);
    u.sampler.unref();
    mqtt?.start();
    kafka?.start();
    return u;
  }

  /**
   * Put one record into the spool.  Synchronous: when it returns ok the
   * record has been written to the kernel (it survives a crash of the
   * process) and will be delivered at least once by every configured link.
   * Never throws.
   */
  submit(rec: UplinkRecord): SubmitResult {
    const bad = (error: string): SubmitResult => {
      this.rejected++;
      this.lastRejectReason = error;
      this.log.warn({ err: error }, 'uplink record rejected');
      return { ok: false, error };
    };
    if (this.closed) return bad('uplink is closed');
    if (!rec || typeof rec !== 'object') return bad('uplink record must be an object');
    if (!isMessageTypeName(rec.type)) return bad(`unknown uplink message type ${JSON.stringify(rec.type)}`);
    if (!(rec.uper instanceof Uint8Array)) return bad(`uplink ${rec.type} record: uper must be a Uint8Array`);
    if (rec.uper.length === 0) return bad(`uplink ${rec.type} record: uper is empty`);
    const captureTimeMs = rec.captureTimeMs ?? Date.now();
    if (!Number.isSafeInteger(captureTimeMs) || captureTimeMs < 0) {
      return bad(`uplink ${rec.type} record: captureTimeMs must be a non-negative integer, got ${rec.captureTimeMs}`);
    }
    try {
      const seq = this.spool.append(MESSAGE_TYPE_CODE[rec.type], (id) =>
        encodeEnvelope({
          rsuId: this.rsuId,
          seq: id,
          captureTimeMs,
          msgType: rec.type,
          uper: rec.uper,
          summary: rec.summary,
          messageSet: rec.messageSet ?? this.messageSet,
        }),
      );
      this.submitted++;
      this.times.add(seq, Date.now());
      return { ok: true, seq };
    } catch (err) {
      return bad(`uplink ${rec.type} record not accepted: ${errorMessage(err)}`);
    }
  }

  /** Plug in (or replace) the validator/applier of RSI or config downlinks. */
  setDownlinkHandler(kind: DownlinkKind, handler: DownlinkHandler | undefined): void {
    if (!this.mqtt) throw new UplinkConfigError('downlinks need the MQTT uplink');
    this.mqtt.setDownlinkHandler(kind, handler);
  }

  /** Called with the link and message type of every record a broker acknowledged. Returns an unsubscribe function. */
  onDelivered(fn: (link: string, type: MessageTypeName) => void): () => void {
    this.delivered.add(fn);
    return () => this.delivered.delete(fn);
  }

  private sampleLinks(now = Date.now()): void {
    for (const m of this.monitors) m.sample(now);
    if (this.monitors.length) this.times.trim(Math.min(...this.monitors.map((m) => m.reader.stats().ackedLow)));
  }

  /** Delivery health of each configured link. */
  links(now = Date.now()): LinkHealth[] {
    return this.monitors.map((m) => m.health(now, this.times));
  }

  stats(): UplinkStats {
    const s: UplinkStats = {
      links: this.links(),
      rsuId: this.rsuId,
      submitted: this.submitted,
      rejected: this.rejected,
      lastRejectReason: this.lastRejectReason,
      spool: this.spool.stats(),
    };
    if (this.mqtt) s.mqtt = this.mqtt.stats();
    if (this.kafka) s.kafka = this.kafka.stats();
    return s;
  }

  /**
   * Clean shutdown: stop the links (waiting up to timeoutMs for outstanding
   * broker acknowledgements), then sync the spool and persist the cursors.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sampler);
    const timeoutMs = opts.timeoutMs ?? 3000;
    await Promise.all([this.mqtt?.close(timeoutMs), this.kafka?.close(timeoutMs)]);
    await this.spool.close();
  }
}
