// The daemon signs what the radio sends and verifies what it hears (issue 15, runtime/security/rsu-security.ts):
// over loopback, every datagram is a signed SPDU that SN-VERIFY accepts against the trust anchor and whose PSID/AID
// is the message's; tshark reads a sample; an expired certificate stops signing with an alarm (policy: withhold);
// received signed BSMs are verified and a tampered one is counted by reason. Uses the built-in 1609.2 set (or the
// deployer's modules when RSU_IEEE1609DOT2_ASN1_DIR is set); SM2 needs the native addon (npm run build).
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { messagePsids } from '../hw/radio/index.js';
import { pDecodePsid } from '../hw/radio/psid.js';
import { unwrap } from '../hw/radio/netlayer.js';
import { typeOfFrame } from '../runtime/apps/messages.js';
import { startDemo, type Demo } from '../runtime/cli/demo.js';
import type { RsuConfig } from '../runtime/config/index.js';
import { createCryptoBackend, MemoryTrustStore, sm2AddonStatus, type Curve } from '../runtime/security/index.js';
import { securityCodec } from '../runtime/security/rsu-security.js';
import { SpduSigner, SpduVerifier } from '../runtime/security/spdu.js';
import { issueTestCertificate, type TestIdentity } from '../runtime/security/test-ca.js';
import { pcapOf } from './support/pcap.js';
import { tmpDir, until } from './support/wait.js';

const backend = createCryptoBackend();
const sm2Missing = (): string | undefined => {
  const s = sm2AddonStatus();
  return s.ok ? undefined : `the SM2 addon is not built (npm run build): ${s.reason}`;
};

/** A THROWAWAY PKI in `dir` laid out as security.dir wants it: root, RSU certificate, and a vehicle under the root. */
async function pki(dir: string, curve: Curve, rsuPsids: number[], opts: { expired?: boolean; validHours?: number } = {}): Promise<{ root: TestIdentity; vehicle: TestIdentity }> {
  const codec = await securityCodec();
  const root = issueTestCertificate(codec, backend, { curve, name: 'test-root.invalid', validHours: 24 * 400 });
  const rsu = issueTestCertificate(codec, backend, { curve, name: 'test-rsu.invalid', validHours: opts.expired ? 1 : (opts.validHours ?? 24 * 200), psids: rsuPsids, ...(opts.expired ? { validFromMs: Date.now() - 3 * 3_600_000 } : {}) }, root);
  const vehicle = issueTestCertificate(codec, backend, { curve, name: 'test-obu.invalid', validHours: 24, psids: [32, 111] }, root);
  mkdirSync(path.join(dir, 'anchors'), { recursive: true });
  writeFileSync(path.join(dir, 'anchors', 'root.cert'), root.certificate.encoded);
  writeFileSync(path.join(dir, 'rsu.cert'), rsu.certificate.encoded);
  writeFileSync(path.join(dir, 'rsu.key.pem'), rsu.keyPem);
  return { root, vehicle };
}

/** The demo with the radio output to a collector of raw datagrams, and the given security directory. */
async function demoCollecting(t: Test, std: RsuConfig['messageSet'], configure: (cfg: RsuConfig) => void): Promise<{ demo: Demo; datagrams: Buffer[] }> {
  process.env.RSU_DEMO_CERT_DIR = tmpDir(t, 'rsu-democert-');
  const datagrams: Buffer[] = [];
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => sink.close(() => r())));
  sink.on('message', (b) => datagrams.length < 5000 && datagrams.push(b));
  const demo = await startDemo({
    std,
    socketPath: false,
    configure: (cfg) => {
      cfg.radio.udpRaw.target = `127.0.0.1:${sink.address().port}`;
      configure(cfg);
    },
  });
  t.teardown(() => demo.stop());
  return { demo, datagrams };
}

