/**
 * Test helper: a mosquitto that authenticates both ways, as a deployment's broker does. Users come from a
 * password_file made by mosquitto_passwd (no anonymous clients); with `tls`, the broker presents a certificate
 * for 127.0.0.1 signed by a CA made here with openssl (no client certificate required), so a client that trusts
 * that CA has verified the broker's identity.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Mosquitto, mosquittoMissing } from './mosquitto.js';

export const MOSQUITTO_PASSWD_BIN = process.env.MOSQUITTO_PASSWD_BIN ?? '/usr/bin/mosquitto_passwd';

/** Why these brokers cannot run here, or undefined. */
export function authBrokerMissing(tls: boolean): string | undefined {
  const m = mosquittoMissing();
  if (m) return m;
  if (spawnSync(MOSQUITTO_PASSWD_BIN, ['-h']).error) return `mosquitto_passwd not found at ${MOSQUITTO_PASSWD_BIN} (apt-get install mosquitto)`;
  if (tls && spawnSync('openssl', ['version']).error) return 'openssl not runnable';
  return undefined;
}

export interface ServerPki {
  /** The CA that signed the broker's certificate: what the RSU trusts (`uplink.mqtt.tls.ca`). */
  caCrt: string;
  serverCrt: string;
  serverKey: string;
  /** Another CA, which did not sign the broker's certificate. */
  otherCaCrt: string;
}

/** A CA and a broker certificate for 127.0.0.1 / localhost (EC P-256, valid 2 days), and an unrelated CA. */
export function makeServerPki(dir: string): ServerPki {
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['test-ca', 'other-ca']) ossl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ossl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=broker');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'test-ca.crt', '-CAkey', 'test-ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext');
  const p = (f: string): string => path.join(dir, f);
  return { caCrt: p('test-ca.crt'), serverCrt: p('server.crt'), serverKey: p('server.key'), otherCaCrt: p('other-ca.crt') };
}

/** A mosquitto password_file with these users, made by mosquitto_passwd (hashed as mosquitto does). */
export function makePasswordFile(file: string, users: Record<string, string>): string {
  fs.writeFileSync(file, '', { mode: 0o600 });
  for (const [user, password] of Object.entries(users)) execFileSync(MOSQUITTO_PASSWD_BIN, ['-b', file, user, password], { stdio: ['ignore', 'ignore', 'pipe'] });
  return file;
}

/** mosquitto with `allow_anonymous false` and a password_file of `users`; over TLS with `pki`. */
export async function startAuthMosquitto(dir: string, users: Record<string, string>, pki?: ServerPki): Promise<Mosquitto> {
  const passwords = makePasswordFile(path.join(dir, 'passwd'), users);
  return Mosquitto.start({
    ...(pki ? { tls: { cafile: pki.caCrt, certfile: pki.serverCrt, keyfile: pki.serverKey, requireCertificate: false } } : {}),
    // Later lines win over the helper's `allow_anonymous true`.
    extra: ['allow_anonymous false', `password_file ${passwords}`],
  });
}
