/**
 * Protobuf messages of the uplink (codecs/proto/uplink.proto), encoded and
 * decoded with protobufjs.  The .proto file is loaded at run time (once, on
 * first use) from the source tree or, when running from dist/, from the
 * package root; RSU_UPLINK_PROTO overrides the path.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { MESSAGE_TYPE_CODE, messageTypeFromCode, type MessageTypeName } from './types.js';

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

export interface EnvelopeSummary {
  stationId?: string;
  latDeg?: number;
  lonDeg?: number;
  speedMps?: number;
  headingDeg?: number;
  intersectionId?: number;
  regionId?: number;
  msgCount?: number;
  eventType?: number;
  participantCount?: number;
  extra?: Record<string, string>;
}

export interface Envelope {
  rsuId: string;
  /** Spool record id: strictly increasing per RSU. */
  seq: number;
  /** Unix epoch milliseconds. */
  captureTimeMs: number;
  msgType: MessageTypeName;
  uper: Uint8Array;
  summary?: EnvelopeSummary;
  /** ASN.1 message set of `uper`, e.g. "csae2020"; '' = RSU default. */
  messageSet?: string;
  /** Heard on the radio from another station (topic rx/up), not sent by this RSU. */
  received?: boolean;
  /** Received only: the sender as decoded ("id:<hex>", "intersection:<region>/<id>"). */
  senderId?: string;
}

export interface DownlinkMessage {
  msgId: string;
  rsuId: string;
  issuedTimeMs: number;
  /** 0 = never expires. */
  expiresTimeMs: number;
  contentType: string;
  payload: Buffer;
}

export interface DownlinkAck {
  rsuId: string;
  msgId: string;
  kind: string;
  accepted: boolean;
  reason: string;
  timeMs: number;
  payloadBytes: number;
}

export type RsuState = 'ONLINE' | 'OFFLINE' | 'OFFLINE_LOST';

export interface RsuStatus {
  rsuId: string;
  state: RsuState;
  timeMs: number;
  softwareVersion: string;
  spoolPending: number;
}

interface Types {
  Envelope: protobuf.Type;
  Downlink: protobuf.Type;
  DownlinkAck: protobuf.Type;
  RsuStatus: protobuf.Type;
  State: protobuf.Enum;
}

let types: Types | undefined;

/** Where uplink.proto is looked for, in order. */
export function protoCandidates(): string[] {
  const c: string[] = [];
  if (process.env.RSU_UPLINK_PROTO) c.push(process.env.RSU_UPLINK_PROTO);
  c.push(fileURLToPath(new URL('../../codecs/proto/uplink.proto', import.meta.url))); // runtime/uplink/*.ts
  c.push(fileURLToPath(new URL('../../../codecs/proto/uplink.proto', import.meta.url))); // dist/runtime/uplink/*.js
  return c;
}

function load(): Types {
  if (types) return types;
  const candidates = protoCandidates();
  const file = candidates.find((p) => fs.existsSync(p));
  if (!file) throw new EnvelopeError(`uplink.proto not found; looked at ${candidates.join(', ')}`);
  let root: protobuf.Root;
  try {
    root = protobuf.loadSync(file);
  } catch (err) {
    throw new EnvelopeError(`cannot load ${file}: ${(err as Error).message}`);
  }
  types = {
    Envelope: root.lookupType('v2x.uplink.v1.Envelope'),
    Downlink: root.lookupType('v2x.uplink.v1.Downlink'),
    DownlinkAck: root.lookupType('v2x.uplink.v1.DownlinkAck'),
    RsuStatus: root.lookupType('v2x.uplink.v1.RsuStatus'),
    State: root.lookupEnum('v2x.uplink.v1.RsuStatus.State'),
  };
  return types;
}

const CONV: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: true };

function decodeAs(type: protobuf.Type, buf: Uint8Array, what: string): Record<string, unknown> {
  let msg: protobuf.Message;
  try {
    msg = type.decode(buf);
  } catch (err) {
    throw new EnvelopeError(`cannot decode ${what} (${buf.length} bytes): ${(err as Error).message}`);
  }
  return type.toObject(msg, CONV);
}

