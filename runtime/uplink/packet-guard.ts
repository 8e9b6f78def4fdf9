/**
 * A size limit on the MQTT packets the broker sends us, applied to the byte stream before mqtt.js sees it.
 *
 * mqtt.js (mqtt-packet) collects a whole packet before handing it on, whatever its size: a 200 MiB PUBLISH on a
 * downlink topic is 200 MiB in memory before anything can refuse it (issue 12 D8). MQTT 5 lets the client say
 * its maximum packet size in CONNECT and the broker then must not send more; MQTT 3.1.1 has no such field, and a
 * broker may not honour it. So the guard reads each packet's fixed header (type and remaining length: MQTT 3.1.1
 * §2.2, MQTT 5 §2.1) as the bytes arrive and:
 *   - passes packets within the limit through untouched (no copy beyond the slices of the chunks);
 *   - replaces an oversized PUBLISH by the same PUBLISH (flags, topic, packet id) with an empty payload, and
 *     drops the rest of its bytes as they arrive, so mqtt.js acknowledges it as usual (the broker does not send
 *     it again after a reconnect) and the uplink answers it as too large (`onOversize` tells it which);
 *   - ends the connection on any other oversized packet (no broker sends a large CONNACK, SUBACK or PUBACK).
 * At most the PUBLISH's topic and packet id are held (< 64 KiB), never its payload.
 */
import { Duplex } from 'node:stream';

export interface OversizePublish {
  topic: string;
  /** 0 for QoS 0. */
  packetId: number;
  /** Size of the whole packet on the wire. */
  packetBytes: number;
  /** What followed the topic and packet id: the payload (MQTT 5: and the properties). */
  payloadBytes: number;
}

const enum State {
  Header,
  VarHeader,
  Pass,
  Skip,
}

export class PacketSizeGuard extends Duplex {
  private state = State.Header;
  private readonly hdr = Buffer.alloc(5);
  private hdrLen = 0;
  /** Bytes of the current packet still to pass or skip. */
  private left = 0;
  private first = 0;
  private remaining = 0;
  private varHdr: Buffer[] = [];
  private varHdrLen = 0;
  /** Bytes of the variable header to collect: 2 (topic length), then 2 + topic (+ 2 packet id). */
  private need = 2;

  constructor(
    /** The connection itself (a TLSSocket for mqtts://). */
    readonly socket: Duplex,
    private readonly maxPacketBytes: number,
    private readonly protocolVersion: 4 | 5,
    private readonly onOversize: (p: OversizePublish) => void,
  ) {
    // the writable side ends when mqtt.js ends it (or the socket closes), not when the broker's side ends
    super({ allowHalfOpen: true });
    socket.on('data', (d: Buffer) => this.scan(d));
    // The end, an error and the close reach mqtt.js only after the packets it parsed from the last bytes are
    // handled (its work queue runs on nextTick; it frees its stores on close, and a PUBACK handled after that
    // throws inside mqtt.js), and in the order the socket reported them. A write racing the broker's close is no
    // news: the close itself is reported.
    let peerEnded = false;
    socket.on('end', () => {
      peerEnded = true;
      setImmediate(() => this.push(null));
    });
    socket.on('error', (e: NodeJS.ErrnoException) => setImmediate(() => this.destroy(peerEnded && e.code === 'EPIPE' ? undefined : e)));
    socket.on('close', () => setImmediate(() => this.destroy()));
  }

  override _read(): void {
    this.socket.resume();
  }

