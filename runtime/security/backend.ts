// The crypto backend interface (vanetza's security/backend.hpp in spirit): keys, sign, verify and hash, with
// interchangeable implementations (node-backend.ts for P-256 and the hashes, openssl-sm2.ts for SM2). Callers
// above this (the sign and verify services) know nothing of curves' arithmetic, only of this interface.

import type { Curve, HashAlgorithm, PrivateKey, PublicKey, RawSignature } from './types.js';

export interface CryptoBackend {
  readonly name: string;
  /** The curves this backend signs and verifies with. */
  readonly curves: readonly Curve[];
  /** A public key from its SEC1 point (compressed or uncompressed). Throws SecurityError bad-key / wrong-curve. */
  publicKey(curve: Curve, point: Uint8Array): PublicKey;
  /** A private key from a PEM (or DER PKCS#8/SEC1) file's bytes; the curve is the key's. Throws bad-pem / wrong-curve. */
  privateKey(pemOrDer: string | Uint8Array): PrivateKey;
  /**
   * Signs `data` with the curve's own hashing (ECDSA: SHA-256(data); SM2: SM3(Z || data) with the standard ID): from
   * the key's pre-computed nonce pool when it has an entry ready (presign.ts), otherwise directly.
   */
  sign(key: PrivateKey, data: Uint8Array): RawSignature;
  /** True when `sig` is a valid signature of `data`; false for a well-formed invalid one. Throws bad-signature-length. */
  verify(key: PublicKey, data: Uint8Array, sig: RawSignature): boolean;
  hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array;
}
