// The backends and 1609.2 primitives on input they did not make: keys of other curves and types, points off
// the curve, signatures of the wrong length, truncated data, files that are not PEM. Each gives a SecurityError
// with a code (or `false` for a well-formed signature that does not verify), never another exception.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import t from 'tap';
import { createCryptoBackend, rOf, SecurityError, sign1609, signingInput, sm2AddonStatus, verify1609, type Curve, type SecurityErrorCode } from '../runtime/security/index.js';

const backend = createCryptoBackend();
const noSm2 = sm2AddonStatus().ok ? undefined : 'SM2 addon not built';

function pem(curve: 'prime256v1' | 'SM2' | 'secp384r1'): string {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

function code(t: Tap.Test, f: () => unknown, want: SecurityErrorCode, what: string): void {
  try {
    f();
    t.fail(`${what}: no error`);
  } catch (e) {
    t.ok(e instanceof SecurityError, `${what}: a SecurityError (${(e as Error).message})`);
    t.equal((e as SecurityError).code, want, `${what}: ${want}`);
  }
}
declare namespace Tap {
  type Test = Parameters<Parameters<typeof t.test>[1]>[0];
}

t.test('key files that are not usable keys', async (t) => {
  code(t, () => backend.privateKey('not a key'), 'bad-pem', 'plain text');
  code(t, () => backend.privateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), 'bad-pem', 'PEM with garbage inside');
  code(t, () => backend.privateKey(pem('prime256v1').slice(0, 120)), 'bad-pem', 'truncated PEM');
  code(t, () => backend.privateKey(new Uint8Array(0)), 'bad-pem', 'empty file');
  code(t, () => backend.privateKey(pem('secp384r1')), 'wrong-curve', 'P-384 key');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  code(t, () => backend.privateKey(rsa), 'wrong-curve', 'RSA key');
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  code(t, () => backend.privateKey(ed), 'wrong-curve', 'Ed25519 key');
});

for (const curve of ['nistp256', 'sm2'] as const satisfies readonly Curve[]) {
  t.test(`${curve}: points, signatures and data that are wrong`, { skip: curve === 'sm2' ? noSm2 : undefined }, async (t) => {
    const key = backend.privateKey(pem(curve === 'sm2' ? 'SM2' : 'prime256v1'));
    const point = key.publicKey.point;
    t.equal(point.length, 65);
    const pub = backend.publicKey(curve, point);
    const compressed = Uint8Array.from([2 + (point[64]! & 1), ...point.subarray(1, 33)]);
    const data = randomBytes(100);
    const sig = backend.sign(key, data);
    t.ok(backend.verify(pub, data, sig), 'verifies');
    t.ok(backend.verify(backend.publicKey(curve, compressed), data, sig), 'verifies with the compressed point of the key');
    t.notOk(backend.verify(pub, data.subarray(0, 99), sig), 'truncated data: false');
    t.notOk(backend.verify(pub, data, { r: sig.s, s: sig.r }), 'r and s swapped: false');
    t.notOk(backend.verify(pub, data, { r: new Uint8Array(32), s: sig.s }), 'r = 0: false');
    t.notOk(backend.verify(pub, data, { r: new Uint8Array(32).fill(0xff), s: sig.s }), 'r >= n: false');
    code(t, () => backend.verify(pub, data, { r: sig.r.subarray(1), s: sig.s }), 'bad-signature-length', '31-octet r');
    code(t, () => backend.verify(pub, data, { r: sig.r, s: new Uint8Array(33) }), 'bad-signature-length', '33-octet s');
    code(t, () => backend.publicKey(curve, point.subarray(0, 64)), 'bad-key', 'truncated point');
    code(t, () => backend.publicKey(curve, new Uint8Array(0)), 'bad-key', 'empty point');
    const off = Uint8Array.from(point);
    off[64]! ^= 1;
    code(t, () => backend.publicKey(curve, off), 'bad-key', 'point off the curve');
    // The other curve's point: off this curve (both are 256-bit, so only the curve check catches it).
    const other = backend.privateKey(pem(curve === 'sm2' ? 'prime256v1' : 'SM2')).publicKey;
    code(t, () => backend.publicKey(curve, other.point), 'bad-key', "the other curve's point");
    t.notOk(backend.verify(other, data, sig), "the other curve's key: false (a raw signature has no curve)");
    code(t, () => verify1609(backend, other, data, { self: true }, sign1609(backend, key, data, { self: true })), 'wrong-curve', 'a 1609.2 signature checked against a key of the other curve');
  });
}

t.test('1609.2 primitives: signing input, R shapes', async (t) => {
  const key = backend.privateKey(pem('prime256v1'));
  const tbs = randomBytes(50);
  const cert = randomBytes(120);
  const input = signingInput(backend, 'nistp256', tbs, { certificate: cert });
  t.same(Buffer.from(input.subarray(0, 32)), Buffer.from(backend.hash('sha256', tbs)), 'first half: Hash(tbsData)');
  t.same(Buffer.from(input.subarray(32)), Buffer.from(backend.hash('sha256', cert)), 'second half: Hash(signer certificate)');
  t.same(Buffer.from(signingInput(backend, 'nistp256', tbs, { self: true }).subarray(32)), Buffer.from(backend.hash('sha256', new Uint8Array(0))), 'self: Hash of the empty string');
  const sig = sign1609(backend, key, tbs, { certificate: cert });
  t.ok('x-only' in (sig.rSig as object), 'R sent x-only');
  t.ok(verify1609(backend, key.publicKey, tbs, { certificate: cert }, sig), 'verifies');
  t.notOk(verify1609(backend, key.publicKey, tbs, { self: true }, sig), 'not under another signer identifier');
  const r = (sig.rSig as { 'x-only': Uint8Array })['x-only'];
  t.ok(verify1609(backend, key.publicKey, tbs, { certificate: cert }, { ...sig, rSig: { 'compressed-y-1': r } }), 'R as a compressed point verifies by its x');
  const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
  t.same(Buffer.from(rOf('nistp256', { 'compressed-y-0': Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552', 'hex') })), Buffer.concat([Buffer.alloc(31), Buffer.from([1])]), 'x(R) >= n is reduced mod n');
  t.ok(n.length === 32);
  code(t, () => rOf('nistp256', { 'x-only': r.subarray(1) }), 'bad-signature-length', 'rSig of 31 octets');
  code(t, () => rOf('nistp256', { bogus: r } as never), 'bad-point', 'rSig of an unknown alternative');
});
