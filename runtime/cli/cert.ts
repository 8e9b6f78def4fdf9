// `rsu cert show|check|make-test-ca|issue`: IEEE 1609.2 certificates for field engineers (runtime/security).
// make-test-ca and issue make THROWAWAY certificates for labs and the demo, named as such; production
// certificates come from an SCMS (US) or a China V2X CA as files.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultIeee1609Dot2Edition, IEEE1609DOT2_EDITIONS, loadIeee1609Dot2, type Ieee1609Dot2Edition } from '../../codecs/index.js';
import { pDecodePsid } from '../../hw/radio/psid.js';
import { certificateInfo, createCryptoBackend, FileCertificateStore, issueTestCertificate, type CertificateInfo, type Curve, type Oer1609Codec, type TestIdentity } from '../security/index.js';
import { isX509, keyDescription, parseX509, type X509Info } from '../security/x509.js';
import { UsageError, type Io } from './io.js';

export const CERT_HELP = `usage: rsu cert <show|check|make-test-ca|issue> [options]
IEEE 1609.2 certificates (C-OER files) and keys (PEM), coded with the deployer's 1609.2 ASN.1 modules (--asn1
DIR or RSU_IEEE1609DOT2_ASN1_DIR) or, without them, the built-in set (codecs/sets/ieee1609dot2).

  rsu cert show FILE [--json]
      The certificate as JER JSON (--json) or a summary: HashedId8, algorithm, issuer, validity and days left,
      PSIDs, region. An X.509 file (PEM or DER: a TLS client certificate, an X.509 anchor): subject, issuer,
      key, signature algorithm, validity and days left, CA, SHA-256 fingerprint.
  rsu cert check --cert FILE --key FILE --anchor FILE [--anchor FILE ...] [--chain FILE ...] [--psid P ...]
                 [--lat DEG --lon DEG]
      What the daemon checks at load: the key belongs to the certificate, the chain reaches an anchor, validity
      (a warning 30 days before expiry), the PSIDs to be signed, the RSU position inside the region. Exit 1 on
      a problem that stops signing.
  rsu cert make-test-ca --out DIR [--curve p256|sm2] [--days N]
      A THROWAWAY root (test-root.cert, test-root.key.pem) for labs and the demo only.
  rsu cert issue --ca DIR --out DIR [--name NAME] [--psid P ...] [--days N]
      A THROWAWAY RSU certificate under the test root (NAME.cert, NAME.key.pem; default name rsu-test).

  --psid P       a PSID/AID: decimal integer (3618) or p-encoded hex as in the config (0x8002 = 130)
  --edition E    ${IEEE1609DOT2_EDITIONS.join(' | ')} (default 2022, the edition with SM2, with
                 the modules; builtin without them)
  --asn1 DIR     the 1609.2 modules`;

const HOUR = 3_600_000;

function psidArg(s: string): number {
  if (/^0x[0-9a-f]{1,8}$/i.test(s)) return pDecodePsid(parseInt(s, 16));
  if (/^\d+$/.test(s)) return Number(s);
  throw new UsageError(`--psid ${s}: expected a decimal PSID or p-encoded hex such as 0x8002`);
}

const jer = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);

/** A summary of an X.509 certificate, one fact per line. */
export function describeX509(c: X509Info, now = Date.now()): string[] {
  const days = (c.validUntil - now) / 86_400_000;
  return [
    `X.509       ${c.subject}`,
    `issuer      ${c.issuer}${c.subject === c.issuer ? ' (self-issued)' : ''}`,
    `key         ${keyDescription(c)}, signed ${c.signatureAlgorithm}`,
    `valid       ${new Date(c.validFrom).toISOString()} to ${new Date(c.validUntil).toISOString()} (${days >= 0 ? `${Math.floor(days)} days left` : `EXPIRED ${Math.ceil(-days)} days ago`})`,
    `CA          ${c.isCA ? 'yes' : 'no'}`,
    `SHA-256     ${c.sha256}`,
  ];
}

/** A summary of a certificate, one fact per line. */
export function describeCertificate(c: CertificateInfo, now = Date.now()): string[] {
  const days = (c.validUntil - now) / 86_400_000;
  const issuer = 'self' in c.issuer ? `self-signed (${c.issuer.self})` : `${Buffer.from(c.issuer.digest).toString('hex')} (${c.issuer.hash})`;
  const tbs = (c.value as { toBeSigned: { id?: Record<string, unknown>; region?: unknown } }).toBeSigned;
  const [idKind, idVal] = Object.entries(tbs.id ?? {})[0] ?? ['none', null];
  return [
    `HashedId8   ${c.hashedId8}`,
    `id          ${idKind}${idVal !== null && idVal !== undefined ? ` ${String(idVal)}` : ''}`,
    `algorithm   ${c.curve === 'sm2' ? 'SM2 / SM3' : 'ECDSA P-256 / SHA-256'}`,
    `issuer      ${issuer}`,
    `valid       ${new Date(c.validFrom).toISOString()} to ${new Date(c.validUntil).toISOString()} (${days >= 0 ? `${Math.floor(days)} days left` : `EXPIRED ${Math.ceil(-days)} days ago`})`,
    `PSIDs       ${c.psids.length ? c.psids.join(', ') : 'none (a CA certificate)'}`,
    `region      ${tbs.region === undefined ? 'none (anywhere)' : JSON.stringify(tbs.region)}`,
  ];
}

