// GB/T 20999-2017 (交通信号控制机与上位机间的数据通信协议, traffic signal controller ↔ control centre), the RSU
// acting as a host (上位机). Frame, as sent over UDP (no escaping) and, escaped, over TCP:
//
//   0x7E | length u16 | version u16 | host id u8 | controller id u32 | road id u8 | sequence u8 | frame type u8 |
//   value count u8 | count × (index u8, length u8, class u8, object u8, attribute u8, element u8, data[length-4]) |
//   CRC16 u16 | 0x7D
//
// Multi-byte fields big-endian. `length` counts the bytes after it up to and including the CRC. The CRC16 (generator
// x16+x12+x2+1 = 0x1005, initial value 0, no reflection, no final XOR) covers the length field through the last data
// value. Over TCP and RS-232, 0x7E, 0x7D and 0x5C between the start and end bytes are sent preceded by the escape byte
// 0x5C; escape bytes are not part of the CRC. Over UDP nothing is escaped (real frames carry 0x7D and 0x5C inside).
// Frame types: 0x10 query, 0x20 query reply, 0x21 query error reply, 0x30 set, 0x40/0x41 set reply/error, 0x50
// broadcast, 0x60 active upload (主动上报, trap), 0x70 heartbeat query, 0x80 heartbeat reply (0x71 in one host tool,
// accepted too). Heartbeat frames may end after the frame type (no value count).
//
// Objects read (class.object.attribute.element): 3.3.2.n lamp group n state (灯组状态表: attribute 1 the lamp group
// number, 2 its state; codes 0x01 off, 0x10/0x11/0x12 red steady/flashing/fast flashing, 0x20-0x22 green, 0x30-0x32
// yellow, 0x40 red+yellow), 13.2.2.i run mode of crossing i (路口运行模式: 0x1x centre, 0x2x local, 0x31 yellow flash,
// 0x32 all red, 0x33 lamps off; 0x15/0x25 manual, 0x21 fixed cycle), and, when a controller sends them, 13.2.4.i current
// stage and 6.3.2/6.3.4.n stage state and remaining time (kept for diagnostics). GB/T 20999-2017 has no time-to-change
// per lamp group (the stage remaining time is not the end of a lamp group's light), so SPAT windows are `endUnknown`.
//
// The host polls: one query frame per `pollMs` asks for the mapped lamp groups' states and the run mode; replies and
// active uploads (0x60) carrying the same objects both update the state; heartbeat queries are answered.
// Sources (hw/signal/README.md): lining1111/RVDataFusionServer signalControl/signalControlCom.{h,cpp} (quotes the
// standard's frame rules), OpenATC (Kedacom) OpenATCCommWithGB20999Thread.cpp, traffic-signal-system/tsc32_20999_2017
// (AITON), and 354 frames of a real controller quoted by 673879047-dev/20999-test-first.
import { createSocket, type Socket } from 'node:dgram';
import { createConnection, isIP, type Socket as TcpSocket } from 'node:net';
import { StateTracker } from './tracker.js';
import type { ControllerHealth, Light, ObservedPhase, PhaseMapping, SignalController, SignalSnapshot } from './types.js';
import { NORMAL_STATUS, SignalInputError } from './types.js';

export const GBT20999_START = 0x7e;
export const GBT20999_END = 0x7d;
export const GBT20999_ESCAPE = 0x5c;
/** Start, length, version, host id, controller id, road id, sequence, type, CRC, end: a heartbeat frame. */
export const GBT20999_MIN_FRAME = 16;
/** The longest frame the length field allows, escaped at worst (every byte doubled). */
export const GBT20999_MAX_FRAME = 2 * (65535 + 2) + 2;

export const GBT20999_FRAME_TYPE = {
  query: 0x10,
  queryReply: 0x20,
  queryError: 0x21,
  set: 0x30,
  setReply: 0x40,
  setError: 0x41,
  broadcast: 0x50,
  trap: 0x60,
  heartbeatQuery: 0x70,
  heartbeatReply: 0x80,
} as const;

const TYPE_NAMES: Record<number, string> = {
  0x10: 'query',
  0x20: 'query reply',
  0x21: 'query error reply',
  0x30: 'set',
  0x40: 'set reply',
  0x41: 'set error reply',
  0x50: 'broadcast',
  0x60: 'active upload',
  0x70: 'heartbeat query',
  0x80: 'heartbeat reply',
  0x71: 'heartbeat reply (0x71)', // what 673879047-dev/20999-test-first calls the heartbeat reply; accepted, ignored
};

