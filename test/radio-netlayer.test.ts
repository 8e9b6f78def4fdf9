// The network layer (hw/radio/netlayer.ts): WSMP v3 frames checked by an independent decoder (tshark's WSMP
// and 1609.2 dissectors, on a pcap written here), DSMP round trips, telling a WSMP-wrapped SPDU from a bare
// SPDU from a bare MessageFrame, hostile bytes (only NetHeaderError comes out), and the wiring: config
// radio.udpRaw.header, UdpRawTx wrapping, RadioRx stripping and handing SPDUs to a verifier.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { decodeDsmp, decodeWsmp, encodeDsmp, encodeWsmp, NetHeaderError, unwrap, type WsmpHeader } from '../hw/radio/netlayer.js';
import { CSAE_AIDS } from '../hw/radio/psid.js';
import { RadioRx, rawFrameHeader, UdpRawTx, type SpduHandler } from '../hw/radio/index.js';
import { loadMessageSet } from '../codecs/index.js';
import { validateConfig, type RsuConfig } from '../runtime/config/index.js';
import { csaeVectors, UdpSink } from './fixtures/radio/helpers.js';
import { vectorsMissing } from './support/vectors.js';
import { pcapOf } from './support/pcap.js';
import { tmpDir } from './support/wait.js';

const tsharkMissing = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'tshark is not installed (apt-get install tshark)';

/** An unsecured 1609.2 SPDU (Ieee1609Dot2Data { protocolVersion 3, content unsecuredData }) in C-OER, by hand. */
function unsecuredSpdu(data: Uint8Array): Uint8Array {
  const len = data.length < 128 ? [data.length] : [0x82, data.length >> 8, data.length & 0xff];
  return Uint8Array.from([3, 0x80, ...len, ...data]);
}

const PSIDS = [0x20, 130, 131, 0x7f, 0x80, 16511, 16512, 0x204080 - 1, 0x204080, 0x1020407f];

t.test('WSMP v3 frames decode in tshark to the values written', { skip: tsharkMissing }, async (t) => {
  const dir = tmpDir(t, 'rsu-wsmp-');
  const cases = Array.from({ length: 60 }, (_, i) => {
    const h: WsmpHeader = { psid: i < PSIDS.length ? PSIDS[i]! : randomInt(0, 0x1020407f + 1) };
    if (i % 2) h.channel = randomInt(0, 201);
    if (i % 3 === 1) h.dataRate = randomInt(0, 256);
    if (i % 4 === 1) h.txPowerDbm = randomInt(-128, 128);
    const data = randomBytes(i % 5 === 0 ? randomInt(128, 1400) : randomInt(0, 128)); // both Length forms
    return { h, data, frame: encodeWsmp(h, unsecuredSpdu(data)) };
  });
  const file = path.join(dir, 'wsmp.pcap');
  fs.writeFileSync(file, pcapOf(cases.map((c) => c.frame)));
  const fields = ['wsmp.version_v3', 'wsmp.N_header_opt_ind', 'wsmp.no_elements', 'wsmp.wave_ie', 'wsmp.wave_ie_data', 'wsmp.psid', 'wsmp.wave_ie_len', 'ieee1609dot2.protocolVersion', 'ieee1609dot2.unsecuredData'];
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  t.equal(r.status, 0, `tshark ran (${r.stderr.split('\n').filter((l) => !/Running as user/.test(l)).join(' ').trim()})`);
  const rows = r.stdout.trimEnd().split('\n');
  t.equal(rows.length, cases.length, 'one row per frame');
  cases.forEach((c, i) => {
    const [version, opt, count, ies, ieData, psid, lens, pv, unsecured] = rows[i]!.split('|');
    const elems: Array<[number, number]> = [];
    if (c.h.channel !== undefined) elems.push([15, c.h.channel]);
    if (c.h.dataRate !== undefined) elems.push([16, c.h.dataRate]);
    if (c.h.txPowerDbm !== undefined) elems.push([4, c.h.txPowerDbm + 128]);
    const spduLen = unsecuredSpdu(c.data).length;
    const want = [
      '3',
      elems.length ? '1' : '0',
      elems.length ? String(elems.length) : '',
      [...elems.map((e) => e[0]), 0].join(','), // the IE ids, then the TPID (Wireshark files it under the same name)
      elems.map((e) => e[1].toString(16).padStart(2, '0')).join(','),
      `0x${c.h.psid.toString(16).padStart(8, '0')}`,
      [...elems.map(() => 1), spduLen].join(','),
    ];
    t.same([version, opt, count, ies, ieData, psid, lens], want, `frame ${i}: PSID ${c.h.psid}, ${elems.length} elements, ${spduLen} octets`);
    // tshark passes only the BSM's and the intersection PSIDs on to its 1609.2 dissector.
    if (c.h.psid === 0x20 || c.h.psid === 130) t.same([pv, unsecured], ['3', Buffer.from(c.data).toString('hex')], `frame ${i}: tshark's 1609.2 dissector reads the SPDU inside`);
  });
});

