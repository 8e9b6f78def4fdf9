// The SPDU services, named after IEEE 1609.2's primitives: SN-SIGN.request builds an Ieee1609Dot2Data of type
// signedData around a payload (the UPER MessageFrame, as unsecuredData inside), SN-VERIFY.request checks one.
// They depend on a CryptoBackend, the 1609.2 codec, a CertificateProvider and a TrustStore, and know no curve.

import type { CryptoBackend } from './backend.js';
import { certificateInfo, hashedId8, signatureOf, signatureValue, type CertificateInfo, type CertificateProvider, type Oer1609Codec, type TrustStore } from './certificates.js';
import { SecurityError } from './errors.js';
import { sign1609, verify1609 } from './primitives.js';
import { profileOf, type SecurityProfile } from './profile.js';
import { assembleSignedData, signedDataOctets } from './spdu-octets.js';
import { time64FromUnixMs, unixMsFromTime64 } from './time.js';
import { HASH_OF } from './types.js';
import { parseX509, x509ChainProblem, x509PublicKey, type X509Info } from './x509.js';

export interface SignRequest {
  /** The message, already encoded (UPER MessageFrame). */
  payload: Uint8Array;
  /** PSID/AID of the message (integer). */
  psid: number;
  /** Unix ms of generation (default now). */
  generationTimeMs?: number;
  /** Lifetime in ms: expiryTime = generation + this (absent: no expiryTime). */
  lifetimeMs?: number;
  /** 'certificate' carries the whole certificate, 'digest' its HashedId8 (J2945/1: the certificate once a second). */
  signer: 'certificate' | 'digest';
  /** A certificate a receiver asked for (inlineP2pcdRequest), sent as HeaderInfo.requestedCertificate (1609.2 8.4). */
  requestedCertificate?: CertificateInfo;
}

/** SN-SIGN: signed SPDUs with the provider's current certificate and key, in the codec's profile (1609.2 or China). */
export class SpduSigner {
  private readonly profile: SecurityProfile;

  constructor(
    private readonly codec: Oer1609Codec,
    private readonly backend: CryptoBackend,
    private readonly provider: CertificateProvider,
    private readonly now: () => number = Date.now,
  ) {
    this.profile = profileOf(codec);
  }

  sign(req: SignRequest): Uint8Array {
    const { certificate, key } = this.provider.current();
    if (!certificate.psids.includes(req.psid)) throw new SecurityError('sign-failed', `PSID ${req.psid} is not in the certificate's permissions (${certificate.psids.join(', ')})`);
    const gen = req.generationTimeMs ?? this.now();
    const headerInfo: Record<string, unknown> = { [this.profile.appId]: req.psid, generationTime: time64FromUnixMs(gen) };
    if (req.lifetimeMs !== undefined) headerInfo.expiryTime = time64FromUnixMs(gen + req.lifetimeMs);
    if (req.requestedCertificate !== undefined) headerInfo.requestedCertificate = req.requestedCertificate.value;
    const tbsData = { payload: { data: { protocolVersion: 3, content: { unsecuredData: Buffer.from(req.payload).toString('hex') } } }, headerInfo };
    const tbs = this.codec.encode('ToBeSignedData', tbsData);
    const sig = sign1609(this.backend, key, tbs, { certificate: certificate.encoded });
    return assembleSignedData(this.codec, {
      hashId: HASH_OF[key.curve],
      tbsData: tbs,
      signer: req.signer === 'certificate' ? { certificate: certificate.encoded } : { digest: certificate.hashedId8 },
      signature: signatureValue(sig, this.profile),
    });
  }
}

export const VERIFY_FAILURES = [
  'malformed', // not an Ieee1609Dot2Data (DecodeError), or a signedData this RSU cannot read
  'unsigned', // unsecuredData: no signature at all
  'unsupported', // encryptedData, self signers, other algorithms
  'unknown-signer', // a digest signer not seen before (its certificate is requested by the next one in full)
  'untrusted', // the certificate does not chain to a trust anchor, or is not valid now
  'psid-not-permitted', // the certificate does not permit the message's PSID
  'stale', // generationTime outside the window
  'expired', // expiryTime passed
  'bad-signature',
] as const;
export type VerifyFailure = (typeof VERIFY_FAILURES)[number];

/**
 * Whether a 1609.2 codec's decode error is only China's X.509 signer (SignerIdentifier's alternative [3], which
 * 1609.2's modules lack): such an SPDU is read with the China set instead.
 */
export function isX509SignerError(message: string): boolean {
  return /signedData\.signer: unknown extension alternative with tag \[3\]/.test(message);
}

/** An X.509 signer (China profile, SignerIdentifier.x509): its DER and what was read of it. */
export interface X509Signer {
  readonly kind: 'x509';
  /** HashedId8 of the DER (the curve's hash), as a 1609.2 certificate's. */
  readonly hashedId8: string;
  readonly x509: X509Info;
}

