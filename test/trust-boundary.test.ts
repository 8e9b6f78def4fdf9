/**
 * Issue 12 D5: `rsu run` with no config started an anonymous MQTT broker on 127.0.0.1:1883, through which any
 * local user could switch SPAT off. The embedded broker is now the demo's: `rsu run` starts none, and where it
 * runs it takes only credentials made for that run, in a file only its user can read. (The downlinks themselves:
 * test/adversarial/downlinks.test.ts.)
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startEmbeddedBroker } from '../runtime/broker.js';
import { startDemo } from '../runtime/cli/demo.js';
import { defaultConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { freePort } from './support/mosquitto.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';
import { tmpDir, until } from './support/wait.js';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Connect with these options; resolves with the CONNACK's refusal, or 'connected'. */
function tryConnect(url: string, opts: mqtt.IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...opts });
    c.once('connect', () => (c.end(true), resolve('connected')));
    c.once('error', (e) => (c.end(true), resolve(`refused: ${e.message}`)));
  });
}

t.test('rsu run with no config starts no broker', async (t) => {
  t.equal(defaultConfig({ onWarning: () => {} }).uplink.mqtt.embeddedBroker, false, 'the default');
  const port = await freePort();
  const cfg = quietDaemonConfig();
  cfg.uplink.mqtt = { ...defaultConfig({ onWarning: () => {} }).uplink.mqtt, url: `mqtt://127.0.0.1:${port}` }; // the defaults, on a free port
  cfg.uplink.spool.dir = tmpDir(t, 'rsu-tb-spool-');
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await listening(port), false, `nothing listens on ${port}: no embedded broker`);
  t.not((d.status().uplink as { mqtt: { state: string } }).mqtt.state, 'up', 'the uplink waits for a broker (records stay in the spool)');
});

t.test('the embedded broker takes only the credentials of this run, from an owner-only file', async (t) => {
  const dir = tmpDir(t, 'rsu-tb-');
  const file = path.join(dir, 'mqtt-credentials.json');
  // A symlink planted where the file goes is replaced, never written through.
  const target = path.join(dir, 'victim');
  fs.writeFileSync(target, 'untouched');
  fs.symlinkSync(target, file);
  const b = await startEmbeddedBroker({ credentialsFile: file });
  t.teardown(() => b.close());
  t.equal(fs.readFileSync(target, 'utf8'), 'untouched', 'the symlink target is untouched');
  const st = fs.lstatSync(file);
  t.ok(st.isFile(), 'a regular file');
  t.equal(st.mode & 0o777, 0o600, 'readable by its owner only');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { url: string; username: string; password: string };
  t.same(saved, { url: b.url, ...b.credentials });
  t.ok(saved.password.length >= 32, 'a random password of 192 bits');

  t.match(await tryConnect(b.url, {}), /^refused: .*(Not authorized|Bad username or password)/i, 'an anonymous client is refused');
  t.match(await tryConnect(b.url, { username: 'rsu', password: 'guess' }), /^refused: /, 'a wrong password is refused');
  t.equal(await tryConnect(b.url, b.credentials), 'connected', 'the credentials of this run are taken');
  t.equal(b.refused(), 2, 'refusals counted');

  const other = await startEmbeddedBroker();
  t.teardown(() => other.close());
  t.not(other.credentials.password, b.credentials.password, 'each run makes its own');
  await b.close();
  t.equal(fs.existsSync(file), false, 'the file goes with the broker');
});

t.test('uplink.mqtt.embeddedBroker in rsu run: the daemon starts it with per-run credentials beside its status socket and connects', async (t) => {
  const port = await freePort();
  const cfg = quietDaemonConfig();
  cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url: `mqtt://127.0.0.1:${port}`, embeddedBroker: true };
  cfg.uplink.spool.dir = tmpDir(t, 'rsu-tb-spool-');
  const sockDir = tmpDir(t, 'rsu-tb-sock-');
  const d = await startDaemon({ config: cfg, socketPath: path.join(sockDir, 'rsu.sock') });
  t.teardown(() => d.stop());
  const file = path.join(sockDir, 'mqtt-credentials.json');
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  await until('the uplink connected to the embedded broker', () => (d.status().uplink as { mqtt: { state: string } }).mqtt.state === 'up', 10_000, 20);
  t.match(await tryConnect(`mqtt://127.0.0.1:${port}`, {}), /^refused: /, 'anonymous clients are refused');
  const { username, password } = JSON.parse(fs.readFileSync(file, 'utf8')) as { username: string; password: string };
  t.equal(await tryConnect(`mqtt://127.0.0.1:${port}`, { username, password }), 'connected', 'the owner can subscribe with the file');
});

t.test('the demo: its broker wants the credentials of the run, which the demo\'s own uplink uses', { timeout: 60_000 }, async (t) => {
  const demo = await startDemo({ socketPath: false, configure: (c) => void (c.logging.level = 'silent') });
  t.teardown(() => demo.stop());
  const file = demo.mqttCredentialsFile!;
  t.equal(fs.statSync(file).mode & 0o777, 0o600, `${path.basename(file)} readable by its owner only`);
  t.equal(fs.statSync(path.dirname(file)).mode & 0o077, 0, 'in a directory only its owner can enter');
  const { url, username, password } = JSON.parse(fs.readFileSync(file, 'utf8')) as { url: string; username: string; password: string };
  t.match(await tryConnect(url, {}), /^refused: /, 'another local user cannot connect anonymously');
  t.equal(await tryConnect(url, { username, password }), 'connected');
  await until('the demo\'s uplink acknowledged', () => ((demo.daemon.status().uplink as { mqtt: { acked: number } }).mqtt.acked ?? 0) > 0, 20_000, 50);
  await demo.stop();
  t.equal(fs.existsSync(file), false, 'gone with the demo');
});