/** The PSIDs/AIDs the demo signs under: J2735 SPAT/MAP 130, TIM 131, the demo's private PSM PSID; the CSAE AIDs. */
const SIGNED = { j2735: [130, 131, pDecodePsid(0xeffffffe)], csae: [3618, 3619, 3620, 3623] };

async function checkAllSigned(t: Test, std: RsuConfig['messageSet'], curve: Curve, header: 'none' | 'wsmp', spatMapPsid?: number): Promise<Buffer[]> {
  const dir = tmpDir(t, 'rsu-sec-');
  await pki(dir, curve, [...(std.startsWith('j2735') ? SIGNED.j2735 : SIGNED.csae), ...(spatMapPsid !== undefined ? [pDecodePsid(spatMapPsid)] : [])]);
  let psids: ReturnType<typeof messagePsids> = {};
  const { demo, datagrams } = await demoCollecting(t, std, (cfg) => {
    cfg.radio.udpRaw.header = header;
    if (spatMapPsid !== undefined) cfg.radio.udpRaw.psids = { ...cfg.radio.udpRaw.psids, SPAT: spatMapPsid, MAP: spatMapPsid };
    psids = messagePsids(cfg.radio, cfg.messageSet);
    cfg.security = { ...cfg.security, dir };
  });
  await until('SPAT, MAP, RSM and RSI on the radio', () => new Set(datagrams.map((d) => d.length)).size > 5 && datagrams.length >= 40, 20_000, 50);
  const codec = await securityCodec();
  const { readFileSync } = await import('node:fs');
  const anchorBytes = readFileSync(path.join(dir, 'anchors', 'root.cert'));
  const { certificateInfo } = await import('../runtime/security/index.js');
  const verifier = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, [certificateInfo(codec, backend, codec.decode('Certificate', anchorBytes), anchorBytes)]));
  const ms = (await loadMessageSet(std)) as MessageSet;
  const seen = new Map<string, { n: number; certificate: number; digest: number }>();
  const failures: string[] = [];
  const sample = datagrams.slice(0, 400);
  for (const d of sample) {
    const spdu = header === 'wsmp' ? unwrap(new Uint8Array(d), 'wsmp').payload : new Uint8Array(d);
    const r = verifier.verify(spdu);
    if (!r.ok) {
      failures.push(`${r.reason}: ${r.detail}`);
      continue;
    }
    const type = typeOfFrame(std, ms.decode('MessageFrame', r.payload)) ?? 'other';
    if (r.psid !== psids[type as 'spat']) failures.push(`${type} signed under PSID ${r.psid}, expected ${psids[type as 'spat']}`);
    const kind = (codec.decode('Ieee1609Dot2Data', spdu) as { content: { signedData: { signer: Record<string, unknown> } } }).content.signedData.signer;
    const s = seen.get(type) ?? { n: 0, certificate: 0, digest: 0 };
    s.n++;
    if ('certificate' in kind) s.certificate++;
    else s.digest++;
    seen.set(type, s);
  }
  t.same(failures.slice(0, 5), [], `every one of ${sample.length} datagrams is a signed SPDU that SN-VERIFY accepts under the message's PSID/AID`);
  t.ok(['spat', 'map', 'rsm', 'rsi'].every((x) => (seen.get(x)?.n ?? 0) > 0), `SPAT, MAP, RSM/PSM and RSI/TIM all signed: ${JSON.stringify(Object.fromEntries(seen))}`);
  const spat = seen.get('spat')!;
  t.ok(spat.certificate >= 1 && spat.digest > spat.certificate, `SPAT (10 Hz): the certificate once a second, the digest otherwise (${spat.certificate}/${spat.digest})`);
  t.equal(seen.get('map')!.digest, 0, 'MAP (1 Hz): the certificate every time');
  const st = demo.daemon.status();
  t.equal(st.security.signing, 'signed', 'status: signing');
  t.notOk(st.alarms.some((a) => /UNSIGNED|certificate/.test(a)), 'no security alarm');
  t.ok((st.security.certificate?.daysToExpiry ?? 0) >= 199, `status: days to expiry (${st.security.certificate?.daysToExpiry})`);
  checkSignatureSources(t, st.security);
  return sample;
}

