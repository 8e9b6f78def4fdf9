// Transmitters: UPER MessageFrames to the radio over UDP, one message per datagram.
//
//   UdpRawTx            the UPER bytes as they are (what radio daemons and test tools read)
//   ImmediateForwardTx  the USDOT RSU 4.1 immediate forward text around them (ifm.ts)
//
// The socket is connected to the target, so the kernel reports ICMP errors (port unreachable → ECONNREFUSED,
// host unreachable → EHOSTUNREACH) on it; they, and every other failure, are counted in stats().errors by reason
// and logged (rate-limited), never thrown at the caller. Sends made while connecting are queued; at most
// `maxInFlight` datagrams wait for the kernel at once, beyond that messages are dropped as 'backlog' (a radio
// that is away must not make the daemon's memory grow).

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { pino, type Logger } from 'pino';
import { RateLimitedLogger } from '../sensors/ratelog.js';
import { buildIfmDatagram, DEFAULT_IFM_TYPE_NAMES, ifmPrefix, type ImmediateForwardHeader, type TxMode } from './ifm.js';
import { encodeDsmp, encodeWsmp, MAX_WSM_LENGTH } from './netlayer.js';
import { isRadioType, RADIO_TYPES, type RadioTx, type RadioTxMessage, type RadioType, type TxDropReason, type TxStats, type TxTypeCounter } from './types.js';

/** Largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD = 65507;

export interface UdpTxOptions {
  logger?: Logger;
  /** RSU clock, ms since the epoch (latency figures). Default Date.now. */
  now?: () => number;
  /** Datagrams waiting for the kernel (or queued while connecting) before messages are dropped. Default 1024. */
  maxInFlight?: number;
  /** Retry interval when the target address cannot be resolved, ms. Default 5000. */
  reconnectMs?: number;
  /** Requested socket send buffer, bytes. */
  sendBufferBytes?: number;
}

type State = 'connecting' | 'open' | 'closed';

function emptyByType(): Record<RadioType, TxTypeCounter> {
  return Object.fromEntries(RADIO_TYPES.map((t) => [t, { datagrams: 0, bytes: 0, payloadBytes: 0 }])) as Record<RadioType, TxTypeCounter>;
}

