// Message builders: SPAT from a fixed-time plan, RSM from tracks, RSI from configured events; every message
// they build must encode with the message set and decode to what was meant.
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { FixedTimePlan } from '../runtime/apps/signal-plan.js';
import { buildSpat } from '../runtime/apps/spat.js';
import { buildRsm, ParticipantIds, type TrackLike } from '../runtime/apps/rsm.js';
import { buildRsi } from '../runtime/apps/rsi.js';
import { MsgCounter, dSecond, minuteOfYear, timeMarkOfHour } from '../runtime/apps/clock.js';
import { offsetLL, verticalOffset } from '../runtime/apps/geo.js';
import { rsuIdHex, typeOfFrame } from '../runtime/apps/messages.js';

const phases = [
  { id: 1, green: 30, yellow: 3, red: 27, offset: 0 },
  { id: 2, green: 27, yellow: 3, red: 30, offset: 30 },
];

t.test('time fields', async (t) => {
  const ms = Date.UTC(2026, 1, 1, 1, 2, 3, 456); // Feb 1st, 01:02:03.456
  t.equal(minuteOfYear(ms), 31 * 1440 + 62);
  t.equal(dSecond(ms), 3456);
  t.equal(timeMarkOfHour(ms), 2 * 600 + 34);
  const c = new MsgCounter();
  const seen = Array.from({ length: 130 }, () => c.next('rsm'));
  t.same(seen.slice(126), [126, 127, 0, 1]);
  t.equal(c.next('spat'), 0, 'one counter per message type');
});

t.test('fixed-time plan: lights and countdowns by hand', async (t) => {
  const plan = new FixedTimePlan(phases);
  t.equal(plan.cycleMs, 60000);
  const s = plan.snapshot(10_000); // 10 s into a cycle (cycles count from the epoch)
  t.equal(s.phases[0]!.light, 'green');
  t.same(s.phases[0]!.windows[0], { light: 'green', startInMs: 0, endInMs: 20_000, nextStartInMs: 50_000, nextDurationMs: 30_000 });
  t.same(s.phases[0]!.windows[1], { light: 'yellow', startInMs: 20_000, endInMs: 23_000, nextStartInMs: 80_000, nextDurationMs: 3_000 });
  t.same(s.phases[0]!.windows[2], { light: 'red', startInMs: 23_000, endInMs: 50_000, nextStartInMs: 83_000, nextDurationMs: 27_000 });
  // Phase 2 (offset 30 s): green 30..57, yellow 57..60, red 0..30 of each cycle: red now, next red at 60 s.
  t.equal(s.phases[1]!.light, 'red');
  t.same(s.phases[1]!.windows[0], { light: 'red', startInMs: 0, endInMs: 20_000, nextStartInMs: 50_000, nextDurationMs: 30_000 });
  t.throws(() => new FixedTimePlan([{ id: 1, green: 30, yellow: 3, red: 27, offset: 0 }, { id: 2, green: 10, yellow: 3, red: 27, offset: 0 }]), /one cycle length/);
});

t.test('SPAT countdowns stay consistent from one message to the next (no jumps, no stale start)', async (t) => {
  const plan = new FixedTimePlan(phases);
  const t0 = Date.UTC(2026, 5, 1, 8, 0, 0);
  let prev: number | undefined;
  for (let k = 0; k < 700; k++) {
    const at = t0 + k * 100;
    const w = plan.snapshot(at).phases[0]!.windows[0]!;
    const endAbs = at + w.endInMs;
    if (prev !== undefined && endAbs !== prev) {
      t.equal(w.startInMs, 0, 'a new window starts now');
      t.equal(endAbs - prev, w.endInMs, 'and ends a whole window later');
    }
    prev = endAbs;
    t.ok(w.endInMs > 0 && w.startInMs === 0, 'the current window has started and not ended');
  }
});

async function set(std: 'csae2019' | 'csae2020'): Promise<MessageSet> {
  return (await loadMessageSet(std)) as MessageSet;
}

