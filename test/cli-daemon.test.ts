// The field engineer's commands against a running daemon: status, tail, record then replay, send-test, config check.
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { DetectionSender } from '../hw/sensors/index.js';
import { main } from '../runtime/cli/main.js';
import type { Io } from '../runtime/cli/io.js';
import { startDaemon } from '../runtime/daemon.js';
import { DEFAULT_MEASUREMENT_OPTIONS, Georef, buildSensorModels, lidarDetection } from '../runtime/perception/index.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) };
  return { code: await main(argv, io), out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'rsu-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const config = quietDaemonConfig;

t.test('status, tail and record against a running daemon; replay of the recording', async (t) => {
  const socket = join(dir, 'rsu.sock');
  const record = join(dir, 'inputs.jsonl');
  const cfg = config();
  const d = await startDaemon({ config: cfg, socketPath: socket });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : d.stop()));

  const st = await run(['status', '--json', '--socket', socket]);
  t.equal(st.code, 0);
  t.equal(JSON.parse(st.out[0]!).rsuId, cfg.rsu.id);
  const table = await run(['status', '--socket', socket]);
  t.match(table.out[0], /lidar_north\s+lidar/);

  const tail = run(['tail', '--type', 'spat,rsm', '--json', '--socket', socket]);
  const rec = run(['record', record, '--socket', socket]);
  await new Promise((r) => setTimeout(r, 300)); // the subscriptions reach the daemon
  const lidar = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS).find((s) => s.id === 'lidar_north')!;
  const sender = await DetectionSender.connect(`127.0.0.1:${d.ingestPorts[0]!.port}`, { protocol: 'udp' });
  for (let k = 0; k < 15; k++) {
    const o = { id: 1, classification: 'car' as const, x: lidar.origin.x + 8 + k, y: lidar.origin.y + 6, yaw: 0, length: 4.5, width: 1.8, height: 1.5 };
    sender.send({ sensorId: 'lidar_north', captureTimeNs: BigInt(Date.now()) * 1_000_000n, frameNumber: k + 1, objects: [lidarDetection(lidar, o)!] });
    await new Promise((r) => setTimeout(r, 100));
  }
  await sender.close();
  await d.stop();
  stopped = true;
  const tailed = await tail;
  const types = new Set(tailed.out.map((l) => JSON.parse(l).type));
  t.same([...types].sort(), ['rsm', 'spat'], 'tail --type spat,rsm shows exactly those');
  await rec;
  const lines = readFileSync(record, 'utf8').trim().split('\n');
  t.equal(lines.length, 15, 'record: every sensor frame');
  t.equal(JSON.parse(lines[0]!).kind, 'sensor');

  const replay = await run(['replay', record]);
  t.equal(replay.code, 0);
  t.match(replay.out[0], /^replayed 15 inputs from .*; built \(radio off\) .*\d+ rsm/);
});

t.test('no daemon: a clear error', async (t) => {
  const r = await run(['status', '--socket', join(dir, 'nobody.sock')]);
  t.equal(r.code, 1);
  t.match(r.err[0], /no rsu daemon answers on .*nobody\.sock/);
});

t.test('send-test: one message over the radio, decodable', async (t) => {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sink.close());
  const got = new Promise<Buffer>((r) => sink.once('message', r));
  const res = await run(['send-test', '--type', 'spat', '--to', `udp://127.0.0.1:${sink.address().port}`]);
  t.equal(res.code, 0, res.err.join('\n'));
  const ms = (await loadMessageSet('csae2020')) as MessageSet;
  const v = ms.decode('MessageFrame', new Uint8Array(await got)) as { spatFrame?: unknown };
  t.ok(v.spatFrame, 'a SPAT arrived and decodes');
  t.equal(res.out[0], Buffer.from(await got).toString('hex').toUpperCase());
  t.equal((await run(['send-test', '--type', 'bogus'])).code, 2);
});

t.test('config check', async (t) => {
  const good = await run(['config', 'check', new URL('../deploy/rsu.example.yaml', import.meta.url).pathname]);
  t.equal(good.code, 0, good.out.join('\n'));
  const bad = await run(['config', 'check', new URL('./fixtures/config/bad-values.yaml', import.meta.url).pathname, '--json']);
  t.equal(bad.code, 1);
  t.ok(JSON.parse(bad.out[0]!).errors.length > 0);
});
