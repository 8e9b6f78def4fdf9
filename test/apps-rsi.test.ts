// RSI with everything the issue asks for: event and sign type codes, start/end time, reference paths and links,
// priority, configured signs (road works, speed limit with its value, school zone), in csae2019 and csae2020 through
// the real codec; the RTE/RTS list bounds; the detector's events carrying their reference path and MAP links; the
// config errors; TIM with start, duration, path regions and signs in J2735 mode (with RSU_J2735_ASN1_DIR).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EncodeError, loadMessageSet, type MessageSet } from '../codecs/index.js';
import { MsgCounter, isoTimeMs, minuteOfYear } from '../runtime/apps/clock.js';
import { EventDetector, signTypeCode } from '../runtime/apps/events/index.js';
import { armNode, buildMap, referenceLinksOf } from '../runtime/apps/map.js';
import { rsuIdHex } from '../runtime/apps/messages.js';
import { buildRsi, referenceLanes, rsiTimeDetails, type ActiveEvent, type ActiveSign } from '../runtime/apps/rsi.js';
import { buildTim, durationMinutes, pathRegion, textPhrases } from '../runtime/apps/tim.js';
import { configCheck, formatIssue, validateConfig } from '../runtime/config/index.js';
import type { MessageSet as StdName } from '../runtime/config/types.js';
import { EnuFrame, Path, demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { onLane, track } from './fixtures/events/tracks.js';

const signFrom = (s: { kind?: 'road-works' | 'speed-limit' | 'school-zone'; type?: number }) => signTypeCode(s, 'csae2020');
const noJ2735 = process.env.RSU_J2735_ASN1_DIR ? false : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project';
const AT = Date.UTC(2026, 2, 1, 8, 30, 20); // March 1st 2026, 08:30:20 UTC
const MOY_AT = (31 + 28) * 1440 + 8 * 60 + 30;
const REF = { lat: 48.25, lon: 11.639 };
const ctxFor = (std: StdName, cnt = new MsgCounter()) => ({
  std,
  rsuIdHex: rsuIdHex('0x0102030405060708'),
  ref: REF,
  nextMsgCnt: () => cnt.next('rsi'),
});

/** A path 50 m long heading south, 1e-4 degree steps (about 11 m). */
const PATH = [0, 1, 2, 3, 4].map((k) => ({ lat: 48.2505 - k * 1e-4, lon: 11.6391 }));

const EVENT: ActiveEvent = {
  id: 4,
  type: 707,
  description: 'queue on approach 1',
  lat: 48.2501,
  lon: 11.6391,
  radiusM: 30,
  priority: 5,
  source: 'police',
  startTime: '2026-03-01T08:00:00.000Z',
  endTime: '2026-03-01T09:59:30.000Z',
  referencePaths: [{ points: PATH, radiusM: 1.6 }],
  referenceLinks: [
    { upstreamNodeId: { id: 1761 }, downstreamNodeId: { id: 110 }, lanes: [1, 2] },
    { upstreamNodeId: { region: 3, id: 110 }, downstreamNodeId: { region: 3, id: 1765 } },
  ],
};

const SIGNS: ActiveSign[] = [
  { id: 1, kind: 'road-works', lat: 48.2502, lon: 11.6392, radiusM: 80, priority: 4, description: 'left lane closed for resurfacing works', referencePaths: [{ points: PATH.slice(0, 3), radiusM: 3.5 }], endTime: '2026-03-02T18:00:00.000Z' },
  { id: 2, kind: 'speed-limit', speedLimitKmh: 30, lat: 48.2503, lon: 11.6389, radiusM: 50, priority: 6, startTime: '2026-02-28T23:00:00.000Z' },
  { id: 3, kind: 'school-zone', lat: 48.2497, lon: 11.6388, radiusM: 150, priority: 4, referenceLinks: [{ upstreamNodeId: { id: 1763 }, downstreamNodeId: { id: 110 } }] },
];

async function csae(std: 'csae2019' | 'csae2020'): Promise<MessageSet> {
  return (await loadMessageSet(std)) as MessageSet;
}

/** The WGS-84 point of a decoded PositionOffsetLLV (the RSI's refPos plus the offset, or the absolute form). */
function pointOf(p: any): { lat: number; lon: number } {
  const [alt, v] = Object.entries(p.offsetLL)[0] as [string, { lat: number; lon: number }];
  if (alt === 'position-LatLon') return { lat: v.lat / 1e7, lon: v.lon / 1e7 };
  return { lat: (Math.round(REF.lat * 1e7) + v.lat) / 1e7, lon: (Math.round(REF.lon * 1e7) + v.lon) / 1e7 };
}

for (const std of ['csae2019', 'csae2020'] as const) {
  t.test(`${std}: an event and the three configured signs, everything encoded and decoded back`, async (t) => {
    const ms = await csae(std);
    const frames = buildRsi([EVENT], AT, ctxFor(std), SIGNS) as any[];
    t.equal(frames.length, 1);
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frames[0])) as any;
    t.same(back, frames[0], 'round trip');
    const rte = back.rsiFrame.rtes[0];
    t.equal(rte.eventType, 707, 'GB/T 29100 event type');
    t.equal(rte.eventSource, 'police');
    t.equal(rte.priority, 'A0', 'priority 5 in the upper three bits');
    t.same(rte.timeDetails, { startTime: MOY_AT - 30, endTime: MOY_AT + 90 }, 'start 08:00, end 09:59:30 rounded up to 10:00 (MinuteOfTheYear, UTC)');
    t.equal(rte.referencePaths.length, 1);
    t.equal(rte.referencePaths[0].pathRadius, 16, 'path radius in 0.1 m');
    const pts = rte.referencePaths[0].activePath.map(pointOf);
    t.same(pts.map((p: any) => [Math.round(p.lat * 1e7), Math.round(p.lon * 1e7)]), PATH.map((p) => [Math.round(p.lat * 1e7), Math.round(p.lon * 1e7)]), 'the path points, upstream first, back to 1e-7 degree');
    t.same(rte.referenceLinks, [
      { upstreamNodeId: { id: 1761 }, downstreamNodeId: { id: 110 }, referenceLanes: '6000' },
      { upstreamNodeId: { region: 3, id: 110 }, downstreamNodeId: { region: 3, id: 1765 } },
    ], 'links; lanes 1 and 2 are bits 1 and 2 of ReferenceLanes (bit 0 reserved); no lanes: all lanes');

    const rtss = back.rsiFrame.rtss;
    t.same(rtss.map((s: any) => [s.rtsId, s.signType]), [[1, 38], [2, 85], [3, 242]], 'GB 5768.2 sign types: 38 road works, 85 speed limit, 242 school ahead');
    t.same(rtss[0].description, { textString: 'left lane closed for resurfacing works' });
    t.same(rtss[0].timeDetails, { endTime: (31 + 28 + 1) * 1440 + 18 * 60 }, 'road works end March 2nd 18:00');
    t.equal(rtss[0].referencePaths[0].activePath.length, 3);
    t.equal(rtss[0].referencePaths[0].pathRadius, 35);
    t.same(rtss[1].description, { textString: 'speed limit 30 km/h' }, 'the limit travels in the description (RTSData has no field for it)');
    t.same(rtss[1].timeDetails, { startTime: (31 + 27) * 1440 + 23 * 60 }, 'started Feb 28th 23:00 UTC');
    t.equal(rtss[1].priority, 'C0');
    t.same(pointOf(rtss[2].signPos), { lat: 48.2497, lon: 11.6388 });
    t.same(rtss[2].referenceLinks, [{ upstreamNodeId: { id: 1763 }, downstreamNodeId: { id: 110 } }]);
    t.notOk('timeDetails' in rtss[2], 'no times: no timeDetails');
  });

  t.test(`${std}: at most 8 RTEs and 16 RTSs per RSI; more of either, more messages`, async (t) => {
    const ms = await csae(std);
    const ev = (i: number): ActiveEvent => ({ ...EVENT, id: i });
    const sg = (i: number): ActiveSign => ({ ...SIGNS[i % 3]!, id: i });
    const count = (f: any) => [f.rsiFrame.rtes?.length ?? 0, f.rsiFrame.rtss?.length ?? 0];
    const frames = buildRsi(Array.from({ length: 9 }, (_, i) => ev(i)), AT, ctxFor(std), Array.from({ length: 17 }, (_, i) => sg(i))) as any[];
    t.same(frames.map(count), [[8, 16], [1, 1]]);
    for (const f of frames) t.same(ms.decode('MessageFrame', ms.encode('MessageFrame', f)), f);
    const signsOnly = buildRsi([], AT, ctxFor(std), Array.from({ length: 33 }, (_, i) => sg(i))) as any[];
    t.same(signsOnly.map(count), [[0, 16], [0, 16], [0, 1]]);
    t.notOk('rtes' in signsOnly[0].rsiFrame, 'no events: no RTEList (it needs at least one)');
    t.same(buildRsi([], AT, ctxFor(std), []), [], 'nothing active: no RSI');
    // The bounds are the modules' own: the codec refuses one more.
    const over = { ...frames[0].rsiFrame };
    t.throws(() => ms.encode('MessageFrame', { rsiFrame: { ...over, rtes: [...over.rtes, over.rtes[0]] } } as never), EncodeError, '9 RTEs do not encode');
    t.throws(() => ms.encode('MessageFrame', { rsiFrame: { ...over, rtss: [...over.rtss, over.rtss[0]] } } as never), EncodeError, '17 RTSs do not encode');
  });
}

