// What is installed is what runs: the packed package (`npm pack`; package.json's `files` is the list) installed
// by scripts/install-runtime.sh (the Dockerfile's runtime layer) into an empty directory, away from the source
// tree, runs the demo and `rsu run` with the example config, with the learned (ONNX) fusion, not its fallback.
// node-rdkafka's librdkafka build (about 2 minutes) is the one step left out: neither run uses Kafka.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import mqtt from 'mqtt';
import { parse, stringify } from 'yaml';
import { startEmbeddedBroker } from '../runtime/broker.js';
import { decodeStatus } from '../runtime/uplink/index.js';
import { cleanEnv, installPacked } from './support/packed.js';
import { freeTcpPort, freeUdpPort } from './support/ports.js';
import { REPO } from './support/vectors.js';
import { tmpDir, until } from './support/wait.js';

const root = tmpDir(t, 'rsu-packed-');
const app = join(root, 'app');
const env = cleanEnv();
t.before(() => void installPacked(root));

t.test('the installed package: what runs, no source tree', async (t) => {
  for (const f of ['dist/runtime/cli/main.js', 'models/fusion.onnx', 'deploy/rsu.example.yaml', 'deploy/calib/tumtraf-s110/LICENSE', 'codecs/proto/uplink.proto', 'runtime/view/index.html', 'runtime/map/demo-intersection.geojson']) {
    t.ok(existsSync(join(app, f)), f);
  }
  const own = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules'));
  t.same(own.filter((f) => /(?<!\.d)\.ts$/.test(f)), [], 'no TypeScript sources');
  t.notOk(existsSync(join(app, 'test')), 'no tests');
  const napi = join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  t.same(readdirSync(napi), ['linux'], 'onnxruntime: linux binaries only');
  t.same(readdirSync(join(napi, 'linux')), [process.arch], `onnxruntime: ${process.arch} only`);
  t.notOk(existsSync(join(app, 'node_modules', 'node-rdkafka', 'deps')), 'no librdkafka sources');
});

const modelSha = createHash('sha256').update(readFileSync(join(REPO, 'models', 'fusion.onnx'))).digest('hex');
const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout?.trim();

t.test('rsu --version and rsu version --json from the installed package', async (t) => {
  const main = join(app, 'dist', 'runtime', 'cli', 'main.js');
  const v = spawnSync(process.execPath, [main, '--version'], { cwd: root, env, encoding: 'utf8' });
  t.equal(v.status, 0, v.stderr);
  t.match(v.stdout, new RegExp(`^rsu-edge ${JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version}`));
  t.match(v.stdout, `sha256:${modelSha}`);
  const j = spawnSync(process.execPath, [main, 'version', '--json'], { cwd: root, env, encoding: 'utf8' });
  const b = JSON.parse(j.stdout);
  t.equal(b.node, process.version);
  t.equal(b.model.sha256, modelSha, 'the shipped model is the repository\'s');
  t.equal(b.model.path, join(app, 'models', 'fusion.onnx'), 'the installed package\'s own model');
  t.same(b.messageSets, ['csae2020', 'csae2019', 'j2735-2020', 'j2735-2016']);
  t.match(b.codecCompiler, /^codegen v\d+$/);
  if (commit) {
    // dist/ was built at some commit of this repository (not necessarily HEAD: a later commit may not touch dist).
    t.match(b.commit, /^[0-9a-f]{40}(-dirty)?$/, 'the commit written at build time');
    t.equal(spawnSync('git', ['cat-file', '-e', `${String(b.commit).replace(/-dirty$/, '')}^{commit}`], { cwd: REPO }).status, 0, `${b.commit} is a commit of this repository`);
  } else t.comment('not a git checkout: no commit to compare');
});

