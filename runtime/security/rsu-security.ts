// The daemon's security: the config's `security` section made into SN-SIGN for every outgoing SPAT, MAP, RSM and
// RSI (signer policy per type: the full certificate at least every certificateEveryMs, the digest in between),
// SN-VERIFY for what the radio hears (drop or mark unverified), the certificate store checked hourly and reloaded
// when its files change, and the counts, alarms and certificate health that status, metrics and the view show.
// The scheduler and the radio see only `sign(type, payload)` and an SPDU handler: no curve, no certificate.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultIeee1609Dot2Edition, loadIeee1609Dot2 } from '../../codecs/index.js';
import { Latencies } from '../latencies.js';
import { SIGNED_MESSAGE_TYPES, type SecuritySection, type SignedMessageType } from '../config/types.js';
import { createCryptoBackend } from './composite.js';
import type { CryptoBackend } from './backend.js';
import type { CertificateInfo, Oer1609Codec } from './certificates.js';
import { FileCertificateStore, type CertStoreFiles, type CertStoreStatus } from './cert-store.js';
import type { PrivateKey, SigningStats } from './types.js';
import { isX509SignerError, SpduSigner, SpduVerifier, VERIFY_FAILURES, type VerifyResult } from './spdu.js';
import { TlsCertificateMonitor, type TlsCertificateHealth, type TlsCertificateSource } from './tls-certs.js';

/**
 * The one place the daemon chooses its 1609.2 codec: the deployer's 2022 modules when RSU_IEEE1609DOT2_ASN1_DIR
 * names them, else the built-in set. Both message families use the 2022 structures (they carry SM2 and SM3).
 */
export function securityCodec(): Promise<Oer1609Codec & { name: string }> {
  return loadIeee1609Dot2(defaultIeee1609Dot2Edition('ieee'));
}

/**
 * The files of a `security` section: explicit files, else the directory's rsu.cert, rsu.key.pem, chain/*.cert,
 * anchors/*.cert (C-OER) and anchors/*.pem|crt|der (X.509 anchors for X.509 signers, China profile).
 */
export function certStoreFiles(s: SecuritySection): CertStoreFiles | undefined {
  const inDir = (sub: string, ext: RegExp): string[] => {
    if (s.dir === undefined || !existsSync(join(s.dir, sub))) return [];
    return readdirSync(join(s.dir, sub)).filter((f) => ext.test(f)).sort().map((f) => join(s.dir!, sub, f));
  };
  const certificate = s.certificate ?? (s.dir !== undefined ? join(s.dir, 'rsu.cert') : undefined);
  const key = s.key ?? (s.dir !== undefined ? join(s.dir, 'rsu.key.pem') : undefined);
  if (certificate === undefined || key === undefined) return undefined;
  return { certificate, key, chain: s.chain ?? inDir('chain', /\.cert$/), anchors: s.anchors ?? inDir('anchors', /\.(cert|pem|crt|der)$/) };
}

export type SignOutcome = { bytes: Uint8Array; signed: boolean } | { withheld: string };

export interface CertificateHealth {
  hashedId8?: string;
  validUntil?: string;
  daysToExpiry?: number;
  usable: boolean;
  problems: Array<{ code: string; message: string }>;
}

/** What `rsu status` shows under `security` (and the view as certificate health). */
export interface SecurityStatus {
  /** signed: every message signed; unsigned: sent without signature (off, or no certificate); withheld: not sent. */
  signing: 'signed' | 'unsigned' | 'withheld';
  enabled: boolean;
  codec: string;
  certificate?: CertificateHealth;
  signed: Record<string, number>;
  signFailures: Record<string, number>;
  receive: { policy: 'drop' | 'mark'; verified: number; unverified: Record<string, number> };
  reloads: number;
  /** SN-SIGN's time per SPDU in the frame path (encode, hash, sign, assemble), µs, over the last 1024 signed. */
  signTimeUs?: { count: number; p50: number; p99: number; max: number };
  /** Signatures from the keys' pre-computed pools vs made directly (pool empty or off), since start; the current key's pool size and entries ready. */
  signPool?: SigningStats;
  /**
   * Receivers' certificate requests (HeaderInfo.inlineP2pcdRequest, 1609.2 8.4): SPDUs heard with one, requests
   * naming this RSU's certificate (answered by the next message of each type carrying it whole) or one of its
   * issuers (answered by HeaderInfo.requestedCertificate), and issuer certificates sent so.
   */
  certificateRequests: { heard: number; own: number; issuer: number; sent: number };
  /** The uplinks' TLS client certificates (uplink.mqtt.tls.cert, uplink.kafka.tls.cert): days to expiry, problems. */
  tls: TlsCertificateHealth[];
}

