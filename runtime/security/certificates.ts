// IEEE 1609.2 certificates as the SPDU services see them, the trust store, and the certificate provider
// interface (vanetza's security/ keeps the same three apart). Codec-independent: certificates arrive as the C-OER
// codec's JER-shaped values (OCTET STRINGs as hex) together with their C-OER encoding.

import type { CryptoBackend } from './backend.js';
import { SecurityError } from './errors.js';
import { rOf, verify1609, type EccP256CurvePoint, type Signature1609 } from './primitives.js';
import { durationMs, unixMsFromTime32 } from './time.js';
import { profileOf, type SecurityProfile } from './profile.js';
import { toBeSignedCertificateOctets } from './spdu-octets.js';
import type { X509Info } from './x509.js';
import { HASH_OF, type Curve, type HashAlgorithm, type PrivateKey, type PublicKey } from './types.js';

/** What the services need of the C-OER codec of a 1609.2 or China edition (codecs' MessageSet has it). */
export interface Oer1609Codec {
  encode(typeName: string, value: unknown): Uint8Array;
  decode(typeName: string, bytes: Uint8Array): unknown;
  /** One value and the octets after it: how the exact received octets of a component are cut out. */
  decodePrefix(typeName: string, bytes: Uint8Array): { trailing: Uint8Array };
  has(typeName: string): boolean;
}

export type Issuer = { self: HashAlgorithm } | { digest: Uint8Array; hash: HashAlgorithm };

/** A decoded certificate with what verification needs. */
export interface CertificateInfo {
  /** Its C-OER encoding as received or issued (the signer identifier input of 1609.2 5.3.1; hashed for HashedId8). */
  readonly encoded: Uint8Array;
  /** The codec's value of it (to embed as a signer). */
  readonly value: unknown;
  /** Last 8 octets of Hash(encoded), hex (lower case). */
  readonly hashedId8: string;
  readonly curve: Curve;
  readonly verificationKey: PublicKey;
  readonly issuer: Issuer;
  /** Validity, Unix ms. */
  readonly validFrom: number;
  readonly validUntil: number;
  /** PSIDs/AIDs the certificate permits for signing messages (appPermissions). */
  readonly psids: readonly number[];
  /** Its issuer's signature over it; absent only on implicit certificates (not supported). */
  readonly signature: Signature1609 | undefined;
  /** The octets of toBeSigned within `encoded` (the data input of the certificate's signature). */
  readonly toBeSignedEncoded: Uint8Array;
}

/** The RSU's own signing identity (SN-SIGN's signer). */
export interface CertificateProvider {
  current(): { certificate: CertificateInfo; key: PrivateKey };
}