const J2735_MISSING = process.env.RSU_J2735_ASN1_DIR ? undefined : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project';

t.test('J2735 (ECDSA P-256): every datagram signed and verified', { skip: J2735_MISSING }, async (t) => {
  await checkAllSigned(t, 'j2735-2020', 'nistp256', 'none');
});

t.test('CSAE messages with P-256 in WSMP (SPAT/MAP under PSID 130): every datagram signed and verified; tshark reads them', async (t) => {
  const sample = await checkAllSigned(t, 'csae2020', 'nistp256', 'wsmp', 0x8002);
  if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status !== 0) return t.skip('tshark is not installed');
  // Wireshark dissects 1609.2 under PSID 0x20 and 130 (SPAT and MAP here).
  const dir = tmpDir(t, 'rsu-sec-pcap-');
  const file = path.join(dir, 'radio.pcap');
  writeFileSync(file, pcapOf(sample.slice(0, 60)));
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f', '-e', 'wsmp.psid', '-e', 'ieee1609dot2.psid', '-e', 'ieee1609dot2.hashId', '-e', 'ieee1609dot2.sSig'], { encoding: 'utf8' });
  const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('|')).filter((x) => x[0] === '130' || x[0] === '0x82' || x[1] === '130');
  t.ok(rows.length >= 5, `tshark found ${rows.length} SPAT/MAP frames (PSID 130)`);
  t.ok(rows.every((x) => x[1] === '130' && x[2] === '0' && (x[3] ?? '').length > 0), `tshark: each is a signedData with psid 130, sha256 and a signature (${JSON.stringify(rows.slice(0, 2))})`);
});

t.test('CSAE (SM2/SM3): every datagram signed and verified, and the demo receiver counts them verified', { skip: sm2Missing() }, async (t) => {
  await checkAllSigned(t, 'csae2020', 'sm2', 'none');
});

t.test("the demo's own certificate and receiver: all verified", { skip: sm2Missing() }, async (t) => {
  process.env.RSU_DEMO_CERT_DIR = tmpDir(t, 'rsu-democert-');
  const demo = await startDemo({ socketPath: false });
  t.teardown(() => demo.stop());
  t.ok(demo.certificates.made, 'a THROWAWAY demo certificate made at first start');
  await until('verified datagrams', () => demo.verified() >= 30, 20_000, 50);
  const heard = Object.values(demo.heard).reduce((a, b) => a + b, 0);
  t.ok(demo.verified() >= heard - 2 && Object.keys(demo.unverified).length === 0, `verified ${demo.verified()} of ${heard}, none failed (${JSON.stringify(demo.unverified)})`);
});

t.test('an expired certificate: alarm, messages withheld (security.whenUnusable: withhold)', async (t) => {
  const dir = tmpDir(t, 'rsu-sec-exp-');
  await pki(dir, 'nistp256', SIGNED.csae, { expired: true });
  const { demo, datagrams } = await demoCollecting(t, 'csae2020', (cfg) => {
    cfg.security = { ...cfg.security, dir };
  });
  await until('SPAT withheld', () => Object.keys((demo.daemon.status().scheduler as { withheld: Record<string, number> }).withheld).some((k) => k.startsWith('spat:unsigned_')), 10_000, 50);
  const st = demo.daemon.status();
  t.equal(st.security.signing, 'withheld');
  t.ok(st.alarms.some((a) => /certificate expired/.test(a)), `alarm: ${st.alarms.find((a) => /expired/.test(a))}`);
  t.ok(st.alarms.some((a) => /SIGNING STOPPED/.test(a)), 'alarm: signing stopped');
  t.equal(datagrams.length, 0, 'nothing unsigned on the air');
  t.ok((st.security.signFailures.certificate_unusable ?? 0) > 0, 'counted by reason');
});

