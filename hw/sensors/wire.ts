// Wire formats of detection frames: protobuf (codecs/proto/detections.proto), one frame per UDP datagram or
// varint-length-delimited on TCP; and proto3 JSON, one frame per line, for debugging.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { findAbove } from '../../runtime/config/defaults.js';
import { OBJECT_CLASSES, type DetectedObject, type DetectionFrameInput } from './frame.js';

const PROTO_REL = join('codecs', 'proto', 'detections.proto');

/** detections.proto, found above this module (works from the source tree and from dist/). */
export function detectionsProtoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const p = findAbove(here, PROTO_REL);
  if (!p) throw new Error(`${PROTO_REL} not found above ${here}`);
  return p;
}

const root = protobuf.parse(readFileSync(detectionsProtoPath(), 'utf8')).root;
const FrameType = root.lookupType('rsu.detections.v1.DetectionFrame');
const ClassEnum = root.lookupEnum('rsu.detections.v1.ObjectClass');

// The TS list of classes and the proto enum must agree; a mismatch is a programming error caught at load.
for (const [i, c] of OBJECT_CLASSES.entries()) {
  if (ClassEnum.values[`OBJECT_CLASS_${c.toUpperCase()}`] !== i) throw new Error(`ObjectClass ${c} is not ${i} in detections.proto`);
}

/** 64-bit integers as protobuf.js hands them out (a Long, or a number when small). */
export type Int64 = number | { low: number; high: number; unsigned?: boolean };

/** A decoded frame before validation: the shape protobuf.js produces; message fields absent are null. */
export interface WireFrame {
  header: { sensorId: string; captureTimeNs: Int64; frameNumber: number; objectCount: number } | null;
  objects: WireObject[];
}

export interface WireObject {
  id: number;
  classification: number;
  confidence: number;
  box3d: { x: number; y: number; z: number; length: number; width: number; height: number; yaw: number } | null;
  box2d: { x: number; y: number; width: number; height: number } | null;
  velocity: { x: number; y: number; z: number } | null;
  positionCovariance: number[];
  velocityCovariance: number[];
}

/** Decodes one protobuf DetectionFrame. Throws on malformed or truncated input. */
export function decodeProtobuf(buf: Uint8Array): WireFrame {
  return FrameType.decode(buf) as unknown as WireFrame;
}

const CLASS_BY_NAME = new Map<string, number>();
for (const [i, c] of OBJECT_CLASSES.entries()) {
  CLASS_BY_NAME.set(c, i);
  CLASS_BY_NAME.set(`OBJECT_CLASS_${c.toUpperCase()}`, i);
}

export class JsonFrameError extends Error {}

/** A header field of the wrong type or out of range (`field` names it); `sensorId` when the header has one. */
export class JsonFieldError extends JsonFrameError {
  constructor(
    readonly field: string,
    message: string,
    readonly sensorId?: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const U32_MAX = 2n ** 32n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/**
 * A proto3-JSON unsigned integer: a JSON number or a decimal string (exponent notation allowed), integral, 0..max.
 * Undefined when it is not one (protobuf.js would read "abc" as 0, -1 as 4294967295 and "1e30" as 1).
 */
function jsonUint(v: unknown, max: bigint): bigint | undefined {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) return undefined;
    n = BigInt(v);
  } else if (typeof v === 'string') {
    const m = /^(\d{1,40})(?:\.(\d{0,40}))?(?:[eE]\+?(\d{1,2}))?$/.exec(v);
    if (!m) return undefined;
    const frac = m[2] ?? '';
    const shift = Number(m[3] ?? 0) - frac.length;
    const digits = m[1]! + frac;
    if (shift >= 0) n = BigInt(digits) * 10n ** BigInt(shift);
    else if (/^0*$/.test(digits.slice(shift))) n = BigInt(digits.slice(0, shift) || '0');
    else return undefined; // a fraction
  } else return undefined;
  return n <= max ? n : undefined;
}

/** Rejects header fields that protobuf.js would silently coerce, naming the field. */
function checkJsonHeader(h: unknown): void {
  if (h === undefined || h === null) return;
  if (typeof h !== 'object' || Array.isArray(h)) throw new JsonFieldError('header', `expected an object, got ${JSON.stringify(h).slice(0, 40)}`);
  const r = h as Record<string, unknown>;
  const id = typeof r.sensorId === 'string' ? r.sensorId : undefined;
  if (r.sensorId !== undefined && id === undefined) throw new JsonFieldError('header.sensorId', `expected a string, got ${JSON.stringify(r.sensorId).slice(0, 40)}`);
  const uint = (key: string, max: bigint, what: string) => {
    const v = r[key];
    if (v === undefined || v === null) return;
    const n = jsonUint(v, max);
    if (n === undefined) throw new JsonFieldError(`header.${key}`, `expected ${what} 0..${max}, got ${JSON.stringify(v).slice(0, 40)}`, id);
    r[key] = max === U64_MAX ? n.toString() : Number(n); // the plain form protobuf.js reads right ("1.75e18" it reads as 1)
  };
  uint('captureTimeNs', U64_MAX, 'an integer of nanoseconds since the epoch (a decimal string or number)');
  uint('frameNumber', U32_MAX, 'an integer');
  uint('objectCount', U32_MAX, 'an integer');
}

/**
 * Parses one proto3-JSON DetectionFrame (`{"header":{"sensorId":..,"captureTimeNs":"..",..},"objects":[..]}`).
 * Classes may be enum names, short names ("car") or numbers. Throws JsonFrameError (JsonFieldError for a header
 * field of the wrong type or out of range: `"captureTimeNs": "abc"`, `-5`, `"1e30"`, `"frameNumber": -1`).
 */
