// Timing consistency from one SPAT to the next: across a plan change and a controller restart the end of the
// same window never moves earlier in absolute time and no window starts or ends in the past.
import t from 'tap';
import { FixedTimePlan, type SignalSnapshot } from '../runtime/apps/signal-plan.js';
import { SimulatedController } from '../hw/signal/simulated.js';
import type { SpatPhase } from '../runtime/config/types.js';

const planA: SpatPhase[] = [
  { id: 1, green: 25, yellow: 3, red: 32, offset: 0 },
  { id: 2, green: 25, yellow: 3, red: 32, offset: 30 },
];
const planB: SpatPhase[] = [
  { id: 1, green: 40, yellow: 3, red: 47, offset: 0 },
  { id: 2, green: 40, yellow: 3, red: 47, offset: 45 },
];

/** Checks a sequence of snapshots; returns the violations. */
function violations(snaps: SignalSnapshot[]): string[] {
  const out: string[] = [];
  const ends = new Map<string, number>(); // phase:light:absolute start → absolute end
  for (const s of snaps) {
    for (const p of s.phases) {
      for (const w of p.windows) {
        if (w.startInMs < 0 || w.endInMs < 0) out.push(`${s.atMs} phase ${p.id} ${w.light}: starts/ends in the past`);
        if (w.endUnknown) continue;
        const cur = p.windows[0] === w;
        const key = `${p.id}:${w.light}:${cur ? 'cur' : s.atMs + w.startInMs}`;
        const end = s.atMs + w.endInMs;
        const prev = ends.get(key);
        if (prev !== undefined && end < prev - 1) out.push(`${s.atMs} phase ${p.id} ${w.light}: end moved back by ${prev - end} ms`);
        ends.set(key, end);
      }
      // a light change forgets the current window
      for (const k of [...ends.keys()]) if (k.startsWith(`${p.id}:`) && k.endsWith(':cur') && !k.startsWith(`${p.id}:${p.light}:`)) ends.delete(k);
    }
  }
  return out;
}

t.test('fixed time: the simulator agrees with FixedTimePlan', async (t) => {
  const sim = new SimulatedController({ mode: 'fixed', phases: planA });
  await sim.start();
  const ref = new FixedTimePlan(planA);
  for (let at = 1_750_000_000_000; at < 1_750_000_000_000 + 120_000; at += 700) {
    const a = sim.snapshot(at)!;
    const b = ref.snapshot(at);
    t.same(a.phases.map((p) => ({ id: p.id, light: p.light, windows: p.windows.map(({ light, startInMs, endInMs, nextStartInMs, nextDurationMs }) => ({ light, startInMs, endInMs, nextStartInMs, nextDurationMs })) })), b.phases, `at ${at}`);
  }
});

t.test('plan change: announced windows are kept, no jump', async (t) => {
  const sim = new SimulatedController({ mode: 'fixed', phases: planA });
  await sim.start();
  const t0 = 1_750_000_012_345;
  const snaps: SignalSnapshot[] = [];
  let effective = 0;
  for (let at = t0; at < t0 + 600_000; at += 100) {
    if (at === t0 + 20_000) effective = sim.setPlan(planB, at);
    snaps.push(sim.snapshot(at)!);
  }
  t.ok(effective > t0 + 20_000 + 180_000 - 1, 'takes effect at a cycle boundary three cycles ahead');
  t.same(violations(snaps), []);
  const after = sim.snapshot(effective + 1000)!;
  t.equal(after.phases[0]!.windows[0]!.endInMs, 39_000, 'the new plan runs after the switch');
});

t.test('controller restart: no SPAT while down, consistent after', async (t) => {
  const t0 = 1_750_000_000_000;
  let sim = new SimulatedController({ mode: 'fixed', phases: planA });
  await sim.start();
  const snaps: SignalSnapshot[] = [];
  for (let at = t0; at < t0 + 200_000; at += 100) {
    if (at === t0 + 50_000) await sim.close();
    if (at === t0 + 53_000) {
      sim = new SimulatedController({ mode: 'fixed', phases: planA });
      await sim.start();
    }
    const s = sim.snapshot(at);
    if (at >= t0 + 50_000 && at < t0 + 53_000) t.equal(s, undefined);
    if (s) snaps.push(s);
  }
  t.same(violations(snaps), []);
});

t.test('actuated: min end only moves later, windows never in the past', async (t) => {
  const t0 = 1_750_000_000_000;
  const sim = new SimulatedController({ mode: 'actuated', startMs: t0, stages: [
    { phases: [1], minGreen: 10, maxGreen: 30, passage: 3, yellow: 3, red: 2 },
    { phases: [2], minGreen: 8, maxGreen: 20, passage: 2, yellow: 3, red: 2 },
  ] });
  await sim.start();
  const snaps: SignalSnapshot[] = [];
  for (let at = t0; at < t0 + 300_000; at += 100) {
    if (at % 4000 === 0 && at < t0 + 100_000) sim.call(1, at);
    snaps.push(sim.snapshot(at)!);
  }
  const s = snaps[50]!; // t0 + 5 s, phase 1 green
  t.equal(s.phases[0]!.light, 'green');
  const w = s.phases[0]!.windows[0]!;
  t.ok(w.maxEndInMs! >= w.minEndInMs! && w.endInMs === w.minEndInMs, 'likely = min, max ≥ min');
  t.same(violations(snaps), []);
});

t.test('flash, dark, preemption are represented', async (t) => {
  const sim = new SimulatedController({ mode: 'fixed', phases: planA });
  await sim.start();
  sim.setFlash(true);
  const f = sim.snapshot(1_750_000_000_000)!;
  t.same([f.status!.flash, f.phases[0]!.display, f.phases[0]!.windows[0]!.endUnknown], [true, 'flashing', true]);
  sim.setFlash(false);
  sim.setDark(true);
  t.same(sim.snapshot(1_750_000_000_000)!.phases.map((p) => p.display), ['dark', 'dark']);
  sim.setDark(false);
  sim.setPreempt(true);
  t.equal(sim.snapshot(1_750_000_000_000)!.status!.preempt, true);
});
