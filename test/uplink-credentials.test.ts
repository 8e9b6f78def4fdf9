/**
 * Broker credentials (issue 12 D10, issue 16 point 4): MQTT username and password from their own config keys
 * (a file, the environment) against a real mosquitto whose password_file mosquitto_passwd made; the password
 * never in a log line, the status or an error; URLs always redacted. Kafka TLS/SASL and librdkafka properties:
 * checked by librdkafka itself, delivered through librdkafka's mock cluster and read back with kcat.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { redactUrl, validateConfig, type RsuConfig } from '../runtime/config/index.js';
import { kafkaProperties, startDaemon } from '../runtime/daemon.js';
import { Uplink } from '../runtime/uplink/index.js';
import { authBrokerMissing, makeServerPki, startAuthMosquitto } from './support/broker-auth.js';
import { KafkaMock, kafkaMissing } from './support/kafka-mock.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';
import { tmpDir, until } from './support/wait.js';

const PASSWORD = 'p@ss:w0rd/+#%20é';
const mqttSkip = authBrokerMissing(false);

/** A pino logger whose lines are kept, to search them for secrets. */
function capturedLogger(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  return { logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }), text: () => lines.join('') };
}

function mqttDaemonConfig(t: Test, url: string, mqtt: Partial<RsuConfig['uplink']['mqtt']>): RsuConfig {
  const cfg = quietDaemonConfig();
  cfg.rsu.id = 'CRED01';
  cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, url, version: '3.1.1', ...mqtt };
  cfg.uplink.spool.dir = tmpDir(t, 'rsu-cred-spool-');
  cfg.radio.mode = 'udp-raw'; // SPAT goes to the uplink too
  cfg.radio.udpRaw.target = '127.0.0.1:9'; // discard
  return cfg;
}

t.test('MQTT username and password file against mosquitto with a password_file: connected, the password shown nowhere', { skip: mqttSkip ?? false, timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'rsu-cred-');
  const broker = await startAuthMosquitto(dir, { rsu: PASSWORD });
  t.teardown(() => broker.stop());
  const pwFile = path.join(dir, 'mqtt.password');
  fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });

  // The config file's way: username + passwordFile, validated as `rsu config check` does.
  const checked = validateConfig({ sensors: [], uplink: { mqtt: { url: broker.url, username: 'rsu', passwordFile: pwFile } } });
  t.ok(checked.ok, 'username + passwordFile pass the check');
  t.same(checked.warnings.filter((w) => w.path.startsWith('uplink')), [], 'a 0600 password file on a local broker: no warning');
  fs.chmodSync(pwFile, 0o644);
  const loose = validateConfig({ sensors: [], uplink: { mqtt: { url: broker.url, username: 'rsu', passwordFile: pwFile } } });
  t.match(loose.warnings.filter((w) => w.path.startsWith('uplink')).map((w) => `${w.path}: ${w.message}`), [/^uplink\.mqtt\.passwordFile: readable by other users \(mode 644\): chmod 600 /]);
  fs.chmodSync(pwFile, 0o600);

  // Start with a stale password in the file; the file is read at each connection, so fixing it is enough.
  fs.writeFileSync(pwFile, 'stale-password\n');
  const log = capturedLogger();
  const d = await startDaemon({ config: mqttDaemonConfig(t, broker.url, { username: 'rsu', passwordFile: pwFile }), logger: log.logger, socketPath: false });
  t.teardown(() => d.stop());
  type Up = { mqtt: { state: string; acked: number; url: string; connectFailures: number; lastError: string } };
  const up = () => d.status().uplink as Up;
  await until('the stale password refused', () => up().mqtt.connectFailures > 0, 15_000, 50);
  fs.writeFileSync(pwFile, PASSWORD + '\n');
  await until('the uplink acknowledged by mosquitto', () => up().mqtt.state === 'up' && up().mqtt.acked > 5, 20_000, 50);
  t.pass('connected with the rotated password file, no restart');
  t.match(log.text(), /mqtt uplink connected/, 'the connected line is logged');
  t.notOk(log.text().includes(PASSWORD) || log.text().includes('stale-password'), 'no password is in a log line');
  t.notOk(JSON.stringify(d.status()).includes(PASSWORD), 'nor in the status (rsu status --json)');
  t.match(broker.log(), /New client connected .* u'rsu'/, 'mosquitto saw user rsu');
});

