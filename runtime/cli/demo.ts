// `rsu demo` (npm start): the daemon on a simulated intersection, with no config and no external service. The
// simulator sends detections to the real UDP ingest; an embedded MQTT broker takes the uplink; the radio output
// goes to a local UDP sink that verifies (IEEE 1609.2) and decodes what arrives, so the live view shows what a
// receiver would get. Everything is signed with a THROWAWAY demo certificate made at the first start.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadMessageSet, type MessageSet } from '../../codecs/index.js';
import { messagePsids } from '../../hw/radio/index.js';
import { DetectionSender } from '../../hw/sensors/index.js';
import { createCryptoBackend, MemoryTrustStore, certificateInfo } from '../security/index.js';
import { ensureDemoCertificates } from '../security/demo-certs.js';
import type { Curve } from '../security/types.js';
import { securityCodec } from '../security/rsu-security.js';
import { SpduVerifier } from '../security/spdu.js';
import { readFileSync } from 'node:fs';
import { isJ2735, typeOfFrame } from '../apps/messages.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { defaultConfig, MESSAGE_SETS, redactUrl, type MessageSet as StdName, type RsuConfig } from '../config/index.js';
import { startDaemon, type Daemon } from '../daemon.js';
import { demoLaneMapPath, loadLaneMap, type LaneMap } from '../map/index.js';
import { runSimulation } from '../sim/index.js';
import { defaultSocketPath } from '../status.js';
import { renderStatus, untilStopped, useAsn1Dir } from './daemon-cmds.js';
import { UsageError, type Io } from './io.js';
import { paint, table, useColor } from './term.js';

/** The demo's --mqtt: a broker URL as the config takes it (uplink.mqtt.url). */
function checkMqttUrl(url: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    /* below */
  }
  if (!u || !['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'].includes(u.protocol) || !u.hostname)
    throw new UsageError(`--mqtt ${url}: expected a broker URL such as mqtt://HOST:1883 (mqtt, mqtts, tcp, ssl, ws, wss)`);
}

export const DEMO_HELP = `usage: npm start -- [--duration S] [--std S] [--asn1 DIR] [--seed N] [--fusion onnx|plain] [--mqtt URL] [--radio udp://HOST:PORT] [--kafka BROKERS]
The RSU on a simulated intersection: two lidars and three cameras placed with the S110 calibrations, cars, buses,
cyclists and pedestrians following the lanes and the signal plan. Ctrl-C stops it.
  --duration S   stop by itself after S seconds
  --std S        message set: ${MESSAGE_SETS.join(' | ')} (default csae2020)
  --asn1 DIR     the deployer's J2735 modules (or RSU_J2735_ASN1_DIR)
  --mqtt URL     publish to this MQTT broker instead of the embedded one
  --radio udp://HOST:PORT   send the radio output (udp-raw) there instead of the local sink
  --kafka BROKERS           also publish to Kafka (HOST:PORT,...)
  --seed N       simulation seed (default 1)
  --fusion F     onnx (the learned fusion, default) | plain (rule-based: boards where onnxruntime cannot run)
  --curve C      the demo certificate's algorithm: sm2 (CSAE default) | nistp256 (J2735 default; also where the
                 SM2 addon is not built, e.g. arm64 under qemu)`;

