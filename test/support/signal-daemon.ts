// A daemon config for the signal-controller tests, through the validator: one lidar, radio to a local SPAT sink,
// nothing else listening but the controller.
import { formatIssue, validateConfig, type RsuConfig } from '../../runtime/config/index.js';

export function signalDaemonConfig(controller: unknown, sinkPort: number): RsuConfig {
  const r = validateConfig({
    rsu: { id: 'SIG01', reference: { lat: 48.2495, lon: 11.6389 } },
    sensors: [{ id: 'l1', kind: 'lidar', pose: {} }],
    ingest: { listeners: [{ protocol: 'udp', listen: '127.0.0.1:0' }] },
    radio: { mode: 'udp-raw', udpRaw: { target: `127.0.0.1:${sinkPort}` }, receive: { listen: '127.0.0.1:0' } },
    uplink: { mqtt: { enabled: false }, kafka: { enabled: false } },
    applications: { spat: { controller }, rsi: { enabled: false }, rsm: { enabled: false } },
    logging: { level: 'silent' },
    metrics: { port: 0 },
  });
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.config!;
}