t.test('a wrong password from the environment: refused by mosquitto, said so, the password shown nowhere', { skip: mqttSkip ?? false, timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'rsu-cred-');
  const broker = await startAuthMosquitto(dir, { rsu: PASSWORD });
  t.teardown(() => broker.stop());
  const WRONG = 'wrong-secret-4711';
  process.env.RSU_TEST_MQTT_PASSWORD = WRONG;
  t.teardown(() => void delete process.env.RSU_TEST_MQTT_PASSWORD);
  t.ok(validateConfig({ sensors: [], uplink: { mqtt: { url: broker.url, username: 'rsu', passwordEnv: 'RSU_TEST_MQTT_PASSWORD' } } }).ok);
  const unset = validateConfig({ sensors: [], uplink: { mqtt: { url: broker.url, username: 'rsu', passwordEnv: 'RSU_TEST_NOT_SET' } } });
  t.match(unset.errors.map((e) => `${e.path}: ${e.message}`), [/^uplink\.mqtt\.passwordEnv: the environment variable RSU_TEST_NOT_SET is not set/]);

  const log = capturedLogger();
  const d = await startDaemon({ config: mqttDaemonConfig(t, broker.url, { username: 'rsu', passwordEnv: 'RSU_TEST_MQTT_PASSWORD' }), logger: log.logger, socketPath: false });
  t.teardown(() => d.stop());
  type Up = { mqtt: { state: string; connectFailures: number; lastError: string } };
  const up = () => d.status().uplink as Up;
  await until('a refused connection', () => up().mqtt.connectFailures > 0 && up().mqtt.lastError !== '', 15_000, 50);
  t.not(up().mqtt.state, 'up');
  t.match(up().mqtt.lastError, /broker refused the connection: .*(Not authorized|Bad username or password)/i, 'the refusal is named');
  for (const secret of [WRONG]) {
    t.notOk(log.text().includes(secret), 'the password is in no log line');
    t.notOk(JSON.stringify(d.status()).includes(secret), 'nor in the status');
  }
});

t.test('credentials in a URL: refused by the config check (shown redacted), taken out and redacted by the client', { skip: mqttSkip ?? false, timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'rsu-cred-');
  const broker = await startAuthMosquitto(dir, { rsu: PASSWORD });
  t.teardown(() => broker.stop());
  const withCreds = broker.url.replace('mqtt://', `mqtt://rsu:${encodeURIComponent(PASSWORD)}@`);
  t.equal(redactUrl(withCreds), broker.url.replace('mqtt://', 'mqtt://rsu:***@'));
  t.equal(redactUrl('wss://h.example/mqtt?access_token=abc&x=1'), 'wss://h.example/mqtt?access_token=***&x=1');

  const r = validateConfig({ sensors: [], uplink: { mqtt: { url: withCreds } } });
  t.match(r.errors.map((e) => `${e.path}: ${e.message}`), [/^uplink\.mqtt\.url: carries credentials \(mqtt:\/\/rsu:\*\*\*@127\.0\.0\.1:\d+\): put them in uplink\.mqtt\.username and passwordFile/]);
  t.notOk(JSON.stringify(r).includes(encodeURIComponent(PASSWORD)), 'the error does not show the password');

  // The library (the demo's --mqtt URL) takes them out of the URL and connects with them.
  const log = capturedLogger();
  const u = await Uplink.open({ rsuId: 'CRED02', spool: { dir: tmpDir(t, 'rsu-cred-spool-') }, mqtt: { url: withCreds, protocolVersion: 4 }, logger: log.logger });
  t.teardown(() => u.close());
  u.submit({ type: 'spat', uper: new Uint8Array([1, 2, 3]) });
  await until('the record acknowledged', () => u.stats().mqtt!.acked === 1, 15_000, 20);
  t.equal(u.stats().mqtt!.url, broker.url.replace('mqtt://', 'mqtt://rsu:***@'), 'stats show the URL redacted');
  t.notOk(log.text().includes(encodeURIComponent(PASSWORD)) || log.text().includes(PASSWORD), 'no log line has the password');
  t.match(log.text(), /"url":"mqtt:\/\/rsu:\*\*\*@127\.0\.0\.1:\d+"[^\n]*mqtt uplink connected/, 'the connected line shows it redacted');
});

