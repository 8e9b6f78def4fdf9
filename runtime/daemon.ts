// The daemon: wires sensors → perception → message builders → codec → radio and uplink, plus the radio receive
// path, the signal controller SPAT is built from, time health, metrics and the local status socket. One process; every stage is a component with its
// own stats(); nothing a peer sends can stop it.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { Counter } from 'prom-client';
import pino, { type Logger } from 'pino';
import { loadMessageSet, type MessageSet as Codec } from '../codecs/index.js';
import { startTimeSource, type TimeSourceHandle } from '../hw/gnss/index.js';
import { messagePsids, radioRxFromConfig, radioTxFromConfig, type RadioRx, type RadioTx } from '../hw/radio/index.js';
import { senderOf, type Sender } from '../hw/radio/sender.js';
import { SensorIngest, ingestOptionsFromConfig, type BoundListener } from '../hw/sensors/index.js';
import { SimulatedController } from '../hw/signal/simulated.js';
import { TscbmController } from '../hw/signal/tscbm.js';
import type { ControllerHealth, SignalController } from '../hw/signal/types.js';
import { BsmMatcher } from './apps/bsm-match.js';
import { EventDetector } from './apps/events/index.js';
import { FixedTimePlan, type SignalSnapshot } from './apps/signal-plan.js';
import { buildMap } from './apps/map.js';
import { isJ2735, MESSAGE_TYPES, type MessageType } from './apps/messages.js';
import { configChanges } from './config/diff.js';
import { REMOTE_CONFIG_KEYS, type ApplicationsSection, type RsiEvent, type RsuConfig, type UplinkSection } from './config/types.js';
import { splitHostPort } from './config/schema.js';
import { parseConfigDownlink, RsiEvents, validateRsiDownlink } from './downlinks.js';
import { loadLaneMap, type LaneMap } from './map/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { readPassword } from './config/secrets.js';
import { outputAlarms, SensorDropWatch, sensorAlarms, TotalsWindow, uplinkAlarms, type SensorHealth } from './health.js';
import { Metrics } from './metrics.js';
import { registerUplinkMetrics } from './metrics-uplink.js';
import { createPerception, type PerceptionStage, type PerceptionStats } from './perception/index.js';
import { Scheduler, type Outgoing } from './scheduler.js';
import { RsuSecurity, type SecurityStatus } from './security/rsu-security.js';
import { defaultSocketPath, serveStatus, type RecordEvent, type StatusServerStats, type TailEvent } from './status.js';
import { Latencies } from './latencies.js';
import { Uplink, type LinkHealth } from './uplink/index.js';
import { buildInfo, softwareVersion, type BuildInfo } from './version.js';
import { daemonInfo, type DaemonInfo } from './view/source.js';

export interface DaemonOptions {
  config: RsuConfig;
  logger?: Logger;
  /** Unix socket for `rsu status` / `rsu tail`; false: none. Default defaultSocketPath(). */
  socketPath?: string | false;
  /** Write every raw input (sensor frames, received radio messages) to this file as JSON lines (`rsu record`). */
  recordTo?: string;
  /** Perception output older than this is not broadcast (RSM withheld), ms. */
  perceptionStaleMs?: number;
  /** The RSU id the uplink publishes as (topics, records, status); default rsu.id. `rsu replay --uplink`: its own. */
  uplinkId?: string;
}

export interface Daemon {
  readonly config: RsuConfig;
  readonly ingestPorts: BoundListener[];
  readonly radioRxPort?: number;
  readonly metricsPort?: number;
  status(): DaemonStatus;
  /** Frame → radio latency over the RSMs after the first `since` (for benchmarks that skip a warm-up). */
  latency(since?: number): DaemonStatus['frameToRadio'];
  onTail(fn: (e: TailEvent) => void): () => void;
  onRecord(fn: (e: RecordEvent) => void): () => void;
  /** The lane map the MAP is built from (applications.map.file), when one is configured. */
  readonly laneMap?: LaneMap;
  /** What `rsu view` needs to know of this daemon (the status socket's `info`): a config summary, no secrets. */
  info(): DaemonInfo;
  /**
   * Take a new (validated) config: what can change live changes (RELOADABLE_KEYS); the other changed keys are
   * returned as needing a restart, and keep their running values.
   */
  reload(next: RsuConfig): { applied: string[]; needRestart: string[] };
  /** Feed a recorded input as if it had arrived (`rsu replay`). */
  inject(e: RecordEvent): void;
  stop(): Promise<void>;
}

