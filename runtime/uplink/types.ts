/**
 * Shared types of the cloud uplink: message types, topic names, logger and
 * error classes.
 */

/** Uplinked V2X message types, in the order of the protobuf enum. */
export const MESSAGE_TYPES = ['bsm', 'spat', 'map', 'rsi', 'rsm'] as const;
export type MessageTypeName = (typeof MESSAGE_TYPES)[number];

/** Protobuf enum value (uplink.proto MessageType) == spool record tag. */
export const MESSAGE_TYPE_CODE: Readonly<Record<MessageTypeName, number>> = {
  bsm: 1,
  spat: 2,
  map: 3,
  rsi: 4,
  rsm: 5,
};

export function messageTypeFromCode(code: number): MessageTypeName | undefined {
  return MESSAGE_TYPES[code - 1];
}

/**
 * Spool tag bit of a record heard on the radio (another station's message): it goes to the `rx` topic, never to
 * the topic of what this RSU sends.
 */
export const RX_TAG = 0x80;

/** Where a spool record is published: its message type, and whether it was received rather than sent. */
export interface RecordRoute {
  type: MessageTypeName;
  received: boolean;
}

export function recordTag(route: RecordRoute): number {
  return MESSAGE_TYPE_CODE[route.type] | (route.received ? RX_TAG : 0);
}

export function routeOfTag(tag: number): RecordRoute | undefined {
  const type = messageTypeFromCode(tag & ~RX_TAG);
  return type && { type, received: (tag & RX_TAG) !== 0 };
}

export function isMessageTypeName(x: unknown): x is MessageTypeName {
  return typeof x === 'string' && (MESSAGE_TYPES as readonly string[]).includes(x);
}

/** Minimal structured logger; a pino logger satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** RSU ids become MQTT topic levels and Kafka keys. */
export function validateRsuId(rsuId: string): void {
  if (typeof rsuId !== 'string' || rsuId.length === 0 || rsuId.length > 64) {
    throw new UplinkConfigError(`rsuId must be a string of 1..64 characters, got ${JSON.stringify(rsuId)}`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(rsuId)) {
    throw new UplinkConfigError(
      `rsuId ${JSON.stringify(rsuId)} may only contain letters, digits, '.', '_' and '-' (it is an MQTT topic level)`,
    );
  }
}

/** MQTT topic layout: v2x/v1/rsu/{rsuId}/... */
export interface MqttTopics {
  /** What this RSU sends, per message type. */
  up(type: MessageTypeName): string;
  /** What it heard on the radio from other stations, every type. */
  rx: string;
  status: string;
  ack: string;
  rsiDown: string;
  configDown: string;
}

export function mqttTopics(rsuId: string, prefix = 'v2x/v1/rsu'): MqttTopics {
  const base = `${prefix}/${rsuId}`;
  return {
    up: (type) => `${base}/${type}/up`,
    rx: `${base}/rx/up`,
    status: `${base}/status`,
    ack: `${base}/ack/up`,
    rsiDown: `${base}/rsi/down`,
    configDown: `${base}/config/down`,
  };
}

/** Connection state of one broker link, as reported by stats(). */
export type BrokerState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

export class UplinkConfigError extends Error {
  override name = 'UplinkConfigError';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
