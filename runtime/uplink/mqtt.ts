/**
 * MQTT uplink: drains the spool with QoS 1 publishes and acknowledges a
 * record in the spool only when the broker's PUBACK for it arrived.
 *
 * Topics (prefix v2x/v1/rsu/{rsuId}):
 *   {bsm|spat|map|rsi|rsm}/up   uplink records, protobuf Envelope, QoS 1
 *   status                      RsuStatus, retained; the last will says OFFLINE_LOST
 *   rsi/down, config/down       downlinks (subscribed, QoS 1), see downlink.ts
 *   ack/up                      DownlinkAck for every downlink, QoS 1
 *
 * Delivery: at most `window` publishes (and never more than the broker's
 * MQTT 5 receive maximum) are unacknowledged at a time; they are sent in
 * spool order on one connection, so per message type the first delivery is
 * in order.  When the connection drops (or a PUBACK carries a transient MQTT
 * 5 error reason code) the reader is rewound to the first unacknowledged
 * record and everything from there is sent again after reconnecting (or a
 * backoff): at least once, consumers dedup on (rsu_id, seq).  A record the
 * broker refuses for good (not authorized, ...) is dropped and counted by
 * default, see MqttUplinkOptions.onBrokerRefusal.
 *
 * Reconnect: a fresh client per attempt, exponential backoff with jitter
 * (reconnectMinMs .. reconnectMaxMs), reset after the first PUBACK of a
 * connection.  TLS certificate files are read again at every attempt, so a
 * rotated client certificate is picked up without a restart.
 */
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket, type SecureContextOptions } from 'node:tls';
import { redactUrl, splitUrlCredentials } from '../config/secrets.js';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { DownlinkProcessor, type DownlinkHandler, type DownlinkHandlers, type DownlinkKind, type DownlinkStats } from './downlink.js';
import { encodeDownlinkAck, encodeStatus, type RsuState } from './envelope.js';
import { BrokerLink } from './link.js';
import { PacketSizeGuard, type OversizePublish } from './packet-guard.js';
import type { SpoolReader, SpoolRecord } from './spool.js';
import { errorMessage, mqttTopics, type BrokerState, type Logger, type MqttTopics } from './types.js';

export interface MqttTlsOptions {
  /** PEM text of the CA bundle that signs the broker certificate (or caFile). */
  ca?: string | Buffer;
  caFile?: string;
  /** PEM client certificate (or certFile). */
  cert?: string | Buffer;
  certFile?: string;
  /** PEM client private key (or keyFile). */
  key?: string | Buffer;
  keyFile?: string;
  passphrase?: string;
  /** SNI / name checked against the broker certificate. */
  servername?: string;
  /** Verify the broker certificate. Default true. */
  rejectUnauthorized?: boolean;
}

