// Signatures from the pre-computed nonce pool (runtime/security/presign.ts, native/sm2/presign.c), judged by
// Debian's openssl 3: 1,000 random messages per curve, every one signed from the pool (the count says so), verified
// by `openssl dgst -sha256 -verify` / `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678`.
// Also: no k used twice (r of one message signed 2,000 times all distinct), an empty pool falls back to direct
// signing, and a certificate store's hot reload disposes of the old key's pool.
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { defaultIeee1609Dot2Edition, loadIeee1609Dot2 } from '../codecs/index.js';
import { FileCertificateStore } from '../runtime/security/cert-store.js';
import { createCryptoBackend, issueTestCertificate, sm2AddonStatus, SpduSigner, SpduVerifier, type Curve, type PrivateKey } from '../runtime/security/index.js';
import { DEFAULT_PRESIGN_CAPACITY, setPresignCapacity } from '../runtime/security/presign.js';
import { opensslKeyScript, opensslMissing, rsToDer, runShell, verifyCommand } from './support/openssl.js';
import { tmpDir } from './support/wait.js';

const N = 1000;
const noAddon = sm2AddonStatus().ok ? undefined : `the addon: ${(sm2AddonStatus() as { reason: string }).reason}`;
const missing = opensslMissing() ?? noAddon;
const backend = createCryptoBackend();
t.teardown(() => setPresignCapacity(DEFAULT_PRESIGN_CAPACITY));