t.test('SPAT encodes (CSAE 2019 and 2020) and decodes to the plan', async (t) => {
  const at = Date.UTC(2026, 5, 1, 8, 0, 10);
  const snap = new FixedTimePlan(phases).snapshot(at);
  for (const std of ['csae2019', 'csae2020'] as const) {
    const ms = await set(std);
    const frame = buildSpat(snap, { std, msgCnt: 5, intersection: { region: 1, id: 149 } });
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frame as never)) as any;
    t.same(back, frame, `${std}: round trip`);
    const ph = back.spatFrame.intersections[0].phases;
    t.equal(ph.length, 2);
    t.same(ph[0].phaseStates[0], { light: 'protected-green', timing: { counting: { startTime: 0, likelyEndTime: 200, nextStartTime: 500, nextDuration: 300 } } });
    t.equal(typeOfFrame(std, back), 'spat');
  }
});

t.test('SPAT for J2735', { skip: process.env.RSU_J2735_ASN1_DIR ? false : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project' }, async (t) => {
  const at = Date.UTC(2026, 5, 1, 8, 59, 50); // 10 s before the hour: TimeMarks wrap
  const snap = new FixedTimePlan(phases).snapshot(at);
  for (const std of ['j2735-2020', 'j2735-2016'] as const) {
    const ms = (await loadMessageSet(std)) as MessageSet;
    const frame = buildSpat(snap, { std, msgCnt: 9, intersection: { region: 0, id: 12111 } });
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frame as never)) as any;
    t.same(back, frame);
    const [s1, s2] = back.value.intersections[0].states;
    t.equal(s1['state-time-speed'][0].eventState, 'stop-And-Remain', 'phase 1 is red 50 s into its cycle');
    t.equal(s1['state-time-speed'][0].timing.minEndTime, 0, 'its red ends on the hour: the TimeMark wraps to 0');
    t.equal(s2['state-time-speed'][0].eventState, 'protected-Movement-Allowed', 'phase 2 is 20 s into its green');
    t.equal(s2['state-time-speed'][0].timing.minEndTime, 35970, 'which ends 7 s later, at 59:57');
    t.equal(s2['state-time-speed'][1].timing.startTime, 35970, 'when its yellow starts');
  }
});

function track(id: number, east: number, north: number, cls = 'car'): TrackLike {
  const ref = { lat: 48.2, lon: 11.6 };
  return {
    id,
    classification: cls,
    lat: ref.lat + north / 111_200,
    lon: ref.lon + east / (111_200 * Math.cos((ref.lat * Math.PI) / 180)),
    elevation: 500.4,
    speed: 12.5,
    headingDeg: 271.3,
    size: { length: 4.5, width: 1.8, height: 1.5 },
    posStdM: 0.3,
    speedStdMs: 0.4,
    headingStdDeg: 3,
    accel: -1.2,
    sources: ['lidar', 'camera'],
  };
}

t.test('RSM: ids unique and stable, 16 per message, offsets from refPos', async (t) => {
  const ms = await set('csae2020');
  const ids = new ParticipantIds(10_000, 1_000);
  const cnt = new MsgCounter();
  const ctx = { std: 'csae2020' as const, rsuIdHex: rsuIdHex('RSU001'), ref: { lat: 48.2, lon: 11.6, elevation: 500 }, nextMsgCnt: () => cnt.next('rsm'), maxParticipants: 16, ids };
  const tracks = Array.from({ length: 40 }, (_, i) => track(100 + i, i * 3 - 60, (i % 5) * 4 - 10, i % 7 === 0 ? 'pedestrian' : 'car'));
  const frames = buildRsm(tracks, 1_000_000, ctx);
  t.equal(frames.length, 3);
  const all: any[] = [];
  frames.forEach((f, i) => {
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', f as never)) as any;
    t.equal(back.rsmFrame.msgCnt, i);
    t.equal(back.rsmFrame.id, '5253553030310000');
    all.push(...back.rsmFrame.participants);
  });
  t.same(all.map((p) => p.ptcId).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1), 'ids 1..40, each once');
  const p0 = all[0];
  t.equal(p0.ptcType, 'pedestrian');
  t.equal(p0.source, 'integrated');
  t.equal(p0.speed, 625, '12.5 m/s in 0.02 m/s');
  t.equal(p0.heading, 21704, '271.3 degrees in 0.0125 degrees');
  t.same(p0.size, { width: 180, length: 450, height: 30 });
  t.same(p0.posConfidence, { pos: 'a50cm' });
  t.same(p0.pos.offsetV, { offset1: 4 }, '0.4 m above refPos in 0.1 m');
  t.same(Object.keys(p0.pos.offsetLL), ['position-LL2'], '60 m west is 8094e-7 degree: 14-bit offsets');
  // Stable over time; a gone track's id rests before reuse.
  const again = buildRsm(tracks.slice(1), 1_000_100, ctx);
  const firstIdsAgain = (ms.decode('MessageFrame', ms.encode('MessageFrame', again[0] as never)) as any).rsmFrame.participants.map((p: any) => p.ptcId);
  t.same(firstIdsAgain.slice(0, 3), all.slice(1, 4).map((p) => p.ptcId), 'same ids for the same tracks');
  const later = buildRsm([...tracks.slice(1), track(999, 0, 0)], 1_003_000, ctx);
  const ids999 = later.flatMap((f: any) => f.rsmFrame.participants).find((p: any) => p.ptcId === 41);
  t.ok(ids999, 'a new track takes a fresh id, not the one released 2 s ago');
  t.equal(new ParticipantIds().assign([1], 0).get(1), 1);
});

