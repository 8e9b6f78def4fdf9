/**
 * Per-link delivery health, for the status, alarms and metrics: connected or not and since when, backlog, age of
 * the oldest undelivered record, delivered per second (broker acknowledgements, not submissions) and errors.
 *
 * Kept beside the links rather than in them: it watches each link's spool reader (what was handed out and
 * acknowledged) and samples the link's state once a second, so the links' delivery logic stays as it is.
 */
import type { ConsumerStats, SpoolReader, SpoolRecord } from './spool.js';
import { messageTypeFromCode, type BrokerState, type MessageTypeName } from './types.js';

export type LinkName = 'mqtt' | 'kafka';

export interface LinkHealth {
  link: LinkName;
  state: BrokerState;
  connected: boolean;
  /** Epoch ms of the last change of `connected` (within a second), or when the uplink opened. */
  sinceMs: number;
  /** Records this link has not delivered yet. */
  backlog: number;
  /** Age of the oldest record this link has not delivered, s (within a second; null when none waits). */
  oldestUndeliveredS: number | null;
  /** Broker acknowledgements per second over the last 5 s. */
  deliveredPerS: number;
  /** Acknowledged records since start, by message type. */
  delivered: Partial<Record<MessageTypeName, number>>;
  /** Connection failures, lost connections and failed deliveries since start. */
  errors: number;
  lastError: string;
}

/** A spool reader that tells which records (by type) its link got acknowledged. */
export class WatchedReader implements SpoolReader {
  private readonly handed = new Map<number, number>();
  readonly delivered: Partial<Record<MessageTypeName, number>> = {};
  total = 0;
  constructor(
    private readonly inner: SpoolReader,
    private readonly onDelivered: (type: MessageTypeName) => void,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  get outstanding(): number {
    return this.inner.outstanding;
  }
  get pending(): number {
    return this.inner.pending;
  }
  next(): SpoolRecord | undefined {
    const r = this.inner.next();
    if (r) this.handed.set(r.id, r.tag);
    return r;
  }
  ack(id: number): void {
    const tag = this.handed.get(id);
    this.handed.delete(id);
    this.inner.ack(id);
    const type = tag === undefined ? undefined : messageTypeFromCode(tag);
    if (!type) return; // a record skipped for its unknown tag is not a delivery
    this.delivered[type] = (this.delivered[type] ?? 0) + 1;
    this.total++;
    this.onDelivered(type);
  }
  rewind(): void {
    this.handed.clear();
    this.inner.rewind();
  }
  onAvailable(cb: () => void): () => void {
    return this.inner.onAvailable(cb);
  }
  stats(): ConsumerStats {
    return this.inner.stats();
  }
}

/** When records were submitted: one (first id, time) mark per second, trimmed as the links acknowledge. */
export class SubmitTimes {
  private marks: { id: number; ms: number }[] = [];
  constructor(private readonly openedMs: number) {}
  add(id: number, ms: number): void {
    const last = this.marks[this.marks.length - 1];
    if (!last || ms - last.ms >= 1000) this.marks.push({ id, ms });
  }
  /** When record `id` was submitted, at the earliest (records from before this run: when the uplink opened). */
  submittedAt(id: number): number {
    let at = this.openedMs;
    for (const m of this.marks) {
      if (m.id > id) break;
      at = m.ms;
    }
    return at;
  }
  /** Forget the marks every record of which every link has acknowledged. */
  trim(lowestUnacked: number): void {
    let k = 0;
    while (k + 1 < this.marks.length && this.marks[k + 1]!.id <= lowestUnacked) k++;
    if (k) this.marks.splice(0, k);
  }
}

interface LinkView {
  readonly brokerState: BrokerState;
  stats(): { lastError: string };
}

/** Error counters of each link's stats() that mean a record or a connection failed. */
const ERROR_KEYS = ['connectFailures', 'disconnects', 'rejectedByBroker', 'refusedByBroker', 'deliveryErrors', 'fatalErrors'];

export class LinkMonitor {
  private connected = false;
  private sinceMs: number;
  private samples: { ms: number; total: number }[] = [];
  constructor(
    readonly link: LinkName,
    private readonly view: LinkView,
    readonly reader: WatchedReader,
    nowMs: number,
  ) {
    this.sinceMs = nowMs;
  }
  /** Note the state and the delivered count (once a second, and on every health()). */
  sample(nowMs: number): void {
    const up = this.view.brokerState === 'up';
    if (up !== this.connected) {
      this.connected = up;
      this.sinceMs = nowMs;
    }
    this.samples.push({ ms: nowMs, total: this.reader.total });
    while (this.samples.length > 2 && nowMs - this.samples[1]!.ms >= 5000) this.samples.shift();
  }
  health(nowMs: number, times: SubmitTimes): LinkHealth {
    this.sample(nowMs);
    const st = this.view.stats();
    const c = this.reader.stats();
    const first = this.samples[0]!;
    const dt = (nowMs - first.ms) / 1000;
    const counts = st as unknown as Record<string, unknown>;
    const errors = ERROR_KEYS.reduce((a, k) => a + (typeof counts[k] === 'number' ? (counts[k] as number) : 0), 0);
    return {
      link: this.link,
      state: this.view.brokerState,
      connected: this.connected,
      sinceMs: this.sinceMs,
      backlog: c.pending,
      oldestUndeliveredS: c.pending > 0 ? Math.max(0, Math.round((nowMs - times.submittedAt(c.ackedLow)) / 100) / 10) : null,
      deliveredPerS: dt >= 0.5 ? Math.round(((this.reader.total - first.total) / dt) * 10) / 10 : 0,
      delivered: { ...this.reader.delivered },
      errors,
      lastError: st.lastError,
    };
  }
}
