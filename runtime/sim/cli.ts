// Drives an RSU's sensor ingest with simulated lidar and camera frames:
//
//   npx tsx runtime/sim/cli.ts --target 127.0.0.1:7400 [--protocol udp|tcp] [--format protobuf|json]
//       [--config rsu.yaml] [--map lanes.geojson] [--seed 7] [--duration 60] [--fast]
//
// Real time by default (frames leave when their capture time comes, with the signal timing the RSU's SPAT uses);
// --fast runs as fast as the link takes them. Without --duration it runs until interrupted.

import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { DetectionSender } from '../../hw/sensors/sender.js';
import { demoLaneMapPath, loadLaneMap } from '../map/index.js';
import { runSimulation } from './runner.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      protocol: { type: 'string', default: 'udp' },
      format: { type: 'string', default: 'protobuf' },
      config: { type: 'string' },
      map: { type: 'string' },
      seed: { type: 'string', default: '1' },
      duration: { type: 'string' },
      fast: { type: 'boolean', default: false },
    },
  });
  if (!values.target || !['udp', 'tcp'].includes(values.protocol!) || !['protobuf', 'json'].includes(values.format!)) {
    process.stderr.write('usage: cli.ts --target HOST:PORT [--protocol udp|tcp] [--format protobuf|json] [--config FILE] [--map FILE] [--seed S] [--duration S] [--fast]\n');
    return 2;
  }
  const config = loadConfig(values.config, { onWarning: (w) => process.stderr.write(`warning: ${w.path}: ${w.message}\n`) });
  const laneMap = loadLaneMap(values.map ?? config.applications.map.file ?? demoLaneMapPath());
  const sender = await DetectionSender.connect(values.target, { protocol: values.protocol as 'udp' | 'tcp', format: values.format as 'protobuf' | 'json' });
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  const seed = /^-?\d+$/.test(values.seed!) ? Number(values.seed) : values.seed!;
  const res = await runSimulation({
    config,
    laneMap,
    seed,
    realtime: !values.fast,
    signal: ac.signal,
    ...(values.duration !== undefined ? { durationS: Number(values.duration) } : {}),
    send: async (f) => {
      if (!sender.send(f)) await sender.drained();
    },
  });
  await sender.close();
  for (const [id, s] of Object.entries(res.sensors))
    process.stdout.write(`${id}: ${s.frames} frames, ${(s.detections / Math.max(1, s.frames)).toFixed(1)} detections per frame\n`);
  process.stdout.write(`${res.simS.toFixed(1)} s simulated in ${(res.wallMs / 1000).toFixed(1)} s; send errors: ${sender.errors}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