/** Trust anchors and certificates seen earlier (SN-VERIFY's view). */
export interface TrustStore {
  byHashedId8(id: string): CertificateInfo | undefined;
  /** Remembers a certificate that arrived whole (bounded). */
  remember(cert: CertificateInfo): void;
  /** Undefined when `cert` chains to a trust anchor (each link's signature and validity checked), else why not. */
  chainProblem(cert: CertificateInfo, nowMs: number): string | undefined;
  /** X.509 trust anchors (roots and intermediates) for X.509 signers (China profile); none when absent. */
  x509Anchors?(): readonly X509Info[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: unknown, what: string): Uint8Array => {
  if (typeof h !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(h)) throw new SecurityError('bad-key', `${what}: expected an OCTET STRING`);
  return Uint8Array.from(Buffer.from(h, 'hex'));
};
const only = (v: unknown, what: string): [string, unknown] => {
  const e = v !== null && typeof v === 'object' ? Object.entries(v as object) : [];
  if (e.length !== 1) throw new SecurityError('bad-key', `${what}: expected a CHOICE value`);
  return e[0]!;
};

// EccP256CurvePoint's alternative with both coordinates, as 1609.2 and China name it.
const UNCOMPRESSED = new Set(['uncompressedP256', 'uncompressed']);

/** A SEC1 point of an EccP256CurvePoint value (x-only is not a key). */
export function sec1Of(point: unknown, what: string): Uint8Array {
  const [kind, v] = only(point, what);
  if (kind === 'compressed-y-0' || kind === 'compressed-y-1') return Uint8Array.from([kind.endsWith('0') ? 2 : 3, ...bytes(v, what)]);
  if (UNCOMPRESSED.has(kind)) {
    const u = v as { x: unknown; y: unknown };
    return Uint8Array.from([4, ...bytes(u.x, what), ...bytes(u.y, what)]);
  }
  throw new SecurityError('bad-point', `${what}: ${kind} is not a public key`);
}

/** The primitives' signature of a codec Signature value. */
export function signatureOf(sig: unknown): Signature1609 {
  const [kind, v] = only(sig, 'signature');
  const s = v as { rSig: unknown; sSig: unknown };
  if (kind === 'ecdsaNistP256Signature') {
    const [rk, rv] = only(s.rSig, 'rSig');
    const rSig = (UNCOMPRESSED.has(rk) ? { uncompressedP256: { x: bytes((rv as { x: unknown }).x, 'rSig'), y: bytes((rv as { y: unknown }).y, 'rSig') } } : { [rk]: bytes(rv, 'rSig') }) as EccP256CurvePoint;
    rOf('nistp256', rSig); // shape and length checks
    return { curve: 'nistp256', rSig, sSig: bytes(s.sSig, 'sSig') };
  }
  if (kind === 'sm2Signature') return { curve: 'sm2', rSig: bytes(s.rSig, 'rSig'), sSig: bytes(s.sSig, 'sSig') };
  throw new SecurityError('unsupported', `signature algorithm ${kind}`);
}

/** The codec Signature value of a primitives' signature, in the profile's names (default 1609.2's). */
export function signatureValue(sig: Signature1609, profile?: SecurityProfile): unknown {
  if (sig.curve === 'sm2') return { sm2Signature: { rSig: hex(sig.rSig), sSig: hex(sig.sSig) } };
  const [k, v] = Object.entries(sig.rSig)[0]!;
  const rSig = 'uncompressedP256' in sig.rSig ? { [profile?.uncompressedPoint ?? 'uncompressedP256']: { x: hex(sig.rSig.uncompressedP256.x), y: hex(sig.rSig.uncompressedP256.y) } } : { [k]: hex(v as Uint8Array) };
  return { ecdsaNistP256Signature: { rSig, sSig: hex(sig.sSig) } };
}

const ISSUER_HASH: Readonly<Record<string, HashAlgorithm>> = { sha256AndDigest: 'sha256', sm3AndDigest: 'sm3' };

/** HashedId8 (hex) of a C-OER encoding: the last 8 octets of its hash. */
export function hashedId8(backend: CryptoBackend, alg: HashAlgorithm, encoded: Uint8Array): string {
  return hex(backend.hash(alg, encoded).subarray(24));
}

/**
 * A CertificateInfo of a certificate value (from the codec) and its encoding: the octets as received, which its
 * HashedId8 and signature cover (absent: our canonical encoding, for certificates built here). Throws
 * SecurityError for what this RSU cannot use.
 */
export function certificateInfo(codec: Oer1609Codec, backend: CryptoBackend, value: unknown, encoded?: Uint8Array): CertificateInfo {
  const c = value as { type?: string; issuer: unknown; toBeSigned: Record<string, unknown>; signature?: unknown };
  if (c.type !== 'explicit') throw new SecurityError('unsupported', `${String(c.type)} certificates (only explicit ones)`);
  const profile = profileOf(codec);
  const enc = encoded ?? codec.encode('Certificate', value);
  const [ik, iv] = only(c.issuer, 'issuer');
  let issuer: Issuer;
  if (ik === 'self') {
    if (iv !== 'sha256' && iv !== 'sm3') throw new SecurityError('unsupported', `self-signed with ${String(iv)}`);
    issuer = { self: iv };
  } else {
    const h = ISSUER_HASH[ik];
    if (h === undefined) throw new SecurityError('unsupported', `issuer ${ik}`);
    issuer = { digest: bytes(iv, 'issuer'), hash: h };
  }
  const tbs = c.toBeSigned;
  const [vk, vkv] = only(tbs.verifyKeyIndicator, 'verifyKeyIndicator');
  if (vk !== 'verificationKey') throw new SecurityError('unsupported', `${vk} (implicit certificates)`);
  const [alg, point] = only(vkv, 'verificationKey');
  const curve: Curve | undefined = alg === 'ecdsaNistP256' ? 'nistp256' : alg === 'ecsigSm2' ? 'sm2' : undefined;
  if (curve === undefined) throw new SecurityError('unsupported', `verification key ${alg}`);
  const vp = tbs.validityPeriod as { start: number; duration: Record<string, number> };
  const validFrom = unixMsFromTime32(vp.start);
  const perms = (tbs.appPermissions as Array<Record<string, number | bigint>> | undefined) ?? [];
  return {
    encoded: enc,
    value,
    hashedId8: hashedId8(backend, HASH_OF[curve], enc),
    curve,
    verificationKey: backend.publicKey(curve, sec1Of(point, 'verificationKey')),
    issuer,
    validFrom,
    validUntil: validFrom + durationMs(vp.duration),
    psids: perms.map((p) => Number(p[profile.appId])),
    signature: c.signature === undefined ? undefined : signatureOf(c.signature),
    toBeSignedEncoded: encoded === undefined ? codec.encode('ToBeSignedCertificate', tbs) : toBeSignedCertificateOctets(codec, encoded),
  };
}

/** True when `cert`'s signature verifies under `issuer` (or under its own key when self-signed). */
export function certificateSignedBy(backend: CryptoBackend, cert: CertificateInfo, issuer: CertificateInfo | 'self'): boolean {
  if (cert.signature === undefined) return false;
  const key = issuer === 'self' ? cert.verificationKey : issuer.verificationKey;
  if (cert.signature.curve !== key.curve) return false;
  return verify1609(backend, key, cert.toBeSignedEncoded, issuer === 'self' ? { self: true } : { certificate: issuer.encoded }, cert.signature);
}

/** Trust anchors given at start, and certificates seen on the air (the most recent `maxSeen`). */
export class MemoryTrustStore implements TrustStore {
  private readonly anchors = new Map<string, CertificateInfo>();
  private readonly seen = new Map<string, CertificateInfo>();
  private readonly verifiedLinks = new Set<string>();