t.test('csae2019 and csae2020 differ in PathPointList; paths under 2 points are not sent in either', async (t) => {
  const m19 = await csae('csae2019');
  const m20 = await csae('csae2020');
  const [f] = buildRsi([EVENT], AT, ctxFor('csae2020')) as any[];
  const one = { rsiFrame: { ...f.rsiFrame, rtes: [{ ...f.rsiFrame.rtes[0], referencePaths: [{ activePath: f.rsiFrame.rtes[0].referencePaths[0].activePath.slice(0, 1), pathRadius: 10 }] }] } };
  t.ok(m19.encode('MessageFrame', one as never).length > 0, 'csae2019 takes a one-point path');
  t.throws(() => m20.encode('MessageFrame', one as never), EncodeError, 'YD/T 3709-2020 needs 2 points');
  for (const std of ['csae2019', 'csae2020'] as const) {
    const [g] = buildRsi([{ ...EVENT, referencePaths: [{ points: PATH.slice(0, 1), radiusM: 5 }] }], AT, ctxFor(std)) as any[];
    t.notOk('referencePaths' in g.rsiFrame.rtes[0], `${std}: a one-point path is left out`);
  }
  const [many] = buildRsi([{ ...EVENT, referencePaths: Array.from({ length: 9 }, () => ({ points: Array.from({ length: 40 }, (_, k) => ({ lat: 48.25 + k * 1e-5, lon: 11.639 })), radiusM: 2 })) }], AT, ctxFor('csae2020')) as any[];
  const paths = many.rsiFrame.rtes[0].referencePaths;
  t.same([paths.length, paths[0].activePath.length], [8, 32], 'at most 8 paths of 32 points (first and last kept)');
  t.same(pointOf(paths[0].activePath[31]), { lat: 48.25 + 39e-5, lon: 11.639 });
  t.ok(m20.encode('MessageFrame', many as never).length > 0);
});

