// The demo's THROWAWAY certificates (`npm start`): a test root and an RSU certificate under it, made at the first
// start and kept (so receivers can be pointed at the same anchor across runs), made again when they no longer
// fit (expiring within 31 days, other PSIDs, unreadable). ECDSA P-256 for the J2735 sets, SM2 for the CSAE ones.
// Never for production: a deployment's certificates come from an SCMS or a China V2X CA.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createCryptoBackend } from './composite.js';
import { FileCertificateStore } from './cert-store.js';
import { securityCodec } from './rsu-security.js';
import { issueTestCertificate } from './test-ca.js';
import type { Curve } from './types.js';

/** Where the demo keeps them: $RSU_DEMO_CERT_DIR, else ~/.cache/rsu/demo-certs; one subdirectory per curve. */
export function demoCertDir(curve: Curve): string {
  return join(process.env.RSU_DEMO_CERT_DIR ?? join(homedir(), '.cache', 'rsu', 'demo-certs'), curve);
}

/**
 * A security directory (rsu.cert, rsu.key.pem, anchors/demo-root.cert) for the demo, made when missing or unfit.
 * Returns the directory and whether it was made now.
 */
export async function ensureDemoCertificates(curve: Curve, psids: readonly number[], dir = demoCertDir(curve)): Promise<{ dir: string; made: boolean; anchor: string }> {
  const codec = await securityCodec();
  const backend = createCryptoBackend();
  const anchor = join(dir, 'anchors', 'demo-root.cert');
  const files = { certificate: join(dir, 'rsu.cert'), key: join(dir, 'rsu.key.pem'), anchors: [anchor] };
  if (existsSync(files.certificate)) {
    const st = new FileCertificateStore(codec, backend, files, { psids, warnDays: 31 }).load();
    if (st.usable && st.problems.length === 0) return { dir, made: false, anchor };
  }
  const root = issueTestCertificate(codec, backend, { curve, name: 'rsu-demo-root.invalid', validHours: 24 * 730 });
  const rsu = issueTestCertificate(codec, backend, { curve, name: 'rsu-demo.invalid', validHours: 24 * 365, psids }, root);
  mkdirSync(join(dir, 'anchors'), { recursive: true, mode: 0o700 });
  writeFileSync(anchor, root.certificate.encoded);
  writeFileSync(files.certificate, rsu.certificate.encoded);
  writeFileSync(files.key, rsu.keyPem, { mode: 0o600 });
  return { dir, made: true, anchor };
}
