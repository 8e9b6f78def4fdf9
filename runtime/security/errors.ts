// Typed errors of the security layer. Malformed input (a key that is not a key, a signature of the wrong length,
// a PEM that does not parse, a curve the caller did not ask for) throws a SecurityError whose `code` names the
// problem, so callers can count it by reason; a well-formed signature that does not verify is not an error
// (verify returns false).

export const SECURITY_ERROR_CODES = [
  'bad-pem', // a key file that is not PEM (or DER) of a private/public key
  'bad-key', // key bytes that do not decode, or a point not on the curve
  'wrong-curve', // a key or point of another curve than the one required
  'bad-signature-length', // r or s not 32 octets
  'bad-point', // an EccP256CurvePoint of the wrong shape
  'backend-unavailable', // no backend for the curve (SM2 needs the native addon)
  'sign-failed',
  'unsupported', // an algorithm or certificate form this RSU does not handle (P-384, implicit certificates)
  'bad-certificate', // an X.509 certificate that does not parse (truncated DER, not a certificate, a key file instead)
] as const;
export type SecurityErrorCode = (typeof SECURITY_ERROR_CODES)[number];

export class SecurityError extends Error {
  override readonly name = 'SecurityError';
  constructor(
    readonly code: SecurityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
