// The certificate provider and trust store, behind interfaces (as vanetza's security/ keeps them), for the SPDU
// services to depend on. The implementations (C-OER certificates through the codec: chain + PEM key from
// files, validity/region/PSID checks, reload on change) come with the 1609.2 modules.

import type { Curve, PrivateKey, PublicKey } from './types.js';

/** What the SPDU services need of a certificate, decoded (codec-independent). */
export interface CertificateInfo {
  /** The C-OER encoding (the signer identifier input of 1609.2 5.3.1.2.2; HashedId8 is its hash's last 8 octets). */
  readonly encoded: Uint8Array;
  readonly hashedId8: Uint8Array;
  readonly curve: Curve;
  readonly verificationKey: PublicKey;
  /** Validity, ms since the epoch. */
  readonly validFrom: number;
  readonly validUntil: number;
  /** PSIDs/AIDs (integers) the certificate permits. */
  readonly psids: readonly number[];
}

/** The RSU's own signing identity (SN-SIGN's signer). */
export interface CertificateProvider {
  /** The certificate messages are signed under, its issuer chain up to (not including) a trust anchor, and its key. */
  current(): { certificate: CertificateInfo; chain: readonly CertificateInfo[]; key: PrivateKey };
}

/** Trust anchors and certificates seen on the air (SN-VERIFY's view). */
export interface TrustStore {
  /** A known certificate (an anchor, an intermediate, or one that arrived whole earlier) by its HashedId8. */
  byHashedId8(id: Uint8Array): CertificateInfo | undefined;
  /** True when `cert` chains to a trust anchor (each link's signature checked). */
  chainsToAnchor(cert: CertificateInfo): boolean;
}
