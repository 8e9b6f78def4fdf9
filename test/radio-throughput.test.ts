// Throughput on loopback (127.0.0.1), reported as datagrams/s (tap comments):
//   1. UdpRawTx → RadioRx (csae2019 decode, classify, deliver): the real 86-byte BSM, paced so the socket buffer
//      never overflows; this is the receive path of passing vehicles' BSMs plus our own send path;
//   2. RadioRx.process() alone (decode + classify + deliver, no socket), for comparison;
//   3. ImmediateForwardTx → a plain UDP sink (text framing of the 261-byte SPAT), paced the same way.
// N defaults to 20000 per run (RSU_RADIO_BENCH_N overrides, at most 200000); every run is time-bounded.

import t from 'tap';
import { pino } from 'pino';
import { loadMessageSet } from '../codecs/index.js';
import { ImmediateForwardTx, RadioRx, UdpRawTx } from '../hw/radio/index.js';
import { vectorsMissing } from './support/vectors.js';
import { UdpSink, csaeVectors } from './fixtures/radio/helpers.js';

const missing = vectorsMissing();
const silent = pino({ level: 'silent' });
const N = Math.min(200_000, Math.max(1000, Number(process.env.RSU_RADIO_BENCH_N) || 20_000));
const BATCH = 200;
const DEADLINE_MS = 40_000;

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Waits until count() reaches `target`, the deadline passes, or 300 ms go by without progress (a datagram the
 * kernel dropped never arrives). Returns whether the target was reached.
 */
async function pace(count: () => number, target: number, deadline: number): Promise<boolean> {
  let last = count();
  let since = Date.now();
  while (count() < target) {
    if (Date.now() > deadline) return false;
    const c = count();
    if (c !== last) {
      last = c;
      since = Date.now();
    } else if (Date.now() - since > 300) return false;
    await tick();
  }
  return true;
}
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

t.test(`loopback throughput, ${N} datagrams per run`, { skip: missing, timeout: 120_000 }, async (t) => {
  const cs19 = await loadMessageSet('csae2019');
  const vec = csaeVectors();
  const bsm = vec.find((v) => v.label === 'BSM#1')!.bytes;
  const spat = vec.find((v) => v.label === 'SPAT')!.bytes;

  // 1. tx → rx over UDP
  const rx = new RadioRx({ listen: '127.0.0.1:0', messageSet: cs19, logger: silent, receiveBufferBytes: 4 << 20 });
  const { port } = await rx.start();
  t.teardown(() => rx.close());
  let delivered = 0;
  rx.onMessage((m) => {
    if (m.type === 'bsm') delivered++;
  });
  const tx = new UdpRawTx('127.0.0.1', port, { logger: silent, maxInFlight: 4 * BATCH });
  t.teardown(() => tx.close());
  await tx.ready();
  const deadline = Date.now() + DEADLINE_MS;
  const t0 = process.hrtime.bigint();
  let sent = 0;
  while (sent < N && Date.now() < deadline) {
    const n = Math.min(BATCH, N - sent);
    for (let i = 0; i < n; i++) tx.send({ type: 'bsm', bytes: bsm });
    sent += n;
    // Keep at most one batch unread: wait until the one before this was read.
    await pace(() => rx.stats().received.datagrams, sent - BATCH, deadline);
  }
  await pace(() => delivered, sent, deadline);
  const ms1 = Number(process.hrtime.bigint() - t0) / 1e6;
  const st = rx.stats();
  t.equal(sent, N, 'all sent within the deadline');
  t.equal(tx.stats().sent.datagrams, N, 'the kernel took every datagram');
  t.same(tx.stats().errors, {});
  t.equal(st.errors.decode_error, 0);
  const loss = (N - delivered) / N;
  t.ok(loss <= 0.01, `delivered ${delivered}/${N} (loss ${(loss * 100).toFixed(2)}%)`);
  t.comment(`udp-raw tx → rx decode+deliver (86-byte BSM): ${rate(delivered, ms1)} datagrams/s (${delivered} in ${ms1.toFixed(0)} ms)`);
  t.ok(rate(delivered, ms1) > 2000, 'more than 2000 datagrams/s');

  // 2. the receiver's work alone
  const from = { address: '127.0.0.1', port: 1 };
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) rx.process(bsm, from);
  const ms2 = Number(process.hrtime.bigint() - t1) / 1e6;
  t.comment(`RadioRx.process() without a socket (86-byte BSM): ${rate(N, ms2)} datagrams/s`);

  // 3. immediate forward text to a sink
  const sink = await UdpSink.open(0);
  t.teardown(() => sink.close());
  const ifm = new ImmediateForwardTx('127.0.0.1', sink.port, { spat: { psid: 0x8002, channel: 183 } }, { logger: silent, maxInFlight: 4 * BATCH });
  t.teardown(() => ifm.close());
  await ifm.ready();
  const t2 = process.hrtime.bigint();
  // Texts are 677 bytes: smaller batches, so that the unread ones fit the sink's default socket buffer.
  const batch3 = 32;
  const deadline3 = Date.now() + DEADLINE_MS;
  let sent3 = 0;
  while (sent3 < N && Date.now() < deadline3) {
    const n = Math.min(batch3, N - sent3);
    for (let i = 0; i < n; i++) ifm.send({ type: 'spat', bytes: spat });
    sent3 += n;
    await pace(() => sink.count, sent3 - batch3, deadline3);
  }
  await pace(() => sink.count, sent3, deadline3);
  const ms3 = Number(process.hrtime.bigint() - t2) / 1e6;
  t.equal(ifm.stats().sent.datagrams, N, 'all sent within the deadline');
  t.ok(sink.count >= N * 0.99, `the sink read ${sink.count}/${N} texts`);
  t.comment(`immediate-forward tx → sink (261-byte SPAT in a ${ifm.stats().sent.bytes / N}-byte text): ${rate(sink.count, ms3)} datagrams/s`);
});