  constructor(
    private readonly backend: CryptoBackend,
    anchors: readonly CertificateInfo[] = [],
    private readonly maxSeen = 4096,
    private readonly x509: readonly X509Info[] = [],
  ) {
    for (const a of anchors) this.addAnchor(a);
  }

  x509Anchors(): readonly X509Info[] {
    return this.x509;
  }

  addAnchor(cert: CertificateInfo): void {
    this.anchors.set(cert.hashedId8, cert);
  }

  byHashedId8(id: string): CertificateInfo | undefined {
    return this.anchors.get(id) ?? this.seen.get(id);
  }

  remember(cert: CertificateInfo): void {
    if (this.anchors.has(cert.hashedId8)) return;
    this.seen.delete(cert.hashedId8);
    this.seen.set(cert.hashedId8, cert);
    if (this.seen.size > this.maxSeen) this.seen.delete(this.seen.keys().next().value!);
  }

  chainProblem(cert: CertificateInfo, nowMs: number): string | undefined {
    let c = cert;
    for (let depth = 0; depth < 8; depth++) {
      if (nowMs < c.validFrom || nowMs > c.validUntil) return `certificate ${c.hashedId8} is not valid now (${new Date(c.validFrom).toISOString()} to ${new Date(c.validUntil).toISOString()})`;
      if (this.anchors.has(c.hashedId8)) return undefined;
      if ('self' in c.issuer) return `certificate ${c.hashedId8} is self-signed and not a trust anchor`;
      const issuer = this.byHashedId8(hex(c.issuer.digest));
      if (issuer === undefined) return `issuer ${hex(c.issuer.digest)} of ${c.hashedId8} is unknown`;
      const link = `${c.hashedId8}<${issuer.hashedId8}`;
      if (!this.verifiedLinks.has(link)) {
        if (!certificateSignedBy(this.backend, c, issuer)) return `the signature of ${c.hashedId8} by ${issuer.hashedId8} does not verify`;
        if (this.verifiedLinks.size > 4 * this.maxSeen) this.verifiedLinks.clear();
        this.verifiedLinks.add(link);
      }
      c = issuer;
    }
    return `chain of ${cert.hashedId8} is longer than 8`;
  }
}
