// SN-SIGN / SN-VERIFY (runtime/security/spdu.ts) over the C-OER codec: a real SPDU recorded on the air (vanetza's
// explicit-certificate CAM) verifies; SPDUs we sign under a throwaway CA verify and every failure gets its reason;
// ECDSA P-256 and SM2 with the built-in 1609.2 set (codecs/sets/ieee1609dot2, so in a clean clone), and with
// the deployer-supplied modules when RSU_IEEE1609DOT2_ASN1_DIR has them: P-256 with 2016 and 2022, SM2 with 2022.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { defaultIeee1609Dot2Edition, fromHex, loadIeee1609Dot2, type Ieee1609Dot2Edition } from '../codecs/index.js';
import { RadioRx } from '../hw/radio/index.js';
import { encodeWsmp } from '../hw/radio/netlayer.js';
import { certificateInfo, MemoryTrustStore, type CertificateProvider } from '../runtime/security/certificates.js';
import { createCryptoBackend, SecurityError, sm2AddonStatus, type Curve } from '../runtime/security/index.js';
import { spduHandlerOf, SpduSigner, SpduVerifier } from '../runtime/security/spdu.js';
import { issueTestCertificate, type TestIdentity } from '../runtime/security/test-ca.js';
import { time64FromUnixMs, unixMsFromTime64 } from '../runtime/security/time.js';
import { ieee1609Missing, spduVectors } from './support/ieee1609dot2.js';
import { pcapOf } from './support/pcap.js';
import { tmpDir } from './support/wait.js';

const backend = createCryptoBackend();
const HOUR = 3_600_000;

t.test('1609.2 time: TAI microseconds since 2004 with the leap seconds', async (t) => {
  t.equal(time64FromUnixMs(Date.parse('2004-01-01T00:00:00Z')), 0n, 'the epoch');
  t.equal(time64FromUnixMs(Date.parse('2019-11-21T13:29:04.847Z')), 501427749847000n, '2019: 5 leap seconds ahead of UTC');
  const now = Date.now();
  t.equal(unixMsFromTime64(time64FromUnixMs(now)), now, 'round trip');
});

t.test("vanetza's explicit-certificate SPDU (recorded on the air) verifies", async (t) => {
  const v = spduVectors().find((x) => x.name === 'etsi-cam-explicit-certificate')!;
  for (const edition of ['builtin', ...(['2016', '2022'] as const).filter((e) => !ieee1609Missing(e))] as Ieee1609Dot2Edition[]) {
    const codec = await loadIeee1609Dot2(edition);
    const trust = new MemoryTrustStore(backend);
    const at = Date.parse('2019-11-21T13:30:00Z');
    const verifier = new SpduVerifier(codec, backend, trust, { maxAgeMs: 3600_000 }, () => at);
    const r = verifier.verify(fromHex(v.hex));
    // Its issuer (56dfd6d627a362dc) is not known here, so the chain stops there; the signature came first.
    t.match(r, { ok: false, reason: 'untrusted', psid: 36 }, `${edition}: the signature verifies; the chain stops at the unknown issuer`);
    t.match((r as { detail: string }).detail, /issuer 56dfd6d627a362dc/);
    const sd = (codec.decode('Ieee1609Dot2Data', fromHex(v.hex)) as { content: { signedData: { signer: { certificate: unknown[] } } } }).content.signedData;
    const cert = certificateInfo(codec, backend, sd.signer.certificate[0]);
    t.equal(cert.hashedId8, '127cff384ce0b890', `${edition}: HashedId8 of its certificate as vanetza's test says`);
    // With its certificate trusted as an anchor, everything passes.
    const anchored = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [cert]), { maxAgeMs: 3600_000 }, () => at);
    t.match(anchored.verify(fromHex(v.hex)), { ok: true, psid: 36, generationTimeMs: Date.parse(`${v.generationTimeUtc.replace(' ', 'T')}Z`) }, `${edition}: verifies with its certificate as the anchor; generationTime is the UTC time the vector lists (5 leap seconds)`);
    const tampered = fromHex(v.hex);
    tampered[30]! ^= 1; // inside the CAM payload
    t.match(anchored.verify(tampered), { ok: false, reason: 'bad-signature' }, `${edition}: one bit of the payload flipped: bad-signature`);
    const digest = spduVectors().find((x) => x.name === 'etsi-cam-digest-signer')!;
    t.match(anchored.verify(fromHex(digest.hex)), { ok: false, reason: 'unknown-signer' }, `${edition}: the digest-signed one names a certificate never seen`);
  }
});

