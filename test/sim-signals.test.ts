// The simulator's signal plan: the fixed-time semantics of the config's SPAT phases (cycles from the Unix epoch,
// green from `offset`), the same as the SPAT builder's when runtime/apps/signal-plan.ts is there.

import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultConfig } from '../runtime/config/index.js';
import { Rng, SignalPlan } from '../runtime/sim/index.js';

const phases = defaultConfig().applications.spat.phases;

t.test('demo plan: phase 1 green 0-25 s, phase 2 green 30-55 s of each minute', async (t) => {
  const plan = new SignalPlan(phases);
  t.equal(plan.cycleS, 60);
  const at = (s: number) => s * 1000 + 1_750_000_020_000 - (1_750_000_020_000 % 60000); // a whole minute + s
  t.same([0, 24.9, 25, 27.9, 28, 59.9].map((s) => plan.light(1, at(s))), ['green', 'green', 'yellow', 'yellow', 'red', 'red']);
  t.same([0, 29.9, 30, 54.9, 55, 57.9, 58].map((s) => plan.light(2, at(s))), ['red', 'red', 'green', 'green', 'yellow', 'yellow', 'red']);
  const st = plan.state(1, at(10));
  t.same([st.light, st.elapsedS, st.remainingS], ['green', 10, 15]);
  t.equal(plan.light(99, at(10)), 'green', 'a group without a phase is unsignalised');
  t.notOk(plan.overlap(1, 2), 'phases 1 and 2 never show green/yellow together');
  t.ok(plan.overlap(1, 1));
  t.throws(() => new SignalPlan([{ id: 1, green: 10, yellow: 3, red: 10, offset: 0 }, { id: 2, green: 10, yellow: 3, red: 20, offset: 0 }]), /one cycle length/);
});

const appsPlan = join(import.meta.dirname, '..', 'runtime', 'apps', 'signal-plan.ts');
t.test('agrees with the SPAT builder\'s plan', { skip: existsSync(appsPlan) ? false : 'runtime/apps/signal-plan.ts not present' }, async (t) => {
  const mod = (await import(pathToFileURL(appsPlan).href)) as { FixedTimePlan: new (p: typeof phases) => { snapshot(ms: number): { phases: Array<{ id: number; light: string }> } } };
  const theirs = new mod.FixedTimePlan(phases);
  const ours = new SignalPlan(phases);
  const rng = new Rng('signals');
  let diff = 0;
  for (let i = 0; i < 5000; i++) {
    const ms = 1_700_000_000_000 + Math.floor(rng.next() * 1e9);
    for (const p of theirs.snapshot(ms).phases) if (p.light !== ours.light(p.id, ms)) diff++;
  }
  t.equal(diff, 0, 'same light for every phase at 5000 random instants');
});

t.test('the RNG is deterministic, independent per stream, and uniform', async (t) => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 100 }, () => a.next());
  t.same(Array.from({ length: 100 }, () => b.next()), xs, 'same seed, same numbers');
  t.not(new Rng(43).next(), xs[0], 'another seed, other numbers');
  t.not(new Rng('42').next(), xs[0], 'the string "42" is another seed than the number 42');
  t.not(a.fork('x').next(), a.fork('y').next(), 'streams differ');
  t.equal(new Rng(42).fork('x').next(), new Rng(42).fork('x').next(), 'a stream depends only on seed and label');
  const r = new Rng('uniform');
  const n = 100000;
  let sum = 0;
  let sum2 = 0;
  const bins = new Array(10).fill(0) as number[];
  for (let i = 0; i < n; i++) {
    const x = r.next();
    bins[Math.floor(x * 10)]!++;
    const g = r.normal();
    sum += g;
    sum2 += g * g;
  }
  t.ok(bins.every((c) => Math.abs(c - n / 10) < 5 * Math.sqrt(n / 10)), `deciles ${bins.join(' ')}`);
  t.ok(Math.abs(sum / n) < 0.02 && Math.abs(sum2 / n - 1) < 0.03, `normal: mean ${(sum / n).toFixed(3)}, variance ${(sum2 / n).toFixed(3)}`);
  const pm = Array.from({ length: 20000 }, () => r.poisson(3.5)).reduce((s, v) => s + v, 0) / 20000;
  t.ok(Math.abs(pm - 3.5) < 0.1, `poisson mean ${pm.toFixed(2)}`);
});
