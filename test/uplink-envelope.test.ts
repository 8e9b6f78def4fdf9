/** Protobuf envelope and downlink processing, without a broker. */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  decodeDownlink,
  decodeEnvelope,
  decodeStatus,
  DownlinkProcessor,
  encodeDownlink,
  encodeEnvelope,
  encodeStatus,
  EnvelopeError,
  type DownlinkMessage,
} from '../runtime/uplink/index.js';

t.test('envelope round trip, 64-bit seq, optional summary', async (t) => {
  const env = {
    rsuId: 'RSU-1',
    seq: 2 ** 40 + 3,
    captureTimeMs: 1_700_000_000_123,
    msgType: 'rsm' as const,
    uper: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    summary: { participantCount: 12, latDeg: 39.9, extra: { lane: '3' } },
    messageSet: 'csae2020',
  };
  const d = decodeEnvelope(encodeEnvelope(env));
  t.same({ ...d, uper: Buffer.from(d.uper) }, env);
  const bare = decodeEnvelope(encodeEnvelope({ rsuId: 'R', seq: 1, captureTimeMs: 0, msgType: 'bsm', uper: Buffer.from([1]) }));
  t.equal(bare.summary, undefined);
  t.equal(bare.messageSet, undefined);
});

t.test('bad envelopes give an EnvelopeError naming the problem', async (t) => {
  const good = encodeEnvelope({ rsuId: 'R', seq: 5, captureTimeMs: 1, msgType: 'spat', uper: Buffer.alloc(30, 1) });
  t.throws(() => decodeEnvelope(good.subarray(0, good.length - 5)), { name: 'EnvelopeError', message: /cannot decode uplink Envelope \(\d+ bytes\)/ });
  t.throws(() => decodeEnvelope(encodeEnvelope({ rsuId: 'R', seq: 5, captureTimeMs: 1, msgType: 'spat', uper: Buffer.alloc(1) }).subarray(0, 0)), /unknown msg_type 0/);
  t.throws(() => encodeEnvelope({ rsuId: 'R', seq: 1, captureTimeMs: 1, msgType: 'cam' as 'bsm', uper: Buffer.alloc(1) }), EnvelopeError);
  let errors = 0;
  const foreign: string[] = [];
  for (let i = 0; i < 500; i++) {
    try {
      decodeEnvelope(randomBytes(1 + (i % 64)));
    } catch (err) {
      if (!(err instanceof EnvelopeError)) foreign.push(String(err));
      errors++;
    }
  }
  t.same(foreign, [], 'only EnvelopeErrors');
  t.ok(errors > 400, `random bytes are refused (${errors}/500)`);
});

t.test('status and downlink messages', async (t) => {
  t.same(decodeStatus(encodeStatus({ rsuId: 'R', state: 'OFFLINE_LOST', timeMs: 5, softwareVersion: '1.2', spoolPending: 7 })), {
    rsuId: 'R',
    state: 'OFFLINE_LOST',
    timeMs: 5,
    softwareVersion: '1.2',
    spoolPending: 7,
  });
  const d = decodeDownlink(encodeDownlink({ msgId: 'm1', rsuId: 'R', payload: Buffer.from('x'), expiresTimeMs: 9 }));
  t.equal(d.msgId, 'm1');
  t.equal(d.expiresTimeMs, 9);
  t.same(d.payload, Buffer.from('x'));
});

t.test('DownlinkProcessor: order, timeout, dedup, nothing applied on rejection', async (t) => {
  const applied: string[] = [];
  const now = 1_000_000;
  const p = new DownlinkProcessor(
    'R',
    {
      rsi: {
        async validate(msg: DownlinkMessage) {
          if (msg.msgId === 'slow') await new Promise((r) => setTimeout(r, 500));
          if (msg.msgId === 'late-no') return { ok: false, reason: 'nope' };
          return { ok: true };
        },
        apply(msg: DownlinkMessage) {
          applied.push(msg.msgId);
        },
      },
    },
    { validateTimeoutMs: 100, now: () => now },
  );
  const mk = (msgId: string, extra: object = {}): Buffer => Buffer.from(encodeDownlink({ msgId, rsuId: 'R', payload: Buffer.from([1]), ...extra }));
  const verified = { verifiedBroker: true };
  const acks = await Promise.all([
    p.process('rsi', mk('a'), verified),
    p.process('rsi', mk('slow'), verified),
    p.process('rsi', mk('b'), verified),
    p.process('rsi', mk('a'), verified),
    p.process('rsi', mk('late-no'), verified),
    p.process('rsi', mk('exp', { expiresTimeMs: now }), verified),
    p.process('config', mk('c'), verified),
    p.process('rsi', mk('unverified')),
  ]);
  t.same(
    acks.map((a) => [a.msgId, a.accepted]),
    [
      ['a', true],
      ['slow', false],
      ['b', true],
      ['a', true],
      ['late-no', false],
      ['exp', false],
      ['c', false],
      ['unverified', false],
    ],
  );
  t.match(acks[1]!.reason, /timed out after 100 ms/);
  t.match(acks[5]!.reason, /expired/);
  t.match(acks[6]!.reason, /no config downlink handler/);
  t.match(acks[7]!.reason, /^downlink refused: the broker's identity is not verified/, 'by default only from a verified broker');
  t.same(applied, ['a', 'b'], 'applied once each, in arrival order');
  t.same(p.stats(), {
    received: 8,
    accepted: 2,
    rejected: 5,
    duplicates: 1,
    lastRejectReason: acks[7]!.reason,
    rejectedByReason: { invalid: 2, expired: 1, no_handler: 1, unverified_broker: 1 },
  });
});
