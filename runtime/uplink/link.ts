/**
 * What the MQTT and Kafka links share: the connection lifecycle around one
 * spool reader.  Kept in one place because this is where the at-least-once
 * guarantee lives (rewind to the first unacknowledged record, one retry timer,
 * nothing new sent while a failed window drains); the client library parts
 * (sessions, publishing, shutdown) stay in mqtt.ts and kafka.ts.
 *
 *   idle --start--> connecting --open()--> up ... down --backoff--> connecting ... --close--> closed
 */
import { Backoff } from './backoff.js';
import type { SpoolReader, SpoolRecord } from './spool.js';
import { routeOfTag, silentLogger, type BrokerState, type Logger, type RecordRoute } from './types.js';

/** The counters the lifecycle updates; each link's `st` has more. */
export interface LinkCounters {
  connectFailures: number;
  badRecords: number;
  lastError: string;
  lastErrorAt: number;
}

export abstract class BrokerLink {
  protected state: BrokerState = 'idle';
  protected closing = false;
  protected readonly log: Logger;
  /** The one retry timer: reconnects and resumes after a drain replace each other. */
  protected readonly backoff: Backoff;
  protected abstract readonly st: LinkCounters;
  private unsubscribe: (() => void) | undefined;

  constructor(
    /** Prefix of the log messages. */
    private readonly name: 'mqtt' | 'kafka',
    protected readonly reader: SpoolReader,
    retry: { reconnectMinMs?: number; reconnectMaxMs?: number },
    logger: Logger | undefined,
  ) {
    this.log = logger ?? silentLogger;
    this.backoff = new Backoff(retry.reconnectMinMs ?? 500, retry.reconnectMaxMs ?? 30_000);
  }

  /** Create a fresh client/session; report the outcome via connectFailed / scheduleReconnect / pump. */
  protected abstract open(): void;

  /** Hand over spool records while the session and its window allow. */
  protected abstract pump(): void;

  /** Start connecting; returns immediately. */
  start(): void {
    if (this.state !== 'idle') return;
    this.unsubscribe = this.reader.onAvailable(() => this.pump());
    this.connect();
  }

  get brokerState(): BrokerState {
    return this.state;
  }

  private connect(): void {
    if (this.closing) return;
    this.state = 'connecting';
    this.open();
  }

  protected fail(msg: string, log = true): void {
    this.st.lastError = msg;
    this.st.lastErrorAt = Date.now();
    if (log) this.log.warn({ err: msg }, `${this.name} uplink error`);
  }

  /** An attempt that never got a session: count it and try again after a backoff. */
  protected connectFailed(msg: string, log = true): void {
    this.fail(msg, log);
    this.st.connectFailures++;
    this.scheduleReconnect();
  }

  protected scheduleReconnect(): void {
    if (this.closing) return;
    this.state = 'down';
    this.backoff.after(() => this.connect());
  }

  /** The record's message type and direction; a record with an unknown tag is counted, logged and acknowledged (skipped) instead. */
  protected routeOf(rec: SpoolRecord): RecordRoute | undefined {
    const type = routeOfTag(rec.tag);
    if (!type) {
      this.st.badRecords++;
      this.log.error({ id: rec.id, tag: rec.tag }, `${this.name} uplink: spool record with unknown message type skipped`);
      this.reader.ack(rec.id);
    }
    return type;
  }

  /** Everything handed out but unacknowledged goes again, in order. Override to drop records held outside the reader. */
  protected rewind(): void {
    this.reader.rewind();
  }

  /**
   * After a record of session `s` was acknowledged or failed: send on; or, once
   * a failure has set `s.draining`, wait for the rest of the window (`inFlight`)
   * to report, then rewind and resume after a backoff.  Not while closing:
   * the unacknowledged records stay in the spool, and a retry timer would
   * outlive close().
   */
  protected completed(s: { draining: boolean }, inFlight: number): void {
    if (!s.draining) {
      this.pump();
      return;
    }
    if (inFlight > 0 || this.closing) return;
    this.rewind();
    this.backoff.after(() => {
      s.draining = false;
      this.pump();
    });
  }

  /** First step of close(): false when already closing. Stops retries and spool notifications. */
  protected beginClose(): boolean {
    if (this.closing) return false;
    this.closing = true;
    this.backoff.cancel();
    this.unsubscribe?.();
    return true;
  }
}
