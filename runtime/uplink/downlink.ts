/**
 * Validation and application of cloud -> RSU downlink messages
 * (topics .../rsi/down and .../config/down).
 *
 * A message is applied only after every check passed; a rejected message
 * changes nothing and is answered on .../ack/up with the reason.  The checks
 * of the content itself are plugged in by the owners of RSI broadcasting and
 * of the configuration as DownlinkHandler functions.
 */
import { decodeDownlink, type DownlinkAck, type DownlinkMessage } from './envelope.js';
import { errorMessage, silentLogger, type Logger } from './types.js';

export type DownlinkKind = 'rsi' | 'config';

/** A rejection's `code` classes its reason for counting (stats().rejectedByReason, the daemon's metric). */
export type DownlinkVerdict = { ok: true } | { ok: false; reason: string; code?: string };

/** Where the message came from, as far as the connection can tell. */
export interface DownlinkOrigin {
  /** The broker proved its identity: a TLS connection whose certificate chain and name were verified. */
  verifiedBroker: boolean;
}

export interface DownlinkHandler {
  /**
   * Check a decoded message.  Must not change any state.  Return
   * { ok: false, reason } to reject; throwing counts as a rejection too.
   */
  validate(msg: DownlinkMessage): DownlinkVerdict | Promise<DownlinkVerdict>;
  /**
   * Apply a message that passed validate().  Throwing rejects the message;
   * the handler must then leave its state unchanged.
   */
  apply(msg: DownlinkMessage): void | Promise<void>;
}

export type DownlinkHandlers = Partial<Record<DownlinkKind, DownlinkHandler>>;

export interface DownlinkOptions {
  /** Largest accepted downlink payload (whole MQTT payload). Default 64 KiB. */
  maxBytes?: number;
  /** validate() must answer within this time. Default 5000 ms. */
  validateTimeoutMs?: number;
  /** How many recent msg_ids are remembered for duplicate detection. Default 1024. */
  dedupWindow?: number;
  now?: () => number;
  logger?: Logger;
  /**
   * Accept downlinks only from a broker that proved its identity (DownlinkOrigin.verifiedBroker). Default true:
   * over plain MQTT anyone who reaches the broker's port, or takes it first, could change what the RSU broadcasts.
   */
  requireVerifiedBroker?: boolean;
  /** Told of every processed downlink: accepted, or the class of the rejection. */
  onResult?: (kind: DownlinkKind, result: 'accepted' | string) => void;
}

export interface DownlinkStats {
  received: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  lastRejectReason: string;
  /**
   * Rejections by class: too_large, empty, malformed, wrong_rsu, expired, unverified_broker, no_handler,
   * not_allowed, invalid, apply_failed (or a validator's own code).
   */
  rejectedByReason: Record<string, number>;
}

export class DownlinkProcessor {
  private readonly maxBytes: number;
  private readonly validateTimeoutMs: number;
  private readonly dedupWindow: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly recent = new Map<string, DownlinkAck>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly st: DownlinkStats = { received: 0, accepted: 0, rejected: 0, duplicates: 0, lastRejectReason: '', rejectedByReason: {} };
  private readonly requireVerifiedBroker: boolean;
  private readonly onResult: DownlinkOptions['onResult'];

  constructor(
    private readonly rsuId: string,
    private readonly handlers: DownlinkHandlers,
    opts: DownlinkOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024;
    this.validateTimeoutMs = opts.validateTimeoutMs ?? 5000;
    this.dedupWindow = opts.dedupWindow ?? 1024;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    this.requireVerifiedBroker = opts.requireVerifiedBroker ?? true;
    this.onResult = opts.onResult;
  }

  /**
   * Process one raw downlink payload.  Messages are processed one at a time
   * in arrival order.  Never throws; resolves to the acknowledgement to send.
   */
  process(kind: DownlinkKind, raw: Buffer, origin: DownlinkOrigin = { verifiedBroker: false }, wireBytes = raw.length): Promise<DownlinkAck> {
    const p = this.chain.then(() => this.processOne(kind, raw, origin, wireBytes));
    this.chain = p.catch(() => {});
    return p;
  }