t.test('time details and lanes, by hand', async (t) => {
  t.same(rsiTimeDetails({ startTime: '2025-12-31T22:00:00.000Z' }, AT), { startTime: 0 }, 'started last year: active since minute 0');
  t.equal(rsiTimeDetails({ endTime: '2027-01-01T01:00:00.000Z' }, AT), undefined, 'an end next year cannot be stated');
  t.same(rsiTimeDetails({ untilMs: AT + 61_000 }, AT), { endTime: MOY_AT + 2 }, 'a cloud event ends when it expires (08:31:21 -> minute 08:32)');
  t.same(rsiTimeDetails({ endTime: '2026-03-01T08:40:00.000Z', untilMs: AT + 3_600_000 }, AT), { endTime: MOY_AT + 10 }, 'the earlier of endTime and expiry');
  t.same(rsiTimeDetails({ endTime: '2026-12-31T23:59:59.000Z' }, Date.UTC(2026, 5, 1)), { endTime: 365 * 1440 }, '2026 is no leap year: the last minute is 525599 + 1');
  t.equal(referenceLanes([1, 2]), '6000');
  t.equal(referenceLanes([15]), '0001');
  t.equal(referenceLanes([0, 16, 21]), undefined, 'lanes outside 1..15 cannot be named');
  t.equal(isoTimeMs('2026-02-30T00:00:00Z'), undefined, 'February 30th is no date');
  t.equal(isoTimeMs('2026-03-01T16:30:20+08:00'), AT);
  t.equal(isoTimeMs('2026-03-01 08:30'), undefined, 'a time zone is required');
});