const CASES: Array<{ edition: Ieee1609Dot2Edition; curve: Curve }> = [
  { edition: 'builtin', curve: 'nistp256' },
  { edition: 'builtin', curve: 'sm2' },
  { edition: '2016', curve: 'nistp256' },
  { edition: '2022', curve: 'nistp256' },
  { edition: '2022', curve: 'sm2' },
];

for (const { edition, curve } of CASES) {
  const skip = (edition === 'builtin' ? undefined : ieee1609Missing(edition)) ?? (curve === 'sm2' && !sm2AddonStatus().ok ? 'SM2 addon not built' : undefined);
  t.test(`${edition} ${curve}: SN-SIGN and SN-VERIFY under a throwaway CA`, { skip }, async (t) => {
    const codec = await loadIeee1609Dot2(edition);
    let now = Date.now();
    const clock = () => now;
    const root = issueTestCertificate(codec, backend, { curve, name: 'rsu-test-root', validHours: 24 * 365 });
    const rsu = issueTestCertificate(codec, backend, { curve, name: 'rsu-test-rsu', validHours: 24 * 7, psids: [0x20, 130, 131] }, root);
    t.equal(rsu.certificate.curve, curve);
    t.same(rsu.certificate.psids, [0x20, 130, 131]);
    const provider: CertificateProvider = { current: () => ({ certificate: rsu.certificate, key: rsu.key }) };
    const signer = new SpduSigner(codec, backend, provider, clock);
    const trust = new MemoryTrustStore(backend, [root.certificate]);
    const verifier = new SpduVerifier(codec, backend, trust, {}, clock);
    const payload = randomBytes(120);

    const full = signer.sign({ payload, psid: 130, signer: 'certificate', lifetimeMs: 60_000 });
    const r = verifier.verify(full);
    t.match(r, { ok: true, psid: 130 }, 'certificate signer: verifies');
    t.same(r.ok && Buffer.from(r.payload), payload, 'the payload comes back');
    t.match(verifier.verify(signer.sign({ payload, psid: 130, signer: 'digest' })), { ok: true }, 'digest signer after the certificate was seen: verifies');
    t.match(new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [root.certificate]), {}, clock).verify(signer.sign({ payload, psid: 130, signer: 'digest' })), { ok: false, reason: 'unknown-signer' }, 'digest signer never seen in full: unknown-signer');

    const other = issueTestCertificate(codec, backend, { curve, name: 'other-root', validHours: 24 });
    t.match(new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [other.certificate]), {}, clock).verify(full), { ok: false, reason: 'untrusted' }, 'another anchor: untrusted');
    const tampered = Uint8Array.from(full);
    tampered[tampered.length - 40]! ^= 0x10;
    t.match(verifier.verify(tampered), { ok: false }, 'a bit flipped near the end (signature): rejected');
    t.match(verifier.verify(full.subarray(0, full.length - 5)), { ok: false, reason: 'malformed' }, 'truncated: malformed');
    t.match(verifier.verify(randomBytes(50)), { ok: false }, 'random bytes: rejected, no exception');

    const wrongPsid = issueTestCertificate(codec, backend, { curve, name: 'bsm-only', validHours: 24, psids: [0x20] }, root);
    const s2 = new SpduSigner(codec, backend, { current: () => ({ certificate: wrongPsid.certificate, key: wrongPsid.key }) }, clock);
    t.throws(() => s2.sign({ payload, psid: 130, signer: 'certificate' }), SecurityError, 'SN-SIGN refuses a PSID the certificate does not permit');

    const old = signer.sign({ payload, psid: 130, signer: 'certificate', generationTimeMs: now - 60_000 });
    t.match(verifier.verify(old), { ok: false, reason: 'stale' }, 'generated a minute ago: stale');
    const short = signer.sign({ payload, psid: 130, signer: 'certificate', lifetimeMs: 1, generationTimeMs: now - 1000 });
    t.match(verifier.verify(short), { ok: false, reason: 'expired' }, 'expiryTime passed: expired');
    now += 8 * 24 * HOUR;
    t.match(verifier.verify(signer.sign({ payload, psid: 130, signer: 'certificate' })), { ok: false, reason: 'untrusted' }, 'eight days later the 7-day certificate has expired: untrusted');

    // The same verifier as the radio receiver's SPDU handler: a signed SPDU in, the frame inside out.
    const rx = new RadioRx({ listen: '127.0.0.1:0', header: 'wsmp', messageSet: { name: 'test', decodePrefix: (_t: 'MessageFrame', b: Uint8Array) => ({ value: { bsmFrame: {} }, trailing: b.subarray(b.length) }) }, spdu: spduHandlerOf(new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [root.certificate]), {}, clock)) });
    now -= 8 * 24 * HOUR;
    const viaRadio = rx.process(encodeWsmp({ psid: 130 }, signer.sign({ payload, psid: 130, signer: 'certificate' })));
    t.match(viaRadio, { ok: true, message: { security: { verified: true, psid: 130, signer: rsu.certificate.hashedId8 } } }, 'RadioRx with spduHandlerOf(SN-VERIFY): verified, the payload delivered');
    t.same(viaRadio.ok && Buffer.from(viaRadio.message.bytes), payload);
    now += 8 * 24 * HOUR;
    t.match(rx.process(signer.sign({ payload, psid: 130, signer: 'certificate' })), { ok: false, reason: 'spdu_rejected' }, 'and rejects what SN-VERIFY rejects (the expired certificate)');

    const expiredIssued: TestIdentity = issueTestCertificate(codec, backend, { curve, name: 'rsu', validHours: 1, psids: [130], validFromMs: now - 2 * HOUR }, root);
    t.ok(expiredIssued.certificate.validUntil < now, 'a certificate issued already expired');
  });
}