t.test('WSMP and DSMP round trips; what is inside', async (t) => {
  for (let i = 0; i < 300; i++) {
    const h: WsmpHeader = { psid: i < PSIDS.length ? PSIDS[i]! : randomInt(0, 0x1020407f + 1), ...(i % 2 ? { channel: randomInt(0, 201), txPowerDbm: randomInt(-128, 128) } : {}) };
    const payload = randomBytes(randomInt(0, 3000));
    const back = decodeWsmp(encodeWsmp(h, payload));
    if (JSON.stringify(back.header) !== JSON.stringify(h) || !Buffer.from(back.payload).equals(payload)) {
      t.fail(`WSMP round trip ${JSON.stringify(h)}`);
      return;
    }
    const d = { version: randomInt(0, 256), aid: randomInt(0, 0x1020407f + 1) };
    const db = decodeDsmp(encodeDsmp(d, payload), d.version);
    if (JSON.stringify(db.header) !== JSON.stringify(d) || !Buffer.from(db.payload).equals(payload)) {
      t.fail(`DSMP round trip ${JSON.stringify(d)}`);
      return;
    }
  }
  t.pass('300 random WSMP and DSMP frames round-trip');
  t.same([...encodeDsmp({ version: 1, aid: CSAE_AIDS.map }, Uint8Array.of(0xaa))], [1, 0x8d, 0xa2, 0, 1, 0xaa], 'DSMP: version, AID 3618 as 0p8DA2, length 1, data');

  const spdu = unsecuredSpdu(randomBytes(40));
  const signedLike = Uint8Array.from([3, 0x81, 0x00, 0x40, 0x03, 0x80, 1, 2]);
  const j2735Bsm = Uint8Array.from([0x00, 0x14, 0x25, 0x00, 0x01]);
  t.match(unwrap(encodeWsmp({ psid: 0x20 }, spdu), 'wsmp'), { header: { kind: 'wsmp', wsmp: { psid: 0x20 } }, kind: 'spdu' }, 'WSMP-wrapped SPDU');
  t.match(unwrap(encodeWsmp({ psid: 0x20, channel: 183 }, spdu), 'none'), { header: { kind: 'wsmp' }, kind: 'spdu' }, 'WSMP-wrapped SPDU with elements, no header configured');
  t.match(unwrap(encodeWsmp({ psid: 0x20 }, j2735Bsm), 'wsmp'), { header: { kind: 'wsmp' }, kind: 'message-frame' }, 'WSMP-wrapped bare MessageFrame');
  t.match(unwrap(spdu, 'wsmp'), { header: { kind: 'none' }, kind: 'spdu' }, 'bare unsecured SPDU (03 80 ...) is not WSMP though both start with 0x03');
  t.match(unwrap(signedLike, 'none'), { header: { kind: 'none' }, kind: 'spdu' }, 'bare signed SPDU (03 81 ...)');
  t.match(unwrap(j2735Bsm, 'none'), { header: { kind: 'none' }, kind: 'message-frame' }, 'bare J2735 MessageFrame');
  t.match(unwrap(encodeDsmp({ version: 1, aid: CSAE_AIDS.bsm }, spdu), 'dsmp'), { header: { kind: 'dsmp', dsmp: { aid: 111 } }, kind: 'spdu' }, 'DSMP-wrapped SPDU');
  t.equal(Buffer.from(unwrap(encodeWsmp({ psid: 130 }, spdu), 'wsmp').payload).toString('hex'), Buffer.from(spdu).toString('hex'), 'the payload is what was wrapped');
});

