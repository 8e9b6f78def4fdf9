// SN-VERIFY over the octets as received, and the IEEE / China profiles end to end (runtime/security/profile.ts,
// spdu-octets.ts):
// - an SPDU whose ToBeSignedData is encoded as a 2016 sender does (a HeaderInfo extension bitmap of 2 bits where the
//   2022/builtin set writes 4), signed over its own octets, verifies; our re-encoding differs, so hashing a
//   re-encoding would reject it; one octet changed: bad-signature;
// - IEEE (builtin, P-256, psid) and China (builtin-china, SM2 with SM3, aid, V2XSecData): sign, encode, decode,
//   verify, tamper; the China SPDU's signature checked by Debian's openssl with the standard SM2 ID; and with the
//   deployer's full China modules when RSU_IEEE1609DOT2_ASN1_DIR has china/.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadIeee1609Dot2, type Ieee1609Dot2Edition } from '../codecs/index.js';
import { certificateInfo, MemoryTrustStore, signatureValue, type CertificateProvider } from '../runtime/security/certificates.js';
import { createCryptoBackend, sm2AddonStatus, type Curve } from '../runtime/security/index.js';
import { spkiOf } from '../runtime/security/keys.js';
import { sign1609, signingInput } from '../runtime/security/primitives.js';
import { profileOf } from '../runtime/security/profile.js';
import { signedDataOctets, toBeSignedCertificateOctets } from '../runtime/security/spdu-octets.js';
import { SpduSigner, SpduVerifier } from '../runtime/security/spdu.js';
import { issueTestCertificate } from '../runtime/security/test-ca.js';
import { time64FromUnixMs } from '../runtime/security/time.js';
import { ieee1609Missing } from './support/ieee1609dot2.js';
import { opensslMissing, rsToDer, runShell } from './support/openssl.js';
import { tmpDir } from './support/wait.js';

const backend = createCryptoBackend();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sm2Missing = sm2AddonStatus().ok ? undefined : 'SM2 addon not built (npm run build:native)';

t.test('a 2016-style encoding (shorter extension bitmap) verifies over its own octets', async (t) => {
  const codec = await loadIeee1609Dot2('builtin');
  const now = Date.now();
  const root = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-root', validHours: 24 });
  const obu = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'obu', validHours: 24, psids: [0x20] }, root);
  const tbsValue = {
    payload: { data: { protocolVersion: 3, content: { unsecuredData: '00112233445566778899' } } },
    headerInfo: { psid: 0x20, generationTime: time64FromUnixMs(now), inlineP2pcdRequest: ['ABCDEF'] },
  };
  const canonical = codec.encode('ToBeSignedData', tbsValue);
  // HeaderInfo's extension bitmap: length 02, unused bits 04 (2022: 4 additions), 80 (the first present); then the
  // open type (05) holding SequenceOfHashedId3 (quantity 01 01, ABCDEF). 2016 has 2 additions: unused bits 06.
  const at = hex(canonical).indexOf('0204800501' + '01abcdef');
  t.ok(at > 0 && at % 2 === 0, 'the extension bitmap is where expected');
  const sent = Uint8Array.from(canonical);
  sent[at / 2 + 1] = 0x06;
  t.same(codec.decode('ToBeSignedData', sent), codec.decode('ToBeSignedData', canonical), 'the decoder reads the 2016 bitmap to the same value');
  t.not(hex(codec.encode('ToBeSignedData', codec.decode('ToBeSignedData', sent))), hex(sent), 'our re-encoding differs from the octets sent');

  const sig = sign1609(backend, obu.key, sent, { certificate: obu.certificate.encoded });
  const spdu = Buffer.concat([Buffer.from([3, 0x81]), codec.encode('HashAlgorithm', 'sha256'), sent, codec.encode('SignerIdentifier', { certificate: [obu.certificate.value] }), codec.encode('Signature', signatureValue(sig))]);
  t.same(hex(signedDataOctets(codec, spdu).tbsData), hex(sent), 'the received ToBeSignedData octets are cut out exactly');
  const verifier = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [root.certificate]), {}, () => now);
  t.match(verifier.verify(spdu), { ok: true, psid: 0x20 }, 'verifies');
  const tampered = Uint8Array.from(spdu);
  tampered[8]! ^= 0x01; // inside unsecuredData
  t.match(verifier.verify(tampered), { ok: false, reason: 'bad-signature' }, 'one octet of the payload changed: bad-signature');
  const rebitmapped = Uint8Array.from(spdu);
  rebitmapped[3 + at / 2 + 1] = 0x04; // the canonical bitmap: the same value, other octets than were signed
  t.match(verifier.verify(rebitmapped), { ok: false, reason: 'bad-signature' }, 'the canonical bitmap in place of the signed one: bad-signature (the octets count, not the value)');
});

