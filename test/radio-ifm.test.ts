// The RSU 4.1 immediate forward text: byte for byte against texts written from public senders of it
// (test/fixtures/radio/README.md), PSID p-encoding, parsing, validation, and ImmediateForwardTx over real UDP
// on 127.0.0.1 with per-type PSID and channel.

import t from 'tap';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadMessageSet } from '../codecs/index.js';
import { validateConfig } from '../runtime/config/index.js';
import {
  CSAE_AIDS,
  CSAE_PSIDS,
  ImmediateForwardParseError,
  ImmediateForwardTx,
  J2735_PSIDS,
  MAX_PSID,
  checkHeader,
  formatImmediateForward,
  formatPsid,
  ifmPrefix,
  isPEncoded,
  looksLikeImmediateForward,
  pDecodePsid,
  pEncodePsid,
  parseImmediateForward,
  radioTxFromConfig,
  type ImmediateForwardHeader,
} from '../hw/radio/index.js';
import { vectorsMissing } from './support/vectors.js';
import { FIXTURES, UdpSink, csaeVectors } from './fixtures/radio/helpers.js';

const missing = vectorsMissing();
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const hexUpper = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

const spatHeader: ImmediateForwardHeader = { type: 'SPAT', psid: 0x8002, priority: 7, txMode: 'CONT', txChannel: 183, signature: false, encryption: false };

t.test('PSIDs are written as V2X Hub writes them: 0x and upper-case digits', async (t) => {
  // usdot-fhwa-OPS/V2X-Hub ImmediateForwardPlugin/test/TestSpduForwarder.cpp formatsPsidUsingConfigurationConvention
  t.equal(formatPsid(0x8002), '0x8002');
  t.equal(formatPsid(0x20), '0x20');
  t.equal(formatPsid(0xbfee), '0xBFEE');
  t.equal(formatPsid(0xe0000017), '0xE0000017');
  t.throws(() => formatPsid(0x80), RangeError, '0x80 is not a p-encoded PSID');
});

t.test('p-encoding (IEEE 1609.12): every range boundary both ways', async (t) => {
  const pairs: Array<[number, number]> = [
    [0, 0x00],
    [0x20, 0x20],
    [127, 0x7f],
    [128, 0x8000],
    [130, 0x8002],
    [131, 0x8003],
    [16511, 0xbfff],
    [16512, 0xc00000],
    [2113663, 0xdfffff],
    [2113664, 0xe0000000],
    [MAX_PSID, 0xefffffff],
  ];
  for (const [psid, p] of pairs) {
    t.equal(pEncodePsid(psid), p, `${psid} → 0x${p.toString(16)}`);
    t.equal(pDecodePsid(p), psid, `0x${p.toString(16)} → ${psid}`);
    t.ok(isPEncoded(p));
  }
  t.equal(pDecodePsid(0xe0000017), 2113664 + 0x17, 'MAP 0xE0000017 is the integer 2113687');
  t.throws(() => pEncodePsid(MAX_PSID + 1), RangeError);
  t.throws(() => pEncodePsid(-1), RangeError);
  t.throws(() => pEncodePsid(1.5), RangeError);
  for (const bad of [0x80, 0x7fff, 0xc000, 0xf0000000, -1]) {
    t.notOk(isPEncoded(bad), `0x${bad.toString(16)} is not p-encoded`);
    t.throws(() => pDecodePsid(bad), RangeError);
  }
});

t.test('PSID presets', async (t) => {
  t.same(
    Object.fromEntries(Object.entries(J2735_PSIDS).map(([k, v]) => [k, `${formatPsid(v!.psid)}/${v!.channel}/${v!.typeName}`])),
    { bsm: '0x20/183/BSM', spat: '0x8002/183/SPAT', map: '0x8002/183/MAP', rsi: '0x8003/183/TIM' },
  );
  t.same(CSAE_AIDS, { bsm: 111, map: 3618, spat: 3619, rsi: 3620, rsm: 3623 });
  t.same(
    Object.fromEntries(Object.entries(CSAE_PSIDS).map(([k, v]) => [k, formatPsid(v.psid)])),
    { bsm: '0x6F', map: '0x8DA2', spat: '0x8DA3', rsi: '0x8DA4', rsm: '0x8DA7' },
    'China AIDs p-encoded',
  );
});

