// The config definition: every key, its type, its default, and the rules that span keys. It validates the file
// (validateConfig) and gives its JSON Schema (configJsonSchema, written to docs/config.schema.json by npm run schema).

import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import {
  DEMO_REFERENCE,
  DEMO_SENSORS,
  defaultSpoolDir,
  DEMO_STATION_FRAME_FILE,
  CALIB_DIR_ENV,
  demoCalibrationDir,
} from './defaults.js';
import {
  arr,
  bool,
  bytes,
  byKind,
  checked,
  custom,
  def,
  errnoText,
  fail,
  fmtPath,
  hostPort,
  isPlainObject,
  newCtx,
  num,
  obj,
  oneOf,
  opt,
  parseWith,
  port,
  record,
  refine,
  req,
  section,
  show,
  splitHostPort,
  str,
  toJsonSchema,
  warn,
  type ConfigIssue,
  type Ctx,
  type Path,
  type Spec,
} from './schema.js';
import { OBJECT_CLASSES } from '../../hw/sensors/frame.js';
import { CalibrationError, loadTumtrafCalibration, loadTumtrafStationFrame } from './tumtraf.js';
import { ISO_TIME, isoTimeMs } from '../apps/clock.js';
import { eventCodeProblem, signCodeProblem } from '../apps/events/codes.js';
import {
  BAUD_RATES,
  CALIBRATION_FORMATS,
  DETECTED_EVENT_KINDS,
  FUSION_MODES,
  INGEST_FORMATS,
  INGEST_PROTOCOLS,
  LOG_LEVELS,
  MESSAGE_SETS,
  RADIO_MESSAGE_TYPES,
  RADIO_HEADERS,
  RADIO_MODES,
  SENSOR_KINDS,
  TIME_SOURCES,
  PHASE_OUTPUT_TYPES,
  EVENT_SOURCES,
  SIGN_KINDS,
  type SecuritySection,
  type SigningPolicy,
  type LatLonPoint,
  type RsiNodeRef,
  type RsiReferenceLink,
  type RsiReferencePath,
  type RsiSign,
  type ActuatedStage,
  type ApplicationsSection,
  type CalibrationRef,
  type CameraIntrinsics,
  type GeoPosition,
  type ImmediateForwardMessage,
  type IngestListener,
  type DetectedEventKind,
  type IngestSection,
  type IntersectionRef,
  type PerceptionSection,
  type TrackerConfig,
  type PhaseMapping,
  type Pose,
  type RadioSection,
  type RsiEvent,
  type RsuConfig,
  type RsuSection,
  type SensorConfig,
  type SensorSource,
  type SignalControllerConfig,
  type SnmpV3User,
  type SpatPhase,
  type TimeSection,
  type TlsFiles,
  type UplinkSection,
  type PasswordRef,
  type MessageSet,
  KAFKA_SASL_MECHANISMS,
  REMOTE_CONFIG_KEYS,
  SAFE_REMOTE_CONFIG_KEYS,
} from './types.js';
import { kafkaPropertyProblem } from './kafka-props.js';
import { redactUrl } from './secrets.js';
import { tlsFileProblem } from '../security/tls-certs.js';

const given = (p: PasswordRef) => p.password !== undefined || p.passwordFile !== undefined || p.passwordEnv !== undefined;

interface ConfigCtx extends Ctx {
  /** No `sensors` key was given: the demo site's sensors, station frame and reference position apply. */
  demoSite: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

const meters = () => num({ unit: 'meters' });
const degrees = (min?: number, max?: number) => num({ unit: 'degrees', min, max });
const ms = (min = 0, max?: number) => num({ unit: 'ms', min, max });
const seconds = (min = 0) => num({ unit: 'seconds', min });
const intervalMs = () => num({ unit: 'ms', int: true, min: 10, max: 60_000 });

/** A file path; relative paths are resolved against the config file's directory. */
const filePath = (): Spec<string> => refine(str(), (v, _p, ctx) => resolve(ctx.baseDir, v), 'a file path');

function checkReadable(file: string | undefined, path: Path, ctx: Ctx): void {
  if (file === undefined) return;
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    fail(ctx, path, `cannot read file ${JSON.stringify(file)}: ${errnoText(e)}`);
  }
}

const geoPosition = obj<GeoPosition>({
  lat: req(degrees(-90, 90)),
  lon: req(degrees(-180, 180)),
  elevation: def(num({ unit: 'meters', min: -500, max: 9000 }), 0),
});

const pose = obj<Pose>({
  x: def(meters(), 0),
  y: def(meters(), 0),
  z: def(meters(), 0),
  roll: def(degrees(-180, 180), 0),
  pitch: def(degrees(-90, 90), 0),
  yaw: def(degrees(-360, 360), 0),
});

// The id fills the 8-byte id of CSAE messages and is an MQTT topic level of the uplink.
const rsuId = str({
  pattern: /^(?:0x(?:[0-9A-Fa-f]{2}){1,8}|[A-Za-z0-9._-]{1,8})$/,
  patternText: 'an RSU id of 1-8 letters, digits, . _ - or 0x and 2-16 hex digits',
});

/** The demo mast stands this far west of the intersection reference, where the S110 cameras look, metres. */
const DEMO_MAST_WEST_M = 20;

function demoStationFrame(ctx: Ctx): unknown {
  const dir = (ctx as ConfigCtx).demoSite ? demoCalibrationDir() : undefined;
  if (!dir) return {};
  try {
    const f = loadTumtrafStationFrame(join(dir, DEMO_STATION_FRAME_FILE));
    return f ? { ...f, x: f.x - DEMO_MAST_WEST_M } : {};
  } catch {
    return {}; // reported where the demo sensors load the same directory
  }
}

const rsuSection = obj<RsuSection>({
  id: def(rsuId, 'RSU00110'),
  name: opt(str()),
  reference: def(geoPosition, (ctx: Ctx) => {
    if (!(ctx as ConfigCtx).demoSite)
      warn(ctx, ['rsu', 'reference'], 'not set: using the demo intersection\'s position; set the surveyed reference point of this site');
    return DEMO_REFERENCE;
  }),
  stationFrame: def(pose, demoStationFrame),
});

// ---------------------------------------------------------------------------------------------------------------
// Sensors

const intrinsics = obj<CameraIntrinsics>({
  width: req(num({ int: true, min: 1, unit: 'pixels' })),
  height: req(num({ int: true, min: 1, unit: 'pixels' })),
  fx: req(num({ min: 0, minExclusive: true, unit: 'pixels' })),
  fy: req(num({ min: 0, minExclusive: true, unit: 'pixels' })),
  cx: req(num({ unit: 'pixels' })),
  cy: req(num({ unit: 'pixels' })),
  distortion: def(
    refine(arr(num(), { max: 8 }), (d, path, ctx) =>
      [0, 4, 5, 8].includes(d.length) ? d : fail(ctx, path, `expected 0, 4, 5 or 8 coefficients (k1 k2 p1 p2 [k3 [k4 k5 k6]]), got ${d.length}`),
    ),
    [],
  ),
});

const calibrationRef = obj<CalibrationRef>({
  format: def(oneOf(CALIBRATION_FORMATS), 'tumtraf'),
  file: req(filePath()),
});

const sensorId = str({ pattern: /^[A-Za-z0-9_.:-]{1,64}$/, patternText: 'a sensor id of 1-64 letters, digits, _ . : -' });

