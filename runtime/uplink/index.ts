/**
 * Cloud uplink with store-and-forward: public API.
 *
 *   const up = await Uplink.open({ rsuId, spool: { dir }, mqtt: { url }, kafka: { brokers } });
 *   up.submit({ type: 'bsm', uper, captureTimeMs });
 *   up.setDownlinkHandler('rsi', { validate, apply });
 *   up.stats();
 *   await up.close();
 */
export { type LinkHealth } from './health.js';
export { Uplink, type UplinkOptions, type UplinkRecord, type UplinkStats, type SubmitResult } from './uplink.js';
export {
  Spool,
  SpoolError,
  DEFAULT_FSYNC_POLICY,
  type SpoolOptions,
  type SpoolStats,
  type SpoolReader,
  type SpoolRecord,
  type ConsumerStats,
  type FsyncPolicy,
  type SpoolErrorCode,
} from './spool.js';
export { MqttUplink, type MqttUplinkOptions, type MqttTlsOptions, type MqttStats } from './mqtt.js';
export { KafkaUplink, loadRdKafka, type KafkaUplinkOptions, type KafkaStats } from './kafka.js';
export {
  DownlinkProcessor,
  type DownlinkHandler,
  type DownlinkHandlers,
  type DownlinkKind,
  type DownlinkVerdict,
  type DownlinkStats,
  type DownlinkOptions,
} from './downlink.js';
export {
  encodeEnvelope,
  decodeEnvelope,
  encodeDownlink,
  decodeDownlink,
  encodeDownlinkAck,
  decodeDownlinkAck,
  encodeStatus,
  decodeStatus,
  EnvelopeError,
  type Envelope,
  type EnvelopeSummary,
  type DownlinkMessage,
  type DownlinkAck,
  type RsuStatus,
  type RsuState,
} from './envelope.js';
export {
  MESSAGE_TYPES,
  MESSAGE_TYPE_CODE,
  mqttTopics,
  UplinkConfigError,
  type MessageTypeName,
  type MqttTopics,
  type BrokerState,
  type Logger,
} from './types.js';