t.test('broken headers are NetHeaderErrors with a reason; nothing else is thrown', async (t) => {
  const good = encodeWsmp({ psid: 130, channel: 183 }, randomBytes(200));
  const reason = (f: () => unknown): string => {
    try {
      f();
      return 'none';
    } catch (e) {
      return e instanceof NetHeaderError ? e.reason : `other: ${(e as Error).message}`;
    }
  };
  t.equal(reason(() => decodeWsmp(good.subarray(0, good.length - 1))), 'truncated', 'one octet short');
  t.equal(reason(() => decodeWsmp(Uint8Array.from([...good, 0]))), 'bad-length', 'one octet extra');
  t.equal(reason(() => decodeWsmp(Uint8Array.of(0x02, 0, 0x20, 0))), 'bad-version', 'WSMP version 2');
  t.equal(reason(() => decodeWsmp(Uint8Array.of(0x03, 0, 0xf0, 0))), 'bad-psid', 'PSID octet 0xF0');
  t.equal(reason(() => decodeWsmp(Uint8Array.of(0x03, 2, 0x20, 0))), 'unsupported-tpid', 'TPID 2 (ITS port addressing)');
  t.equal(reason(() => decodeWsmp(Uint8Array.of(0x03, 0, 0x20, 0xc0, 0))), 'bad-length', 'length octet 0xC0');
  t.equal(reason(() => decodeWsmp(Uint8Array.of(0x0b, 1, 15, 2, 1, 2, 0, 0x20, 0))), 'bad-element', 'channel element of 2 octets');
  t.equal(reason(() => decodeDsmp(encodeDsmp({ version: 2, aid: 111 }, Uint8Array.of(1)), 1)), 'bad-version', 'DSMP version 2 where 1 is configured');
  t.equal(reason(() => unwrap(Uint8Array.of(0x03, 0x00, 0x20, 9, 1), 'wsmp')), 'truncated', 'configured WSMP: a short frame is an error');
  t.equal(reason(() => unwrap(Uint8Array.of(0x03, 0x00, 0x20, 9, 1), 'none')), 'none', 'no header configured: the same bytes are bare data');
  let others = 0;
  for (let i = 0; i < 20000; i++) {
    const d = i % 2 ? randomBytes(randomInt(0, 40)) : Uint8Array.from(good.subarray(0, randomInt(0, good.length)).map((b) => (Math.random() < 0.05 ? randomInt(256) : b)));
    for (const kind of ['wsmp', 'dsmp', 'none'] as const) if (reason(() => unwrap(d, kind)).startsWith('other')) others++;
  }
  t.equal(others, 0, '20,000 random and mutated datagrams × 3 configurations: only NetHeaderErrors');
});