const opensslMissing = spawnSync('openssl', ['version']).error ? 'openssl not runnable (the TLS files are made with it)' : false;
t.test('Kafka: TLS and SASL properties, password from a file or the environment, pass-through checked by librdkafka', { skip: opensslMissing }, async (t) => {
  const dir = tmpDir(t, 'rsu-kcred-');
  const pw = path.join(dir, 'kafka.password');
  fs.writeFileSync(pw, 'kafka-secret\n', { mode: 0o600 });
  // A real CA certificate: config check reads TLS files and refuses what is not one.
  const ca = makeServerPki(dir).caCrt;
  const check = (kafka: unknown) => validateConfig({ sensors: [], uplink: { mqtt: { enabled: false }, kafka: { enabled: true, brokers: ['k1:9093'], ...(kafka as object) } } });
  const ok = check({ tls: { ca }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'rsu', passwordFile: pw }, librdkafka: { 'compression.type': 'lz4', 'linger.ms': 20 } });
  t.same(ok.errors, []);
  t.same(kafkaProperties(ok.config!.uplink.kafka), {
    'compression.type': 'lz4',
    'linger.ms': 20,
    'security.protocol': 'sasl_ssl',
    'ssl.ca.location': ca,
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': 'rsu',
    'sasl.password': 'kafka-secret',
  });
  const env = check({ sasl: { username: 'rsu', passwordEnv: 'PATH' } });
  t.same(kafkaProperties(env.config!.uplink.kafka), { 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'rsu', 'sasl.password': process.env.PATH });
  t.same(kafkaProperties(check({ tls: { ca } }).config!.uplink.kafka), { 'security.protocol': 'ssl', 'ssl.ca.location': ca });

  const errors = (kafka: unknown) => check(kafka).errors.map((e) => `${e.path}: ${e.message}`);
  const warnings = (kafka: unknown) => check(kafka).warnings.filter((w) => w.path.startsWith('uplink')).map((w) => `${w.path}: ${w.message}`);
  t.match(errors({ librdkafka: { 'compresion.type': 'lz4' } }), [/^uplink\.kafka\.librdkafka\.compresion\.type: librdkafka: No such configuration property: "compresion\.type"/]);
  t.match(errors({ librdkafka: { 'compression.type': 'zip' } }), [/^uplink\.kafka\.librdkafka: librdkafka: Invalid value "zip" for configuration property "compression\.codec"/]);
  t.match(errors({ librdkafka: { 'sasl.password': 'x' } }), [/^uplink\.kafka\.librdkafka\.sasl\.password: set by uplink\.kafka\.sasl\.passwordFile or passwordEnv, not here$/]);
  t.match(errors({ librdkafka: { 'enable.idempotence': false } }), [/^uplink\.kafka\.librdkafka\.enable\.idempotence: set by the uplink/]);
  t.match(errors({ librdkafka: { 'linger.ms': [1] } }), [/^uplink\.kafka\.librdkafka\.linger\.ms: expected a string, number or boolean, got a list$/]);
  t.match(errors({ sasl: { username: 'rsu' } }), [/^uplink\.kafka\.sasl: missing: give the SASL password as passwordFile, passwordEnv or password$/]);
  t.match(errors({ sasl: { username: 'rsu', password: 'a', passwordFile: pw } }), [/^uplink\.kafka\.sasl\.passwordFile: give one of password, passwordFile, passwordEnv, not password and passwordFile$/]);
  t.match(errors({ sasl: { username: 'rsu', password: 271828182 } }), [/^uplink\.kafka\.sasl\.password: expected a string \(quote it in YAML\), got a number$/], 'an inline password is never shown');
  t.match(errors({ sasl: { mechanism: 'SCRAM-SHA-1', username: 'rsu', passwordFile: pw } }), [/^uplink\.kafka\.sasl\.mechanism: expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "SCRAM-SHA-1"/]);
  t.match(warnings({ sasl: { mechanism: 'PLAIN', username: 'rsu', passwordFile: pw } }), [/^uplink\.kafka\.sasl\.mechanism: PLAIN without tls sends the password in clear/]);
  t.throws(() => kafkaProperties({ ...ok.config!.uplink.kafka, sasl: { mechanism: 'PLAIN', username: 'rsu', passwordFile: path.join(dir, 'gone') } }), { message: /^uplink\.kafka\.sasl\.passwordFile: cannot read .*gone: ENOENT$/ });
});