t.test('tshark decodes the SPDUs SN-SIGN writes, field by field', { skip: (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'tshark is not installed') }, async (t) => {
  const codec = await loadIeee1609Dot2(defaultIeee1609Dot2Edition());
  const root = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-root', validHours: 24 });
  const rsu = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-rsu', validHours: 24, psids: [0x20, 130] }, root);
  const gen = Date.parse('2026-03-01T12:00:00.250Z');
  const signer = new SpduSigner(codec, backend, { current: () => ({ certificate: rsu.certificate, key: rsu.key }) }, () => gen);
  const cases = Array.from({ length: 20 }, (_, i) => ({ psid: i % 2 ? 130 : 0x20, payload: randomBytes(10 + i * 7), signer: (i % 3 ? 'digest' : 'certificate') as 'digest' | 'certificate' }));
  const spdus = cases.map((c) => signer.sign({ ...c, lifetimeMs: 2000 }));
  const dir = tmpDir(t, 'rsu-spdu-tshark-');
  const file = path.join(dir, 'spdus.pcap');
  fs.writeFileSync(file, pcapOf(spdus.map((s, i) => encodeWsmp({ psid: cases[i]!.psid }, s))));
  const fields = ['ieee1609dot2.psid', 'ieee1609dot2.generationTime', 'ieee1609dot2.expiryTime', 'ieee1609dot2.hashId', 'ieee1609dot2.signer', 'ieee1609dot2.digest', 'ieee1609dot2.x_only', 'ieee1609dot2.sSig', 'ieee1609dot2.unsecuredData'];
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('|'));
  t.equal(rows.length, cases.length, 'one row per SPDU');
  cases.forEach((c, i) => {
    const v = (codec.decode('Ieee1609Dot2Data', spdus[i]!) as { content: { signedData: { signature: { ecdsaNistP256Signature: { rSig: { 'x-only': string }; sSig: string } } } } }).content.signedData.signature.ecdsaNistP256Signature;
    const [psid, genT, exp, hashId, signerKind, digest, xOnly, sSig, data] = rows[i]!; // psid: the header's first, then a certificate's permissions
    const want = [String(c.psid), String(time64FromUnixMs(gen)), String(time64FromUnixMs(gen + 2000)), '0', c.signer === 'certificate' ? '1' : '0'];
    t.same([psid!.split(',')[0], genT, exp, hashId, signerKind!.split(',')[0]], want, `SPDU ${i}: psid, times, sha256, ${c.signer} signer`);
    if (c.signer === 'digest') t.equal(digest!.replaceAll(':', ''), rsu.certificate.hashedId8, `SPDU ${i}: the digest is the certificate's HashedId8`);
    // x-only and sSig: the message's (the last in the frame; a certificate signer carries its issuer's too).
    t.same([xOnly!.split(',').at(-1)!.replaceAll(':', ''), sSig!.split(',').at(-1)!.replaceAll(':', '')], [v.rSig['x-only'].toLowerCase(), v.sSig.toLowerCase()], `SPDU ${i}: r and s`);
    t.equal(data!.replaceAll(':', ''), Buffer.from(c.payload).toString('hex'), `SPDU ${i}: the payload`);
  });
});
