// X.509 certificates (RFC 5280) where DER appears: the China profile's X.509 signer (SignerIdentifier.x509,
// DER octets) and the uplinks' TLS client certificates. Parsed with asn1js (the project's DER library), never
// by hand; what is kept: validity, subject/issuer, the public key's algorithm and curve (P-256, SM2
// 1.2.156.10197.1.301), the signature over tbsCertificate, and basicConstraints' CA flag. Issuer signatures are
// verified through the CryptoBackend, so SM2-with-SM3 uses the standard ID 1234567812345678 (Node's own
// X509Certificate.verify cannot set it).

import { BitString, Constructed, fromBER, GeneralizedTime, Integer, ObjectIdentifier, OctetString, Sequence, UTCTime, type AsnType } from 'asn1js';
import { createHash } from 'node:crypto';
import type { CryptoBackend } from './backend.js';
import { SecurityError } from './errors.js';
import type { Curve, PublicKey } from './types.js';

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  sm2: '1.2.156.10197.1.301',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',
  secp384r1: '1.3.132.0.34',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sm2WithSm3: '1.2.156.10197.1.501',
  basicConstraints: '2.5.29.19',
} as const;

const KEY_NAMES: Readonly<Record<string, string>> = {
  [OID.ecPublicKey]: 'EC',
  [OID.sm2]: 'SM2',
  [OID.rsaEncryption]: 'RSA',
  [OID.ed25519]: 'Ed25519',
  '1.3.101.113': 'Ed448',
};
const CURVE_NAMES: Readonly<Record<string, string>> = { [OID.prime256v1]: 'P-256', [OID.sm2]: 'SM2', [OID.secp384r1]: 'P-384', '1.3.132.0.35': 'P-521', '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1' };
const SIG_NAMES: Readonly<Record<string, string>> = {
  [OID.ecdsaWithSha256]: 'ecdsa-with-SHA256',
  [OID.sm2WithSm3]: 'SM2-with-SM3',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  [OID.ed25519]: 'Ed25519',
};
const ATTR_NAMES: Readonly<Record<string, string>> = { '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.5': 'serialNumber', '1.2.840.113549.1.9.1': 'emailAddress' };

/** What this RSU reads of an X.509 certificate. */
export interface X509Info {
  /** The DER octets (the SPDU's signer identifier input, and what the fingerprint hashes). */
  readonly der: Uint8Array;
  /** The octets of tbsCertificate (the data its issuer signed). */
  readonly tbs: Uint8Array;
  readonly serialHex: string;
  /** RFC 4514-like text (CN=..., O=...) and the raw DER of the Name (chains match on it). */
  readonly subject: string;
  readonly issuer: string;
  readonly subjectDer: Uint8Array;
  readonly issuerDer: Uint8Array;
  /** Validity, Unix ms. */
  readonly validFrom: number;
  readonly validUntil: number;
  /** The key: 'EC', 'SM2', 'RSA', 'Ed25519' or the OID; the curve's name for EC keys. */
  readonly keyAlgorithm: string;
  readonly curveName?: string;
  /** The curves this RSU verifies with (P-256, SM2), else undefined. */
  readonly curve?: Curve;
  /** SEC1 point of an EC key. */
  readonly publicKeyPoint?: Uint8Array;
  readonly signatureAlgorithm: string;
  /** The issuer's signature (BIT STRING contents: DER Ecdsa-Sig-Value for ECDSA and SM2). */
  readonly signature: Uint8Array;
  /** basicConstraints cA. */
  readonly isCA: boolean;
  /** SHA-256 of the DER, hex (what `openssl x509 -fingerprint -sha256` prints). */
  readonly sha256: string;
}

const bad = (what: string, msg: string): SecurityError => new SecurityError('bad-certificate', `${what}: ${msg}`);
const view = (b: ArrayBuffer | Uint8Array): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

