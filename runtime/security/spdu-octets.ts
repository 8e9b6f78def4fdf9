// The exact octets of a signedData SPDU's parts. A verifier hashes them as cut out of what was received
// (codecs/README.md "The signed octets"):
// a signature covers the octets the sender encoded, which need not be our canonical re-encoding of the decoded
// value (a 2016 sender's shorter extension bitmap, an extension addition our modules do not know). Each
// component's end is found with the codec's decodePrefix; the few fixed-size parts in between are C-OER's
// (a one-octet Uint8, a one-octet CHOICE tag for the low tag numbers 1609.2 uses, a length-prefixed quantity).

import { SecurityError } from './errors.js';

/** What this needs of the C-OER codec (codecs' MessageSet has it). */
export interface PrefixDecoder {
  decodePrefix(typeName: string, bytes: Uint8Array): { trailing: Uint8Array };
}

const PROTOCOL_VERSION = 3;
const TAG = { signedData: 0x81, certificate: 0x81 } as const; // context-specific tag [1] of both CHOICEs

/**
 * A signedData SPDU from its parts' octets, so that the signed ToBeSignedData and a certificate signer go out
 * exactly as hashed (a certificate from a CA may hold extensions our modules would drop when re-encoding it).
 */
export function assembleSignedData(codec: { encode(typeName: string, value: unknown): Uint8Array }, parts: { hashId: string; tbsData: Uint8Array; signer: { certificate: Uint8Array } | { digest: string } | { x509: string }; signature: unknown }): Uint8Array {
  const signer = 'certificate' in parts.signer ? [Uint8Array.from([TAG.certificate, 1, 1]), parts.signer.certificate] : [codec.encode('SignerIdentifier', parts.signer)];
  return Buffer.concat([Uint8Array.from([PROTOCOL_VERSION, TAG.signedData]), codec.encode('HashAlgorithm', parts.hashId), parts.tbsData, ...signer, codec.encode('Signature', parts.signature)]);
}

class Cursor {
  constructor(
    private readonly codec: PrefixDecoder,
    readonly bytes: Uint8Array,
    public at = 0,
  ) {}

  /** The octets of one value of `typeName` at the cursor, moving past them. */
  take(typeName: string): Uint8Array {
    const { trailing } = this.codec.decodePrefix(typeName, this.bytes.subarray(this.at));
    const end = this.bytes.length - trailing.length;
    const out = this.bytes.subarray(this.at, end);
    this.at = end;
    return out;
  }

  octet(what: string): number {
    const b = this.bytes[this.at++];
    if (b === undefined) throw new SecurityError('unsupported', `${what}: truncated`);
    return b;
  }

  /** A CHOICE tag (X.696 8.7): the alternative's index for context-specific tags below 63. */
  choiceIndex(what: string): number {
    const t = this.octet(what);
    if ((t & 0xc0) !== 0x80 || (t & 0x3f) === 0x3f) throw new SecurityError('unsupported', `${what}: tag 0x${t.toString(16)}`);
    return t & 0x3f;
  }
}

/** ToBeSignedData and the certificates of the signer (when it sends them) of a signedData SPDU, as received. */
export function signedDataOctets(codec: PrefixDecoder, spdu: Uint8Array): { tbsData: Uint8Array; certificates: Uint8Array[] } {
  const c = new Cursor(codec, spdu);
  c.octet('protocolVersion');
  if (c.choiceIndex('content') !== (TAG.signedData & 0x3f)) throw new SecurityError('unsupported', 'content is not signedData');
  c.take('HashAlgorithm');
  const tbsData = c.take('ToBeSignedData');
  const certificates: Uint8Array[] = [];
  if (c.choiceIndex('signer') === (TAG.certificate & 0x3f)) {
    // SequenceOfCertificate: the quantity as a length-prefixed unsigned integer, then the certificates.
    const len = c.octet('quantity length');
    let n = 0;
    for (let i = 0; i < len; i++) n = n * 256 + c.octet('quantity');
    for (let i = 0; i < n; i++) certificates.push(c.take('Certificate'));
  }
  return { tbsData, certificates };
}

/** The ToBeSignedCertificate octets of a certificate's encoding (what the issuer's signature covers). */
export function toBeSignedCertificateOctets(codec: PrefixDecoder, certificate: Uint8Array): Uint8Array {
  const c = new Cursor(codec, certificate);
  c.octet('preamble'); // CertificateBase: one OPTIONAL (signature), not extensible
  c.octet('version');
  c.take('CertificateType');
  c.take('IssuerIdentifier');
  return c.take('ToBeSignedCertificate');
}