t.test('offsets pick the smallest form', async (t) => {
  const ref = { lat: 30, lon: 120, elevation: 10 };
  t.same(Object.keys(offsetLL({ lat: 30.0002, lon: 120 }, ref)), ['position-LL1']);
  t.same(Object.keys(offsetLL({ lat: 30.0008, lon: 120 }, ref)), ['position-LL2']);
  t.same(Object.keys(offsetLL({ lat: 31, lon: 120 }, ref)), ['position-LatLon']);
  t.same(verticalOffset({ lat: 0, lon: 0, elevation: 10 - 6.4 }, ref), { offset1: -64 });
  t.same(verticalOffset({ lat: 0, lon: 0, elevation: 10 + 6.4 }, ref), { offset2: 64 });
  t.equal(verticalOffset({ lat: 0, lon: 0 }, ref), undefined);
});

t.test('RSI for configured events', async (t) => {
  const ms = await set('csae2019');
  const cnt = new MsgCounter();
  const ev = (id: number) => ({ id, type: 401, description: 'Road works', lat: 48.2001, lon: 11.6001, radiusM: 50, priority: 5 });
  const frames = buildRsi(Array.from({ length: 9 }, (_, i) => ev(i)), Date.UTC(2026, 0, 1, 0, 10), { std: 'csae2019', rsuIdHex: rsuIdHex('0x0102030405060708'), ref: { lat: 48.2, lon: 11.6 }, nextMsgCnt: () => cnt.next('rsi') });
  t.equal(frames.length, 2, '8 events per message at most');
  const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frames[0] as never)) as any;
  t.equal(back.rsiFrame.id, '0102030405060708');
  t.equal(back.rsiFrame.moy, 10);
  t.same(back.rsiFrame.rtes[0], { rteId: 0, eventType: 401, eventSource: 'unknown', eventPos: { offsetLL: { 'position-LL1': { lon: 1000, lat: 1000 } } }, eventRadius: 500, description: { textString: 'Road works' }, priority: 'A0' });
});

t.test('J2735: vulnerable road users as PSMs (no RSM in J2735 2016/2020)', { skip: process.env.RSU_J2735_ASN1_DIR ? false : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project' }, async (t) => {
  for (const std of ['j2735-2020', 'j2735-2016'] as const) {
    const ms = (await loadMessageSet(std)) as MessageSet;
    const cnt = new MsgCounter();
    const ctx = { std, rsuIdHex: rsuIdHex('RSU9'), ref: { lat: 48.2, lon: 11.6, elevation: 500 }, nextMsgCnt: () => cnt.next('rsm'), maxParticipants: 16, ids: new ParticipantIds() };
    const frames = buildRsm([track(1, 10, 0, 'car'), track(2, 5, 5, 'pedestrian'), track(3, -5, 2, 'bicycle')], 1_000_000, ctx) as any[];
    t.equal(frames.length, 2, 'one PSM per pedestrian or cyclist, none for the car');
    for (const f of frames) t.same(ms.decode('MessageFrame', ms.encode('MessageFrame', f)), f, `${std}: round trip`);
    t.same(frames.map((f) => f.value.basicType), ['aPEDESTRIAN', 'aPEDALCYCLIST']);
    t.equal(frames[0].messageId, 32);
    const again = buildRsm([track(2, 6, 5, 'pedestrian')], 1_000_100, ctx) as any[];
    t.equal(again[0].value.id, frames[0].value.id, 'the temporary id stays with the track');
    t.not(frames[0].value.id, frames[1].value.id, 'and differs between tracks');
  }
});