export type VerifyResult = (
  | { ok: true; psid: number; generationTimeMs: number | undefined; payload: Uint8Array; signer: CertificateInfo | X509Signer }
  | { ok: false; reason: VerifyFailure; detail: string; payload?: Uint8Array; psid?: number }
) & {
  /** HashedId3s (hex) the sender asks for in HeaderInfo.inlineP2pcdRequest, read whether or not the SPDU verifies. */
  p2pcdRequest?: string[];
};

export interface VerifyOptions {
  /** How old a generationTime may be, ms (default 30 s) and how far in the future (default 5 s, clock skew). */
  maxAgeMs?: number;
  maxFutureMs?: number;
}

type Spdu = { protocolVersion: number; content: Record<string, unknown> };
type SignedData = { hashId: string; tbsData: { payload: { data?: Spdu }; headerInfo: { [appId: string]: unknown; generationTime?: bigint | number; expiryTime?: bigint | number; inlineP2pcdRequest?: unknown } }; signer: Record<string, unknown>; signature: unknown };

/**
 * SN-VERIFY: checks signed SPDUs against the trust store; never throws for what the bytes hold. The signature and
 * the certificates' HashedId8 and chain are checked over the octets as received (received.ts), not a re-encoding.
 */
export class SpduVerifier {
  private readonly maxAgeMs: number;
  private readonly maxFutureMs: number;
  private readonly profile: SecurityProfile;
  private readonly x509Seen = new Map<string, X509Info>();
  private readonly x509Links = new Set<string>();

  constructor(
    private readonly codec: Oer1609Codec,
    private readonly backend: CryptoBackend,
    private readonly trust: TrustStore,
    opts: VerifyOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.maxFutureMs = opts.maxFutureMs ?? 5_000;
    this.profile = profileOf(codec);
  }

  verify(bytes: Uint8Array): VerifyResult {
    let spdu: Spdu;
    try {
      spdu = this.codec.decode(this.profile.envelope, bytes) as Spdu;
    } catch (e) {
      return { ok: false, reason: 'malformed', detail: (e as Error).message };
    }
    const [kind, body] = Object.entries(spdu.content)[0] ?? [];
    if (kind === 'unsecuredData') return { ok: false, reason: 'unsigned', detail: 'unsecuredData', payload: Uint8Array.from(Buffer.from(body as string, 'hex')) };
    if (kind !== 'signedData') return { ok: false, reason: 'unsupported', detail: `content ${String(kind)}` };
    const sd = body as SignedData;
    const req = sd.tbsData?.headerInfo?.inlineP2pcdRequest;
    const p2pcd = Array.isArray(req) ? { p2pcdRequest: req.map((h) => String(h).toLowerCase()) } : {};
    try {
      return { ...this.verifySigned(sd, signedDataOctets(this.codec, bytes)), ...p2pcd };
    } catch (e) {
      if (e instanceof SecurityError) return { ok: false, reason: e.code === 'unsupported' ? 'unsupported' : 'malformed', detail: e.message, ...p2pcd };
      if (e instanceof Error && e.name === 'DecodeError') return { ok: false, reason: 'malformed', detail: e.message, ...p2pcd };
      throw e;
    }
  }

  private verifySigned(sd: SignedData, received: { tbsData: Uint8Array; certificates: Uint8Array[] }): VerifyResult {
    const h = sd.tbsData.headerInfo;
    const psid = Number(h[this.profile.appId]);
    const inner = sd.tbsData.payload.data;
    const innerContent = inner ? (Object.entries(inner.content)[0] ?? []) : [];
    if (innerContent[0] !== 'unsecuredData') return { ok: false, reason: 'unsupported', detail: 'payload is not data with unsecuredData (extDataHash or nested SPDU)', psid };
    const payload = Uint8Array.from(Buffer.from(innerContent[1] as string, 'hex'));
    const fail = (reason: VerifyFailure, detail: string): VerifyResult => ({ ok: false, reason, detail, payload, psid });

    const [sk, sv] = Object.entries(sd.signer)[0] ?? [];
    let signer: CertificateInfo | undefined;
    if (sk === 'certificate') {
      const chain = sv as unknown[];
      if (chain.length === 0) return fail('malformed', 'empty certificate list');
      signer = certificateInfo(this.codec, this.backend, chain[0], received.certificates[0]);
      // Issuers sent along (longer chains) are remembered first, so the chain can be followed.
      for (let i = chain.length - 1; i > 0; i--) this.trust.remember(certificateInfo(this.codec, this.backend, chain[i], received.certificates[i]));
    } else if (sk === 'digest') {
      signer = this.trust.byHashedId8(String(sv).toLowerCase());
      if (signer === undefined) return fail('unknown-signer', `digest ${String(sv).toLowerCase()} not seen before`);
    } else if (sk === 'x509' && typeof sv === 'string') return this.verifyX509(sd, received.tbsData, Uint8Array.from(Buffer.from(sv, 'hex')), psid, payload, fail);
    else return fail('unsupported', `signer ${String(sk)}`);

    const sig = signatureOf(sd.signature);
    // hashId is outside the signed octets: it must name the hash the signer's curve signs with.
    if (sd.hashId !== HASH_OF[signer.curve]) return fail('unsupported', `hashId ${sd.hashId} with a ${signer.curve} signer (${HASH_OF[signer.curve]})`);
    if (sig.curve !== signer.curve) return fail('bad-signature', `a ${sig.curve} signature from a ${signer.curve} certificate`);
    if (!verify1609(this.backend, signer.verificationKey, received.tbsData, { certificate: signer.encoded }, sig)) return fail('bad-signature', `signature by ${signer.hashedId8} does not verify`);

    const now = this.now();
    const chain = this.trust.chainProblem(signer, now);
    if (chain !== undefined) return fail('untrusted', chain);
    if (sk === 'certificate') this.trust.remember(signer);
    if (!signer.psids.includes(psid)) return fail('psid-not-permitted', `${this.profile.appId.toUpperCase()} ${psid} is not permitted by ${signer.hashedId8} (${signer.psids.join(', ')})`);
    return this.timely(sd, now, psid, payload, signer, fail);
  }