export interface MqttUplinkOptions {
  /**
   * mqtt://host:1883 or mqtts://host:8883 (ws/wss work too). Credentials in it are taken out (username and
   * password below win); it is only ever shown redacted (logs, stats().url, errors).
   */
  url: string;
  /** 5 (default) or 4 (= MQTT 3.1.1). */
  protocolVersion?: 4 | 5;
  /** Default `rsu-{rsuId}`. */
  clientId?: string;
  username?: string;
  /** The password, or a function that reads it at each connection attempt (a rotated password file). */
  password?: string | (() => string | undefined);
  tls?: MqttTlsOptions;
  /** Default 30 s. */
  keepaliveSec?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Max unacknowledged QoS 1 publishes. Default 64. */
  window?: number;
  /** Default 500 ms. */
  reconnectMinMs?: number;
  /** Default 30 s. */
  reconnectMaxMs?: number;
  /**
   * false (default): persistent session, downlinks published while the RSU
   * is offline are delivered after it reconnects.
   */
  cleanSession?: boolean;
  /** MQTT 5 session expiry for the persistent session. Default 86400 s. */
  sessionExpirySec?: number;
  /** Default 'v2x/v1/rsu'. */
  topicPrefix?: string;
  softwareVersion?: string;
  /** Validators/appliers of downlink messages; missing kinds are rejected with a reason. */
  downlink?: DownlinkHandlers;
  /** Largest accepted downlink payload. Default 64 KiB. */
  maxDownlinkBytes?: number;
  /**
   * Accept downlinks only over a TLS connection whose broker certificate was verified (default true); others are
   * refused with that reason on ack/up and counted (unverified_broker).
   */
  requireVerifiedBroker?: boolean;
  /** Told of every processed downlink: 'accepted' or the class of its rejection (for metrics). */
  onDownlinkResult?: (kind: DownlinkKind, result: string) => void;
  /**
   * What to do with a record the broker refuses for good (MQTT 5 PUBACK
   * 0x87 not authorized, 0x90 topic name invalid, 0x99 payload format
   * invalid):
   *   'drop' (default): count it (stats().refusedByBroker), log it and take it
   *     out of the spool, so that one forbidden topic does not stall every
   *     message type behind it;
   *   'retry': keep it and retry after a backoff like any other failure.
   * Other error reason codes (quota exceeded, server busy, ...) are always
   * retried.  MQTT 3.1.1 has no negative PUBACK.
   */
  onBrokerRefusal?: 'drop' | 'retry';
}

/** PUBACK reason codes that will not change by retrying the same publish. */
const PERMANENT_PUBACK_CODES = new Set([0x87, 0x90, 0x99]);

export interface MqttStats {
  state: BrokerState;
  /** Redacted: no password. */
  url: string;
  /** The current connection's broker proved its identity (TLS with a verified certificate). */
  verifiedBroker: boolean;
  protocolVersion: 4 | 5;
  /** Successful CONNACKs. */
  connects: number;
  /** Attempts that ended without a CONNACK (refused, TLS failure, timeout, unreachable). */
  connectFailures: number;
  /** Established connections that were lost. */
  disconnects: number;
  /** Data publishes waiting for PUBACK. */
  inFlight: number;
  /** Effective in-flight window of the current connection. */
  window: number;
  /** Data publishes sent (re-sends included). */
  published: number;
  /** PUBACKs received for data publishes. */
  acked: number;
  /** PUBACKs with a transient MQTT 5 error reason code (record stays in the spool, retried). */
  rejectedByBroker: number;
  /** Records refused for good by the broker and dropped (see onBrokerRefusal). */
  refusedByBroker: number;
  /** Spool records with an unknown message type tag (acknowledged and skipped). */
  badRecords: number;
  /** Downlink PUBLISHes over the packet limit, dropped unread and answered as too large. */
  oversizedDownlinks: number;
  /** Records not yet acknowledged by the broker (in the spool). */
  pending: number;
  controlQueued: number;
  lastError: string;
  lastErrorAt: number;
  lastConnectAt: number;
  downlink: DownlinkStats;
}

interface Control {
  topic: string;
  payload: Buffer;
  retain: boolean;
  kind: 'status' | 'ack';
  properties?: IClientOptions['properties'] & { correlationData?: Buffer };
}

interface Conn {
  client: MqttClient;
  alive: boolean;
  connected: boolean;
  window: number;
  inFlight: number;
  dataInFlight: number;
  controlInFlight: Control[];
  gotPuback: boolean;
  /** A PUBACK failed: send nothing new until in-flight drained, then rewind. */
  draining: boolean;
  /** PUBLISHes the packet guard passed on without their payload, in arrival order. */
  oversized: OversizePublish[];
  /** The broker proved its identity (TLS, certificate verified); set at CONNACK. */
  verifiedBroker: boolean;
}

export interface MqttUplinkDeps {
  logger?: Logger;
  /** Current spool backlog for the status message. */
  pending?: () => number;
}

const MAX_CONTROL_QUEUE = 1000;

