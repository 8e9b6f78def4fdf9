// Sensor ingest: listens for detection frames on UDP and TCP (protobuf or JSON lines), validates them, puts them
// on the RSU timeline and hands them to subscribers. Bad input is counted and logged (rate-limited); it never
// stops a listener or a connection other than the one whose byte stream cannot be resynchronized.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { splitHostPort } from '../../runtime/config/schema.js';
import type { IngestFormat, IngestListener, IngestProtocol, RsuConfig, SensorConfig } from '../../runtime/config/types.js';
import type { DetectionFrame } from './frame.js';
import { LineReader } from './lines.js';
import { FrameProcessor, type FrameDropReason, type FrameSource, type ObjectDropReason, type SensorStats } from './process.js';
import { RateLimitedLogger } from './ratelog.js';
import { decodeProtobuf, DelimitedReader, FramingError, JsonFieldError, parseJsonFrame, type WireFrame } from './wire.js';

export interface IngestOptions {
  sensors: readonly SensorConfig[];
  listeners: readonly IngestListener[];
  maxFutureMs: number;
  maxAgeMs: number;
  maxObjectsPerFrame: number;
  maxFrameBytes: number;
  logger?: Logger;
  /** RSU clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Most TCP connections per listener. */
  maxConnections?: number;
  /** Requested UDP receive buffer, bytes (the kernel may cap it at net.core.rmem_max). */
  udpReceiveBufferBytes?: number;
  /** Told of every dropped frame and object, with its reason (the daemon's metrics). */
  onDrop?: (what: 'frame' | 'object', reason: FrameDropReason | ObjectDropReason) => void;
}

export interface BoundListener {
  protocol: IngestProtocol;
  format: IngestFormat;
  address: string;
  port: number;
}

export interface ListenerStats extends BoundListener {
  /** Datagrams (UDP) or frames/lines (TCP) received. */
  messages: number;
  bytes: number;
  /** TCP: open connections now, ever accepted, and refused (beyond the most per listener). */
  connections?: number;
  connectionsTotal?: number;
  connectionsRefused?: number;
  /** UDP: the receive buffer the kernel granted (capped by net.core.rmem_max), bytes. */
  receiveBufferBytes?: number;
}

export interface IngestStats {
  sensors: Record<string, SensorStats>;
  /** Drops that could not be attributed to a configured sensor (decode errors, unknown ids, ...). */
  unattributed: Partial<Record<FrameDropReason, number>>;
  listeners: ListenerStats[];
}

export type FrameListener = (frame: DetectionFrame) => void;
export type RawListener = (data: Uint8Array | string, format: IngestFormat) => void;

interface ListenerState {
  cfg: IngestListener;
  stats: ListenerStats;
  udp?: UdpSocket;
  tcp?: Server;
  sockets: Set<Socket>;
}

/** Ingest settings of the config, ready for `new SensorIngest(...)`. */
export function ingestOptionsFromConfig(cfg: RsuConfig, extra: Partial<IngestOptions> = {}): IngestOptions {
  return { sensors: cfg.sensors, ...cfg.ingest, ...extra };
}

export class SensorIngest {
  private readonly processor: FrameProcessor;
  private readonly subscribers = new Set<FrameListener>();
  private readonly rawSubscribers = new Set<RawListener>();
  private readonly iterators = new Set<() => void>();
  private readonly listeners: ListenerState[];
  private readonly rl: RateLimitedLogger;
  private readonly now: () => number;
  private started = false;
  private closed = false;

  constructor(private readonly opts: IngestOptions) {
    this.processor = new FrameProcessor(opts);
    this.now = opts.now ?? Date.now;
    this.rl = new RateLimitedLogger(opts.logger ?? pino({ name: 'ingest', level: 'warn' }), { now: this.now });
    this.listeners = opts.listeners.map((cfg) => {
      const { host, port } = splitHostPort(cfg.listen) ?? { host: '', port: 0 };
      if (!host) throw new Error(`ingest listener: bad address ${JSON.stringify(cfg.listen)}`);
      return { cfg, sockets: new Set(), stats: { protocol: cfg.protocol, format: cfg.format, address: host, port, messages: 0, bytes: 0 } };
    });
  }

  /** Binds every listener. Resolves with the bound addresses (port 0 in the config becomes the real port). */
  async start(): Promise<BoundListener[]> {
    if (this.started) throw new Error('SensorIngest already started');
    this.started = true;
    try {
      for (const l of this.listeners) await (l.cfg.protocol === 'udp' ? this.bindUdp(l) : this.bindTcp(l));
    } catch (e) {
      await this.close();
      throw e;
    }
    return this.listeners.map(({ stats: { protocol, format, address, port } }) => ({ protocol, format, address, port }));
  }

