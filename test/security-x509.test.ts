// X.509 where DER appears (issue 15 section 3; runtime/security/x509.ts, asn1js): certificates made by Debian's
// openssl in a temp dir (SM2 with SM3 and distid 1234567812345678, and P-256) are read to the validity, subject,
// key and fingerprint that openssl and Node's X509Certificate report; chains to an X.509 anchor verify (SM2 links
// through the SM2 backend with the standard ID, agreeing with `openssl verify -vfyopt distid:...`); expired, wrong
// curve, truncated DER, a key file instead of a certificate and a tampered signature get typed errors or reasons;
// and an SPDU of the China profile with an X.509 signer (SignerIdentifier.x509) verifies, each failure by reason.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadIeee1609Dot2, loadMessageSet, type MessageSet } from '../codecs/index.js';
import { CHINA_PROFILE, createCryptoBackend, FileCertificateStore, MemoryTrustStore, SecurityError, sign1609, sm2AddonStatus, time64FromUnixMs, type Curve, type Oer1609Codec } from '../runtime/security/index.js';
import { securityCodec } from '../runtime/security/rsu-security.js';
import { issueTestCertificate } from '../runtime/security/test-ca.js';
import { startDemo } from '../runtime/cli/demo.js';
import { createSocket } from 'node:dgram';
import { signatureValue } from '../runtime/security/certificates.js';
import { assembleSignedData } from '../runtime/security/spdu-octets.js';
import { SpduVerifier } from '../runtime/security/spdu.js';
import { parseX509, x509ChainProblem, x509SignedBy, type X509Info } from '../runtime/security/x509.js';
import { PassThrough } from 'node:stream';
import { main } from '../runtime/cli/main.js';
import { opensslMissing, runShell } from './support/openssl.js';
import { tmpDir, until } from './support/wait.js';

const missing = opensslMissing() ?? (sm2AddonStatus().ok ? undefined : 'the SM2 addon is not built (npm run build)');
const backend = createCryptoBackend();
const DAY = 86_400_000;
const DISTID = '-sigopt distid:1234567812345678';

/** A root CA and an end-entity certificate under it, per curve, plus a short-lived and a P-384 one (openssl). */
async function makePki(dir: string): Promise<void> {
  const ca = (n: string, alg: string, md: string) => `openssl req -x509 -new -key ${n}.key ${md} -subj "/CN=${n} root/O=rsu-edge test/C=CN" -days 3650 -addext basicConstraints=critical,CA:TRUE -out ${n}-root.pem`;
  const ee = (n: string, key: string, root: string, md: string, days: number) =>
    `openssl req -new -key ${key}.key ${md} -subj "/CN=${n}/O=rsu-edge test" -out ${n}.csr && openssl x509 -req -in ${n}.csr -CA ${root}-root.pem -CAkey ${root}.key ${md}${md.includes('distid') ? ' -vfyopt distid:1234567812345678' : ''} -days ${days} -set_serial 0x${n.length}1 -out ${n}.pem`;
  await runShell(
    [
      'set -e',
      'openssl ecparam -name SM2 -genkey -noout -out sm2.key',
      'openssl ecparam -name prime256v1 -genkey -noout -out p256.key',
      'openssl ecparam -name SM2 -genkey -noout -out sm2-obu.key',
      'openssl ecparam -name prime256v1 -genkey -noout -out p256-obu.key',
      'openssl ecparam -name secp384r1 -genkey -noout -out p384-obu.key',
      ca('sm2', 'sm2', `-sm3 ${DISTID}`),
      ca('p256', 'p256', '-sha256'),
      ee('sm2-obu', 'sm2-obu', 'sm2', `-sm3 ${DISTID}`, 365),
      ee('p256-obu', 'p256-obu', 'p256', '-sha256', 365),
      ee('p384-obu', 'p384-obu', 'p256', '-sha256', 365),
      ee('short-lived', 'sm2-obu', 'sm2', `-sm3 ${DISTID}`, 1),
      'openssl x509 -in sm2-obu.pem -outform DER -out sm2-obu.der',
    ].join('\n'),
    dir,
  );
}