type ResolvedOptions = Required<Pick<MqttUplinkOptions, 'protocolVersion' | 'keepaliveSec' | 'connectTimeoutMs' | 'window' | 'cleanSession' | 'sessionExpirySec'>> &
  MqttUplinkOptions;

export class MqttUplink extends BrokerLink {
  readonly rsuId: string;
  readonly topics: MqttTopics;
  private readonly o: ResolvedOptions;
  private readonly downlinks: DownlinkProcessor;
  private conn: Conn | undefined;
  /** The TLS file problem last logged (logged again only when it changes). */
  private tlsProblem: string | undefined;
  private readonly control: Control[] = [];
  private readonly pendingFn: () => number;
  /** The URL as it may be shown: credentials redacted. */
  private readonly shownUrl: string;
  protected readonly st = {
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    published: 0,
    acked: 0,
    rejectedByBroker: 0,
    refusedByBroker: 0,
    badRecords: 0,
    oversizedDownlinks: 0,
    lastError: '',
    lastErrorAt: 0,
    lastConnectAt: 0,
  };

  constructor(rsuId: string, opts: MqttUplinkOptions, reader: SpoolReader, deps: MqttUplinkDeps = {}) {
    const fromUrl = splitUrlCredentials(opts.url);
    const o: ResolvedOptions = {
      protocolVersion: 5,
      keepaliveSec: 30,
      connectTimeoutMs: 10_000,
      window: 64,
      cleanSession: false,
      sessionExpirySec: 86_400,
      ...opts,
      url: fromUrl.url,
      username: opts.username ?? fromUrl.username,
      password: opts.password ?? fromUrl.password,
    };
    if (o.protocolVersion !== 4 && o.protocolVersion !== 5) throw new RangeError(`MQTT protocolVersion must be 4 or 5, got ${opts.protocolVersion}`);
    if (!(o.window >= 1)) throw new RangeError(`MQTT window must be >= 1, got ${opts.window}`);
    // mqtt.js quietly turns mqtt:// into TLS when given a client certificate: the URL alone says which it is
    if (o.tls && !/^(mqtts|ssl|wss|tls):/.test(o.url)) throw new RangeError(`MQTT tls options need a TLS URL (mqtts://, ssl://, wss://), got ${o.url.split('//')[0]}//`);
    super('mqtt', reader, opts, deps.logger);
    this.rsuId = rsuId;
    this.o = o;
    this.shownUrl = redactUrl(opts.url);
    this.topics = mqttTopics(rsuId, opts.topicPrefix);
    this.pendingFn = deps.pending ?? (() => reader.pending);
    this.downlinks = new DownlinkProcessor(
      rsuId,
      { ...opts.downlink },
      { maxBytes: opts.maxDownlinkBytes, logger: this.log, requireVerifiedBroker: opts.requireVerifiedBroker, onResult: opts.onDownlinkResult },
    );
  }

  // ------------------------------------------------------------ connection

