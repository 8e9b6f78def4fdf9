// The RSU certificate store (runtime/security/cert-store.ts) on files: a good chain, and each problem a field
// engineer meets (a bad certificate file, a bad or foreign key, an expired chain, the wrong anchor, a PSID or a
// region the certificate does not cover), a certificate replaced in place. With the deployer's 2022 modules when
// RSU_IEEE1609DOT2_ASN1_DIR is set, otherwise the built-in 1609.2 set (codecs/sets/ieee1609dot2).
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { defaultIeee1609Dot2Edition, loadIeee1609Dot2 } from '../codecs/index.js';
import { FileCertificateStore, regionContains, type CertStoreFiles } from '../runtime/security/cert-store.js';
import { createCryptoBackend, issueTestCertificate, type TestIdentity } from '../runtime/security/index.js';
import { tmpDir } from './support/wait.js';

const backend = createCryptoBackend();
const DAY = 86_400_000;

t.test('regions: circular, rectangular, polygonal; identified ones cannot be told', async (t) => {
  const c = { circularRegion: { center: { latitude: 399_000_000, longitude: 1_164_000_000 }, radius: 1000 } };
  t.equal(regionContains(c, 39.9, 116.4), true);
  t.equal(regionContains(c, 39.91, 116.4), false, '1.1 km north');
  const r = { rectangularRegion: [{ northWest: { latitude: 400_000_000, longitude: 1_160_000_000 }, southEast: { latitude: 390_000_000, longitude: 1_170_000_000 } }] };
  t.equal(regionContains(r, 39.5, 116.5), true);
  t.equal(regionContains(r, 41, 116.5), false);
  const p = { polygonalRegion: [{ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 10_000_000 }, { latitude: 10_000_000, longitude: 0 }] };
  t.equal(regionContains(p, 0.2, 0.2), true);
  t.equal(regionContains(p, 0.9, 0.9), false);
  t.equal(regionContains({ identifiedRegion: [{ countryOnly: 156 }] }, 39.9, 116.4), undefined);
});

t.test('certificate store from files', async (t) => {
  const codec = await loadIeee1609Dot2(defaultIeee1609Dot2Edition());
  t.comment(`1609.2 codec: ${codec.name}`);
  const dir = tmpDir(t, 'rsu-certstore-');
  let now = Date.now();
  const write = (name: string, data: Uint8Array | string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  };
  const root = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-root', validHours: 24 * 365 });
  const region = { circularRegion: { center: { latitude: 399_000_000, longitude: 1_164_000_000 }, radius: 5000 } };
  const rsu = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-rsu', validHours: 24 * 7, psids: [0x20, 130, 131], region }, root);
  const files = (id: TestIdentity, anchor = root): CertStoreFiles => ({ certificate: write('rsu.cert', id.certificate.encoded), key: write('rsu.key.pem', id.keyPem), anchors: [write('root.cert', anchor.certificate.encoded)] });
  const store = (f: CertStoreFiles, psids = [130, 131], warnDays = 3) => new FileCertificateStore(codec, backend, f, { psids, position: { lat: 39.9, lon: 116.4 }, warnDays }, () => now);

  const good = store(files(rsu));
  const s = good.load();
  t.match(s, { usable: true, problems: [], hashedId8: rsu.certificate.hashedId8, daysToExpiry: 6 }, 'a good chain: usable, 6 days to expiry');
  t.equal(good.current().certificate.hashedId8, rsu.certificate.hashedId8);
  t.match(store(files(rsu), [130], 30).load(), { usable: true, problems: [{ code: 'expiring-soon' }] }, '30-day warning: expiring-soon, still usable');
  const codes = (st: { problems: Array<{ code: string }> }) => st.problems.map((p) => p.code);

  t.same(codes(store(files(rsu), [130, 132]).load()), ['psid-not-permitted'], 'a configured PSID the certificate lacks');
  t.same(codes(new FileCertificateStore(codec, backend, files(rsu), { psids: [130], position: { lat: 31.2, lon: 121.5 }, warnDays: 3 }, () => now).load()), ['outside-region'], 'the RSU outside the certificate region');
  const other = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'other-root', validHours: 24 });
  t.same(codes(store(files(rsu, other)).load()), ['untrusted'], 'the wrong anchor: untrusted');

  const bad = files(rsu);
  write('rsu.cert', Buffer.from('not a certificate'));
  t.match(store(bad).load(), { usable: false, problems: [{ code: 'bad-certificate' }] }, 'a bad certificate file');
  write('rsu.cert', rsu.certificate.encoded.subarray(0, 40));
  t.match(store(bad).load(), { usable: false, problems: [{ code: 'bad-certificate' }] }, 'a truncated certificate file');
  write('rsu.cert', rsu.certificate.encoded);
  write('rsu.key.pem', '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n');
  t.match(store(bad).load(), { usable: false, problems: [{ code: 'bad-key' }] }, 'a bad PEM');
  write('rsu.key.pem', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  t.match(store(bad).load(), { usable: false, problems: [{ code: 'bad-key', message: /wrong-curve/ }] }, 'a P-384 key: wrong curve');
  write('rsu.key.pem', root.keyPem);
  t.match(store(bad).load(), { usable: false, problems: [{ code: 'key-mismatch' }] }, "another certificate's key");
  t.match(store({ ...bad, certificate: path.join(dir, 'missing.cert') }).load(), { usable: false, problems: [{ code: 'unreadable' }] }, 'a missing file');
  t.throws(() => store({ ...bad, certificate: path.join(dir, 'missing.cert') }).current(), /no usable certificate/, 'signing with no usable certificate: a SecurityError naming why');

  now += 8 * DAY;
  t.match(good.check(), { usable: false, problems: [{ code: 'expired' }] }, 'eight days later (hourly check): expired');
  now -= 8 * DAY;
  good.check();

  // A new certificate dropped in place is taken up; a broken one is not, and the old one stays in use.
  const f2 = files(rsu);
  const live = store(f2);
  live.load();
  const rsu2 = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'rsu-test-rsu', validHours: 24 * 30, psids: [130, 131], region }, root);
  t.equal(live.reloadIfChanged(), false, 'nothing changed: no reload');
  fs.writeFileSync(f2.certificate, rsu2.certificate.encoded);
  fs.writeFileSync(f2.key, rsu2.keyPem);
  t.equal(live.reloadIfChanged(), true, 'files changed: reloaded');
  t.match(live.status(), { usable: true, hashedId8: rsu2.certificate.hashedId8, daysToExpiry: 29 }, 'the new certificate is in use');
  fs.writeFileSync(f2.certificate, 'garbage!');
  live.reloadIfChanged();
  t.match(live.status(), { usable: true, problems: [{ code: 'bad-certificate', message: /previous certificate stays in use/ }] }, 'a broken replacement: reported, the previous one stays in use');
  t.equal(live.current().certificate.hashedId8, rsu2.certificate.hashedId8);
});