export function parseJsonFrame(text: string): WireFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new JsonFrameError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new JsonFrameError('expected a JSON object');
  checkJsonHeader((v as { header?: unknown }).header);
  const objects = (v as { objects?: unknown }).objects;
  if (Array.isArray(objects)) {
    for (const o of objects) {
      if (typeof o === 'object' && o !== null && typeof (o as { classification?: unknown }).classification === 'string') {
        const c = CLASS_BY_NAME.get((o as { classification: string }).classification);
        // proto3 enums are open: an unknown name reads as unknown (0), like an unknown number on the wire.
        (o as { classification: number }).classification = c ?? 0;
      }
    }
  }
  try {
    return FrameType.fromObject(v as Record<string, unknown>) as unknown as WireFrame;
  } catch (e) {
    throw new JsonFrameError((e as Error).message);
  }
}

function toWireObject(o: DetectedObject): Record<string, unknown> {
  return {
    id: o.id,
    classification: OBJECT_CLASSES.indexOf(o.classification),
    confidence: o.confidence,
    box3d: o.box3d,
    box2d: o.box2d,
    velocity: o.velocity,
    positionCovariance: o.positionCovariance,
    velocityCovariance: o.velocityCovariance,
  };
}

function toWire(f: DetectionFrameInput): protobuf.Message {
  const t = BigInt.asUintN(64, f.captureTimeNs);
  return FrameType.create({
    header: {
      sensorId: f.sensorId,
      captureTimeNs: { low: Number(t & 0xffffffffn), high: Number(t >> 32n), unsigned: true },
      frameNumber: f.frameNumber,
      objectCount: f.objects.length,
    },
    objects: f.objects.map(toWireObject),
  });
}

/** One frame as protobuf bytes (a UDP datagram). */
export function encodeFrame(f: DetectionFrameInput): Uint8Array {
  return FrameType.encode(toWire(f)).finish();
}

/** One frame as a varint length prefix and protobuf bytes (for a TCP stream). */
export function encodeFrameDelimited(f: DetectionFrameInput): Uint8Array {
  return FrameType.encodeDelimited(toWire(f)).finish();
}

/** One frame as a proto3-JSON line, without the newline. */
export function encodeFrameJson(f: DetectionFrameInput): string {
  return JSON.stringify({
    header: {
      sensorId: f.sensorId,
      captureTimeNs: BigInt.asUintN(64, f.captureTimeNs).toString(),
      frameNumber: f.frameNumber,
      objectCount: f.objects.length,
    },
    objects: f.objects.map((o) => ({ ...toWireObject(o), classification: `OBJECT_CLASS_${o.classification.toUpperCase()}` })),
  });
}

/** The wire's 64-bit ns count is 0 (the sensor has no clock). */
export function isZeroNs(v: Int64): boolean {
  return typeof v === 'number' ? v === 0 : (v.low | v.high) === 0;
}

/** A 64-bit ns count from the wire as ms, exact to the microsecond (a double holds µs since the epoch exactly). */
export function nsToMs(v: Int64): number {
  if (typeof v === 'number') return Math.round(v / 1000) / 1000;
  const ns = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return Number(ns / 1000n) / 1000;
}


export class FramingError extends Error {}

/**
 * Splits a TCP byte stream into varint-length-delimited frames, whatever the chunk boundaries. A length above
 * `maxFrameBytes` (or a malformed varint) means the stream cannot be resynchronized: push() throws
 * FramingError and the connection should be closed.
 */
export class DelimitedReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      // varint length: at most 5 bytes for a 32-bit length
      let len = 0;
      let shift = 0;
      let i = pos;
      let complete = false;
      while (i < this.buf.length && i - pos < 5) {
        const b = this.buf[i++]!;
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i - pos >= 5) throw new FramingError('malformed length prefix');
        break;
      }
      if (len > this.maxFrameBytes) throw new FramingError(`frame length ${len} exceeds the limit of ${this.maxFrameBytes} bytes`);
      if (this.buf.length - i < len) break;
      out.push(this.buf.subarray(i, i + len));
      pos = i + len;
    }
    this.buf = pos === 0 ? this.buf : this.buf.subarray(pos);
    return out;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }
}

function int64ToBigInt(v: Int64): bigint {
  return typeof v === 'number' ? BigInt(v) : (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/**
 * A recorded frame with its capture time moved by deltaNs (`rsu replay` places old recordings on today's
 * timeline, where the ingest's age checks accept them). Undecodable input comes back unchanged: the ingest
 * then counts it as it would have the first time. A frame without a capture time keeps none.
 */
export function shiftCaptureTime<T extends Uint8Array | string>(data: T, deltaNs: bigint): T {
  try {
    const msg = typeof data === 'string' ? FrameType.fromObject(JSON.parse(data)) : FrameType.decode(data);
    const h = (msg as unknown as { header?: { captureTimeNs?: Int64 } }).header;
    if (!h?.captureTimeNs) return data;
    const t = int64ToBigInt(h.captureTimeNs);
    if (t === 0n) return data;
    const s = BigInt.asUintN(64, t + deltaNs);
    h.captureTimeNs = { low: Number(s & 0xffffffffn), high: Number(s >> 32n), unsigned: true };
    if (typeof data === 'string') return JSON.stringify(FrameType.toObject(msg, { longs: String, enums: String })) as T;
    return FrameType.encode(msg).finish() as T;
  } catch {
    return data;
  }
}