  /**
   * The TLS files, read at each attempt (rotated files are picked up) and parsed by Node one at a time, so that a
   * wrong file (a private key given as the certificate, a pair that does not match) is named with its config key.
   */
  private tlsOptions(): Partial<IClientOptions> {
    const t = this.o.tls;
    if (!t) return {};
    const where = (k: 'ca' | 'cert' | 'key', f: string | undefined) => `uplink.mqtt.tls.${k}${f ? ` (${f})` : ''}`;
    const read = (k: 'ca' | 'cert' | 'key', f: string | undefined, v: string | Buffer | undefined) => {
      try {
        return f ? fs.readFileSync(f) : v;
      } catch (err) {
        throw new Error(`cannot read ${where(k, f)}: ${errorMessage(err)}`);
      }
    };
    const ca = read('ca', t.caFile, t.ca);
    const cert = read('cert', t.certFile, t.cert);
    const key = read('key', t.keyFile, t.key);
    const parse = (what: string, o: SecureContextOptions) => {
      try {
        createSecureContext(o);
      } catch (err) {
        throw new Error(`${what} (${errorMessage(err)})`);
      }
    };
    if (cert) parse(`${where('cert', t.certFile)} is not a PEM certificate`, { cert });
    if (key) parse(`${where('key', t.keyFile)} is not a PEM private key${t.passphrase ? ' or its passphrase is wrong' : ''}`, { key, passphrase: t.passphrase });
    if (cert && key) parse(`${where('cert', t.certFile)} and ${where('key', t.keyFile)} are not a pair`, { cert, key, passphrase: t.passphrase });
    const out: Partial<IClientOptions> = { rejectUnauthorized: t.rejectUnauthorized ?? true };
    if (ca) out.ca = ca;
    if (cert) out.cert = cert;
    if (key) out.key = key;
    if (t.passphrase) (out as Record<string, unknown>).passphrase = t.passphrase;
    if (t.servername) out.servername = t.servername;
    return out;
  }

  private statusPayload(state: RsuState): Buffer {
    return Buffer.from(
      encodeStatus({ rsuId: this.rsuId, state, timeMs: Date.now(), softwareVersion: this.o.softwareVersion ?? '', spoolPending: this.pendingFn() }),
    );
  }

