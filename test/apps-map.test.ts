// MAP from the demo lane map: CSAE and J2735 encodings carry every lane, its connections and signal groups.
import t from 'tap';
import { loadMessageSet, type MessageSet } from '../codecs/index.js';
import { buildMap, maneuverBits } from '../runtime/apps/map.js';
import { demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { RsiEvents, parseRsiDownlink } from '../runtime/downlinks.js';

const lm = loadLaneMap(demoLaneMapPath());

t.test('maneuver bits', async (t) => {
  t.equal(maneuverBits(['straight']), '8000');
  t.equal(maneuverBits(['straight', 'left', 'right']), 'E000');
  t.equal(maneuverBits(['uTurn']), '1000');
});

for (const std of ['csae2019', 'csae2020'] as const) {
  t.test(`${std} MapData of the demo intersection`, async (t) => {
    const ms = (await loadMessageSet(std)) as MessageSet;
    const frame = buildMap(lm, { std, msgCnt: 7, atMs: Date.UTC(2026, 0, 1, 0, 1) }) as any;
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frame)) as any;
    t.same(back, frame);
    const node = back.mapFrame.nodes[0];
    t.equal(back.mapFrame.msgCnt, 7);
    t.equal(node.id.id, lm.intersectionId);
    const lanes = node.inLinks.flatMap((l: any) => l.lanes);
    const ingress = lm.lanes.filter((l) => l.direction === 'ingress');
    t.same(lanes.map((l: any) => l.laneID).filter((id: number) => ingress.some((x) => x.laneId === id)).sort((a: number, b: number) => a - b), ingress.map((l) => l.laneId).sort((a, b) => a - b), 'every ingress lane is in a link');
    const conn = lanes.flatMap((l: any) => l.connectsTo ?? []);
    t.same(conn.length, ingress.reduce((n, l) => n + Math.min(8, l.connectsTo.length), 0), 'every connection');
    t.ok(conn.every((c: any) => c.phaseId === undefined || typeof c.phaseId === 'number'));
    t.equal(node.inLinks.length, lm.approaches.length, 'a link per approach');
  });
}

t.test('J2735 MapData of the demo intersection', { skip: process.env.RSU_J2735_ASN1_DIR ? false : 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project' }, async (t) => {
  for (const std of ['j2735-2020', 'j2735-2016'] as const) {
    const ms = (await loadMessageSet(std)) as MessageSet;
    const frame = buildMap(lm, { std, msgCnt: 7, atMs: Date.now() }) as any;
    const back = ms.decode('MessageFrame', ms.encode('MessageFrame', frame)) as any;
    t.same(back, frame, `${std} round trip`);
    const g = back.value.intersections[0];
    t.equal(g.laneSet.length, lm.lanes.length);
    const lane = g.laneSet.find((l: any) => l.ingressApproach !== undefined);
    const src = lm.lanesById.get(lane.laneID)!;
    const first = Object.values(lane.nodeList.nodes[0].delta)[0] as { x: number; y: number };
    const stop = src.points.at(-1)!;
    t.ok(Math.abs(first.x - stop.x * 100) <= 1 && Math.abs(first.y - stop.y * 100) <= 1, 'an ingress lane starts at its stop line');
    t.equal(back.value.msgIssueRevision, g.revision);
    const again = buildMap(lm, { std, msgCnt: 8, atMs: Date.now() + 60_000 }) as any;
    t.equal(again.value.msgIssueRevision, back.value.msgIssueRevision, 'the revision changes only with the content');
  }
});

t.test('cloud RSI events: validated, applied until they expire', async (t) => {
  const ok = Buffer.from(JSON.stringify({ events: [{ id: 3, type: 100, lat: 48.1, lon: 11.6, radiusM: 30, priority: 4, durationS: 60 }] }));
  t.same(parseRsiDownlink(ok).ok, true);
  const bad = (o: unknown) => (parseRsiDownlink(Buffer.from(JSON.stringify(o))) as { reason: string }).reason;
  t.match(bad({ events: [{ id: 300, type: 1, lat: 0, lon: 0, radiusM: 1, priority: 1, durationS: 1 }] }), /events\[0\]\.id: expected an integer 0\.\.255, got 300/);
  t.match(bad({ events: [] }), /non-empty "events"/);
  t.match(bad({ events: [{ id: 1, type: 1, lat: 91, lon: 0, radiusM: 1, priority: 1, durationS: 1 }] }), /lat: expected a number -90\.\.90/);
  t.match((parseRsiDownlink(Buffer.from('{oops')) as { reason: string }).reason, /not JSON/);
  const ev = new RsiEvents([{ id: 1, type: 5, lat: 48, lon: 11, radiusM: 10, priority: 1 }]);
  ev.addFromCloud(ok, 1000);
  t.same(ev.active(2000).map((e) => e.id), [1, 3]);
  t.equal(ev.active(2000)[1]!.untilMs, 61_000, 'a cloud event carries its end');
  t.same(ev.active(61_000).map((e) => e.id), [1], 'expired after 60 s');
  t.throws(() => ev.addFromCloud(Buffer.from('{}'), 0), /events/);
});
