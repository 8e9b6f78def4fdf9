// RSM participant ids under churn (issue 12 D12): about 300 tracks with churn at 10 Hz put every tracked road user
// on the air (the pool is ptcId's range, 1..65535, with the 10 s rest); what is left out is counted by reason.
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { MsgCounter } from '../runtime/apps/clock.js';
import { rsuIdHex } from '../runtime/apps/messages.js';
import { buildRsm, ParticipantIds, PTC_ID_MAX, type LeftOutReason, type TrackLike } from '../runtime/apps/rsm.js';

const ref = { lat: 48.2, lon: 11.6, elevation: 500 };
const track = (id: number, cls = 'car'): TrackLike => ({
  id,
  classification: cls,
  lat: ref.lat + ((id % 100) - 50) * 1e-5,
  lon: ref.lon + (Math.floor(id / 100) % 100) * 1e-5,
  elevation: 500,
  speed: 5,
  headingDeg: 90,
  size: { length: 4.5, width: 1.8, height: 1.5 },
  posStdM: 0.3,
  sources: ['lidar'],
});

t.test('300 tracks with churn for 60 s at 10 Hz: every road user in every cycle, ids unique and in range', async (t) => {
  const ms = (await loadMessageSet('csae2020')) as MessageSet;
  const ids = new ParticipantIds(); // the scheduler's: 10 s rest, the tracker's re-identification window
  const left: Record<string, number> = {};
  const cnt = new MsgCounter();
  const ctx = { std: 'csae2020' as const, rsuIdHex: rsuIdHex('RSU1'), ref, nextMsgCnt: () => cnt.next('rsm'), maxParticipants: 16, ids, leftOut: (r: LeftOutReason, n: number) => (left[r] = (left[r] ?? 0) + n) };
  // 300 live tracks; 30 replaced by new ones every second (a road user stays about 10 s).
  let next = 1;
  let live = Array.from({ length: 300 }, () => next++);
  let onAir = 0;
  let expected = 0;
  let maxId = 0;
  let checked = 0;
  for (let step = 0; step < 600; step++) {
    const at = 1_000_000 + step * 100;
    if (step % 10 === 0) live = [...live.slice(30), ...Array.from({ length: 30 }, () => next++)];
    const frames = buildRsm(live.map((id) => track(id)), at, ctx) as { rsmFrame: { participants: { ptcId: number }[] } }[];
    const ptc = frames.flatMap((f) => f.rsmFrame.participants.map((p) => p.ptcId));
    onAir += ptc.length;
    expected += live.length;
    maxId = Math.max(maxId, ...ptc);
    if (new Set(ptc).size !== ptc.length) t.fail(`duplicate ids at step ${step}`);
    if (step % 100 === 0) {
      for (const f of frames) ms.decode('MessageFrame', ms.encode('MessageFrame', f as never)); // valid for csae2020
      checked++;
    }
  }
  t.equal(onAir, expected, `all ${expected} participant slots on the air (the 1..255 pool put ~40 % of them)`);
  t.same(left, {}, 'nobody left out');
  t.equal(ids.exhausted, 0);
  t.ok(maxId > 255 && maxId <= PTC_ID_MAX, `ids beyond 255 in use (max ${maxId})`);
  t.equal(checked, 6);
});

t.test('ids run out only beyond the range: counted as ids_exhausted, never silently', async (t) => {
  const ids = new ParticipantIds(10_000, 1_000, { min: 1, max: 20 });
  const left: Record<string, number> = {};
  const frames = buildRsm(Array.from({ length: 25 }, (_, i) => track(i + 1)), 0, {
    std: 'csae2020',
    rsuIdHex: rsuIdHex('RSU1'),
    ref,
    nextMsgCnt: () => 0,
    maxParticipants: 16,
    ids,
    leftOut: (r, n) => (left[r] = (left[r] ?? 0) + n),
  }) as { rsmFrame: { participants: unknown[] } }[];
  t.equal(frames.flatMap((f) => f.rsmFrame.participants).length, 20);
  t.same(left, { ids_exhausted: 5 });
  // Tracks unseen for the 1 s gone-window release their ids, which then rest 10 s and go out in release order.
  t.equal(ids.assign([100], 1_500).size, 0, 'released at 1.5 s, resting');
  t.equal(ids.assign([100], 11_499).size, 0, 'still resting');
  t.equal(ids.assign([100], 11_500).get(100), 1, 'the first released id, after its rest');
});

t.test('J2735 mode: road users without a PSM counterpart are counted as left out', async (t) => {
  const left: Record<string, number> = {};
  const out = buildRsm([track(1, 'pedestrian'), track(2, 'car'), track(3, 'truck')], 0, {
    std: 'j2735-2020',
    rsuIdHex: rsuIdHex('RSU1'),
    ref,
    nextMsgCnt: () => 0,
    maxParticipants: 16,
    ids: new ParticipantIds(),
    leftOut: (r, n) => (left[r] = (left[r] ?? 0) + n),
  });
  t.equal(out.length, 1, 'one PSM');
  t.same(left, { no_j2735_counterpart: 2 });
});

t.test('the scheduler counts an RSM that fails to encode as its participants left out', async (t) => {
  const { Scheduler } = await import('../runtime/scheduler.js');
  const { defaultConfig } = await import('../runtime/config/index.js');
  const { pino } = await import('pino');
  const cfg = defaultConfig({ onWarning: () => {} });
  const left: [string, number][] = [];
  let now = 1_000_000;
  const s = new Scheduler({
    cfg,
    codec: { encodeTrusted: () => { throw new Error('boom'); } } as never,
    now: () => now,
    tracks: () => Array.from({ length: 20 }, (_, i) => track(i + 1)),
    perceptionInvalid: () => undefined,
    clockTrusted: () => true,
    rsiEvents: () => [],
    send: () => t.fail('nothing encodes, nothing is sent'),
    withheld: () => {},
    participantsLeftOut: (r, n) => left.push([r, n]),
    log: pino({ level: 'silent' }),
  });
  s.onFrameProcessed(now);
  t.same(left, [['encode_error', 16], ['encode_error', 4]], 'both RSMs of the cycle (16 + 4 road users)');
  t.match(s.stats(), { participantsLeftOut: { encode_error: 20 }, lastLeftOutMs: { encode_error: now }, withheld: { 'rsm:encode_error': 2 } });
});