const HOUR = 3_600_000;

export interface RsuSecurityOptions {
  /** PSID/AID (integer) per message type (hw/radio messagePsids). */
  psids: Partial<Record<string, number>>;
  position?: { lat: number; lon: number };
  now?: () => number;
  /** How often the certificate files are looked at for a change (default 5 s). */
  reloadPollMs?: number;
  onReload?: (status: CertStoreStatus) => void;
  /** False when nothing goes on the air (radio.mode off): being unsigned is then no alarm. Default true. */
  transmits?: boolean;
  /** The uplinks' TLS client certificates, watched for expiry (security.warnDays ahead). */
  tlsCertificates?: readonly TlsCertificateSource[];
}

export class RsuSecurity {
  private readonly signer?: SpduSigner;
  private readonly verifier?: SpduVerifier;
  /** The China profile's SN-VERIFY, for SPDUs whose signer is an X.509 certificate (an alternative 1609.2 lacks). */
  private readonly x509Verifier?: SpduVerifier;
  private readonly lastCertMs = new Map<string, number>();
  private readonly signedCount: Record<string, number> = {};
  private readonly signFailures: Record<string, number> = {};
  private readonly unverified: Record<string, number> = {};
  private verified = 0;
  private reloads = 0;
  private readonly signTimes = new Latencies(1024);
  /** Signatures of keys replaced by a reload (the counts in status and metrics go on across keys). */
  private retiredKeys = { pooled: 0, direct: 0 };
  /** Issuer certificates a receiver asked for, each sent once as requestedCertificate in the next signed message. */
  private readonly requested = new Map<string, CertificateInfo>();
  private readonly requests = { heard: 0, own: 0, issuer: 0, sent: 0 };
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private readonly tls: TlsCertificateMonitor;

  private constructor(
    readonly section: SecuritySection,
    private readonly codecName: string,
    private readonly store: FileCertificateStore | undefined,
    codec: Oer1609Codec | undefined,
    backend: CryptoBackend | undefined,
    private readonly opts: RsuSecurityOptions,
    chinaCodec?: Oer1609Codec,
  ) {
    this.now = opts.now ?? Date.now;
    this.tls = new TlsCertificateMonitor(opts.tlsCertificates ?? [], section.warnDays, this.now);
    const window = { maxAgeMs: section.receive.maxAgeMs, maxFutureMs: section.receive.maxFutureMs };
    if (codec && backend && store) this.signer = new SpduSigner(codec, backend, store, this.now);
    if (codec && backend && store) this.verifier = new SpduVerifier(codec, backend, store.trustStore(), window, this.now);
    if (chinaCodec && backend && store) this.x509Verifier = new SpduVerifier(chinaCodec, backend, store.trustStore(), window, this.now);
  }

  /** Loads the codec and the certificate store (problems go to status, not thrown). */
  static async create(section: SecuritySection, opts: RsuSecurityOptions): Promise<RsuSecurity> {
    const files = section.enabled ? certStoreFiles(section) : undefined;
    if (!files) return new RsuSecurity(section, '', undefined, undefined, undefined, opts);
    const codec = await securityCodec();
    const backend = createCryptoBackend();
    // The certificate must permit what the RSU signs (not the BSM it only hears).
    const psids = [...new Set(SIGNED_MESSAGE_TYPES.map((t) => opts.psids[t]).filter((p): p is number => p !== undefined))];
    const store = new FileCertificateStore(codec, backend, files, { psids, position: opts.position, warnDays: section.warnDays }, opts.now);
    store.load();
    return new RsuSecurity(section, codec.name, store, codec, backend, opts, await loadIeee1609Dot2('builtin-china'));
  }

  /** Hourly checks (validity, chain, expiry) and the file watch for a new certificate. */
  start(): void {
    const tlsHourly = setInterval(() => this.tls.check(), HOUR);
    tlsHourly.unref?.();
    this.timers.push(tlsHourly);
    if (!this.store) return;
    const store = this.store;
    const poll = setInterval(() => {
      const oldKey = this.currentKey();
      if (store.reloadIfChanged()) {
        this.reloads++;
        const old = oldKey !== this.currentKey() ? oldKey?.signingStats?.() : undefined;
        if (old) this.retiredKeys = { pooled: this.retiredKeys.pooled + old.pooled, direct: this.retiredKeys.direct + old.direct };
        this.lastCertMs.clear(); // a new certificate goes out in full first
        this.opts.onReload?.(store.status());
      }
    }, this.opts.reloadPollMs ?? 5000);
    const hourly = setInterval(() => store.check(), HOUR);
    poll.unref?.();
    hourly.unref?.();
    this.timers.push(poll, hourly);
  }

