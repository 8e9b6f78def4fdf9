// One CryptoBackend over several: each curve goes to the backend that has it. The default is Node's crypto for
// P-256 and the OpenSSL addon for SM2; a curve with no backend answers backend-unavailable with the reason.

import type { CryptoBackend } from './backend.js';
import { SecurityError } from './errors.js';
import { readPrivateKey } from './keys.js';
import { NodeCryptoBackend, hash } from './node-backend.js';
import { OpenSslSm2Backend } from './openssl-sm2.js';
import { CURVES, type Curve, type HashAlgorithm, type PrivateKey, type PublicKey, type RawSignature } from './types.js';

export class CompositeBackend implements CryptoBackend {
  readonly name: string;
  readonly curves: readonly Curve[];
  private readonly byCurve = new Map<Curve, CryptoBackend>();

  /** @param unavailable why each missing curve is missing (reported on use). */
  constructor(
    backends: readonly CryptoBackend[],
    private readonly unavailable: ReadonlyMap<Curve, string> = new Map(),
  ) {
    for (const b of backends) for (const c of b.curves) if (!this.byCurve.has(c)) this.byCurve.set(c, b);
    this.curves = [...this.byCurve.keys()];
    this.name = backends.map((b) => b.name).join('+');
  }

  /** The backend of `curve`; backend-unavailable when there is none. */
  backendFor(curve: Curve): CryptoBackend {
    const b = this.byCurve.get(curve);
    if (b === undefined) throw new SecurityError('backend-unavailable', `no backend for ${curve}${this.unavailable.has(curve) ? `: ${this.unavailable.get(curve)}` : ''}`);
    return b;
  }

  publicKey(curve: Curve, point: Uint8Array): PublicKey {
    return this.backendFor(curve).publicKey(curve, point);
  }

  privateKey(pemOrDer: string | Uint8Array): PrivateKey {
    return this.backendFor(readPrivateKey(pemOrDer).curve).privateKey(pemOrDer);
  }

  sign(key: PrivateKey, data: Uint8Array): RawSignature {
    return this.backendFor(key.curve).sign(key, data);
  }

  verify(key: PublicKey, data: Uint8Array, sig: RawSignature): boolean {
    return this.backendFor(key.curve).verify(key, data, sig);
  }

  hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
    return hash(alg, data);
  }
}

/** Node's crypto for P-256 and, when its addon is built, OpenSSL for SM2. */
export function createCryptoBackend(): CompositeBackend {
  const backends: CryptoBackend[] = [new NodeCryptoBackend()];
  const unavailable = new Map<Curve, string>();
  try {
    backends.push(new OpenSslSm2Backend());
  } catch (e) {
    unavailable.set('sm2', (e as Error).message.replace(/^backend-unavailable: (SM2: )?/, ''));
  }
  for (const c of CURVES) if (!backends.some((b) => b.curves.includes(c)) && !unavailable.has(c)) unavailable.set(c, 'not implemented');
  return new CompositeBackend(backends, unavailable);
}