t.test('the text, byte for byte, against documented senders', { skip: missing }, async (t) => {
  const vec = csaeVectors();
  const spat = vec.find((v) => v.label === 'SPAT')!.bytes;
  const bsm = vec.find((v) => v.label === 'BSM#1')!.bytes;

  const want = fixture('ifm-spat-v2xhub.txt');
  const got = Buffer.from(formatImmediateForward(spatHeader, spat), 'latin1');
  t.equal(got.length, want.length, `length ${want.length}`);
  t.ok(got.equals(want), 'SPAT: identical to what V2X Hub ImmediateForwardPlugin sends');

  const header = fixture('ifm-bsm-header-path.txt').toString('latin1');
  const bsmHeader: ImmediateForwardHeader = { type: 'BSM', psid: 0x20, priority: 0, txMode: 'CONT', txChannel: 172, signature: false, encryption: false };
  t.equal(ifmPrefix(bsmHeader), header, 'BSM: every line up to Payload= identical to the PATH sender literal');
  t.equal(formatImmediateForward(bsmHeader, bsm), `${header}${hexUpper(bsm)}\n`, 'then the payload in upper-case hex and LF');

  const lines = got.toString('latin1').split('\n');
  t.same(
    lines.map((l) => l.split('=')[0]),
    ['Version', 'Type', 'PSID', 'Priority', 'TxMode', 'TxChannel', 'TxInterval', 'DeliveryStart', 'DeliveryStop', 'Signature', 'Encryption', 'Payload', ''],
    'field order; every line ends in LF, the last one too',
  );
  t.notOk(got.includes('\r'), 'no CR');
  const signed = formatImmediateForward({ ...spatHeader, signature: true, encryption: true, txMode: 'ALT' }, spat);
  t.match(signed, /\nTxMode=ALT\n.*\nSignature=True\nEncryption=True\n/s);
});

t.test('parsing a text back', { skip: missing }, async (t) => {
  const text = fixture('ifm-spat-v2xhub.txt');
  t.ok(looksLikeImmediateForward(text));
  t.notOk(looksLikeImmediateForward(csaeVectors()[0]!.bytes), 'a UPER frame is not taken for text');
  t.notOk(looksLikeImmediateForward(Buffer.from('Version')), 'too short');
  for (const n of ['csae2019', 'csae2020'] as const) {
    const ms = await loadMessageSet(n);
    t.throws(() => ms.decodePrefix('MessageFrame', text), /choice index 5 out of range at bit 1/, `${n}: a text is never a valid UPER MessageFrame`);
  }
  const p = parseImmediateForward(text);
  t.equal(p.fields.Version, '0.7');
  t.equal(p.fields.Type, 'SPAT');
  t.equal(p.fields.PSID, '0x8002');
  t.equal(p.fields.TxChannel, '183');
  t.equal(p.fields.DeliveryStart, '');
  t.same(Buffer.from(p.payload), Buffer.from(csaeVectors().find((v) => v.label === 'SPAT')!.bytes));

  const crlf = parseImmediateForward(text.toString('latin1').replace(/\n/g, '\r\n'));
  t.same(Buffer.from(crlf.payload), Buffer.from(p.payload), 'CRLF lines');
  t.same(Buffer.from(parseImmediateForward('Payload=0a0B\nVersion=0.7').payload), Buffer.from([0x0a, 0x0b]), 'any order, lower-case hex, no final LF');

  const bad: Array<[string, RegExp]> = [
    ['Version=0.7\nType=SPAT\n', /no Payload/],
    ['Version=0.7\nPayload=\n', /no Payload/],
    ['Version=0.7\nPayload=ABC\n', /odd number/],
    ['Version=0.7\nPayload=ZZ\n', /not hex/],
    ['Type=SPAT\nPayload=00\n', /no Version/],
    ['Version=0.7\ngarbage\nPayload=00\n', /not Key=Value/],
  ];
  for (const [s, re] of bad) t.throws(() => parseImmediateForward(s), { name: 'ImmediateForwardParseError', message: re }, JSON.stringify(s));
  t.ok(new ImmediateForwardParseError('x') instanceof Error);
});