t.test('detector → RSI: a stopped vehicle carries its reference path along lane 12 and the MAP link of its lane', async (t) => {
  const map = loadLaneMap(demoLaneMapPath());
  const d = new EventDetector(map, { codes: { 'stopped-vehicle': { csae: 999 } } });
  const p = onLane(map, 12, 60);
  const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
  for (let k = 0; k <= 310; k++) d.update([track(1, 'car', p.x, p.y)], T0 + k * 100);
  const intersection = { region: 0, id: 110 };
  const [e] = d.rsiEvents('csae2020', { intersection });
  t.ok(e, 'an event after 30 s');
  t.equal(e!.source, 'detection');
  const startMs = d.active()[0]!.startMs;
  t.ok(startMs >= T0 + 30_000 && startMs <= T0 + 30_200, 'started after 30 s');
  t.equal(e!.startTime, new Date(startMs).toISOString(), 'its start: when the event started');
  t.equal(e!.referencePaths?.length, 1);
  t.ok(e!.referencePaths![0]!.points.length >= 2);
  t.equal(e!.referencePaths![0]!.radiusM, 1.6, 'half the 3.25 m lane, to 0.1 m');
  t.same(e!.referenceLinks, [{ upstreamNodeId: { id: armNode(intersection, 1) }, downstreamNodeId: { id: 110 }, lanes: [12] }], 'the link from the north arm in, lane 12; region 0 left out as in the MAP');

  const ms = await csae('csae2020');
  const [f] = buildRsi([e!], T0 + 31_000, ctxFor('csae2020')) as any[];
  const rte = (ms.decode('MessageFrame', ms.encode('MessageFrame', f)) as any).rsiFrame.rtes[0];
  t.equal(rte.eventType, 999);
  t.equal(rte.eventSource, 'detection');
  t.same(rte.timeDetails, { startTime: minuteOfYear(startMs) });
  // Every path point lies on lane 12's centreline, upstream first (towards the stop line).
  const enu = new EnuFrame(map.reference);
  const lane = new Path(map.lanesById.get(12)!.points, 0.5);
  const along = rte.referencePaths[0].activePath.map((q: any) => {
    const ll = pointOf(q);
    const pr = lane.project(enu.toEnu(ll.lat, ll.lon, map.reference.elevation))!;
    t.ok(pr.dist < 0.1, `path point ${pr.dist.toFixed(3)} m from the lane centreline`);
    return pr.s;
  });
  t.ok(along.every((s: number, i: number) => i === 0 || s > along[i - 1]), 'points in the direction of travel');
  // The link is the MAP's: the inLink of approach 1 runs from the same upstream node to the intersection.
  const mapFrame = buildMap(map, { std: 'csae2020', msgCnt: 0, atMs: T0, intersection }) as any;
  const node = mapFrame.mapFrame.nodes[0];
  const inLink = node.inLinks.find((l: any) => l.lanes.some((x: any) => x.laneID === 12));
  t.same(rte.referenceLinks, [{ upstreamNodeId: inLink.upstreamNodeId, downstreamNodeId: node.id, referenceLanes: '0008' }], 'same node ids as the MAP sent; lane 12 is bit lane12');
});