// The peer a sensor's frames must come from: an IP address, with a port for UDP senders that keep theirs.
const sensorSource = refine(str(), (v, path, ctx): SensorSource | undefined => {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(v) ?? (isIP(v) ? [v, v] : /^([^:\s]+):(\d{1,5})$/.exec(v));
  const address = m?.[1];
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!address || !isIP(address) || (port !== undefined && (port < 1 || port > 65535)))
    return fail(ctx, path, `expected the sensor's IP address, ADDR:PORT or [IPv6]:PORT (its frames from anywhere else are dropped), got ${show(v)}`);
  return port === undefined ? { address } : { address, port };
}, 'an IP address or ADDR:PORT');

const sensor = obj<SensorConfig>(
  {
    id: req(sensorId),
    kind: req(oneOf(SENSOR_KINDS)),
    enabled: def(bool, true),
    pose: opt(pose),
    intrinsics: opt(intrinsics),
    calibration: opt(calibrationRef),
    clockOffsetMs: def(num({ unit: 'ms', min: -86_400_000, max: 86_400_000 }), 0),
    latencyMs: def(ms(0, 10_000), 0),
    maxRangeM: def(num({ unit: 'meters', min: 0, minExclusive: true, max: 5000 }), 300),
    source: opt(sensorSource),
    fov: def(degrees(0, 360), 360),
    groundHeightM: opt(num({ unit: 'meters', min: -1000, max: 9000 })),
    groundFromLidar: opt(bool),
    groundStdM: opt(num({ unit: 'meters', min: 0, max: 10 })),
    classes: opt(arr(oneOf(OBJECT_CLASSES), { min: 1 })),
  },
  (s, path, ctx) => {
    if (s.intrinsics && s.kind !== 'camera') fail(ctx, [...path, 'intrinsics'], `only cameras have intrinsics; this sensor is a ${s.kind}`);
    for (const k of ['groundHeightM', 'groundFromLidar', 'groundStdM'] as const)
      if (s[k] !== undefined && s.kind !== 'camera') fail(ctx, [...path, k], `only cameras place detections on the ground; this sensor is a ${s.kind}`);
    if (s.calibration) {
      try {
        const c = loadTumtrafCalibration(s.calibration.file, s.kind);
        for (const w of c.warnings) warn(ctx, [...path, 'calibration'], w);
        s.pose ??= c.pose;
        if (s.kind === 'camera') s.intrinsics ??= c.intrinsics;
      } catch (e) {
        if (!(e instanceof CalibrationError)) throw e;
        fail(ctx, [...path, 'calibration', 'file'], e.message);
        return;
      }
    }
    if (!s.pose) fail(ctx, [...path, 'pose'], 'missing: give the sensor\'s pose, or a calibration file to read it from');
    if (s.kind === 'camera' && !s.intrinsics) fail(ctx, [...path, 'intrinsics'], 'missing: a camera needs intrinsics, or a calibration file to read them from');
  },
);

function demoSensors(ctx: Ctx): unknown {
  const dir = demoCalibrationDir();
  if (!dir) {
    fail(ctx, ['sensors'], `the demo sensors' calibration directory was not found (deploy/calib/tumtraf-s110 of the package, or $${CALIB_DIR_ENV}); set ${CALIB_DIR_ENV} or list sensors in the config`);
    return [];
  }
  return DEMO_SENSORS.map((s) => ({ id: s.id, kind: s.kind, calibration: { format: 'tumtraf', file: join(dir, s.file) } }));
}