t.test('a header that cannot be written is refused, naming the field', async (t) => {
  const cases: Array<[Partial<ImmediateForwardHeader>, RegExp]> = [
    [{ priority: 8 }, /Priority 8/],
    [{ priority: -1 }, /Priority -1/],
    [{ txChannel: 171 }, /TxChannel 171/],
    [{ txChannel: 185 }, /TxChannel 185/],
    [{ psid: 0x80 }, /PSID 128/],
    [{ txMode: 'BURST' as 'CONT' }, /TxMode "BURST"/],
    [{ type: 'SP AT' }, /Type "SP AT"/],
    [{ type: 'A\nPSID=0x20' }, /Type/],
  ];
  for (const [over, re] of cases) t.throws(() => checkHeader({ ...spatHeader, ...over }), { name: 'RangeError', message: re }, JSON.stringify(over));
  t.throws(() => new ImmediateForwardTx('127.0.0.1', 9, { map: { psid: 0x8002, channel: 190 } }), { name: 'RangeError', message: /settings for map: .*TxChannel 190/ });
  t.throws(() => new ImmediateForwardTx('127.0.0.1', 9, { spat: { psid: 0x8002, channel: 183 } }, { priority: 9 }), /Priority 9/);
  t.throws(() => new ImmediateForwardTx('127.0.0.1', 9, { cam: { psid: 0x24, channel: 183 } } as never), /unknown message type "cam"/);
});

t.test('ImmediateForwardTx over UDP: the datagram is the documented text; PSID and channel per type', { skip: missing, timeout: 20000 }, async (t) => {
  const sink = await UdpSink.open();
  t.teardown(() => sink.close());
  const vec = csaeVectors();

  // 1. the SPAT as V2X Hub sends it
  const tx1 = new ImmediateForwardTx('127.0.0.1', sink.port, { spat: { psid: 0x8002, channel: 183 } }, { priority: 7, txMode: 'CONT' });
  t.teardown(() => tx1.close());
  await tx1.ready();
  t.ok(tx1.send({ type: 'spat', bytes: vec.find((v) => v.label === 'SPAT')!.bytes }));
  t.ok(await sink.wait(1), 'arrived');
  t.ok(sink.datagrams[0]!.data.equals(fixture('ifm-spat-v2xhub.txt')), 'the datagram is byte-identical to the fixture');
  await tx1.close();

  // 2. every type with its own PSID and channel (CSAE AIDs p-encoded; RSM on another channel and priority)
  const settings = {
    bsm: { psid: CSAE_PSIDS.bsm.psid, channel: 183 },
    spat: { psid: CSAE_PSIDS.spat.psid, channel: 183 },
    map: { psid: CSAE_PSIDS.map.psid, channel: 183 },
    rsi: { psid: CSAE_PSIDS.rsi.psid, channel: 183 },
    rsm: { psid: CSAE_PSIDS.rsm.psid, channel: 180, priority: 5, typeName: 'RSM' },
  };
  const tx = new ImmediateForwardTx('127.0.0.1', sink.port, settings, { priority: 6, signature: true });
  t.teardown(() => tx.close());
  for (const v of vec) t.ok(tx.send({ type: v.type, bytes: v.bytes }), `${v.label} accepted`);
  t.ok(await sink.wait(1 + vec.length), `all ${vec.length} arrived`);
  const got = sink.datagrams.slice(1).map((d) => parseImmediateForward(d.data));
  for (let i = 0; i < vec.length; i++) {
    const v = vec[i]!;
    const f = got[i]!.fields;
    const s = settings[v.type];
    t.equal(f.Type, v.type.toUpperCase(), `${v.label}: Type`);
    t.equal(f.PSID, formatPsid(s.psid), `${v.label}: PSID ${f.PSID}`);
    t.equal(f.TxChannel, String(s.channel), `${v.label}: TxChannel`);
    t.equal(f.Priority, v.type === 'rsm' ? '5' : '6', `${v.label}: Priority`);
    t.equal(f.Signature, 'True');
    t.same(Buffer.from(got[i]!.payload), Buffer.from(v.bytes), `${v.label}: payload intact`);
  }
  await waitUntilSent(tx, vec.length);
  const st = tx.stats();
  t.equal(st.mode, 'immediate-forward');
  t.equal(st.target, `127.0.0.1:${sink.port}`);
  t.equal(st.sent.datagrams, vec.length);
  t.equal(st.byType.bsm.datagrams, 2);
  t.equal(st.byType.bsm.payloadBytes, 86 + 53);
  t.equal(st.sent.bytes, sink.datagrams.slice(1).reduce((n, d) => n + d.data.length, 0), 'bytes counted are the datagram bytes');
  t.same(st.errors, {});
});

