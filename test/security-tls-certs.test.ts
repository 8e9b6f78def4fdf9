// The uplinks' TLS client certificates (issue 15 section 3; runtime/security/tls-certs.ts, read with asn1js):
// days to expiry in `rsu status`, the rsu_certificate_expiry_seconds gauge (promtool still clean), alarms 30
// days ahead and when expired, the view's certificate panel; a key file given as the certificate is a config
// error naming the file. Certificates made by Debian's openssl in a temp dir.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { healthOf } from '../runtime/view/state.js';
import { TlsCertificateMonitor, tlsFileProblem } from '../runtime/security/tls-certs.js';
import { freePort } from './support/mosquitto.js';
import { opensslMissing, runShell } from './support/openssl.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';
import { tmpDir } from './support/wait.js';

const missing = opensslMissing();
const DAY = 86_400_000;
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

/** client-<days>.pem / .key: self-signed P-256 client certificates valid for `days`. */
async function clientCerts(dir: string, days: number[]): Promise<void> {
  await runShell(
    ['set -e', ...days.map((d) => `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client-${d}.key -subj "/CN=rsu-${d}.invalid" -days ${d} -out client-${d}.pem 2>/dev/null`)].join('\n'),
    dir,
  );
}

t.test('TLS client certificates', { skip: missing }, async (t) => {
  const dir = tmpDir(t, 'rsu-tlscert-');
  await clientCerts(dir, [365, 10, 1]);
  const f = (n: string) => path.join(dir, n);

  t.test('monitor: days to expiry, alarms 30 days ahead and when expired, bad files named', async (t) => {
    let now = Date.now();
    const m = new TlsCertificateMonitor(
      [
        { uplink: 'mqtt', file: f('client-365.pem') },
        { uplink: 'kafka', file: f('client-10.pem') },
      ],
      30,
      () => now,
    );
    const [mq, kf] = m.status();
    t.equal(mq!.daysToExpiry, 364, 'mqtt: 364 days (openssl -days 365)');
    t.equal(mq!.subject, 'CN=rsu-365.invalid');
    t.equal(mq!.key, 'EC P-256');
    t.same(mq!.problems, [], 'no problem a year ahead');
    t.equal(kf!.daysToExpiry, 9);
    t.same(kf!.problems.map((p) => p.code), ['expiring-soon'], 'kafka: expiring within 30 days');
    t.ok(m.alarms().some((a) => /TLS certificate expiring-soon: kafka TLS client certificate "CN=rsu-10.invalid"/.test(a)), `alarm: ${m.alarms()[0]}`);
    t.ok(Math.abs(m.expirySeconds().mqtt! - 364.99 * 86400) < 86400, 'expiry seconds by uplink');
    now += 11 * DAY; // the hourly check later on
    m.check();
    t.same(m.status()[1]!.problems.map((p) => p.code), ['expired']);
    t.ok(m.alarms().some((a) => /expired .*the broker will refuse/.test(a)), 'expired: alarm');
    t.ok(m.expirySeconds().kafka! < 0, 'negative seconds once expired');

    const bad = new TlsCertificateMonitor([
      { uplink: 'mqtt', file: f('client-365.key') },
      { uplink: 'kafka', file: f('nope.pem') },
    ]);
    t.match(bad.alarms()[0], /bad-certificate: mqtt TLS client certificate .*client-365\.key: holds a private key, not a certificate/, 'a key as the certificate: named');
    t.match(bad.alarms()[1], /unreadable: kafka TLS client certificate .*nope\.pem/, 'missing file: named');
    t.same(bad.expirySeconds(), {});
  });

  t.test('config: a key file given as the certificate is a load error naming the file', async (t) => {
    const spool = tmpDir(t, 'rsu-tlscert-spool-');
    const yaml = (cert: string, key: string) => {
      const file = f('rsu.yaml');
      writeFileSync(file, `uplink: { mqtt: { url: "mqtts://127.0.0.1:8883", embeddedBroker: false, tls: { cert: "${cert}", key: "${key}" } }, spool: { dir: "${spool}" } }\n`);
      return file;
    };
    const err = (file: string) => {
      try {
        loadConfig(file, { onWarning: () => {} });
      } catch (e) {
        return e;
      }
    };
    const e1 = err(yaml(f('client-365.key'), f('client-365.key')));
    t.ok(e1 instanceof ConfigError, 'refused');
    t.match(String((e1 as Error).message), new RegExp(`uplink\\.mqtt\\.tls\\.cert: ${f('client-365.key').replace(/[.]/g, '\\.')} holds a private key, not a PEM certificate`), (e1 as Error).message);
    const e2 = err(yaml(f('client-365.pem'), f('client-365.pem')));
    t.match(String((e2 as Error).message), /uplink\.mqtt\.tls\.key: .* holds a certificate, not a PEM private key/, 'and the certificate given as the key');
    spawnSync('openssl', ['x509', '-in', f('client-365.pem'), '-outform', 'DER', '-out', f('client-365.der')]);
    t.match(String((err(yaml(f('client-365.der'), f('client-365.key'))) as Error).message), /uplink\.mqtt\.tls\.cert: .*client-365\.der holds DER, not a PEM certificate \(convert it: openssl x509 -inform DER/, 'a DER certificate: convert it to PEM');
    const cut = f('cut.pem');
    writeFileSync(cut, readFileSync(f('client-365.pem'), 'latin1').replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END'));
    t.match(String((err(yaml(cut, f('client-365.key'))) as Error).message), /uplink\.mqtt\.tls\.cert: .*cut\.pem: DER does not decode/, 'a truncated PEM certificate: asn1js says why');
    t.equal(err(yaml(f('client-365.pem'), f('client-365.key'))), undefined, 'the right files load');
    const kafka = f('kafka.yaml');
    writeFileSync(kafka, `uplink: { mqtt: { enabled: false }, kafka: { enabled: true, brokers: ["127.0.0.1:9093"], tls: { cert: "${f('client-365.key')}", key: "${f('client-365.key')}" } }, spool: { dir: "${spool}" } }\n`);
    t.match(String((err(kafka) as Error).message), /uplink\.kafka\.tls\.cert: .*client-365\.key holds a private key, not a PEM certificate/, 'Kafka alike');
    t.equal(tlsFileProblem('cert', f('nope.pem')), undefined, 'an unreadable file is left to the readability check');
  });

  t.test('daemon: rsu status, metrics (promtool clean), alarms and the view', async (t) => {
    const cfg = quietDaemonConfig();
    cfg.metrics.port = await freePort();
    cfg.uplink.mqtt = { ...cfg.uplink.mqtt, enabled: true, embeddedBroker: false, url: `mqtts://127.0.0.1:${await freePort()}`, tls: { cert: f('client-10.pem'), key: f('client-10.key') } };
    cfg.uplink.spool = { ...cfg.uplink.spool, dir: tmpDir(t, 'rsu-tlscert-spool-') };
    const d = await startDaemon({ config: cfg, socketPath: false });
    t.teardown(() => d.stop());
    const st = d.status();
    t.same(st.security.tls.map((x) => [x.uplink, x.daysToExpiry, x.problems.map((p) => p.code)]), [['mqtt', 9, ['expiring-soon']]], 'status.security.tls: mqtt, 9 days, expiring-soon');
    t.ok(st.alarms.some((a) => /TLS certificate expiring-soon: mqtt/.test(a)), 'an alarm 30 days ahead');
    const text = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('rsu_certificate_expiry_seconds{certificate="mqtt-tls"}'));
    t.ok(line && Math.abs(Number(line.split(' ')[1]) - 9.99 * 86400) < 86400, `gauge: ${line}`);
    if (existsSync(PROMTOOL)) {
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
      t.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
    } else t.skip(`promtool not found at ${PROMTOOL}`);
    const { renderStatus } = await import('../runtime/cli/daemon-cmds.js');
    const text2 = renderStatus(JSON.parse(JSON.stringify(st)), false);
    t.match(text2, /tls: mqtt client certificate "CN=rsu-10\.invalid" 9 days to expiry/, 'rsu status shows it');
    const view = healthOf(JSON.parse(JSON.stringify(st)));
    t.same(view.signing?.tls?.map((x) => [x.uplink, x.daysToExpiry]), [['mqtt', 9]], 'the view reads it for the certificate panel');
  });
});