const sensors = checked(arr(sensor), (list, path, ctx) => {
  const seen = new Map<string, number>();
  list.forEach((s, i) => {
    const j = seen.get(s.id);
    if (j !== undefined) fail(ctx, [...path, i, 'id'], `duplicate sensor id "${s.id}" (also ${fmtPath([...path, j, 'id'])})`);
    else seen.set(s.id, i);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Ingest

const listener = obj<IngestListener>({
  protocol: req(oneOf(INGEST_PROTOCOLS)),
  listen: req(hostPort({ allowZeroPort: true })),
  format: def(oneOf(INGEST_FORMATS), 'protobuf'),
});

const ingestSection = obj<IngestSection>(
  {
    listeners: def(arr(listener), [
      { protocol: 'udp', listen: '127.0.0.1:5600', format: 'protobuf' },
      { protocol: 'tcp', listen: '127.0.0.1:5600', format: 'protobuf' },
      { protocol: 'tcp', listen: '127.0.0.1:5601', format: 'json' },
    ]),
    maxFutureMs: def(ms(0, 3_600_000), 500),
    maxAgeMs: def(ms(1, 3_600_000), 2000),
    maxObjectsPerFrame: def(num({ int: true, min: 1, max: 65_535 }), 1024),
    maxFrameBytes: def(bytes({ min: 1024 }), '1MiB'),
  },
  (ing, path, ctx) => {
    const used = new Map<string, number>();
    ing.listeners.forEach((l, i) => {
      const p = splitHostPort(l.listen)!.port;
      if (p === 0) return;
      const key = `${p}/${l.protocol}`;
      const j = used.get(key);
      if (j !== undefined) fail(ctx, [...path, 'listeners', i, 'listen'], `port ${key} is also used by ${fmtPath([...path, 'listeners', j])}`);
      else used.set(key, i);
    });
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Time

const timeSection = obj<TimeSection>(
  {
    source: def(oneOf(TIME_SOURCES), 'system'),
    maxClockOffsetMs: def(num({ unit: 'ms', min: 0, minExclusive: true, max: 60_000 }), 100),
    gpsd: section(obj<TimeSection['gpsd']>({ host: def(str(), '127.0.0.1'), port: def(port(), 2947) })),
    nmea: section(
      obj<TimeSection['nmea']>({
        device: def(filePath(), '/dev/ttyUSB0'),
        baud: def(oneOf(BAUD_RATES), 9600),
        configureTty: def(bool, true),
        latencyMs: def(ms(0, 2000), 0),
      }),
    ),
  },
  (t, path, ctx) => {
    if (t.source === 'nmea') {
      try {
        accessSync(t.nmea.device, constants.R_OK);
      } catch (e) {
        warn(ctx, [...path, 'nmea', 'device'], `cannot open ${t.nmea.device} now: ${errnoText(e)}; the daemon keeps retrying`);
      }
    }
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Radio

/** A PSID as a number or a hex string ("0x8002"); must be p-encodable (IEEE 1609.12). */
const psid = custom<number>('a PSID (number or hex string such as "0x8002")', { type: ['integer', 'string'], pattern: '^(0x[0-9a-fA-F]{1,8}|\\d+)$' }, (v, path, ctx) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^0x[0-9a-fA-F]{1,8}$/.test(v) ? parseInt(v, 16) : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) return fail(ctx, path, `expected a PSID as a number or a hex string such as "0x8002", got ${show(v)}`);
    const ok = n <= 0x7f || (n >= 0x8000 && n <= 0xbfff) || (n >= 0xc00000 && n <= 0xdfffff) || (n >= 0xe0000000 && n <= 0xefffffff);
    if (!ok)
      return fail(ctx, path, `PSID 0x${n.toString(16)} is not p-encodable: valid ranges are 0x00-0x7F, 0x8000-0xBFFF, 0xC00000-0xDFFFFF, 0xE0000000-0xEFFFFFFF`);
    return n;
});

const ifmMessage = obj<ImmediateForwardMessage>({
  psid: req(psid),
  channel: def(num({ int: true, min: 172, max: 184 }), 183),
});

const radioSection = obj<RadioSection>({
  mode: def(oneOf(RADIO_MODES), 'udp-raw'),
  udpRaw: section(
    obj<RadioSection['udpRaw']>({
      target: def(hostPort(), '127.0.0.1:15030'),
      header: def(oneOf(RADIO_HEADERS), 'none'),
      psids: def(record(psid, RADIO_MESSAGE_TYPES), {}),
      wsmp: section(
        obj<RadioSection['udpRaw']['wsmp']>({
          channel: opt(num({ int: true, min: 0, max: 200 })),
          txPowerDbm: opt(num({ int: true, min: -128, max: 127 })),
          dataRate: opt(num({ int: true, min: 0, max: 255 })),
        }),
      ),
      dsmpVersion: def(num({ int: true, min: 0, max: 255 }), 1),
    }),
  ),
  immediateForward: section(
    obj<RadioSection['immediateForward']>({
      target: def(hostPort(), '127.0.0.1:1516'),
      priority: def(num({ int: true, min: 0, max: 7 }), 6),
      txMode: def(oneOf(['CONT', 'ALT'] as const), 'CONT'),
      signature: def(bool, false),
      encryption: def(bool, false),
      // SAE J2735 / IEEE 1609.12 PSIDs; RSI goes out as TIM's PSID. No PSID is assigned for RSM here: give one.
      messages: def(record(ifmMessage, RADIO_MESSAGE_TYPES), {
        BSM: { psid: '0x20' },
        SPAT: { psid: '0x8002' },
        MAP: { psid: '0xE0000017' },
        RSI: { psid: '0x8003' },
      }),
    }),
  ),
  receive: section(obj<RadioSection['receive']>({ listen: def(hostPort({ allowZeroPort: true }), '127.0.0.1:15031') })),
});

// ---------------------------------------------------------------------------------------------------------------
// Security (IEEE 1609.2 / YD/T 3957 signing and verification)

const signingPolicy = (certificateEveryMs: number, lifetimeMs?: number) =>
  def(
    obj<SigningPolicy>({
      certificateEveryMs: def(num({ int: true, min: 0, max: 60_000 }), certificateEveryMs),
      lifetimeMs: lifetimeMs === undefined ? opt(num({ int: true, min: 1, max: 86_400_000 })) : def(num({ int: true, min: 1, max: 86_400_000 }), lifetimeMs),
    }),
    {},
  );

// Defaults (README "Signing"): SAE J2945/1's rule for BSM (the full certificate once a second, the digest in between)
// applied to the 10 Hz messages SPAT and RSM, and YD/T 3957's "certificate at least once per second"; MAP and RSI,
// sent once a second, carry the certificate every time. RSI/TIM carries an expiryTime of 60 s: it is re-signed every
// second, so a short lifetime bounds replay (jpo-ode#370's 4 h default is what not to do).
const securitySection = obj<SecuritySection>(
  {
    enabled: def(bool, true),
    dir: opt(filePath()),
    certificate: opt(filePath()),
    key: opt(filePath()),
    chain: opt(arr(filePath(), { max: 8 })),
    anchors: opt(arr(filePath(), { max: 32 })),
    whenUnusable: def(oneOf(['withhold', 'send-unsigned'] as const), 'withhold'),
    warnDays: def(num({ int: true, min: 0, max: 365 }), 30),
    messages: section(
      obj<SecuritySection['messages']>({
        spat: signingPolicy(1000),
        map: signingPolicy(0),
        rsm: signingPolicy(1000),
        rsi: signingPolicy(0, 60_000),
      } as never),
    ),
    receive: section(
      obj<SecuritySection['receive']>({
        unverified: def(oneOf(['drop', 'mark'] as const), 'mark'),
        maxAgeMs: def(num({ int: true, min: 100, max: 3_600_000 }), 30_000),
        maxFutureMs: def(num({ int: true, min: 0, max: 600_000 }), 5_000),
      }),
    ),
  },
  (s, path, ctx) => {
    if (!s.enabled) {
      warn(ctx, [...path, 'enabled'], 'signing is turned off: every message goes out unsigned (an alarm in status)');
      return;
    }
    // No certificate configured: the running daemon says UNSIGNED as an alarm in status (not a config warning, so
    // configs written before signing existed still check clean).
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Uplink

const MQTT_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'];
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1'];
const TLS_SCHEMES = ['mqtts:', 'ssl:', 'wss:'];
const TLS_UPGRADE: Record<string, string> = { 'mqtt:': 'mqtts', 'tcp:': 'ssl', 'ws:': 'wss' };

// Every record leaves the spool on its PUBACK: the uplink is at least once, so QoS 1 is the only level it has.
const mqttQos = refine(num({ int: true }), (v, path, ctx) =>
  v === 1
    ? (1 as const)
    : fail(
        ctx,
        path,
        v === 0
          ? 'QoS 0 is not offered: records leave the spool only on the broker\'s PUBACK (at least once), which QoS 0 never sends; use 1'
          : v === 2
            ? 'QoS 2 is not offered: it would add a round trip per record and no guarantee beyond at least once, as records are resent from the spool after a reconnect; consumers deduplicate on (rsu_id, seq); use 1'
            : `expected 1 (at least once), got ${v}`,
      ),
);

const url = (schemes: string[]): Spec<string> =>
  custom(`a URL (${schemes.join(' ')})`, { type: 'string', pattern: `^(${schemes.map((s) => s.replace(/:$/, '')).join('|')})://` }, (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, `expected a URL such as mqtt://127.0.0.1:1883, got ${show(v)}`);
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return fail(ctx, path, `expected a URL such as mqtt://127.0.0.1:1883, got ${show(redactUrl(v))}`);
    }
    if (!schemes.includes(u.protocol)) return fail(ctx, path, `URL scheme "${u.protocol.replace(/:$/, '')}" is not one of ${schemes.map((s) => s.replace(/:$/, '')).join(', ')}`);
    if (!u.hostname) return fail(ctx, path, `URL ${show(redactUrl(v))} has no host`);
    return v;
  });

const tlsFiles = obj<TlsFiles>(
  { ca: opt(filePath()), cert: opt(filePath()), key: opt(filePath()) },
  (t, path, ctx) => {
    if ((t.cert === undefined) !== (t.key === undefined)) fail(ctx, path, `cert and key go together: ${t.cert ? 'key' : 'cert'} is missing`);
    // A key given as the certificate (or the reverse) fails at load, naming the file, not at every TLS handshake.
    for (const role of ['ca', 'cert', 'key'] as const) {
      const problem = t[role] === undefined ? undefined : tlsFileProblem(role, t[role]);
      if (problem !== undefined) fail(ctx, [...path, role], problem);
    }
  },
);

/** A secret inline in the config: errors say what is wrong with it, never what it is. */
const secret = custom<string>('a string (the password)', { type: 'string', minLength: 1, maxLength: 65535 }, (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, `expected a string (quote it in YAML), got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : `a ${typeof v}`}`);
    if (v.length === 0 || v.length > 65535) return fail(ctx, path, `expected 1-65535 characters, got ${v.length}`);
    return v;
});

const passwordFields = {
  password: opt(secret),
  passwordFile: opt(filePath()),
  passwordEnv: opt(str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternText: 'an environment variable name' })),
};

/** One password source at most, with a username; a password file readable by its owner only; the variable set. */
function checkPassword(p: PasswordRef & { username?: string }, path: Path, ctx: Ctx): void {
  const given = (['password', 'passwordFile', 'passwordEnv'] as const).filter((k) => p[k] !== undefined);
  if (given.length > 1) fail(ctx, [...path, given[1]!], `give one of password, passwordFile, passwordEnv, not ${given.join(' and ')}`);
  if (given.length > 0 && p.username === undefined) fail(ctx, [...path, 'username'], `missing: ${given[0]} needs a username`);
  if (p.passwordFile !== undefined) {
    checkReadable(p.passwordFile, [...path, 'passwordFile'], ctx);
    const mode = statSync(p.passwordFile, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0)
      warn(ctx, [...path, 'passwordFile'], `readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${p.passwordFile}`);
  }
  if (p.passwordEnv !== undefined && process.env[p.passwordEnv] === undefined)
    fail(ctx, [...path, 'passwordEnv'], `the environment variable ${p.passwordEnv} is not set (the daemon's unit sets it with Environment= or EnvironmentFile=)`);
}

// librdkafka properties the uplink sets itself: from other keys, or because its delivery guarantee depends on them.
const KAFKA_OWN_PROPERTIES: Record<string, string> = {
  'bootstrap.servers': 'uplink.kafka.brokers',
  'metadata.broker.list': 'uplink.kafka.brokers',
  'client.id': 'uplink.kafka.clientId',
  'security.protocol': 'uplink.kafka.tls and uplink.kafka.sasl',
  'sasl.mechanism': 'uplink.kafka.sasl.mechanism',
  'sasl.mechanisms': 'uplink.kafka.sasl.mechanism',
  'sasl.username': 'uplink.kafka.sasl.username',
  'sasl.password': 'uplink.kafka.sasl.passwordFile or passwordEnv',
  'ssl.ca.location': 'uplink.kafka.tls.ca',
  'ssl.certificate.location': 'uplink.kafka.tls.cert',
  'ssl.key.location': 'uplink.kafka.tls.key',
  'ssl.key.password': 'an unencrypted uplink.kafka.tls.key (mode 0600)',
  'ssl.ca.pem': 'uplink.kafka.tls.ca',
  'ssl.certificate.pem': 'uplink.kafka.tls.cert',
  'ssl.key.pem': 'uplink.kafka.tls.key',
  'enable.idempotence': 'the uplink (at-least-once delivery needs idempotence)',
  acks: 'the uplink (acks=all)',
  'request.required.acks': 'the uplink (acks=all)',
  'message.timeout.ms': 'the uplink (records wait in librdkafka until delivered)',
  'delivery.timeout.ms': 'the uplink (records wait in librdkafka until delivered)',
  dr_cb: 'the uplink (records leave the spool on delivery reports)',
  dr_msg_cb: 'the uplink (records leave the spool on delivery reports)',
};

const librdkafkaProps = custom<Record<string, string | number | boolean>>(
  'a mapping of librdkafka properties',
  { type: 'object', propertyNames: { pattern: '^[a-z][a-z0-9_.]*$' }, additionalProperties: { type: ['string', 'number', 'boolean'] } },
  (v, path, ctx) => {
    if (!isPlainObject(v)) return fail(ctx, path, `expected a mapping of librdkafka properties (compression.type: lz4, ...), got ${show(v)}`);
    const out: Record<string, string | number | boolean> = {};
    const errorsBefore = ctx.errors.length;
    for (const [k, x] of Object.entries(v)) {
      if (Object.hasOwn(KAFKA_OWN_PROPERTIES, k)) fail(ctx, [...path, k], `set by ${KAFKA_OWN_PROPERTIES[k]}, not here`);
      else if (!/^[a-z][a-z0-9_.]*$/.test(k)) fail(ctx, [...path, k], 'not a librdkafka property name (lower case, dotted)');
      else if (!['string', 'number', 'boolean'].includes(typeof x)) fail(ctx, [...path, k], `expected a string, number or boolean, got ${show(x)}`);
      else out[k] = x as string | number | boolean;
    }
    if (ctx.errors.length > errorsBefore) return undefined;
    const problem = kafkaPropertyProblem(out);
    return problem ? fail(ctx, problem.key ? [...path, problem.key] : path, problem.message) : out;
  },
);

const uplinkSection = obj<UplinkSection>({
  mqtt: section(
    obj<UplinkSection['mqtt']>(
      {
        enabled: def(bool, true),
        url: def(url(MQTT_SCHEMES), 'mqtt://127.0.0.1:1883'),
        version: def(oneOf([5, '3.1.1'] as const), 5),
        embeddedBroker: def(bool, false),
        clientId: opt(str({ maxLength: 65535 })),
        username: opt(str({ maxLength: 65535 })),
        ...passwordFields,
        qos: def(mqttQos, 1),
        topicPrefix: def(str({ pattern: /^[^#+\0]*$/, patternText: 'a topic prefix without # or + wildcards' }), 'v2x/v1/rsu'),
        tls: opt(tlsFiles),
        downlinks: section(
          obj<UplinkSection['mqtt']['downlinks']>({
            requireVerifiedBroker: def(bool, true),
            configKeys: def(arr(oneOf(REMOTE_CONFIG_KEYS)), [...SAFE_REMOTE_CONFIG_KEYS]),
          }),
        ),
      },
      (m, path, ctx) => {
        if (!m.enabled) return;
        const u = new URL(m.url);
        if (u.username || u.password)
          fail(ctx, [...path, 'url'], `carries credentials (${redactUrl(m.url)}): put them in uplink.mqtt.username and passwordFile (or passwordEnv), where they are never shown`);
        if (m.embeddedBroker && (!LOCAL_HOSTS.includes(u.hostname) || !['mqtt:', 'tcp:'].includes(u.protocol)))
          fail(
            ctx,
            [...path, 'embeddedBroker'],
            `the embedded broker is the demo's and listens on this machine over plain MQTT (mqtt://127.0.0.1:PORT); to use the broker at ${redactUrl(m.url)}, set embeddedBroker: false`,
          );
        if (m.embeddedBroker && given(m))
          fail(ctx, [...path, 'username'], 'the embedded broker makes its own credentials for each run: leave username and password out');
        checkPassword(m, path, ctx);
        if (m.tls) {
          for (const k of ['ca', 'cert', 'key'] as const) checkReadable(m.tls[k], [...path, 'tls', k], ctx);
          // mqtt.js would quietly upgrade mqtt:// to TLS when a client certificate is given: one meaning only.
          if (!TLS_SCHEMES.includes(u.protocol))
            fail(ctx, [...path, 'tls'], `needs a TLS URL: url ${redactUrl(m.url)} is plain ${u.protocol.replace(/:$/, '')}; use ${TLS_UPGRADE[u.protocol] ?? 'mqtts'}:// (or remove tls)`);
        }
        if (m.downlinks.requireVerifiedBroker && !['mqtts:', 'ssl:', 'wss:'].includes(u.protocol) && !LOCAL_HOSTS.includes(u.hostname))
          warn(
            ctx,
            [...path, 'downlinks'],
            `rsi/down and config/down will be refused: over ${u.protocol}// the broker's identity is not verified (use mqtts:// with tls.ca, or set downlinks.requireVerifiedBroker: false on a network only trusted parties reach)`,
          );
        if (!['mqtts:', 'ssl:', 'wss:'].includes(u.protocol) && (m.password !== undefined || m.passwordFile !== undefined || m.passwordEnv !== undefined) && !LOCAL_HOSTS.includes(u.hostname))
          warn(ctx, [...path, 'url'], `the password goes to ${u.hostname} unencrypted over ${u.protocol}//: use mqtts://`);
      },
    ),
  ),
  kafka: section(
    obj<UplinkSection['kafka']>(
      {
        enabled: def(bool, false),
        brokers: def(arr(hostPort(), { min: 1 }), ['127.0.0.1:9092']),
        topicPrefix: def(str({ pattern: /^[A-Za-z0-9._-]+$/, patternText: 'a Kafka topic prefix of letters, digits, . _ -' }), 'v2x.v1'),
        clientId: opt(str()),
        tls: opt(tlsFiles),
        sasl: opt(
          obj<NonNullable<UplinkSection['kafka']['sasl']>>(
            { mechanism: def(oneOf(KAFKA_SASL_MECHANISMS), 'SCRAM-SHA-512'), username: req(str({ maxLength: 65535 })), ...passwordFields },
            (sa, path, ctx) => {
              if (!given(sa)) fail(ctx, path, 'missing: give the SASL password as passwordFile, passwordEnv or password');
              checkPassword(sa, path, ctx);
            },
          ),
        ),
        librdkafka: def(librdkafkaProps, {}),
      },
      (k, path, ctx) => {
        if (!k.enabled) return;
        if (k.tls) for (const f of ['ca', 'cert', 'key'] as const) checkReadable(k.tls[f], [...path, 'tls', f], ctx);
        if (k.sasl?.mechanism === 'PLAIN' && !k.tls) warn(ctx, [...path, 'sasl', 'mechanism'], 'PLAIN without tls sends the password in clear: add uplink.kafka.tls, or use SCRAM-SHA-512');
      },
    ),
  ),
  spool: section(
    obj<UplinkSection['spool']>({
      dir: def(filePath(), () => defaultSpoolDir()),
      maxBytes: def(bytes({ min: 1024 * 1024 }), '128MiB'),
      fsync: def(oneOf(['always', 'interval', 'never'] as const), 'interval'),
      fsyncIntervalMs: def(num({ unit: 'ms', int: true, min: 10, max: 600_000 }), 200),
    }),
  ),
  alarms: section(
    obj<UplinkSection['alarms']>({
      linkDownS: def(seconds(), 30),
      undeliveredS: def(seconds(), 60),
    }),
  ),
});

// ---------------------------------------------------------------------------------------------------------------
// Applications

const spatPhase = obj<SpatPhase>({
  id: req(num({ int: true, min: 1, max: 255 })),
  green: req(num({ unit: 'seconds', min: 0, minExclusive: true })),
  yellow: req(seconds()),
  red: req(seconds()),
  offset: def(seconds(), 0),
});

function uniqueIds(list: ReadonlyArray<{ id: number }>, path: Path, ctx: Ctx, what: string): void {
  const seen = new Map<number, number>();
  list.forEach((x, i) => {
    const j = seen.get(x.id);
    if (j !== undefined) fail(ctx, [...path, i, 'id'], `duplicate ${what} id ${x.id} (also ${fmtPath([...path, j])})`);
    else seen.set(x.id, i);
  });
}

// Signal controller (applications.spat.controller): where the SPAT's states come from.

type ControllerOf<K extends SignalControllerConfig['kind']> = Extract<SignalControllerConfig, { kind: K }>;

const phaseMapping = (maxPhase: number) =>
  obj<PhaseMapping>({
    signalGroup: req(num({ int: true, min: 1, max: 255 })),
    phase: req(num({ int: true, min: 1, max: maxPhase })),
    type: def(oneOf(PHASE_OUTPUT_TYPES), 'vehicle'),
  });

/** Controller outputs → signal groups; a signal group is driven by one output. */
const phaseMappings = (maxPhase: number) =>
  checked(arr(phaseMapping(maxPhase), { min: 1, max: 255 }), (list, path, ctx) => {
    const seen = new Map<number, number>();
    list.forEach((m, i) => {
      const j = seen.get(m.signalGroup);
      if (j !== undefined) fail(ctx, [...path, i, 'signalGroup'], `signal group ${m.signalGroup} is already driven by ${fmtPath([...path, j])}: one controller output per signal group`);
      else seen.set(m.signalGroup, i);
    });
  });

const actuatedStage = obj<ActuatedStage>(
  {
    phases: req(arr(num({ int: true, min: 1, max: 255 }), { min: 1, max: 255 })),
    minGreen: req(num({ unit: 'seconds', min: 0, minExclusive: true })),
    maxGreen: req(num({ unit: 'seconds', min: 0, minExclusive: true })),
    passage: def(seconds(), 3),
    yellow: req(seconds()),
    red: req(seconds()),
  },
  (st, path, ctx) => {
    if (st.minGreen > st.maxGreen) fail(ctx, [...path, 'maxGreen'], `expected at least minGreen (${st.minGreen} s), got ${st.maxGreen}`);
  },
);

/** Actuated stages that run the fixed-time plan's phases in their order (see SignalControllerConfig). */
export function stagesFromPlan(phases: readonly SpatPhase[]): ActuatedStage[] {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const p0 = phases[0]!;
  const cycle = p0.green + p0.yellow + p0.red;
  const byOffset = new Map<number, SpatPhase[]>();
  for (const p of phases) byOffset.set(p.offset, [...(byOffset.get(p.offset) ?? []), p]);
  const offsets = [...byOffset.keys()].sort((a, b) => a - b);
  return offsets.map((off, k) => {
    const ps = byOffset.get(off)!;
    const green = Math.max(...ps.map((p) => p.green));
    const yellow = Math.max(...ps.map((p) => p.yellow));
    const next = k + 1 < offsets.length ? offsets[k + 1]! : offsets[0]! + cycle;
    const minGreen = Math.min(10, green);
    return { phases: ps.map((p) => p.id), minGreen, maxGreen: green, passage: Math.min(3, minGreen), yellow, red: Math.max(0, r3(next - off - green - yellow)) };
  });
}

const snmpUser = obj<SnmpV3User>(
  {
    name: req(str({ maxLength: 32 })),
    level: def(oneOf(['noAuthNoPriv', 'authNoPriv', 'authPriv'] as const), 'authPriv'),
    authProtocol: opt(oneOf(['md5', 'sha'] as const)),
    authKey: opt(str({ minLength: 8 })),
    privProtocol: opt(oneOf(['des', 'aes'] as const)),
    privKey: opt(str({ minLength: 8 })),
  },
  (u, path, ctx) => {
    if (u.level !== 'noAuthNoPriv') {
      u.authProtocol ??= 'sha';
      if (u.authKey === undefined) fail(ctx, [...path, 'authKey'], `missing: security level ${u.level} needs an authKey (at least 8 characters)`);
    } else if (u.authKey !== undefined || u.authProtocol !== undefined) warn(ctx, [...path, u.authKey !== undefined ? 'authKey' : 'authProtocol'], `ignored with level ${u.level}`);
    if (u.level === 'authPriv') {
      u.privProtocol ??= 'aes';
      if (u.privKey === undefined) fail(ctx, [...path, 'privKey'], 'missing: security level authPriv needs a privKey (at least 8 characters)');
    } else if (u.privKey !== undefined || u.privProtocol !== undefined) warn(ctx, [...path, u.privKey !== undefined ? 'privKey' : 'privProtocol'], `ignored with level ${u.level}`);
  },
);

const ipAddress = refine(str(), (v, path, ctx) => (isIP(v) ? v : fail(ctx, path, `expected an IP address (datagrams carry the sender's address, not a name), got ${show(v)}`)), 'an IP address');

const signalController = byKind<SignalControllerConfig>({
  plan: obj<ControllerOf<'plan'>>({ kind: req(oneOf(['plan'] as const)) }),
  simulated: obj<ControllerOf<'simulated'>>(
    {
      kind: req(oneOf(['simulated'] as const)),
      mode: def(oneOf(['fixed', 'actuated'] as const), 'fixed'),
      stages: opt(arr(actuatedStage, { min: 1, max: 255 })),
    },
    (c, path, ctx) => {
      if (c.mode === 'fixed' && c.stages) fail(ctx, [...path, 'stages'], 'only with mode: actuated (mode fixed runs the plan of applications.spat.phases)');
    },
  ),
  tscbm: obj<ControllerOf<'tscbm'>>({
    kind: req(oneOf(['tscbm'] as const)),
    listen: req(hostPort()),
    controllerAddress: opt(ipAddress),
    staleAfterMs: def(num({ unit: 'ms', int: true, min: 100, max: 60_000 }), 1000),
    mapping: req(phaseMappings(16)),
  }),
  ntcip: obj<ControllerOf<'ntcip'>>(
    {
      kind: req(oneOf(['ntcip'] as const)),
      target: req(hostPort()),
      version: req(oneOf([1, 2, 3] as const)),
      community: opt(str({ maxLength: 255 })),
      user: opt(snmpUser),
      pollMs: def(num({ unit: 'ms', int: true, min: 20, max: 60_000 }), 100),
      timeoutMs: def(num({ unit: 'ms', int: true, min: 10, max: 60_000 }), 500),
      staleAfterMs: opt(num({ unit: 'ms', int: true, min: 100, max: 600_000 })),
      preempts: def(arr(num({ int: true, min: 1, max: 255 }), { max: 255 }), [1, 2]),
      mapping: req(phaseMappings(255)),
    },
    (c, path, ctx) => {
      if (c.version === 3 && !c.user) fail(ctx, [...path, 'user'], 'missing: SNMP version 3 needs a user (name, level, keys)');
      if (c.version !== 3 && c.user) warn(ctx, [...path, 'user'], `ignored with SNMP version ${c.version} (it uses community)`);
      if (c.version === 3 && c.community !== undefined) warn(ctx, [...path, 'community'], 'ignored with SNMP version 3 (it uses user)');
      if (c.staleAfterMs !== undefined && c.staleAfterMs < c.pollMs + c.timeoutMs)
        fail(ctx, [...path, 'staleAfterMs'], `expected at least pollMs + timeoutMs (${c.pollMs + c.timeoutMs} ms): a poll that has not timed out yet is not stale, got ${c.staleAfterMs}`);
    },
  ),
  gbt20999: obj<ControllerOf<'gbt20999'>>(
    {
      kind: req(oneOf(['gbt20999'] as const)),
      target: req(hostPort()),
      transport: def(oneOf(['udp', 'tcp'] as const), 'udp'),
      listen: opt(hostPort({ allowZeroPort: true })),
      controllerId: opt(num({ int: true, min: 0, max: 0xffffffff })),
      hostId: def(num({ int: true, min: 0, max: 255 }), 1),
      roadId: def(num({ int: true, min: 0, max: 255 }), 0),
      intersection: def(num({ int: true, min: 1, max: 255 }), 1),
      version: def(num({ int: true, min: 0, max: 65535 }), 0x0100),
      pollMs: def(num({ unit: 'ms', int: true, min: 20, max: 60_000 }), 100),
      timeoutMs: def(num({ unit: 'ms', int: true, min: 10, max: 60_000 }), 500),
      staleAfterMs: opt(num({ unit: 'ms', int: true, min: 100, max: 600_000 })),
      mapping: req(phaseMappings(64)),
    },
    (c, path, ctx) => {
      if (c.transport === 'tcp' && c.listen !== undefined) warn(ctx, [...path, 'listen'], 'ignored with transport tcp (the RSU connects to the controller)');
      if (c.staleAfterMs !== undefined && c.staleAfterMs < c.pollMs + c.timeoutMs)
        fail(ctx, [...path, 'staleAfterMs'], `expected at least pollMs + timeoutMs (${c.pollMs + c.timeoutMs} ms): a poll that has not timed out yet is not stale, got ${c.staleAfterMs}`);
    },
  ),
});

// RSI events and signs (applications.rsi): what RTEData / RTSData (CSAE) and TIM (J2735) carry.

/** An ISO 8601 date and time with a time zone, stored as UTC (`toISOString`) so the resolved config validates to itself. */
const isoTime = (): Spec<string> =>
  custom('an ISO 8601 date and time with a time zone, e.g. "2026-05-04T08:00:00+08:00"', { type: 'string', pattern: ISO_TIME.source }, (v, path, ctx) => {
    const ms = isoTimeMs(v);
    if (ms === undefined)
      return fail(ctx, path, `expected an ISO 8601 date and time with a time zone (Z or +hh:mm), e.g. "2026-05-04T08:00:00+08:00", got ${show(v)}`);
    return new Date(ms).toISOString();
  });

const latLonPoint = obj<LatLonPoint>({ lat: req(degrees(-90, 90)), lon: req(degrees(-180, 180)) });

const referencePath = obj<RsiReferencePath>({
  // PathPointList: 1..32 points in csae2019, 2..32 in csae2020; a round area is the event's position and radius.
  points: req(arr(latLonPoint, { min: 2, max: 32 })),
  radiusM: req(num({ unit: 'meters', min: 0, max: 6553.5 })),
});

const nodeRef = obj<RsiNodeRef>({ region: opt(num({ int: true, min: 0, max: 65535 })), id: req(num({ int: true, min: 0, max: 65535 })) });

const referenceLink = obj<RsiReferenceLink>(
  {
    upstreamNodeId: req(nodeRef),
    downstreamNodeId: req(nodeRef),
    // ReferenceLanes: bits lane1..lane15.
    lanes: opt(arr(num({ int: true, min: 1, max: 15 }), { min: 1, max: 15 })),
  },
  (l, path, ctx) => {
    if (l.upstreamNodeId.id === l.downstreamNodeId.id && (l.upstreamNodeId.region ?? 0) === (l.downstreamNodeId.region ?? 0))
      fail(ctx, [...path, 'downstreamNodeId'], `the same node as upstreamNodeId (${l.upstreamNodeId.id}): a link joins two nodes`);
  },
);

/** Start before end. */
function checkTimes(x: { startTime?: string; endTime?: string }, path: Path, ctx: Ctx): void {
  if (x.startTime !== undefined && x.endTime !== undefined && Date.parse(x.endTime) <= Date.parse(x.startTime))
    fail(ctx, [...path, 'endTime'], `expected a time after startTime (${x.startTime}), got ${x.endTime}`);
}

const rsiEvent = obj<RsiEvent>(
  {
    id: req(num({ int: true, min: 0, max: 255 })),
    type: req(num({ int: true, min: 0, max: 65535 })),
    description: opt(str({ maxLength: 256 })),
    lat: req(degrees(-90, 90)),
    lon: req(degrees(-180, 180)),
    radiusM: def(num({ unit: 'meters', min: 0, max: 6553.5 }), 50),
    priority: def(num({ int: true, min: 0, max: 7 }), 3),
    source: opt(oneOf(EVENT_SOURCES)),
    startTime: opt(isoTime()),
    endTime: opt(isoTime()),
    referencePaths: opt(arr(referencePath, { min: 1, max: 8 })),
    referenceLinks: opt(arr(referenceLink, { min: 1, max: 16 })),
  },
  checkTimes,
);

const rsiSign = obj<RsiSign>(
  {
    id: req(num({ int: true, min: 0, max: 255 })),
    kind: opt(oneOf(SIGN_KINDS)),
    type: opt(num({ int: true, min: 0, max: 65535 })),
    speedLimitKmh: opt(num({ int: true, unit: 'km/h', min: 5, max: 150 })),
    description: opt(str({ maxLength: 256 })),
    lat: req(degrees(-90, 90)),
    lon: req(degrees(-180, 180)),
    radiusM: def(num({ unit: 'meters', min: 0, max: 6553.5 }), 50),
    priority: def(num({ int: true, min: 0, max: 7 }), 3),
    startTime: opt(isoTime()),
    endTime: opt(isoTime()),
    referencePaths: opt(arr(referencePath, { min: 1, max: 8 })),
    referenceLinks: opt(arr(referenceLink, { min: 1, max: 16 })),
  },
  (s, path, ctx) => {
    if (s.kind === undefined && s.type === undefined) fail(ctx, [...path, 'kind'], `missing: a sign needs a kind (${SIGN_KINDS.join(', ')}) or a type code`);
    if (s.kind === 'speed-limit' && s.speedLimitKmh === undefined) fail(ctx, [...path, 'speedLimitKmh'], 'missing: a speed-limit sign needs the limit it shows, in km/h');
    if (s.kind !== 'speed-limit' && s.speedLimitKmh !== undefined) fail(ctx, [...path, 'speedLimitKmh'], `only for kind speed-limit (this sign is ${s.kind ?? `type ${s.type}`})`);
    checkTimes(s, path, ctx);
  },
);

/**
 * Every configured sign has a code to send in the message set (codes.ts; e.g. no ITIS code is confirmed for a school
 * zone), and no configured event carries a code of the other standard's family.
 */
function checkSignCodes(c: RsuConfig, ctx: Ctx): void {
  c.applications.rsi.events.forEach((e, i) => {
    const problem = eventCodeProblem(e.type, c.messageSet);
    if (problem) fail(ctx, ['applications', 'rsi', 'events', i, 'type'], problem);
  });
  for (const [kind, code] of Object.entries(c.applications.rsi.detectedEventCodes)) {
    const problem = code === undefined ? undefined : eventCodeProblem(code, c.messageSet);
    if (problem) fail(ctx, ['applications', 'rsi', 'detectedEventCodes', kind], problem);
  }
  c.applications.rsi.signs.forEach((s, i) => {
    const problem = signCodeProblem(s, c.messageSet);
    if (problem) fail(ctx, ['applications', 'rsi', 'signs', i, 'type'], problem);
  });
}

const applicationsSection = obj<ApplicationsSection>({
  rsm: section(
    obj<ApplicationsSection['rsm']>({
      enabled: def(bool, true),
      intervalMs: def(intervalMs(), 100),
      maxParticipants: def(num({ int: true, min: 1, max: 16 }), 16),
    }),
  ),
  spat: section(
    obj<ApplicationsSection['spat']>(
      {
        enabled: def(bool, true),
        intervalMs: def(intervalMs(), 100),
        intersection: def(obj<IntersectionRef>({ region: def(num({ int: true, min: 0, max: 65535 }), 0), id: req(num({ int: true, min: 0, max: 65535 })) }), { id: 110 }),
        // Two-phase fixed-time plan, 60 s cycle, 2 s all-red after each yellow.
        phases: def(arr(spatPhase, { min: 1, max: 255 }), [
          { id: 1, green: 25, yellow: 3, red: 32, offset: 0 },
          { id: 2, green: 25, yellow: 3, red: 32, offset: 30 },
        ]),
        controller: def(signalController, { kind: 'plan' }),
      },
      (s, path, ctx) => {
        const phasesPath = [...path, 'phases'];
        uniqueIds(s.phases, phasesPath, ctx, 'phase');
        const cycle0 = s.phases[0]!.green + s.phases[0]!.yellow + s.phases[0]!.red;
        s.phases.forEach((p, i) => {
          const cycle = p.green + p.yellow + p.red;
          if (Math.abs(cycle - cycle0) > 1e-9)
            fail(ctx, [...phasesPath, i], `green + yellow + red = ${cycle} s, but ${fmtPath([...phasesPath, 0])} has ${cycle0} s: all phases of a fixed-time plan share one cycle`);
          else if (p.offset >= cycle) fail(ctx, [...phasesPath, i, 'offset'], `expected an offset within the ${cycle} s cycle (0 to ${cycle}), got ${p.offset}`);
        });
        const c = s.controller;
        if (c.kind === 'simulated' && c.mode === 'actuated' && !c.stages && ctx.errors.length === 0) c.stages = stagesFromPlan(s.phases);
      },
    ),
  ),
  map: section(
    obj<ApplicationsSection['map']>(
      { enabled: def(bool, false), intervalMs: def(intervalMs(), 1000), file: opt(filePath()) },
      (m, path, ctx) => {
        if (!m.enabled) return;
        if (m.file === undefined) fail(ctx, [...path, 'file'], 'missing: the MAP application needs a lane map file when enabled');
        else checkReadable(m.file, [...path, 'file'], ctx);
      },
    ),
  ),
  rsi: section(
    obj<ApplicationsSection['rsi']>(
      {
        enabled: def(bool, true),
        intervalMs: def(intervalMs(), 1000),
        events: def(arr(rsiEvent, { max: 8 }), []),
        signs: def(arr(rsiSign, { max: 16 }), []),
        detectedEventCodes: def(
          obj<Partial<Record<DetectedEventKind, number>>>(Object.fromEntries(DETECTED_EVENT_KINDS.map((k) => [k, opt(num({ int: true, min: 0, max: 65535 }))])) as never),
          {},
        ),
      },
      (r, path, ctx) => {
        uniqueIds(r.events, [...path, 'events'], ctx, 'event');
        uniqueIds(r.signs, [...path, 'signs'], ctx, 'sign');
      },
    ),
  ),
});

const loggingSection = obj<RsuConfig['logging']>({ level: def(oneOf(LOG_LEVELS), 'info') });

// ---------------------------------------------------------------------------------------------------------------
// Perception

const trackerSection = obj<TrackerConfig>(
  {
    processNoise: opt(num({ unit: 'm²/s³', min: 0, minExclusive: true, max: 100 })),
    gateChi2: opt(num({ min: 1, max: 100 })),
    confirmHits: opt(num({ int: true, min: 1, max: 50 })),
    maxMisses: opt(num({ int: true, min: 1, max: 100 })),
    maxCoastMs: opt(ms(0, 10_000)),
    reportMaxCoastMs: opt(ms(0, 10_000)),
    classProcessNoise: opt(
      obj<NonNullable<TrackerConfig['classProcessNoise']>>({
        vehicle: opt(num({ unit: 'm²/s³', min: 0, minExclusive: true, max: 100 })),
        twoWheeler: opt(num({ unit: 'm²/s³', min: 0, minExclusive: true, max: 100 })),
        pedestrian: opt(num({ unit: 'm²/s³', min: 0, minExclusive: true, max: 100 })),
      }),
    ),
    classReportMaxCoastMs: opt(
      obj<NonNullable<TrackerConfig['classReportMaxCoastMs']>>({
        vehicle: opt(ms(0, 10_000)),
        twoWheeler: opt(ms(0, 10_000)),
        pedestrian: opt(ms(0, 10_000)),
      }),
    ),
    minBoxGiou: opt(num({ min: -1, max: 1 })),
    confirmConfidence: opt(num({ min: 0, max: 2 })),
    headingFromBox: opt(bool),
    separateClassGroups: opt(bool),
    cameraPositionHoldMs: opt(ms(0, 10_000)),
    cameraConfidenceWeight: opt(num({ min: 0, max: 1 })),
    cameraBirthsInLidarCoverage: opt(bool),
  },
  (t, path, ctx) => {
    if (t.reportMaxCoastMs !== undefined && t.maxCoastMs !== undefined && t.reportMaxCoastMs > t.maxCoastMs)
      fail(ctx, [...path, 'reportMaxCoastMs'], `must not exceed maxCoastMs (${t.maxCoastMs} ms): a track is reported only while it is kept`);
    for (const [group, v] of Object.entries(t.classReportMaxCoastMs ?? {}))
      if (v !== undefined && t.maxCoastMs !== undefined && v > t.maxCoastMs)
        fail(ctx, [...path, 'classReportMaxCoastMs', group], `must not exceed maxCoastMs (${t.maxCoastMs} ms): a track is reported only while it is kept`);
  },
);

// ---------------------------------------------------------------------------------------------------------------
// The whole file

const configObj = obj<RsuConfig>(
  {
    rsu: section(rsuSection),
    messageSet: def(oneOf(MESSAGE_SETS), 'csae2020'),
    sensors: def(sensors, demoSensors),
    ingest: section(ingestSection),
    perception: section(obj<PerceptionSection>({ fusion: def(oneOf(FUSION_MODES), 'onnx'), model: opt(filePath()), tracker: section(trackerSection) })),
    time: section(timeSection),
    radio: section(radioSection),
    security: section(securitySection),
    uplink: section(uplinkSection),
    applications: section(applicationsSection),
    logging: section(loggingSection),
    metrics: section(obj<RsuConfig['metrics']>({ host: def(str(), '127.0.0.1'), port: def(port(true), 9464) })),
  },
  (c, _path, ctx) => {
    checkSignCodes(c, ctx);
    // A TSCBM (or GB/T 20999 UDP) listener shares the UDP ports with the sensor ingest and the radio receiver.
    const sc = c.applications.spat.controller;
    const scListen = sc.kind === 'tscbm' ? sc.listen : sc.kind === 'gbt20999' && sc.transport === 'udp' ? sc.listen : undefined;
    if (scListen !== undefined && splitHostPort(scListen)!.port !== 0) {
      const p = splitHostPort(scListen)!.port;
      const udp: Array<[Path, string]> = [
        ...c.ingest.listeners.map((l, i): [Path, string] => [['ingest', 'listeners', i, 'listen'], l.protocol === 'udp' ? l.listen : '']),
        [['radio', 'receive', 'listen'], c.radio.receive.listen],
      ];
      for (const [path, hp] of udp) {
        if (hp && splitHostPort(hp)?.port === p)
          fail(ctx, ['applications', 'spat', 'controller', 'listen'], `port ${p}/udp is also used by ${fmtPath(path)}`);
      }
    }
    if (c.radio.mode !== 'immediate-forward') return;
    const needed: Array<[keyof RsuConfig['radio']['immediateForward']['messages'], boolean]> = [
      ['SPAT', c.applications.spat.enabled],
      ['RSM', c.applications.rsm.enabled],
      ['MAP', c.applications.map.enabled],
      ['RSI', c.applications.rsi.enabled],
    ];
    for (const [type, enabled] of needed) {
      if (enabled && !c.radio.immediateForward.messages[type])
        fail(ctx, ['radio', 'immediateForward', 'messages', type], `missing: radio.mode is immediate-forward and applications.${type.toLowerCase()} is enabled; give its psid (and channel)`);
    }
  },
);

/** The JSON Schema of the config file (keys, types, ranges, defaults), for editors; see scripts/config-schema.ts. */
export const configJsonSchema = (): Record<string, unknown> => toJsonSchema(configObj);

export interface ValidationResult {
  ok: boolean;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /** The complete config; set when ok. */
  config?: RsuConfig;
}

export interface ValidateOptions {
  /** Directory relative file paths are resolved against (the config file's directory); default: cwd. */
  baseDir?: string;
}

/**
 * Validates a parsed config (e.g. from YAML) and fills in defaults. Collects every problem, each with its key
 * path. Keys left out take their defaults; with no `sensors` key the demo site applies.
 */
export function validateConfig(input: unknown, opts: ValidateOptions = {}): ValidationResult {
  const ctx: ConfigCtx = { ...newCtx(opts.baseDir ?? process.cwd()), demoSite: true };
  const raw = input === undefined || input === null ? {} : input;
  ctx.demoSite = !(isPlainObject(raw) && raw['sensors'] !== undefined && raw['sensors'] !== null);
  if (!isPlainObject(raw)) {
    fail(ctx, [], `expected a mapping of sections (rsu, messageSet, sensors, ...) at the top of the config, got ${show(raw)}`);
    return { ok: false, errors: ctx.errors, warnings: ctx.warnings };
  }
  const config = parseWith(configObj, raw, [], ctx);
  const ok = ctx.errors.length === 0 && config !== undefined;
  return ok ? { ok, errors: [], warnings: ctx.warnings, config } : { ok: false, errors: ctx.errors, warnings: ctx.warnings };
}

/** The sections a running daemon may change (config/down). */
export type RuntimeSections = Pick<RsuConfig, 'logging' | 'applications'>;

/**
 * Validates `logging` and `applications` as `rsu config check` would, for the message set `std`, and nothing else:
 * sensors, their calibration files and the demo site play no part, so a config/down is judged the same on a site
 * whose config lists its own sensors, wherever the program is installed. Absent sections take their defaults.
 */
export function validateRuntimeSections(input: { logging?: unknown; applications?: unknown }, std: MessageSet, opts: ValidateOptions = {}): { ok: true; value: RuntimeSections; warnings: ConfigIssue[] } | { ok: false; errors: ConfigIssue[] } {
  const ctx: ConfigCtx = { ...newCtx(opts.baseDir ?? process.cwd()), demoSite: false };
  const logging = parseWith(loggingSection, input.logging ?? {}, ['logging'], ctx);
  const applications = parseWith(applicationsSection, input.applications ?? {}, ['applications'], ctx);
  if (logging && applications && ctx.errors.length === 0) checkSignCodes({ messageSet: std, applications } as RsuConfig, ctx);
  if (!logging || !applications || ctx.errors.length > 0) return { ok: false, errors: ctx.errors };
  return { ok: true, value: { logging, applications }, warnings: ctx.warnings };
}