  // Writes go straight to the socket; only its backpressure holds the next one (waiting for each write's
  // callback would serialise every publish behind a flush).
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) cb();
    else this.socket.once('drain', () => cb());
  }

  // mqtt.js corks the stream around each packet's pieces: they reach the socket as one write, not one segment each.
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.socket.write(c.chunk);
    this.socket.uncork();
    if (ok) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed || this.socket.writableEnded) cb();
    else this.socket.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** What one incoming chunk gives, handed on in one push (many small pushes slow mqtt.js's parser loop down). */
  private outs: Buffer[] = [];

  private out(b: Buffer): void {
    if (b.length) this.outs.push(b);
  }

  private scan(d: Buffer): void {
    this.scanChunk(d);
    const o = this.outs;
    if (o.length === 0 || this.destroyed) return;
    this.outs = [];
    if (!this.push(o.length === 1 ? o[0] : Buffer.concat(o))) this.socket.pause();
  }

  private scanChunk(d: Buffer): void {
    let i = 0;
    while (i < d.length && !this.destroyed) {
      switch (this.state) {
        case State.Header: {
          this.hdr[this.hdrLen++] = d[i++]!;
          if (this.hdrLen === 1) break;
          const last = this.hdr[this.hdrLen - 1]!;
          if (last & 0x80) {
            if (this.hdrLen === 5) return void this.destroy(new Error('MQTT packet with a malformed remaining length from the broker'));
            break;
          }
          let len = 0;
          for (let k = this.hdrLen - 1; k >= 1; k--) len = len * 128 + (this.hdr[k]! & 0x7f);
          this.first = this.hdr[0]!;
          this.remaining = len;
          const total = this.hdrLen + len;
          if (total <= this.maxPacketBytes) {
            this.out(Buffer.from(this.hdr.subarray(0, this.hdrLen)));
            this.left = len;
            this.state = State.Pass;
          } else if (this.first >> 4 === 3) {
            this.state = State.VarHeader;
            this.varHdr = [];
            this.varHdrLen = 0;
            this.need = 2;
            this.left = len;
          } else {
            return void this.destroy(new Error(`MQTT packet of type ${this.first >> 4} and ${total} bytes from the broker exceeds the limit of ${this.maxPacketBytes}`));
          }
          this.hdrLen = 0;
          if (this.state === State.Pass && this.left === 0) this.state = State.Header;
          break;
        }
        case State.Pass: {
          const n = Math.min(this.left, d.length - i);
          this.out(d.subarray(i, i + n));
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = State.Header;
          break;
        }
        case State.VarHeader: {
          const n = Math.min(this.need - this.varHdrLen, this.left, d.length - i);
          this.varHdr.push(d.subarray(i, i + n));
          this.varHdrLen += n;
          i += n;
          this.left -= n;
          if (this.varHdrLen < this.need) {
            if (this.left === 0) return void this.destroy(new Error('MQTT PUBLISH from the broker shorter than its topic'));
            break;
          }
          const vh = Buffer.concat(this.varHdr);
          const qos = (this.first >> 1) & 3;
          const full = 2 + vh.readUInt16BE(0) + (qos > 0 ? 2 : 0);
          if (this.need < full) {
            this.need = full;
            if (this.left === 0) return void this.destroy(new Error('MQTT PUBLISH from the broker shorter than its topic'));
            break;
          }
          this.replaceOversized(vh.subarray(0, full), qos);
          this.state = this.left > 0 ? State.Skip : State.Header;
          break;
        }
        case State.Skip: {
          const n = Math.min(this.left, d.length - i);
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = State.Header;
          break;
        }
      }
    }
  }

  /** Hand mqtt.js the PUBLISH with no payload (MQTT 5: and no properties), and say which it was. */
  private replaceOversized(vh: Buffer, qos: number): void {
    const topicLen = vh.readUInt16BE(0);
    const topic = vh.toString('utf8', 2, 2 + topicLen);
    const packetId = qos > 0 ? vh.readUInt16BE(2 + topicLen) : 0;
    const body = this.protocolVersion === 5 ? Buffer.concat([vh, Buffer.from([0])]) : vh;
    const lenBytes: number[] = [];
    let x = body.length;
    do {
      let b = x % 128;
      x = Math.floor(x / 128);
      if (x > 0) b |= 0x80;
      lenBytes.push(b);
    } while (x > 0);
    const packetBytes = this.remaining + 1 + lengthBytes(this.remaining);
    this.onOversize({ topic, packetId, packetBytes, payloadBytes: this.remaining - vh.length });
    this.out(Buffer.concat([Buffer.from([this.first, ...lenBytes]), body]));
  }
}

function lengthBytes(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}
