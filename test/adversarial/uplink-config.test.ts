// Issue 12 D11 and D16: uplink settings that were accepted and then not done. `uplink.mqtt.qos: 0` or `2` passed
// `config check` while every PUBLISH was QoS 1; a mqtt:// URL with `tls` files was warned "ignored" while mqtt.js
// upgraded the connection to TLS. Now both are refused, naming the key and why, and every publish is QoS 1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { formatIssue, validateConfig } from '../../runtime/config/index.js';
import { Uplink, UplinkConfigError } from '../../runtime/uplink/index.js';
import { makeServerPki } from '../support/broker-auth.js';
import { Mosquitto, mosquittoMissing } from '../support/mosquitto.js';
import { tmpDir, until } from '../support/wait.js';

const errorsOf = (input: unknown): string[] => validateConfig(input).errors.map(formatIssue);

t.test('D11: uplink.mqtt.qos 0 and 2 are refused with the reason; 1 is the default', async (t) => {
  t.match(errorsOf({ uplink: { mqtt: { qos: 0 } } }), [/^uplink\.mqtt\.qos: QoS 0 is not offered: records leave the spool only on the broker's PUBACK/]);
  t.match(errorsOf({ uplink: { mqtt: { qos: 2 } } }), [/^uplink\.mqtt\.qos: QoS 2 is not offered: .*deduplicate on \(rsu_id, seq\)/]);
  t.match(errorsOf({ uplink: { mqtt: { qos: 'high' } } }), [/^uplink\.mqtt\.qos: expected an integer, got "high"/]);
  t.same(errorsOf({ uplink: { mqtt: { qos: 1 } } }), []);
  t.equal(validateConfig({}).config!.uplink.mqtt.qos, 1);
});

t.test('D11: every record reaches a QoS 2 subscriber as QoS 1 (what the broker was sent)', async (t) => {
  const missing = mosquittoMissing();
  if (missing) return t.skip(missing);
  const m = await Mosquitto.start();
  t.teardown(() => m.stop());
  const sub = await mqtt.connectAsync(m.url);
  t.teardown(() => sub.endAsync(true));
  const qos: number[] = [];
  sub.on('message', (_topic, _payload, packet) => qos.push(packet.qos));
  await sub.subscribeAsync('v2x/v1/rsu/QOS1/+/up', { qos: 2 });
  const up = await Uplink.open({ rsuId: 'QOS1', spool: { dir: tmpDir(t, 'rsu-qos-') }, mqtt: { url: m.url } });
  t.teardown(() => up.close());
  for (let i = 0; i < 20; i++) up.submit({ type: 'spat', uper: Buffer.from([i + 1]) });
  await until('20 records at the subscriber', () => qos.length >= 20, 10_000);
  t.same([...new Set(qos)], [1]);
});

const opensslMissing = spawnSync('openssl', ['version']).error ? 'openssl not runnable (the TLS files are made with it)' : false;
t.test('D16: tls files with a plain URL are an error (config check and the uplink), not a warning', { skip: opensslMissing }, async (t) => {
  const dir = tmpDir(t, 'rsu-tlsurl-');
  // Real files: config check reads them and refuses a file in the wrong role.
  const pki = makeServerPki(dir);
  const tls = { ca: pki.caCrt, cert: pki.serverCrt, key: pki.serverKey };
  for (const [url, want] of [
    ['mqtt://broker.example:1883', 'mqtts'],
    ['tcp://broker.example:1883', 'ssl'],
    ['ws://broker.example:8080/mqtt', 'wss'],
  ] as const) {
    const r = validateConfig({ uplink: { mqtt: { url, embeddedBroker: false, tls } } });
    t.same(r.warnings.map(formatIssue).filter((w) => /\.tls\b|tls ignored/.test(w)), [], `${url}: no tls warning`);
    t.match(r.errors.map(formatIssue), [new RegExp(`^uplink\\.mqtt\\.tls: needs a TLS URL: url ${url.replace(/[/.]/g, '\\$&')} is plain ${url.split(':')[0]}; use ${want}:// \\(or remove tls\\)$`)]);
  }
  t.same(errorsOf({ uplink: { mqtt: { url: 'mqtts://broker.example:8883', embeddedBroker: false, tls } } }), []);
  // The library refuses it too: before, mqtt.js connected with TLS to a URL that said plain MQTT.
  await t.rejects(
    Uplink.open({ rsuId: 'TLSURL', spool: { dir: path.join(dir, 'spool') }, mqtt: { url: 'mqtt://127.0.0.1:1', tls: { caFile: tls.ca, certFile: tls.cert, keyFile: tls.key } } }),
    { name: UplinkConfigError.name, message: /tls options need a TLS URL.*got mqtt:\/\// },
  );
});