/** Waits (bounded) until the key's pool holds `n` entries; the refill thread runs at the lowest priority. */
async function filled(t: Tap.Test, key: PrivateKey, n: number): Promise<void> {
  const until = Date.now() + 120_000;
  while ((key.signingStats?.().available ?? 0) < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.ok((key.signingStats?.().available ?? 0) >= n, `the pool filled to ${n}`);
}

for (const curve of ['nistp256', 'sm2'] as const) {
  t.test(`${curve}: ${N} signatures from the pool verify with openssl`, { skip: missing }, async (t) => {
    const dir = tmpDir(t, `rsu-presign-${curve}-`);
    await runShell(opensslKeyScript(curve), dir);
    setPresignCapacity(N);
    const key = backend.privateKey(fs.readFileSync(path.join(dir, 'key.pem')));
    t.teardown(() => key.dispose?.());
    const first = backend.sign(key, Buffer.from('start'));
    t.equal(key.signingStats!().available, 0, 'one signature starts no pool (a CA key signing once has no thread)');
    t.ok(backend.verify(key.publicKey, Buffer.from('start'), first));
    backend.sign(key, Buffer.from('start')); // the second does (and is made directly)
    await filled(t, key, N);
    const before = key.signingStats!();
    const msgs = Array.from({ length: N }, (_, i) => {
      const m = randomBytes(randomInt(0, 600));
      fs.writeFileSync(path.join(dir, `${i}.msg`), m);
      const sig = backend.sign(key, m);
      fs.writeFileSync(path.join(dir, `${i}.sig`), rsToDer(sig.r, sig.s));
      return { m, sig };
    });
    const after = key.signingStats!();
    t.equal(after.pooled - before.pooled, N, `all ${N} came from the pool`);
    t.equal(after.direct, before.direct, 'none was made directly');
    const out = await runShell(msgs.map((_, i) => `${verifyCommand(curve, i)} >/dev/null 2>&1 && echo ok || echo "fail ${i}"`).join('\n'), dir);
    const lines = out.trim().split('\n');
    t.equal(lines.filter((l) => l === 'ok').length, N, `openssl verified all ${N}`);
    t.same(lines.filter((l) => l !== 'ok').slice(0, 5), [], 'no failures');
    // ... and rejects them altered (so its check is not vacuous): a bit of s, or of the message.
    const few = [0, 1, 2, 3];
    for (const i of few) {
      const s = Buffer.from(msgs[i]!.sig.s);
      s[i]! ^= 0x10;
      fs.writeFileSync(path.join(dir, `${i}.sig`), rsToDer(msgs[i]!.sig.r, s));
    }
    fs.writeFileSync(path.join(dir, '4.msg'), Buffer.concat([msgs[4]!.m, Buffer.from([0])]));
    const rejected = await runShell([...few, 4].map((i) => `${verifyCommand(curve, i)} >/dev/null 2>&1 && echo "accepted ${i}" || echo rejected`).join('\n'), dir);
    t.same(rejected.trim().split('\n'), [...few, 4].map(() => 'rejected'), 'openssl rejects them with s or the message altered');
  });

  t.test(`${curve}: each k once: one message signed 2,000 times from the pool has 2,000 distinct r`, { skip: noAddon }, async (t) => {
    setPresignCapacity(1000);
    const key = backend.privateKey(issueKeyPem(curve));
    t.teardown(() => key.dispose?.());
    const m = Buffer.from('the same message every time');
    backend.sign(key, m);
    backend.sign(key, m); // starts the pool (from it already, if the thread was quick)
    const before = key.signingStats!().pooled;
    const rs = new Set<string>();
    const ss = new Set<string>();
    for (let round = 0; round < 2; round++) {
      await filled(t, key, 1000);
      for (let i = 0; i < 1000; i++) {
        const sig = backend.sign(key, m);
        rs.add(Buffer.from(sig.r).toString('hex'));
        ss.add(Buffer.from(sig.s).toString('hex'));
      }
    }
    t.equal(key.signingStats!().pooled - before, 2000, 'all from the pool');
    // SM2: r = e + x1 with e fixed here, so distinct r means distinct kG; ECDSA: r = x(kG).
    t.equal(rs.size, 2000, 'all r distinct');
    t.equal(ss.size, 2000, 'all s distinct');
    t.ok(backend.verify(key.publicKey, m, backend.sign(key, m)), 'and they verify');
  });

  t.test(`${curve}: an empty pool falls back to direct signing, never waits, never reuses`, { skip: noAddon }, async (t) => {
    setPresignCapacity(4);
    const key = backend.privateKey(issueKeyPem(curve));
    t.teardown(() => key.dispose?.());
    backend.sign(key, Buffer.from('start'));
    backend.sign(key, Buffer.from('start'));
    await filled(t, key, 4);
    const r = new Set<string>();
    const msgs = Array.from({ length: 100 }, () => randomBytes(64));
    const sigs = msgs.map((m) => backend.sign(key, m)); // far faster than the pool refills
    sigs.forEach((s) => r.add(Buffer.from(s.r).toString('hex')));
    const st = key.signingStats!();
    t.ok(st.pooled >= 4, `the pool gave what it had (${st.pooled})`);
    t.ok(st.direct >= 3, `then signatures were made directly (${st.direct - 2} of 100)`);
    t.equal(st.pooled + st.direct, 102);
    t.equal(r.size, 100, 'all r distinct');
    t.ok(sigs.every((s, i) => backend.verify(key.publicKey, msgs[i]!, s)), 'all verify');
    t.equal(st.capacity, 4);
  });

  t.test(`${curve}: pre-computation off: every signature direct`, { skip: noAddon }, async (t) => {
    setPresignCapacity(0);
    const key = backend.privateKey(issueKeyPem(curve));
    const m = Buffer.from('m');
    for (let i = 0; i < 5; i++) t.ok(backend.verify(key.publicKey, m, backend.sign(key, m)));
    t.match(key.signingStats!(), { pooled: 0, direct: 5, capacity: 0, available: 0, off: 'pre-computation off' });
  });
}

/** A fresh key pair's private key as PEM (Node's crypto makes SM2 keys too). */
function issueKeyPem(curve: Curve): string {
  return generateKeyPairSync('ec', { namedCurve: curve === 'sm2' ? 'SM2' : 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

t.test('key rotation: the store reloads, the old key pool is zeroed and stopped, the new key signs from its own', { skip: noAddon }, async (t) => {
  setPresignCapacity(16);
  const codec = await loadIeee1609Dot2(defaultIeee1609Dot2Edition());
  const dir = tmpDir(t, 'rsu-presign-rotate-');
  const root = issueTestCertificate(codec, backend, { curve: 'sm2', name: 'rotate-root.invalid', validHours: 24 });
  const one = issueTestCertificate(codec, backend, { curve: 'sm2', name: 'rotate-rsu.invalid', validHours: 24, psids: [130] }, root);
  const files = { certificate: path.join(dir, 'rsu.cert'), key: path.join(dir, 'rsu.key.pem'), anchors: [path.join(dir, 'root.cert')] };
  fs.writeFileSync(files.anchors[0]!, root.certificate.encoded);
  fs.writeFileSync(files.certificate, one.certificate.encoded);
  fs.writeFileSync(files.key, one.keyPem);
  const store = new FileCertificateStore(codec, backend, files, { psids: [130] });
  t.equal(store.load().usable, true);
  const signer = new SpduSigner(codec, backend, store);
  const verifier = new SpduVerifier(codec, backend, store.trustStore());
  for (let i = 0; i < 2; i++) signer.sign({ payload: Buffer.from('00', 'hex'), psid: 130, signer: 'certificate' }); // starts the pool
  const oldKey = store.current().key;
  await filled(t, oldKey, 16);
  const oldPooled = oldKey.signingStats!().pooled;
  t.equal(verifier.verify(signer.sign({ payload: Buffer.from('01', 'hex'), psid: 130, signer: 'certificate' })).ok, true, 'signed from the pool, verifies');
  t.equal(oldKey.signingStats!().pooled - oldPooled, 1, 'from the pool');

  const two = issueTestCertificate(codec, backend, { curve: 'sm2', name: 'rotate-rsu.invalid', validHours: 48, psids: [130] }, root);
  fs.writeFileSync(files.certificate, two.certificate.encoded);
  fs.writeFileSync(files.key, two.keyPem);
  fs.utimesSync(files.key, new Date(), new Date(Date.now() + 2000)); // a changed mtime even on a coarse clock
  t.equal(store.reloadIfChanged(), true, 'reloaded');
  const newKey = store.current().key;
  t.not(newKey, oldKey, 'a new key');
  t.match(oldKey.signingStats!(), { available: 0, capacity: 0, off: 'disposed' }, "the old key's pool is gone");
  const spdu = signer.sign({ payload: Buffer.from('02', 'hex'), psid: 130, signer: 'certificate' });
  const v = verifier.verify(spdu);
  t.match(v, { ok: true, signer: { hashedId8: two.certificate.hashedId8 } }, 'signed with the new certificate and key, verifies');
  t.equal(verifier.verify(signer.sign({ payload: Buffer.from('02', 'hex'), psid: 130, signer: 'digest' })).ok, true, 'again (this one starts its pool)');
  await filled(t, newKey, 16);
  const newPooled = newKey.signingStats!().pooled;
  t.equal(verifier.verify(signer.sign({ payload: Buffer.from('03', 'hex'), psid: 130, signer: 'digest' })).ok, true, 'the new key signs from its own pool');
  t.equal(newKey.signingStats!().pooled - newPooled, 1, 'from the pool');
  newKey.dispose?.();
  // The old key still signs (directly), for anyone holding it.
  t.ok(backend.verify(oldKey.publicKey, Buffer.from('x'), backend.sign(oldKey, Buffer.from('x'))), 'a disposed key still signs, directly');
});