  /** generationTime within the window and expiryTime not passed: the verified result, else stale / expired. */
  private timely(sd: SignedData, now: number, psid: number, payload: Uint8Array, signer: CertificateInfo | X509Signer, fail: (r: VerifyFailure, d: string) => VerifyResult): VerifyResult {
    const h = sd.tbsData.headerInfo;
    const gen = h.generationTime === undefined ? undefined : unixMsFromTime64(h.generationTime);
    if (gen !== undefined && (gen < now - this.maxAgeMs || gen > now + this.maxFutureMs)) return fail('stale', `generated ${new Date(gen).toISOString()}, now ${new Date(now).toISOString()}`);
    if (h.expiryTime !== undefined && unixMsFromTime64(h.expiryTime) < now) return fail('expired', `expired ${new Date(unixMsFromTime64(h.expiryTime)).toISOString()}`);
    return { ok: true, psid, generationTimeMs: gen, payload, signer };
  }

  /**
   * An X.509 signer (China profile, SignerIdentifier.x509: the certificate's DER). The signature covers
   * Hash(ToBeSignedData) || Hash(DER), the DER taking the place of a 1609.2 certificate's C-OER as the signer
   * identifier input; the certificate chains to an X.509 trust anchor by issuer name and signature (each link's
   * validity checked). An X.509 certificate carries no AID permissions, so none are checked.
   */
  private verifyX509(sd: SignedData, tbsData: Uint8Array, der: Uint8Array, psid: number, payload: Uint8Array, fail: (r: VerifyFailure, d: string) => VerifyResult): VerifyResult {
    // Vehicles repeat their signer: parsed certificates are kept by their octets (bounded).
    const key = Buffer.from(der).toString('base64');
    let cert = this.x509Seen.get(key);
    if (cert === undefined) {
      try {
        cert = parseX509(der, 'X.509 signer');
      } catch (e) {
        return fail('malformed', (e as Error).message);
      }
      if (this.x509Seen.size >= 256) this.x509Seen.delete(this.x509Seen.keys().next().value!);
      this.x509Seen.set(key, cert);
    }
    if (cert.curve === undefined) return fail('unsupported', `X.509 signer "${cert.subject}" has a ${cert.keyAlgorithm}${cert.curveName ? ` ${cert.curveName}` : ''} key (P-256 or SM2 only)`);
    const sig = signatureOf(sd.signature);
    if (sd.hashId !== HASH_OF[cert.curve]) return fail('unsupported', `hashId ${sd.hashId} with a ${cert.curve} signer (${HASH_OF[cert.curve]})`);
    if (sig.curve !== cert.curve) return fail('bad-signature', `a ${sig.curve} signature from a ${cert.curve} X.509 certificate`);
    const signer: X509Signer = { kind: 'x509', hashedId8: hashedId8(this.backend, HASH_OF[cert.curve], der), x509: cert };
    if (!verify1609(this.backend, x509PublicKey(this.backend, cert, 'X.509 signer'), tbsData, { certificate: der }, sig)) return fail('bad-signature', `signature by X.509 "${cert.subject}" (${signer.hashedId8}) does not verify`);
    const now = this.now();
    const anchors = this.trust.x509Anchors?.() ?? [];
    const chain = anchors.length === 0 ? 'no X.509 trust anchors loaded' : x509ChainProblem(this.backend, cert, anchors, now, this.x509Links);
    if (chain !== undefined) return fail('untrusted', chain);
    return this.timely(sd, now, psid, payload, signer, fail);
  }
}

/**
 * SN-VERIFY as the radio receiver's SPDU handler (hw/radio RadioRx `spdu` option, which this module does not
 * import): the MessageFrame inside a verified SPDU, or the failure reason. `onResult` sees every result (metrics).
 */
export function spduHandlerOf(verifier: SpduVerifier, onResult?: (r: VerifyResult) => void): (spdu: Uint8Array) => { ok: true; payload: Uint8Array; psid: number; signer: string } | { ok: false; reason: string; detail: string } {
  return (spdu) => {
    const r = verifier.verify(spdu);
    onResult?.(r);
    return r.ok ? { ok: true, payload: r.payload, psid: r.psid, signer: r.signer.hashedId8 } : { ok: false, reason: r.reason, detail: r.detail };
  };
}
