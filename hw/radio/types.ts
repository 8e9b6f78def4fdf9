// Types shared by the radio transmitters and the receiver (see README.md in this directory).

/** The message types the RSU sends and receives; the names the uplink uses too (runtime/uplink/types.ts). */
export const RADIO_TYPES = ['bsm', 'spat', 'map', 'rsi', 'rsm'] as const;
export type RadioType = (typeof RADIO_TYPES)[number];

export function isRadioType(x: unknown): x is RadioType {
  return typeof x === 'string' && (RADIO_TYPES as readonly string[]).includes(x);
}

/** One encoded MessageFrame for the air. */
export interface RadioTxMessage {
  type: RadioType;
  /** The complete UPER MessageFrame. */
  bytes: Uint8Array;
  /** When the data in it was captured, ns since the Unix epoch: gives the capture-to-radio latency in stats(). */
  captureTimeNs?: bigint;
}

/** Datagrams and bytes, as counted on one side of a socket. */
export interface Counter {
  datagrams: number;
  bytes: number;
}

export interface TxTypeCounter extends Counter {
  /** UPER bytes carried (equals `bytes` for udp-raw; the text around them is not counted here). */
  payloadBytes: number;
}

/**
 * Why a message did not reach the socket, or why the socket refused it. Besides these fixed reasons, errors
 * the kernel reports carry their errno code as the reason: `ECONNREFUSED` (ICMP port unreachable),
 * `EHOSTUNREACH`, `ENETUNREACH`, `EMSGSIZE`, ...
 */
export type TxDropReason =
  /** Sent after close(). */
  | 'closed'
  /** The socket is not connected (still connecting with a full queue, or the address could not be resolved). */
  | 'not_connected'
  /** More than `maxInFlight` datagrams were waiting for the kernel. */
  | 'backlog'
  /** `type` is not one of RADIO_TYPES. */
  | 'unknown_type'
  /** No bytes. */
  | 'empty_payload'
  /** The datagram would exceed the UDP maximum (65507 bytes). */
  | 'too_large'
  /** immediate-forward, or udp-raw with a WSMP/DSMP header: no PSID/AID (and channel) for the message type. */
  | 'no_settings';

export interface LatencyStats {
  /** Messages accepted for sending that carried captureTimeNs. */
  count: number;
  lastMs: number;
  maxMs: number;
  meanMs: number;
}

export interface TxStats {
  mode: 'udp-raw' | 'immediate-forward';
  /** HOST:PORT datagrams go to. */
  target: string;
  connected: boolean;
  /** Calls to send(). */
  submitted: number;
  /** Datagrams the kernel accepted, and their bytes. */
  sent: Counter;
  byType: Record<RadioType, TxTypeCounter>;
  /**
   * Messages dropped or datagrams refused, by reason (TxDropReason or an errno code). An ICMP error (ECONNREFUSED,
   * EHOSTUNREACH) is about a datagram sent earlier (already in `sent`); the kernel reports it on a later send or
   * on the socket, and it is counted once either way.
   */
  errors: Record<string, number>;
  /** Datagrams handed to the socket and not yet confirmed (or queued while connecting). */
  inFlight: number;
  lastError?: { reason: string; message: string; atMs: number };
  /** Capture-to-radio latency of messages that carried captureTimeNs. */
  latency: LatencyStats;
}

/** A transmitter: the same interface for every radio protocol. send() never throws for I/O reasons. */
export interface RadioTx {
  readonly mode: 'udp-raw' | 'immediate-forward';
  /**
   * Hands one message to the radio. Returns false when it was dropped at once (the reason is counted in
   * stats().errors); a later socket error is counted there too. Never throws for bad input or I/O.
   */
  send(msg: RadioTxMessage): boolean;
  /** Resolves when the socket is connected (sends made before are queued, up to maxInFlight). */
  ready(): Promise<void>;
  stats(): TxStats;
  close(): Promise<void>;
}