  protected open(): void {
    let opts: IClientOptions;
    try {
      opts = {
        protocolVersion: this.o.protocolVersion,
        clientId: this.o.clientId ?? `rsu-${this.rsuId}`,
        clean: this.o.cleanSession,
        keepalive: this.o.keepaliveSec,
        connectTimeout: this.o.connectTimeoutMs,
        reconnectPeriod: 0,
        resubscribe: false,
        queueQoSZero: false,
        will: { topic: this.topics.status, payload: this.statusPayload('OFFLINE_LOST'), qos: 1, retain: true },
        ...this.tlsOptions(),
      };
    } catch (err) {
      // Logged once (a file does not fix itself between attempts); counted, and shown in status, at each attempt.
      const msg = `MQTT TLS: ${errorMessage(err)}`;
      this.connectFailed(msg, msg !== this.tlsProblem);
      this.tlsProblem = msg;
      return;
    }
    this.tlsProblem = undefined;
    if (this.o.username !== undefined) opts.username = this.o.username;
    try {
      const password = typeof this.o.password === 'function' ? this.o.password() : this.o.password;
      if (password !== undefined) opts.password = password;
    } catch (err) {
      this.connectFailed(`cannot read the MQTT password: ${errorMessage(err)}`);
      return;
    }
    // Nothing larger than a downlink may come in: MQTT 5 tells the broker, and the guard below holds for both.
    const maxPacketBytes = this.maxPacketBytes;
    opts.manualConnect = true;
    if (this.o.protocolVersion === 5) {
      opts.properties = { receiveMaximum: 32, maximumPacketSize: maxPacketBytes };
      if (!this.o.cleanSession) opts.properties.sessionExpiryInterval = this.o.sessionExpirySec;
    }
    let client: MqttClient;
    try {
      client = mqtt.connect(this.o.url, opts);
    } catch (err) {
      this.connectFailed(`MQTT connect to ${this.shownUrl} failed: ${errorMessage(err)}`);
      return;
    }
    const conn: Conn = {
      client,
      alive: true,
      connected: false,
      window: this.o.window,
      inFlight: 0,
      dataInFlight: 0,
      controlInFlight: [],
      gotPuback: false,
      draining: false,
      oversized: [],
      verifiedBroker: false,
    };
    this.conn = conn;
    const c = client as unknown as { streamBuilder: (cl: MqttClient) => Duplex };
    const build = c.streamBuilder;
    c.streamBuilder = (cl) =>
      new PacketSizeGuard(build(cl), maxPacketBytes, this.o.protocolVersion, (p) => {
        this.st.oversizedDownlinks++;
        conn.oversized.push(p);
      });
    client.on('connect', (connack: IConnackPacket) => this.onConnect(conn, connack));
    client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => this.onMessage(conn, topic, payload, packet));
    client.on('error', (err: Error) => {
      if (conn === this.conn) this.fail(`MQTT ${this.shownUrl}: ${describeMqttError(err)}`);
    });
    client.on('close', () => this.onClose(conn));
    client.connect();
  }

  /** The largest MQTT packet accepted from the broker: a downlink of maxDownlinkBytes with its topic and properties. */
  get maxPacketBytes(): number {
    return (this.o.maxDownlinkBytes ?? 64 * 1024) + 4096;
  }

  private onConnect(conn: Conn, connack: IConnackPacket): void {
    if (conn !== this.conn || !conn.alive) return;
    conn.connected = true;
    conn.verifiedBroker = brokerVerified(conn.client, this.o);
    this.state = 'up';
    this.st.connects++;
    this.st.lastConnectAt = Date.now();
    const rm = connack.properties?.receiveMaximum;
    // leave room for control messages (status, downlink acks) under the broker's receive maximum
    conn.window = rm ? Math.max(1, Math.min(this.o.window, rm - 2)) : this.o.window;
    this.log.info({ url: this.shownUrl, window: conn.window, sessionPresent: connack.sessionPresent, verifiedBroker: conn.verifiedBroker }, 'mqtt uplink connected');
    // status first, then downlinks
    for (let i = this.control.length - 1; i >= 0; i--) if (this.control[i]!.kind === 'status') this.control.splice(i, 1);
    this.control.unshift({ topic: this.topics.status, payload: this.statusPayload('ONLINE'), retain: true, kind: 'status' });
    conn.client.subscribe(
      [this.topics.rsiDown, this.topics.configDown],
      { qos: 1 },
      (err, granted) => {
        if (conn !== this.conn) return;
        if (err) this.fail(`MQTT subscribe to downlink topics failed: ${errorMessage(err)}`);
        else if (granted?.some((g) => g.qos > 2)) this.fail(`MQTT broker refused a downlink subscription: ${JSON.stringify(granted)}`);
      },
    );
    this.pump();
  }

  private onClose(conn: Conn): void {
    if (!conn.alive) return;
    conn.alive = false;
    const wasConnected = conn.connected;
    conn.connected = false;
    try {
      conn.client.end(true);
    } catch {
      /* ignore */
    }
    conn.client.removeAllListeners('message');
    if (conn !== this.conn) return;
    if (wasConnected) {
      this.st.disconnects++;
      this.log.warn({ url: this.shownUrl, inFlight: conn.dataInFlight }, 'mqtt uplink connection lost');
    } else {
      this.st.connectFailures++;
      if (!this.st.lastError || Date.now() - this.st.lastErrorAt > 1000) this.fail(`MQTT ${this.shownUrl}: connection closed before CONNACK`);
    }
    // everything unacknowledged goes again, in order
    this.rewind();
    for (const c of conn.controlInFlight.reverse()) if (c.kind === 'ack') this.control.unshift(c);
    conn.controlInFlight = [];
    conn.dataInFlight = 0;
    conn.inFlight = 0;
    this.conn = undefined;
    if (this.closing) {
      this.state = 'closed';
      return;
    }
    this.scheduleReconnect();
  }

  // ------------------------------------------------------------ uplink

  protected pump(): void {
    const conn = this.conn;
    if (!conn || !conn.connected || conn.draining || this.closing) return;
    while (conn.inFlight < conn.window) {
      const c = this.control.shift();
      if (c) {
        this.sendControl(conn, c);
        continue;
      }
      const rec = this.reader.next();
      if (!rec) return;
      this.sendRecord(conn, rec);
    }
  }

  private sendRecord(conn: Conn, rec: SpoolRecord): void {
    const route = this.routeOf(rec);
    if (!route) return;
    const topic = route.received ? this.topics.rx : this.topics.up(route.type);
    conn.inFlight++;
    conn.dataInFlight++;
    this.st.published++;
    const opts: mqtt.IClientPublishOptions = { qos: 1, retain: false };
    if (this.o.protocolVersion === 5) opts.properties = { contentType: 'application/x-protobuf; proto=v2x.uplink.v1.Envelope' };
    conn.client.publish(topic, rec.payload, opts, (err) => {
      if (conn !== this.conn || !conn.alive) return; // the close handler rewound already
      conn.inFlight--;
      conn.dataInFlight--;
      if (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'number' && PERMANENT_PUBACK_CODES.has(code) && (this.o.onBrokerRefusal ?? 'drop') === 'drop') {
          this.st.refusedByBroker++;
          this.fail(`MQTT broker refused record ${rec.id} on ${topic} for good, dropped: ${errorMessage(err)}`);
          this.reader.ack(rec.id);
          this.afterCompletion(conn);
          return;
        }
        this.st.rejectedByBroker++;
        this.fail(`MQTT broker rejected record ${rec.id} on ${topic}, will retry: ${errorMessage(err)}`);
        conn.draining = true;
        this.afterCompletion(conn);
        return;
      }
      this.st.acked++;
      this.reader.ack(rec.id);
      if (!conn.gotPuback) {
        conn.gotPuback = true;
        this.backoff.reset();
      }
      this.afterCompletion(conn);
    });
  }

  private sendControl(conn: Conn, c: Control): void {
    conn.inFlight++;
    conn.controlInFlight.push(c);
    const opts: mqtt.IClientPublishOptions = { qos: 1, retain: c.retain };
    if (c.properties && this.o.protocolVersion === 5) opts.properties = c.properties;
    conn.client.publish(c.topic, c.payload, opts, (err) => {
      if (conn !== this.conn || !conn.alive) return;
      conn.inFlight--;
      const i = conn.controlInFlight.indexOf(c);
      if (i >= 0) conn.controlInFlight.splice(i, 1);
      if (err) this.fail(`MQTT broker rejected ${c.kind} publish: ${errorMessage(err)}`);
      this.afterCompletion(conn);
    });
  }

  /** Only data publishes hold up a drain: status and downlink acks are not in the spool. */
  private afterCompletion(conn: Conn): void {
    this.completed(conn, conn.dataInFlight);
  }

  private queueControl(c: Control): void {
    this.control.push(c);
    if (this.control.length > MAX_CONTROL_QUEUE) {
      const i = this.control.findIndex((x) => x.kind === 'ack');
      this.control.splice(i >= 0 ? i : 0, 1);
      this.log.warn({}, 'mqtt uplink: control queue full, oldest downlink ack dropped');
    }
    this.pump();
  }

  // ------------------------------------------------------------ downlink

  private onMessage(conn: Conn, topic: string, payload: Buffer, packet: IPublishPacket): void {
    // a PUBLISH the guard emptied: answered as too large with the size it had on the wire
    const big = conn.oversized[0];
    let wireBytes = payload.length;
    if (big && payload.length === 0 && big.topic === topic && big.packetId === (packet.messageId ?? 0)) {
      conn.oversized.shift();
      wireBytes = big.payloadBytes;
    }
    let kind: DownlinkKind;
    if (topic === this.topics.rsiDown) kind = 'rsi';
    else if (topic === this.topics.configDown) kind = 'config';
    else {
      this.log.warn({ topic }, 'mqtt uplink: message on an unexpected topic ignored');
      return;
    }
    const correlationData = packet.properties?.correlationData;
    void this.downlinks.process(kind, payload, { verifiedBroker: conn.verifiedBroker }, wireBytes).then((ack) => {
      const c: Control = { topic: this.topics.ack, payload: Buffer.from(encodeDownlinkAck(ack)), retain: false, kind: 'ack' };
      if (correlationData) c.properties = { correlationData };
      this.queueControl(c);
    });
  }

  /** Install or replace the validator/applier of one downlink kind (undefined removes it). */
  setDownlinkHandler(kind: DownlinkKind, handler: DownlinkHandler | undefined): void {
    this.downlinks.setHandler(kind, handler);
  }

  /** Resolves when every downlink received so far has been processed and its ack queued. */
  async downlinkIdle(): Promise<void> {
    await this.downlinks.idle();
    await new Promise((r) => setImmediate(r));
  }

  // ------------------------------------------------------------ shutdown

  /**
   * Stop publishing, wait up to timeoutMs for outstanding PUBACKs, publish
   * the OFFLINE status and disconnect.  Unacknowledged records stay in the
   * spool.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (!this.beginClose()) return;
    const conn = this.conn;
    if (!conn || !conn.alive) {
      this.state = 'closed';
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (conn.alive && conn.connected && conn.inFlight > 0 && Date.now() < deadline) await sleep(10);
    if (conn.alive && conn.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(100, deadline - Date.now()));
        conn.client.publish(this.topics.status, this.statusPayload('OFFLINE'), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    conn.alive = false;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      conn.client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
    conn.client.end(true);
    this.conn = undefined;
    this.state = 'closed';
  }

  stats(): MqttStats {
    const conn = this.conn;
    return {
      state: this.state,
      url: this.shownUrl,
      verifiedBroker: conn?.verifiedBroker ?? false,
      protocolVersion: this.o.protocolVersion,
      ...this.st,
      inFlight: conn?.dataInFlight ?? 0,
      window: conn?.window ?? this.o.window,
      pending: this.reader.pending,
      controlQueued: this.control.length,
      downlink: this.downlinks.stats(),
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Whether the broker of this connection proved its identity: a TLS socket whose certificate chain and host name
 * Node verified (mqtts://). Over wss:// the socket is inside the WebSocket library: the scheme with certificate
 * checking on is taken as verified (Node refuses the handshake otherwise).
 */