const kafkaSkip = kafkaMissing();

t.test('Kafka through librdkafka\'s mock cluster: pass-through properties deliver; SASL reaches librdkafka; the password shown nowhere', { skip: kafkaSkip ?? false, timeout: 90_000 }, async (t) => {
  const k = await KafkaMock.start();
  t.teardown(() => k.stop());
  const validated = (kafka: object) => {
    const r = validateConfig({ sensors: [], uplink: { mqtt: { enabled: false }, kafka: { enabled: true, brokers: [k.bootstrap], ...kafka } } });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.config!.uplink.kafka;
  };
  const open = async (kafka: RsuConfig['uplink']['kafka'], rsuId: string, logger: pino.Logger) => {
    const u = await Uplink.open({ rsuId, spool: { dir: tmpDir(t, 'rsu-kcred-spool-') }, kafka: { brokers: kafka.brokers.join(','), connectTimeoutMs: 3000, librdkafka: () => kafkaProperties(kafka) }, logger });
    t.teardown(() => u.close({ timeoutMs: 500 }));
    return u;
  };

  // Pass-through properties (compression, batching) as a deployment would set them: delivered, read back by kcat.
  const log = capturedLogger();
  const plain = await open(validated({ librdkafka: { 'compression.type': 'lz4', 'linger.ms': 20, 'batch.num.messages': 100 } }), 'KCRED1', log.logger);
  for (let i = 0; i < 20; i++) plain.submit({ type: 'bsm', uper: new Uint8Array([i, 1, 2]) });
  await until('20 delivery reports', () => plain.stats().kafka!.acked === 20, 30_000, 50);
  const recs = await k.consume('v2x.v1.bsm.up');
  t.equal(recs.filter((r) => r.key === 'KCRED1').length, 20, 'kcat reads the 20 records');

  // SASL (the mock cluster speaks no SASL): librdkafka attempts it, so the connection fails where the plain one
  // above succeeded, and neither the log nor the stats show the password.
  const SECRET = 'sasl-secret-0815';
  process.env.RSU_TEST_KAFKA_PASSWORD = SECRET;
  t.teardown(() => void delete process.env.RSU_TEST_KAFKA_PASSWORD);
  const slog = capturedLogger();
  const sasl = await open(validated({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'rsu', passwordEnv: 'RSU_TEST_KAFKA_PASSWORD' } }), 'KCRED2', slog.logger);
  sasl.submit({ type: 'bsm', uper: new Uint8Array([9]) });
  await until('the SASL connection to fail', () => sasl.stats().kafka!.connectFailures > 0, 30_000, 50);
  t.equal(sasl.stats().kafka!.acked, 0);
  t.notOk(slog.text().includes(SECRET) || JSON.stringify(sasl.stats()).includes(SECRET), 'the SASL password is in no log line or stat');
});
