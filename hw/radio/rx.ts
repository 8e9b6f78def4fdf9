// The receiver: MessageFrames the radio heard (the BSMs of passing vehicles, ...) arrive on a UDP port, one per
// datagram, either as UPER bytes or as an immediate forward style text whose Payload is the UPER hex (a datagram
// that starts with "Version=" is taken as text). Each is decoded with the configured message set, classified,
// counted by type and handed to the subscribers (the uplink). A datagram that is not a usable MessageFrame is
// counted by reason and logged (rate-limited) with the DecodeError's path, bit and reason, and dropped; nothing
// a datagram holds stops the receiver.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { pino, type Logger } from 'pino';
import { DecodeError } from '../../codecs/index.js';
import type { StdName } from '../../codecs/index.js';
import { RateLimitedLogger } from '../sensors/ratelog.js';
import { classifyFrame } from './classify.js';
import { ImmediateForwardParseError, looksLikeImmediateForward, parseImmediateForward } from './ifm.js';
import { NetHeaderError, payloadKind, unwrap, type NetworkHeaderKind } from './netlayer.js';
import { RADIO_TYPES, RX_DROP_REASONS, type Counter, type RadioType, type RxDropReason, type RxFormat, type RxListener, type RxMessage, type RxStats, type SpduHandler } from './types.js';
import { MAX_UDP_PAYLOAD } from './tx.js';

/** What the receiver needs of a message set (codecs/index.ts MessageSet). */
export interface FrameDecoder {
  readonly name: StdName | string;
  decodePrefix(typeName: 'MessageFrame', bytes: Uint8Array): { value: unknown; trailing: Uint8Array };
}

export interface RadioRxOptions {
  /** HOST:PORT (IPv6 as [ADDR]:PORT) or { host, port }; port 0 picks a free port. */
  listen: string | { host: string; port: number };
  /** The message set MessageFrames are decoded with (loadMessageSet(...)). */
  messageSet: FrameDecoder;
  logger?: Logger;
  /** RSU clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Deliver a frame followed by extra bytes (without them) instead of dropping it. Default false. */
  allowTrailingBytes?: boolean;
  /** Take datagrams starting with "Version=" as immediate forward text. Default true. */
  acceptImmediateForward?: boolean;
  /** Longer datagrams are dropped as 'oversize'. Default 65507. */
  maxDatagramBytes?: number;
  /** Requested socket receive buffer, bytes (the kernel may cap it at net.core.rmem_max). */
  receiveBufferBytes?: number;
  /** Network header of raw datagrams (netlayer.ts): 'wsmp' strips WSMP frames (recognised by shape), 'dsmp' requires a DSMP header. Default 'none'. */
  header?: NetworkHeaderKind;
  /** DSMP version octet expected (default 1). */
  dsmpVersion?: number;
  /** Verifies 1609.2 SPDUs and returns the MessageFrame inside; without it SPDUs are dropped as spdu_unverified. */
  spdu?: SpduHandler;
  /** Told of every dropped datagram, with its reason (the daemon's metrics). */
  onDrop?: (reason: RxDropReason) => void;
}

/** What became of one datagram (process()). */
export type RxVerdict = { ok: true; message: RxMessage } | { ok: false; reason: RxDropReason; detail: string };

const MAX_DECODE_REASONS = 64;