/** Whether a file's bytes are an X.509 certificate (DER SEQUENCE, or PEM) rather than a C-OER 1609.2 one. */
export function isX509(bytes: Uint8Array): boolean {
  // A C-OER Certificate starts with its presence bitmap (0x80 or 0x00) and version 3; DER with 0x30.
  return bytes[0] === 0x30 || Buffer.from(bytes.subarray(0, 64)).toString('latin1').includes('-----BEGIN');
}

/** The DER of a PEM "CERTIFICATE" block, or the bytes themselves when they are DER; names a key file given as a certificate. */
export function certificateDer(input: Uint8Array | string, what = 'certificate'): Uint8Array {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length === 0) throw bad(what, 'empty file');
  if (bytes[0] === 0x30) return new Uint8Array(bytes); // DER SEQUENCE
  const text = bytes.toString('latin1');
  const m = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/.exec(text);
  if (m) return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw bad(what, 'holds a private key, not a certificate (is the key file given as the certificate?)');
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  throw bad(what, label ? `holds a PEM "${label}", not a CERTIFICATE` : 'neither PEM (-----BEGIN CERTIFICATE-----) nor DER');
}

function child(node: AsnType | undefined, what: string): AsnType[] {
  if (!(node instanceof Constructed)) throw bad(what, 'expected a constructed value');
  return node.valueBlock.value as AsnType[];
}
function oidOf(node: AsnType | undefined, what: string): string {
  if (!(node instanceof ObjectIdentifier)) throw bad(what, 'expected an OBJECT IDENTIFIER');
  return node.getValue();
}
function timeOf(node: AsnType | undefined, what: string): number {
  if (!(node instanceof UTCTime) && !(node instanceof GeneralizedTime)) throw bad(what, 'expected UTCTime or GeneralizedTime');
  const t = node.toDate().getTime();
  if (!Number.isFinite(t)) throw bad(what, 'not a valid time');
  return t;
}
function nameOf(node: AsnType | undefined, what: string): { text: string; der: Uint8Array } {
  if (!(node instanceof Sequence)) throw bad(what, 'expected a Name (SEQUENCE of RDNs)');
  const parts: string[] = [];
  for (const rdn of child(node, what)) {
    for (const atv of child(rdn, what)) {
      const [t, v] = child(atv, what);
      const oid = oidOf(t, what);
      const s = (v as unknown as { valueBlock?: { value?: unknown } })?.valueBlock?.value;
      parts.push(`${ATTR_NAMES[oid] ?? oid}=${typeof s === 'string' ? s : Buffer.from(view((v as AsnType).valueBeforeDecodeView)).toString('hex')}`);
    }
  }
  return { text: parts.join(', '), der: new Uint8Array(node.valueBeforeDecodeView) };
}

/**
 * Parses an X.509 certificate (DER, or PEM text). Throws SecurityError `bad-certificate` naming what is wrong
 * (truncated, trailing octets, not a certificate, a private key given instead), never anything else.
 */
export function parseX509(input: Uint8Array | string, what = 'certificate'): X509Info {
  const der = certificateDer(input, what);
  let parsed: ReturnType<typeof fromBER>;
  try {
    parsed = fromBER(der);
  } catch (e) {
    throw bad(what, `DER does not decode: ${(e as Error).message}`);
  }
  if (parsed.offset === -1 || parsed.result.error) throw bad(what, `DER does not decode (${der.length} octets): ${parsed.result.error || 'truncated'}`);
  if (parsed.offset !== der.length) throw bad(what, `${der.length - parsed.offset} octets after the certificate`);
  try {
    return fromAsn(der, parsed.result, what);
  } catch (e) {
    if (e instanceof SecurityError) throw e;
    throw bad(what, (e as Error).message);
  }
}