/** Lamp group states (灯组状态) and how SPAT shows them. Off is dark ('red' a placeholder); red+yellow (before green) is red. */
export const GBT20999_LAMP_STATES: Record<number, { name: string; light: Light; display: 'steady' | 'flashing' | 'dark' }> = {
  0x01: { name: 'off', light: 'red', display: 'dark' },
  0x10: { name: 'red', light: 'red', display: 'steady' },
  0x11: { name: 'red flashing', light: 'red', display: 'flashing' },
  0x12: { name: 'red fast flashing', light: 'red', display: 'flashing' },
  0x20: { name: 'green', light: 'green', display: 'steady' },
  0x21: { name: 'green flashing', light: 'green', display: 'flashing' },
  0x22: { name: 'green fast flashing', light: 'green', display: 'flashing' },
  0x30: { name: 'yellow', light: 'yellow', display: 'steady' },
  0x31: { name: 'yellow flashing', light: 'yellow', display: 'flashing' },
  0x32: { name: 'yellow fast flashing', light: 'yellow', display: 'flashing' },
  0x40: { name: 'red and yellow', light: 'red', display: 'steady' },
};

/** Run modes (路口运行模式). */
export const GBT20999_RUN_MODES: Record<number, string> = {
  0x10: 'centre control',
  0x11: 'centre time-of-day plan',
  0x12: 'centre optimisation',
  0x13: 'centre coordination',
  0x14: 'centre adaptive',
  0x15: 'centre manual',
  0x20: 'local control',
  0x21: 'local fixed cycle',
  0x22: 'local actuated',
  0x23: 'local coordination',
  0x24: 'local adaptive',
  0x25: 'local manual',
  0x30: 'special control',
  0x31: 'yellow flash',
  0x32: 'all red',
  0x33: 'lamps off',
};
const RUN_MODE_FLASH = 0x31;
const RUN_MODE_OFF = 0x33;
const RUN_MODES_MANUAL = new Set([0x15, 0x25]);
const RUN_MODE_FIXED_CYCLE = 0x21;

/** Error codes in query / set error replies. */
export const GBT20999_ERRORS: Record<number, string> = {
  0x10: 'bad value',
  0x11: 'wrong length',
  0x12: 'value out of range',
  0x20: 'read only',
  0x30: 'no such object or element',
  0x40: 'general error',
  0x50: 'control failed',
};

/** Stage states (相位阶段状态). */
export const GBT20999_STAGE_STATES: Record<number, string> = { 0x10: 'not running', 0x20: 'running', 0x30: 'in transition' };

export interface Gbt20999DataValue {
  index: number;
  classId: number;
  objectId: number;
  attributeId: number;
  elementId: number;
  /** The value's data (empty in queries). */
  data: Uint8Array;
}

export interface Gbt20999Frame {
  version: number;
  hostId: number;
  controllerId: number;
  roadId: number;
  sequence: number;
  type: number;
  /** Absent only in heartbeat frames sent without a value count. */
  values: Gbt20999DataValue[];
}

const hex = (n: number, digits = 2) => `0x${n.toString(16).padStart(digits, '0')}`;

const OBJECT_NAMES: Record<string, string> = {
  '3.3.1': 'lamp group number (灯组编号)',
  '3.3.2': 'lamp group state (灯组状态)',
  '13.2.1': 'crossing number (路口序号)',
  '13.2.2': 'run mode (路口运行模式)',
  '13.2.3': 'current plan (当前方案)',
  '13.2.4': 'current stage (当前相位阶段)',
  '6.3.2': 'stage state (相位阶段状态)',
  '6.3.3': 'stage running time (相位阶段已运行时间)',
  '6.3.4': 'stage remaining time (相位阶段剩余时间)',
};

/** "lamp group state 3.3.2.5 (灯组状态)", or the bare id "9.2.3.1" for objects this adapter does not use. */
export function gbt20999ObjectName(v: Pick<Gbt20999DataValue, 'classId' | 'objectId' | 'attributeId' | 'elementId'>): string {
  const id = `${v.classId}.${v.objectId}.${v.attributeId}.${v.elementId}`;
  const name = OBJECT_NAMES[`${v.classId}.${v.objectId}.${v.attributeId}`];
  if (!name) return id;
  const paren = name.indexOf(' (');
  return `${name.slice(0, paren)} ${id}${name.slice(paren)}`;
}