t.test('received signed BSMs verified; a tampered one and an unsigned one counted by reason', async (t) => {
  const dir = tmpDir(t, 'rsu-sec-rx-');
  // CSAE messages signed with P-256: the RSU's curve is the certificate's, not the message set's.
  const { vehicle } = await pki(dir, 'nistp256', SIGNED.csae);
  const { demo } = await demoCollecting(t, 'csae2020', (cfg) => {
    cfg.security = { ...cfg.security, dir, receive: { ...cfg.security.receive, unverified: 'drop' } };
  });
  const codec = await securityCodec();
  const ms = (await loadMessageSet('csae2020')) as MessageSet;
  const bsm = ms.encode('MessageFrame', { bsmFrame: { msgCnt: 1, id: 'CA7CA7CA7CA7CA7C', secMark: 0, pos: { lat: 482495000, long: 116389000 }, transmission: 'forwardGears', speed: 500, heading: 7200, accelSet: { long: 0, lat: 0, vert: 0, yaw: 0 }, brakes: {}, size: { width: 180, length: 450 }, vehicleClass: { classification: 10 } } } as never);
  const signer = new SpduSigner(codec, backend, { current: () => ({ certificate: vehicle.certificate, key: vehicle.key }) });
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  const port = demo.daemon.radioRxPort!;
  const good = [signer.sign({ payload: bsm, psid: 111, signer: 'certificate' }), signer.sign({ payload: bsm, psid: 111, signer: 'digest' })];
  const tampered = Buffer.from(signer.sign({ payload: bsm, psid: 111, signer: 'digest' }));
  tampered[tampered.length - 40]! ^= 0x01; // inside the signature's s
  for (const b of [...good, tampered, bsm]) tx.send(b, port, '127.0.0.1');
  await until('four received', () => {
    const s = demo.daemon.status().security.receive;
    return s.verified + Object.values(s.unverified).reduce((a, b) => a + b, 0) >= 4;
  }, 5000, 20);
  const s = demo.daemon.status().security.receive;
  t.equal(s.verified, 2, 'the two signed BSMs (certificate, then digest) verified');
  t.same(s.unverified, { 'bad-signature': 1, unsigned: 1 }, 'the tampered one: bad-signature; the bare frame: unsigned');
  const rx = demo.daemon.status().radio.rx as { spduRejected: Record<string, number> };
  t.same(rx.spduRejected, { 'bad-signature': 1 }, 'policy drop: the radio receiver dropped the tampered one');
});

t.test('30 days before expiry: an alarm while signing goes on; a new certificate dropped in is taken up', async (t) => {
  const dir = tmpDir(t, 'rsu-sec-soon-');
  await pki(dir, 'nistp256', SIGNED.csae, { validHours: 24 * 10 });
  const { demo, datagrams } = await demoCollecting(t, 'csae2020', (cfg) => {
    cfg.security = { ...cfg.security, dir };
  });
  await until('signed datagrams', () => datagrams.length > 5, 10_000, 50);
  let st = demo.daemon.status();
  t.equal(st.security.signing, 'signed', 'still signing');
  t.equal(st.security.certificate?.daysToExpiry, 9, 'days to expiry');
  t.ok(st.alarms.some((a) => /certificate expiring-soon/.test(a)), `alarm: ${st.alarms.find((a) => /expiring/.test(a))}`);
  const before = st.security.certificate?.hashedId8;
  // A renewed certificate (new root too) dropped into the directory: taken up without a restart.
  await new Promise((r) => setTimeout(r, 20)); // a different mtime
  await pki(dir, 'nistp256', SIGNED.csae);
  await until('the new certificate taken up', () => demo.daemon.status().security.certificate?.hashedId8 !== before, 12_000, 100);
  st = demo.daemon.status();
  t.equal(st.security.reloads, 1, 'reloaded once');
  t.ok((st.security.certificate?.daysToExpiry ?? 0) >= 199, 'the new validity');
  t.notOk(st.alarms.some((a) => /certificate/.test(a)), 'the alarm cleared');
  await until('the new key signs from its pool', () => (demo.daemon.status().security.signPool?.available ?? 0) > 0, 10_000, 50);
  checkSignatureSources(t, demo.daemon.status().security);
});