  /** `wireBytes`: the payload's size as sent (larger than `raw` when the transport dropped it unread as too large). */
  private async processOne(kind: DownlinkKind, raw: Buffer, origin: DownlinkOrigin, wireBytes: number): Promise<DownlinkAck> {
    this.st.received++;
    const ack = (msgId: string, reason: string | undefined, code = 'invalid'): DownlinkAck => {
      const a: DownlinkAck = {
        rsuId: this.rsuId,
        msgId,
        kind,
        accepted: reason === undefined,
        reason: reason ?? '',
        timeMs: this.now(),
        payloadBytes: wireBytes,
      };
      if (reason === undefined) this.st.accepted++;
      else {
        this.st.rejected++;
        this.st.rejectedByReason[code] = (this.st.rejectedByReason[code] ?? 0) + 1;
        this.st.lastRejectReason = reason;
        this.log.warn({ kind, msgId, reason, code, bytes: wireBytes }, 'downlink rejected');
      }
      try {
        this.onResult?.(kind, reason === undefined ? 'accepted' : code);
      } catch {
        /* a metric must not stop the downlink path */
      }
      return a;
    };

    if (wireBytes > this.maxBytes) return ack('', `downlink payload of ${wireBytes} bytes exceeds the limit of ${this.maxBytes}`, 'too_large');
    if (raw.length === 0) return ack('', 'empty downlink payload', 'empty');
    let msg: DownlinkMessage;
    try {
      msg = decodeDownlink(raw);
    } catch (err) {
      return ack('', `malformed downlink: ${errorMessage(err)}`, 'malformed');
    }
    if (!msg.msgId) return ack('', 'malformed downlink: msg_id is empty', 'malformed');
    if (msg.msgId.length > 128) return ack(msg.msgId.slice(0, 128), 'malformed downlink: msg_id longer than 128 characters', 'malformed');
    if (this.requireVerifiedBroker && !origin.verifiedBroker)
      return ack(
        msg.msgId,
        "downlink refused: the broker's identity is not verified (not a TLS connection with a verified certificate); this RSU takes downlinks only over mqtts:// (uplink.mqtt.downlinks.requireVerifiedBroker)",
        'unverified_broker',
      );
    if (msg.rsuId !== this.rsuId) return ack(msg.msgId, `downlink addressed to rsu_id ${JSON.stringify(msg.rsuId)}, this is ${JSON.stringify(this.rsuId)}`, 'wrong_rsu');
    const dedupKey = `${kind}\u0000${msg.msgId}`;
    const prev = this.recent.get(dedupKey);
    if (prev) {
      this.st.duplicates++;
      return { ...prev, timeMs: this.now() };
    }
    const result = await this.check(kind, msg);
    const a = ack(msg.msgId, result?.reason, result?.code);
    if (result === undefined || result.code !== 'apply_failed') this.remember(dedupKey, a);
    return a;
  }

  /** undefined = applied; otherwise the reason of the rejection and its class. */
  private async check(kind: DownlinkKind, msg: DownlinkMessage): Promise<{ reason: string; code: string } | undefined> {
    if (msg.payload.length === 0) return { reason: 'downlink payload field is empty', code: 'empty' };
    if (msg.expiresTimeMs !== 0 && msg.expiresTimeMs <= this.now()) {
      return { reason: `downlink expired at ${new Date(msg.expiresTimeMs).toISOString()}`, code: 'expired' };
    }
    const h = this.handlers[kind];
    if (!h) return { reason: `no ${kind} downlink handler is installed on this RSU`, code: 'no_handler' };
    let verdict: DownlinkVerdict;
    let timer: NodeJS.Timeout | undefined;
    try {
      verdict = await Promise.race([
        Promise.resolve().then(() => h.validate(msg)),
        new Promise<DownlinkVerdict>((resolve) => {
          timer = setTimeout(() => resolve({ ok: false, reason: `validation timed out after ${this.validateTimeoutMs} ms` }), this.validateTimeoutMs);
        }),
      ]);
    } catch (err) {
      verdict = { ok: false, reason: `validation failed: ${errorMessage(err)}` };
    } finally {
      clearTimeout(timer);
    }
    if (!verdict || typeof verdict !== 'object' || typeof verdict.ok !== 'boolean') {
      return { reason: 'validation failed: validator returned no verdict', code: 'invalid' };
    }
    if (!verdict.ok) return { reason: verdict.reason || 'rejected by validator', code: verdict.code ?? 'invalid' };
    try {
      await h.apply(msg);
    } catch (err) {
      return { reason: `apply failed: ${errorMessage(err)}`, code: 'apply_failed' };
    }
    this.log.info({ kind, msgId: msg.msgId }, 'downlink applied');
    return undefined;
  }

  private remember(key: string, a: DownlinkAck): void {
    this.recent.set(key, a);
    if (this.recent.size > this.dedupWindow) {
      const first = this.recent.keys().next();
      if (!first.done) this.recent.delete(first.value);
    }
  }

  setHandler(kind: DownlinkKind, handler: DownlinkHandler | undefined): void {
    if (handler) this.handlers[kind] = handler;
    else delete this.handlers[kind];
  }

  /** Resolves when every message received so far has been processed. */
  idle(): Promise<void> {
    return this.chain.then(() => {});
  }

  stats(): DownlinkStats {
    return { ...this.st, rejectedByReason: { ...this.st.rejectedByReason } };
  }
}
