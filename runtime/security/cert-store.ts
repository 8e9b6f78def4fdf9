// The RSU's certificate store, loaded from files: its certificate (C-OER) and the issuing chain, its private
// key (PEM), and the trust anchors (root and intermediate certificates, C-OER). Checked at load and whenever
// check() runs (the daemon: hourly): validity and days to expiry, the key belongs to the certificate, the chain
// reaches an anchor, the region holds the RSU's position, and every configured PSID is permitted. Problems are
// listed by code, never thrown past load(); a new certificate in place is taken up by reload().

import { readFileSync, statSync } from 'node:fs';
import type { CryptoBackend } from './backend.js';
import { certificateInfo, MemoryTrustStore, type CertificateInfo, type CertificateProvider, type Oer1609Codec, type TrustStore } from './certificates.js';
import { SecurityError } from './errors.js';
import type { PrivateKey } from './types.js';
import { validityAt } from './validity.js';
import { isX509, parseX509, type X509Info } from './x509.js';

export interface CertStoreFiles {
  /** The RSU's certificate, C-OER. */
  certificate: string;
  /** Its issuers up to (not including) an anchor, C-OER, nearest first. */
  chain?: readonly string[];
  /** PEM private key of the certificate. */
  key: string;
  /** Trust anchors, C-OER; X.509 ones (DER or PEM, for the China profile's X.509 signers) are told by their content. */
  anchors: readonly string[];
}

export interface CertStoreExpectations {
  /** PSIDs the RSU will sign (integers). */
  psids: readonly number[];
  /** The RSU's position (degrees), for the region check. */
  position?: { lat: number; lon: number };
  /** Days before expiry at which `expiring-soon` is raised (default 30). */
  warnDays?: number;
}

export const CERT_PROBLEMS = ['unreadable', 'bad-certificate', 'bad-key', 'key-mismatch', 'not-yet-valid', 'expired', 'expiring-soon', 'untrusted', 'psid-not-permitted', 'outside-region'] as const;
export type CertProblemCode = (typeof CERT_PROBLEMS)[number];
export interface CertProblem {
  code: CertProblemCode;
  message: string;
}

export interface CertStoreStatus {
  /** No problem that stops signing (`expiring-soon` alone leaves it usable). */
  usable: boolean;
  problems: CertProblem[];
  hashedId8?: string;
  validUntilMs?: number;
  daysToExpiry?: number;
}