  /** Calls `fn` with every frame as it arrived, before any check (for `rsu record`). Returns the unsubscribe function. */
  onRaw(fn: RawListener): () => void {
    this.rawSubscribers.add(fn);
    return () => this.rawSubscribers.delete(fn);
  }

  /** Calls `fn` for each accepted frame, synchronously on arrival. Returns the unsubscribe function. */
  onFrame(fn: FrameListener): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /**
   * Accepted frames as an async iterator. If the consumer falls more than `maxQueue` frames behind, the oldest
   * queued frame is dropped and counted as queue_full for its sensor. Ends when the ingest closes.
   */
  frames(opts: { maxQueue?: number } = {}): AsyncIterableIterator<DetectionFrame> {
    const maxQueue = opts.maxQueue ?? 256;
    const queue: DetectionFrame[] = [];
    const waiters: Array<(r: IteratorResult<DetectionFrame>) => void> = [];
    let done = false;
    const finish = () => {
      done = true;
      unsubscribe();
      this.iterators.delete(finish);
      for (const w of waiters.splice(0)) w({ value: undefined, done: true });
    };
    const unsubscribe = this.onFrame((f) => {
      const w = waiters.shift();
      if (w) return w({ value: f, done: false });
      if (queue.length >= maxQueue) this.processor.countDrop('queue_full', queue.shift()!.sensorId);
      queue.push(f);
    });
    this.iterators.add(finish);
    if (this.closed) finish();
    const it: AsyncIterableIterator<DetectionFrame> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiters.push(resolve));
      },
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  stats(): IngestStats {
    const p = this.processor.stats(this.now());
    return {
      ...p,
      listeners: this.listeners.map((l) => ({ ...l.stats, ...(l.cfg.protocol === 'tcp' ? { connections: l.sockets.size } : {}) })),
    };
  }

  /**
   * Feeds one encoded frame as if it had arrived on a listener of this format (in-process sources, tests).
   */
  ingest(data: Uint8Array | string, format: IngestFormat): void {
    if (format === 'json') for (const line of String(typeof data === 'string' ? data : Buffer.from(data)).split('\n')) this.handleJson(line);
    else this.handleProtobuf(typeof data === 'string' ? Buffer.from(data) : data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const finish of [...this.iterators]) finish();
    await Promise.all(
      this.listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            for (const s of l.sockets) s.destroy();
            if (l.udp) {
              try {
                l.udp.close(() => resolve());
              } catch {
                resolve(); // never bound, or already closed after a bind error
              }
            }
            else if (l.tcp?.listening) l.tcp.close(() => resolve());
            else resolve();
          }),
      ),
    );
  }

  // -------------------------------------------------------------------------------------------------------------

  private bindUdp(l: ListenerState): Promise<void> {
    const { address, port } = l.stats;
    const sock = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    l.udp = sock;
    sock.on('message', (msg, rinfo) => {
      l.stats.messages++;
      l.stats.bytes += msg.length;
      const from = { address: rinfo.address, port: rinfo.port };
      if (msg.length === 0) this.drop('empty', `empty datagram from ${rinfo.address}:${rinfo.port}`);
      else if (msg.length > this.opts.maxFrameBytes) this.drop('oversize', `datagram of ${msg.length} bytes`);
      else if (l.cfg.format === 'json') for (const line of msg.toString('utf8').split('\n')) this.handleJson(line, from);
      else this.handleProtobuf(msg, from);
    });
    return new Promise((resolve, reject) => {
      sock.once('error', (e) => reject(new Error(`ingest listener udp ${l.cfg.listen}: ${e.message}`)));
      sock.bind(port, address, () => {
        sock.removeAllListeners('error');
        sock.on('error', (e) => this.rl.error(`udp-error:${l.cfg.listen}`, { err: e.message, listen: l.cfg.listen }, 'ingest UDP socket error'));
        try {
          sock.setRecvBufferSize(this.opts.udpReceiveBufferBytes ?? 4 * 1024 * 1024);
        } catch {
          // refused by the kernel: keep its default
        }
        // Linux reports twice the granted size (it counts its bookkeeping); this is what datagrams may use.
        l.stats.receiveBufferBytes = Math.floor(sock.getRecvBufferSize() / 2);
        l.stats.port = sock.address().port;
        resolve();
      });
    });
  }

  private bindTcp(l: ListenerState): Promise<void> {
    const { address, port } = l.stats;
    const server = createServer((sock) => this.onConnection(l, sock));
    server.maxConnections = this.opts.maxConnections ?? 64;
    server.on('drop', (d) => {
      l.stats.connectionsRefused = (l.stats.connectionsRefused ?? 0) + 1;
      this.rl.warn(`tcp-refused:${l.cfg.listen}`, { listen: l.cfg.listen, peer: `${d?.remoteAddress}:${d?.remotePort}`, limit: server.maxConnections }, 'ingest TCP connection refused: too many connections');
    });
    l.tcp = server;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`ingest listener tcp ${l.cfg.listen}: ${e.message}`)));
      server.listen(port, address, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.rl.error(`tcp-error:${l.cfg.listen}`, { err: e.message, listen: l.cfg.listen }, 'ingest TCP server error'));
        l.stats.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private onConnection(l: ListenerState, sock: Socket): void {
    if (this.closed) {
      sock.destroy();
      return;
    }
    l.sockets.add(sock);
    l.stats.connectionsTotal = (l.stats.connectionsTotal ?? 0) + 1;
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    const from = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    const json = l.cfg.format === 'json';
    const lines = json ? new LineReader(this.opts.maxFrameBytes) : undefined;
    const frames = json ? undefined : new DelimitedReader(this.opts.maxFrameBytes);
    sock.on('data', (chunk: Buffer) => {
      l.stats.bytes += chunk.length;
      if (lines) {
        const before = lines.oversize;
        for (const line of lines.push(chunk)) {
          l.stats.messages++;
          this.handleJson(line, from);
        }
        for (let i = before; i < lines.oversize; i++) this.drop('oversize', `JSON line longer than ${this.opts.maxFrameBytes} bytes from ${peer}`);
        return;
      }
      let bufs: Buffer[];
      try {
        bufs = frames!.push(chunk);
      } catch (e) {
        if (!(e instanceof FramingError)) throw e;
        this.drop('oversize', `${e.message}; closing the connection from ${peer}`);
        sock.destroy();
        return;
      }
      for (const b of bufs) {
        l.stats.messages++;
        this.handleProtobuf(b, from);
      }
    });
    sock.on('error', (e) => this.rl.warn(`tcp-conn:${l.cfg.listen}`, { err: e.message, peer }, 'ingest connection error'));
    sock.on('close', () => l.sockets.delete(sock));
  }

  private handleProtobuf(buf: Uint8Array, from?: FrameSource): void {
    for (const fn of this.rawSubscribers) fn(buf, 'protobuf');
    let wire: WireFrame;
    try {
      wire = decodeProtobuf(buf);
    } catch (e) {
      this.drop('decode_error', `protobuf: ${(e as Error).message} (${buf.length} bytes)`);
      return;
    }
    this.handleWire(wire, from);
  }

  private handleJson(line: string, from?: FrameSource): void {
    if (line.trim() === '') return;
    for (const fn of this.rawSubscribers) fn(line, 'json');
    let wire: WireFrame;
    try {
      wire = parseJsonFrame(line);
    } catch (e) {
      if (e instanceof JsonFieldError) this.drop('bad_field', `JSON: ${e.message}`, e.sensorId);
      else this.drop('decode_error', `JSON: ${(e as Error).message}`);
      return;
    }
    this.handleWire(wire, from);
  }

  private drop(reason: FrameDropReason, detail: string, sensorId?: string): void {
    this.processor.countDrop(reason, sensorId);
    this.rl.warn(`drop:${reason}`, { reason, detail, ...(sensorId ? { sensor: sensorId.slice(0, 64) } : {}) }, 'sensor frame dropped');
  }

  private handleWire(wire: WireFrame, from?: FrameSource): void {
    const v = this.processor.process(wire, this.now(), from);
    if (!v.ok) {
      this.rl.warn(`drop:${v.reason}:${v.sensorId ?? ''}`, { reason: v.reason, sensor: v.sensorId, detail: v.detail }, 'sensor frame dropped');
      return;
    }
    if (v.droppedObjects.length > 0) {
      const reasons = [...new Set(v.droppedObjects.map((d) => d.reason))];
      this.rl.warn(`objects:${v.frame.sensorId}`, { sensor: v.frame.sensorId, frame: v.frame.frameNumber, dropped: v.droppedObjects.length, reasons }, 'sensor objects dropped');
    }
    for (const fn of this.subscribers) {
      try {
        fn(v.frame);
      } catch (e) {
        this.rl.error('subscriber', { err: (e as Error).message }, 'frame subscriber threw');
      }
    }
  }
}
