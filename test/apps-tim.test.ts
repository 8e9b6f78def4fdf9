// TIM (J2735 TravelerInformation) from RSI events: one TravelerDataFrame per event, 8 per message, the event type
// sent as its ITIS code; J2735 2016 and 2020 component names; every TIM encodes and decodes to what was built.
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { MsgCounter, minuteOfYear } from '../runtime/apps/clock.js';
import { rsuIdHex, typeOfFrame } from '../runtime/apps/messages.js';
import { buildRsi } from '../runtime/apps/rsi.js';
import { DURATION_FOREVER, buildTim, circleRadius, durationMinutes, itisCode, packetId, type ActiveEvent } from '../runtime/apps/tim.js';

const noJ2735 = process.env.RSU_J2735_ASN1_DIR ? false : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project';
const AT = Date.UTC(2026, 2, 1, 8, 30, 20); // March 1st 2026, 08:30:20 UTC
const STDS = ['j2735-2016', 'j2735-2020'] as const;

/** Event i: ITIS 1025 "road construction" or 531 "incident", a radius and a priority of its own. */
function ev(i: number): ActiveEvent {
  return {
    id: 10 + i,
    type: i % 2 ? 531 : 1025,
    ...(i % 3 ? {} : { description: `Works ${i}` }),
    lat: 48.2 + i * 1e-4,
    lon: 11.6 - i * 1e-4,
    radiusM: 25 + i * 10.4,
    priority: i % 8,
  };
}

const ctxFor = (std: (typeof STDS)[number], cnt = new MsgCounter()) => ({ std, rsuIdHex: rsuIdHex('0x0102030405060708'), ref: { lat: 48.2, lon: 11.6 }, nextMsgCnt: () => cnt.next('rsi') });

t.test('field choices (no codec needed)', async (t) => {
  t.equal(itisCode(1025), 1025, 'an event type is its own ITIS code');
  t.equal(itisCode(65535), 65535);
  t.equal(itisCode(65536), undefined);
  t.equal(itisCode(-1), undefined);
  t.equal(packetId('0102030405060708', 10), '01020304050607080A', '8-byte RSU id + event id');
  t.same(circleRadius(50.4), { radius: 50, units: 'meter' });
  t.same(circleRadius(4095), { radius: 4095, units: 'meter' });
  t.same(circleRadius(6553.5), { radius: 7, units: 'kilometer' }, 'beyond Radius-B12 in metres: whole kilometres, rounded up');
  t.equal(durationMinutes(ev(0), AT), DURATION_FOREVER, 'configured events last forever');
  t.equal(durationMinutes({ ...ev(0), untilMs: AT + 90_000 }, AT), 2, 'an event with an end: minutes to it, rounded up');
  t.equal(durationMinutes({ ...ev(0), untilMs: AT - 1 }, AT), 1, 'at least a minute');
  t.throws(() => buildTim([ev(0)], AT, { ...ctxFor('j2735-2020'), std: 'csae2020' }), /J2735/);
  t.same(buildTim([], AT, ctxFor('j2735-2020')), [], 'no events, no TIM');

  const [f16] = buildTim([ev(0)], AT, ctxFor('j2735-2016')) as any[];
  const [f20] = buildTim([ev(0)], AT, ctxFor('j2735-2020')) as any[];
  t.same(Object.keys(f16.value.dataFrames[0]).filter((k) => /ssp|dura/.test(k)), ['sspTimRights', 'duratonTime', 'sspLocationRights', 'sspMsgRights1', 'sspMsgRights2'], '2016 names');
  t.same(Object.keys(f20.value.dataFrames[0]).filter((k) => /notUsed|dura/.test(k)), ['notUsed', 'durationTime', 'notUsed1', 'notUsed2', 'notUsed3'], '2020 names');
  t.same(buildTim([{ ...ev(1), description: 'Baustelle Ä' }], AT, ctxFor('j2735-2020')).map((f: any) => f.value.dataFrames[0].content), [{ advisory: [{ item: { itis: 531 } }] }], 'non-ASCII text is left out (ITIStext is IA5String)');
  t.same(buildTim([{ ...ev(1), type: 70000, description: undefined }], AT, ctxFor('j2735-2020')), [], 'an event with neither ITIS code nor text is not sent');
});