function splitListen(l: RadioRxOptions['listen']): { host: string; port: number } {
  if (typeof l !== 'string') return l;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(l.trim());
  if (!m) throw new RangeError(`radio receive address ${JSON.stringify(l)}: expected HOST:PORT`);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

function emptyCounters(): Record<RadioType | 'other', Counter> {
  return Object.fromEntries([...RADIO_TYPES, 'other'].map((t) => [t, { datagrams: 0, bytes: 0 }])) as Record<RadioType | 'other', Counter>;
}

export class RadioRx {
  private sock: Socket | undefined;
  private readonly subscribers = new Set<RxListener>();
  private readonly log: Logger;
  private readonly rl: RateLimitedLogger;
  private readonly now: () => number;
  private readonly host: string;
  private port: number;
  private readonly maxBytes: number;
  private started = false;
  private closed = false;
  private readonly c = {
    received: { datagrams: 0, bytes: 0 },
    byType: emptyCounters(),
    byFormat: { uper: 0, 'immediate-forward': 0 } as Record<RxFormat, number>,
    errors: Object.fromEntries(RX_DROP_REASONS.map((r) => [r, 0])) as Record<RxDropReason, number>,
    decodeErrors: {} as Record<string, number>,
    trailingAccepted: 0,
    spduRejected: {} as Record<string, number>,
    spduVerified: 0,
    subscriberErrors: 0,
    lastError: undefined as RxStats['lastError'],
  };

  constructor(private readonly opts: RadioRxOptions) {
    const { host, port } = splitListen(opts.listen);
    if (!host) throw new RangeError('radio receive address: empty host');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`radio receive port ${port}: expected 0-65535`);
    if (!opts.messageSet || typeof opts.messageSet.decodePrefix !== 'function') throw new TypeError('RadioRx needs a messageSet (loadMessageSet(...))');
    this.host = host;
    this.port = port;
    this.maxBytes = opts.maxDatagramBytes ?? MAX_UDP_PAYLOAD;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? pino({ name: 'radio-rx', level: 'warn' });
    this.rl = new RateLimitedLogger(this.log, { now: this.now });
  }

  /** Name of the message set frames are decoded with ('csae2019', ...). */
  get messageSetName(): string {
    return String(this.opts.messageSet.name);
  }

  /** Binds the port. Resolves with the bound address (port 0 becomes the real port). */
  async start(): Promise<{ address: string; port: number }> {
    if (this.started) throw new Error('RadioRx already started');
    if (this.closed) throw new Error('RadioRx is closed');
    this.started = true;
    const sock = createSocket({ type: isIPv6(this.host) ? 'udp6' : 'udp4' });
    this.sock = sock;
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.process(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      sock.once('error', onError);
      sock.bind(this.port, this.host, () => {
        sock.off('error', onError);
        resolve();
      });
    }).catch(async (e: unknown) => {
      this.sock = undefined;
      await new Promise<void>((r) => sock.close(() => r())).catch(() => {});
      throw e;
    });
    // After bind, socket errors (rare on a receiving socket) are logged and the socket goes on.
    sock.on('error', (err) => this.rl.error('rx:socket', { err: err.message }, 'radio rx: socket error'));
    if (this.opts.receiveBufferBytes) {
      try {
        sock.setRecvBufferSize(this.opts.receiveBufferBytes);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'radio rx: could not set the receive buffer size');
      }
    }
    const a = sock.address();
    this.port = a.port;
    return { address: a.address, port: a.port };
  }

  /** Calls `fn` with every accepted MessageFrame, synchronously on arrival. Returns the unsubscribe function. */
  onMessage(fn: RxListener): () => void {
    this.subscribers.add(fn);
    return () => {
      this.subscribers.delete(fn);
    };
  }

  /**
   * Handles one datagram as if it had arrived (the socket calls this). Counts it, delivers it when it is a
   * MessageFrame of a forwarded type, and says what became of it. Never throws.
   */
  process(datagram: Uint8Array, from: { address: string; port: number } = { address: '', port: 0 }): RxVerdict {
    if (this.closed) return { ok: false, reason: 'internal_error', detail: 'receiver closed' };
    const c = this.c;
    c.received.datagrams++;
    c.received.bytes += datagram.length;
    if (datagram.length === 0) return this.drop('empty', 'empty datagram', from, datagram);
    if (datagram.length > this.maxBytes) return this.drop('oversize', `${datagram.length} bytes > ${this.maxBytes}`, from, datagram);

    let format: RxFormat = 'uper';
    let bytes = datagram;
    if (this.opts.acceptImmediateForward !== false && looksLikeImmediateForward(datagram)) {
      format = 'immediate-forward';
      try {
        bytes = parseImmediateForward(datagram).payload;
      } catch (e) {
        if (e instanceof ImmediateForwardParseError) return this.drop('ifm_malformed', e.message, from, datagram);
        return this.drop('internal_error', String((e as Error)?.message ?? e), from, datagram);
      }
    }

    let network: RxMessage['network'];
    let security: RxMessage['security'];
    const header = this.opts.header ?? 'none';
    if (format === 'uper' && header !== 'none') {
      try {
        const u = unwrap(bytes, header, this.opts.dsmpVersion ?? 1);
        bytes = u.payload;
        if (u.header.kind !== 'none') network = u.header.kind;
      } catch (e) {
        if (e instanceof NetHeaderError) return this.drop('bad_header', e.message, from, datagram);
        return this.drop('internal_error', String((e as Error)?.message ?? e), from, datagram);
      }
    }
    if (payloadKind(bytes) === 'spdu') {
      // 03 80-83 starts an SPDU, but a MessageFrame may start so too: what does not decode as an SPDU is tried as a frame.
      const r = this.verifySpdu(bytes, from, datagram);
      if (r.verdict) return r.verdict;
      if (r.payload) {
        bytes = r.payload;
        security = r.security;
      }
    }

    let value: unknown;
    try {
      const r = this.opts.messageSet.decodePrefix('MessageFrame', bytes);
      value = r.value;
      if (r.trailing.length > 0) {
        const used = bytes.length - r.trailing.length;
        const detail = `${r.trailing.length} byte(s) after a complete MessageFrame of ${used} bytes`;
        if (!this.opts.allowTrailingBytes) return this.drop('trailing_bytes', detail, from, datagram);
        c.trailingAccepted++;
        bytes = bytes.subarray(0, used);
      }
    } catch (e) {
      if (e instanceof DecodeError && payloadKind(bytes) === 'spdu' && security === undefined && !this.opts.spdu) {
        return this.drop('spdu_unverified', 'a 1609.2 SPDU (protocolVersion 3, content tag 0x8N) and no SPDU verifier configured', from, datagram);
      }
      if (e instanceof DecodeError) {
        const key = e.reason.replace(/\d+/g, 'N');
        const d = c.decodeErrors;
        if (key in d || Object.keys(d).length < MAX_DECODE_REASONS) d[key] = (d[key] ?? 0) + 1;
        else d['(other)'] = (d['(other)'] ?? 0) + 1;
        return this.drop('decode_error', e.message, from, datagram, { path: e.path, bitOffset: e.bitOffset, decodeReason: e.reason });
      }
      return this.drop('internal_error', String((e as Error)?.stack ?? e), from, datagram);
    }

    const { type, messageId } = classifyFrame(value);
    if (type === 'other') {
      c.byType.other.datagrams++;
      c.byType.other.bytes += bytes.length;
      const what = messageId !== undefined ? `messageId ${messageId}` : `alternative ${Object.keys(value as object)[0] ?? '?'}`;
      return this.drop('unsupported_type', `a MessageFrame of a type not forwarded (${what})`, from, datagram);
    }
    c.byType[type].datagrams++;
    c.byType[type].bytes += bytes.length;
    c.byFormat[format]++;
    const message: RxMessage = {
      type,
      bytes,
      value,
      receivedAt: this.now(),
      format,
      from: { address: from.address, port: from.port },
      ...(messageId !== undefined ? { messageId } : {}),
      ...(network ? { network } : {}),
      ...(security ? { security } : {}),
    };
    if (security?.verified) c.spduVerified++;
    for (const fn of this.subscribers) {
      try {
        fn(message);
      } catch (e) {
        c.subscriberErrors++;
        this.rl.error('rx:subscriber', { err: String((e as Error)?.message ?? e), type }, 'radio rx: a subscriber threw');
      }
    }
    return { ok: true, message };
  }

  stats(): RxStats {
    const c = this.c;
    return {
      address: this.host,
      port: this.port,
      received: { ...c.received },
      byType: Object.fromEntries(Object.entries(c.byType).map(([k, v]) => [k, { ...v }])) as RxStats['byType'],
      byFormat: { ...c.byFormat },
      errors: { ...c.errors },
      decodeErrors: { ...c.decodeErrors },
      trailingAccepted: c.trailingAccepted,
      spduRejected: { ...c.spduRejected },
      spduVerified: c.spduVerified,
      subscriberErrors: c.subscriberErrors,
      ...(c.lastError ? { lastError: { ...c.lastError } } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscribers.clear();
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /**
   * An SPDU through the handler: the MessageFrame inside (payload), a drop (verdict), or neither when the bytes are
   * not an SPDU after all (the handler found them malformed) or there is no handler: then they are tried as a frame.
   */
  private verifySpdu(bytes: Uint8Array, from: { address: string; port: number }, datagram: Uint8Array): { verdict?: RxVerdict; payload?: Uint8Array; security?: RxMessage['security'] } {
    const handler = this.opts.spdu;
    if (!handler) return {};
    let r: ReturnType<SpduHandler>;
    try {
      r = handler(bytes);
    } catch (e) {
      return { verdict: this.drop('internal_error', `SPDU handler threw: ${String((e as Error)?.message ?? e)}`, from, datagram) };
    }
    if (r.ok) return { payload: r.payload, security: { verified: r.unverified === undefined, ...(r.unverified !== undefined ? { reason: r.unverified } : {}), ...(r.psid !== undefined ? { psid: r.psid } : {}), ...(r.signer !== undefined ? { signer: r.signer } : {}) } };
    if (r.reason === 'malformed') return {};
    const d = this.c.spduRejected;
    const key = r.reason.slice(0, 40);
    if (key in d || Object.keys(d).length < MAX_DECODE_REASONS) d[key] = (d[key] ?? 0) + 1;
    return { verdict: this.drop('spdu_rejected', `${r.reason}: ${r.detail}`, from, datagram) };
  }

  private drop(reason: RxDropReason, detail: string, from: { address: string; port: number }, datagram: Uint8Array, extra: Record<string, unknown> = {}): RxVerdict {
    const c = this.c;
    c.errors[reason]++;
    this.opts.onDrop?.(reason);
    const src = from.address ? (isIPv6(from.address) ? `[${from.address}]:${from.port}` : `${from.address}:${from.port}`) : '';
    c.lastError = { reason, detail, from: src, atMs: this.now() };
    this.rl.warn(
      `rx:${reason}`,
      { reason, detail, from: src, bytes: datagram.length, head: Buffer.from(datagram.buffer, datagram.byteOffset, Math.min(16, datagram.length)).toString('hex'), ...extra },
      'radio rx: datagram dropped',
    );
    return { ok: false, reason, detail };
  }
}