t.test('reference links from the lane map', async (t) => {
  const map = loadLaneMap(demoLaneMapPath());
  const ref = { region: 7, id: 110 };
  t.same(referenceLinksOf(map, [12, 11, 25, 19], ref), [
    { upstreamNodeId: { region: 7, id: armNode(ref, 1) }, downstreamNodeId: { region: 7, id: 110 }, lanes: [11, 12] },
    { upstreamNodeId: { region: 7, id: 110 }, downstreamNodeId: { region: 7, id: armNode(ref, 2) } },
  ], 'ingress lanes 11 and 12: one link from the north arm in, both lanes named; egress lane 25: out to the east arm, a lane id beyond 15 cannot be named (the whole link); crosswalk 19: no link');
  t.same(referenceLinksOf(map, [21, 22], ref)[0], { upstreamNodeId: { region: 7, id: armNode(ref, 2) }, downstreamNodeId: { region: 7, id: 110 } });
  t.same(referenceLinksOf(map, [999]), [], 'unknown lanes: none');
});

t.test('config: signs and the new event fields', async (t) => {
  const rsi = (r: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...extra, applications: { rsi: r } });
  const errorsOf = (input: unknown) => validateConfig(input).errors.map(formatIssue);
  const ok = validateConfig(rsi({ events: [{ id: 1, type: 707, lat: 48.25, lon: 11.64, startTime: '2026-05-04T08:00:00+08:00', referencePaths: [{ points: [{ lat: 48.25, lon: 11.64 }, { lat: 48.251, lon: 11.64 }], radiusM: 3 }] }], signs: [{ id: 1, kind: 'speed-limit', speedLimitKmh: 30, lat: 48.25, lon: 11.64 }] }));
  t.equal(ok.ok, true, JSON.stringify(ok.errors));
  t.equal(ok.config!.applications.rsi.events[0]!.startTime, '2026-05-04T00:00:00.000Z', 'stored as UTC');
  t.same(ok.config!.applications.rsi.signs[0], { id: 1, kind: 'speed-limit', speedLimitKmh: 30, lat: 48.25, lon: 11.64, radiusM: 50, priority: 3 });
  t.equal(validateConfig(ok.config).ok, true, 'the resolved config validates to itself');

  const cases: Array<[string, unknown, RegExp]> = [
    ['sign without kind or type', rsi({ signs: [{ id: 1, lat: 0, lon: 0 }] }), /^applications\.rsi\.signs\[0\]\.kind: missing: a sign needs a kind \(road-works, speed-limit, school-zone\) or a type code$/],
    ['speed limit without value', rsi({ signs: [{ id: 1, kind: 'speed-limit', lat: 0, lon: 0 }] }), /^applications\.rsi\.signs\[0\]\.speedLimitKmh: missing: a speed-limit sign needs the limit it shows, in km\/h$/],
    ['value on another sign', rsi({ signs: [{ id: 1, kind: 'road-works', speedLimitKmh: 30, lat: 0, lon: 0 }] }), /^applications\.rsi\.signs\[0\]\.speedLimitKmh: only for kind speed-limit \(this sign is road-works\)$/],
    ['speed limit range', rsi({ signs: [{ id: 1, kind: 'speed-limit', speedLimitKmh: 300, lat: 0, lon: 0 }] }), /^applications\.rsi\.signs\[0\]\.speedLimitKmh: expected an integer in km\/h between 5 and 150, got 300$/],
    ['sign kind', rsi({ signs: [{ id: 1, kind: 'roadworks', lat: 0, lon: 0 }] }), /^applications\.rsi\.signs\[0\]\.kind: expected one of road-works, speed-limit, school-zone, got "roadworks" \(did you mean "road-works"\?\)$/],
    ['duplicate sign id', rsi({ signs: [{ id: 1, kind: 'road-works', lat: 0, lon: 0 }, { id: 1, kind: 'school-zone', lat: 0, lon: 0 }] }), /^applications\.rsi\.signs\[1\]\.id: duplicate sign id 1 \(also applications\.rsi\.signs\[0\]\)$/],
    ['too many signs', rsi({ signs: Array.from({ length: 17 }, (_, i) => ({ id: i, kind: 'road-works', lat: 0, lon: 0 })) }), /^applications\.rsi\.signs: allows at most 16 entries, got 17$/],
    ['school zone in J2735', rsi({ signs: [{ id: 1, kind: 'school-zone', lat: 0, lon: 0 }] }, { messageSet: 'j2735-2020' }), /^applications\.rsi\.signs\[0\]\.type: no confirmed ITIS code \(J2540\.2\) for a school-zone sign in j2735-2020 .*give the code from your copy of the standard as type$/],
    ['time without zone', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, startTime: '2026-05-04 08:00' }] }), /^applications\.rsi\.events\[0\]\.startTime: expected an ISO 8601 date and time with a time zone \(Z or \+hh:mm\), e\.g\. "2026-05-04T08:00:00\+08:00", got "2026-05-04 08:00"$/],
    ['no such day', rsi({ signs: [{ id: 1, kind: 'road-works', lat: 0, lon: 0, endTime: '2026-02-30T08:00:00Z' }] }), /^applications\.rsi\.signs\[0\]\.endTime: expected an ISO 8601 date and time/],
    ['end before start', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, startTime: '2026-05-04T08:00:00Z', endTime: '2026-05-04T07:00:00Z' }] }), /^applications\.rsi\.events\[0\]\.endTime: expected a time after startTime \(2026-05-04T08:00:00\.000Z\), got 2026-05-04T07:00:00\.000Z$/],
    ['one-point path', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, referencePaths: [{ points: [{ lat: 0, lon: 0 }], radiusM: 2 }] }] }), /^applications\.rsi\.events\[0\]\.referencePaths\[0\]\.points: needs at least 2 entries, got 1$/],
    ['path point', rsi({ signs: [{ id: 1, kind: 'road-works', lat: 0, lon: 0, referencePaths: [{ points: [{ lat: 0, lon: 0 }, { lat: 95, lon: 0 }], radiusM: 2 }] }] }), /^applications\.rsi\.signs\[0\]\.referencePaths\[0\]\.points\[1\]\.lat: expected a number in degrees between -90 and 90, got 95$/],
    ['path radius', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, referencePaths: [{ points: [{ lat: 0, lon: 0 }, { lat: 0, lon: 0.001 }] }] }] }), /^applications\.rsi\.events\[0\]\.referencePaths\[0\]\.radiusM: missing required key "radiusM"/],
    ['too many paths', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, referencePaths: Array.from({ length: 9 }, () => ({ points: [{ lat: 0, lon: 0 }, { lat: 0, lon: 0.001 }], radiusM: 1 })) }] }), /^applications\.rsi\.events\[0\]\.referencePaths: allows at most 8 entries, got 9$/],
    ['link lane', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, referenceLinks: [{ upstreamNodeId: { id: 1 }, downstreamNodeId: { id: 2 }, lanes: [16] }] }] }), /^applications\.rsi\.events\[0\]\.referenceLinks\[0\]\.lanes\[0\]: expected an integer between 1 and 15, got 16$/],
    ['link to itself', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, referenceLinks: [{ upstreamNodeId: { id: 5 }, downstreamNodeId: { id: 5 } }] }] }), /^applications\.rsi\.events\[0\]\.referenceLinks\[0\]\.downstreamNodeId: the same node as upstreamNodeId \(5\): a link joins two nodes$/],
    ['link node key', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, referenceLinks: [{ upstreamNode: { id: 5 }, downstreamNodeId: { id: 6 } }] }] }), /^applications\.rsi\.events\[0\]\.referenceLinks\[0\]\.upstreamNode: unknown key "upstreamNode" \(did you mean "upstreamNodeId"\?\)$/],
    ['event source', rsi({ events: [{ id: 1, type: 707, lat: 0, lon: 0, source: 'cloud' }] }), /^applications\.rsi\.events\[0\]\.source: expected one of unknown, police, government, meteorological, internet, detection, got "cloud"$/],
  ];
  for (const [name, input, re] of cases) {
    const errors = errorsOf(input);
    t.ok(errors.some((e) => re.test(e)), `${name}: ${re} in ${JSON.stringify(errors)}`);
  }
  t.equal(validateConfig(rsi({ signs: [{ id: 1, kind: 'school-zone', type: 4242, lat: 0, lon: 0 }] }, { messageSet: 'j2735-2020' })).ok, true, 'a school zone with its ITIS code from the deployer is fine');
  t.equal(validateConfig(rsi({ signs: [{ id: 1, kind: 'school-zone', lat: 0, lon: 0 }] })).ok, true, 'csae2020: GB 5768.2 242');

  // The complete example: every key of events and signs.
  const full = configCheck(new URL('../deploy/rsu.example.yaml', import.meta.url).pathname);
  t.equal(full.ok, true, JSON.stringify(full.errors));
  const r0 = full.config!.applications.rsi;
  t.same(r0.signs.map((s) => [s.kind, signFrom(s)]), [['road-works', 38], ['speed-limit', 85], ['school-zone', 242]]);
  t.same(r0.events[1]!.referenceLinks, [{ upstreamNodeId: { id: 1761 }, downstreamNodeId: { id: 110 }, lanes: [11, 12] }]);
  t.equal(r0.events[1]!.startTime, '2030-05-03T23:00:00.000Z');

  // From a file: the line of the bad key.
  const dir = mkdtempSync(join(tmpdir(), 'rsu-rsi-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rsu.yaml');
  writeFileSync(file, ['applications:', '  rsi:', '    signs:', '      - { id: 1, kind: speed-limit, lat: 48.25, lon: 11.64 }', '      - id: 2', '        kind: road-works', '        lat: 48.25', '        lon: 11.64', '        endTime: tomorrow', ''].join('\n'));
  const r = configCheck(file);
  t.same(r.errors.map(formatIssue).map((e) => e.replace(file, 'rsu.yaml').replace(/ \(.*$/, '')), ['rsu.yaml:4:9: applications.rsi.signs[0].speedLimitKmh: missing: a speed-limit sign needs the limit it shows, in km/h', 'rsu.yaml:9:9: applications.rsi.signs[1].endTime: expected an ISO 8601 date and time with a time zone']);
});