t.test('a certificate with an extension our modules do not know: its octets as received are hashed, sent and chained', async (t) => {
  const codec = await loadIeee1609Dot2('builtin');
  const now = Date.now();
  const root = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-root', validHours: 24 });
  const plain = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'obu', validHours: 24, psids: [0x20] }, root);
  const enc = plain.certificate.encoded;
  const tbs = toBeSignedCertificateOctets(codec, enc);
  t.same(hex(tbs), hex(codec.encode('ToBeSignedCertificate', (plain.certificate.value as { toBeSigned: unknown }).toBeSigned)), 'toBeSigned is cut out of the certificate');
  // A later edition's ToBeSignedCertificate: the extension bit of the preamble set, a bitmap of 8 additions with
  // the 8th present (the builtin set knows 4), its open type 01 00. The decoder skips it; a re-encoding drops it.
  const tbsNew = Buffer.concat([tbs, Buffer.from('0200010100', 'hex')]);
  tbsNew[0]! |= 0x80;
  const head = enc.subarray(0, Buffer.from(enc).indexOf(Buffer.from(tbs)));
  t.same(hex(Buffer.concat([head, tbs])), hex(enc.subarray(0, head.length + tbs.length)), 'the certificate is preamble, version, type, issuer, toBeSigned, signature');
  const issuerSig = sign1609(backend, root.key, tbsNew, { certificate: root.certificate.encoded });
  const certNew = Buffer.concat([head, tbsNew, codec.encode('Signature', signatureValue(issuerSig))]);
  const value = codec.decode('Certificate', certNew);
  t.not(hex(codec.encode('Certificate', value)), hex(certNew), 'our re-encoding drops the unknown addition');
  const info = certificateInfo(codec, backend, value, certNew);
  t.not(info.hashedId8, certificateInfo(codec, backend, value).hashedId8, 'the HashedId8 is of the octets given');
  const signer = new SpduSigner(codec, backend, { current: () => ({ certificate: info, key: plain.key }) }, () => now);
  const spdu = signer.sign({ payload: randomBytes(40), psid: 0x20, signer: 'certificate' });
  t.ok(hex(spdu).includes(hex(certNew)), 'SN-SIGN sends the certificate octets as they came from the CA');
  const verifier = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [root.certificate]), {}, () => now);
  t.match(verifier.verify(spdu), { ok: true, psid: 0x20, signer: { hashedId8: info.hashedId8 } }, 'verifies: signature over Hash(certificate as received), chain over its toBeSigned as received');
  t.match(verifier.verify(signer.sign({ payload: randomBytes(40), psid: 0x20, signer: 'digest' })), { ok: true }, 'the digest signer names the HashedId8 of those octets');
  const forged = Uint8Array.from(spdu);
  forged[hex(spdu).indexOf(hex(certNew)) / 2 + head.length + tbs.length + 4]! ^= 1; // the unknown addition's content (02 00 01 | 01 | 00)
  t.match(verifier.verify(forged), { ok: false, reason: 'bad-signature' }, 'the unknown addition changed in transit: rejected');
});

const PROFILES: Array<{ edition: Ieee1609Dot2Edition; curve: Curve; skip?: string }> = [
  { edition: 'builtin', curve: 'nistp256' },
  { edition: 'builtin-china', curve: 'sm2', skip: sm2Missing },
  { edition: 'china', curve: 'sm2', skip: ieee1609Missing('china') ?? sm2Missing },
];

