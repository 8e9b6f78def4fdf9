// Sends detection frames to an RSU ingest listener: used by the simulator, tools and tests.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, isIPv6, type Socket } from 'node:net';
import type { IngestFormat, IngestProtocol } from '../../runtime/config/types.js';
import { splitHostPort } from '../../runtime/config/schema.js';
import type { DetectionFrameInput } from './frame.js';
import { encodeFrame, encodeFrameDelimited, encodeFrameJson } from './wire.js';

export interface SenderOptions {
  protocol: IngestProtocol;
  format?: IngestFormat;
}

/** Encodes a frame for a listener of the given protocol and format. */
export function encodeFor(protocol: IngestProtocol, format: IngestFormat, f: DetectionFrameInput): Uint8Array | string {
  if (format === 'json') return `${encodeFrameJson(f)}\n`;
  return protocol === 'tcp' ? encodeFrameDelimited(f) : encodeFrame(f);
}

export class DetectionSender {
  /** Send errors seen (e.g. ECONNREFUSED on UDP when nothing listens); sending goes on. */
  errors = 0;

  private constructor(
    readonly protocol: IngestProtocol,
    readonly format: IngestFormat,
    private readonly udp?: UdpSocket,
    private readonly tcp?: Socket,
  ) {}

  /** Opens a sender to HOST:PORT. TCP connects before resolving. */
  static async connect(target: string, opts: SenderOptions): Promise<DetectionSender> {
    const hp = splitHostPort(target);
    if (!hp) throw new Error(`bad target ${JSON.stringify(target)}: expected HOST:PORT`);
    const format = opts.format ?? 'protobuf';
    if (opts.protocol === 'udp') {
      const sock = createSocket(isIPv6(hp.host) ? 'udp6' : 'udp4');
      const sender = new DetectionSender('udp', format, sock);
      sock.on('error', () => sender.errors++);
      sock.connect(hp.port, hp.host);
      await once(sock, 'connect');
      return sender;
    }
    const sock = connect({ host: hp.host, port: hp.port });
    sock.setNoDelay(true);
    await once(sock, 'connect');
    const sender = new DetectionSender('tcp', format, undefined, sock);
    sock.on('error', () => sender.errors++);
    return sender;
  }

  /** Sends one frame. False when the TCP send buffer is full: await drained() before sending more. */
  send(frame: DetectionFrameInput): boolean {
    return this.sendRaw(encodeFor(this.protocol, this.format, frame));
  }

  /** Sends bytes as they are: one datagram on UDP, appended to the stream on TCP. */
  sendRaw(data: Uint8Array | string): boolean {
    if (this.udp) {
      this.udp.send(data, (err) => {
        if (err) this.errors++;
      });
      return true;
    }
    return this.tcp!.write(data);
  }

  /** Resolves when the TCP send buffer has drained (immediately for UDP). */
  async drained(): Promise<void> {
    if (this.tcp && this.tcp.writableNeedDrain) await once(this.tcp, 'drain');
  }

  async close(): Promise<void> {
    if (this.udp) {
      await new Promise<void>((resolve) => this.udp!.close(() => resolve()));
    } else if (this.tcp && !this.tcp.destroyed) {
      this.tcp.end();
      await once(this.tcp, 'close');
    }
  }
}