async function codecOf(edition: string | undefined, asn1: string | undefined): Promise<Oer1609Codec> {
  const e = (edition ?? defaultIeee1609Dot2Edition('ieee', asn1)) as Ieee1609Dot2Edition;
  if (!IEEE1609DOT2_EDITIONS.includes(e)) throw new UsageError(`--edition ${edition}: expected one of ${IEEE1609DOT2_EDITIONS.join(', ')}`);
  return loadIeee1609Dot2(e, { asn1Dir: asn1 });
}

function readIdentity(codec: Oer1609Codec, dir: string, base: string): TestIdentity {
  const backend = createCryptoBackend();
  const bytes = readFileSync(join(dir, `${base}.cert`));
  const keyPem = readFileSync(join(dir, `${base}.key.pem`), 'utf8');
  return { certificate: certificateInfo(codec, backend, codec.decode('Certificate', bytes), bytes), key: backend.privateKey(keyPem), keyPem };
}

function writeIdentity(io: Io, dir: string, base: string, id: TestIdentity): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${base}.cert`), id.certificate.encoded);
  writeFileSync(join(dir, `${base}.key.pem`), id.keyPem, { mode: 0o600 });
  io.out(`wrote ${join(dir, `${base}.cert`)} and ${base}.key.pem (THROWAWAY, for labs and the demo only)`);
  for (const l of describeCertificate(id.certificate)) io.out(`  ${l}`);
}

export async function certCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    io.out(CERT_HELP);
    return sub ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      cert: { type: 'string' },
      key: { type: 'string' },
      anchor: { type: 'string', multiple: true },
      chain: { type: 'string', multiple: true },
      psid: { type: 'string', multiple: true },
      lat: { type: 'string' },
      lon: { type: 'string' },
      out: { type: 'string' },
      ca: { type: 'string' },
      name: { type: 'string', default: 'rsu-test' },
      curve: { type: 'string', default: 'p256' },
      days: { type: 'string' },
      edition: { type: 'string' },
      asn1: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(CERT_HELP);
    return 0;
  }
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && !(Number.isInteger(days) && days > 0 && days <= 3650)) throw new UsageError(`--days ${values.days}: expected 1-3650`);
  const codec = await codecOf(values.edition, values.asn1);
  const backend = createCryptoBackend();

  if (sub === 'show') {
    if (positionals.length !== 1) throw new UsageError('give one certificate file');
    const bytes = readFileSync(positionals[0]!);
    if (isX509(bytes)) {
      const c = parseX509(bytes, positionals[0]);
      if (values.json) io.out(jer({ subject: c.subject, issuer: c.issuer, serial: c.serialHex, key: keyDescription(c), signatureAlgorithm: c.signatureAlgorithm, validFrom: new Date(c.validFrom).toISOString(), validUntil: new Date(c.validUntil).toISOString(), ca: c.isCA, sha256: c.sha256 }));
      else for (const l of describeX509(c)) io.out(l);
      return 0;
    }
    const value = codec.decode('Certificate', bytes);
    if (values.json) io.out(jer(value));
    else for (const l of describeCertificate(certificateInfo(codec, backend, value, bytes))) io.out(l);
    return 0;
  }
  if (sub === 'check') {
    if (!values.cert || !values.key || !values.anchor?.length) throw new UsageError('check needs --cert, --key and at least one --anchor');
    if ((values.lat === undefined) !== (values.lon === undefined)) throw new UsageError('give both --lat and --lon');
    const position = values.lat === undefined ? undefined : { lat: Number(values.lat), lon: Number(values.lon) };
    const store = new FileCertificateStore(codec, backend, { certificate: values.cert, key: values.key, anchors: values.anchor, chain: values.chain ?? [] }, { psids: (values.psid ?? []).map(psidArg), ...(position ? { position } : {}) });
    const st = store.load();
    if (st.hashedId8) io.out(`certificate ${st.hashedId8}: ${st.daysToExpiry} days to expiry`);
    for (const p of st.problems) io.out(`${p.code === 'expiring-soon' ? 'warning' : 'problem'}: ${p.code}: ${p.message}`);
    io.out(st.usable ? 'usable for signing' : 'NOT usable for signing');
    return st.usable ? 0 : 1;
  }
  if (sub === 'make-test-ca' || sub === 'issue') {
    if (!values.out) throw new UsageError(`${sub} needs --out DIR`);
    if (sub === 'make-test-ca') {
      const curve: Curve = values.curve === 'sm2' ? 'sm2' : values.curve === 'p256' ? 'nistp256' : (() => { throw new UsageError(`--curve ${values.curve}: expected p256 or sm2`); })();
      if (existsSync(join(values.out, 'test-root.cert'))) throw new UsageError(`${join(values.out, 'test-root.cert')} exists: not overwriting a CA`);
      writeIdentity(io, values.out, 'test-root', issueTestCertificate(codec, backend, { curve, name: 'rsu-THROWAWAY-test-root', validHours: 24 * (days ?? 365) }));
      return 0;
    }
    if (!values.ca) throw new UsageError('issue needs --ca DIR (made by make-test-ca)');
    const root = readIdentity(codec, values.ca, 'test-root');
    const psids = (values.psid ?? ['32', '0x8002', '0x8003']).map(psidArg);
    writeIdentity(io, values.out, values.name, issueTestCertificate(codec, backend, { curve: root.certificate.curve, name: values.name, validHours: 24 * (days ?? 7), psids }, root));
    return 0;
  }
  throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected show, check, make-test-ca or issue`);
}