/** Every SPDU the daemon signed is counted as pre-computed or direct (across key rotations), most from the pool. */
function checkSignatureSources(t: Tap.Test, sec: ReturnType<Awaited<ReturnType<typeof demoCollecting>>['demo']['daemon']['status']>['security']): void {
  const signed = Object.values(sec.signed).reduce((a, b) => a + b, 0);
  const pool = sec.signPool;
  t.ok(pool, 'status: signPool');
  t.equal((pool?.pooled ?? 0) + (pool?.direct ?? 0), signed, `every signature counted: ${pool?.pooled} pre-computed + ${pool?.direct} direct = ${signed} signed`);
  t.ok((pool?.pooled ?? 0) > (pool?.direct ?? 0), 'most from the pre-computed pool');
  t.ok((sec.signTimeUs?.p50 ?? 0) > 0, `status: SN-SIGN ${sec.signTimeUs?.p50} µs p50 per SPDU`);
}

t.test('rsu decode unwraps a signed SPDU (in WSMP): PSID, signer, verified against --anchor; tampered: bad-signature', async (t) => {
  const { main } = await import('../runtime/cli/main.js');
  const { Readable } = await import('node:stream');
  const { encodeWsmp } = await import('../hw/radio/netlayer.js');
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };
  const dir = tmpDir(t, 'rsu-sec-decode-');
  const { root } = await pki(dir, 'nistp256', SIGNED.csae);
  const codec = await securityCodec();
  const rsuCert = (await import('node:fs')).readFileSync(path.join(dir, 'rsu.cert'));
  const { certificateInfo } = await import('../runtime/security/index.js');
  const rsu = { certificate: certificateInfo(codec, backend, codec.decode('Certificate', rsuCert), rsuCert), key: backend.privateKey((await import('node:fs')).readFileSync(path.join(dir, 'rsu.key.pem'))) };
  const ms = (await loadMessageSet('csae2020')) as MessageSet;
  const frame = ms.encode('MessageFrame', { bsmFrame: { msgCnt: 1, id: 'CA7CA7CA7CA7CA7C', secMark: 0, pos: { lat: 482495000, long: 116389000 }, transmission: 'forwardGears', speed: 500, heading: 7200, accelSet: { long: 0, lat: 0, vert: 0, yaw: 0 }, brakes: {}, size: { width: 180, length: 450 }, vehicleClass: { classification: 10 } } } as never);
  const spdu = new SpduSigner(codec, backend, { current: () => rsu }).sign({ payload: frame, psid: 3619, signer: 'certificate' });
  const hex = Buffer.from(encodeWsmp({ psid: 3619 }, spdu)).toString('hex');
  const r = await run(['decode', '--std', 'csae2020', '--verify', '--anchor', path.join(dir, 'anchors', 'root.cert'), hex]);
  t.equal(r.code, 0, r.err.join('\n'));
  const o = JSON.parse(r.out[0]!);
  t.match(o, { spdu: { psid: 3619, signer: { certificate: rsu.certificate.hashedId8 }, verified: true }, value: { bsmFrame: { id: 'CA7CA7CA7CA7CA7C' } } }, 'signer, PSID, verified, the frame inside');
  const bad = Buffer.from(spdu);
  bad[bad.length - 3]! ^= 1;
  const rb = await run(['decode', '--std', 'csae2020', '--verify', '--anchor', path.join(dir, 'anchors', 'root.cert'), bad.toString('hex')]);
  t.match(JSON.parse(rb.out[0]!), { spdu: { verified: { ok: false, reason: 'bad-signature' } } }, 'a tampered signature: bad-signature');
  void root;
});
