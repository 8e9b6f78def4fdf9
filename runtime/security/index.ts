// runtime/security: the crypto backends (Node's crypto for ECDSA P-256 and the hashes, OpenSSL through a tiny
// addon for SM2 with the standard ID), the 1609.2 primitives over them, and over the C-OER codec the SPDU sign
// and verify services (SN-SIGN / SN-VERIFY), certificates and the trust store. See README.md here.

export type { CryptoBackend } from './backend.js';
export { CompositeBackend, createCryptoBackend } from './composite.js';
export { SECURITY_ERROR_CODES, SecurityError, type SecurityErrorCode } from './errors.js';
export { NodeCryptoBackend } from './node-backend.js';
export { OpenSslSm2Backend, sm2AddonStatus } from './openssl-sm2.js';
export { DEFAULT_PRESIGN_CAPACITY, PresignedKey, setPresignCapacity } from './presign.js';
export { rOf, sign1609, signingInput, verify1609, type EccP256CurvePoint, type Signature1609, type SignerInput } from './primitives.js';
export { certificateInfo, certificateSignedBy, hashedId8, MemoryTrustStore, type CertificateInfo, type CertificateProvider, type Issuer, type Oer1609Codec, type TrustStore } from './certificates.js';
export { spduHandlerOf, SpduSigner, SpduVerifier, VERIFY_FAILURES, type SignRequest, type VerifyFailure, type VerifyOptions, type VerifyResult } from './spdu.js';
export { CERT_PROBLEMS, FileCertificateStore, regionContains, type CertProblem, type CertProblemCode, type CertStoreExpectations, type CertStoreFiles, type CertStoreStatus } from './cert-store.js';
export { issueTestCertificate, type IssueOptions, type TestIdentity } from './test-ca.js';
export { durationMs, time32FromUnixMs, time64FromUnixMs, unixMsFromTime32, unixMsFromTime64 } from './time.js';
export { CURVES, HASH_OF, SM2_DEFAULT_ID, type Curve, type HashAlgorithm, type PrivateKey, type PublicKey, type RawSignature, type SigningStats } from './types.js';
export { CHINA_PROFILE, IEEE_PROFILE, profileOf, type SecurityProfile } from './profile.js';
export { assembleSignedData, signedDataOctets, toBeSignedCertificateOctets } from './spdu-octets.js';
