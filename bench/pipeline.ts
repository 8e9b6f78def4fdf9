// `npm run bench:pipeline`: sensor frame arrival → radio datagram latency (p50, p99), CPU time per frame and RSS
// of the daemon, at 50, 100, 200 and 500 objects. The daemon runs in this process, pinned to one core; the
// sensors run in a child process on the other. Writes bench/results/pipeline.md.
// BENCH_PIPELINE_SIGNING=1: instead, at 100 objects (BENCH_PIPELINE_OBJECTS), signing off vs on with ECDSA P-256
// and SM2 (IEEE 1609.2 SPDUs, THROWAWAY certificates), in one run: bench/results/pipeline-signing.md.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startEmbeddedBroker } from '../runtime/broker.js';
import { defaultConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { demoLaneMapPath } from '../runtime/map/index.js';
import { CSAE_AIDS } from '../hw/radio/psid.js';
import { createCryptoBackend, type Curve } from '../runtime/security/index.js';
import { securityCodec } from '../runtime/security/rsu-security.js';
import { issueTestCertificate } from '../runtime/security/test-ca.js';

type Signing = 'off' | Curve;
const SIGNING: Signing[] | undefined = process.env.BENCH_PIPELINE_SIGNING ? ['off', 'nistp256', 'sm2'] : undefined;

/** A THROWAWAY security directory for the CSAE AIDs the daemon signs under. */
async function benchCertificates(dir: string, curve: Curve): Promise<void> {
  const codec = await securityCodec();
  const backend = createCryptoBackend();
  const root = issueTestCertificate(codec, backend, { curve, name: 'bench-root.invalid', validHours: 24 });
  const rsu = issueTestCertificate(codec, backend, { curve, name: 'bench-rsu.invalid', validHours: 24, psids: [CSAE_AIDS.spat, CSAE_AIDS.map, CSAE_AIDS.rsm, CSAE_AIDS.rsi] }, root);
  mkdirSync(join(dir, 'anchors'), { recursive: true });
  writeFileSync(join(dir, 'anchors', 'root.cert'), root.certificate.encoded);
  writeFileSync(join(dir, 'rsu.cert'), rsu.certificate.encoded);
  writeFileSync(join(dir, 'rsu.key.pem'), rsu.keyPem);
}

const SECONDS = Number(process.env.BENCH_PIPELINE_SECONDS ?? 20);
const COUNTS = (process.env.BENCH_PIPELINE_OBJECTS ?? '50,100,200,500').split(',').map(Number);
const pinned = spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]).status === 0;

interface Row {
  n: number;
  frames: number;
  rsm: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  cpuMsPerFrame: number;
  perceptionP99: number | null;
  rssMb: number;
  tracks: number;
  signing: Signing;
  signed: number;
}

async function one(n: number, signing: Signing = 'off'): Promise<Row> {
  const broker = await startEmbeddedBroker();
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  let rsm = 0;
  sink.on('message', () => rsm++);
  const work = mkdtempSync(join(tmpdir(), 'rsu-bench-'));
  const cfg = defaultConfig({ onWarning: () => {} });
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'protobuf' }];
  cfg.radio.mode = 'udp-raw';
  cfg.radio.udpRaw.target = `127.0.0.1:${sink.address().port}`;
  cfg.radio.receive.listen = '127.0.0.1:0'; // no radio receiver
  cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url: broker.url, embeddedBroker: false, version: '3.1.1', ...broker.credentials };
  cfg.uplink.spool.dir = join(work, 'spool');
  cfg.applications.map = { ...cfg.applications.map, enabled: true, file: demoLaneMapPath() };
  cfg.metrics.port = 0;
  if (signing === 'off') cfg.security = { ...cfg.security, enabled: false };
  else {
    await benchCertificates(join(work, 'security'), signing);
    cfg.security = { ...cfg.security, enabled: true, dir: join(work, 'security') };
  }
  const d = await startDaemon({ config: cfg, socketPath: false, logger: pino({ level: 'silent' }) });
  const sender = join(fileURLToPath(new URL('.', import.meta.url)), 'pipeline-sender.js');
  const args = [sender, String(n), String(d.ingestPorts[0]!.port), String(SECONDS)];
  const child = pinned ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: 'inherit' }) : spawn(process.execPath, args, { stdio: 'inherit' });
  // Measure after a warm-up: tracks confirmed, JIT settled.
  await new Promise((r) => setTimeout(r, 3000));
  const f0 = framesOf(d.status());
  const l0 = d.status().frameToRadio.count;
  const c0 = process.cpuUsage();
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 100);
  await new Promise<void>((r) => child.on('exit', () => r()));
  clearInterval(sampler);
  const st = d.status();
  const lat = d.latency(l0);
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify({ lat: st.frameToRadio, perception: st.perception }, null, 1).slice(0, 3000));
  const c = process.cpuUsage(c0);
  const frames = framesOf(st) - f0;
  const per = st.perception as { timing?: { p99Ms?: number }; frameTimeMs?: { p99?: number }; confirmedTracks?: number };
  const signed = Object.values(st.security.signed).reduce((a, b) => a + b, 0);
  if (signing !== 'off' && st.security.signing !== 'signed') throw new Error(`signing ${signing}: ${st.alarms.join('; ')}`);
  await d.stop();
  await broker.close();
  sink.close();
  rmSync(work, { recursive: true, force: true });
  return {
    n,
    frames,
    rsm,
    p50: lat.p50Ms,
    p99: lat.p99Ms,
    max: lat.maxMs,
    cpuMsPerFrame: (c.user + c.system) / 1000 / Math.max(1, frames),
    perceptionP99: per.timing?.p99Ms ?? per.frameTimeMs?.p99 ?? null,
    rssMb: rss / 2 ** 20,
    tracks: per.confirmedTracks ?? 0,
    signing,
    signed,
  };
}