t.test('rsu demo --duration 5 from the installed package runs the ONNX fusion', async (t) => {
  const cwd = join(root, 'empty');
  mkdirSync(cwd);
  const r = spawnSync(process.execPath, [join(app, 'dist', 'runtime', 'cli', 'main.js'), 'demo', '--duration', '5'], { cwd, env: { ...env, RSU_SOCKET: join(root, 'demo.sock') }, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /rsu demo stopped \(duration\)/);
  t.match(r.stdout, /^(SPAT|MAP)\s+[1-9]\d*/m, `the receiver decoded the broadcast:\n${r.stdout}`);
  t.match(r.stdout, /\(fusion: onnx\)/, 'the learned fusion ran');
  t.notMatch(r.stdout, /fallback/);
});

t.test('rsu run with the example config from the installed package', async (t) => {
  // The example as the README installs it (config and calibrations in one directory), on free loopback ports.
  const etc = join(root, 'etc', 'rsu');
  mkdirSync(etc, { recursive: true });
  cpSync(join(app, 'deploy', 'calib'), join(etc, 'calib'), { recursive: true });
  const cfg = parse(readFileSync(join(app, 'deploy', 'rsu.example.yaml'), 'utf8'));
  const [udp, tcp, json, rx, ctl] = [await freeUdpPort(), await freeTcpPort(), await freeTcpPort(), await freeUdpPort(), await freeUdpPort()];
  cfg.ingest.listeners = [
    { protocol: 'udp', listen: `127.0.0.1:${udp}`, format: 'protobuf' },
    { protocol: 'tcp', listen: `127.0.0.1:${tcp}`, format: 'protobuf' },
    { protocol: 'tcp', listen: `127.0.0.1:${json}`, format: 'json' },
  ];
  cfg.radio.receive.listen = `127.0.0.1:${rx}`;
  cfg.applications.spat.controller.listen = `127.0.0.1:${ctl}`;
  // The example's regional broker: here a local one, with the same kind of credentials (password from the environment).
  const b = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
  t.teardown(() => b.close());
  Object.assign(cfg.uplink.mqtt, { url: b.url, username: b.credentials.username, passwordEnv: 'RSU_TEST_MQTT_PASSWORD' });
  cfg.uplink.spool.dir = join(root, 'spool');
  cfg.metrics.port = await freeTcpPort();
  writeFileSync(join(etc, 'rsu.yaml'), stringify(cfg));

  const main = join(app, 'dist', 'runtime', 'cli', 'main.js');
  const runEnv = { ...env, RSU_SOCKET: join(root, 'run.sock'), RSU_TEST_MQTT_PASSWORD: b.credentials.password };
  const d = spawn(process.execPath, [main, 'run', '--config', join(etc, 'rsu.yaml')], { cwd: root, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  d.stdout.on('data', (b) => (out += b));
  d.stderr.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((r) => d.on('exit', (code) => r(code)));
  t.teardown(() => d.kill('SIGKILL'));

  let st: { perception?: { mode?: string }; rsuId?: string; build?: { model: { sha256?: string } } } = {};
  await until('the daemon answers rsu status', () => {
    const s = spawnSync(process.execPath, [main, 'status', '--json'], { env: runEnv, encoding: 'utf8', timeout: 10_000 });
    // Exit status 3: the daemon answers and has alarms (the example's gpsd and signal controller are not here).
    const answered = s.status === 0 || s.status === 3;
    if (answered) st = JSON.parse(s.stdout);
    return answered || d.exitCode !== null;
  }, 30_000, 250).catch((e) => t.fail(`${e}\n${out}`));
  t.equal(d.exitCode, null, d.exitCode === null ? 'running' : `exited: ${out.slice(-2000)}`);
  t.equal(st.rsuId, cfg.rsu.id);
  t.equal(st.perception?.mode, 'onnx', 'the learned fusion, not its fallback');
  t.equal(st.build?.model.sha256, modelSha, 'status: the model digest');

  // The same on the metrics endpoint and in the retained MQTT status message.
  const prom = await (await fetch(`http://127.0.0.1:${cfg.metrics.port}/metrics`)).text();
  t.match(prom, new RegExp(`^rsu_build_info\\{[^}]*model_sha256="${modelSha}"[^}]*\\} 1$`, 'm'), 'rsu_build_info');
  const c = mqtt.connect(b.url, { protocolVersion: 4, reconnectPeriod: 0, ...b.credentials });
  t.teardown(() => c.end(true));
  const sw = await new Promise<string>((res, rej) => {
    setTimeout(() => rej(new Error('no retained status message in 10 s')), 10_000).unref();
    c.on('message', (_topic, payload) => res(decodeStatus(payload).softwareVersion));
    c.on('connect', () => c.subscribe(`${cfg.uplink.mqtt.topicPrefix}/${cfg.rsu.id}/status`));
    c.on('error', rej);
  });
  t.match(sw, commit ? /^rsu-edge \d+\.\d+\.\d+\+[0-9a-f]{12}(-dirty)?$/ : /^rsu-edge \d+\.\d+\.\d+/, `software_version ${sw}`);
  c.end(true);
  d.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop on SIGTERM');
});