t.test('TIM field choices (no codec needed)', async (t) => {
  t.same(textPhrases('left lane closed for resurfacing works'), ['left lane closed', 'for resurfacing', 'works'], 'ITIStextPhrase: 16 characters at most, split at spaces');
  t.same(textPhrases('Fahrbahnverengung ahead'), ['Fahrbahnverengun', 'g ahead']);
  t.same(textPhrases('Baustelle Ä'), [], 'not ASCII: left out');
  t.equal(durationMinutes({ endTime: '2026-03-01T09:00:00.000Z' }, isoTimeMs('2026-03-01T08:00:00Z')!), 60, 'from its start to its end');
  t.equal(durationMinutes({ endTime: '2026-03-01T09:00:00.000Z', untilMs: AT + 60_000 }, AT), 1, 'the earlier of end and expiry');
  const far = pathRegion({ points: [{ lat: 48.25, lon: 11.639 }, { lat: 48.259, lon: 11.639 }, { lat: 49.25, lon: 11.639 }], radiusM: 400 })!;
  t.same((far.description as any).path.offset.ll.nodes.map((n: any) => Object.keys(n.delta)[0]), ['node-LL1', 'node-LL4', 'node-LatLon'], 'the smallest node-LL form per step; beyond 0.84 degree the absolute position');
  t.equal(far.laneWidth, 32767, 'twice 400 m is beyond LaneWidth: its maximum, 327.67 m');
  t.equal(pathRegion({ points: [{ lat: 48.25, lon: 11.639 }], radiusM: 5 }), undefined, 'NodeSetLL needs 2 points');
  const [f] = buildTim([EVENT], AT, ctxFor('j2735-2020'), SIGNS) as any[];
  t.same(f.value.dataFrames.map((d: any) => Object.keys(d.content)[0]), ['advisory', 'workZone', 'speedLimit'], 'school zone: no confirmed ITIS code, not sent');
  const withCode = buildTim([], AT, ctxFor('j2735-2020'), [{ ...SIGNS[2]!, type: 4242 }]) as any[];
  t.same(withCode[0].value.dataFrames[0].content, { genericSign: [{ item: { itis: 4242 } }] }, 'with the deployer\'s code it is');
});

