// SM2 with SM3 and a distinguishing identifier (GB/T 32918.2; default ID "1234567812345678"), through the tiny
// N-API addon in native/sm2 that calls the OpenSSL 3 Node itself is linked with. Node's crypto signs and
// verifies SM2 only with an empty ID, which receivers using the standard ID reject; JS SM2 packages reach about
// 160 verifications/s; this reaches OpenSSL's own speed less the call overhead (bench/results/security.md).
// The addon is built by `npm run build` (node-gyp against Node's headers, which ship OpenSSL's); without it
// this backend is unavailable and says how to build it.

import type { CryptoBackend } from './backend.js';
import { SecurityError } from './errors.js';
import { handleOf, HandlePublicKey, pointOf, readPrivateKey, spkiOf } from './keys.js';
import { nativeAddon, type NativeAddon } from './native.js';
import { checkSignature, hash } from './node-backend.js';
import { PresignedKey } from './presign.js';
import { createPublicKey } from 'node:crypto';
import { SM2_DEFAULT_ID, type Curve, type HashAlgorithm, type PrivateKey, type PublicKey, type RawSignature } from './types.js';

/** The addon if it loads; the reason otherwise. */
export function sm2AddonStatus(): { ok: true } | { ok: false; reason: string } {
  const addon = nativeAddon();
  return addon instanceof Error ? { ok: false, reason: addon.message } : { ok: true };
}

function translate(e: unknown): SecurityError {
  const code = (e as { code?: string }).code;
  const msg = (e as Error).message ?? String(e);
  if (code === 'bad-key' || code === 'wrong-curve' || code === 'bad-signature-length' || code === 'sign-failed') return new SecurityError(code, msg.replace(/^[a-z-]+: /, ''), { cause: e });
  return new SecurityError('bad-key', msg, { cause: e });
}

export class OpenSslSm2Backend implements CryptoBackend {
  readonly name = 'openssl-sm2';
  readonly curves: readonly Curve[] = ['sm2'];
  private readonly native: NativeAddon;

  /** @param id the SM2 distinguishing identifier; GB/T 35276's default unless a profile says otherwise. */
  constructor(readonly id: Uint8Array = SM2_DEFAULT_ID) {
    const addon = nativeAddon();
    if (addon instanceof Error) throw new SecurityError('backend-unavailable', `SM2: ${addon.message}`);
    this.native = addon;
  }

  publicKey(curve: Curve, point: Uint8Array): PublicKey {
    if (curve !== 'sm2') throw new SecurityError('wrong-curve', `${this.name} has no ${curve}`);
    const spki = spkiOf(curve, point);
    try {
      return new HandlePublicKey('sm2', new Uint8Array(point), this.native.publicKey(spki));
    } catch (e) {
      throw translate(e);
    }
  }

  privateKey(pemOrDer: string | Uint8Array): PrivateKey {
    const { key, curve } = readPrivateKey(pemOrDer);
    if (curve !== 'sm2') throw new SecurityError('wrong-curve', `${this.name} signs with SM2, the key is on ${curve}`);
    try {
      const pub = createPublicKey(key);
      const point = pointOf(pub);
      return new PresignedKey('sm2', this.native.privateKey(key.export({ format: 'der', type: 'pkcs8' })), new HandlePublicKey('sm2', point, this.native.publicKey(spkiOf('sm2', point))), key, this.id);
    } catch (e) {
      throw e instanceof SecurityError ? e : translate(e);
    }
  }

  sign(key: PrivateKey, data: Uint8Array): RawSignature {
    const handle = handleOf<unknown>(this.name, 'sm2', key);
    const pooled = key instanceof PresignedKey ? key.signFromPool(data) : undefined;
    if (pooled !== undefined) return pooled;
    let rs: Buffer;
    try {
      rs = this.native.sign(handle, data, this.id);
    } catch (e) {
      throw translate(e);
    }
    return { r: new Uint8Array(rs.subarray(0, 32)), s: new Uint8Array(rs.subarray(32)) };
  }

  verify(key: PublicKey, data: Uint8Array, sig: RawSignature): boolean {
    const handle = handleOf<unknown>(this.name, 'sm2', key);
    checkSignature(sig);
    const rs = new Uint8Array(64);
    rs.set(sig.r, 0);
    rs.set(sig.s, 32);
    return this.native.verify(handle, data, rs, this.id);
  }

  hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
    return hash(alg, data);
  }
}
