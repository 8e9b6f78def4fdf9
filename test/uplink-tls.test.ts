/**
 * MQTT over TLS with a client certificate against mosquitto with
 * require_certificate: a client certified by the broker's CA is accepted; a
 * client with a certificate of another CA, or with none, is refused with a
 * clear error, and its records stay in the spool until a good certificate is
 * configured.  Certificates are made on the fly with openssl.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { Uplink } from '../runtime/uplink/index.js';
import { typeFor, uperFor } from './fixtures/uplink/records.js';
import { Mosquitto, mosquittoMissing, UplinkVerifier } from './support/mosquitto.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function opensslMissing(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'openssl not runnable' : undefined;
}

const skip = mosquittoMissing() ?? opensslMissing();

interface Pki {
  dir: string;
  caCrt: string;
  serverCrt: string;
  serverKey: string;
  clientCrt: string;
  clientKey: string;
  rogueCaCrt: string;
  rogueCrt: string;
  rogueKey: string;
}

function makePki(dir: string): Pki {
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string): void => ossl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
  const leaf = (name: string, caName: string, ext: string): void => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('test-ca');
  ca('rogue-ca');
  leaf('server', 'test-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('RSU-TLS', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => path.join(dir, f);
  return {
    dir,
    caCrt: p('test-ca.crt'),
    serverCrt: p('server.crt'),
    serverKey: p('server.key'),
    clientCrt: p('RSU-TLS.crt'),
    clientKey: p('RSU-TLS.key'),
    rogueCaCrt: p('rogue-ca.crt'),
    rogueCrt: p('rogue.crt'),
    rogueKey: p('rogue.key'),
  };
}

function tmpdir(t: Test, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('TLS with client certificates', { skip: skip ?? false, timeout: 60_000 }, async (t) => {
  const pki = makePki(tmpdir(t, 'rsu-pki-'));
  const broker = await Mosquitto.start({ tls: { cafile: pki.caCrt, certfile: pki.serverCrt, keyfile: pki.serverKey, requireCertificate: true } });
  t.teardown(() => broker.stop());
  t.match(broker.url, /^mqtts:\/\/127\.0\.0\.1:/);
  const rsuId = 'RSU-TLS';
  const v = await UplinkVerifier.connect(broker.url, rsuId, {
    ca: fs.readFileSync(pki.caCrt),
    cert: fs.readFileSync(pki.clientCrt),
    key: fs.readFileSync(pki.clientKey),
  });
  t.teardown(() => v.end());
  const N = 200;
  const fast = { reconnectMinMs: 100, reconnectMaxMs: 300, connectTimeoutMs: 3000 };

  await t.test('a client certified by the broker CA is accepted', async (t) => {
    const up = await Uplink.open({
      rsuId,
      spool: { dir: tmpdir(t, 'rsu-tls-ok-') },
      mqtt: { url: broker.url, tls: { caFile: pki.caCrt, certFile: pki.clientCrt, keyFile: pki.clientKey }, ...fast },
    });
    t.teardown(() => up.close());
    for (let i = 1; i <= N; i++) up.submit({ type: typeFor(i), uper: uperFor(i) });
    await v.waitFor(() => up.stats().mqtt!.pending === 0, 10_000, 'acked over TLS');
    await v.waitFor(() => v.seen.size >= N, 10_000, 'received');
    t.same(v.missing(1, N), []);
    t.equal(up.stats().mqtt!.state, 'up');
  });

  const refused = async (
    t: Test,
    name: string,
    tls: { caFile: string; certFile?: string; keyFile?: string },
    expectErr: RegExp,
  ): Promise<void> => {
    const dir = tmpdir(t, `rsu-tls-${name}-`);
    const id = `RSU-TLS-${name}`;
    {
      const up = await Uplink.open({ rsuId: id, spool: { dir }, mqtt: { url: broker.url, tls, ...fast } });
      for (let i = 1; i <= N; i++) up.submit({ type: typeFor(i), uper: uperFor(i) });
      await v.waitFor(() => up.stats().mqtt!.connectFailures >= 2, 10_000, 'connect failures');
      const st = up.stats();
      t.not(st.mqtt!.state, 'up', `never up (${st.mqtt!.state})`);
      t.equal(st.mqtt!.connects, 0, 'no CONNACK');
      t.match(st.mqtt!.lastError, expectErr, `clear error: ${st.mqtt!.lastError}`);
      t.equal(st.mqtt!.acked, 0);
      t.equal(st.mqtt!.pending, N, 'records stay in the spool');
      await up.close();
    }
    // same spool, good certificate: everything is delivered
    const v2 = await UplinkVerifier.connect(broker.url, id, {
      ca: fs.readFileSync(pki.caCrt),
      cert: fs.readFileSync(pki.clientCrt),
      key: fs.readFileSync(pki.clientKey),
    });
    t.teardown(() => v2.end());
    const up = await Uplink.open({
      rsuId: id,
      spool: { dir },
      mqtt: { url: broker.url, tls: { caFile: pki.caCrt, certFile: pki.clientCrt, keyFile: pki.clientKey }, ...fast },
    });
    t.teardown(() => up.close());
    await v2.waitFor(() => v2.seen.size >= N, 10_000, 'records kept through the refusal delivered');
    t.same(v2.missing(1, N), [], 'after fixing the certificate every record arrives');
  };

  await t.test('a client certificate from another CA is refused', (t) =>
    refused(t, 'rogue', { caFile: pki.caCrt, certFile: pki.rogueCrt, keyFile: pki.rogueKey }, /TLS handshake refused by the broker: .*unknown ca/),
  );
  await t.test('a client without certificate is refused', (t) =>
    refused(t, 'nocert', { caFile: pki.caCrt }, /TLS handshake refused by the broker: .*certificate required/),
  );
  await t.test('a broker certificate the client does not trust is refused', (t) =>
    refused(t, 'untrusted', { caFile: pki.rogueCaCrt, certFile: pki.clientCrt, keyFile: pki.clientKey }, /broker certificate not accepted: self-signed/),
  );
  // Issue 16 point 4: a private key given as the certificate was logged at every attempt, without the file name.
  await t.test('a private key given as the certificate: the file and its key named, logged once', async (t) => {
    const lines: Array<{ err?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as { err?: string }) });
    const dir = tmpdir(t, 'rsu-tls-keyascert-');
    const up = await Uplink.open({ rsuId: 'RSU-KEY', spool: { dir }, logger, mqtt: { url: broker.url, tls: { caFile: pki.caCrt, certFile: pki.clientKey, keyFile: pki.clientKey }, ...fast } });
    t.teardown(() => up.close());
    await v.waitFor(() => up.stats().mqtt!.connectFailures >= 4, 10_000, 'connect failures');
    const expected = `MQTT TLS: uplink.mqtt.tls.cert (${pki.clientKey}) is not a PEM certificate`;
    t.ok(up.stats().mqtt!.lastError?.startsWith(expected), up.stats().mqtt!.lastError);
    const logged = lines.filter((l) => l.err?.startsWith('MQTT TLS'));
    t.equal(logged.length, 1, `logged once in ${up.stats().mqtt!.connectFailures} attempts`);
    t.ok(logged[0]!.err!.startsWith(expected), logged[0]!.err);
    // A certificate and the key of another: both named.
    const up2 = await Uplink.open({ rsuId: 'RSU-KEY2', spool: { dir: tmpdir(t, 'rsu-tls-pair-') }, mqtt: { url: broker.url, tls: { caFile: pki.caCrt, certFile: pki.clientCrt, keyFile: pki.rogueKey }, ...fast } });
    t.teardown(() => up2.close());
    await v.waitFor(() => up2.stats().mqtt!.connectFailures >= 1, 10_000, 'connect failure');
    t.match(up2.stats().mqtt!.lastError, `uplink.mqtt.tls.cert (${pki.clientCrt}) and uplink.mqtt.tls.key (${pki.rogueKey}) are not a pair`);
  });
  await sleep(10);
  t.match(broker.log(), /RSU-TLS|New connection/, 'broker log written');
});