t.test('a type with no PSID configured is dropped and counted, never sent', { timeout: 10000 }, async (t) => {
  const sink = await UdpSink.open();
  t.teardown(() => sink.close());
  const tx = new ImmediateForwardTx('127.0.0.1', sink.port, { bsm: J2735_PSIDS.bsm!, spat: J2735_PSIDS.spat! });
  t.teardown(() => tx.close());
  await tx.ready();
  t.equal(tx.send({ type: 'rsm', bytes: new Uint8Array([1, 2, 3]) }), false);
  t.equal(tx.send({ type: 'bsm', bytes: new Uint8Array([1, 2, 3]) }), true);
  t.ok(await sink.wait(1));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(sink.count, 1, 'only the BSM went out');
  t.equal(parseImmediateForward(sink.datagrams[0]!.data).fields.Type, 'BSM');
  t.same(tx.stats().errors, { no_settings: 1 });
  t.equal(tx.stats().lastError?.reason, 'no_settings');
});

t.test('radioTxFromConfig: the config radio section, as validated', { timeout: 10000 }, async (t) => {
  const sink = await UdpSink.open();
  t.teardown(() => sink.close());
  const r = validateConfig({
    radio: {
      mode: 'immediate-forward',
      immediateForward: {
        target: `127.0.0.1:${sink.port}`,
        messages: { BSM: { psid: '0x20' }, SPAT: { psid: '0x8002' }, MAP: { psid: '0xE0000017' }, RSI: { psid: '0x8003' }, RSM: { psid: '0x8DA7', channel: 180 } },
      },
    },
  });
  t.ok(r.ok, JSON.stringify(r.errors));
  const radio = r.config!.radio;
  const tx = radioTxFromConfig(radio, { messageSet: 'j2735-2020' })!;
  t.teardown(() => tx.close());
  t.equal(tx.mode, 'immediate-forward');
  tx.send({ type: 'map', bytes: new Uint8Array([0xab]) });
  tx.send({ type: 'rsi', bytes: new Uint8Array([0xcd]) });
  tx.send({ type: 'rsm', bytes: new Uint8Array([0xef]) });
  t.ok(await sink.wait(3));
  const [map, rsi, rsm] = sink.datagrams.map((d) => d.data.toString('latin1'));
  t.equal(map, 'Version=0.7\nType=MAP\nPSID=0xE0000017\nPriority=6\nTxMode=CONT\nTxChannel=183\nTxInterval=0\nDeliveryStart=\nDeliveryStop=\nSignature=False\nEncryption=False\nPayload=AB\n');
  t.match(rsi, /^Version=0\.7\nType=TIM\nPSID=0x8003\n/, 'J2735 sets send RSI as TIM');
  t.match(rsm, /\nPSID=0x8DA7\n.*\nTxChannel=180\n/s);

  const raw = radioTxFromConfig({ ...radio, mode: 'udp-raw', udpRaw: { target: `127.0.0.1:${sink.port}` } })!;
  t.teardown(() => raw.close());
  t.equal(raw.mode, 'udp-raw');
  t.equal(radioTxFromConfig({ ...radio, mode: 'off' }), undefined);
  const csae = radioTxFromConfig(radio, { messageSet: 'csae2020' })!;
  t.teardown(() => csae.close());
  csae.send({ type: 'rsi', bytes: new Uint8Array([1]) });
  t.ok(await sink.wait(4));
  t.match(sink.datagrams[3]!.data.toString('latin1'), /\nType=RSI\n/, 'CSAE sets keep Type=RSI');
});

async function waitUntilSent(tx: { stats(): { sent: { datagrams: number } } }, n: number): Promise<void> {
  const end = Date.now() + 5000;
  while (tx.stats().sent.datagrams < n && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
}