/** A region of a certificate contains (lat, lon)? true/false, or undefined when this RSU cannot tell (identified regions). */
export function regionContains(region: unknown, lat: number, lon: number): boolean | undefined {
  const [kind, v] = Object.entries((region ?? {}) as object)[0] ?? [];
  const deg = (p: { latitude: number; longitude: number }): [number, number] => [p.latitude / 1e7, p.longitude / 1e7];
  if (kind === 'circularRegion') {
    const c = v as { center: { latitude: number; longitude: number }; radius: number };
    const [clat, clon] = deg(c.center);
    const r = 6_371_000;
    const dLat = ((lat - clat) * Math.PI) / 180;
    const dLon = ((lon - clon) * Math.PI) / 180;
    const a = Math.sin(dLat / 2) ** 2 + Math.cos((lat * Math.PI) / 180) * Math.cos((clat * Math.PI) / 180) * Math.sin(dLon / 2) ** 2;
    return 2 * r * Math.asin(Math.sqrt(a)) <= c.radius;
  }
  if (kind === 'rectangularRegion') {
    return (v as Array<{ northWest: { latitude: number; longitude: number }; southEast: { latitude: number; longitude: number } }>).some((rr) => {
      const [n, w] = deg(rr.northWest);
      const [s, e] = deg(rr.southEast);
      return lat <= n && lat >= s && lon >= w && lon <= e;
    });
  }
  if (kind === 'polygonalRegion') {
    const pts = (v as Array<{ latitude: number; longitude: number }>).map(deg);
    let inside = false;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [yi, xi] = pts[i]!;
      const [yj, xj] = pts[j]!;
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  return undefined;
}

export class FileCertificateStore implements CertificateProvider {
  private loaded: { certificate: CertificateInfo; key: PrivateKey; trust: MemoryTrustStore; issuers: CertificateInfo[] } | undefined;
  private mtimes = '';
  private fileProblems: CertProblem[] = [];
  private lastStatus: CertStoreStatus = { usable: false, problems: [{ code: 'unreadable', message: 'not loaded yet' }] };

  constructor(
    private readonly codec: Oer1609Codec,
    private readonly backend: CryptoBackend,
    private readonly files: CertStoreFiles,
    private readonly expect: CertStoreExpectations,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads and checks the files; the previous certificate stays in use when the new files are not usable. */
  load(): CertStoreStatus {
    const problems: CertProblem[] = [];
    const read = (path: string, what: string): Uint8Array | undefined => {
      try {
        return readFileSync(path);
      } catch (e) {
        problems.push({ code: 'unreadable', message: `${what} ${path}: ${(e as Error).message}` });
        return undefined;
      }
    };
    const cert = (path: string, what: string, bytes?: Uint8Array): CertificateInfo | undefined => {
      const b = bytes ?? read(path, what);
      if (b === undefined) return undefined;
      try {
        return certificateInfo(this.codec, this.backend, this.codec.decode('Certificate', b), b);
      } catch (e) {
        problems.push({ code: 'bad-certificate', message: `${what} ${path}: ${(e as Error).message}` });
        return undefined;
      }
    };
    this.mtimes = this.fileStamp();
    const x509Anchors: X509Info[] = [];
    const anchors = this.files.anchors
      .map((p) => {
        const b = read(p, 'trust anchor');
        if (b === undefined) return undefined;
        if (!isX509(b)) return cert(p, 'trust anchor', b);
        try {
          x509Anchors.push(parseX509(b, `X.509 trust anchor ${p}`));
        } catch (e) {
          problems.push({ code: 'bad-certificate', message: (e as Error).message });
        }
        return undefined;
      })
      .filter((c): c is CertificateInfo => c !== undefined);
    const chain = (this.files.chain ?? []).map((p) => cert(p, 'chain certificate')).filter((c): c is CertificateInfo => c !== undefined);
    const own = cert(this.files.certificate, 'certificate');
    const keyBytes = read(this.files.key, 'key');
    let key: PrivateKey | undefined;
    if (keyBytes !== undefined) {
      try {
        key = this.backend.privateKey(keyBytes);
      } catch (e) {
        problems.push({ code: 'bad-key', message: `key ${this.files.key}: ${(e as Error).message}` });
      }
    }
    if (own && key) {
      const a = own.verificationKey.point;
      const b = key.publicKey.point;
      // Compare x and the parity of y: the certificate carries the key compressed.
      const same = own.curve === key.curve && Buffer.from(a.subarray(1, 33)).equals(Buffer.from(b.subarray(1, 33))) && ((a[0] === 4 ? a[64]! : a[0]!) & 1) === ((b[0] === 4 ? b[64]! : b[0]!) & 1);
      if (!same) problems.push({ code: 'key-mismatch', message: `key ${this.files.key} is not the key of certificate ${own.hashedId8}` });
    }
    if (own && key && !problems.some((p) => p.code === 'key-mismatch')) {
      const trust = new MemoryTrustStore(this.backend, anchors, undefined, x509Anchors);
      for (const c of chain) trust.remember(c);
      this.loaded?.key.dispose?.(); // the old key's pre-computed signing pool is zeroed, never used with the new one
      this.loaded = { certificate: own, key, trust, issuers: [...chain, ...anchors] };
      this.fileProblems = problems;
    } else if (this.loaded !== undefined) {
      key?.dispose?.();
      // The files now in place are not usable: keep signing with what was loaded before, and say so.
      this.fileProblems = problems.map((p) => ({ ...p, message: `new files not taken, the previous certificate stays in use: ${p.message}` }));
      return (this.lastStatus = this.evaluate(this.fileProblems, false));
    } else this.fileProblems = problems;
    return (this.lastStatus = this.evaluate(this.fileProblems, true));
  }

  /** Loads again when a file changed since the last load (size or mtime); returns whether it did. */
  reloadIfChanged(): boolean {
    if (this.fileStamp() === this.mtimes) return false;
    this.load();
    return true;
  }

  /** Re-evaluates validity, expiry and the chain at the current time (hourly). */
  check(): CertStoreStatus {
    return (this.lastStatus = this.evaluate(this.fileProblems, !this.fileProblems.some((p) => p.message.startsWith('new files not taken'))));
  }

  status(): CertStoreStatus {
    return this.lastStatus;
  }

  current(): { certificate: CertificateInfo; key: PrivateKey } {
    if (this.loaded === undefined || !this.lastStatus.usable) throw new SecurityError('sign-failed', `no usable certificate: ${this.lastStatus.problems.map((p) => p.message).join('; ')}`);
    return { certificate: this.loaded.certificate, key: this.loaded.key };
  }

  /**
   * The certificate in use and its issuers (chain and anchors) by HashedId3 (hex, the last 3 octets of the
   * HashedId8): what a receiver's inlineP2pcdRequest can ask for (1609.2 8.4).
   */
  byHashedId3(id3: string): { own: boolean; certificate: CertificateInfo } | undefined {
    const l = this.loaded;
    if (l === undefined) return undefined;
    if (l.certificate.hashedId8.endsWith(id3)) return { own: true, certificate: l.certificate };
    const c = l.issuers.find((i) => i.hashedId8.endsWith(id3));
    return c === undefined ? undefined : { own: false, certificate: c };
  }

  /** The anchors and chain of the files in use, followed across reloads (for SN-VERIFY of what the radio hears). */
  trustStore(): TrustStore {
    const cur = () => this.loaded?.trust;
    return {
      byHashedId8: (id) => cur()?.byHashedId8(id),
      remember: (c) => cur()?.remember(c),
      chainProblem: (c, now) => (cur() ? cur()!.chainProblem(c, now) : 'no trust anchors loaded'),
      x509Anchors: () => cur()?.x509Anchors() ?? [],
    };
  }

  private fileStamp(): string {
    return [this.files.certificate, this.files.key, ...(this.files.chain ?? []), ...this.files.anchors]
      .map((p) => {
        try {
          const s = statSync(p);
          return `${p}:${s.size}:${s.mtimeMs}`;
        } catch {
          return `${p}:missing`;
        }
      })
      .join('|');
  }

  /** Status at the current time; `filesBlock`: whether the file problems make the store unusable. */
  private evaluate(fileProblems: CertProblem[], filesBlock: boolean): CertStoreStatus {
    const problems = [...fileProblems];
    const l = this.loaded;
    if (l === undefined) return { usable: false, problems };
    const now = this.now();
    const c = l.certificate;
    const { days, problem } = validityAt(`certificate ${c.hashedId8}`, c, now, this.expect.warnDays ?? 30);
    if (problem) problems.push(problem);
    const chain = l.trust.chainProblem(c, now);
    if (chain !== undefined && !problems.some((p) => p.code === 'expired' || p.code === 'not-yet-valid')) problems.push({ code: 'untrusted', message: chain });
    const missing = this.expect.psids.filter((p) => !c.psids.includes(p));
    if (missing.length) problems.push({ code: 'psid-not-permitted', message: `certificate ${c.hashedId8} does not permit PSID ${missing.join(', ')} (it permits ${c.psids.join(', ') || 'none'})` });
    const region = (c.value as { toBeSigned: { region?: unknown } }).toBeSigned.region;
    const pos = this.expect.position;
    if (region !== undefined && pos !== undefined && regionContains(region, pos.lat, pos.lon) === false) problems.push({ code: 'outside-region', message: `the RSU at ${pos.lat}, ${pos.lon} is outside the region of certificate ${c.hashedId8}` });
    const usable = problems.every((p) => p.code === 'expiring-soon' || (!filesBlock && fileProblems.includes(p)));
    return { usable, problems, hashedId8: c.hashedId8, validUntilMs: c.validUntil, daysToExpiry: Math.floor(days) };
  }
}
