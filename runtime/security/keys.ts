// Key plumbing shared by the backends: a SEC1 point wrapped as SubjectPublicKeyInfo DER (fixed prefixes, so no
// DER parsing), a key file read through Node's crypto, and the SEC1 point of a Node KeyObject.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SecurityError } from './errors.js';
import type { Curve, PrivateKey, PublicKey } from './types.js';

/** A backend's public key: the curve, the SEC1 point, and the backend's own handle (a KeyObject, an EVP_PKEY). */
export class HandlePublicKey<H> implements PublicKey {
  constructor(
    readonly curve: Curve,
    readonly point: Uint8Array,
    readonly handle: H,
  ) {}
}

/** A backend's private key with its public key. */
export class HandlePrivateKey<H> implements PrivateKey {
  constructor(
    readonly curve: Curve,
    readonly handle: H,
    readonly publicKey: HandlePublicKey<H>,
  ) {}
}

/** `key`'s handle when it is a key of `curve` made by a backend of this kind; wrong-curve otherwise. */
export function handleOf<H>(backend: string, curve: Curve, key: PublicKey | PrivateKey): H {
  if (!(key instanceof HandlePublicKey || key instanceof HandlePrivateKey) || key.curve !== curve) throw new SecurityError('wrong-curve', `${backend} cannot use a ${key.curve} key of another backend`);
  return key.handle as H;
}

// SEQUENCE { SEQUENCE { id-ecPublicKey, <curve OID> }, BIT STRING <point> }: both curve OIDs have 8 content
// octets (prime256v1 1.2.840.10045.3.1.7, SM2 1.2.156.10197.1.301), so the prefixes differ only there.
const EC_PUBLIC_KEY = '06072a8648ce3d0201';
const CURVE_OID: Readonly<Record<Curve, string>> = { nistp256: '06082a8648ce3d030107', sm2: '06082a811ccf5501822d' };

function spkiPrefix(curve: Curve, pointLength: 33 | 65): Buffer {
  const alg = `3013${EC_PUBLIC_KEY}${CURVE_OID[curve]}`;
  const bits = `03${(pointLength + 1).toString(16)}00`;
  return Buffer.from(`30${(21 + 2 + pointLength + 1).toString(16)}${alg}${bits}`, 'hex');
}

/** Checks the shape of a SEC1 point of a 256-bit curve: 0x04 x y (65 octets) or 0x02/0x03 x (33 octets). */
export function checkSec1Point(curve: Curve, point: Uint8Array): void {
  const ok = (point.length === 65 && point[0] === 0x04) || (point.length === 33 && (point[0] === 0x02 || point[0] === 0x03));
  if (!ok) throw new SecurityError('bad-key', `${curve} public key: expected a SEC1 point of 33 or 65 octets, got ${point.length} starting 0x${(point[0] ?? 0).toString(16)}`);
}

/** SubjectPublicKeyInfo DER of a SEC1 point. */
export function spkiOf(curve: Curve, point: Uint8Array): Buffer {
  checkSec1Point(curve, point);
  return Buffer.concat([spkiPrefix(curve, point.length as 33 | 65), point]);
}

/** The uncompressed SEC1 point of an EC public KeyObject (Node exports SPKI with the uncompressed point). */
export function pointOf(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 65));
}

/** The curve of a Node EC KeyObject: nistp256, sm2, or undefined for anything else. */
export function curveOf(key: KeyObject): Curve | undefined {
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  // 30 59 | 30 13 | 06 07 <id-ecPublicKey> (octets 4..13) | 06 08 <curve> (octets 13..23) | 03 42 00 04 x y
  if (spki.length !== 91 || spki.subarray(4, 13).toString('hex') !== EC_PUBLIC_KEY) return undefined;
  const oid = spki.subarray(13, 23).toString('hex');
  return (Object.keys(CURVE_OID) as Curve[]).find((c) => CURVE_OID[c] === oid);
}

/** A private key from PEM text or DER (PKCS#8 or SEC1) bytes, with the curve it is on. */
export function readPrivateKey(pemOrDer: string | Uint8Array): { key: KeyObject; curve: Curve } {
  let key: KeyObject;
  try {
    const text = typeof pemOrDer === 'string' ? pemOrDer : Buffer.from(pemOrDer).toString('latin1');
    if (text.includes('-----BEGIN')) key = createPrivateKey({ key: text, format: 'pem' });
    else {
      const der = Buffer.from(typeof pemOrDer === 'string' ? Buffer.from(pemOrDer, 'latin1') : pemOrDer);
      try {
        key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } catch {
        key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
      }
    }
  } catch (e) {
    throw new SecurityError('bad-pem', `not a private key in PEM or DER: ${(e as Error).message}`, { cause: e });
  }
  const curve = curveOf(key);
  if (curve === undefined) {
    const d = key.asymmetricKeyDetails?.namedCurve;
    throw new SecurityError('wrong-curve', `private key is ${key.asymmetricKeyType ?? 'of an unknown type'}${d ? ` on ${d}` : ''}: expected ECDSA P-256 or SM2`);
  }
  return { key, curve };
}