t.test('udp-raw with a header: the transmitter wraps, the receiver strips and tells SPDUs from frames', { skip: vectorsMissing() }, async (t) => {
  const ms = await loadMessageSet('csae2019');
  const vec = csaeVectors();
  const spat = vec.find((v) => v.type === 'spat')!;
  const cfg = validateConfig({ radio: { mode: 'udp-raw', udpRaw: { header: 'wsmp', wsmp: { channel: 183, txPowerDbm: 20 }, psids: { RSM: '0x8010' } } } });
  t.ok(cfg.ok, 'config with radio.udpRaw.header wsmp validates');
  const radio = (cfg as { config: RsuConfig }).config.radio;
  t.match(rawFrameHeader(radio, 'csae2019'), { kind: 'wsmp', psids: { bsm: 111, map: 3618, spat: 3619, rsi: 3620, rsm: 0x8010 - 0x8000 + 0x80 }, channel: 183, txPowerDbm: 20 }, 'CSAE AIDs by default, the configured RSM PSID (p-encoded in the config) as an integer');
  t.match(rawFrameHeader(radio, 'j2735-2020'), { psids: { bsm: 0x20, spat: 130, map: 130, rsi: 131 } }, 'J2735 PSIDs for the J2735 sets');
  const bad = validateConfig({ radio: { udpRaw: { header: 'ipv6', wsmp: { channel: 300 } } } });
  t.notOk(bad.ok, 'bad header settings are config errors');
  t.match(JSON.stringify(bad), /radio\.udpRaw\.header/);

  const sink = await UdpSink.open();
  t.teardown(() => sink.close());
  const tx = new UdpRawTx('127.0.0.1', sink.port, {}, { kind: 'wsmp', psids: { spat: 3619 }, channel: 183 });
  t.teardown(() => tx.close());
  tx.send({ type: 'spat', bytes: spat.bytes });
  tx.send({ type: 'map', bytes: spat.bytes });
  t.ok(await sink.wait(1), 'arrived');
  const got = decodeWsmp(sink.datagrams[0]!.data);
  t.match(got.header, { psid: 3619, channel: 183 }, 'WSMP header with the SPAT AID and the channel');
  t.same(Buffer.from(got.payload), Buffer.from(spat.bytes), 'the frame inside');
  t.equal(tx.stats().errors.no_settings, 1, 'a type without a PSID is dropped as no_settings');

  const verified: Uint8Array[] = [];
  const handler: SpduHandler = (spdu) => {
    verified.push(spdu);
    if (spdu[1] === 0x80) return { ok: false, reason: 'unsigned', detail: 'unsecuredData' };
    if (spdu[2] === 0xff) return { ok: false, reason: 'malformed', detail: 'not an SPDU' };
    return { ok: true, payload: spat.bytes, psid: 3619, signer: 'abcd' };
  };
  const rx = new RadioRx({ listen: '127.0.0.1:0', messageSet: ms, header: 'wsmp', spdu: handler });
  const signedLike = Uint8Array.from([3, 0x81, 0x00, 1, 2, 3]);
  t.match(rx.process(encodeWsmp({ psid: 3619 }, spat.bytes)), { ok: true, message: { type: 'spat', network: 'wsmp' } }, 'WSMP-wrapped MessageFrame: delivered, network wsmp');
  t.match(rx.process(spat.bytes), { ok: true, message: { type: 'spat' } }, 'bare MessageFrame: delivered');
  t.match(rx.process(encodeWsmp({ psid: 3619 }, signedLike)), { ok: true, message: { type: 'spat', network: 'wsmp', security: { verified: true, psid: 3619 } } }, 'WSMP-wrapped signed SPDU: verified by the handler, the frame inside delivered');
  t.match(rx.process(signedLike), { ok: true, message: { security: { verified: true } } }, 'bare signed SPDU: verified');
  t.match(rx.process(unsecuredSpdu(spat.bytes)), { ok: false, reason: 'spdu_rejected' }, 'an SPDU the handler rejects: spdu_rejected');
  t.match(rx.process(Uint8Array.from([3, 0x81, 0xff, 9])), { ok: false, reason: 'decode_error' }, 'malformed as an SPDU and not a frame either: decode_error');
  t.match(rx.process(Uint8Array.of(0x03, 0x00, 0x20, 9, 1)), { ok: false, reason: 'bad_header' }, 'a broken WSMP header: bad_header');
  const st = rx.stats();
  t.same(st.spduRejected, { unsigned: 1 }, 'rejections counted by reason');
  t.equal(st.spduVerified, 2);
  t.equal(st.errors.bad_header, 1);
  const plain = new RadioRx({ listen: '127.0.0.1:0', messageSet: ms });
  t.match(plain.process(signedLike), { ok: false, reason: 'spdu_unverified' }, 'no handler: an SPDU is dropped as spdu_unverified');
  t.match(plain.process(spat.bytes), { ok: true }, 'no header configured: frames as before');
});
