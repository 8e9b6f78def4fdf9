// Certificate requests (IEEE 1609.2 8.4, inline P2PCD; issue 15: the signer is the full certificate "whenever a
// receiver's request asks for it"), end to end through the daemon's radio receive path: a vehicle's signed BSM
// whose HeaderInfo.inlineP2pcdRequest names the HashedId3 of the RSU's certificate makes the next message of
// every type carry the certificate whole (the policy here would otherwise send digests for a minute); one naming
// the RSU's intermediate CA makes the next signed message carry it as HeaderInfo.requestedCertificate, once. An
// unverifiable SPDU's request counts too. tshark (independent) reads the request and the response from a pcap.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { encodeWsmp, unwrap } from '../hw/radio/netlayer.js';
import { typeOfFrame } from '../runtime/apps/messages.js';
import { startDemo } from '../runtime/cli/demo.js';
import { SIGNED_MESSAGE_TYPES } from '../runtime/config/types.js';
import { assembleSignedData, certificateInfo, createCryptoBackend, sign1609, time64FromUnixMs, type Oer1609Codec } from '../runtime/security/index.js';
import { signatureValue } from '../runtime/security/certificates.js';
import { securityCodec } from '../runtime/security/rsu-security.js';
import { issueTestCertificate, type TestIdentity } from '../runtime/security/test-ca.js';
import { pcapOf } from './support/pcap.js';
import { tmpDir, until } from './support/wait.js';

const backend = createCryptoBackend();
const CSAE_AIDS = [3618, 3619, 3620, 3623];

/** A vehicle's signed BSM (certificate signer) whose HeaderInfo asks for `ids` (a header SpduSigner does not write). */
function signedRequest(codec: Oer1609Codec, who: TestIdentity, bsm: Uint8Array, ids: string[]): Buffer {
  const tbs = codec.encode('ToBeSignedData', { payload: { data: { protocolVersion: 3, content: { unsecuredData: Buffer.from(bsm).toString('hex') } } }, headerInfo: { psid: 32, generationTime: time64FromUnixMs(Date.now()), inlineP2pcdRequest: ids } });
  const sig = sign1609(backend, who.key, tbs, { certificate: who.certificate.encoded });
  return Buffer.from(assembleSignedData(codec, { hashId: 'sha256', tbsData: tbs, signer: { certificate: who.certificate.encoded }, signature: signatureValue(sig) }));
}