for (const std of ['j2735-2016', 'j2735-2020'] as const) {
  t.test(`${std}: TIM with start, duration, path regions and signs encodes and decodes to what was built`, { skip: noJ2735 }, async (t) => {
    const ms = (await loadMessageSet(std)) as MessageSet;
    const dur = std === 'j2735-2016' ? 'duratonTime' : 'durationTime';
    const frames = buildRsi([EVENT], AT, ctxFor(std), SIGNS) as any[];
    t.equal(frames.length, 1);
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frames[0])) as any;
    t.same(back, frames[0], 'round trip');
    const [ev, works, limit] = back.value.dataFrames;
    t.equal(ev.frameType, 'advisory');
    t.same([ev.startYear, ev.startTime, ev[dur]], [2026, MOY_AT - 30, 120], 'starts 08:00, lasts to 09:59:30 (2 h, rounded up)');
    t.equal(ev.regions.length, 2, 'a circle, then the reference path');
    const path = ev.regions[1];
    t.same(path.anchor, { lat: Math.round(PATH[0]!.lat * 1e7), long: Math.round(PATH[0]!.lon * 1e7) });
    t.equal(path.laneWidth, 320, 'twice the 1.6 m path radius, in cm');
    t.equal(path.directionality, 'forward');
    t.same(path.description.path.offset.ll.nodes.map((n: any) => n.delta), [{ 'node-LL1': { lon: 0, lat: 0 } }, ...Array.from({ length: 4 }, () => ({ 'node-LL1': { lon: 0, lat: -1000 } }))], 'node-LL steps from the anchor, 1e-4 degree (about 11 m) south each');
    t.equal(works.frameType, 'roadSignage');
    t.equal(works.msgId.roadSignID.mutcdCode, 'maintenance');
    t.same(works.content.workZone.map((i: any) => i.item), [{ itis: 1025 }, { text: 'left lane closed' }, { text: 'for resurfacing' }, { text: 'works' }]);
    t.same([works.startTime, works[dur]], [MOY_AT, Math.ceil((Date.UTC(2026, 2, 2, 18) - AT) / 60000)], 'no start: from now, to its end');
    t.equal(limit.msgId.roadSignID.mutcdCode, 'regulatory');
    t.same(limit.content.speedLimit.map((i: any) => i.item), [{ itis: 2564 }, { text: '30 km/h' }], 'ITIS speed-restriction and the limit');
    t.same([limit.startTime, limit[dur]], [(31 + 27) * 1440 + 23 * 60, 32000], 'started Feb 28th 23:00, no end: forever');
  });
}
