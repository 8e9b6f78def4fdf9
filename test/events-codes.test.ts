// The event/sign code table and the downlink code check.
import t from 'tap';
import { CODE_TABLE, checkEventCode, eventCode, EventCodeError, EVENT_KINDS } from '../runtime/apps/events/index.js';

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