export interface DaemonStatus {
  rsuId: string;
  messageSet: string;
  startedAt: string;
  uptimeS: number;
  time: unknown;
  sensors: unknown;
  perception: unknown;
  /** uplinkPerS: records the brokers acknowledged (MQTT's, or Kafka's without MQTT); uplinkByLinkPerS: each link's. */
  messages: { radioTxPerS: Record<string, number>; uplinkPerS: Record<string, number>; radioRxPerS: Record<string, number>; uplinkByLinkPerS?: Record<string, Record<string, number>> };
  scheduler: unknown;
  /** The signal controller SPAT comes from: its kind (applications.spat.controller) and health(). */
  signal?: { kind: string } & ControllerHealth;
  /** RSI events detected from the tracks (when a lane map is configured). */
  events?: unknown;
  /** Sensor frame arrival → radio datagram, over the last 4096 RSMs. */
  frameToRadio: { count: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  radio: { tx?: unknown; rx?: unknown };
  uplink?: unknown;
  /** Per sensor: the share of its detections perception dropped over the last 10 s; unhealthy at 90 % or more. */
  sensorHealth: Record<string, SensorHealth>;
  /** Connections to the status socket, and what it refused or dropped. */
  statusSocket?: StatusServerStats;
  /** Signing, the RSU certificate's health (days to expiry, problems) and verification of what the radio hears. */
  security: SecurityStatus;
  alarms: string[];
  recentErrors: { at: string; msg: string }[];
  /** What is running: package version, commit, Node, message sets, codec compiler, the model's SHA-256. */
  build: BuildInfo;
}

/** Messages per second over a sliding window, per type. */
class Rates {
  private events: { t: number; type: string }[] = [];
  add(type: string, t: number): void {
    this.events.push({ t, type });
    if (this.events.length > 20000) this.events.splice(0, 10000);
  }
  perS(now: number, windowMs = 5000): Record<string, number> {
    this.events = this.events.filter((e) => now - e.t <= windowMs);
    const out: Record<string, number> = {};
    for (const e of this.events) out[e.type] = (out[e.type] ?? 0) + 1000 / windowMs;
    for (const k of Object.keys(out)) out[k] = Math.round(out[k]! * 10) / 10;
    return out;
  }
}

/** The configured fixed-time plan as a SignalController (controller kind `plan`): always current. */
class PlanController implements SignalController {
  private readonly plan: FixedTimePlan;
  private updates = 0;
  constructor(phases: ApplicationsSection['spat']['phases']) {
    this.plan = new FixedTimePlan(phases);
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  snapshot(atMs: number): SignalSnapshot {
    this.updates++;
    return this.plan.snapshot(atMs);
  }
  health(): ControllerHealth {
    return { source: 'fixed-time plan (applications.spat.phases)', connected: true, lastUpdateAgeMs: 0, updates: this.updates, errors: {} };
  }
}

/**
 * The signal controller of `applications.spat.controller` (not started). `now` is the clock of the simulated
 * controllers and the adapters' trackers (default Date.now). The SNMP (net-snmp) and GB/T 20999 adapters are loaded only
 * when used.
 */
export async function signalControllerFromConfig(spat: ApplicationsSection['spat'], opts: { now?: () => number } = {}): Promise<SignalController | undefined> {
  const c = spat.controller;
  const now = opts.now ?? Date.now;
  switch (c.kind) {
    case 'plan':
      return spat.phases.length ? new PlanController(spat.phases) : undefined;
    case 'simulated':
      return c.mode === 'fixed'
        ? new SimulatedController({ mode: 'fixed', phases: spat.phases, now })
        : new SimulatedController({ mode: 'actuated', stages: c.stages ?? [], startMs: now(), now });
    case 'tscbm': {
      const hp = splitHostPort(c.listen)!;
      return new TscbmController({ port: hp.port, host: hp.host, mapping: c.mapping, staleAfterMs: c.staleAfterMs, controllerAddress: c.controllerAddress, now });
    }
    case 'ntcip': {
      const hp = splitHostPort(c.target)!;
      const { NtcipSnmpController } = await import('../hw/signal/ntcip1202.js');
      return new NtcipSnmpController({
        host: hp.host,
        port: hp.port,
        version: c.version === 1 ? 'v1' : c.version === 2 ? 'v2c' : 'v3',
        ...(c.version === 3 ? { user: c.user } : { community: c.community ?? 'public' }),
        mapping: c.mapping,
        preempts: c.preempts,
        pollMs: c.pollMs,
        timeoutMs: c.timeoutMs,
        staleAfterMs: c.staleAfterMs,
        now,
      });
    }
    case 'gbt20999': {
      const hp = splitHostPort(c.target)!;
      const lp = c.listen !== undefined ? splitHostPort(c.listen)! : undefined;
      const { Gbt20999Controller } = await import('../hw/signal/gbt20999.js');
      return new Gbt20999Controller({
        host: hp.host,
        port: hp.port,
        transport: c.transport,
        ...(lp ? { listenHost: lp.host, listenPort: lp.port } : {}),
        mapping: c.mapping,
        controllerId: c.controllerId,
        hostId: c.hostId,
        roadId: c.roadId,
        intersection: c.intersection,
        version: c.version,
        pollMs: c.pollMs,
        timeoutMs: c.timeoutMs,
        staleAfterMs: c.staleAfterMs,
        now,
      });
    }
  }
}

/**
 * The perception stage of `perception.fusion`: the learned fusion (which runs rule-based, and says so in the log,
 * `stats().mode` and the status, when its model cannot be loaded) or rule-based fusion.
 */
export async function perceptionFromConfig(cfg: RsuConfig, logger: Logger): Promise<PerceptionStage> {
  if (cfg.perception.fusion === 'plain') return createPerception(cfg, { logger });
  // onnxruntime's telemetry would write /tmp/mat-debug-<pid>.log and a device id under ~/.cache/Microsoft on
  // every start; it reads this when the library loads. A deployer may still set it otherwise.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  const { onnxFusionFactory } = await import('./perception/onnx.js');
  return createPerception(cfg, { logger, backend: onnxFusionFactory({ logger, ...(cfg.perception.model ? { modelPath: cfg.perception.model } : {}) }) });
}

/** The config keys a reload (SIGHUP) changes in the running daemon; any other change needs a restart. */
export const RELOADABLE_KEYS: readonly string[] = [
  ...REMOTE_CONFIG_KEYS,
  'uplink.alarms.linkDownS',
  'uplink.alarms.undeliveredS',
];

/**
 * The librdkafka properties of `uplink.kafka`: TLS (security.protocol SSL), SASL (SASL_PLAINTEXT, SASL_SSL with TLS;
 * the password read now, so a rotated password file is picked up at the next connection), and the validated
 * pass-through properties.
 */
export function kafkaProperties(k: UplinkSection['kafka'], env: NodeJS.ProcessEnv = process.env): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = { ...k.librdkafka };
  if (k.tls || k.sasl) out['security.protocol'] = k.sasl ? (k.tls ? 'sasl_ssl' : 'sasl_plaintext') : 'ssl';
  if (k.tls?.ca) out['ssl.ca.location'] = k.tls.ca;
  if (k.tls?.cert) out['ssl.certificate.location'] = k.tls.cert;
  if (k.tls?.key) out['ssl.key.location'] = k.tls.key;
  if (k.sasl) {
    out['sasl.mechanisms'] = k.sasl.mechanism;
    out['sasl.username'] = k.sasl.username;
    out['sasl.password'] = readPassword(k.sasl, 'uplink.kafka.sasl', env) ?? '';
  }
  return out;
}

/** The status alarm while SPAT is withheld because the controller has no current state. */
export const SIGNAL_SILENT_ALARM = 'signal controller silent: SPAT withheld';

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const cfg = opts.config;
  const recentErrors: { at: string; msg: string }[] = [];
  // Warnings and errors are also kept for `rsu status`.
  const log =
    opts.logger ??
    pino({
      level: cfg.logging.level,
      hooks: {
        logMethod(args, method, level) {
          if (level >= 40) {
            const text = args.map((a) => (typeof a === 'string' ? a : a && typeof a === 'object' && 'err' in a ? `(${String((a as { err: unknown }).err)})` : '')).filter(Boolean);
            recentErrors.push({ at: new Date().toISOString(), msg: [...text.slice(1), text[0]].filter(Boolean).join(' ') });
            if (recentErrors.length > 20) recentErrors.shift();
          }
          method.apply(this, args);
        },
      },
    });
  const startedMs = Date.now();
  const metrics = new Metrics();
  const build = buildInfo(cfg.perception.model || undefined);
  const closers: (() => Promise<void> | void)[] = [];
  const tails = new Set<(e: TailEvent) => void>();
  const records = new Set<(e: RecordEvent) => void>();
  const rates = { tx: new Rates(), rx: new Rates(), up: { mqtt: new Rates(), kafka: new Rates() } as Record<string, Rates> };
  const latency = new Latencies(4096);
  const stop = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn(`shutdown: ${(e as Error).message}`);
      }
    }
  };

  try {
    const codec: Codec = (await loadMessageSet(cfg.messageSet)) as Codec;
    const time: TimeSourceHandle = startTimeSource(cfg.time, { logger: log.child({ component: 'time' }) });
    closers.push(() => time.close());

    // Cloud uplink (store and forward); the cloud can issue RSI events.
    const rsiEvents = new RsiEvents(cfg.applications.rsi.events, cfg.applications.rsi.signs, cfg.messageSet);
    let uplink: Uplink | undefined;
    const u = cfg.uplink;
    // The embedded broker (uplink.mqtt.embeddedBroker, the demo's) takes only the credentials made for this run,
    // written owner-only beside the status socket (or in the spool directory without one).
    let embedded: EmbeddedBroker | undefined;
    if (u.mqtt.enabled && u.mqtt.embeddedBroker) {
      const url = new URL(u.mqtt.url);
      const dir = opts.socketPath !== false ? dirname(opts.socketPath ?? defaultSocketPath()) : u.spool.dir;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      embedded = await startEmbeddedBroker({ host: url.hostname, port: Number(url.port || 1883), credentialsFile: join(dir, 'mqtt-credentials.json') });
      closers.push(() => embedded!.close());
      log.info(`embedded MQTT broker on ${embedded.url}; its credentials for this run are in ${embedded.credentialsFile} (only this user can read it)`);
    }
    if (u.mqtt.enabled || u.kafka.enabled) {
      const downlinkResults = new Counter({
        name: 'rsu_downlinks_total',
        help: 'Downlinks (rsi/down, config/down) by kind and result: accepted, or the class of the rejection',
        labelNames: ['kind', 'result'] as const,
        registers: [metrics.registry],
      });
      uplink = await Uplink.open({
        rsuId: opts.uplinkId ?? cfg.rsu.id,
        messageSet: cfg.messageSet,
        logger: log.child({ component: 'uplink' }),
        spool: { dir: u.spool.dir, maxBytes: u.spool.maxBytes, fsync: { mode: u.spool.fsync, intervalMs: u.spool.fsyncIntervalMs } },
        mqtt: u.mqtt.enabled
          ? {
              url: u.mqtt.url,
              // The embedded broker (aedes) speaks MQTT 3.1.1 only.
              protocolVersion: u.mqtt.version === 5 && !u.mqtt.embeddedBroker ? 5 : 4,
              clientId: u.mqtt.clientId,
              topicPrefix: u.mqtt.topicPrefix,
              softwareVersion: softwareVersion(build),
              tls: u.mqtt.tls ? { caFile: u.mqtt.tls.ca, certFile: u.mqtt.tls.cert, keyFile: u.mqtt.tls.key } : undefined,
              ...(embedded
                ? { username: embedded.credentials.username, password: embedded.credentials.password }
                : { username: u.mqtt.username, password: () => readPassword(u.mqtt, 'uplink.mqtt') }),
              // The embedded broker is this process: its identity needs no certificate.
              requireVerifiedBroker: u.mqtt.downlinks.requireVerifiedBroker && !embedded,
              onDownlinkResult: (kind, result) => downlinkResults.inc({ kind, result }),
            }
          : undefined,
        kafka: u.kafka.enabled
          ? {
              brokers: u.kafka.brokers.join(','),
              clientId: u.kafka.clientId,
              topics: Object.fromEntries([...MESSAGE_TYPES, 'rx'].map((t) => [t, `${u.kafka.topicPrefix}.${t}.up`])),
              librdkafka: () => kafkaProperties(u.kafka),
            }
          : undefined,
      });
      // A config/down may change only the keys of uplink.mqtt.downlinks.configKeys, judged against the running config.
      const configDown = (payload: Uint8Array) => parseConfigDownlink(payload, cfg.messageSet, { running: cfg, allowed: u.mqtt.downlinks.configKeys });
      // Downlinks come over MQTT only; a Kafka-only uplink has none.
      if (u.mqtt.enabled) {
        uplink.setDownlinkHandler('rsi', {
          validate: (m) => validateRsiDownlink(m.payload, cfg.messageSet),
          apply: (m) => rsiEvents.addFromCloud(m.payload, Date.now()),
        });
        uplink.setDownlinkHandler('config', {
          validate: (m) => {
            const r = configDown(m.payload);
            return r.ok ? { ok: true } : r;
          },
          apply: (m) => {
            const r = configDown(m.payload);
            if (!r.ok) throw new Error(r.reason);
            const c = r.value;
            if (c.logLevel) {
              cfg.logging.level = c.logLevel;
              log.level = c.logLevel;
            }
            for (const [k, v] of Object.entries(c.enabled ?? {})) cfg.applications[k as 'rsm'].enabled = v!;
            if (c.rsiEvents) cfg.applications.rsi.events = c.rsiEvents;
            if (c.rsiSigns) cfg.applications.rsi.signs = c.rsiSigns;
            if (c.rsiEvents || c.rsiSigns) rsiEvents.setConfigured(cfg.applications.rsi.events, cfg.applications.rsi.signs);
            log.warn(`configuration changed from the cloud (${m.msgId}): ${JSON.stringify(c)}`);
          },
        });
      }
      // The uplink rate is what the brokers acknowledged, not what was handed to the spool.
      uplink.onDelivered((link, type) => {
        metrics.messages.inc({ type, path: `uplink_${link}` });
        rates.up[link]?.add(type, Date.now());
      });
      closers.push(() => uplink!.close());
    }

    // `received`: a message heard on the radio, for the uplink's rx topic with its sender (never as ours);
    // `extra`: summary fields such as its verification verdict
    const submit = (type: MessageType, bytes: Uint8Array, atMs: number, received?: Sender, extra?: Record<string, string>) => {
      if (!uplink) return;
      const summary = received || extra ? { ...received?.summary, ...(extra ? { extra } : {}) } : undefined;
      const r = uplink.submit({
        type,
        uper: bytes,
        captureTimeMs: Math.round(atMs),
        ...(received ? { received: { senderId: received.senderId } } : {}),
        ...(summary ? { summary } : {}),
      });
      // a refusal is counted (rsu_spool_dropped_records_total) and logged, rate-limited, by the uplink
      if (r.ok) metrics.messages.inc({ type, path: 'spooled' });
    };
    const tail = (e: TailEvent) => {
      for (const fn of tails) fn(e);
    };
    const record = (e: RecordEvent) => {
      for (const fn of records) fn(e);
    };

    // IEEE 1609.2 / YD/T 3957: signing of what the radio sends, verification of what it hears.
    const security = await RsuSecurity.create(cfg.security, {
      psids: messagePsids(cfg.radio, cfg.messageSet),
      position: { lat: cfg.rsu.reference.lat, lon: cfg.rsu.reference.lon },
      transmits: cfg.radio.mode !== 'off',
      tlsCertificates: [
        ...(cfg.uplink.mqtt.enabled && cfg.uplink.mqtt.tls?.cert ? [{ uplink: 'mqtt', file: cfg.uplink.mqtt.tls.cert }] : []),
        ...(cfg.uplink.kafka.enabled && cfg.uplink.kafka.tls?.cert ? [{ uplink: 'kafka', file: cfg.uplink.kafka.tls.cert }] : []),
      ],
      onReload: (st) => log.warn(`security: certificate files changed, reloaded: ${st.usable ? `signing with ${st.hashedId8}, ${st.daysToExpiry} days to expiry` : `not usable: ${st.problems.map((p) => p.message).join('; ')}`}`),
    });
    security.start();
    closers.push(() => security.stop());
    for (const a of security.alarms()) log.warn(`security: ${a}`);

    // Radio out and in.
    const radioTx: RadioTx | undefined = radioTxFromConfig(cfg.radio, { messageSet: cfg.messageSet });
    if (radioTx) closers.push(() => radioTx.close());
    const spdu = security.spduHandler();
    const radioRx: RadioRx | undefined = radioRxFromConfig(cfg.radio, codec, {
      logger: log.child({ component: 'radio-rx' }),
      ...(spdu ? { spdu } : {}),
      onDrop: (reason) => {
        metrics.radioRxDropped.inc({ reason });
        if (reason === 'decode_error' || reason === 'ifm_malformed' || reason === 'trailing_bytes') metrics.decodeErrors.inc({ source: 'radio' });
      },
    });
    const bsms = new BsmMatcher();
    let radioRxPort: number | undefined;
    if (radioRx) {
      try {
        radioRxPort = (await radioRx.start()).port;
      } catch (e) {
        throw new Error(`radio.receive.listen ${cfg.radio.receive.listen}: ${(e as Error).message}`);
      }
      closers.push(() => radioRx.close());
      radioRx.onMessage((m) => {
        // A bare frame (no SPDU) is unsigned: counted, and passed on marked or dropped by security.receive.unverified.
        if (m.security === undefined && spdu && !security.acceptUnsigned()) return;
        const verdict = m.security === undefined ? 'unsigned' : m.security.verified ? 'verified' : `unverified:${m.security.reason ?? ''}`;
        // Only a verified BSM (or any, without verification configured) names a road user in the RSM.
        if (m.type === 'bsm' && (verdict === 'verified' || !spdu)) {
          const f = m.value as { bsmFrame?: unknown; value?: unknown };
          bsms.hear(f.bsmFrame ?? f.value, m.receivedAt);
        }
        metrics.messages.inc({ type: m.type, path: 'radio_rx' });
        rates.rx.add(m.type, Date.now());
        submit(m.type, m.bytes, m.receivedAt, senderOf(m.type, m.value), { security: verdict, ...(m.security?.signer ? { signer: m.security.signer } : {}) });
        if (tails.size) tail({ dir: 'rx', type: m.type, atMs: m.receivedAt, value: m.value, security: verdict });
        if (records.size) record({ t: m.receivedAt, kind: 'radio', data: Buffer.from(m.bytes).toString('base64') });
      });
    }

    // Perception and the applications.
    const perception = await perceptionFromConfig(cfg, log.child({ component: 'perception' }));
    // The signal states of the SPAT (and of the event detector): the fixed-time plan or a signal controller.
    const signals = await signalControllerFromConfig(cfg.applications.spat);
    if (signals) {
      try {
        await signals.start();
      } catch (e) {
        throw new Error(`signal controller (applications.spat.controller, ${signals.health().source}): ${(e as Error).message}`);
      }
      closers.push(() => signals.close());
    }
    let laneMap: LaneMap | undefined;
    if (cfg.applications.map.file) laneMap = loadLaneMap(cfg.applications.map.file);
    // RSI events detected from the tracks on the lane map (stopped vehicle, road user in the roadway, wrong way,
    // queues, speeding), updated at 10 Hz with the signal states the RSU broadcasts.
    const family = isJ2735(cfg.messageSet) ? 'j2735' : 'csae';
    const codes = Object.fromEntries(Object.entries(cfg.applications.rsi.detectedEventCodes).map(([k, c]) => [k, { [family]: c }]));
    const detector = laneMap ? new EventDetector(laneMap, { codes }) : undefined;
    if (detector) {
      const t = setInterval(() => {
        const now = Date.now();
        try {
          // No signal states while the controller is silent; a dark signal head shows no light.
          const snap = signals?.snapshot(now);
          const lights = snap ? new Map(snap.phases.filter((p) => p.display !== 'dark').map((p) => [p.id, p.light] as const)) : undefined;
          detector.update(perception.tracks(now), now, { signals: lights });
        } catch (e) {
          log.warn(`event detection failed: ${(e as Error).message}`);
        }
      }, 100);
      t.unref();
      closers.push(() => clearInterval(t));
    }
    const ingest = new SensorIngest(
      ingestOptionsFromConfig(cfg, {
        logger: log.child({ component: 'ingest' }),
        onDrop: (what, reason) => {
          if (what === 'object') metrics.sensorObjectsDropped.inc({ reason });
          else if (reason === 'decode_error' || reason === 'bad_field') metrics.decodeErrors.inc({ source: 'sensor' });
        },
      }),
    );
    const staleMs = opts.perceptionStaleMs ?? 1000;
    const enabledSensors = cfg.sensors.filter((s) => s.enabled).map((s) => s.id);

    const scheduler = new Scheduler({
      cfg,
      codec,
      now: Date.now,
      // A road user the sensors see that also broadcasts BSMs carries its BSM id in the RSM.
      tracks: (at) => {
        const tracks = perception.tracks(at);
        const ids = bsms.match(tracks, at);
        return ids.size ? tracks.map((t) => (ids.has(t.id) ? { ...t, bsmId: ids.get(t.id) } : t)) : tracks;
      },
      perceptionInvalid: (now) => {
        const st = ingest.stats().sensors;
        const fresh = enabledSensors.filter((id) => {
          const age = st[id]?.lastFrameAgeMs;
          return age !== null && age !== undefined && age <= staleMs;
        });
        if (!fresh.length) return 'perception_stale';
        void now;
        return undefined;
      },
      clockTrusted: () => time.health.clockTrusted(),
      signals,
      mapFrame: laneMap ? (msgCnt, at) => buildMap(laneMap!, { std: cfg.messageSet, msgCnt, atMs: at, intersection: cfg.applications.spat.intersection }) : undefined,
      // Detected events carry their reference path and the MAP links of their lanes (node ids of the MAP sent).
      rsiEvents: () => [...rsiEvents.active(Date.now()), ...(detector?.rsiEvents(cfg.messageSet, { intersection: cfg.applications.spat.intersection }) ?? [])],
      rsiSigns: () => rsiEvents.activeSigns(Date.now()),
      send: (m: Outgoing) => {
        const sent = radioTx ? radioTx.send({ type: m.type, bytes: m.bytes }) : false;
        const now = Date.now();
        if (sent) {
          metrics.messages.inc({ type: m.type, path: 'radio_tx' });
          rates.tx.add(m.type, now);
          if (m.triggerMs !== undefined) {
            // The frame's datagram was handled synchronously up to here: time since it reached the ingest.
            const ms = performance.now() - lastRawAt;
            metrics.frameToRadio.observe(ms / 1000);
            latency.add(ms);
          }
        }
        submit(m.type, m.uper, m.atMs, undefined, { security: m.signed ? 'signed' : 'unsigned' });
        if (tails.size) tail({ dir: 'tx', type: m.type, atMs: m.atMs, value: m.frame, security: m.signed ? 'signed' : 'unsigned' });
      },
      sign: (type, payload, atMs) => security.sign(type, payload, atMs),
      withheld: (type, reason) => metrics.withheld.inc({ type, reason }),
      participantsLeftOut: (reason, n) => metrics.participantsLeftOut.inc({ reason }, n),
      log: log.child({ component: 'scheduler' }),
    });

    ingest.onFrame((f) => {
      try {
        perception.push(f);
      } catch (e) {
        log.error(`perception failed on a frame of ${f.sensorId}: ${(e as Error).message}`);
        return;
      }
      scheduler.onFrameProcessed(f.receivedMs);
    });
    let lastRawAt = 0;
    ingest.onRaw((data, format) => {
      lastRawAt = performance.now();
      if (records.size) record({ t: Date.now(), kind: 'sensor', format, data: typeof data === 'string' ? data : Buffer.from(data).toString('base64') });
    });
    const ingestPorts = await ingest.start();
    closers.push(() => ingest.close());
    scheduler.start();
    closers.push(() => scheduler.stop());

    // Sensors whose detections perception drops, judged over a sliding window sampled once a second.
    const sensorDrops = new SensorDropWatch();
    // And messages that fail on the way out (encoding, the radio), likewise.
    const output = new TotalsWindow();
    const sampleSensors = () => {
      const now = Date.now();
      sensorDrops.sample(now, (perception.stats() as PerceptionStats).perSensor ?? {});
      const totals: Record<string, number> = {};
      for (const [k, v] of Object.entries(scheduler.stats().withheld)) if (k.endsWith(':encode_error')) totals[`encode_error:${k.split(':')[0]}`] = v;
      const tx = radioTx?.stats();
      if (tx) {
        totals.radio_sent = tx.sent.datagrams;
        for (const [k, v] of Object.entries(tx.errors)) totals[`radio_error:${k}`] = v;
      }
      output.sample(now, totals);
    };
    sampleSensors();
    const healthTimer = setInterval(sampleSensors, 1000);
    healthTimer.unref();
    closers.push(() => clearInterval(healthTimer));

    // Metrics read the components when scraped.
    metrics.info('rsu_build_info', 'What is running: package version, git commit, Node, codec compiler, fusion model SHA-256 (always 1)', {
      version: build.version,
      commit: build.commit ?? '',
      node: build.node,
      message_sets: build.messageSets.join(','),
      codec_compiler: build.codecCompiler,
      model_sha256: 'sha256' in build.model ? build.model.sha256 : '',
    });
    metrics.gauge('rsu_perception_fusion_fallback', 'The learned fusion runs rule-based because its model could not be loaded (1) or not (0)', () => (perception.mode.includes('fallback') ? 1 : 0));
    metrics.gauge('rsu_tracks', 'Confirmed tracks', () => (perception.stats() as { confirmedTracks?: number }).confirmedTracks ?? 0);
    // Every configured sensor has its age series; +Inf until its first frame (an alert on the age fires).
    metrics.gauge('rsu_sensor_last_frame_age_seconds', 'Since the last accepted frame, per sensor (+Inf: none yet)', () => {
      const out: Record<string, number> = Object.fromEntries(cfg.sensors.filter((s) => s.enabled).map((s) => [s.id, Infinity]));
      for (const [id, s] of Object.entries(ingest.stats().sensors)) out[id] = s.lastFrameAgeMs === null ? Infinity : s.lastFrameAgeMs / 1000;
      return out;
    }, 'sensor');
    metrics.counter('rsu_sensor_frames_dropped_total', 'Frames dropped by ingest, per reason', () => {
      const out: Record<string, number> = {};
      const st = ingest.stats();
      for (const s of [...Object.values(st.sensors).map((x) => x.framesDropped), st.unattributed]) for (const [k, v] of Object.entries(s)) out[k] = (out[k] ?? 0) + (v ?? 0);
      return out;
    }, 'reason');
    metrics.counter('rsu_sensor_detections_dropped_total', 'Detections perception dropped, per sensor', () => {
      const out: Record<string, number> = {};
      for (const [id, s] of Object.entries((perception.stats() as PerceptionStats).perSensor ?? {})) out[id] = s.detections - s.used;
      return out;
    }, 'sensor');
    metrics.gauge('rsu_sensor_healthy', 'The sensor is healthy (1), or perception dropped 90 % or more of its detections over the last 10 s (0)', () => {
      const out: Record<string, number> = {};
      for (const [id, h] of Object.entries(sensorDrops.health())) out[id] = h.healthy ? 1 : 0;
      return out;
    }, 'sensor');
    metrics.counter('rsu_radio_rx_decode_errors_total', 'Received datagrams that did not decode', () => radioRx?.stats().errors.decode_error ?? 0);
    if (uplink) {
      const by = (f: (l: LinkHealth) => number | null) => () => Object.fromEntries(uplink!.links().flatMap((l) => (f(l) === null ? [] : [[l.link, f(l)!]])));
      metrics.gauge('rsu_uplink_connected', 'The broker link is connected (1) or not (0)', by((l) => (l.connected ? 1 : 0)), 'link');
      metrics.gauge('rsu_uplink_backlog_records', 'Records the link has not delivered yet (in the spool)', by((l) => l.backlog), 'link');
      metrics.gauge('rsu_uplink_oldest_undelivered_seconds', 'Age of the oldest record the link has not delivered (absent when none waits)', by((l) => l.oldestUndeliveredS), 'link');
      metrics.counter('rsu_uplink_errors_total', 'Connection failures, lost connections and failed deliveries, per link', by((l) => l.errors), 'link');
      // rsu_spool_dropped_records_total{reason} and the spool's other counters
      registerUplinkMetrics(metrics, uplink);
    }
    if (signals) metrics.gauge('rsu_signal_controller_connected', 'The signal controller has a current state (1) or not (0)', () => (signals.health().connected ? 1 : 0));
    metrics.gauge(
      'rsu_certificate_expiry_seconds',
      'Seconds until a certificate expires (negative: expired): the RSU signing certificate (rsu) and the uplinks\' TLS client certificates (mqtt-tls, kafka-tls); absent without one',
      () => security.certificateExpirySeconds(),
      'certificate',
    );
    metrics.counter('rsu_spdu_signed_total', 'Messages sent as signed SPDUs, per type', () => security.status().signed, 'type');
    metrics.counter('rsu_spdu_sign_failures_total', 'Messages not signed, per reason (withheld, or sent unsigned by security.whenUnusable)', () => security.status().signFailures, 'reason');
    metrics.counter('rsu_spdu_signatures_total', 'Signatures made, per source: precomputed (from the key\'s nonce pool, ~3 µs) or direct (the pool was empty or off)', (): Record<string, number> => {
      const p = security.status().signPool;
      return p ? { precomputed: p.pooled, direct: p.direct } : {};
    }, 'source');
    metrics.counter('rsu_spdu_verified_total', 'Received SPDUs that verified', () => security.status().receive.verified);
    metrics.counter('rsu_spdu_unverified_total', 'Received messages that did not verify, per reason (unsigned included)', () => security.status().receive.unverified, 'reason');
    metrics.counter('rsu_certificate_requests_total', 'Receivers\' certificate requests (inlineP2pcdRequest): SPDUs heard with one (heard), naming this RSU\'s certificate (own) or an issuer (issuer), issuer certificates sent (sent)', () => security.status().certificateRequests, 'kind');
    metrics.gauge('rsu_signing_active', 'Outgoing messages are signed (1) or not (0: off, no certificate, or withheld)', () => (security.status().signing === 'signed' ? 1 : 0));
    metrics.gauge('rsu_alarms', 'Alarms active (rsu status lists them)', () => status().alarms.length);
    // Absent while the offset is unknown (no fix yet, or source system): 0 would claim a perfect clock.
    metrics.gauge('rsu_clock_offset_seconds', 'System clock minus GNSS time, by time source (absent while unknown)', () => {
      const off = time.health.snapshot().offsetMs;
      return off === null || off === undefined ? {} : { [cfg.time.source]: off / 1000 };
    }, 'source');
    let metricsPort: number | undefined;
    if (cfg.metrics.port > 0) {
      const m = await metrics.serve(cfg.metrics.host, cfg.metrics.port).catch((e: Error) => {
        throw new Error(`metrics.host/metrics.port ${cfg.metrics.host}:${cfg.metrics.port}: ${e.message}`);
      });
      metricsPort = m.port;
      closers.push(() => m.close());
    }

    let recordFile: WriteStream | undefined;
    if (opts.recordTo) {
      recordFile = createWriteStream(opts.recordTo, { flags: 'a' });
      const w = recordFile;
      records.add((e) => w.write(JSON.stringify(e) + '\n'));
      closers.push(() => new Promise<void>((resolve) => w.end(() => resolve())));
    }

    const status = (): DaemonStatus => {
      const now = Date.now();
      const th = time.health.snapshot();
      const alarms: string[] = [];
      if (!time.health.clockTrusted()) alarms.push('clock offset beyond the bound: SPAT and RSM withheld');
      const invalid = scheduler.stats().withheld;
      if (Object.keys(invalid).some((k) => k.startsWith('rsm:perception_stale'))) {
        const st = ingest.stats().sensors;
        const stale = enabledSensors.filter((id) => (st[id]?.lastFrameAgeMs ?? Infinity) > staleMs);
        if (stale.length === enabledSensors.length) alarms.push('no fresh sensor frames: RSM withheld');
      }
      const sensorHealth = sensorDrops.health();
      alarms.push(...sensorAlarms(sensorHealth));
      alarms.push(...outputAlarms(output.growth(), radioTx?.stats().lastError?.message));
      if (uplink) alarms.push(...uplinkAlarms(uplink.links(now), cfg.uplink.alarms, now));
      // (J2735 mode leaves vehicles out by design: counted, not alarmed.)
      const sst = scheduler.stats();
      const recent = (['ids_exhausted', 'encode_error'] as const).filter((r) => now - (sst.lastLeftOutMs[r] ?? -Infinity) < 10_000);
      if (recent.length) alarms.push(`RSM left tracked road users out in the last 10 s: ${recent.map((r) => `${r.replace(/_/g, ' ')} (${sst.participantsLeftOut[r]} since start)`).join(', ')}`);
      const sh = signals?.health();
      if (signals && sh && cfg.applications.spat.enabled && signals.snapshot(now) === undefined) {
        const why = sh.lastUpdateAgeMs === undefined ? 'no state received yet' : `last state ${Math.round(sh.lastUpdateAgeMs)} ms ago`;
        alarms.push(`${SIGNAL_SILENT_ALARM} (${sh.source}: ${why}${sh.lastError ? `; last error: ${sh.lastError.message}` : ''})`);
      }
      if (uplink) alarms.push(...uplink.alarms(now));
      alarms.push(...security.alarms());
      return {
        rsuId: cfg.rsu.id,
        messageSet: cfg.messageSet,
        startedAt: new Date(startedMs).toISOString(),
        uptimeS: Math.round((now - startedMs) / 1000),
        time: th,
        sensors: ingest.stats(),
        perception: { mode: perception.mode, ...(perception.stats() as object) },
        signal: sh ? { kind: cfg.applications.spat.controller.kind, ...sh } : undefined,
        events: detector ? { active: detector.active().map((e) => ({ id: e.id, kind: e.kind, since: e.startMs })), stats: detector.stats() } : undefined,
        messages: {
          radioTxPerS: rates.tx.perS(now),
          uplinkPerS: (u.mqtt.enabled ? rates.up.mqtt! : rates.up.kafka!).perS(now),
          radioRxPerS: rates.rx.perS(now),
          uplinkByLinkPerS: Object.fromEntries((['mqtt', 'kafka'] as const).filter((l) => u[l].enabled).map((l) => [l, rates.up[l]!.perS(now)])),
        },
        scheduler: scheduler.stats(),
        frameToRadio: latency.summary(),
        radio: { tx: radioTx?.stats(), rx: radioRx?.stats() },
        uplink: uplink?.stats(),
        sensorHealth,
        statusSocket: statusSocket?.stats(),
        security: security.status(),
        alarms,
        build,
        recentErrors: [...recentErrors],
      };
    };

    let info: DaemonInfo | undefined;
    let statusSocket: { stats: () => StatusServerStats } | undefined;
    const daemon: Daemon = {
      config: cfg,
      ingestPorts,
      radioRxPort,
      metricsPort,
      status,
      latency: (since) => latency.summary(since),
      onTail: (fn) => (tails.add(fn), () => tails.delete(fn)),
      onRecord: (fn) => (records.add(fn), () => records.delete(fn)),
      laneMap,
      info: () => (info ??= daemonInfo(cfg, laneMap, new Date(startedMs).toISOString())),
      reload: (next) => {
        const changed = configChanges(cfg, next);
        const applied = changed.filter((k) => RELOADABLE_KEYS.includes(k));
        const needRestart = changed.filter((k) => !RELOADABLE_KEYS.includes(k));
        if (applied.includes('logging.level')) log.level = cfg.logging.level = next.logging.level;
        for (const app of ['rsm', 'spat', 'map', 'rsi'] as const) cfg.applications[app].enabled = next.applications[app].enabled;
        if (applied.some((k) => k.startsWith('applications.rsi.'))) {
          cfg.applications.rsi.events = next.applications.rsi.events;
          cfg.applications.rsi.signs = next.applications.rsi.signs;
          rsiEvents.setConfigured(cfg.applications.rsi.events, cfg.applications.rsi.signs);
        }
        cfg.uplink.alarms = { ...next.uplink.alarms };
        return { applied, needRestart };
      },
      inject: (e) => {
        if (e.kind === 'sensor') ingest.ingest(e.format === 'json' ? e.data : Buffer.from(e.data, 'base64'), e.format === 'json' ? 'json' : 'protobuf');
        else if (radioRx) radioRx.process(Buffer.from(e.data, 'base64'));
      },
      stop,
    };

    if (opts.socketPath !== false) {
      const s = await serveStatus(opts.socketPath ?? defaultSocketPath(), daemon, {
        onReject: (reason) => metrics.statusRejected.inc({ reason }),
        onDrop: (stream, n) => metrics.statusDropped.inc({ stream }, n),
      });
      statusSocket = s;
      closers.push(() => s.close());
    }
    log.info({ rsuId: cfg.rsu.id, messageSet: cfg.messageSet, ingest: ingestPorts, radioRxPort, metricsPort, perception: perception.mode }, 'rsu daemon running');
    return daemon;
  } catch (e) {
    await stop();
    throw e;
  }
}

export type { RsiEvent };