  stop(): void {
    this.timers.forEach(clearInterval);
    this.timers = [];
  }

  /** SN-SIGN for one outgoing message per the type's policy; never throws. */
  sign(type: SignedMessageType, payload: Uint8Array, atMs: number): SignOutcome {
    if (!this.section.enabled || !this.signer) return { bytes: payload, signed: false };
    const fail = (reason: string): SignOutcome => {
      this.signFailures[reason] = (this.signFailures[reason] ?? 0) + 1;
      return this.section.whenUnusable === 'send-unsigned' ? { bytes: payload, signed: false } : { withheld: `unsigned_${reason}` };
    };
    const psid = this.opts.psids[type];
    if (psid === undefined) return fail('no_psid');
    if (!this.store!.status().usable) return fail('certificate_unusable');
    const policy = this.section.messages[type];
    // The cadence is of sending, on a monotonic clock: generation times (atMs) come from sensor frames and may run
    // backwards between frames of different sensors, which must not put the certificate in every message.
    const now = performance.now();
    const last = this.lastCertMs.get(type);
    const full = policy.certificateEveryMs === 0 || last === undefined || now - last >= policy.certificateEveryMs;
    const [requested] = this.requested.values();
    try {
      const t0 = process.hrtime.bigint();
      const bytes = this.signer.sign({
        payload,
        psid,
        signer: full ? 'certificate' : 'digest',
        generationTimeMs: atMs,
        ...(policy.lifetimeMs !== undefined ? { lifetimeMs: policy.lifetimeMs } : {}),
        ...(requested !== undefined ? { requestedCertificate: requested } : {}),
      });
      this.signTimes.add(Number(process.hrtime.bigint() - t0) / 1000);
      if (full) this.lastCertMs.set(type, now);
      if (requested !== undefined) {
        this.requested.delete(requested.hashedId8);
        this.requests.sent++;
      }
      this.signedCount[type] = (this.signedCount[type] ?? 0) + 1;
      return { bytes, signed: true };
    } catch (e) {
      return fail(/PSID/.test((e as Error).message) ? 'psid_not_permitted' : 'sign_error');
    }
  }

  /** A receiver's request for the certificate (P2PCD-style): the next message of every type carries it in full. */
  certificateRequested(): void {
    this.lastCertMs.clear();
  }

  /**
   * HashedId3s a received SPDU asks for (HeaderInfo.inlineP2pcdRequest), verified or not (1609.2 8.4: a receiver
   * missing a certificate asks in its own messages). This RSU's certificate: the next message of every type
   * carries it whole as signer; one of its issuers: the next signed message carries it as requestedCertificate.
   */
  p2pcdRequest(ids: readonly string[]): void {
    this.requests.heard++;
    for (const id of ids) {
      const hit = /^[0-9a-f]{6}$/.test(id) ? this.store?.byHashedId3(id) : undefined;
      if (hit === undefined) continue;
      if (hit.own) {
        this.requests.own++;
        this.certificateRequested();
      } else {
        this.requests.issuer++;
        if (this.requested.size < 8) this.requested.set(hit.certificate.hashedId8, hit.certificate);
      }
    }
  }

  /**
   * The radio receiver's SPDU handler: SN-VERIFY, each failure counted by reason; by policy a failure drops the
   * message ('drop') or passes it on marked unverified ('mark'). Bare (unsigned) frames are the daemon's to judge.
   */
  spduHandler(): ((spdu: Uint8Array) => { ok: true; payload: Uint8Array; psid?: number; signer?: string; unverified?: string } | { ok: false; reason: string; detail: string }) | undefined {
    const verifier = this.verifier;
    if (!verifier) return undefined;
    return (spdu) => {
      let r: VerifyResult = verifier.verify(spdu);
      // SignerIdentifier's fourth alternative: China's x509 (the DER of the signer), unknown to 1609.2's modules.
      if (!r.ok && r.reason === 'malformed' && this.x509Verifier && isX509SignerError(r.detail)) r = this.x509Verifier.verify(spdu);
      if (r.p2pcdRequest !== undefined && r.p2pcdRequest.length > 0) this.p2pcdRequest(r.p2pcdRequest);
      if (r.ok) {
        this.verified++;
        return { ok: true, payload: r.payload, psid: r.psid, signer: r.signer.hashedId8 };
      }
      this.countUnverified(r.reason);
      if (this.section.receive.unverified === 'mark' && r.payload !== undefined) return { ok: true, payload: r.payload, ...(r.psid !== undefined ? { psid: r.psid } : {}), unverified: r.reason };
      return { ok: false, reason: r.reason, detail: r.detail };
    };
  }

