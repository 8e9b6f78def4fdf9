// Interop with Debian's openssl 3, both directions, 1,000 random messages per algorithm and direction:
// ECDSA P-256/SHA-256 (`openssl dgst -sha256 -sign/-verify`) and SM2/SM3 with the standard ID
// (`openssl pkeyutl -rawin -digest sm3 -pkeyopt distid:1234567812345678`). openssl runs once per message,
// forked from one sh per batch (about 10 ms each, so the four batches take ~40 s of CPU on this machine).
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { setPresignCapacity } from '../runtime/security/presign.js';
import { createCryptoBackend, sm2AddonStatus, type Curve, type PrivateKey } from '../runtime/security/index.js';
import { derToRs, ID, opensslKeyScript, opensslMissing, verifyCommand, rsToDer, runShell } from './support/openssl.js';
import { tmpDir } from './support/wait.js';

const N = 1000;
const missing = opensslMissing() ?? (sm2AddonStatus().ok ? undefined : `SM2 addon: ${(sm2AddonStatus() as { reason: string }).reason}`);

const backend = createCryptoBackend();
// Direct signing here; signatures from the pre-computed pool get the same 1,000-message check in security-presign.test.ts.
setPresignCapacity(0);

function messages(dir: string): Buffer[] {
  return Array.from({ length: N }, (_, i) => {
    const m = randomBytes(randomInt(0, 600)); // includes the empty message and 1609.2's 64-octet inputs
    fs.writeFileSync(path.join(dir, `${i}.msg`), m);
    return m;
  });
}

function signCommand(curve: Curve, i: number): string {
  return curve === 'sm2'
    ? `openssl pkeyutl -sign -rawin -digest sm3 -inkey key.pem -in ${i}.msg -out ${i}.osig -pkeyopt ${ID}`
    : `openssl dgst -sha256 -sign key.pem -out ${i}.osig ${i}.msg`;
}

for (const curve of ['nistp256', 'sm2'] as const) {
  t.test(`${curve}: openssl and this backend verify each other's signatures`, { skip: missing }, async (t) => {
    const dir = tmpDir(t, `rsu-sec-${curve}-`);
    await runShell(opensslKeyScript(curve), dir);
    const key: PrivateKey = backend.privateKey(fs.readFileSync(path.join(dir, 'key.pem')));
    t.equal(key.curve, curve, 'the PEM key is taken on its own curve');
    const pub = backend.publicKey(curve, key.publicKey.point);
    const msgs = messages(dir);

    // ours -> openssl: every signature verifies there.
    msgs.forEach((m, i) => {
      const sig = backend.sign(key, m);
      fs.writeFileSync(path.join(dir, `${i}.sig`), rsToDer(sig.r, sig.s));
    });
    const verifyScript = msgs.map((_, i) => `${verifyCommand(curve, i)} >/dev/null 2>&1 && echo ok || echo "fail ${i}"`).join('\n');
    // openssl -> ours, in a second sh beside the first (two cores).
    const signScript = msgs.map((_, i) => `${signCommand(curve, i)} || echo "fail ${i}"`).join('\n');
    const [verified, signed] = await Promise.all([runShell(verifyScript, dir), runShell(signScript, dir)]);
    const vlines = verified.trim().split('\n');
    t.equal(vlines.filter((l) => l === 'ok').length, N, `openssl verified all ${N} of our ${curve} signatures`);
    t.same(vlines.filter((l) => l !== 'ok').slice(0, 5), [], 'no failures');
    t.equal(signed.trim(), '', `openssl signed all ${N} messages`);

    let ok = 0;
    let tamperedRejected = 0;
    msgs.forEach((m, i) => {
      const sig = derToRs(fs.readFileSync(path.join(dir, `${i}.osig`)));
      if (backend.verify(pub, m, sig)) ok++;
      const bad = Buffer.from(m.length ? m : Buffer.from([0]));
      bad[randomInt(bad.length)]! ^= 1 << randomInt(8);
      if (!backend.verify(pub, bad, sig)) tamperedRejected++;
    });
    t.equal(ok, N, `this backend verified all ${N} openssl ${curve} signatures`);
    t.equal(tamperedRejected, N, 'and rejected each with one bit of the message flipped');

    // openssl rejects ours when a bit of s is flipped (a few, to show its check is not vacuous).
    const few = [0, 1, 2, 3, 4];
    for (const i of few) {
      const sig = backend.sign(key, msgs[i]!);
      const s = Buffer.from(sig.s);
      s[31]! ^= 1;
      fs.writeFileSync(path.join(dir, `${i}.sig`), rsToDer(sig.r, s));
    }
    const rejected = await runShell(few.map((i) => `${verifyCommand(curve, i)} >/dev/null 2>&1 && echo "accepted ${i}" || echo rejected`).join('\n'), dir);
    t.same(rejected.trim().split('\n'), few.map(() => 'rejected'), 'openssl rejects our signatures with s altered');
  });
}

t.test('SM2 uses the standard ID: openssl with an empty ID rejects our signature', { skip: missing }, async (t) => {
  const dir = tmpDir(t, 'rsu-sec-sm2id-');
  await runShell('openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out key.pem && openssl pkey -in key.pem -pubout -out pub.pem\n', dir);
  const key = backend.privateKey(fs.readFileSync(path.join(dir, 'key.pem')));
  fs.writeFileSync(path.join(dir, 'm'), 'rsu');
  const sig = backend.sign(key, Buffer.from('rsu'));
  fs.writeFileSync(path.join(dir, 's'), rsToDer(sig.r, sig.s));
  const out = await runShell(
    [`openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey pub.pem -in m -sigfile s -pkeyopt ${ID} >/dev/null 2>&1 && echo ok || echo no`, 'openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey pub.pem -in m -sigfile s >/dev/null 2>&1 && echo ok || echo no'].join('\n'),
    dir,
  );
  t.same(out.trim().split('\n'), ['ok', 'no'], 'verifies with distid 1234567812345678, not with the empty ID Node would use');
});