function brokerVerified(client: MqttClient, o: MqttUplinkOptions): boolean {
  if (o.tls?.rejectUnauthorized === false) return false;
  let stream = (client as unknown as { stream?: unknown }).stream;
  if (stream instanceof PacketSizeGuard) stream = stream.socket;
  if (stream instanceof TLSSocket) return stream.authorized;
  return new URL(o.url).protocol === 'wss:';
}

/**
 * Turn TLS / CONNACK errors into a message an operator can act on. Our own TLS files never fail here: tlsOptions()
 * parses the very buffers the client gets before each attempt and names the file and key.
 */
export function describeMqttError(err: unknown): string {
  const e = err as { code?: string | number; message?: string };
  const msg = errorMessage(err);
  const ssl = /SSL routines:[^:]*:([^:]+):/.exec(msg);
  if (ssl) {
    const reason = ssl[1]!;
    let hint = '';
    if (/unknown ca|bad certificate|certificate unknown/.test(reason)) hint = ' (the broker does not accept our client certificate: is it signed by the CA the broker trusts?)';
    else if (/certificate required/.test(reason)) hint = ' (the broker requires a client certificate and none is configured)';
    else if (/certificate expired/.test(reason)) hint = ' (our client certificate has expired)';
    return `TLS handshake refused by the broker: ${reason}${hint}`;
  }
  if (typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ERR_TLS/.test(e.code)) {
    return `broker certificate not accepted: ${msg} [${e.code}] (check tls.ca / tls.servername)`;
  }
  if (typeof e.code === 'number' && e.code >= 0x80) return `broker refused the connection: ${msg} (reason code 0x${e.code.toString(16)})`;
  if (typeof e.code === 'number' && e.code > 0 && e.code < 6) return `broker refused the connection: ${msg} (MQTT 3.1.1 return code ${e.code})`;
  return msg;
}