export async function demoCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      std: { type: 'string' },
      asn1: { type: 'string' },
      seed: { type: 'string', default: '1' },
      mqtt: { type: 'string' },
      radio: { type: 'string' },
      kafka: { type: 'string' },
      fusion: { type: 'string' },
      curve: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return io.out(DEMO_HELP), 0;
  const duration = values.duration !== undefined ? Number(values.duration) : undefined;
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration ${values.duration}: expected seconds > 0`);
  if (values.std && !MESSAGE_SETS.includes(values.std as StdName)) throw new UsageError(`--std ${values.std}: expected one of ${MESSAGE_SETS.join(', ')}`);
  if (values.mqtt !== undefined) checkMqttUrl(values.mqtt);
  if (values.radio !== undefined && !/^(udp:\/\/)?[^:/\s]+:\d{1,5}$/.test(values.radio)) throw new UsageError(`--radio ${values.radio}: expected udp://HOST:PORT`);
  useAsn1Dir(values.asn1);

  const fusion = values.fusion;
  if (fusion !== undefined && fusion !== 'onnx' && fusion !== 'plain') throw new UsageError(`--fusion ${fusion}: expected onnx or plain`);
  const configure = fusion ? (c: RsuConfig) => void (c.perception.fusion = fusion) : undefined;
  const curve = values.curve;
  if (curve !== undefined && curve !== 'sm2' && curve !== 'nistp256') throw new UsageError(`--curve ${curve}: expected sm2 or nistp256`);
  const demo = await startDemo({ std: values.std as StdName | undefined, seed: Number(values.seed), mqtt: values.mqtt, radio: values.radio, kafka: values.kafka, curve, configure, onNote: (m) => io.err(m) });
  const { cfg, daemon, heard, logFile, socketPath, mqttCredentialsFile } = demo;
  const cleanups: (() => Promise<void> | void)[] = [() => demo.stop()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const tty = !!process.stdout.isTTY;
    const p = paint(useColor());
    io.out(
      `${p.bold('rsu demo')}: ${cfg.messageSet}, ingest udp://127.0.0.1:${daemon.ingestPorts[0]!.port}, radio udp://${cfg.radio.udpRaw.target}, mqtt ${redactUrl(cfg.uplink.mqtt.url)}` +
        `${mqttCredentialsFile ? ` (credentials: ${mqttCredentialsFile})` : ''}` +
        `${socketPath ? `, status: rsu status / rsu tail / rsu view` : ''}, log ${logFile}. ${duration ? `Stops after ${duration} s.` : 'Ctrl-C stops it.'}`,
    );
    const t0 = Date.now();
    const view = setInterval(() => {
      const st = daemon.status();
      const secs = (Date.now() - t0) / 1000;
      // What the radio actually did: datagrams the kernel took, and failures.
      const tx = (st.radio.tx ?? {}) as { sent?: { datagrams: number }; errors?: Record<string, number>; lastError?: { message: string } };
      const txErrors = Object.values(tx.errors ?? {}).reduce((a, b) => a + b, 0);
      const radioLine = values.radio
        ? `radio: ${tx.sent?.datagrams ?? 0} datagrams sent to ${cfg.radio.udpRaw.target}${txErrors ? p.red(`, ${txErrors} failed${tx.lastError ? ` (${tx.lastError.message})` : ''}`) : ''}`
        : `${p.bold('radio receiver')} (verified, decoded): ${Object.entries(heard).map(([k, v]) => `${k.toUpperCase()} ${v} (${(v / secs).toFixed(1)}/s)`).join('  ')}  ${p.green(`verified ${demo.verified()}`)}${Object.keys(demo.unverified).length ? p.red(`  NOT verified ${Object.entries(demo.unverified).map(([k, v]) => `${k} ${v}`).join(', ')}`) : ''}${demo.undecodable() ? p.red(`  undecodable ${demo.undecodable()}`) : ''}`;
      if (tty) io.out(`\x1b[2J\x1b[H${renderStatus(st, useColor())}\n${radioLine}\n${p.dim(`Ctrl-C stops the demo. ${secs.toFixed(0)} s`)}`);
      else if (Math.round(secs) % 5 === 0) io.out(`${secs.toFixed(0)} s: tracks ${(st.perception as { confirmedTracks?: number }).confirmedTracks ?? 0}; ${radioLine}`);
    }, 1000);
    cleanups.push(() => clearInterval(view));

    const why = await untilStopped(duration);
    const st = daemon.status();
    const secs = (Date.now() - t0) / 1000;
    await cleanup();
    io.out(`\nrsu demo stopped (${why}) after ${secs.toFixed(1)} s. Its log stays in ${logFile}.`);
    const label = (t: string) => (t === 'rsm' && cfg.messageSet.startsWith('j2735') ? 'PSM' : t === 'rsi' && cfg.messageSet.startsWith('j2735') ? 'TIM' : t.toUpperCase());
    const rows = ['rsm', 'spat', 'map', 'rsi'].map((t) => [label(t), String(heard[t] ?? 0), ((heard[t] ?? 0) / secs).toFixed(1)]);
    if (!values.radio) {
      io.out(table(['radio message', 'received', 'per second'], rows));
      const total = Object.values(heard).reduce((a, b) => a + b, 0);
      io.out(`signed and verified: ${demo.verified()} of ${total} datagrams (IEEE 1609.2, ${demo.curve === 'nistp256' ? 'ECDSA P-256' : 'SM2/SM3'}, demo certificate in ${demo.certificates.dir})${Object.keys(demo.unverified).length ? `; NOT verified: ${JSON.stringify(demo.unverified)}` : ''}`);
    }
    const up = st.uplink as { mqtt?: { acked: number; pending: number } } | undefined;
    io.out(`uplink: ${up?.mqtt?.acked ?? 0} records acknowledged by the broker, ${up?.mqtt?.pending ?? 0} waiting; tracks at the end: ${(st.perception as { confirmedTracks?: number }).confirmedTracks ?? 0} (fusion: ${(st.perception as { mode?: string }).mode ?? '?'})`);
    return demo.undecodable() || Object.keys(demo.unverified).length ? 1 : 0;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

export interface DemoOptions {
  std?: StdName;
  seed?: number;
  /** Publish to this MQTT broker instead of an embedded one. */
  mqtt?: string;
  /** Send the radio output (udp-raw) to udp://HOST:PORT instead of a local decoding sink. */
  radio?: string;
  kafka?: string;
  /** The demo certificate's algorithm; default SM2 for the CSAE sets, ECDSA P-256 for J2735. */
  curve?: Curve;
  /** Status socket (default defaultSocketPath(); without one when another daemon holds it); false: none. */
  socketPath?: string | false;
  /** Adjust the demo configuration before the daemon starts (tests, `rsu view --demo`). */
  configure?: (cfg: RsuConfig) => void;
  /** Told when the demo runs without a status socket because another daemon holds it. */
  onNote?: (msg: string) => void;
}

export interface Demo {
  cfg: RsuConfig;
  daemon: Daemon;
  laneMap: LaneMap;
  /** The status socket the daemon serves, or false. */
  socketPath: string | false;
  logFile: string;
  /** The embedded broker's credentials for this run (JSON: url, username, password; mode 0600), when it runs. */
  mqttCredentialsFile?: string;
  /** Radio datagrams the local sink decoded, per message type (empty with `radio`). */
  heard: Record<string, number>;
  /** Of them, signed SPDUs the sink verified against the demo's trust anchor; and those that failed, by reason. */
  verified(): number;
  unverified: Record<string, number>;
  /** The demo certificate directory (security.dir) and whether this start made it. */
  certificates: { dir: string; made: boolean };
  /** The algorithm everything is signed with. */
  curve: Curve;
  undecodable(): number;
  /** Stop the simulation, the daemon, the sink and the broker, and remove the spool (the log stays). */
  stop(): Promise<void>;
}

/** The demo setup without its terminal view: embedded broker, decoding radio sink, daemon, simulator. */
export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.messageSet = opts.std ?? 'csae2020';
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.applications.map = { ...cfg.applications.map, enabled: true, file: cfg.applications.map.file ?? demoLaneMapPath() };
  // Road signs as an operator would configure them (RSI RTSData / J2735 TIM), on the air from the start; events
  // detected from the tracks (queues, stopped vehicles, ...) join them when they happen.
  const ref = cfg.rsu.reference;
  cfg.applications.rsi = {
    ...cfg.applications.rsi,
    enabled: true,
    signs: [
      { id: 1, kind: 'speed-limit', speedLimitKmh: 50, lat: ref.lat + 0.0006, lon: ref.lon, radiusM: 80, priority: 3, description: 'speed limit 50 km/h' },
      { id: 2, kind: 'road-works', lat: ref.lat - 0.0005, lon: ref.lon + 0.0004, radiusM: 40, priority: 5, description: 'road works on the south-east corner' },
    ],
  };
  cfg.metrics.port = 0;
  const work = mkdtempSync(join(tmpdir(), 'rsu-demo-'));
  cfg.uplink.spool.dir = join(work, 'spool');
  const logFile = join(work, 'rsu.log');

  // The log outlives the demo (its path was printed); the spool does not.
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(cfg.uplink.spool.dir, { recursive: true, force: true })];
  let stopped = false;
  const cleanup = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of cleanups.reverse()) await c();
  };
  try {
    let broker: EmbeddedBroker | undefined;
    if (opts.mqtt) cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url: opts.mqtt, embeddedBroker: false };
    else {
      // Credentials made for this run, in the owner-only work directory; the broker is this process, so its
      // identity needs no certificate for the downlinks (which may still change only the safe keys).
      broker = await startEmbeddedBroker({ credentialsFile: join(work, 'mqtt-credentials.json') });
      cleanups.push(() => broker!.close());
      cfg.uplink.mqtt = {
        ...cfg.uplink.mqtt,
        enabled: true,
        url: broker.url,
        embeddedBroker: false,
        version: '3.1.1',
        username: broker.credentials.username,
        password: broker.credentials.password,
        downlinks: { ...cfg.uplink.mqtt.downlinks, requireVerifiedBroker: false },
      };
    }
    if (opts.kafka) cfg.uplink.kafka = { ...cfg.uplink.kafka, enabled: true, brokers: opts.kafka.split(',') };

    // The radio side: a local sink that verifies and decodes every datagram, unless the output goes elsewhere.
    const ms = (await loadMessageSet(cfg.messageSet)) as MessageSet;
    const heard: Record<string, number> = {};
    const unverified: Record<string, number> = {};
    let undecodable = 0;
    let verified = 0;
    cfg.radio.mode = 'udp-raw';
    // Signed with a THROWAWAY certificate: ECDSA P-256 in J2735 mode, SM2 in CSAE mode. J2735 assigns the PSM no
    // PSID here, so the demo gives it a private-range one (a deployment configures its own).
    if (isJ2735(cfg.messageSet) && cfg.radio.udpRaw.psids.RSM === undefined) cfg.radio.udpRaw.psids.RSM = 0xeffffffe;
    const psids = messagePsids(cfg.radio, cfg.messageSet);
    const curve: Curve = opts.curve ?? (isJ2735(cfg.messageSet) ? 'nistp256' : 'sm2');
    const certs = await ensureDemoCertificates(curve, (['spat', 'map', 'rsm', 'rsi'] as const).map((t) => psids[t]).filter((p): p is number => p !== undefined));
    if (certs.made) opts.onNote?.(`made THROWAWAY demo certificates in ${certs.dir} (for the demo only)`);
    cfg.security = { ...cfg.security, enabled: true, dir: certs.dir };
    const spduCodec = await securityCodec();
    const backend = createCryptoBackend();
    const anchorBytes = readFileSync(certs.anchor);
    const trust = new MemoryTrustStore(backend, [certificateInfo(spduCodec, backend, spduCodec.decode('Certificate', anchorBytes), anchorBytes)]);
    const sinkVerifier = new SpduVerifier(spduCodec, backend, trust);
    if (opts.radio) cfg.radio.udpRaw.target = opts.radio.replace(/^udp:\/\//, '');
    else {
      const sink = createSocket('udp4');
      await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
      cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
      sink.on('message', (b) => {
        try {
          // A receiver that requires signatures: SN-VERIFY first, the MessageFrame inside decoded after.
          const r = sinkVerifier.verify(new Uint8Array(b));
          if (r.ok) verified++;
          else unverified[r.reason] = (unverified[r.reason] ?? 0) + 1;
          const frame = r.ok ? r.payload : (r.payload ?? new Uint8Array(b));
          const t = typeOfFrame(cfg.messageSet, ms.decode('MessageFrame', frame)) ?? 'other';
          heard[t] = (heard[t] ?? 0) + 1;
        } catch {
          undecodable++;
        }
      });
      cfg.radio.udpRaw.target = `127.0.0.1:${sink.address().port}`;
    }

    // Radio receive on a free port, so the demo runs beside a daemon that holds the configured one.
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    cfg.radio.receive.listen = `127.0.0.1:${probe.address().port}`;
    await new Promise<void>((r) => probe.close(() => r()));
    opts.configure?.(cfg);

    let socketPath: string | false = opts.socketPath ?? defaultSocketPath();
    let daemon: Daemon;
    const logger = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: false }));
    try {
      daemon = await startDaemon({ config: cfg, logger, socketPath });
    } catch (e) {
      if (!/another rsu daemon is running/.test((e as Error).message) || opts.socketPath !== undefined) throw e;
      opts.onNote?.(`note: ${(e as Error).message}; this demo runs without a status socket`);
      socketPath = false;
      daemon = await startDaemon({ config: cfg, logger, socketPath });
    }
    cleanups.push(() => daemon.stop());

    const laneMap = loadLaneMap(cfg.applications.map.file!);
    const sender = await DetectionSender.connect(`127.0.0.1:${daemon.ingestPorts[0]!.port}`, { protocol: 'udp' });
    cleanups.push(() => sender.close());
    const abort = new AbortController();
    const sim = runSimulation({ config: cfg, laneMap, seed: opts.seed ?? 1, realtime: true, send: (f) => sender.send(f), signal: abort.signal });
    cleanups.push(async () => {
      abort.abort();
      await sim.catch(() => {});
    });
    return { cfg, daemon, laneMap, socketPath, logFile, mqttCredentialsFile: broker?.credentialsFile, heard, undecodable: () => undecodable, verified: () => verified, unverified, certificates: { dir: certs.dir, made: certs.made }, curve, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
