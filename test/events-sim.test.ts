// A seeded simulator run (normal traffic with red-light queues, jaywalkers) produces no stopped-vehicle events.
import t from 'tap';
import { defaultConfig } from '../runtime/config/index.js';
import { demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { Scenario } from '../runtime/sim/index.js';
import { EventDetector, type Light } from '../runtime/apps/events/index.js';
import { noise, track } from './fixtures/events/tracks.js';

const map = loadLaneMap(demoLaneMapPath());
const phases = defaultConfig().applications.spat.phases;

for (const withSignals of [true, false]) {
  t.test(`10 simulated minutes (seed events-1), ${withSignals ? 'with' : 'without'} signal states: no false stopped vehicles`, async (t) => {
    const sc = new Scenario({ seed: 'events-1', laneMap: map, phases, spawn: { vehiclesPerHour: 500 }, warmupS: 60 });
    const d = new EventDetector(map);
    const rnd = noise(11);
    const kinds = new Map<string, number>();
    let maxQueue = 0;
    const groups = [...new Set(phases.map((p) => p.id))];
    for (let k = 0; k < 6000; k++) {
      sc.step(0.1);
      const tick = sc.groundTruth();
      const tracks = tick.objects.map((o) => {
        // Ground truth with tracker-like noise: 0.15 m position, 0.2 m/s speed.
        const v = Math.max(0, o.speed + rnd() * 0.4);
        const tr = track(o.id, o.class, o.position.x + rnd() * 0.3, o.position.y + rnd() * 0.3, v, o.heading);
        tr.size = o.size;
        return tr;
      });
      const signals: Record<number, Light> = {};
      for (const g of groups) signals[g] = sc.signals.light(g, sc.timeMs) as Light;
      const r = d.update(tracks, sc.timeMs, withSignals ? { signals } : {});
      for (const e of r.started) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
      for (const a of d.approaches()) maxQueue = Math.max(maxQueue, a.queueLengthM);
    }
    t.equal(kinds.get('stopped-vehicle') ?? 0, 0, 'no stopped-vehicle events in normal red-light queues');
    t.equal(kinds.get('wrong-way') ?? 0, 0, 'no wrong-way events');
    t.ok(maxQueue > 20, `red-light queues were seen (max ${maxQueue} m)`);
    t.comment(`events started: ${JSON.stringify(Object.fromEntries(kinds))}`);
  });
}