for (const std of STDS) {
  t.test(`${std}: TIMs for 1 and 9 events encode and decode to what was built`, { skip: noJ2735 }, async (t) => {
    const ms = (await loadMessageSet(std)) as MessageSet;
    const dur = std === 'j2735-2016' ? 'duratonTime' : 'durationTime';
    const cnt = new MsgCounter();
    for (const n of [1, 9]) {
      const events = Array.from({ length: n }, (_, i) => ev(i));
      const frames = buildRsi(events, AT, ctxFor(std, cnt)) as any[];
      t.same(frames, buildTim(events, AT, ctxFor(std, new MsgCounter())).map((f: any, i) => ({ ...f, value: { ...f.value, msgCnt: frames[i].value.msgCnt } })), 'buildRsi sends TIMs in J2735 mode');
      t.equal(frames.length, Math.ceil(n / 8), `${n} events: ${Math.ceil(n / 8)} TIM(s), 8 frames at most each`);
      const back = frames.map((f) => ms.decode('MessageFrame', ms.encode('MessageFrame', f as never)) as any);
      t.same(back, frames, `${n} events: round trip`);
      t.ok(back.every((b) => b.messageId === 31 && typeOfFrame(std, b) === 'rsi'), 'MessageFrame messageId 31, an RSI counterpart');
      t.same(back.map((b) => b.value.dataFrames.length), n === 1 ? [1] : [8, 1]);
      t.same(back.map((b) => b.value.packetID), n === 1 ? ['01020304050607080A'] : ['01020304050607080A', '010203040506070812'], 'packetID: RSU id + first event id');
      const dfs = back.flatMap((b) => b.value.dataFrames);
      dfs.forEach((df: any, i: number) => {
        const e = events[i]!;
        t.equal(df.frameType, 'advisory');
        t.equal(df.startYear, 2026);
        t.equal(df.startTime, minuteOfYear(AT));
        t.equal(df.startTime, (31 + 28) * 1440 + 8 * 60 + 30, 'March 1st 08:30 as MinuteOfTheYear');
        t.equal(df[dur], 32000, 'configured event: forever');
        t.equal(df.priority, e.priority);
        t.same(df.msgId, { roadSignID: { position: { lat: Math.round(e.lat * 1e7), long: Math.round(e.lon * 1e7) }, viewAngle: 'FFFF', mutcdCode: 'warning' } });
        t.equal(df.regions.length, 1);
        const g = df.regions[0].description.geometry;
        t.equal(g.direction, 'FFFF', 'all directions');
        t.same(g.circle, { center: df.msgId.roadSignID.position, radius: Math.round(e.radiusM), units: 'meter' });
        const items = df.content.advisory.map((x: any) => x.item);
        t.same(items, [{ itis: e.type }, ...(e.description ? [{ text: e.description }] : [])], 'ITIS code, then the description as text');
      });
    }
    // An event from the cloud with an end carries the minutes left; the 2016 typo'd name too.
    const [f] = buildTim([{ ...ev(2), untilMs: AT + 10 * 60_000 }], AT, ctxFor(std)) as any[];
    const b = ms.decode('MessageFrame', ms.encode('MessageFrame', f as never)) as any;
    t.equal(b.value.dataFrames[0][dur], 10);
  });
}

t.test('J2735 2016 TIM bytes decode with 2020 (same encoding, renamed fields)', { skip: noJ2735 }, async (t) => {
  const m16 = (await loadMessageSet('j2735-2016')) as MessageSet;
  const m20 = (await loadMessageSet('j2735-2020')) as MessageSet;
  const events = Array.from({ length: 3 }, (_, i) => ev(i));
  const b16 = m16.encode('MessageFrame', buildTim(events, AT, ctxFor('j2735-2016'))[0] as never);
  const b20 = m20.encode('MessageFrame', buildTim(events, AT, ctxFor('j2735-2020'))[0] as never);
  t.same(Buffer.from(b16), Buffer.from(b20), 'the same bytes from either version');
});