for (const { edition, curve, skip } of PROFILES) {
  t.test(`${edition} (${curve}): sign, encode, decode, verify, tamper`, { skip }, async (t) => {
    const codec = await loadIeee1609Dot2(edition);
    const profile = profileOf(codec);
    t.equal(profile.name, edition.includes('china') ? 'china' : 'ieee1609dot2', 'profile of the codec');
    const now = Date.now();
    const clock = () => now;
    const root = issueTestCertificate(codec, backend, { curve, name: 'rsu-test-root', validHours: 24 });
    const rsu = issueTestCertificate(codec, backend, { curve, name: 'rsu-test-rsu', validHours: 24, psids: [130, 3618] }, root);
    t.same(rsu.certificate.psids, [130, 3618], `the certificate's ${profile.appId}s`);
    const perms = (codec.decode('Certificate', rsu.certificate.encoded) as { toBeSigned: { appPermissions: Array<Record<string, number>> } }).toBeSigned.appPermissions;
    t.same(perms.map((p) => p[profile.appId]), [130, 3618], `appPermissions carry ${profile.appId}`);
    const provider: CertificateProvider = { current: () => ({ certificate: rsu.certificate, key: rsu.key }) };
    const signer = new SpduSigner(codec, backend, provider, clock);
    const payload = randomBytes(80);
    const spdu = signer.sign({ payload, psid: 3618, signer: 'certificate', lifetimeMs: 10_000 });

    const sd = (codec.decode(profile.envelope, spdu) as { content: { signedData: { hashId: string; tbsData: { headerInfo: Record<string, unknown> }; signature: Record<string, unknown> } } }).content.signedData;
    t.equal(sd.tbsData.headerInfo[profile.appId], 3618, `HeaderInfo.${profile.appId}`);
    t.equal(sd.hashId, curve === 'sm2' ? 'sm3' : 'sha256', 'hashId');
    t.same(Object.keys(sd.signature), [curve === 'sm2' ? 'sm2Signature' : 'ecdsaNistP256Signature'], 'signature alternative');

    const verifier = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [root.certificate]), {}, clock);
    const r = verifier.verify(spdu);
    t.match(r, { ok: true, psid: 3618 }, 'verifies');
    t.same(r.ok && Buffer.from(r.payload), payload, 'the payload comes back');
    t.match(verifier.verify(signer.sign({ payload, psid: 130, signer: 'digest' })), { ok: true, psid: 130 }, 'digest signer: verifies');
    const tampered = Uint8Array.from(spdu);
    tampered[12]! ^= 0x40; // inside the payload
    t.match(verifier.verify(tampered), { ok: false, reason: 'bad-signature' }, 'payload octet changed: bad-signature');
    const otherHash = Uint8Array.from(spdu);
    otherHash[2] = curve === 'sm2' ? 0 : 2; // hashId sha256 <-> sm3 (not covered by the signature)
    t.match(verifier.verify(otherHash), { ok: false, reason: 'unsupported' }, 'hashId not the hash of the signer\'s curve: rejected');
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const m = Uint8Array.from(spdu);
      for (let k = 0; k < 1 + (i % 3); k++) m[(i * 7919 + k * 104729) % m.length]! ^= 1 << ((i + k) % 8);
      const v = verifier.verify(i % 10 === 0 ? m.subarray(0, (i * 31) % m.length) : m); // throws nothing
      if (!v.ok) rejected++;
    }
    t.equal(rejected, 2000, '2,000 mutated or truncated SPDUs: every one rejected with a reason, no exception');
    const late = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [root.certificate]), {}, () => now + 60_000);
    t.match(late.verify(spdu), { ok: false, reason: 'stale' }, 'a minute later: stale');
    const bsmOnly = issueTestCertificate(codec, backend, { curve, name: 'other', validHours: 24, psids: [0x20] }, root);
    const s2 = new SpduSigner(codec, backend, { current: () => ({ certificate: bsmOnly.certificate, key: bsmOnly.key }) }, clock);
    t.throws(() => s2.sign({ payload, psid: 3618, signer: 'certificate' }), /3618/, `SN-SIGN refuses an ${profile.appId} the certificate does not permit`);

    if (curve === 'sm2') {
      // Debian's openssl verifies the SPDU's signature: SM2 over Hash(tbsData) || Hash(certificate) with the standard ID.
      const why = opensslMissing();
      if (why) return void t.skip(`openssl: ${why}`);
      const { tbsData } = signedDataOctets(codec, spdu);
      const sig = (sd.signature as { sm2Signature: { rSig: string; sSig: string } }).sm2Signature;
      const dir = tmpDir(t, 'rsu-china-spdu-');
      fs.writeFileSync(path.join(dir, 'msg'), signingInput(backend, 'sm2', tbsData, { certificate: rsu.certificate.encoded }));
      fs.writeFileSync(path.join(dir, 'sig'), rsToDer(Buffer.from(sig.rSig, 'hex'), Buffer.from(sig.sSig, 'hex')));
      fs.writeFileSync(path.join(dir, 'pub.der'), spkiOf('sm2', rsu.key.publicKey.point));
      const out = await runShell('openssl pkeyutl -verify -pubin -inkey pub.der -keyform DER -rawin -digest sm3 -pkeyopt distid:1234567812345678 -in msg -sigfile sig', dir);
      t.match(out, /Signature Verified Successfully/, 'openssl pkeyutl (SM2, SM3, distid 1234567812345678) verifies the SPDU signature');
    }
  });
}
