// The N-API addon in native/sm2 (OpenSSL through the node binary's own symbols): SM2 with an ID (sm2.c) and the
// pre-computed signing pool for both curves (presign.c). Loaded once, from the package root (source or dist/).

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What native/sm2 exports. Key and pool handles are opaque externals owning OpenSSL objects. */
export interface NativeAddon {
  publicKey(spkiDer: Uint8Array): unknown;
  privateKey(pkcs8Der: Uint8Array): unknown;
  sign(key: unknown, msg: Uint8Array, id: Uint8Array): Buffer;
  verify(key: unknown, msg: Uint8Array, rs: Uint8Array, id: Uint8Array): boolean;
  presignPool(curve: 'P-256' | 'SM2', pkcs8Der: Uint8Array, id: Uint8Array, capacity: number): unknown;
  presignSign(pool: unknown, msg: Uint8Array): Buffer | null;
  presignAvailable(pool: unknown): number;
  presignClose(pool: unknown): void;
}

const ADDON = 'native/sm2/build/Release/rsu_sm2.node';

function load(): NativeAddon | Error {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '../..', ADDON), join(here, '../../..', ADDON)];
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) return new Error(`${ADDON} is not built (run \`npm run build:native\`; it needs g++ and make)`);
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    return new Error(`${path} does not load in this Node (${(e as Error).message}); rebuild it with \`npm run build:native\``);
  }
}

let addon: NativeAddon | Error | undefined;

/** The addon, or the reason it cannot be loaded. */
export function nativeAddon(): NativeAddon | Error {
  return (addon ??= load());
}