/** A China-profile SPDU (V2XSecData) signed by the key in `keyPem` with an X.509 signer carrying `der`. */
function x509Spdu(codec: Oer1609Codec, keyPem: Uint8Array, der: Uint8Array, curve: Curve, o: { gen?: number; payload?: Uint8Array } = {}): Uint8Array {
  const key = backend.privateKey(keyPem);
  const tbs = codec.encode('ToBeSignedData', { payload: { data: { protocolVersion: 3, content: { unsecuredData: o.payload ? Buffer.from(o.payload).toString('hex') : 'c0ffee' } } }, headerInfo: { aid: 111, generationTime: time64FromUnixMs(o.gen ?? Date.now()) } });
  const sig = sign1609(backend, key, tbs, { certificate: der });
  return assembleSignedData(codec, { hashId: curve === 'sm2' ? 'sm3' : 'sha256', tbsData: tbs, signer: { x509: Buffer.from(der).toString('hex') }, signature: signatureValue(sig, CHINA_PROFILE) });
}

t.test('X.509 with asn1js against openssl-made certificates', { skip: missing }, async (t) => {
  const dir = tmpDir(t, 'rsu-x509-');
  await makePki(dir);
  const f = (n: string) => readFileSync(path.join(dir, n));
  const certs: Record<string, X509Info> = {};
  for (const n of ['sm2-root.pem', 'p256-root.pem', 'sm2-obu.pem', 'p256-obu.pem', 'p384-obu.pem', 'short-lived.pem']) certs[n] = parseX509(f(n), n);
  const codec = await loadIeee1609Dot2('builtin-china');

  t.test('fields agree with Node X509Certificate and openssl', async (t) => {
    for (const [n, c] of Object.entries(certs)) {
      const node = new X509Certificate(f(n));
      t.equal(c.validUntil, Date.parse(node.validTo), `${n}: notAfter ${node.validTo}`);
      t.equal(c.validFrom, Date.parse(node.validFrom), `${n}: notBefore`);
      t.equal(c.sha256, node.fingerprint256.replace(/:/g, '').toLowerCase(), `${n}: SHA-256 fingerprint`);
      t.equal(c.subject, node.subject.split('\n').join(', '), `${n}: subject ${c.subject}`);
      t.equal(c.serialHex.replace(/^0+/, ''), node.serialNumber.replace(/^0+/, '').toLowerCase(), `${n}: serial`);
      t.equal(c.isCA, node.ca, `${n}: CA ${node.ca}`);
    }
    const text = spawnSync('openssl', ['x509', '-in', path.join(dir, 'sm2-obu.pem'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    t.match(text, /Signature Algorithm: SM2-with-SM3/);
    t.equal(certs['sm2-obu.pem']!.signatureAlgorithm, 'SM2-with-SM3');
    t.equal(certs['sm2-obu.pem']!.curve, 'sm2', 'SM2 key (id-ecPublicKey with the SM2 curve 1.2.156.10197.1.301)');
    t.equal(certs['p256-obu.pem']!.curve, 'nistp256');
    t.equal(certs['p384-obu.pem']!.curve, undefined, 'P-384: not a curve this RSU verifies with');
    t.equal(certs['p384-obu.pem']!.curveName, 'P-384');
    t.same(parseX509(f('sm2-obu.der')).der, certs['sm2-obu.pem']!.der, 'DER and PEM files read alike');
  });

  t.test('chains: SM2 links verified with the standard ID, as openssl verify -vfyopt distid says', async (t) => {
    const now = Date.now();
    const anchors = [certs['sm2-root.pem']!, certs['p256-root.pem']!];
    t.equal(x509ChainProblem(backend, certs['sm2-obu.pem']!, anchors, now), undefined, 'SM2 end entity -> SM2 root');
    t.equal(x509ChainProblem(backend, certs['p256-obu.pem']!, anchors, now), undefined, 'P-256 end entity -> P-256 root');
    const ossl = spawnSync('openssl', ['verify', '-vfyopt', 'distid:1234567812345678', '-CAfile', path.join(dir, 'sm2-root.pem'), path.join(dir, 'sm2-obu.pem')], { encoding: 'utf8' });
    t.match(ossl.stdout, /OK/, 'openssl agrees on the SM2 chain');
    // Node's X509Certificate.verify hashes SM2 with an empty ID: it rejects what the standard ID signed.
    t.notOk(new X509Certificate(f('sm2-obu.pem')).verify(new X509Certificate(f('sm2-root.pem')).publicKey), 'Node crypto cannot verify the SM2 link (empty ID): why the backend does it');
    t.match(x509ChainProblem(backend, certs['sm2-obu.pem']!, [certs['p256-root.pem']!], now), /not a trust anchor/, 'other root: untrusted');
    t.match(x509ChainProblem(backend, certs['short-lived.pem']!, anchors, now + 3 * DAY), /not valid now/, 'expired (1-day certificate, 3 days later)');
    t.match(x509ChainProblem(backend, certs['sm2-obu.pem']!, anchors, now + 20 * 365 * DAY), /not valid now/, 'expired root');
    // A tampered tbsCertificate: same issuer name, the signature no longer verifies.
    const der = Buffer.from(certs['sm2-obu.pem']!.der);
    const at = der.indexOf(Buffer.from('sm2-obu'));
    der[at] = 0x53; // 's' -> 'S' in the subject CN
    const tampered = parseX509(der);
    t.notOk(x509SignedBy(backend, tampered, certs['sm2-root.pem']!), 'tampered: signature does not verify');
    t.match(x509ChainProblem(backend, tampered, anchors, now), /does not verify/, 'tampered: chain problem names the signature');
  });

  t.test('bad input: typed errors, never a crash', async (t) => {
    const der = certs['p256-obu.pem']!.der;
    const cases: Array<[string, Uint8Array]> = [
      ['truncated DER', der.subarray(0, der.length - 10)],
      ['half a certificate', der.subarray(0, 40)],
      ['trailing octets', Buffer.concat([der, Buffer.from([0, 0])])],
      ['a key file', f('p256-obu.key')],
      ['a CSR', f('p256-obu.csr')],
      ['empty', new Uint8Array(0)],
      ['not DER', Buffer.from('hello')],
      ['a SEQUENCE of nothing', Buffer.from('3000', 'hex')],
    ];
    for (const [what, bytes] of cases) {
      const e = (() => {
        try {
          parseX509(bytes, what);
        } catch (err) {
          return err;
        }
      })();
      t.ok(e instanceof SecurityError && e.code === 'bad-certificate', `${what}: ${String(e)}`);
    }
    t.match(String((() => { try { parseX509(f('p256-obu.key'), 'mqtt.tls.cert /etc/rsu/client.key'); } catch (e) { return e; } })()), /mqtt\.tls\.cert \/etc\/rsu\/client\.key: holds a private key/, 'a key given as the certificate is named');
    // Every prefix and 300 single-octet mutations: only SecurityErrors.
    let others = 0;
    for (let n = 0; n < der.length; n += 3) try { parseX509(der.subarray(0, n)); } catch (e) { if (!(e instanceof SecurityError)) others++; }
    for (let i = 0; i < 300; i++) {
      const m = Buffer.from(der);
      m[(i * 7919) % m.length] ^= 1 << (i % 8);
      try {
        const c = parseX509(m);
        x509ChainProblem(backend, c, [certs['p256-root.pem']!], Date.now());
      } catch (e) {
        if (!(e instanceof SecurityError)) others++;
      }
    }
    t.equal(others, 0, 'prefixes and bit flips: nothing but SecurityError');
  });

  t.test('rsu cert show reads X.509 (PEM and DER); a key file is named; rsu decode shows and verifies an X.509 signer', async (t) => {
    const rsu = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, { stdin: new PassThrough(), out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const pem = await rsu('cert', 'show', path.join(dir, 'sm2-obu.pem'));
    t.equal(pem.code, 0);
    t.match(pem.out, /X\.509 +CN=sm2-obu, O=rsu-edge test\nissuer +CN=sm2 root, O=rsu-edge test, C=CN\nkey +EC SM2, signed SM2-with-SM3\nvalid .*\(364 days left\)\nCA +no/, pem.out);
    const der = await rsu('cert', 'show', '--json', path.join(dir, 'sm2-obu.der'));
    t.equal(JSON.parse(der.out).sha256, certs['sm2-obu.pem']!.sha256, 'DER, --json');
    const key = await rsu('cert', 'show', path.join(dir, 'sm2-obu.key'));
    t.equal(key.code, 1);
    t.match(key.err, /sm2-obu\.key: holds a private key, not a certificate/);
    // rsu decode: a China SPDU with an X.509 signer, verified against an X.509 anchor given with --anchor.
    const ms = (await loadMessageSet('csae2020')) as MessageSet;
    const frame = ms.encode('MessageFrame', { bsmFrame: { msgCnt: 1, id: 'CA7CA7CA7CA7CA7C', secMark: 0, pos: { lat: 482495000, long: 116389000 }, transmission: 'forwardGears', speed: 500, heading: 7200, accelSet: { long: 0, lat: 0, vert: 0, yaw: 0 }, brakes: {}, size: { width: 180, length: 450 }, vehicleClass: { classification: 10 } } } as never);
    const spdu = Buffer.from(x509Spdu(codec, f('sm2-obu.key'), certs['sm2-obu.pem']!.der, 'sm2', { payload: frame }));
    const dec = await rsu('decode', '--std', 'csae2020', '--verify', '--anchor', path.join(dir, 'sm2-root.pem'), spdu.toString('hex'));
    t.equal(dec.code, 0, dec.err);
    t.match(JSON.parse(dec.out), { spdu: { psid: 111, signer: { x509: { subject: 'CN=sm2-obu, O=rsu-edge test', sha256: certs['sm2-obu.pem']!.sha256 } }, verified: true }, value: { bsmFrame: { id: 'CA7CA7CA7CA7CA7C' } } }, 'rsu decode: AID, the X.509 signer, verified, the frame inside');
    spdu[spdu.length - 3]! ^= 1;
    const bad = await rsu('decode', '--std', 'csae2020', '--verify', '--anchor', path.join(dir, 'sm2-root.pem'), spdu.toString('hex'));
    t.match(JSON.parse(bad.out), { spdu: { verified: { ok: false, reason: 'bad-signature' } } }, 'rsu decode: tampered, bad-signature');
  });

  t.test('daemon: X.509-signed China SPDUs through the radio receive path, each failure counted by reason', async (t) => {
    const ieee = await securityCodec();
    const sec = tmpDir(t, 'rsu-x509-sec-');
    const root = issueTestCertificate(ieee, backend, { curve: 'nistp256', name: 'test-root.invalid', validHours: 24 * 400 });
    const rsuCert = issueTestCertificate(ieee, backend, { curve: 'nistp256', name: 'test-rsu.invalid', validHours: 24 * 200, psids: [3618, 3619, 3620, 3623] }, root);
    mkdirSync(path.join(sec, 'anchors'));
    writeFileSync(path.join(sec, 'anchors', 'root.cert'), root.certificate.encoded);
    for (const n of ['sm2-root.pem', 'p256-root.pem']) writeFileSync(path.join(sec, 'anchors', n), f(n));
    writeFileSync(path.join(sec, 'rsu.cert'), rsuCert.certificate.encoded);
    writeFileSync(path.join(sec, 'rsu.key.pem'), rsuCert.keyPem);
    process.env.RSU_DEMO_CERT_DIR = tmpDir(t, 'rsu-democert-');
    const demo = await startDemo({ std: 'csae2020', socketPath: false, configure: (cfg) => void (cfg.security = { ...cfg.security, dir: sec, receive: { ...cfg.security.receive, unverified: 'drop' } }) });
    t.teardown(() => demo.stop());
    const tx = createSocket('udp4');
    t.teardown(() => tx.close());
    const tampered = Buffer.from(x509Spdu(codec, f('sm2-obu.key'), certs['sm2-obu.pem']!.der, 'sm2'));
    tampered[tampered.length - 5]! ^= 1;
    const sent = [
      x509Spdu(codec, f('sm2-obu.key'), certs['sm2-obu.pem']!.der, 'sm2'),
      x509Spdu(codec, f('p256-obu.key'), certs['p256-obu.pem']!.der, 'nistp256'),
      tampered,
      x509Spdu(codec, f('sm2-obu.key'), certs['sm2-obu.pem']!.der.subarray(0, 150), 'sm2'),
      x509Spdu(codec, f('p256-obu.key'), certs['p384-obu.pem']!.der, 'nistp256'),
    ];
    for (const b of sent) tx.send(b, demo.daemon.radioRxPort!, '127.0.0.1');
    const rx = () => demo.daemon.status().security.receive;
    await until('five received', () => rx().verified + Object.values(rx().unverified).reduce((a, b) => a + b, 0) >= 5, 5000, 20);
    t.equal(rx().verified, 2, 'the SM2 and the P-256 X.509 signers verified against the X.509 anchors in anchors/');
    t.same(rx().unverified, { 'bad-signature': 1, malformed: 1, unsupported: 1 }, 'tampered: bad-signature; truncated DER: malformed; P-384 signer: unsupported');
    t.ok(demo.daemon.status().alarms.every((a) => !/bad-certificate/.test(a)), 'the X.509 anchors loaded without a problem');
  });

  t.test('certificate store: X.509 anchors loaded beside C-OER ones; a broken one is a named problem', async (t) => {
    const ieee = await securityCodec();
    const sec = tmpDir(t, 'rsu-x509-store-');
    const root = issueTestCertificate(ieee, backend, { curve: 'nistp256', name: 'test-root.invalid', validHours: 24 * 400 });
    const rsuCert = issueTestCertificate(ieee, backend, { curve: 'nistp256', name: 'test-rsu.invalid', validHours: 24 * 200, psids: [32] }, root);
    const w = (n: string, b: Uint8Array | string) => (writeFileSync(path.join(sec, n), b), path.join(sec, n));
    const files = { certificate: w('rsu.cert', rsuCert.certificate.encoded), key: w('rsu.key.pem', rsuCert.keyPem) };
    const good = new FileCertificateStore(ieee, backend, { ...files, anchors: [w('root.cert', root.certificate.encoded), w('sm2-root.pem', f('sm2-root.pem'))] }, { psids: [32] });
    t.ok(good.load().usable, 'usable');
    t.same(good.trustStore().x509Anchors?.().map((a) => a.subject), ['CN=sm2 root, O=rsu-edge test, C=CN'], 'the X.509 anchor is in the trust store');
    const cut = w('cut.pem', f('sm2-root.pem').toString('latin1').replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END'));
    const bad = new FileCertificateStore(ieee, backend, { ...files, anchors: [path.join(sec, 'root.cert'), cut] }, { psids: [32] }).load();
    t.match(bad.problems, [{ code: 'bad-certificate', message: /X\.509 trust anchor .*cut\.pem: DER does not decode/ }], 'a truncated X.509 anchor: bad-certificate, the file named');
  });

  t.test('China profile: an SPDU with an X.509 signer (SignerIdentifier.x509)', async (t) => {
    const anchors = [certs['sm2-root.pem']!, certs['p256-root.pem']!];
    const trust = new MemoryTrustStore(backend, [], undefined, anchors);
    const now = Date.now();
    const spdu = (certName: string, keyName: string, curve: Curve, o: { gen?: number; der?: Uint8Array } = {}) => x509Spdu(codec, f(keyName), o.der ?? certs[certName]!.der, curve, { gen: o.gen ?? now });
    const v = new SpduVerifier(codec, backend, trust, {}, () => now);
    const ok = v.verify(spdu('sm2-obu.pem', 'sm2-obu.key', 'sm2'));
    t.ok(ok.ok, `SM2/SM3 X.509 signer verifies: ${ok.ok ? '' : ok.detail}`);
    if (ok.ok) {
      t.equal(ok.psid, 111);
      t.equal(ok.signer.hashedId8, Buffer.from(backend.hash('sm3', certs['sm2-obu.pem']!.der).subarray(24)).toString('hex'), 'HashedId8: SM3 of the DER');
      t.equal('kind' in ok.signer && ok.signer.kind, 'x509');
    }
    const okP = v.verify(spdu('p256-obu.pem', 'p256-obu.key', 'nistp256'));
    t.ok(okP.ok, `P-256 X.509 signer verifies: ${okP.ok ? '' : okP.detail}`);
    const reason = (b: Uint8Array, verifier = v) => {
      const r = verifier.verify(b);
      return r.ok ? 'ok' : `${r.reason}: ${r.detail}`;
    };
    t.match(reason(spdu('short-lived.pem', 'sm2-obu.key', 'sm2'), new SpduVerifier(codec, backend, trust, {}, () => now + 3 * DAY)), /^untrusted: .*not valid now/, 'expired X.509 signer: untrusted');
    t.match(reason(spdu('p384-obu.pem', 'p256-obu.key', 'nistp256')), /^unsupported: .*P-384/, 'a P-384 X.509 signer (wrong curve): unsupported');
    t.match(reason(spdu('sm2-obu.pem', 'sm2-obu.key', 'sm2', { der: certs['sm2-obu.pem']!.der.subarray(0, 200) })), /^malformed: .*DER does not decode/, 'truncated DER in the signer: malformed');
    t.match(reason(spdu('sm2-obu.pem', 'p256-obu.key', 'nistp256')), /^(unsupported|bad-signature): /, 'signed with another key and curve: rejected');
    t.match(reason(spdu('sm2-obu.pem', 'sm2.key', 'sm2')), /^bad-signature: /, 'signed by the root key, not the certificate\'s: bad-signature');
    t.match(reason(spdu('sm2-obu.pem', 'sm2-obu.key', 'sm2', { gen: now - 60_000 })), /^stale: /, 'old generationTime: stale');
    t.match(reason(spdu('sm2-obu.pem', 'sm2-obu.key', 'sm2'), new SpduVerifier(codec, backend, new MemoryTrustStore(backend), {}, () => now)), /^untrusted: no X.509 trust anchors/, 'no X.509 anchors: untrusted');
    const flipped = Buffer.from(spdu('sm2-obu.pem', 'sm2-obu.key', 'sm2'));
    flipped[flipped.length - 5]! ^= 1;
    t.match(reason(flipped), /^bad-signature: /, 'a signature bit flipped: bad-signature');
  });
});