  /** A received frame without any SPDU: counted as `unsigned`; whether it goes on (policy 'mark'). */
  acceptUnsigned(): boolean {
    this.countUnverified('unsigned');
    return this.section.receive.unverified === 'mark';
  }

  private countUnverified(reason: string): void {
    const k = (VERIFY_FAILURES as readonly string[]).includes(reason) ? reason : 'other';
    this.unverified[k] = (this.unverified[k] ?? 0) + 1;
  }

  certificate(): CertificateHealth | undefined {
    if (!this.store) return undefined;
    const s = this.store.status();
    return {
      usable: s.usable,
      problems: s.problems.map((p) => ({ code: p.code, message: p.message })),
      ...(s.hashedId8 ? { hashedId8: s.hashedId8 } : {}),
      ...(s.validUntilMs !== undefined ? { validUntil: new Date(s.validUntilMs).toISOString(), daysToExpiry: s.daysToExpiry } : {}),
    };
  }

  /** Seconds until the RSU certificate expires (negative when expired), or undefined without one. */
  expirySeconds(): number | undefined {
    const v = this.store?.status().validUntilMs;
    return v === undefined ? undefined : (v - this.now()) / 1000;
  }

  status(): SecurityStatus {
    const cert = this.certificate();
    const signing = !this.section.enabled || !this.signer ? 'unsigned' : cert?.usable ? 'signed' : this.section.whenUnusable === 'send-unsigned' ? 'unsigned' : 'withheld';
    return {
      signing,
      enabled: this.section.enabled,
      codec: this.codecName,
      ...(cert ? { certificate: cert } : {}),
      signed: { ...this.signedCount },
      signFailures: { ...this.signFailures },
      receive: { policy: this.section.receive.unverified, verified: this.verified, unverified: { ...this.unverified } },
      reloads: this.reloads,
      certificateRequests: { ...this.requests },
      tls: this.tls.status(),
      ...this.signingTimes(),
    };
  }

  private currentKey(): PrivateKey | undefined {
    return this.store?.status().usable ? this.store.current().key : undefined;
  }

  private signingTimes(): Pick<SecurityStatus, 'signTimeUs' | 'signPool'> {
    const q = this.signTimes.quantiles();
    const r = (x: number) => Math.round(x * 10) / 10;
    const cur = this.currentKey()?.signingStats?.();
    const pool = cur && { ...cur, pooled: cur.pooled + this.retiredKeys.pooled, direct: cur.direct + this.retiredKeys.direct };
    return { ...(q.p50 !== null ? { signTimeUs: { count: q.count, p50: r(q.p50), p99: r(q.p99!), max: r(q.max!) } } : {}), ...(pool ? { signPool: pool } : {}) };
  }

  /** Seconds to expiry by certificate: the RSU's (`rsu`) and the uplinks' TLS client certificates (`mqtt-tls`, `kafka-tls`). */
  certificateExpirySeconds(): Record<string, number> {
    const rsu = this.expirySeconds();
    const out: Record<string, number> = rsu === undefined ? {} : { rsu };
    for (const [uplink, sec] of Object.entries(this.tls.expirySeconds())) out[`${uplink}-tls`] = sec;
    return out;
  }

  /** The status alarms: unsigned, withheld, certificate problems (expiry 30 days ahead included), TLS client certificates. */
  alarms(): string[] {
    const out: string[] = this.tls.alarms();
    if (this.opts.transmits === false) return out;
    if (!this.section.enabled) out.push('UNSIGNED: signing is turned off (security.enabled: false): receivers that require 1609.2 signatures drop every message');
    else if (!this.signer) out.push('UNSIGNED: no certificate configured (security.dir or certificate/key/anchors): messages go out unsigned');
    const cert = this.store?.status();
    if (this.section.enabled && cert) {
      for (const p of cert.problems) out.push(`certificate ${p.code}: ${p.message}`);
      if (!cert.usable) out.push(this.section.whenUnusable === 'withhold' ? 'SIGNING STOPPED: no usable certificate: SPAT, MAP, RSM and RSI withheld' : 'UNSIGNED: no usable certificate: messages go out unsigned (security.whenUnusable: send-unsigned)');
    }
    return out;
  }
}
