// The event/sign code table and the downlink code check.
import t from 'tap';
import { CODE_TABLE, checkEventCode, eventCode, EventCodeError, EVENT_KINDS, signCodeProblem, signTypeCode } from '../runtime/apps/events/index.js';

t.test('every kind has an entry with a source; unconfirmed codes are not sent', async (t) => {
  for (const k of EVENT_KINDS) {
    const e = CODE_TABLE.find((c) => c.kind === k);
    t.ok(e, k);
    for (const v of [e!.gbt29100, e!.gb5768, e!.itis]) if (v) t.ok(v.source.length > 10, `${k}: source stated`);
  }
  t.equal(eventCode('queue', 'csae2020').code, 707);
  t.equal(eventCode('stopped-vehicle', 'j2735-2020').code, 532);
  t.equal(eventCode('wrong-way', 'j2735-2016').code, 1793);
  t.equal(eventCode('vru-in-roadway', 'j2735-2020').code, 1286);
  t.equal(eventCode('road-works', 'csae2019').code, 38, 'signs: GB 5768.2');
  t.equal(eventCode('queue', 'j2735-2020').code, undefined, 'unconfirmed ITIS candidate not sent');
  t.equal(eventCode('queue', 'j2735-2020', { allowUnconfirmed: true }).code, 262);
  t.equal(eventCode('wrong-way', 'csae2020').code, undefined);
  t.equal(eventCode('wrong-way', 'csae2020', { overrides: { 'wrong-way': { csae: 1234 } } }).code, 1234);
});

t.test('checkEventCode: a clear error naming the bad code', async (t) => {
  t.equal(checkEventCode('csae2020', 707), '交通拥堵 (traffic congestion) (queue)');
  t.ok(checkEventCode('j2735-2020', 532)?.startsWith('stalled-vehicle'));
  t.throws(() => checkEventCode('csae2020', 70000), /bad event code 70000: a GB\/T 29100-2012 event type is 0\.\.65535/);
  t.throws(() => checkEventCode('csae2020', 7.5), /bad event code 7\.5: .* must be an integer/);
  t.throws(() => checkEventCode('csae2020', '707', { where: 'events[2].type' }), /^events\[2\]\.type: bad event code "707"/);
  t.throws(() => checkEventCode('csae2020', 1793), /unknown event code 1793 for csae2020: .*1793 is an ITIS code .*vehicle-traveling-wrong-way.*sends GB\/T 29100/);
  t.throws(() => checkEventCode('j2735-2020', 707), /unknown event code 707 for j2735-2020: .*GB\/T 29100-2012 event type .*交通拥堵/);
  t.throws(() => checkEventCode('j2735-2020', 4242), EventCodeError);
  t.equal(checkEventCode('j2735-2020', 4242, { allowUnknown: true }), undefined, 'allowUnknown accepts in-range codes');
  t.equal(checkEventCode('csae2020', 123, { extra: [123] }), undefined, 'deployment codes');
  t.equal(checkEventCode('csae2020', 85, { family: 'sign' }), '限制速度 (speed limit) (speed-limit)');
});

t.test('sign codes: by kind per message set, a configured type wins, a missing one is explained', async (t) => {
  t.equal(signTypeCode({ kind: 'road-works' }, 'csae2019'), 38);
  t.equal(signTypeCode({ kind: 'speed-limit' }, 'csae2020'), 85);
  t.equal(signTypeCode({ kind: 'school-zone' }, 'csae2020'), 242);
  t.equal(signTypeCode({ kind: 'road-works' }, 'j2735-2016'), 1025, 'ITIS road-construction');
  t.equal(signTypeCode({ kind: 'speed-limit' }, 'j2735-2020'), 2564, 'ITIS speed-restriction');
  t.equal(signTypeCode({ kind: 'school-zone' }, 'j2735-2020'), undefined, 'no confirmed ITIS code for a school zone');
  t.equal(signTypeCode({ kind: 'school-zone', type: 4242 }, 'j2735-2020'), 4242);
  t.equal(signTypeCode({ type: 17 }, 'csae2020'), 17);
  t.equal(signCodeProblem({ kind: 'school-zone' }, 'csae2020'), undefined);
  t.match(signCodeProblem({ kind: 'school-zone' }, 'j2735-2016'), /^no confirmed ITIS code \(J2540\.2\) for a school-zone sign in j2735-2016 .*give the code from your copy of the standard as type$/);
  t.match(signCodeProblem({}, 'csae2020'), /^missing: a sign needs a kind/);
  t.equal(checkEventCode('csae2020', 17, { family: 'sign' }), '易滑 (slippery road)', 'other GB 5768.2 sign types two sources agree on');
  t.throws(() => checkEventCode('csae2020', 21, { family: 'sign' }), /unknown event code 21 for csae2020: not a known GB 5768\.2 sign type/, 'one source alone (tunnel): not listed');
});