function framesOf(st: { sensors: unknown }): number {
  return Object.values((st.sensors as { sensors: Record<string, { frames: number }> }).sensors).reduce((a, s) => a + s.frames, 0);
}

if (SIGNING) {
  const n = COUNTS.length === 4 ? 100 : COUNTS[0]!;
  const rows: Row[] = [];
  for (const s of SIGNING) {
    rows.push(await one(n, s));
    console.error(`${n} objects, signing ${s}: done`);
  }
  const f = (x: number | null, d = 2) => (x === null ? '–' : x.toFixed(d));
  const off = rows[0]!;
  const lines = [
    '# Pipeline benchmark: signing off vs on',
    '',
    `Sensor frame arrival → RSM datagram on the radio at ${n} objects (CSAE message set, ~7 RSMs per frame), with every SPAT, MAP, RSM and RSI`,
    `signed as an IEEE 1609.2 SPDU (runtime/security: SN-SIGN in the frame path, THROWAWAY certificates; the certificate once a second, the digest`,
    `otherwise) vs unsigned, in one run${pinned ? ', the daemon pinned to one core (the sensors on the other)' : ''}. ${SECONDS} s per row, the first 3 s not counted.`,
    `Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Shared and noisy.`,
    '',
    '| signing | frames | RSM+others signed | latency p50 (ms) | latency p99 (ms) | p99 − unsigned p99 (ms) | max (ms) | CPU per frame (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.signing === 'off' ? 'off' : r.signing === 'sm2' ? 'SM2 / SM3' : 'ECDSA P-256'} | ${r.frames} | ${r.signed} | ${f(r.p50)} | ${f(r.p99)} | ${r.signing === 'off' || r.p99 === null || off.p99 === null ? '–' : f(r.p99 - off.p99)} | ${f(r.max)} | ${f(r.cpuMsPerFrame, 3)} |`),
    '',
    'Issue 15 allows signing to add at most 0.5 ms to the p99.',
    '',
  ];
  writeFileSync(new URL('../../bench/results/pipeline-signing.md', import.meta.url), lines.join('\n'));
  console.log(lines.join('\n'));
  process.exit(0);
}

const rows: Row[] = [];
for (const n of COUNTS) {
  rows.push(await one(n));
  console.error(`${n} objects: done`);
}
const f = (x: number | null, d = 2) => (x === null ? '–' : x.toFixed(d));
const lines = [
  '# Pipeline benchmark',
  '',
  `Sensor frame arrival at the UDP ingest → RSM datagram on the radio, in the daemon process${pinned ? ' pinned to one core (the sensors run on the other)' : ''}.`,
  `Two lidars at 10 Hz and three cameras at 15 Hz see every object; uplink to an embedded MQTT broker with the spool on disk; SPAT 10 Hz and MAP 1 Hz as usual. ${SECONDS} s per row, the first 3 s not counted.`,
  `Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Shared and noisy.`,
  '',
  '| objects | frames | confirmed tracks | latency p50 (ms) | latency p99 (ms) | max (ms) | CPU per frame (ms) | RSS peak (MB) |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.n} | ${r.frames} | ${r.tracks} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.cpuMsPerFrame, 3)} | ${f(r.rssMb, 0)} |`),
  '',
  'Latency is measured inside the daemon from the moment the frame\'s datagram is handed to the ingest until the RSM built from it',
  'has been handed to the radio socket (everything between runs synchronously: decode, checks, perception, RSM build, UPER encode).',
  'CPU per frame is the process CPU time (all threads: ingest, perception, messages, uplink, spool) divided by the frames processed.',
  '',
];
// Compiled to dist/bench/: the results go to the source tree's bench/results/.
writeFileSync(new URL('../../bench/results/pipeline.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
