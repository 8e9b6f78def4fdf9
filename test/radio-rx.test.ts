// The receiver over real UDP on 127.0.0.1: the real CSAE MessageFrames (raw UPER and immediate forward text) are
// decoded, classified and delivered; random bytes, truncated frames, trailing bytes, empty and oversize datagrams
// and malformed texts are counted with their reasons while the valid ones around them are still delivered.

import t, { type Test } from 'tap';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { DecodeError, loadMessageSet, type MessageSet, type TypeMap } from '../codecs/index.js';
import { validateConfig } from '../runtime/config/index.js';
import {
  ImmediateForwardTx,
  RX_DROP_REASONS,
  RadioRx,
  UdpRawTx,
  classifyFrame,
  formatImmediateForward,
  radioRxFromConfig,
  type FrameDecoder,
  type RxDropReason,
  type RxMessage,
} from '../hw/radio/index.js';
import { vectorsMissing } from './support/vectors.js';
import { UdpSink, csaeVectors, rawSender, rng, waitUntil, type Vector } from './fixtures/radio/helpers.js';

const missing = vectorsMissing();
const silent = pino({ level: 'silent' });

if (missing) {
  t.test('radio receiver', { skip: missing }, async () => {});
} else {
  await main();
}

/** A receiver on 127.0.0.1 with a free port, collecting what it delivers. */
async function receiver(t: Test, ms: FrameDecoder, opts: Partial<ConstructorParameters<typeof RadioRx>[0]> = {}) {
  const rx = new RadioRx({ listen: '127.0.0.1:0', messageSet: ms, logger: silent, ...opts });
  const bound = await rx.start();
  t.teardown(() => rx.close());
  const got: RxMessage[] = [];
  rx.onMessage((m) => got.push(m));
  return { rx, port: bound.port, got };
}

