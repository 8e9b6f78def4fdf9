// A daemon config that opens nothing but its status socket and a loopback ingest: radio off, no uplink, no
// metrics, silent logs. For tests that start daemons to talk to over the status socket.
import { defaultConfig, type RsuConfig } from '../../runtime/config/index.js';

export function quietDaemonConfig(): RsuConfig {
  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.radio.mode = 'off';
  cfg.radio.receive.listen = '127.0.0.1:0';
  cfg.uplink.mqtt.enabled = false;
  cfg.uplink.kafka.enabled = false;
  cfg.metrics.port = 0;
  cfg.logging.level = 'silent';
  return cfg;
}
