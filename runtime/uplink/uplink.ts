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
import { Spool, SpoolError, type SpoolOptions, type SpoolStats } from './spool.js';
import {
  errorMessage,
  isMessageTypeName,
  recordTag,
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
  /**
   * Set for a message heard on the radio from another station: it goes to the `rx` topic with the sender's
   * identity as decoded (see Envelope.sender_id), never to the topic of what this RSU sends.
   */
  received?: { senderId: string };
}

export type SubmitResult = { ok: true; seq: number } | { ok: false; error: string };

/** Why submit() refused a record: `invalid` input, `too_large` for the spool, `disk_full`, another `write_error`, `closed`. */
export type RejectReason = 'invalid' | 'too_large' | 'disk_full' | 'write_error' | 'closed';

export interface UplinkStats {
  rsuId: string;
  /** Records accepted into the spool since open. */
  submitted: number;
  /** Records refused by submit() (bad input, spool write failure). */
  rejected: number;
  /** The same, by reason. */
  rejectedByReason: Record<RejectReason, number>;
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
  private readonly rejectedByReason: Record<RejectReason, number> = { invalid: 0, too_large: 0, disk_full: 0, write_error: 0, closed: 0 };
  /** Per reason: when the last rejection was logged, and how many were not logged since. */
  private readonly rejectLog = new Map<RejectReason, { at: number; held: number }>();
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
    const bad = (error: string, reason: RejectReason = 'invalid'): SubmitResult => {
      this.rejected++;
      this.rejectedByReason[reason]++;
      this.lastRejectReason = error;
      this.logRejection(reason, error);
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
      const seq = this.spool.append(recordTag({ type: rec.type, received: !!rec.received }), (id) =>
        encodeEnvelope({
          rsuId: this.rsuId,
          seq: id,
          captureTimeMs,
          msgType: rec.type,
          uper: rec.uper,
          summary: rec.summary,
          messageSet: rec.messageSet ?? this.messageSet,
          received: !!rec.received,
          senderId: rec.received?.senderId,
        }),
      );
      this.submitted++;
      this.times.add(seq, Date.now());
      return { ok: true, seq };
    } catch (err) {
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      const reason: RejectReason = !(err instanceof SpoolError)
        ? 'write_error'
        : err.code === 'RECORD_TOO_LARGE'
          ? 'too_large'
          : err.code === 'CLOSED'
            ? 'closed'
            : cause?.code === 'ENOSPC'
              ? 'disk_full'
              : 'write_error';
      return bad(`uplink ${rec.type} record not accepted: ${errorMessage(err)}`, reason);
    }
  }

  /** One line per reason a minute at most (a flood must not flood the log); the spool logs a full disk itself. */
  private logRejection(reason: RejectReason, error: string): void {
    if (reason === 'disk_full') return;
    const now = Date.now();
    const l = this.rejectLog.get(reason);
    if (l && now - l.at < 60_000) {
      l.held++;
      return;
    }
    this.log.warn({ err: error, reason, ...(l?.held ? { notLogged: l.held } : {}) }, 'uplink record rejected');
    this.rejectLog.set(reason, { at: now, held: 0 });
  }

  /**
   * Uplink records lost, by reason: `spool_full` (oldest deleted at maxBytes), `disk_full` (oldest deleted or
   * new ones refused for a full disk), `write_error`, `too_large`, `invalid`, `closed` (refused by submit),
   * `corrupt` (unreadable in the spool), `broker_refused` (refused for good by the MQTT broker), `bad_record`.
   */
  droppedByReason(): Record<string, number> {
    const s = this.stats();
    const r = s.rejectedByReason;
    return {
      spool_full: s.spool.droppedRecords - s.spool.droppedDiskFull,
      disk_full: s.spool.droppedDiskFull + r.disk_full,
      write_error: r.write_error,
      too_large: r.too_large,
      invalid: r.invalid,
      closed: r.closed,
      corrupt: s.spool.corruptRecords,
      broker_refused: s.mqtt?.refusedByBroker ?? 0,
      bad_record: (s.mqtt?.badRecords ?? 0) + (s.kafka?.badRecords ?? 0),
    };
  }

  /** Conditions `rsu status` shows as alarms: a full disk refusing records, records dropped in the last minute. */
  alarms(now = Date.now()): string[] {
    const sp = this.spool.stats();
    const out: string[] = [];
    if (sp.diskFullSince) {
      out.push(`uplink spool disk full: new records refused since ${new Date(sp.diskFullSince).toISOString()} (${sp.refusedDiskFull} so far; ${sp.dir})`);
    }
    if (sp.lastDropAt && now - sp.lastDropAt < 60_000) out.push(`uplink spool full: unsent records dropped, oldest first (${sp.droppedRecords} since start)`);
    return out;
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
      rejectedByReason: { ...this.rejectedByReason },
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