t.test('SPAT from a controller: bounds, unknown ends, flash, dark and status are encoded, not guessed', async (t) => {
  const at = Date.UTC(2026, 5, 1, 8, 0, 10);
  const snap = {
    atMs: at,
    status: { flash: false, preempt: true, priority: false, dark: false, manual: false, fixedTime: false },
    phases: [
      { id: 1, light: 'green' as const, windows: [{ light: 'green' as const, startInMs: 0, endInMs: 12_000, minEndInMs: 8_000, maxEndInMs: 20_000, confidence: 9, nextStartInMs: 0, nextDurationMs: 0, nextUnknown: true }] },
      { id: 2, light: 'red' as const, windows: [{ light: 'red' as const, startInMs: 0, endInMs: 0, nextStartInMs: 0, nextDurationMs: 0, endUnknown: true, nextUnknown: true }] },
      { id: 3, light: 'red' as const, display: 'flashing' as const, windows: [{ light: 'red' as const, startInMs: 0, endInMs: 0, nextStartInMs: 0, nextDurationMs: 0, endUnknown: true, nextUnknown: true }] },
      { id: 4, light: 'red' as const, display: 'dark' as const, windows: [{ light: 'red' as const, startInMs: 0, endInMs: 0, nextStartInMs: 0, nextDurationMs: 0, endUnknown: true, nextUnknown: true }] },
      { id: 5, light: 'green' as const, display: 'flashing' as const, windows: [{ light: 'green' as const, startInMs: 0, endInMs: 3_000, nextStartInMs: 0, nextDurationMs: 0, nextUnknown: true }] },
    ],
  };
  const ms = await set('csae2020');
  const f = buildSpat(snap, { std: 'csae2020', msgCnt: 1, intersection: { region: 0, id: 5 } }) as any;
  const back = ms.decode('MessageFrame', ms.encode('MessageFrame', f)) as any;
  const i = back.spatFrame.intersections[0];
  t.equal(i.status, '1200', 'preemptIsActive (3) and trafficDependentOperation (6)');
  t.same(i.phases[0].phaseStates[0].timing.counting, { startTime: 0, minEndTime: 80, maxEndTime: 200, likelyEndTime: 120 }, 'bounds kept; the unknown next start left out');
  t.same(i.phases[1].phaseStates[0].timing.counting, { startTime: 0, likelyEndTime: 36001 }, 'an unknown end is 36001, not "now"');
  t.equal(i.phases[2].phaseStates[0].light, 'flashing-red');
  t.equal(i.phases[3].phaseStates[0].light, 'dark', 'dark is dark, not red');
  t.equal(i.phases[4].phaseStates[0].light, 'flashing-green');
  if (process.env.RSU_J2735_ASN1_DIR) {
    const j = (await loadMessageSet('j2735-2020')) as MessageSet;
    const jf = buildSpat(snap, { std: 'j2735-2020', msgCnt: 1, intersection: { region: 0, id: 5 } }) as any;
    const jb = j.decode('MessageFrame', j.encode('MessageFrame', jf)) as any;
    const st = jb.value.intersections[0].states;
    t.same(st[0]['state-time-speed'][0].timing, { minEndTime: timeMarkOfHour(at + 8000), maxEndTime: timeMarkOfHour(at + 20000), likelyTime: timeMarkOfHour(at + 12000), confidence: 9 });
    t.same(st[1]['state-time-speed'][0].timing, { minEndTime: 36001 });
    t.equal(st[2]['state-time-speed'][0].eventState, 'stop-Then-Proceed');
    t.equal(st[3]['state-time-speed'][0].eventState, 'dark');
    t.equal(st[4]['state-time-speed'][0].eventState, 'protected-Movement-Allowed', 'flashing green (end of green): still allowed');
  }
});
