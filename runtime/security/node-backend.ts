// ECDSA P-256 with SHA-256, and the SHA-256 and SM3 hashes, through Node's crypto (its bundled OpenSSL).
// Signatures are IEEE P1363 (r || s), which is what 1609.2 carries; no DER on the way.

import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { CryptoBackend } from './backend.js';
import { SecurityError } from './errors.js';
import { PresignedKey } from './presign.js';
import { handleOf, HandlePublicKey, pointOf, readPrivateKey, spkiOf } from './keys.js';
import type { Curve, HashAlgorithm, PrivateKey, PublicKey, RawSignature } from './types.js';

export function hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest());
}

export function checkSignature(sig: RawSignature): void {
  if (sig.r.length !== 32 || sig.s.length !== 32) throw new SecurityError('bad-signature-length', `r and s must be 32 octets each, got ${sig.r.length} and ${sig.s.length}`);
}

export class NodeCryptoBackend implements CryptoBackend {
  readonly name = 'node-crypto';
  readonly curves: readonly Curve[] = ['nistp256'];

  publicKey(curve: Curve, point: Uint8Array): PublicKey {
    if (curve !== 'nistp256') throw new SecurityError('wrong-curve', `${this.name} has no ${curve}`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: spkiOf(curve, point), format: 'der', type: 'spki' });
    } catch (e) {
      if (e instanceof SecurityError) throw e;
      throw new SecurityError('bad-key', `not a point on P-256: ${(e as Error).message}`, { cause: e });
    }
    return new HandlePublicKey('nistp256', new Uint8Array(point), key);
  }

  privateKey(pemOrDer: string | Uint8Array): PrivateKey {
    const { key, curve } = readPrivateKey(pemOrDer);
    if (curve !== 'nistp256') throw new SecurityError('wrong-curve', `${this.name} signs with P-256, the key is on ${curve}`);
    const pub = createPublicKey(key);
    return new PresignedKey('nistp256', key, new HandlePublicKey('nistp256', pointOf(pub), pub), key);
  }

  /** From the key's pre-computed pool when it has an entry ready (presign.ts), otherwise directly. */
  sign(key: PrivateKey, data: Uint8Array): RawSignature {
    const handle = handleOf<KeyObject>(this.name, 'nistp256', key);
    const pooled = key instanceof PresignedKey ? key.signFromPool(data) : undefined;
    if (pooled !== undefined) return pooled;
    const rs = sign('sha256', data, { key: handle, dsaEncoding: 'ieee-p1363' });
    return { r: new Uint8Array(rs.subarray(0, 32)), s: new Uint8Array(rs.subarray(32)) };
  }

  verify(key: PublicKey, data: Uint8Array, sig: RawSignature): boolean {
    const handle = handleOf<KeyObject>(this.name, 'nistp256', key);
    checkSignature(sig);
    return verify('sha256', data, { key: handle, dsaEncoding: 'ieee-p1363' }, Buffer.concat([sig.r, sig.s]));
  }

  hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
    return hash(alg, data);
  }
}
