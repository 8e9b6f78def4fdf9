// The uplinks' TLS client certificates (uplink.mqtt.tls.cert, uplink.kafka.tls.cert): read with asn1js
// (x509.ts) at load and hourly like the 1609.2 store, so `rsu status`, the metrics, the alarms and the view show
// days to expiry before a broker refuses the connection. The config check uses tlsFileProblem() so that a key
// file given as the certificate (or a certificate as the key) is an error naming the file at load, not a TLS
// failure the uplink would log every second without saying which file.

import { readFileSync } from 'node:fs';
import { SecurityError } from './errors.js';
import { validityAt, type ValidityProblemCode } from './validity.js';
import { keyDescription, parseX509 } from './x509.js';

export interface TlsCertificateSource {
  /** The uplink it authenticates: 'mqtt' or 'kafka'. */
  uplink: string;
  file: string;
}

export type TlsCertProblemCode = 'unreadable' | 'bad-certificate' | ValidityProblemCode;

export interface TlsCertificateHealth {
  uplink: string;
  file: string;
  subject?: string;
  issuer?: string;
  key?: string;
  validUntil?: string;
  daysToExpiry?: number;
  problems: Array<{ code: TlsCertProblemCode; message: string }>;
}

/**
 * What is wrong with a TLS file for its role, or undefined: `ca` and `cert` must hold X.509 certificates in PEM
 * (what Node's TLS and librdkafka read) that asn1js parses, `key` a PEM private key. An unreadable file is left to
 * the caller's readability check.
 */
export function tlsFileProblem(role: 'ca' | 'cert' | 'key', file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const text = bytes.toString('latin1');
  const has = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? 'a private key' : /-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----/.test(text) ? 'a certificate' : bytes[0] === 0x30 ? 'DER' : 'no PEM block';
  const want = role === 'key' ? 'a PEM private key' : role === 'ca' ? 'a PEM CA certificate' : 'a PEM certificate';
  if (role === 'key') return has === 'a private key' ? undefined : `${file} holds ${has}, not ${want}`;
  if (has !== 'a certificate') return `${file} holds ${has}, not ${want}${has === 'DER' ? ` (convert it: openssl x509 -inform DER -in ${file} -out ${file}.pem)` : ''}`;
  try {
    parseX509(bytes, file);
    return undefined;
  } catch (e) {
    return e instanceof SecurityError ? e.message.replace(/^bad-certificate: /, '') : `${file}: ${(e as Error).message}`;
  }
}

/** The health of each configured TLS client certificate, re-read by check() (the daemon: at start and hourly). */
export class TlsCertificateMonitor {
  private last: TlsCertificateHealth[] = [];

  constructor(
    private readonly sources: readonly TlsCertificateSource[],
    private readonly warnDays = 30,
    private readonly now: () => number = Date.now,
  ) {
    this.check();
  }

  check(): TlsCertificateHealth[] {
    const now = this.now();
    this.last = this.sources.map(({ uplink, file }) => {
      const h: TlsCertificateHealth = { uplink, file, problems: [] };
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        h.problems.push({ code: 'unreadable', message: `${uplink} TLS client certificate ${file}: ${(e as Error).message}` });
        return h;
      }
      try {
        const c = parseX509(bytes, `${uplink} TLS client certificate ${file}`);
        const { days, problem } = validityAt(`${uplink} TLS client certificate "${c.subject}" (${file})`, c, now, this.warnDays, ': the broker will refuse the connection');
        Object.assign(h, { subject: c.subject, issuer: c.issuer, key: keyDescription(c), validUntil: new Date(c.validUntil).toISOString(), daysToExpiry: Math.floor(days) });
        if (problem) h.problems.push(problem);
      } catch (e) {
        h.problems.push({ code: 'bad-certificate', message: (e as Error).message.replace(/^bad-certificate: /, '') });
      }
      return h;
    });
    return this.last;
  }

  status(): TlsCertificateHealth[] {
    return this.last.map((h) => ({ ...h, problems: [...h.problems] }));
  }

  /** One alarm per problem: expired, expiring within warnDays, not yet valid, unreadable or not a certificate. */
  alarms(): string[] {
    return this.last.flatMap((h) => h.problems.map((p) => `TLS certificate ${p.code}: ${p.message}`));
  }

  /** Seconds to expiry by uplink (negative: expired), for the certificates that parsed. */
  expirySeconds(): Record<string, number> {
    const now = this.now();
    const out: Record<string, number> = {};
    for (const h of this.last) if (h.validUntil !== undefined) out[h.uplink] = (Date.parse(h.validUntil) - now) / 1000;
    return out;
  }
}