t.test('inlineP2pcdRequest heard on the radio: the certificate, or its issuer as requestedCertificate, in the next messages', async (t) => {
  const codec = await securityCodec();
  const dir = tmpDir(t, 'rsu-p2pcd-');
  // root -> intermediate CA -> RSU; the vehicle under the root.
  const root = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'test-root.invalid', validHours: 24 * 400 });
  const ica = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'test-ica.invalid', validHours: 24 * 300 }, root);
  const rsu = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'test-rsu.invalid', validHours: 24 * 200, psids: CSAE_AIDS }, ica);
  const vehicle = issueTestCertificate(codec, backend, { curve: 'nistp256', name: 'test-obu.invalid', validHours: 24, psids: [32, 111] }, root);
  for (const d of ['anchors', 'chain']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(dir, 'anchors', 'root.cert'), root.certificate.encoded);
  writeFileSync(path.join(dir, 'chain', 'ica.cert'), ica.certificate.encoded);
  writeFileSync(path.join(dir, 'rsu.cert'), rsu.certificate.encoded);
  writeFileSync(path.join(dir, 'rsu.key.pem'), rsu.keyPem);

  process.env.RSU_DEMO_CERT_DIR = tmpDir(t, 'rsu-democert-');
  const datagrams: Buffer[] = [];
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => sink.close(() => r())));
  sink.on('message', (b) => datagrams.length < 20_000 && datagrams.push(b));
  const demo = await startDemo({
    std: 'csae2020',
    socketPath: false,
    configure: (cfg) => {
      cfg.radio.udpRaw.target = `127.0.0.1:${sink.address().port}`;
      cfg.radio.udpRaw.header = 'wsmp';
      // The certificate once a minute: without a request, every message after the first is signed with the digest.
      const messages = Object.fromEntries(SIGNED_MESSAGE_TYPES.map((m) => [m, { ...cfg.security.messages[m], certificateEveryMs: 60_000 }])) as typeof cfg.security.messages;
      cfg.security = { ...cfg.security, dir, messages };
    },
  });
  t.teardown(() => demo.stop());
  t.equal(demo.daemon.status().security.signing, 'signed', `signing with the RSU certificate (${demo.daemon.status().security.certificate?.hashedId8})`);

  const ms = (await loadMessageSet('csae2020')) as MessageSet;
  type Sd = { tbsData: { headerInfo: { requestedCertificate?: unknown } }; signer: Record<string, unknown> };
  const read = (d: Buffer) => {
    const spdu = unwrap(new Uint8Array(d), 'wsmp').payload;
    const sd = (codec.decode('Ieee1609Dot2Data', spdu) as { content: { signedData: Sd } }).content.signedData;
    const payload = Buffer.from((codec.decode('Ieee1609Dot2Data', spdu) as { content: { signedData: { tbsData: { payload: { data: { content: { unsecuredData: string } } } } } } }).content.signedData.tbsData.payload.data.content.unsecuredData, 'hex');
    return { sd, type: typeOfFrame('csae2020', ms.decode('MessageFrame', payload)) ?? 'other', full: 'certificate' in sd.signer };
  };
  const fullByType = (from: number) => {
    const out: Record<string, number> = {};
    for (const d of datagrams.slice(from)) {
      const r = read(d);
      if (r.full) out[r.type] = (out[r.type] ?? 0) + 1;
    }
    return out;
  };
  await until('SPAT, MAP, RSM and RSI signed', () => new Set(datagrams.slice(0, 400).map((d) => read(d).type)).size >= 4 && datagrams.length > 60, 20_000, 50);
  t.same(fullByType(0), { spat: 1, map: 1, rsm: 1, rsi: 1 }, 'without a request: the certificate once per type, digests after it');

  const bsm = ms.encode('MessageFrame', { bsmFrame: { msgCnt: 1, id: 'CA7CA7CA7CA7CA7C', secMark: 0, pos: { lat: 482495000, long: 116389000 }, transmission: 'forwardGears', speed: 500, heading: 7200, accelSet: { long: 0, lat: 0, vert: 0, yaw: 0 }, brakes: {}, size: { width: 180, length: 450 }, vehicleClass: { classification: 10 } } } as never);
  const tx = createSocket('udp4');
  t.teardown(() => tx.close());
  const port = demo.daemon.radioRxPort!;
  const sec = () => demo.daemon.status().security;
  const rsuId3 = rsu.certificate.hashedId8.slice(-6);
  const icaId3 = ica.certificate.hashedId8.slice(-6);

  // 1. The RSU's own certificate requested (by an SPDU whose signature no longer covers the request: still heard).
  let from = datagrams.length;
  const bad = signedRequest(codec, vehicle, bsm, ['abcdef', rsuId3]);
  bad[bad.length - 3]! ^= 0x01; // inside the signature's s
  tx.send(bad, port, '127.0.0.1');
  await until('request heard', () => sec().certificateRequests.own === 1, 5000, 20);
  await until('a message of every type after it', () => new Set(datagrams.slice(from).map((d) => read(d).type)).size >= 4, 10_000, 50);
  t.same(fullByType(from), { spat: 1, map: 1, rsm: 1, rsi: 1 }, 'after the request: the next message of every type carried the certificate whole, once');
  t.equal(sec().receive.unverified['bad-signature'], 1, 'the request came in an SPDU that did not verify (counted by reason), and was heard all the same');

  // 2. The intermediate CA requested (in a verified SPDU): the next signed message carries it as requestedCertificate.
  from = datagrams.length;
  const req = signedRequest(codec, vehicle, bsm, [icaId3]);
  tx.send(req, port, '127.0.0.1');
  await until('issuer request answered', () => sec().certificateRequests.sent === 1, 5000, 20);
  await until('a few more messages', () => datagrams.length > from + 20, 10_000, 50);
  const answers = datagrams.slice(from).map((d, i) => ({ i: from + i, ...read(d) })).filter((r) => r.sd.tbsData.headerInfo.requestedCertificate !== undefined);
  t.equal(answers.length, 1, 'exactly one message carries requestedCertificate');
  const sent = answers[0] && certificateInfo(codec, backend, answers[0].sd.tbsData.headerInfo.requestedCertificate);
  t.equal(sent?.hashedId8, ica.certificate.hashedId8, 'it is the intermediate CA certificate asked for');
  t.same(fullByType(from), {}, 'and the signer stays a digest (the issuer, not the RSU certificate, was asked for)');
  t.same(sec().certificateRequests, { heard: 2, own: 1, issuer: 1, sent: 1 }, 'status: requests heard, for the RSU certificate and for an issuer, answers sent');
  t.equal(sec().receive.verified, 1, 'the second request verified');

  if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status !== 0) return t.skip('tshark is not installed: no independent decoding of the pcap');
  const file = path.join(tmpDir(t, 'rsu-p2pcd-pcap-'), 'p2pcd.pcap');
  // The answer's SPDU octets as sent, in a WSMP frame under PSID 0x20, where Wireshark dissects 1609.2.
  const answer = unwrap(new Uint8Array(datagrams[answers[0]!.i]!), 'wsmp').payload;
  writeFileSync(file, pcapOf([encodeWsmp({ psid: 32 }, req), encodeWsmp({ psid: 32 }, answer)]));
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f', '-e', 'ieee1609dot2.psid', '-e', 'ieee1609dot2.HashedId3', '-e', 'ieee1609dot2.requestedCertificate_element', '-e', 'ieee1609dot2.name'], { encoding: 'utf8' });
  const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('|'));
  t.equal(rows.length, 2, `tshark read both frames${rows.length === 2 ? '' : ` (${r.stderr.trim()})`}`);
  t.equal(rows[0]![0], '32', 'tshark: the request is a 1609.2 SPDU with psid 32');
  t.equal(rows[0]![1]?.replace(/:/g, ''), icaId3, `tshark: its inlineP2pcdRequest is the intermediate's HashedId3 (${rows[0]![1]})`);
  t.ok(CSAE_AIDS.includes(Number(rows[1]![0])), `tshark: the answer is an RSU message under its AID (${rows[1]![0]})`);
  t.ok((rows[1]![2] ?? '').length > 0, 'tshark: it carries requestedCertificate');
  const names = spawnSync('tshark', ['-r', file, '-Y', 'frame.number == 2', '-T', 'fields', '-e', 'ieee1609dot2.name'], { encoding: 'utf8' }).stdout.trim().split(',');
  t.ok(names.includes('test-ica.invalid'), `tshark: the certificate in it is named test-ica.invalid (names in the frame: ${names.join(', ')})`);
});
