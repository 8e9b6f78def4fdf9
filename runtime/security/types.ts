// The values the security layer works on, independent of any codec: curves, hash algorithms, keys as handles,
// and signatures as the two 32-octet integers r and s (the wire shapes of 1609.2 are made in primitives.ts).

/** The signature algorithms this RSU signs and verifies with (IEEE 1609.2-2022 names: ecdsaNistP256, sm2). */
export type Curve = 'nistp256' | 'sm2';
export const CURVES: readonly Curve[] = ['nistp256', 'sm2'];

export type HashAlgorithm = 'sha256' | 'sm3';

/** The hash each curve signs with: ECDSA P-256 with SHA-256, SM2 with SM3 (1609.2-2022 5.3.1, GB/T 32918.2). */
export const HASH_OF: Readonly<Record<Curve, HashAlgorithm>> = { nistp256: 'sha256', sm2: 'sm3' };

/** SM2's distinguishing identifier that GB/T 35276 and 1609.2-2022 use: the 16 octets "1234567812345678". */
export const SM2_DEFAULT_ID: Uint8Array = new TextEncoder().encode('1234567812345678');

/** A public key of a backend. `point` is its SEC1 encoding (0x04 x y, or 0x02/0x03 x), as a certificate carries it. */
export interface PublicKey {
  readonly curve: Curve;
  readonly point: Uint8Array;
}

/** A private key of a backend, with its public key. */
export interface PrivateKey {
  readonly curve: Curve;
  readonly publicKey: PublicKey;
  /** Discards what the key keeps for fast signing (the pre-computed nonce pool); it still signs, directly. */
  dispose?(): void;
  /** Signatures from the pool and made directly (pool empty or off), entries ready now, pool size. */
  signingStats?(): SigningStats;
}

export interface SigningStats {
  pooled: number;
  direct: number;
  available: number;
  /** 0 when there is no pool, with the reason in `off`. */
  capacity: number;
  off?: string;
}

/** An ECDSA or SM2 signature: r and s, 32 octets each, big-endian. */
export interface RawSignature {
  readonly r: Uint8Array;
  readonly s: Uint8Array;
}
