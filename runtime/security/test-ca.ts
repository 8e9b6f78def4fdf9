// A THROWAWAY certificate authority for labs, tests and the demo only (issue 15: `rsu cert make-test-ca` and
// `issue`): a self-signed root and end-entity certificates under it, explicit, ECDSA P-256 or SM2. Nothing
// here is for production: a deployment's certificates come from an SCMS (US) or a China V2X CA.

import { generateKeyPairSync } from 'node:crypto';
import type { CryptoBackend } from './backend.js';
import { certificateInfo, signatureValue, type CertificateInfo, type Oer1609Codec } from './certificates.js';
import { sign1609 } from './primitives.js';
import { time32FromUnixMs } from './time.js';
import { HASH_OF, type Curve, type PrivateKey } from './types.js';

export interface TestIdentity {
  certificate: CertificateInfo;
  key: PrivateKey;
  /** The private key as PKCS#8 PEM (what a deployment keeps in a file). */
  keyPem: string;
}

export interface IssueOptions {
  curve: Curve;
  /** Hostname-style id written in the certificate. */
  name: string;
  /** Unix ms; default a minute ago (receivers' clocks may be behind, and Time32 counts whole seconds). */
  validFromMs?: number;
  validHours: number;
  /** PSIDs the end entity may sign (absent: a CA certificate that may issue anything). */
  psids?: readonly number[];
  /** A GeographicRegion value (e.g. { circularRegion: { center: { latitude, longitude }, radius } }, 1e-7 degrees, metres). */
  region?: unknown;
}

function compressed(point: Uint8Array): Record<string, string> {
  const x = Buffer.from(point.subarray(1, 33)).toString('hex');
  return (point[0] === 4 ? point[64]! & 1 : point[0]! & 1) ? { 'compressed-y-1': x } : { 'compressed-y-0': x };
}

/** A new key and certificate, signed by `issuer` (or self-signed when there is none). */
export function issueTestCertificate(codec: Oer1609Codec, backend: CryptoBackend, opts: IssueOptions, issuer?: TestIdentity): TestIdentity {
  const keyPem = generateKeyPairSync('ec', { namedCurve: opts.curve === 'sm2' ? 'SM2' : 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const key = backend.privateKey(keyPem);
  const hash = HASH_OF[opts.curve];
  const toBeSigned: Record<string, unknown> = {
    id: { name: opts.name },
    cracaId: '000000',
    crlSeries: 0,
    validityPeriod: { start: time32FromUnixMs(opts.validFromMs ?? Date.now() - 60_000), duration: { hours: opts.validHours } },
    ...(opts.region === undefined ? {} : { region: opts.region }),
    ...(opts.psids ? { appPermissions: opts.psids.map((psid) => ({ psid })) } : { certIssuePermissions: [{ subjectPermissions: { all: null } }] }),
    verifyKeyIndicator: { verificationKey: { [opts.curve === 'sm2' ? 'ecsigSm2' : 'ecdsaNistP256']: compressed(key.publicKey.point) } },
  };
  const tbs = codec.encode('ToBeSignedCertificate', toBeSigned);
  const signer = issuer?.key ?? key;
  const sig = sign1609(backend, signer, tbs, issuer ? { certificate: issuer.certificate.encoded } : { self: true });
  const value = {
    version: 3,
    type: 'explicit',
    issuer: issuer ? { [HASH_OF[issuer.certificate.curve] === 'sm3' ? 'sm3AndDigest' : 'sha256AndDigest']: issuer.certificate.hashedId8 } : { self: hash },
    toBeSigned,
    signature: signatureValue(sig),
  };
  return { certificate: certificateInfo(codec, backend, value), key, keyPem };
}