/** CRC16 of GB/T 20999-2017: generator 0x1005 (x16+x12+x2+1), initial value 0, MSB first, no reflection, no XOR out. */
export function crc16Gbt20999(b: Uint8Array, start = 0, end = b.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= b[i]! << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** A frame with 0x5C put before every 0x7E, 0x7D and 0x5C between its start and end bytes (TCP, RS-232). */
export function escapeGbt20999(frame: Uint8Array): Uint8Array {
  const out: number[] = [frame[0]!];
  for (let i = 1; i < frame.length - 1; i++) {
    const b = frame[i]!;
    if (b === GBT20999_START || b === GBT20999_END || b === GBT20999_ESCAPE) out.push(GBT20999_ESCAPE);
    out.push(b);
  }
  if (frame.length > 1) out.push(frame[frame.length - 1]!);
  return Uint8Array.from(out);
}

/** The bytes between the start and end bytes with escapes removed; throws on an escape the standard does not allow. */
function unescapeInner(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length);
  let n = 0;
  for (let i = 1; i < frame.length - 1; i++) {
    const b = frame[i]!;
    if (b === GBT20999_ESCAPE) {
      if (i + 1 >= frame.length - 1) throw new SignalInputError('bad-frame', `escape byte 0x5c at offset ${i} has nothing after it before the end byte`);
      const next = frame[++i]!;
      if (next !== GBT20999_START && next !== GBT20999_END && next !== GBT20999_ESCAPE)
        throw new SignalInputError('bad-frame', `escape byte 0x5c at offset ${i - 1} is followed by ${hex(next)}; only 0x7e, 0x7d and 0x5c are escaped`);
      out[n++] = next;
    } else if (b === GBT20999_START || b === GBT20999_END) {
      throw new SignalInputError('bad-frame', `unescaped ${b === GBT20999_START ? 'start' : 'end'} byte ${hex(b)} at offset ${i} inside an escaped (TCP) frame`);
    } else out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * Parses one frame, start byte to end byte. `escaped`: the frame came over TCP / RS-232 (0x5C escapes); over UDP
 * it is not escaped. Throws SignalInputError naming the problem: too-short, bad-header (start / end byte),
 * bad-frame (length field, escapes, data values, frame type), bad-checksum.
 */
export function parseGbt20999(buf: Uint8Array, opts: { escaped?: boolean } = {}): Gbt20999Frame {
  if (buf.length < GBT20999_MIN_FRAME)
    throw new SignalInputError('too-short', `GB/T 20999 frame of ${buf.length} bytes; at least ${GBT20999_MIN_FRAME} expected (start, length, version, host id, controller id, road id, sequence, type, CRC, end)`);
  if (buf.length > GBT20999_MAX_FRAME) throw new SignalInputError('too-long', `GB/T 20999 frame of ${buf.length} bytes; a 16-bit length field allows at most ${GBT20999_MAX_FRAME}`);
  if (buf[0] !== GBT20999_START) throw new SignalInputError('bad-header', `GB/T 20999 frame starts with ${hex(buf[0]!)}, expected the start byte 0x7e`);
  const last = buf[buf.length - 1]!;
  if (last !== GBT20999_END) throw new SignalInputError('bad-header', `GB/T 20999 frame ends with ${hex(last)}, expected the end byte 0x7d (frame cut short?)`);
  const b = opts.escaped ? unescapeInner(buf) : buf.subarray(1, buf.length - 1);
  // b: length(2) version(2) host(1) controller(4) road(1) sequence(1) type(1) [count values...] crc(2)
  if (b.length < GBT20999_MIN_FRAME - 2)
    throw new SignalInputError('too-short', `GB/T 20999 frame of ${b.length} bytes between start and end once unescaped; at least ${GBT20999_MIN_FRAME - 2} expected`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const length = v.getUint16(0);
  if (length !== b.length - 2)
    throw new SignalInputError('bad-frame', `length field says ${length} bytes after it, the frame has ${b.length - 2} (from the version to the CRC${opts.escaped ? ', unescaped' : ''})`);
  const crcAt = b.length - 2;
  const sent = v.getUint16(crcAt);
  const computed = crc16Gbt20999(b, 0, crcAt);
  if (sent !== computed)
    throw new SignalInputError('bad-checksum', `CRC16 ${hex(sent, 4)} in the frame, ${hex(computed, 4)} computed over its ${crcAt} bytes from the length field to the last data value`);
  const type = b[11]!;
  if (!(type in TYPE_NAMES)) throw new SignalInputError('bad-frame', `unknown frame type ${hex(type)}`);
  const frame: Gbt20999Frame = { version: v.getUint16(2), hostId: b[4]!, controllerId: v.getUint32(5), roadId: b[9]!, sequence: b[10]!, type, values: [] };
  let pos = 12;
  const heartbeat = type === GBT20999_FRAME_TYPE.heartbeatQuery || type === GBT20999_FRAME_TYPE.heartbeatReply || type === 0x71;
  if (heartbeat && pos === crcAt) return frame;
  if (pos >= crcAt) throw new SignalInputError('bad-frame', `${TYPE_NAMES[type]} frame ends after its type: the data value count is missing`);
  const count = b[pos++]!;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > crcAt) throw new SignalInputError('bad-frame', `the frame announces ${count} data values but ends after ${i}`);
    const index = b[pos]!;
    const len = b[pos + 1]!;
    if (len < 4) throw new SignalInputError('bad-frame', `data value ${i + 1} (index ${index}) has length ${len}, less than its 4 id bytes (class, object, attribute, element)`);
    if (pos + 2 + len > crcAt) throw new SignalInputError('bad-frame', `data value ${i + 1} (index ${index}) of length ${len} runs past the CRC: ${crcAt - pos - 2} bytes left`);
    frame.values.push({ index, classId: b[pos + 2]!, objectId: b[pos + 3]!, attributeId: b[pos + 4]!, elementId: b[pos + 5]!, data: b.slice(pos + 6, pos + 2 + len) });
    pos += 2 + len;
  }
  if (pos !== crcAt) throw new SignalInputError('bad-frame', `${crcAt - pos} bytes between the last of ${count} data values and the CRC`);
  return frame;
}

/** Encodes a frame (length and CRC computed); `escape` for TCP / RS-232. A heartbeat with no values gets no value count. */
export function encodeGbt20999(f: Gbt20999Frame, opts: { escape?: boolean } = {}): Uint8Array {
  const heartbeat = f.type === GBT20999_FRAME_TYPE.heartbeatQuery || f.type === GBT20999_FRAME_TYPE.heartbeatReply;
  const body: number[] = [0, 0, (f.version >> 8) & 0xff, f.version & 0xff, f.hostId & 0xff];
  body.push((f.controllerId >>> 24) & 0xff, (f.controllerId >>> 16) & 0xff, (f.controllerId >>> 8) & 0xff, f.controllerId & 0xff);
  body.push(f.roadId & 0xff, f.sequence & 0xff, f.type & 0xff);
  if (!(heartbeat && f.values.length === 0)) {
    if (f.values.length > 255) throw new RangeError(`a GB/T 20999 frame carries at most 255 data values, not ${f.values.length}`);
    body.push(f.values.length);
    for (const dv of f.values) {
      if (dv.data.length > 251) throw new RangeError(`data value ${dv.index}: ${dv.data.length} data bytes, at most 251`);
      body.push(dv.index & 0xff, 4 + dv.data.length, dv.classId, dv.objectId, dv.attributeId, dv.elementId, ...dv.data);
    }
  }
  const length = body.length; // the bytes after the length field (body.length - 2) + the CRC (2)
  body[0] = length >> 8;
  body[1] = length & 0xff;
  const crc = crc16Gbt20999(Uint8Array.from(body));
  const frame = Uint8Array.from([GBT20999_START, ...body, crc >> 8, crc & 0xff, GBT20999_END]);
  return opts.escape ? escapeGbt20999(frame) : frame;
}

/**
 * Splits a TCP byte stream into frames (start byte to end byte, escapes kept: parse with `escaped: true`). Bytes
 * outside a frame, a frame cut short by a new start byte, and a frame longer than the length field allows are reported
 * through `onError` and skipped.
 */
export class Gbt20999Stream {
  private buf: number[] = [];
  private inFrame = false;
  private escape = false;
  private skipped = 0;

  constructor(
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly onError: (e: SignalInputError) => void,
  ) {}

  push(chunk: Uint8Array): void {
    for (const b of chunk) {
      if (!this.inFrame) {
        if (b === GBT20999_START) {
          if (this.skipped) this.onError(new SignalInputError('bad-header', `${this.skipped} bytes outside a frame before the start byte 0x7e`));
          this.skipped = 0;
          this.inFrame = true;
          this.escape = false;
          this.buf = [b];
        } else this.skipped++;
        continue;
      }
      if (this.escape) {
        this.escape = false;
        this.buf.push(b);
      } else if (b === GBT20999_ESCAPE) {
        this.escape = true;
        this.buf.push(b);
      } else if (b === GBT20999_START) {
        this.onError(new SignalInputError('bad-frame', `frame cut short: a new start byte 0x7e after ${this.buf.length} bytes without an end byte`));
        this.buf = [b];
      } else {
        this.buf.push(b);
        if (b === GBT20999_END) {
          this.inFrame = false;
          const frame = Uint8Array.from(this.buf);
          this.buf = [];
          this.onFrame(frame);
        }
      }
      if (this.inFrame && this.buf.length > GBT20999_MAX_FRAME) {
        this.onError(new SignalInputError('too-long', `no end byte within ${GBT20999_MAX_FRAME} bytes of a start byte; frame dropped`));
        this.inFrame = false;
        this.buf = [];
      }
    }
  }

  reset(): void {
    this.buf = [];
    this.inFrame = false;
    this.escape = false;
    this.skipped = 0;
  }
}

/** Unsigned big-endian integer of 1-4 bytes. */
function uint(data: Uint8Array): number {
  let x = 0;
  for (const b of data) x = x * 256 + b;
  return x;
}

/** What the controller last said, for diagnostics (`Gbt20999Controller.state`). */
export interface Gbt20999State {
  /** Lamp group → state code and when it was received. */
  lamps: Map<number, { code: number; atMs: number }>;
  runMode?: { code: number; name: string; atMs: number };
  currentStage?: { stage: number; atMs: number };
  /** Stage → state code / remaining seconds, as last received. */
  stages: Map<number, { state?: number; remainingS?: number; atMs: number }>;
  controllerId?: number;
  version?: number;
  /** Frames of a type this adapter does not use (set replies, broadcasts, ...). */
  ignoredFrames: number;
  /** UDP frames that were valid only with TCP escaping (accepted). */
  escapedOverUdp: number;
}

export interface Gbt20999Options {
  /** The controller. */
  host: string;
  port: number;
  /** Default 'udp' (no escaping); 'tcp': the RSU connects to the controller, frames escaped. */
  transport?: 'udp' | 'tcp';
  /** UDP: the local address queries are sent from and active uploads arrive at. Default 0.0.0.0, port 0 (any). */
  listenHost?: string;
  listenPort?: number;
  /** Lamp group (phase field, 1-64) → signal group. `type` is not used: a lamp group's own colours are reported. */
  mapping: PhaseMapping[];
  /** Controller id (信号机ID) sent in queries (default 0) and, when given, required in what the controller sends. */
  controllerId?: number;
  /** Host id (上位机ID) in queries. Default 1. */
  hostId?: number;
  /** Road id (路口ID) in the frame header of queries. Default 0. */
  roadId?: number;
  /** Crossing number (路口序号, the element of 13.2.x) whose run mode is asked for. Default 1. */
  intersection?: number;
  /** Protocol version in queries. Default 0x0100 (what the real controller in the test fixtures sends). */
  version?: number;
  pollMs?: number;
  timeoutMs?: number;
  /** Default 3 × pollMs + timeoutMs. */
  staleAfterMs?: number;
  /** TCP: wait before reconnecting. Default 1000 ms. */
  reconnectMs?: number;
  now?: () => number;
}

export class Gbt20999Controller implements SignalController {
  readonly tracker: StateTracker;
  readonly state: Gbt20999State = { lamps: new Map(), stages: new Map(), ignoredFrames: 0, escapedOverUdp: 0 };
  /** Local UDP port (after start). */
  port = 0;
  private readonly now: () => number;
  private readonly transport: 'udp' | 'tcp';
  private readonly where: string;
  private readonly lampGroups: number[];
  private udp?: Socket;
  private tcp?: TcpSocket;
  private tcpUp = false;
  private readonly stream: Gbt20999Stream;
  private timer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;
  private seq = 0;
  /** Sequence number of the last query sent. */
  private lastSent?: number;
  private pending?: { seq: number; sentAt: number; timer: NodeJS.Timeout; done: () => void };

  constructor(private readonly o: Gbt20999Options) {
    this.now = o.now ?? Date.now;
    this.transport = o.transport ?? 'udp';
    this.where = `${o.host}:${o.port}`;
    const poll = o.pollMs ?? 100;
    this.tracker = new StateTracker({ source: `gbt20999 ${this.transport} ${this.where}`, staleAfterMs: o.staleAfterMs ?? 3 * poll + (o.timeoutMs ?? 500), now: this.now });
    for (const m of o.mapping) if (!Number.isInteger(m.phase) || m.phase < 1 || m.phase > 64) throw new Error(`gbt20999: mapping of signal group ${m.signalGroup}: lamp group ${m.phase} is not 1-64`);
    if (o.mapping.length === 0) throw new Error('gbt20999: the mapping is empty');
    this.lampGroups = [...new Set(o.mapping.map((m) => m.phase))].sort((a, b) => a - b);
    this.stream = new Gbt20999Stream(
      (f) => this.receive(f, true, (r) => this.tcp?.write(r)),
      (e) => this.tracker.error(e),
    );
  }

  /** The query frame the poll sends: the mapped lamp groups' states (3.3.2.n) and the run mode (13.2.2.i). */
  buildQuery(sequence: number): Uint8Array {
    const ids: [number, number, number, number][] = [...this.lampGroups.map((n): [number, number, number, number] => [3, 3, 2, n]), [13, 2, 2, this.o.intersection ?? 1]];
    return encodeGbt20999(
      {
        version: this.o.version ?? 0x0100,
        hostId: this.o.hostId ?? 1,
        controllerId: this.o.controllerId ?? 0,
        roadId: this.o.roadId ?? 0,
        sequence,
        type: GBT20999_FRAME_TYPE.query,
        values: ids.map(([c, ob, a, e], i) => ({ index: i + 1, classId: c, objectId: ob, attributeId: a, elementId: e, data: new Uint8Array(0) })),
      },
      { escape: this.transport === 'tcp' },
    );
  }

  /** Feeds one unescaped frame (a UDP datagram). Throws SignalInputError, counted in health(). */
  ingest(buf: Uint8Array, atMs = this.now()): void {
    this.handle(buf, false, atMs);
  }

  /** Parses and applies one frame; returns the answer to send (heartbeat reply), if any. */
  private handle(buf: Uint8Array, escaped: boolean, atMs: number): Uint8Array | undefined {
    try {
      let f: Gbt20999Frame;
      try {
        f = parseGbt20999(buf, { escaped });
      } catch (e) {
        // A controller that escapes over UDP too (the standard says not to): take the frame if it is valid escaped.
        if (escaped || !buf.includes(GBT20999_ESCAPE)) throw e;
        try {
          f = parseGbt20999(buf, { escaped: true });
        } catch {
          throw e;
        }
        this.state.escapedOverUdp++;
      }
      return this.apply(f, atMs);
    } catch (e) {
      throw this.tracker.error(e, atMs);
    }
  }

  /** Socket path: never throws. */
  private receive(buf: Uint8Array, escaped: boolean, answer: (b: Uint8Array) => void): void {
    try {
      const r = this.handle(buf, escaped, this.now());
      if (r) answer(r);
    } catch {
      /* counted in health() */
    }
  }

  private apply(f: Gbt20999Frame, atMs: number): Uint8Array | undefined {
    const T = GBT20999_FRAME_TYPE;
    if (this.o.controllerId !== undefined && f.controllerId !== this.o.controllerId)
      throw new SignalInputError('bad-header', `${TYPE_NAMES[f.type]} frame from controller id ${hex(f.controllerId, 8)}, expected ${hex(this.o.controllerId, 8)} (controllerId)`);
    this.state.controllerId = f.controllerId;
    this.state.version = f.version;
    switch (f.type) {
      case T.queryReply:
      case T.trap: {
        const reply = f.type === T.queryReply;
        if (reply) this.settle();
        this.applyValues(f, atMs, reply);
        return undefined;
      }
      case T.queryError: {
        this.settle();
        const what = f.values.map((v) => `${gbt20999ObjectName(v)}: ${v.data.length ? GBT20999_ERRORS[v.data[0]!] ?? `error ${hex(v.data[0]!)}` : 'no error code'}`);
        throw new SignalInputError('controller-error', `the controller refused query ${f.sequence} (query error reply): ${what.join('; ') || 'no data values'}`);
      }
      case T.heartbeatQuery:
        return encodeGbt20999({ ...f, hostId: this.o.hostId ?? f.hostId, type: T.heartbeatReply, values: [] }, { escape: this.transport === 'tcp' });
      default:
        this.state.ignoredFrames++;
        return undefined;
    }
  }

  /** Checks every value of the frame first, then commits: a frame with one bad value changes nothing. */
  private applyValues(f: Gbt20999Frame, atMs: number, reply: boolean): void {
    const lamps = new Map<number, number>();
    let runMode: number | undefined;
    let stage: number | undefined;
    const stages = new Map<number, { state?: number; remainingS?: number }>();
    const one = (v: Gbt20999DataValue, what: string) => {
      if (v.data.length !== 1) throw new SignalInputError('bad-value', `${gbt20999ObjectName(v)}: ${v.data.length} data bytes, expected 1 (${what})`);
      return v.data[0]!;
    };
    const lamp = (n: number, code: number, v: Gbt20999DataValue) => {
      if (!(code in GBT20999_LAMP_STATES))
        throw new SignalInputError('bad-value', `${gbt20999ObjectName(v)}: lamp group ${n} state ${hex(code)} is not a GB/T 20999 lamp state (0x01 off, 0x10-0x12 red, 0x20-0x22 green, 0x30-0x32 yellow, 0x40 red and yellow)`);
      lamps.set(n, code);
    };
    for (const v of f.values) {
      const key = `${v.classId}.${v.objectId}.${v.attributeId}`;
      if (key === '3.3.2') {
        if (v.elementId === 0) {
          // every lamp group at once: one state byte per lamp group, from lamp group 1
          if (v.data.length < 1 || v.data.length > 64) throw new SignalInputError('bad-value', `${gbt20999ObjectName(v)}: ${v.data.length} data bytes, expected one per lamp group (1-64)`);
          v.data.forEach((code, i) => lamp(i + 1, code, v));
        } else if (v.elementId > 64) {
          throw new SignalInputError('bad-value', `${gbt20999ObjectName(v)}: lamp group ${v.elementId} is beyond 64`);
        } else lamp(v.elementId, one(v, 'a lamp state'), v);
      } else if (key === '13.2.2' && v.elementId === (this.o.intersection ?? 1)) {
        const code = one(v, 'a run mode');
        if (!(code in GBT20999_RUN_MODES)) throw new SignalInputError('bad-value', `${gbt20999ObjectName(v)}: run mode ${hex(code)} is not a GB/T 20999 run mode (0x10-0x15, 0x20-0x25, 0x30-0x33)`);
        runMode = code;
      } else if (key === '13.2.4' && v.elementId === (this.o.intersection ?? 1)) {
        stage = one(v, 'a stage number');
      } else if ((key === '6.3.2' || key === '6.3.4') && v.elementId > 0) {
        const s = stages.get(v.elementId) ?? {};
        if (key === '6.3.2') s.state = one(v, 'a stage state');
        else {
          if (v.data.length < 1 || v.data.length > 4) throw new SignalInputError('bad-value', `${gbt20999ObjectName(v)}: ${v.data.length} data bytes, expected a 1-4 byte number of seconds`);
          s.remainingS = uint(v.data);
        }
        stages.set(v.elementId, s);
      }
      // any other object (alarms, detector data, ...) is not used here
    }
    for (const [n, code] of lamps) this.state.lamps.set(n, { code, atMs });
    if (runMode !== undefined) this.state.runMode = { code: runMode, name: GBT20999_RUN_MODES[runMode]!, atMs };
    if (stage !== undefined) this.state.currentStage = { stage, atMs };
    for (const [n, s] of stages) this.state.stages.set(n, { ...this.state.stages.get(n), ...s, atMs });

    const fresh = (at: number) => atMs - at <= this.tracker.staleAfterMs;
    // A reply to our query must carry every mapped lamp group; so must any reply with lamp states in it (a partial
    // answer). Other replies (to single-object queries, seen from real controllers) are merged like uploads.
    if (reply && (lamps.size > 0 || f.sequence === this.lastSent)) {
      const missing = this.lampGroups.filter((n) => !lamps.has(n));
      if (missing.length)
        throw new SignalInputError('bad-value', `the reply to query ${f.sequence} has no state for lamp group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (3.3.2.n)`);
    } else if (lamps.size === 0 && runMode === undefined) return; // an upload of something else
    if (!this.lampGroups.every((n) => { const s = this.state.lamps.get(n); return s !== undefined && fresh(s.atMs); })) return;
    const mode = this.state.runMode && fresh(this.state.runMode.atMs) ? this.state.runMode.code : undefined;
    const phases: ObservedPhase[] = this.o.mapping.map((m) => {
      const st = GBT20999_LAMP_STATES[this.state.lamps.get(m.phase)!.code]!;
      return { signalGroup: m.signalGroup, light: st.light, display: st.display };
    });
    const yellowFlash = this.o.mapping.some((m) => { const c = this.state.lamps.get(m.phase)!.code; return c === 0x31 || c === 0x32; });
    this.tracker.update({
      atMs,
      phases,
      status: {
        ...NORMAL_STATUS,
        flash: mode === RUN_MODE_FLASH || yellowFlash,
        dark: mode === RUN_MODE_OFF || phases.every((p) => p.display === 'dark'),
        manual: mode !== undefined && RUN_MODES_MANUAL.has(mode),
        fixedTime: mode === RUN_MODE_FIXED_CYCLE,
      },
    });
  }

  /** The query in flight is answered (or failed). */
  private settle(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.done();
  }

  /** Sends one query unless one is in flight; resolves once it is answered or has timed out. */
  poll(): Promise<void> {
    if (this.pending || this.closed) return Promise.resolve();
    const ready = this.transport === 'udp' ? this.udp !== undefined : this.tcpUp;
    if (!ready) return Promise.resolve();
    const seq = (this.seq = (this.seq + 1) & 0xff);
    const q = this.buildQuery(seq);
    this.lastSent = seq;
    return new Promise<void>((resolve) => {
      const timeoutMs = this.o.timeoutMs ?? 500;
      const timer = setTimeout(() => {
        if (this.pending?.seq !== seq) return;
        this.pending = undefined;
        const id = this.o.controllerId !== undefined ? `, controller id ${hex(this.o.controllerId, 8)}` : '';
        this.tracker.error(
          new SignalInputError('timeout', `no reply from ${this.where} within ${timeoutMs} ms to query ${seq}: controller down or unreachable, wrong port or transport (${this.transport}), or it does not answer host id ${this.o.hostId ?? 1}${id}`),
        );
        resolve();
      }, timeoutMs);
      this.pending = { seq, sentAt: this.now(), timer, done: resolve };
      if (this.transport === 'udp') {
        this.udp!.send(q, this.o.port, this.o.host, (err) => {
          if (err) this.tracker.error(new SignalInputError('socket-error', `sending the query to ${this.where}: ${err.message}`));
        });
      } else this.tcp!.write(q);
    });
  }

  async start(): Promise<void> {
    this.closed = false;
    if (this.transport === 'udp') await this.startUdp();
    else this.connectTcp();
    this.timer = setInterval(() => void this.poll(), this.o.pollMs ?? 100);
    void this.poll();
  }

  private async startUdp(): Promise<void> {
    const sock = createSocket({ type: isIP(this.o.host) === 6 ? 'udp6' : 'udp4' });
    const only = isIP(this.o.host) && this.o.host !== '0.0.0.0' ? this.o.host : undefined;
    sock.on('message', (msg, rinfo) => {
      if (only && rinfo.address !== only) return;
      this.receive(msg, false, (r) => sock.send(r, rinfo.port, rinfo.address));
    });
    sock.on('error', (e) => this.tracker.error(new SignalInputError('socket-error', e.message)));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.o.listenPort ?? 0, this.o.listenHost ?? (isIP(this.o.host) === 6 ? '::' : '0.0.0.0'), () => {
        sock.off('error', reject);
        this.port = sock.address().port;
        resolve();
      });
    });
    this.udp = sock;
  }

  private connectTcp(): void {
    if (this.closed) return;
    this.stream.reset();
    const s = createConnection({ host: this.o.host, port: this.o.port });
    this.tcp = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.tcpUp = true;
      void this.poll();
    });
    s.on('data', (chunk) => this.stream.push(chunk));
    s.on('error', (e) => {
      if (!this.closed) this.tracker.error(new SignalInputError('socket-error', `TCP connection to ${this.where}: ${e.message}`));
    });
    s.on('close', () => {
      this.tcpUp = false;
      if (this.tcp === s) this.tcp = undefined;
      if (this.closed) return;
      this.settle(); // the query in flight ends without a timeout error: the socket error was counted
      this.reconnectTimer = setTimeout(() => this.connectTcp(), this.o.reconnectMs ?? 1000);
    });
  }

  snapshot(atMs: number): SignalSnapshot | undefined {
    return this.tracker.snapshot(atMs);
  }

  health(): ControllerHealth {
    const up = this.transport === 'udp' ? this.udp !== undefined : this.tcpUp;
    const h = this.tracker.health(up);
    // like the SNMP adapter: a silent controller's alarm says why, when an error came after the last state
    if (h.alarm && h.lastError && !h.alarm.includes('last error') && h.lastUpdateAgeMs !== undefined && h.lastError.atMs >= this.now() - h.lastUpdateAgeMs) {
      h.alarm += ` (last error: ${h.lastError.message})`;
    }
    return h;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.timer = this.reconnectTimer = undefined;
    this.settle();
    const u = this.udp;
    this.udp = undefined;
    if (u) await new Promise<void>((r) => u.close(() => r()));
    const t = this.tcp;
    this.tcp = undefined;
    this.tcpUp = false;
    if (t) await new Promise<void>((r) => (t.destroyed ? r() : (t.once('close', () => r()), t.destroy())));
  }
}