function hostPortString(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

abstract class UdpTx implements RadioTx {
  abstract readonly mode: 'udp-raw' | 'immediate-forward';

  private sock: Socket | undefined;
  private state: State = 'connecting';
  private readonly queue: Array<{ type: RadioType; datagram: Uint8Array; payloadBytes: number }> = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly reconnectMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readyWaiters: Array<() => void> = [];
  private readonly log: Logger;
  private readonly rl: RateLimitedLogger;
  private readonly now: () => number;
  private readonly counters = {
    submitted: 0,
    sent: { datagrams: 0, bytes: 0 },
    byType: emptyByType(),
    errors: {} as Record<string, number>,
    lastError: undefined as TxStats['lastError'],
    latency: { count: 0, lastMs: 0, maxMs: 0, sumMs: 0 },
  };

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly opts: UdpTxOptions = {},
  ) {
    if (typeof host !== 'string' || host === '') throw new RangeError('radio target host is empty');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`radio target port ${port}: expected 1-65535`);
    this.maxInFlight = opts.maxInFlight ?? 1024;
    this.reconnectMs = opts.reconnectMs ?? 5000;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? pino({ name: 'radio-tx', level: 'warn' });
    this.rl = new RateLimitedLogger(this.log, { now: this.now });
    this.open();
  }

  /** The datagram for a message, or the reason it cannot be sent. */
  protected abstract frame(type: RadioType, bytes: Uint8Array): Uint8Array | TxDropReason;

  send(msg: RadioTxMessage): boolean {
    const c = this.counters;
    c.submitted++;
    const type = msg?.type;
    if (!isRadioType(type)) return this.drop('unknown_type', `type ${JSON.stringify(type)} is not one of ${RADIO_TYPES.join(', ')}`);
    if (this.state === 'closed') return this.drop('closed', 'send after close');
    const bytes = msg.bytes;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) return this.drop('empty_payload', `${type}: no bytes`);
    const d = this.frame(type, bytes);
    if (typeof d === 'string') return this.drop(d, `${type}: ${d}`);
    if (d.length > MAX_UDP_PAYLOAD) return this.drop('too_large', `${type}: datagram of ${d.length} bytes exceeds ${MAX_UDP_PAYLOAD}`);
    if (this.inFlight + this.queue.length >= this.maxInFlight) return this.drop('backlog', `${this.inFlight + this.queue.length} datagrams already waiting`);
    if (typeof msg.captureTimeNs === 'bigint' && msg.captureTimeNs > 0n) {
      const ms = this.now() - Number(msg.captureTimeNs / 1000n) / 1000;
      const l = c.latency;
      l.count++;
      l.lastMs = ms;
      l.sumMs += ms;
      if (ms > l.maxMs) l.maxMs = ms;
    }
    if (this.state === 'connecting') {
      this.queue.push({ type, datagram: d, payloadBytes: bytes.length });
      return true;
    }
    this.write(type, d, bytes.length);
    return true;
  }

  ready(): Promise<void> {
    if (this.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  stats(): TxStats {
    const c = this.counters;
    const l = c.latency;
    return {
      mode: this.mode,
      target: hostPortString(this.host, this.port),
      connected: this.state === 'open',
      submitted: c.submitted,
      sent: { ...c.sent },
      byType: Object.fromEntries(RADIO_TYPES.map((t) => [t, { ...c.byType[t] }])) as Record<RadioType, TxTypeCounter>,
      errors: { ...c.errors },
      inFlight: this.inFlight + this.queue.length,
      ...(c.lastError ? { lastError: { ...c.lastError } } : {}),
      latency: { count: l.count, lastMs: l.lastMs, maxMs: l.maxMs, meanMs: l.count ? l.sumMs / l.count : 0 },
    };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const q of this.queue.splice(0)) this.count('closed', `${q.type}: closed before the socket connected`);
    this.wakeReady();
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private open(): void {
    const sock = createSocket(isIPv6(this.host) ? 'udp6' : 'udp4');
    this.sock = sock;
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (this.sock !== sock) return;
      if (this.state === 'connecting' && (err.syscall === 'connect' || err.syscall === 'getaddrinfo' || err.code === 'ENOTFOUND')) {
        this.connectFailed(sock, err);
        return;
      }
      // An ICMP error reported on the receive path of the connected socket (ECONNREFUSED, EHOSTUNREACH...).
      this.count(err.code ?? 'socket_error', err.message);
    });
    sock.on('message', () => {}); // the radio does not answer on this socket; ignore anything that arrives
    try {
      // Node calls this with the error when the address cannot be resolved or connect(2) fails.
      sock.connect(this.port, this.host, (err?: Error) => {
        if (this.sock !== sock || this.state !== 'connecting') return;
        if (err) {
          this.connectFailed(sock, err as NodeJS.ErrnoException);
          return;
        }
        this.state = 'open';
        if (this.opts.sendBufferBytes) {
          try {
            sock.setSendBufferSize(this.opts.sendBufferBytes);
          } catch (e) {
            this.log.warn({ err: (e as Error).message }, 'radio: could not set the send buffer size');
          }
        }
        for (const q of this.queue.splice(0)) this.write(q.type, q.datagram, q.payloadBytes);
        this.wakeReady();
      });
    } catch (e) {
      this.connectFailed(sock, e as NodeJS.ErrnoException);
    }
  }

  private connectFailed(sock: Socket, err: NodeJS.ErrnoException): void {
    for (const q of this.queue.splice(0)) this.count('not_connected', `${q.type}: ${err.message}`);
    this.count('not_connected', `cannot connect to ${hostPortString(this.host, this.port)}: ${err.message}`);
    this.sock = undefined;
    try {
      sock.close();
    } catch {
      // already closed
    }
    // Stay 'connecting' (sends are queued up to maxInFlight) and try again.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'connecting') this.open();
    }, this.reconnectMs);
    this.retryTimer.unref();
  }

  private wakeReady(): void {
    for (const w of this.readyWaiters.splice(0)) w();
  }

  private write(type: RadioType, d: Uint8Array, payloadBytes: number): void {
    const sock = this.sock!;
    this.inFlight++;
    try {
      sock.send(d, (err) => {
        this.inFlight--;
        if (err) {
          this.count((err as NodeJS.ErrnoException).code ?? 'send_error', `${type}: ${err.message}`);
          return;
        }
        const c = this.counters;
        c.sent.datagrams++;
        c.sent.bytes += d.length;
        const bt = c.byType[type];
        bt.datagrams++;
        bt.bytes += d.length;
        bt.payloadBytes += payloadBytes;
      });
    } catch (e) {
      this.inFlight--;
      const err = e as NodeJS.ErrnoException;
      this.count(err.code ?? 'send_error', `${type}: ${err.message}`);
    }
  }

  private drop(reason: TxDropReason, message: string): false {
    this.count(reason, message);
    return false;
  }

  private count(reason: string, message: string): void {
    const c = this.counters;
    c.errors[reason] = (c.errors[reason] ?? 0) + 1;
    c.lastError = { reason, message, atMs: this.now() };
    this.rl.warn(`tx:${reason}`, { target: hostPortString(this.host, this.port), mode: this.mode, reason, detail: message }, 'radio: message not sent');
  }
}

/** udp-raw: each MessageFrame as its own datagram, the UPER bytes unchanged. */
/** A network header in front of each udp-raw datagram, with the PSID (WSMP) or AID (DSMP) integer of each type. */
export type RawFrameHeader =
  | { kind: 'wsmp'; psids: Partial<Record<RadioType, number>>; channel?: number; txPowerDbm?: number; dataRate?: number }
  | { kind: 'dsmp'; aids: Partial<Record<RadioType, number>>; version: number };

