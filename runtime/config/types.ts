// The RSU configuration, as the daemon sees it after loadConfig()/validateConfig(): every key present, defaults
// filled in, file paths absolute, sensor poses and camera intrinsics resolved from calibration files.
//
// Units are in the key names' comments; angles in the config are degrees, durations milliseconds unless a key
// says otherwise (SPAT phase durations are seconds, as traffic engineers write them).

import type { ActuatedStage } from '../../hw/signal/simulated.js';
import type { PhaseMapping } from '../../hw/signal/types.js';

export type { ActuatedStage, PhaseMapping };

export const MESSAGE_SETS = ['csae2020', 'csae2019', 'j2735-2020', 'j2735-2016'] as const;
export type MessageSet = (typeof MESSAGE_SETS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** WGS-84 position. */
export interface GeoPosition {
  /** Degrees, -90..90. */
  lat: number;
  /** Degrees, -180..180. */
  lon: number;
  /** Meters above the WGS-84 ellipsoid. */
  elevation: number;
}

/**
 * A rigid pose: position in meters, orientation as yaw, pitch, roll in degrees (rotation Z, then Y, then X; a
 * body frame with x forward, y left, z up). Pitch is positive when x tilts down. For cameras the body frame is
 * the usual one (x along the optical axis), not the optical frame (x right, y down, z forward).
 */
export interface Pose {
  x: number;
  y: number;
  z: number;
  roll: number;
  pitch: number;
  yaw: number;
}

export interface RsuSection {
  /**
   * RSU identifier: 1-8 letters, digits, `.`, `_`, `-` (it is an MQTT topic level of the uplink), or 0x followed
   * by 2-16 hex digits; up to 8 bytes, the size of the id in CSAE messages.
   */
  id: string;
  name?: string;
  /** Reference position of the site (e.g. the intersection's reference point): origin of the local frame. */
  reference: GeoPosition;
  /**
   * Pose of the sensor station frame (the frame sensor poses are given in) in the local east-north-up frame at
   * `reference`. Identity when sensor poses are given in east-north-up directly.
   */
  stationFrame: Pose;
}

export const SENSOR_KINDS = ['lidar', 'camera', 'radar'] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

export interface CameraIntrinsics {
  /** Image size in pixels. */
  width: number;
  height: number;
  /** Focal lengths and principal point in pixels. */
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** OpenCV distortion coefficients k1, k2, p1, p2[, k3[, k4, k5, k6]]; empty when undistorted. */
  distortion: number[];
}

export const CALIBRATION_FORMATS = ['tumtraf'] as const;
export type CalibrationFormat = (typeof CALIBRATION_FORMATS)[number];

export interface CalibrationRef {
  format: CalibrationFormat;
  /** Calibration file; relative paths are resolved against the config file's directory. */
  file: string;
}

export interface SensorConfig {
  /** Sensor id: matches the sensor_id in the frames this sensor sends. */
  id: string;
  kind: SensorKind;
  enabled: boolean;
  /** Pose of the sensor in the station frame. From `calibration` unless given here (then this one wins). */
  pose: Pose;
  /** Camera intrinsics; cameras only. From `calibration` unless given here. */
  intrinsics?: CameraIntrinsics;
  calibration?: CalibrationRef;
  /** How far the sensor's clock is ahead of the RSU clock, ms (subtracted from its capture times). */
  clockOffsetMs: number;
  /**
   * Delay between the actual capture and the capture time in the frame, ms; for frames without a capture time,
   * between capture and arrival at the RSU.
   */
  latencyMs: number;
  /** Detections farther than this from the sensor are rejected as absurd, meters. */
  maxRangeM: number;
  /**
   * Where this sensor's frames come from (`ADDR`, `ADDR:PORT`, `[IPv6]` or `[IPv6]:PORT`; TCP clients: the address
   * only, their ports change). Frames carrying this sensor's id from anywhere else are dropped (`wrong_source`), so
   * another local process cannot speak for the sensor. Unset: any source.
   */
  source?: SensorSource;
  /**
   * Horizontal field of view, degrees, centred on the sensor's x axis (lidars and radars; cameras use their
   * intrinsics). A track outside it is not counted missed by this sensor. Default 360.
   */
  fov: number;
}

export interface SensorSource {
  /** IP address, as the socket reports the peer. */
  address: string;
  port?: number;
}

export const INGEST_PROTOCOLS = ['udp', 'tcp'] as const;
export type IngestProtocol = (typeof INGEST_PROTOCOLS)[number];
export const INGEST_FORMATS = ['protobuf', 'json'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];

export interface IngestListener {
  protocol: IngestProtocol;
  /** HOST:PORT to listen on (port 0: any free port). */
  listen: string;
  /** protobuf: UDP one DetectionFrame per datagram, TCP varint-length-delimited frames. json: one frame per line (TCP) or datagram (UDP). */
  format: IngestFormat;
}

export interface IngestSection {
  listeners: IngestListener[];
  /** Frames whose capture time (on the RSU timeline) is further ahead of the RSU clock are dropped, ms. */
  maxFutureMs: number;
  /** Frames older than this on arrival are dropped, ms. */
  maxAgeMs: number;
  maxObjectsPerFrame: number;
  /** Largest encoded frame accepted (TCP streams with a larger length prefix are closed), bytes. */
  maxFrameBytes: number;
}

/** Fusion of the sensors' detections (runtime/perception): the learned model, or rule-based only. */
export const FUSION_MODES = ['onnx', 'plain'] as const;
export type FusionMode = (typeof FUSION_MODES)[number];

export interface PerceptionSection {
  /**
   * `onnx` (default): the learned camera–lidar fusion (models/fusion.onnx, runtime/perception/onnx.ts), which falls
   * back to rule-based fusion, saying so in the log, status and metrics, when the model cannot be loaded;
   * `plain`: rule-based fusion only.
   */
  fusion: FusionMode;
  /** The fusion model file; default models/fusion.onnx of the package. */
  model?: string;
  /** Tracker settings; each left out takes the tracker's default (runtime/perception/tracker.ts). */
  tracker: TrackerConfig;
}

/** perception.tracker: the settings a deployer may change (config reference: runtime/config/README.md). */
export interface TrackerConfig {
  /** White-acceleration spectral density of the motion model, m²/s³. */
  processNoise?: number;
  /** Association gate on the squared Mahalanobis distance (χ², 2 dof). */
  gateChi2?: number;
  /** Associated detections before a track is reported. */
  confirmHits?: number;
  /** Consecutive covered misses that end a confirmed track. */
  maxMisses?: number;
  /** Time without an update that ends a confirmed track (it coasts, unreported, for association), ms. */
  maxCoastMs?: number;
  /** Output policy: a track is reported only while its last update is at most this old, ms. */
  reportMaxCoastMs?: number;
  /** Process noise per class group, m²/s³; a group left out takes processNoise. */
  classProcessNoise?: { vehicle?: number; twoWheeler?: number; pedestrian?: number };
  /** reportMaxCoastMs per class group, ms; a group left out takes reportMaxCoastMs. */
  classReportMaxCoastMs?: { vehicle?: number; twoWheeler?: number; pedestrian?: number };
  /** Shape gate: least bird's-eye-view GIoU of a detection's box and a track's predicted box to associate them (-1: off). */
  minBoxGiou?: number;
  /** A track is confirmed at its first detection when that detection's confidence reaches this (default 2: never). */
  confirmConfidence?: number;
  /** Heading from the detector's box yaw when it gives one, instead of from the velocity (default false). */
  headingFromBox?: boolean;
  /** Detections of one class group never update, or suppress, tracks of another (one detector model per class; default false). */
  separateClassGroups?: boolean;
}

export const TIME_SOURCES = ['system', 'gpsd', 'nmea'] as const;
export type TimeSourceKind = (typeof TIME_SOURCES)[number];
export const BAUD_RATES = [4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

export interface TimeSection {
  source: TimeSourceKind;
  /** SPAT and RSM are withheld while the clock is known to be off by more than this, ms. */
  maxClockOffsetMs: number;
  gpsd: { host: string; port: number };
  nmea: {
    /** Serial device path, read as a file stream (configure it with stty, see hw/gnss/README.md). */
    device: string;
    baud: (typeof BAUD_RATES)[number];
    /** Run `stty -F DEVICE BAUD raw -echo` before opening a character device. */
    configureTty: boolean;
    /** Receiver output delay to subtract from the NMEA time-offset estimate, ms. */
    latencyMs: number;
  };
}

export const RADIO_MODES = ['udp-raw', 'immediate-forward', 'off'] as const;
export type RadioMode = (typeof RADIO_MODES)[number];
export const RADIO_MESSAGE_TYPES = ['BSM', 'MAP', 'SPAT', 'RSI', 'RSM'] as const;
export type RadioMessageType = (typeof RADIO_MESSAGE_TYPES)[number];

export interface ImmediateForwardMessage {
  /** Provider service id (p-encodable: 0x00-0x7F, 0x8000-0xBFFF, 0xC00000-0xDFFFFF, 0xE0000000-0xEFFFFFFF). */
  psid: number;
  /** Radio channel number, 172-184. */
  channel: number;
}

export const RADIO_HEADERS = ['none', 'wsmp', 'dsmp'] as const;
/** Network header in front of each udp-raw message: none, IEEE 1609.3 WSMP v3, China DSMP (hw/radio/netlayer.ts). */
export type RadioHeader = (typeof RADIO_HEADERS)[number];

export interface RadioSection {
  mode: RadioMode;
  /** Raw UPER bytes (or signed SPDUs), one message per datagram, to HOST:PORT. */
  udpRaw: {
    target: string;
    /** Network header per datagram (default none); received datagrams are unwrapped by the same setting. */
    header: RadioHeader;
    /** PSID (WSMP) / AID (DSMP) per type, p-encoded as in immediateForward.messages; defaults: J2735 PSIDs or CSAE AIDs by message set. */
    psids: Partial<Record<RadioMessageType, number>>;
    /** WSMP N-Header elements, each optional: channel 0-200, transmit power dBm -128..127, data rate (500 kbit/s units). */
    wsmp: { channel?: number; txPowerDbm?: number; dataRate?: number };
    /** DSMP version octet (default 1). */
    dsmpVersion: number;
  };
  /** USDOT RSU Specification 4.1 immediate forward (text IFM over UDP). */
  immediateForward: {
    target: string;
    /** 0-7. */
    priority: number;
    txMode: 'CONT' | 'ALT';
    signature: boolean;
    encryption: boolean;
    messages: Partial<Record<RadioMessageType, ImmediateForwardMessage>>;
  };
  /** Where received over-the-air messages arrive (UDP); port 0 disables. */
  receive: { listen: string };
}

/** Message types the RSU signs (SPAT, MAP, RSM, RSI/TIM; RSM is the PSM in J2735 mode). */
export const SIGNED_MESSAGE_TYPES = ['spat', 'map', 'rsm', 'rsi'] as const;
export type SignedMessageType = (typeof SIGNED_MESSAGE_TYPES)[number];

/** How one message type is signed (IEEE 1609.2 SN-SIGN). */
export interface SigningPolicy {
  /** The full certificate as signer at least this often (ms); the HashedId8 digest in between. 0: always the certificate. */
  certificateEveryMs: number;
  /** expiryTime = generationTime + this (ms); absent: no expiryTime in the header. */
  lifetimeMs?: number;
}

/**
 * IEEE 1609.2 / YD/T 3957 signing of outgoing messages and verification of received ones (runtime/security).
 * Signing is on unless `enabled: false` is written; an unsigned RSU raises an alarm in status either way.
 */
export interface SecuritySection {
  enabled: boolean;
  /** Certificate directory: rsu.cert (C-OER), rsu.key.pem, chain/*.cert (nearest issuer first by name), anchors/*.cert (and X.509 anchors for X.509 signers: anchors/*.pem, *.crt, *.der). */
  dir?: string;
  /** Explicit files, each overriding the directory's. */
  certificate?: string;
  key?: string;
  chain?: string[];
  anchors?: string[];
  /** While the certificate is not usable (expired, untrusted, missing): withhold messages (default) or send them unsigned. */
  whenUnusable: 'withhold' | 'send-unsigned';
  /** Days before expiry at which the certificate alarm is raised. */
  warnDays: number;
  messages: Record<SignedMessageType, SigningPolicy>;
  receive: {
    /** Received messages that are unsigned or fail verification: dropped, or passed to the uplink marked unverified. */
    unverified: 'drop' | 'mark';
    /** generationTime window of received SPDUs, ms. */
    maxAgeMs: number;
    maxFutureMs: number;
  };
}

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * A password given by reference, never logged: `passwordFile` (read at each connection, so it can be rotated; keep
 * it mode 0600) or `passwordEnv` (an environment variable of the daemon), or `password` inline in the config.
 * At most one of the three.
 */
export interface PasswordRef {
  password?: string;
  passwordFile?: string;
  passwordEnv?: string;
}

/** What `config/down` may change (`uplink.mqtt.downlinks.configKeys`). */
export const REMOTE_CONFIG_KEYS = [
  'logging.level',
  'applications.rsm.enabled',
  'applications.spat.enabled',
  'applications.map.enabled',
  'applications.rsi.enabled',
  'applications.rsi.events',
  'applications.rsi.signs',
] as const;
export type RemoteConfigKey = (typeof REMOTE_CONFIG_KEYS)[number];
/** The default allow-list: nothing that stops a safety message (SPAT, RSM, MAP, RSI) from going out. */
export const SAFE_REMOTE_CONFIG_KEYS: readonly RemoteConfigKey[] = ['logging.level', 'applications.rsi.events', 'applications.rsi.signs'];

export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

export interface UplinkSection {
  mqtt: {
    enabled: boolean;
    /** mqtt://, mqtts://, tcp://, ssl://, ws:// or wss:// URL, without credentials (they go in username/password*). */
    url: string;
    version: 5 | '3.1.1';
    /**
     * Start an embedded broker (aedes, in this process) on the URL's port (localhost URLs only), with credentials
     * generated for this run (written, owner-only, beside the status socket). Default false: the embedded broker is
     * the demo's; a deployment names its broker in `url`.
     */
    embeddedBroker: boolean;
    /** Default `rsu-{rsu.id}`. */
    clientId?: string;
    /** MQTT username; a password (below) needs one. */
    username?: string;
    /** Always 1: records leave the spool on the broker's PUBACK (at least once); 0 and 2 are refused. */
    qos: 1;
    /** Topics are PREFIX/{rsu.id}/... */
    topicPrefix: string;
    tls?: TlsFiles;
    /** Who may change what from the cloud (rsi/down, config/down). */
    downlinks: {
      /**
       * Accept downlinks only over a connection whose broker proved its identity: TLS (mqtts://, wss://) with a
       * verified certificate. Default true: over plain MQTT anyone who can reach the broker's port, or take it
       * first, could switch SPAT off.
       */
      requireVerifiedBroker: boolean;
      /** What config/down may change; default SAFE_REMOTE_CONFIG_KEYS. An empty list refuses every config/down. */
      configKeys: RemoteConfigKey[];
    };
  } & PasswordRef;
  kafka: {
    enabled: boolean;
    /** HOST:PORT list. */
    brokers: string[];
    /** Topics are PREFIX.{type}.up */
    topicPrefix: string;
    /** Default `rsu-{rsu.id}`. */
    clientId?: string;
    /** TLS to the brokers (security.protocol SSL, or SASL_SSL with sasl): the CA that signs them, a client certificate. */
    tls?: TlsFiles;
    /** SASL authentication (security.protocol SASL_PLAINTEXT, or SASL_SSL with tls). */
    sasl?: { mechanism: (typeof KAFKA_SASL_MECHANISMS)[number]; username: string } & PasswordRef;
    /**
     * Further librdkafka producer properties (compression.type, linger.ms, ...), checked by librdkafka itself. The
     * properties the uplink sets from other keys (brokers, clientId, tls, sasl) or for its delivery guarantee
     * (idempotence, acks, timeouts) are not allowed here.
     */
    librdkafka: Record<string, string | number | boolean>;
  };
  /** Local store-and-forward queue used while the uplink is down. */
  spool: {
    /** Default: $STATE_DIRECTORY/spool (systemd StateDirectory=, the image: /var/lib/rsu/spool), else a temp directory. */
    dir: string;
    maxBytes: number;
    /** always: fsync each record; interval: every fsyncIntervalMs; never: leave it to the OS. */
    fsync: 'always' | 'interval' | 'never';
    fsyncIntervalMs: number;
  };
  /** `rsu status` alarms (and exits 3) when a link is down or behind for longer than these. */
  alarms: {
    /** A broker link not connected for longer than this, s. */
    linkDownS: number;
    /** A link's oldest undelivered record older than this (the backlog is not draining), s. */
    undeliveredS: number;
  };
}

export interface SpatPhase {
  /** Phase / signal group id, 1-255. */
  id: number;
  /** Seconds. green + yellow + red is the cycle length, the same for all phases. */
  green: number;
  yellow: number;
  red: number;
  /** Start of this phase's green within the cycle, seconds. Cycles are counted from the Unix epoch. */
  offset: number;
}

export interface IntersectionRef {
  /** Road regulator region, 0-65535; 0 when not used. */
  region: number;
  /** 0-65535. */
  id: number;
}

/** Who reported an RSI event (CSAE EventSource). */
export const EVENT_SOURCES = ['unknown', 'police', 'government', 'meteorological', 'internet', 'detection'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** A WGS-84 point (degrees). */
export interface LatLonPoint {
  lat: number;
  lon: number;
}

/**
 * Where an RSI event or sign applies (CSAE ReferencePath; a J2735 TIM path region): 2-32 points listed from
 * upstream to downstream in the direction of travel, and how far from that line it applies.
 */
export interface RsiReferencePath {
  points: LatLonPoint[];
  /** Meters, 0-6553.5 (CSAE Radius, 0.1 m). */
  radiusM: number;
}

/** A MAP node (CSAE NodeReferenceID). */
export interface RsiNodeRef {
  /** Road regulator region, 0-65535; absent when not used. */
  region?: number;
  /** 0-65535. */
  id: number;
}

/** A MAP link an RSI event or sign applies to (CSAE ReferenceLink): from the upstream to the downstream node. */
export interface RsiReferenceLink {
  upstreamNodeId: RsiNodeRef;
  downstreamNodeId: RsiNodeRef;
  /** Lane ids 1-15 of the link it applies to (ReferenceLanes bits); absent: every lane of the link. */
  lanes?: number[];
}

export interface RsiEvent {
  /** Local id of the event, 0-255. */
  id: number;
  /** Event type code of the message set (0-65535): GB/T 29100 event type (CSAE), ITIS code (J2735). */
  type: number;
  description?: string;
  lat: number;
  lon: number;
  /** Meters. */
  radiusM: number;
  /** 0 (lowest) - 7 (highest). */
  priority: number;
  /** Who reported it (CSAE eventSource); default unknown. Detected events are `detection`. */
  source?: EventSource;
  /** When it starts / ends: ISO 8601 with a time zone (e.g. 2026-05-04T08:00:00+08:00), stored as UTC. */
  startTime?: string;
  endTime?: string;
  /** At most 8. */
  referencePaths?: RsiReferencePath[];
  /** At most 16; node ids as in the MAP (`runtime/apps/map.ts`). */
  referenceLinks?: RsiReferenceLink[];
}

/** Signs the RSU can announce by kind (GB 5768.2 sign types / ITIS codes from `runtime/apps/events/codes.ts`). */
export const SIGN_KINDS = ['road-works', 'speed-limit', 'school-zone'] as const;
export type SignKind = (typeof SIGN_KINDS)[number];

/** A road traffic sign (CSAE RSI RTSData; a J2735 TIM road sign). */
export interface RsiSign {
  /** Local id of the sign, 0-255 (a namespace of its own, apart from event ids). */
  id: number;
  /** What the sign says; its code comes from the code table unless `type` is given. */
  kind?: SignKind;
  /**
   * Sign type code (0-65535): GB 5768.2 sign type (CSAE signType) or ITIS code (J2735). Overrides the kind's code;
   * required without a kind, and for kinds whose code no source confirmed for the message set.
   */
  type?: number;
  /** The limit a speed-limit sign shows, km/h (required for kind speed-limit, not allowed otherwise). */
  speedLimitKmh?: number;
  description?: string;
  lat: number;
  lon: number;
  /** Meters: the circle a J2735 TIM applies to (CSAE RTSData has no radius; use referencePaths there). */
  radiusM: number;
  /** 0 (lowest) - 7 (highest). */
  priority: number;
  startTime?: string;
  endTime?: string;
  referencePaths?: RsiReferencePath[];
  referenceLinks?: RsiReferenceLink[];
}

/** The kinds of event the RSU detects from its tracks (runtime/apps/events). */
export const DETECTED_EVENT_KINDS = ['stopped-vehicle', 'vru-in-roadway', 'wrong-way', 'queue', 'speeding'] as const;
export type DetectedEventKind = (typeof DETECTED_EVENT_KINDS)[number];

export const SIGNAL_CONTROLLER_KINDS = ['plan', 'simulated', 'tscbm', 'ntcip', 'gbt20999'] as const;
export type SignalControllerKind = (typeof SIGNAL_CONTROLLER_KINDS)[number];
export const PHASE_OUTPUT_TYPES = ['vehicle', 'pedestrian', 'overlap'] as const;

/** SNMPv3 user (USM) of an NTCIP controller. */
export interface SnmpV3User {
  name: string;
  level: 'noAuthNoPriv' | 'authNoPriv' | 'authPriv';
  /** Required (default sha) with authNoPriv and authPriv. */
  authProtocol?: 'md5' | 'sha';
  /** At least 8 characters; required with authNoPriv and authPriv. */
  authKey?: string;
  /** Required (default aes) with authPriv. */
  privProtocol?: 'des' | 'aes';
  /** At least 8 characters; required with authPriv. */
  privKey?: string;
}

/**
 * Where the SPAT's signal states come from (`applications.spat.controller`, hw/signal). While the source has no
 * current state (a controller that went silent), SPAT is withheld and `rsu status` shows an alarm.
 */
export type SignalControllerConfig =
  /** The fixed-time plan of `applications.spat.phases` (the default). */
  | { kind: 'plan' }
  | {
      kind: 'simulated';
      /** fixed: the plan of `phases`; actuated: `stages`, with min/max greens (ends announced as bounds). */
      mode: 'fixed' | 'actuated';
      /**
       * Actuated only. Default: one stage per distinct phase offset of `phases`, in offset order; maxGreen = the
       * plan's green, minGreen = min(10 s, green), passage 3 s (at most minGreen), the plan's yellow, and as all-red
       * the gap of the plan up to the next stage's green.
       */
      stages?: ActuatedStage[];
    }
  | {
      kind: 'tscbm';
      /** HOST:PORT the controller's TSCBM / SPaT blob datagrams arrive at (V2X Hub's default port is 6053). */
      listen: string;
      /** Accept datagrams from this address only. */
      controllerAddress?: string;
      /** A state older than this is stale: SPAT stops, ms. */
      staleAfterMs: number;
      /** Controller phase (1-16) → SPAT signal group. */
      mapping: PhaseMapping[];
    }
  | {
      kind: 'ntcip';
      /** HOST:PORT of the controller's SNMP agent (usually port 161). */
      target: string;
      /** SNMP version: 1, 2 (v2c) or 3. */
      version: 1 | 2 | 3;
      /** Versions 1 and 2; default "public". */
      community?: string;
      /** Version 3 (required there). */
      user?: SnmpV3User;
      pollMs: number;
      timeoutMs: number;
      /** Default 3 × pollMs + timeoutMs. */
      staleAfterMs?: number;
      /** Preempt inputs watched (preemptState.n). */
      preempts: number[];
      /** Controller phase / overlap → SPAT signal group. */
      mapping: PhaseMapping[];
    }
  | {
      kind: 'gbt20999';
      /** HOST:PORT of the controller speaking GB/T 20999-2017 (the RSU is the host, 上位机). */
      target: string;
      /** udp (default; frames not escaped) or tcp (the RSU connects; frames escaped). */
      transport: 'udp' | 'tcp';
      /** UDP only: local HOST:PORT queries go out from and active uploads (主动上报) arrive at; default any port. */
      listen?: string;
      /** Controller id (信号机ID, 0-4294967295) put in queries; when given, frames with another id are rejected. */
      controllerId?: number;
      /** Host id (上位机ID) in queries, 0-255. */
      hostId: number;
      /** Road id (路口ID) in the frame header, 0-255. */
      roadId: number;
      /** Crossing number (路口序号, 1-255) whose run mode (13.2.2) is read. */
      intersection: number;
      /** Protocol version in queries (0x0100 = 256). */
      version: number;
      pollMs: number;
      timeoutMs: number;
      /** Default 3 × pollMs + timeoutMs. */
      staleAfterMs?: number;
      /** Lamp group (`phase`, 1-64) → SPAT signal group; `type` is not used (the lamp group's colours are reported). */
      mapping: PhaseMapping[];
    };

export interface ApplicationsSection {
  rsm: { enabled: boolean; intervalMs: number; maxParticipants: number };
  spat: {
    enabled: boolean;
    intervalMs: number;
    intersection: IntersectionRef;
    /** The fixed-time plan (controller kinds `plan` and `simulated`). */
    phases: SpatPhase[];
    /** Source of the signal states; default `{ kind: plan }`. */
    controller: SignalControllerConfig;
  };
  map: {
    enabled: boolean;
    intervalMs: number;
    /** Lane map file (the MAP builder's input); required when enabled. */
    file?: string;
  };
  /** RSI (CSAE) / TIM (J2735): configured events (at most 8) and signs (at most 16). */
  rsi: {
    enabled: boolean;
    intervalMs: number;
    events: RsiEvent[];
    signs: RsiSign[];
    /**
     * Event type codes of the detected events, from the deployer's copy of the standards (GB/T 29100 in CSAE sets,
     * ITIS in J2735): for kinds no public source confirmed a code for (stopped-vehicle, vru-in-roadway, wrong-way,
     * speeding in CSAE), which are not sent until one is given here. Overrides the table for the kinds given.
     */
    detectedEventCodes: Partial<Record<DetectedEventKind, number>>;
  };
}

export interface RsuConfig {
  rsu: RsuSection;
  messageSet: MessageSet;
  sensors: SensorConfig[];
  ingest: IngestSection;
  perception: PerceptionSection;
  time: TimeSection;
  radio: RadioSection;
  security: SecuritySection;
  uplink: UplinkSection;
  applications: ApplicationsSection;
  logging: { level: LogLevel };
  /** Prometheus metrics HTTP endpoint; port 0 disables. */
  metrics: { host: string; port: number };
}
