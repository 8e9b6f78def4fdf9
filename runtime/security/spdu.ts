// The SPDU services, named after IEEE 1609.2's primitives: SN-SIGN.request builds an Ieee1609Dot2Data of type
// signedData around a payload (the UPER MessageFrame, as unsecuredData inside), SN-VERIFY.request checks one.
// They depend on a CryptoBackend, the 1609.2 codec, a CertificateProvider and a TrustStore, and know no curve.

import type { CryptoBackend } from './backend.js';
import { certificateInfo, signatureOf, signatureValue, type CertificateInfo, type CertificateProvider, type Oer1609Codec, type TrustStore } from './certificates.js';
import { SecurityError } from './errors.js';
import { sign1609, verify1609 } from './primitives.js';
import { time64FromUnixMs, unixMsFromTime64 } from './time.js';
import { HASH_OF } from './types.js';

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
}

/** SN-SIGN: signed SPDUs with the provider's current certificate and key. */
export class SpduSigner {
  constructor(
    private readonly codec: Oer1609Codec,
    private readonly backend: CryptoBackend,
    private readonly provider: CertificateProvider,
    private readonly now: () => number = Date.now,
  ) {}

  sign(req: SignRequest): Uint8Array {
    const { certificate, key } = this.provider.current();
    if (!certificate.psids.includes(req.psid)) throw new SecurityError('sign-failed', `PSID ${req.psid} is not in the certificate's permissions (${certificate.psids.join(', ')})`);
    const gen = req.generationTimeMs ?? this.now();
    const headerInfo: Record<string, unknown> = { psid: req.psid, generationTime: time64FromUnixMs(gen) };
    if (req.lifetimeMs !== undefined) headerInfo.expiryTime = time64FromUnixMs(gen + req.lifetimeMs);
    const tbsData = { payload: { data: { protocolVersion: 3, content: { unsecuredData: Buffer.from(req.payload).toString('hex') } } }, headerInfo };
    const tbs = this.codec.encode('ToBeSignedData', tbsData);
    const sig = sign1609(this.backend, key, tbs, { certificate: certificate.encoded });
    return this.codec.encode('Ieee1609Dot2Data', {
      protocolVersion: 3,
      content: {
        signedData: {
          hashId: HASH_OF[key.curve],
          tbsData,
          signer: req.signer === 'certificate' ? { certificate: [certificate.value] } : { digest: certificate.hashedId8 },
          signature: signatureValue(sig),
        },
      },
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

export type VerifyResult =
  | { ok: true; psid: number; generationTimeMs: number | undefined; payload: Uint8Array; signer: CertificateInfo }
  | { ok: false; reason: VerifyFailure; detail: string; payload?: Uint8Array; psid?: number };

export interface VerifyOptions {
  /** How old a generationTime may be, ms (default 30 s) and how far in the future (default 5 s, clock skew). */
  maxAgeMs?: number;
  maxFutureMs?: number;
}

type Spdu = { protocolVersion: number; content: Record<string, unknown> };
type SignedData = { hashId: string; tbsData: { payload: { data?: Spdu }; headerInfo: { psid: number | bigint; generationTime?: bigint | number; expiryTime?: bigint | number } }; signer: Record<string, unknown>; signature: unknown };

/** SN-VERIFY: checks signed SPDUs against the trust store; never throws for what the bytes hold. */
export class SpduVerifier {
  private readonly maxAgeMs: number;
  private readonly maxFutureMs: number;

  constructor(
    private readonly codec: Oer1609Codec,
    private readonly backend: CryptoBackend,
    private readonly trust: TrustStore,
    opts: VerifyOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.maxFutureMs = opts.maxFutureMs ?? 5_000;
  }

  verify(bytes: Uint8Array): VerifyResult {
    let spdu: Spdu;
    try {
      spdu = this.codec.decode('Ieee1609Dot2Data', bytes) as Spdu;
    } catch (e) {
      return { ok: false, reason: 'malformed', detail: (e as Error).message };
    }
    const [kind, body] = Object.entries(spdu.content)[0] ?? [];
    if (kind === 'unsecuredData') return { ok: false, reason: 'unsigned', detail: 'unsecuredData', payload: Uint8Array.from(Buffer.from(body as string, 'hex')) };
    if (kind !== 'signedData') return { ok: false, reason: 'unsupported', detail: `content ${String(kind)}` };
    try {
      return this.verifySigned(body as SignedData);
    } catch (e) {
      if (e instanceof SecurityError) return { ok: false, reason: e.code === 'unsupported' ? 'unsupported' : 'malformed', detail: e.message };
      throw e;
    }
  }

  private verifySigned(sd: SignedData): VerifyResult {
    const h = sd.tbsData.headerInfo;
    const psid = Number(h.psid);
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
      signer = certificateInfo(this.codec, this.backend, chain[0]);
      // Issuers sent along (longer chains) are remembered first, so the chain can be followed.
      for (const c of chain.slice(1).reverse()) this.trust.remember(certificateInfo(this.codec, this.backend, c));
    } else if (sk === 'digest') {
      signer = this.trust.byHashedId8(String(sv).toLowerCase());
      if (signer === undefined) return fail('unknown-signer', `digest ${String(sv).toLowerCase()} not seen before`);
    } else return fail('unsupported', `signer ${String(sk)}`);

    const sig = signatureOf(sd.signature);
    if (sig.curve !== signer.curve) return fail('bad-signature', `a ${sig.curve} signature from a ${signer.curve} certificate`);
    const tbs = this.codec.encode('ToBeSignedData', sd.tbsData);
    if (!verify1609(this.backend, signer.verificationKey, tbs, { certificate: signer.encoded }, sig)) return fail('bad-signature', `signature by ${signer.hashedId8} does not verify`);

    const now = this.now();
    const chain = this.trust.chainProblem(signer, now);
    if (chain !== undefined) return fail('untrusted', chain);
    if (sk === 'certificate') this.trust.remember(signer);
    if (!signer.psids.includes(psid)) return fail('psid-not-permitted', `PSID ${psid} is not permitted by ${signer.hashedId8} (${signer.psids.join(', ')})`);
    const gen = h.generationTime === undefined ? undefined : unixMsFromTime64(h.generationTime);
    if (gen !== undefined && (gen < now - this.maxAgeMs || gen > now + this.maxFutureMs)) return fail('stale', `generated ${new Date(gen).toISOString()}, now ${new Date(now).toISOString()}`);
    if (h.expiryTime !== undefined && unixMsFromTime64(h.expiryTime) < now) return fail('expired', `expired ${new Date(unixMsFromTime64(h.expiryTime)).toISOString()}`);
    return { ok: true, psid, generationTimeMs: gen, payload, signer };
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
