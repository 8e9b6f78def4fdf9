// A private key whose signatures come from a pool of pre-computed nonce material (native/sm2/presign.c): a thread
// of the addon, at the lowest priority, makes k, kG and the inverses ahead of time; the frame path then does a
// hash and three multiplications modulo n (~3 µs instead of ~25 µs for P-256 and ~250 µs for SM2). Each pool
// entry is used once and zeroed; an empty pool (a burst larger than it, a starved thread) or a missing addon
// answers undefined and the backend signs directly. The pool belongs to this key object: a new key (certificate
// rotation) gets a new pool, and dispose() stops and zeroes the old one. The pool starts at the key's second
// signature, so keys that sign once (a CA issuing a certificate) never start a thread.

import type { KeyObject } from 'node:crypto';
import { HandlePrivateKey, type HandlePublicKey } from './keys.js';
import { nativeAddon, type NativeAddon } from './native.js';
import type { Curve, RawSignature, SigningStats } from './types.js';

/** Entries per key: ~8 s of signing at 100 objects in CSAE mode (~80 SPDUs/s); refilled as they are used. */
export const DEFAULT_PRESIGN_CAPACITY = 64;
let presignCapacity = DEFAULT_PRESIGN_CAPACITY;

/** The pool size of keys made from now on; 0 turns pre-computation off (benches and tests compare both). */
export function setPresignCapacity(entries: number): void {
  if (!Number.isInteger(entries) || entries < 0 || entries > 1024) throw new RangeError(`presign capacity: an integer 0..1024, got ${entries}`);
  presignCapacity = entries;
}

export class PresignedKey<H> extends HandlePrivateKey<H> {
  private pool: { addon: NativeAddon; handle: unknown } | undefined;
  private state: 'idle' | 'running' | 'closed';
  private pooled = 0;
  private direct = 0;
  private readonly capacity = presignCapacity;
  private off: string | undefined = presignCapacity === 0 ? 'pre-computation off' : undefined;

  /** @param key the same key as a Node KeyObject (the pool gets its PKCS#8 once); @param id SM2's distinguishing identifier. */
  constructor(
    curve: Curve,
    handle: H,
    publicKey: HandlePublicKey<H>,
    private readonly key: KeyObject,
    private readonly id: Uint8Array = new Uint8Array(0),
  ) {
    super(curve, handle, publicKey);
    this.state = this.capacity > 0 ? 'idle' : 'closed';
  }

  /**
   * r‖s of `data` from the pool; undefined when it has none ready (the caller signs directly). The second signature
   * starts the pool: a key that signs once (a CA issuing one certificate) never gets a thread.
   */
  signFromPool(data: Uint8Array): RawSignature | undefined {
    if (this.state === 'idle' && this.direct > 0) this.start();
    const rs = this.pool ? this.pool.addon.presignSign(this.pool.handle, data) : null;
    if (rs === null) {
      this.direct++;
      return undefined;
    }
    this.pooled++;
    return { r: new Uint8Array(rs.subarray(0, 32)), s: new Uint8Array(rs.subarray(32)) };
  }

  /** Stops the pool's thread and zeroes its entries; the key still signs, directly. */
  dispose(): void {
    this.pool?.addon.presignClose(this.pool.handle);
    this.state = 'closed';
    this.pool = undefined;
    this.off = 'disposed';
  }

  signingStats(): SigningStats {
    const available = this.pool ? this.pool.addon.presignAvailable(this.pool.handle) : 0;
    return { pooled: this.pooled, direct: this.direct, available, capacity: this.off === undefined ? this.capacity : 0, ...(this.off !== undefined ? { off: this.off } : {}) };
  }

  private start(): void {
    const addon = nativeAddon();
    this.state = 'closed';
    if (addon instanceof Error) {
      this.off = addon.message; // P-256 signs through Node's crypto, as before
      return;
    }
    const der = this.key.export({ format: 'der', type: 'pkcs8' });
    try {
      this.pool = { addon, handle: addon.presignPool(this.curve === 'sm2' ? 'SM2' : 'P-256', der, this.id, this.capacity) };
      this.state = 'running';
    } catch (e) {
      this.off = `the pool could not start: ${(e as Error).message}`; // signing stays direct, counted in direct
    } finally {
      der.fill(0);
    }
  }
}