function u64(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

/** Encode an uplink record envelope. */
export function encodeEnvelope(e: Envelope): Uint8Array {
  const t = load();
  const code = MESSAGE_TYPE_CODE[e.msgType];
  if (code === undefined) throw new EnvelopeError(`unknown message type ${JSON.stringify(e.msgType)}`);
  const obj: Record<string, unknown> = {
    rsuId: e.rsuId,
    seq: e.seq,
    captureTimeMs: e.captureTimeMs,
    msgType: code,
    uper: e.uper,
  };
  if (e.summary) obj.summary = e.summary;
  if (e.messageSet) obj.messageSet = e.messageSet;
  if (e.received) obj.received = true;
  if (e.senderId) obj.senderId = e.senderId;
  return t.Envelope.encode(obj).finish();
}

/** Decode and check an uplink record envelope. */
export function decodeEnvelope(buf: Uint8Array): Envelope {
  const o = decodeAs(load().Envelope, buf, 'uplink Envelope');
  const msgType = messageTypeFromCode(o.msgType as number);
  if (!msgType) throw new EnvelopeError(`uplink Envelope has unknown msg_type ${String(o.msgType)}`);
  const env: Envelope = {
    rsuId: o.rsuId as string,
    seq: u64(o.seq),
    captureTimeMs: u64(o.captureTimeMs),
    msgType,
    uper: o.uper as Uint8Array,
  };
  if (o.messageSet) env.messageSet = o.messageSet as string;
  if (o.received) env.received = true;
  if (o.senderId) env.senderId = o.senderId as string;
  if (o.summary) {
    const s = o.summary as Record<string, unknown>;
    const sum: EnvelopeSummary = {};
    for (const [k, v] of Object.entries(s)) {
      if (v === undefined || v === null) continue;
      if (k === 'extra') {
        if (Object.keys(v as object).length) sum.extra = v as Record<string, string>;
      } else (sum as Record<string, unknown>)[k] = v;
    }
    env.summary = sum;
  }
  return env;
}

/** Cheap check used by tests and tools: the record seq without decoding the rest. */
export function envelopeSeq(buf: Uint8Array): number {
  return decodeEnvelope(buf).seq;
}

export function encodeDownlink(d: Partial<DownlinkMessage>): Uint8Array {
  return load().Downlink.encode({ ...d }).finish();
}

/** Decode a downlink message; throws EnvelopeError naming the problem. */
export function decodeDownlink(buf: Uint8Array): DownlinkMessage {
  const o = decodeAs(load().Downlink, buf, 'Downlink');
  return {
    msgId: o.msgId as string,
    rsuId: o.rsuId as string,
    issuedTimeMs: u64(o.issuedTimeMs),
    expiresTimeMs: u64(o.expiresTimeMs),
    contentType: o.contentType as string,
    payload: Buffer.from(o.payload as Uint8Array),
  };
}

export function encodeDownlinkAck(a: DownlinkAck): Uint8Array {
  return load().DownlinkAck.encode({ ...a }).finish();
}

export function decodeDownlinkAck(buf: Uint8Array): DownlinkAck {
  const o = decodeAs(load().DownlinkAck, buf, 'DownlinkAck');
  return {
    rsuId: o.rsuId as string,
    msgId: o.msgId as string,
    kind: o.kind as string,
    accepted: o.accepted as boolean,
    reason: o.reason as string,
    timeMs: u64(o.timeMs),
    payloadBytes: o.payloadBytes as number,
  };
}

export function encodeStatus(s: RsuStatus): Uint8Array {
  const t = load();
  return t.RsuStatus.encode({ ...s, state: t.State.values[s.state] }).finish();
}

export function decodeStatus(buf: Uint8Array): RsuStatus {
  const t = load();
  const o = decodeAs(t.RsuStatus, buf, 'RsuStatus');
  const state = t.State.valuesById[o.state as number];
  if (state !== 'ONLINE' && state !== 'OFFLINE' && state !== 'OFFLINE_LOST') {
    throw new EnvelopeError(`RsuStatus has unknown state ${String(o.state)}`);
  }
  return {
    rsuId: o.rsuId as string,
    state,
    timeMs: u64(o.timeMs),
    softwareVersion: o.softwareVersion as string,
    spoolPending: u64(o.spoolPending),
  };
}