export class UdpRawTx extends UdpTx {
  readonly mode = 'udp-raw' as const;

  /** @param header WSMP or DSMP in front of each message (netlayer.ts); types without a PSID/AID are dropped as 'no_settings'. */
  constructor(
    host: string,
    port: number,
    opts: UdpTxOptions = {},
    private readonly header?: RawFrameHeader,
  ) {
    super(host, port, opts);
    if (header?.kind === 'wsmp') encodeWsmp({ psid: 0, channel: header.channel, txPowerDbm: header.txPowerDbm, dataRate: header.dataRate }, new Uint8Array(0)); // range checks now, not per message
    if (header?.kind === 'dsmp') encodeDsmp({ version: header.version, aid: 0 }, new Uint8Array(0));
  }

  protected frame(type: RadioType, bytes: Uint8Array): Uint8Array | TxDropReason {
    const h = this.header;
    if (h === undefined) return bytes;
    if (h.kind === 'wsmp') {
      const psid = h.psids[type];
      if (psid === undefined) return 'no_settings';
      if (bytes.length > MAX_WSM_LENGTH) return 'too_large';
      return encodeWsmp({ psid, channel: h.channel, txPowerDbm: h.txPowerDbm, dataRate: h.dataRate }, bytes);
    }
    const aid = h.aids[type];
    if (aid === undefined) return 'no_settings';
    if (bytes.length > 0xffff) return 'too_large';
    return encodeDsmp({ version: h.version, aid }, bytes);
  }
}

/** Per-type settings of the immediate forward text. */
export interface ImmediateForwardTypeSettings {
  /** p-encoded PSID (0x8002); see psid.ts for AIDs. */
  psid: number;
  /** 172-184. */
  channel: number;
  /** `Type=`; default BSM, SPAT, MAP, RSI, RSM (J2735 deployments send RSI as TIM). */
  typeName?: string;
  /** Overrides the transmitter-wide values for this type. */
  priority?: number;
  txMode?: TxMode;
  signature?: boolean;
  encryption?: boolean;
}

export type ImmediateForwardSettings = Partial<Record<RadioType, ImmediateForwardTypeSettings>>;

export interface ImmediateForwardOptions extends UdpTxOptions {
  /** 0-7; default 7 (what V2X Hub sends). */
  priority?: number;
  /** Default CONT. */
  txMode?: TxMode;
  /** Ask the RSU to sign (1609.2). Default false. */
  signature?: boolean;
  /** Default false. */
  encryption?: boolean;
}

/**
 * RSU 4.1 immediate forward: each MessageFrame in its own text datagram with the PSID and channel of its type.
 * Types without settings are dropped and counted as 'no_settings'. Bad settings throw here, at construction.
 */
export class ImmediateForwardTx extends UdpTx {
  readonly mode = 'immediate-forward' as const;
  /** The header lines of each configured type, ready to prepend. */
  private readonly prefixes: Partial<Record<RadioType, Uint8Array>>;
  readonly headers: Readonly<Partial<Record<RadioType, ImmediateForwardHeader>>>;

  constructor(host: string, port: number, settings: ImmediateForwardSettings, opts: ImmediateForwardOptions = {}) {
    const headers: Partial<Record<RadioType, ImmediateForwardHeader>> = {};
    for (const [type, s] of Object.entries(settings ?? {})) {
      if (!isRadioType(type)) throw new RangeError(`immediate forward settings: unknown message type ${JSON.stringify(type)}`);
      if (!s) continue;
      headers[type] = {
        type: s.typeName ?? DEFAULT_IFM_TYPE_NAMES[type],
        psid: s.psid,
        priority: s.priority ?? opts.priority ?? 7,
        txMode: s.txMode ?? opts.txMode ?? 'CONT',
        txChannel: s.channel,
        signature: s.signature ?? opts.signature ?? false,
        encryption: s.encryption ?? opts.encryption ?? false,
      };
    }
    // Validate before the socket opens (ifmPrefix throws a RangeError naming the field).
    const prefixes: Partial<Record<RadioType, Uint8Array>> = {};
    for (const [type, h] of Object.entries(headers) as Array<[RadioType, ImmediateForwardHeader]>) {
      try {
        prefixes[type] = Buffer.from(ifmPrefix(h), 'latin1');
      } catch (e) {
        throw new RangeError(`immediate forward settings for ${type}: ${(e as Error).message}`);
      }
    }
    super(host, port, opts);
    this.prefixes = prefixes;
    this.headers = headers;
  }

  protected frame(type: RadioType, bytes: Uint8Array): Uint8Array | TxDropReason {
    const prefix = this.prefixes[type];
    if (!prefix) return 'no_settings';
    return buildIfmDatagram(prefix, bytes);
  }
}