function fromAsn(der: Uint8Array, root: AsnType, what: string): X509Info {
  if (!(root instanceof Sequence)) throw bad(what, 'not a certificate (expected a SEQUENCE)');
  const [tbsNode, sigAlgNode, sigNode] = child(root, what);
  if (!(tbsNode instanceof Sequence) || !(sigNode instanceof BitString)) throw bad(what, 'not a certificate (tbsCertificate, signatureAlgorithm, signatureValue)');
  const tbsItems = child(tbsNode, 'tbsCertificate');
  let i = 0;
  // version [0] EXPLICIT is present for v2 and v3.
  if (tbsItems[0]?.idBlock.tagClass === 3 && tbsItems[0].idBlock.tagNumber === 0) i++;
  const serial = tbsItems[i++];
  if (!(serial instanceof Integer)) throw bad(what, 'tbsCertificate: expected the serial number');
  i++; // signature AlgorithmIdentifier (repeated outside)
  const issuer = nameOf(tbsItems[i++], 'issuer');
  const validity = child(tbsItems[i++], 'validity');
  const subject = nameOf(tbsItems[i++], 'subject');
  const spki = child(tbsItems[i++], 'subjectPublicKeyInfo');
  const alg = child(spki[0], 'subjectPublicKeyInfo.algorithm');
  const keyOid = oidOf(alg[0], 'subjectPublicKeyInfo.algorithm');
  const params = alg[1] instanceof ObjectIdentifier ? alg[1].getValue() : undefined;
  if (!(spki[1] instanceof BitString)) throw bad(what, 'subjectPublicKeyInfo: expected the key as a BIT STRING');
  const point = view(spki[1].valueBlock.valueHexView);
  // SM2 keys come as id-ecPublicKey with the SM2 curve (OpenSSL 3), or with the SM2 OID as the algorithm.
  const curveOid = keyOid === OID.sm2 ? OID.sm2 : keyOid === OID.ecPublicKey ? params : undefined;
  const curve: Curve | undefined = curveOid === OID.prime256v1 ? 'nistp256' : curveOid === OID.sm2 ? 'sm2' : undefined;
  let isCA = false;
  for (const item of tbsItems.slice(i)) {
    if (item.idBlock.tagClass !== 3 || item.idBlock.tagNumber !== 3) continue;
    for (const ext of child(child(item, 'extensions')[0], 'extensions')) {
      const parts = child(ext, 'extension');
      if (oidOf(parts[0], 'extension') !== OID.basicConstraints) continue;
      const value = parts[parts.length - 1];
      if (!(value instanceof OctetString)) throw bad(what, 'basicConstraints: expected an OCTET STRING');
      const bc = fromBER(view(value.valueBlock.valueHexView)).result;
      const first = bc instanceof Sequence ? (bc.valueBlock.value as AsnType[])[0] : undefined;
      isCA = (first as unknown as { valueBlock?: { value?: unknown } })?.valueBlock?.value === true;
    }
  }
  const sigOid = oidOf(child(sigAlgNode, 'signatureAlgorithm')[0], 'signatureAlgorithm');
  const validFrom = timeOf(validity[0], 'validity.notBefore');
  const validUntil = timeOf(validity[1], 'validity.notAfter');
  return {
    der,
    tbs: new Uint8Array(tbsNode.valueBeforeDecodeView),
    serialHex: Buffer.from(view(serial.valueBlock.valueHexView)).toString('hex'),
    subject: subject.text,
    issuer: issuer.text,
    subjectDer: subject.der,
    issuerDer: issuer.der,
    validFrom,
    validUntil,
    keyAlgorithm: KEY_NAMES[keyOid] ?? keyOid,
    ...(curveOid !== undefined ? { curveName: CURVE_NAMES[curveOid] ?? curveOid } : {}),
    ...(curve !== undefined ? { curve, publicKeyPoint: point } : {}),
    signatureAlgorithm: SIG_NAMES[sigOid] ?? sigOid,
    signature: view(sigNode.valueBlock.valueHexView),
    isCA,
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

/** A readable one-line description of the key, e.g. "EC P-256", "SM2", "RSA". */
export function keyDescription(c: X509Info): string {
  return c.keyAlgorithm === 'EC' ? `EC ${c.curveName ?? '(no named curve)'}` : c.keyAlgorithm;
}

/** The backend public key of an X.509 certificate; `wrong-curve` for a key this RSU does not verify with. */
export function x509PublicKey(backend: CryptoBackend, c: X509Info, what = 'certificate'): PublicKey {
  if (c.curve === undefined || c.publicKeyPoint === undefined) throw new SecurityError('wrong-curve', `${what} ${c.subject}: key is ${keyDescription(c)}: expected EC P-256 or SM2`);
  return backend.publicKey(c.curve, c.publicKeyPoint);
}

/** r and s (32 octets each) of a DER Ecdsa-Sig-Value (ECDSA and SM2 alike). */
export function rawFromDerSignature(sig: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  const { result, offset } = fromBER(sig);
  const parts = result instanceof Sequence ? (result.valueBlock.value as AsnType[]) : [];
  if (offset !== sig.length || parts.length !== 2 || !parts.every((p) => p instanceof Integer)) throw new SecurityError('bad-signature-length', 'X.509 signature: expected SEQUENCE { r INTEGER, s INTEGER }');
  const to32 = (p: AsnType): Uint8Array => {
    let b = view((p as Integer).valueBlock.valueHexView);
    while (b.length > 32 && b[0] === 0) b = b.subarray(1);
    if (b.length > 32) throw new SecurityError('bad-signature-length', `X.509 signature: an integer of ${b.length} octets`);
    const out = new Uint8Array(32);
    out.set(b, 32 - b.length);
    return out;
  };
  return { r: to32(parts[0]!), s: to32(parts[1]!) };
}

/**
 * True when `cert` is signed by `issuer`'s key: ecdsa-with-SHA256 under a P-256 key, SM2-with-SM3 under an SM2 key
 * (with the standard ID, through the backend). False when it does not verify or the algorithm and key do not
 * match; SecurityError for a signature that is not an Ecdsa-Sig-Value.
 */
export function x509SignedBy(backend: CryptoBackend, cert: X509Info, issuer: X509Info): boolean {
  const want = cert.signatureAlgorithm === 'ecdsa-with-SHA256' ? 'nistp256' : cert.signatureAlgorithm === 'SM2-with-SM3' ? 'sm2' : undefined;
  if (want === undefined || issuer.curve !== want) return false;
  return backend.verify(x509PublicKey(backend, issuer, 'issuer'), cert.tbs, rawFromDerSignature(cert.signature));
}

/**
 * Why `cert` does not chain to one of `anchors` at `nowMs` (each link's validity and signature), or undefined.
 * `verifiedLinks` (optional, the caller's) remembers links whose signature verified, so a signer heard again costs
 * no signature verification.
 */
export function x509ChainProblem(backend: CryptoBackend, cert: X509Info, anchors: readonly X509Info[], nowMs: number, verifiedLinks?: Set<string>): string | undefined {
  let c = cert;
  for (let depth = 0; depth < 8; depth++) {
    if (nowMs < c.validFrom || nowMs > c.validUntil) return `X.509 certificate "${c.subject}" is not valid now (${new Date(c.validFrom).toISOString()} to ${new Date(c.validUntil).toISOString()})`;
    if (anchors.some((a) => a.sha256 === c.sha256)) return undefined;
    const issuers = anchors.filter((a) => Buffer.from(a.subjectDer).equals(Buffer.from(c.issuerDer)));
    if (issuers.length === 0) return `issuer "${c.issuer}" of X.509 certificate "${c.subject}" is not a trust anchor`;
    const link = (a: X509Info) => `${c.sha256}<${a.sha256}`;
    const issuer = issuers.find((a) => verifiedLinks?.has(link(a))) ?? issuers.find((a) => x509SignedBy(backend, c, a));
    if (issuer === undefined) return `the ${c.signatureAlgorithm} signature of X.509 certificate "${c.subject}" does not verify under its issuer "${c.issuer}"`;
    if (!issuer.isCA) return `issuer "${issuer.subject}" is not a CA (basicConstraints)`;
    if (verifiedLinks !== undefined && !verifiedLinks.has(link(issuer))) {
      if (verifiedLinks.size >= 4096) verifiedLinks.clear();
      verifiedLinks.add(link(issuer));
    }
    c = issuer;
  }
  return `X.509 chain of "${cert.subject}" is longer than 8`;
}
