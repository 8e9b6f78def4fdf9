// A daemon config for the signal-controller tests, through the validator: one lidar, radio to a local SPAT sink,
// nothing else listening but the controller.
import { createSocket } from 'node:dgram';
import { loadMessageSet } from '../../codecs/index.js';
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

/** A local radio receiver that decodes every datagram (csae2020) and keeps the SPATs with their arrival time. */
export async function radioSink(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; spats: { at: number; v: any }[] }> {
  const ms = await loadMessageSet('csae2020');
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sink.close());
  const spats: { at: number; v: any }[] = [];
  sink.on('message', (b) => {
    const v = ms.decode('MessageFrame', new Uint8Array(b)) as any;
    if (v.spatFrame) spats.push({ at: Date.now(), v: v.spatFrame });
  });
  return { port: sink.address().port, spats };
}

/** The alarms besides the UNSIGNED one these unsigned test daemons raise by design (runtime/security). */
export const alarmsBesidesUnsigned = (alarms: string[]): string[] => alarms.filter((a) => !a.startsWith('UNSIGNED'));