async function main(): Promise<void> {
  const cs19: MessageSet<TypeMap['csae2019']> = await loadMessageSet('csae2019');
  const vec = csaeVectors();

  t.test('the real vectors as raw UPER: decoded, classified, delivered', { timeout: 20000 }, async (t) => {
    const { rx, port, got } = await receiver(t, cs19);
    const snd = await rawSender();
    t.teardown(() => snd.close());
    const before = Date.now();
    for (const v of vec) await snd.send(v.bytes, port);
    t.ok(await waitUntil(() => got.length === vec.length), `${vec.length} delivered`);
    for (let i = 0; i < vec.length; i++) {
      const v = vec[i]!;
      const m = got[i]!;
      t.equal(m.type, v.type, `${v.label}: type`);
      t.same(Buffer.from(m.bytes), Buffer.from(v.bytes), `${v.label}: bytes`);
      t.same(m.value, cs19.decode('MessageFrame', v.bytes), `${v.label}: value`);
      t.equal(m.format, 'uper');
      t.equal(m.from.address, '127.0.0.1');
      t.ok(m.receivedAt >= before && m.receivedAt <= Date.now(), 'receivedAt is the arrival time (epoch ms)');
      t.equal(m.messageId, undefined, 'no J2735 messageId on CSAE frames');
    }
    const st = rx.stats();
    t.equal(st.address, '127.0.0.1');
    t.equal(st.port, port);
    t.same(st.received, { datagrams: 6, bytes: vec.reduce((n, v) => n + v.bytes.length, 0) });
    t.same(st.byType, {
      bsm: { datagrams: 2, bytes: 86 + 53 },
      spat: { datagrams: 1, bytes: 261 },
      map: { datagrams: 1, bytes: 529 },
      rsi: { datagrams: 1, bytes: 79 },
      rsm: { datagrams: 1, bytes: 40 },
      other: { datagrams: 0, bytes: 0 },
    });
    t.same(st.byFormat, { uper: 6, 'immediate-forward': 0 });
    t.same(st.errors, Object.fromEntries(RX_DROP_REASONS.map((r) => [r, 0])));
    t.equal(st.lastError, undefined);
  });

  t.test('UdpRawTx and ImmediateForwardTx feeding the receiver (both formats)', { timeout: 20000 }, async (t) => {
    const { rx, port, got } = await receiver(t, cs19);
    const raw = new UdpRawTx('127.0.0.1', port, { logger: silent });
    t.teardown(() => raw.close());
    const ifm = new ImmediateForwardTx(
      '127.0.0.1',
      port,
      Object.fromEntries(vec.map((v) => [v.type, { psid: 0x8002, channel: 183 }])),
      { logger: silent },
    );
    t.teardown(() => ifm.close());
    for (const v of vec) raw.send({ type: v.type, bytes: v.bytes });
    t.ok(await waitUntil(() => got.length === vec.length));
    for (const v of vec) ifm.send({ type: v.type, bytes: v.bytes });
    t.ok(await waitUntil(() => got.length === 2 * vec.length), 'all arrived');
    t.same(
      got.map((m) => `${m.format}:${m.type}:${m.bytes.length}`),
      [...vec.map((v) => `uper:${v.type}:${v.bytes.length}`), ...vec.map((v) => `immediate-forward:${v.type}:${v.bytes.length}`)],
    );
    for (let i = 0; i < vec.length; i++) t.same(Buffer.from(got[vec.length + i]!.bytes), Buffer.from(vec[i]!.bytes), `${vec[i]!.label} from the text`);
    t.same(rx.stats().byFormat, { uper: 6, 'immediate-forward': 6 });
  });

  t.test('bad datagrams are counted with reasons; the valid ones among them are delivered', { timeout: 60000 }, async (t) => {
    const { rx, port, got } = await receiver(t, cs19, { maxDatagramBytes: 2048 });
    const snd = await rawSender();
    t.teardown(() => snd.close());
    const rand = rng(0x5eed);
    const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));

    // What the codec itself says of a datagram (independently of the receiver's code).
    const verdictOf = (d: Uint8Array): RxDropReason | 'ok' => {
      try {
        const r = cs19.decodePrefix('MessageFrame', d);
        if (r.trailing.length) return 'trailing_bytes';
        return classifyFrame(r.value).type === 'other' ? 'unsupported_type' : 'ok';
      } catch (e) {
        if (e instanceof DecodeError) return 'decode_error';
        throw e;
      }
    };

    const plan: Array<{ d: Uint8Array | string; want: RxDropReason | 'ok'; valid?: Vector }> = [];
    // 300 datagrams of random bytes, 1-400 long (a few may happen to be valid MessageFrames: the codec decides)
    for (let i = 0; i < 300; i++) {
      const d = randomBytes(1 + Math.floor(rand() * 400));
      plan.push({ d, want: verdictOf(d) });
    }
    // every vector cut short at up to 40 places
    for (const v of vec) {
      const step = Math.max(1, Math.floor(v.bytes.length / 40));
      for (let n = 1; n < v.bytes.length; n += step) {
        const d = v.bytes.slice(0, n);
        plan.push({ d, want: verdictOf(d) });
      }
    }
    // every vector followed by 1-3 bytes
    for (const v of vec) {
      const d = Buffer.concat([v.bytes, randomBytes(1 + Math.floor(rand() * 3))]);
      t.equal(verdictOf(d), 'trailing_bytes', `${v.label} + extra bytes: the codec sees trailing bytes`);
      plan.push({ d, want: 'trailing_bytes' });
    }
    plan.push({ d: new Uint8Array(0), want: 'empty' });
    plan.push({ d: randomBytes(3000), want: 'oversize' });
    plan.push({ d: 'Version=0.7\nType=SPAT\nPSID=0x8002\n', want: 'ifm_malformed' });
    plan.push({ d: 'Version=0.7\nPayload=12345\n', want: 'ifm_malformed' });
    plan.push({ d: 'Version=0.7\nPayload=XYZW\n', want: 'ifm_malformed' });
    plan.push({ d: 'Version=0.7\nPayload=FFFF\n', want: verdictOf(Buffer.from('FFFF', 'hex')) });
    // shuffle (seeded), then put a valid vector after every 10 bad datagrams
    for (let i = plan.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    const seq: typeof plan = [];
    plan.forEach((p, i) => {
      seq.push(p);
      if (i % 10 === 9) {
        const v = vec[(i / 10) % vec.length | 0]!;
        seq.push({ d: v.bytes, want: 'ok', valid: v });
      }
    });

    // Send in small batches, waiting for each to be read, so no datagram is lost to a full socket buffer.
    let sent = 0;
    for (let i = 0; i < seq.length; i += 25) {
      for (const p of seq.slice(i, i + 25)) {
        await snd.send(p.d, port);
        sent++;
      }
      if (!(await waitUntil(() => rx.stats().received.datagrams === sent, 5000))) break;
    }
    const st = rx.stats();
    t.equal(st.received.datagrams, seq.length, `all ${seq.length} datagrams were read`);

    const want = Object.fromEntries(RX_DROP_REASONS.map((r) => [r, 0])) as Record<RxDropReason, number>;
    let wantOk = 0;
    for (const p of seq) {
      if (p.want === 'ok') wantOk++;
      else want[p.want]++;
    }
    t.same(st.errors, want, `dropped by reason: ${JSON.stringify(st.errors)}`);
    t.equal(got.length, wantOk, `${wantOk} delivered`);
    const validSent = seq.filter((p) => p.valid).map((p) => Buffer.from(p.valid!.bytes).toString('hex'));
    const validGot = got.map((m) => Buffer.from(m.bytes).toString('hex')).filter((h) => validSent.includes(h));
    t.same(validGot, validSent, `each of the ${validSent.length} valid frames among them was delivered, in order`);
    t.ok(want.decode_error > 100 && want.trailing_bytes >= 6 && want.ifm_malformed === 3, 'the mix exercised the reasons');

    const decodeReasons = Object.values(st.decodeErrors).reduce((a, b) => a + b, 0);
    t.equal(decodeReasons, st.errors.decode_error, 'decodeErrors add up to decode_error');
    t.ok(Object.keys(st.decodeErrors).every((k) => !/\d/.test(k)), `digits folded: ${Object.keys(st.decodeErrors).slice(0, 4).join(' | ')}`);
    t.ok(st.lastError && RX_DROP_REASONS.includes(st.lastError.reason));
    t.match(st.lastError!.from, /^127\.0\.0\.1:\d+$/);

    // and it still works
    await snd.send(vec[0]!.bytes, port);
    t.ok(await waitUntil(() => got.length === wantOk + 1), 'a valid frame after all that is delivered');
  });

  t.test('allowTrailingBytes delivers the frame without the extra bytes', { timeout: 10000 }, async (t) => {
    const { rx, port, got } = await receiver(t, cs19, { allowTrailingBytes: true });
    const snd = await rawSender();
    t.teardown(() => snd.close());
    const rsm = vec.find((v) => v.label === 'RSM')!;
    await snd.send(Buffer.concat([rsm.bytes, Buffer.from([0xde, 0xad])]), port);
    t.ok(await waitUntil(() => got.length === 1));
    t.same(Buffer.from(got[0]!.bytes), Buffer.from(rsm.bytes), 'the frame alone');
    t.equal(got[0]!.type, 'rsm');
    t.equal(rx.stats().trailingAccepted, 1);
    t.equal(rx.stats().errors.trailing_bytes, 0);
  });

  t.test('a throwing subscriber is counted; the others still get the message', { timeout: 10000 }, async (t) => {
    const { rx, port, got } = await receiver(t, cs19);
    let calls = 0;
    const off = rx.onMessage(() => {
      calls++;
      throw new Error('uplink full');
    });
    const snd = await rawSender();
    t.teardown(() => snd.close());
    await snd.send(vec[0]!.bytes, port);
    t.ok(await waitUntil(() => got.length === 1));
    t.equal(calls, 1);
    t.equal(rx.stats().subscriberErrors, 1);
    off();
    await snd.send(vec[1]!.bytes, port);
    t.ok(await waitUntil(() => got.length === 2));
    t.equal(calls, 1, 'unsubscribed');
  });

  t.test('J2735-shaped frames and a failing decoder, through process()', async (t) => {
    const frames: unknown[] = [{ messageId: 20, value: {} }, { messageId: 32, value: {} }, { messageId: 31, value: {} }];
    let i = 0;
    const fake: FrameDecoder = {
      name: 'j2735-2020',
      decodePrefix: () => {
        const v = frames[i++];
        if (v === undefined) throw new TypeError('codec bug');
        return { value: v, trailing: new Uint8Array(0) };
      },
    };
    const rx = new RadioRx({ listen: '127.0.0.1:0', messageSet: fake, logger: silent });
    t.equal(rx.messageSetName, 'j2735-2020');
    const got: RxMessage[] = [];
    rx.onMessage((m) => got.push(m));
    const from = { address: '127.0.0.1', port: 5 };
    const a = rx.process(new Uint8Array([1]), from);
    t.ok(a.ok);
    t.match(got[0], { type: 'bsm', messageId: 20 });
    const b = rx.process(new Uint8Array([2]), from);
    t.same(b, { ok: false, reason: 'unsupported_type', detail: 'a MessageFrame of a type not forwarded (messageId 32)' });
    t.match(rx.process(new Uint8Array([3]), from), { ok: true, message: { type: 'rsi', messageId: 31 } }, 'TIM is delivered as rsi');
    t.match(rx.process(new Uint8Array([4]), from), { ok: false, reason: 'internal_error' }, 'a codec bug is counted, not thrown');
    const st = rx.stats();
    t.same(st.byType.other, { datagrams: 1, bytes: 1 });
    t.equal(st.errors.unsupported_type, 1);
    t.equal(st.errors.internal_error, 1);
    t.equal(st.byType.bsm.datagrams, 1);
    await rx.close();
    t.match(rx.process(new Uint8Array([5])), { ok: false }, 'nothing is delivered after close');
    await t.rejects(rx.start(), /closed/);
  });

  t.test('bad datagrams are logged rate-limited, with the DecodeError path and bit', { timeout: 20000 }, async (t) => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, cb) {
          for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    );
    const { rx } = await receiver(t, cs19, { logger });
    const from = { address: '127.0.0.1', port: 9 };
    for (let i = 0; i < 300; i++) rx.process(vec[2]!.bytes.subarray(0, 10), from); // truncated RSI
    t.equal(rx.stats().errors.decode_error, 300);
    t.ok(lines.length >= 1 && lines.length <= 5, `${lines.length} log lines for 300 drops`);
    t.match(lines[0], { reason: 'decode_error', from: '127.0.0.1:9', bytes: 10, path: /^MessageFrame\./, bitOffset: Number, msg: 'radio rx: datagram dropped' });
  });

  t.test('binding: config, a busy port, close', { timeout: 10000 }, async (t) => {
    const r = validateConfig({ radio: { receive: { listen: '127.0.0.1:0' } } });
    t.ok(r.ok);
    t.equal(radioRxFromConfig(r.config!.radio, cs19), undefined, 'port 0 in the config disables the receiver');
    const busy = await UdpSink.open(0);
    t.teardown(() => busy.close());
    const rx = radioRxFromConfig({ ...r.config!.radio, receive: { listen: `127.0.0.1:${busy.port}` } }, cs19, { logger: silent })!;
    t.ok(rx instanceof RadioRx);
    await t.rejects(rx.start(), { code: 'EADDRINUSE' }, 'a busy port fails start()');
    await rx.close();
    t.throws(() => new RadioRx({ listen: 'nonsense', messageSet: cs19 }), RangeError);
    t.throws(() => new RadioRx({ listen: '127.0.0.1:1', messageSet: undefined as unknown as FrameDecoder }), TypeError);
    const ok = new RadioRx({ listen: { host: '127.0.0.1', port: 0 }, messageSet: cs19, logger: silent });
    const b = await ok.start();
    t.ok(b.port > 0);
    await t.rejects(ok.start(), /already started/);
    await ok.close();
    await ok.close();
  });
}
