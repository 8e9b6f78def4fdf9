// The cryptographic primitives of IEEE 1609.2 (2016 + amendment b, and 2022 for SM2) below the SPDU: what is
// signed, and the wire shape of a signature. The SPDU services (SN-SIGN / SN-VERIFY) encode ToBeSignedData and
// certificates with the C-OER codec and call these with the bytes.
//
// 1609.2-2016 5.3.1.2.2 (and 2022 for SM2): the signature covers
//     Hash(ToBeSignedData) || Hash(signer identifier input)
// where the signer identifier input is the C-OER encoding of the certificate that signs, or the empty string
// when the signer is `self`; Hash is the curve's (SHA-256 for P-256, SM3 for SM2). That 64-octet string is the
// message handed to ECDSA (which hashes it again) or to SM2 (which hashes Z || it, Z with the standard ID).

import type { CryptoBackend } from './backend.js';
import { SecurityError } from './errors.js';
import { HASH_OF, type Curve, type PrivateKey, type PublicKey, type RawSignature } from './types.js';

/** IEEE 1609.2 EccP256CurvePoint (CHOICE), with the alternatives' names as in the ASN.1. */
export type EccP256CurvePoint =
  | { 'x-only': Uint8Array }
  | { 'compressed-y-0': Uint8Array }
  | { 'compressed-y-1': Uint8Array }
  | { uncompressedP256: { x: Uint8Array; y: Uint8Array } };

/** A 1609.2 signature: EcdsaP256Signature for P-256 (R as a curve point), EcsigP256Signature for SM2 (r). */
export type Signature1609 =
  | { curve: 'nistp256'; rSig: EccP256CurvePoint; sSig: Uint8Array }
  | { curve: 'sm2'; rSig: Uint8Array; sSig: Uint8Array };

/** The signer identifier: `self`, or the C-OER encoding of the signing certificate (for digest and certificate signers alike). */
export type SignerInput = { self: true } | { certificate: Uint8Array };

// Group orders: r = x(R) mod n when R comes as a point.
const ORDER: Readonly<Record<Curve, bigint>> = {
  nistp256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  sm2: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
};

function toBytes32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

/** The data input of 1609.2 5.3.1.2.2: Hash(tbsData) || Hash(signer identifier input). */
export function signingInput(backend: CryptoBackend, curve: Curve, tbsData: Uint8Array, signer: SignerInput): Uint8Array {
  const alg = HASH_OF[curve];
  const out = new Uint8Array(64);
  out.set(backend.hash(alg, tbsData), 0);
  out.set(backend.hash(alg, 'self' in signer ? new Uint8Array(0) : signer.certificate), 32);
  return out;
}

/** r of an EccP256CurvePoint rSig: the x-only value, or x(R) mod n of a (compressed or uncompressed) point R. */
export function rOf(curve: Curve, rSig: EccP256CurvePoint): Uint8Array {
  const [kind, v] = Object.entries(rSig)[0] ?? [];
  const x = kind === 'uncompressedP256' ? (v as { x: Uint8Array }).x : (v as Uint8Array | undefined);
  if (!(x instanceof Uint8Array) || !['x-only', 'compressed-y-0', 'compressed-y-1', 'uncompressedP256'].includes(kind!)) throw new SecurityError('bad-point', `rSig: not an EccP256CurvePoint (${String(kind)})`);
  if (x.length !== 32) throw new SecurityError('bad-signature-length', `rSig ${kind}: expected 32 octets, got ${x.length}`);
  if (kind === 'x-only') return x;
  const n = ORDER[curve];
  const xi = BigInt(`0x${Buffer.from(x).toString('hex')}`);
  return xi >= n ? toBytes32(xi - n) : x;
}

/** Signs per 1609.2: the signature over signingInput(...), R sent x-only (P-256) or r as is (SM2). */
export function sign1609(backend: CryptoBackend, key: PrivateKey, tbsData: Uint8Array, signer: SignerInput): Signature1609 {
  const raw = backend.sign(key, signingInput(backend, key.curve, tbsData, signer));
  return key.curve === 'sm2' ? { curve: 'sm2', rSig: raw.r, sSig: raw.s } : { curve: 'nistp256', rSig: { 'x-only': raw.r }, sSig: raw.s };
}

/** Verifies a 1609.2 signature; false when it does not verify, SecurityError when it is malformed or of another curve than the key. */
export function verify1609(backend: CryptoBackend, key: PublicKey, tbsData: Uint8Array, signer: SignerInput, sig: Signature1609): boolean {
  if (sig.curve !== key.curve) throw new SecurityError('wrong-curve', `a ${sig.curve} signature cannot verify with a ${key.curve} key`);
  const raw: RawSignature = { r: sig.curve === 'sm2' ? sig.rSig : rOf(sig.curve, sig.rSig), s: sig.sSig };
  return backend.verify(key, signingInput(backend, key.curve, tbsData, signer), raw);
}