/** How a received datagram carried its MessageFrame. */
export type RxFormat = 'uper' | 'immediate-forward';

/** A MessageFrame received from the radio, decoded. */
export interface RxMessage {
  type: RadioType;
  /** The UPER MessageFrame (without any trailing bytes, when those are allowed). */
  bytes: Uint8Array;
  /** The decoded MessageFrame (JER shape; see codecs/index.ts). */
  value: unknown;
  /** Arrival time, ms since the Unix epoch (RSU clock). */
  receivedAt: number;
  format: RxFormat;
  /** Sender of the datagram. */
  from: { address: string; port: number };
  /** J2735 DSRCmsgID of the frame (J2735 message sets only). */
  messageId?: number;
  /** The network header it came in (udp-raw with radio.udpRaw.header set). */
  network?: 'wsmp' | 'dsmp';
  /** Present when the frame came inside a 1609.2 SPDU that the SPDU handler verified. */
  /** A 1609.2 SPDU's result: verified, or passed on unverified (with why) when the handler's policy lets it through. */
  security?: { verified: boolean; reason?: string; psid?: number; signer?: string };
}

/** What the receiver does with a 1609.2 SPDU (the daemon adapts SN-VERIFY to this): the MessageFrame inside, or why not. */
export type SpduHandler = (spdu: Uint8Array) => { ok: true; payload: Uint8Array; psid?: number; signer?: string; unverified?: string } | { ok: false; reason: string; detail: string };

export type RxListener = (msg: RxMessage) => void;

/** Why a datagram was dropped by the receiver. */
export const RX_DROP_REASONS = [
  /** A datagram of zero bytes. */
  'empty',
  /** Longer than maxDatagramBytes. */
  'oversize',
  /** Starts with "Version=" but is not a usable immediate forward text (no Payload, bad hex, ...). */
  'ifm_malformed',
  /** Not a MessageFrame of the configured message set: the DecodeError's reason is in stats().decodeErrors. */
  'decode_error',
  /** A complete MessageFrame followed by extra bytes (accepted instead with allowTrailingBytes). */
  'trailing_bytes',
  /** A decoded MessageFrame of a type the RSU does not forward (counted in byType.other too). */
  'unsupported_type',
  /** The decoder failed with something other than a DecodeError (a codec bug); the receiver goes on. */
  'internal_error',
  /** A WSMP or DSMP header that does not parse (NetHeaderError: truncated, bad-version, bad-length, ...). */
  'bad_header',
  /** A 1609.2 SPDU (not a MessageFrame) and no SPDU handler to verify it. */
  'spdu_unverified',
  /** A 1609.2 SPDU the SPDU handler rejected; by its reason in stats().spduRejected. */
  'spdu_rejected',
] as const;
export type RxDropReason = (typeof RX_DROP_REASONS)[number];

export interface RxStats {
  address: string;
  port: number;
  /** Every datagram that arrived. */
  received: Counter;
  /** Datagrams delivered to subscribers, by message type; `other` counts decoded frames of other types. */
  byType: Record<RadioType | 'other', Counter>;
  byFormat: Record<RxFormat, number>;
  /** Dropped datagrams by reason. */
  errors: Record<RxDropReason, number>;
  /** decode_error drops by the DecodeError's reason (digits folded to N; at most 64 distinct reasons). */
  decodeErrors: Record<string, number>;
  /** Frames delivered although bytes followed them (allowTrailingBytes). */
  trailingAccepted: number;
  /** spdu_rejected drops by the handler's reason (bad-signature, untrusted, stale, ...). */
  spduRejected: Record<string, number>;
  /** Frames delivered from verified SPDUs. */
  spduVerified: number;
  /** Exceptions thrown by subscribers (the datagram was still delivered to the others). */
  subscriberErrors: number;
  lastError?: { reason: RxDropReason; detail: string; from: string; atMs: number };
}
