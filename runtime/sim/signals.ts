// Signal states of a fixed-time plan (the config's SPAT phases), with the semantics the SPAT builder uses:
// cycles count from the Unix epoch, each phase's green starts `offset` seconds into the cycle, then yellow, then
// red. The cycle arithmetic is the SPAT builder's own (runtime/apps/signal-plan.ts), so simulated road users stop
// on exactly the lights the RSU broadcasts; test/sim-signals.test.ts checks that both agree.

import { cyclePositionMs, planCycleMs } from '../apps/signal-plan.js';
import type { SpatPhase } from '../config/types.js';

export type Light = 'green' | 'yellow' | 'red';

export interface LightState {
  light: Light;
  /** Seconds since this light came on. */
  elapsedS: number;
  /** Seconds until it changes. */
  remainingS: number;
}

export class SignalPlan {
  readonly cycleS: number;
  private readonly byId = new Map<number, SpatPhase>();

  constructor(readonly phases: readonly SpatPhase[]) {
    this.cycleS = planCycleMs(phases) / 1000;
    for (const p of phases) this.byId.set(p.id, p);
  }

  has(group: number): boolean {
    return this.byId.has(group);
  }

  /**
   * State of a signal group at a time (ms since the Unix epoch). A group the plan does not know is green
   * (an unsignalised movement).
   */
  state(group: number | undefined, atMs: number): LightState {
    const p = group === undefined ? undefined : this.byId.get(group);
    if (!p) return { light: 'green', elapsedS: Infinity, remainingS: Infinity };
    const C = this.cycleS * 1000;
    const u = cyclePositionMs(p, C, atMs) / 1000;
    if (u < p.green) return { light: 'green', elapsedS: u, remainingS: p.green - u };
    if (u < p.green + p.yellow) return { light: 'yellow', elapsedS: u - p.green, remainingS: p.green + p.yellow - u };
    return { light: 'red', elapsedS: u - p.green - p.yellow, remainingS: C / 1000 - u };
  }

  light(group: number | undefined, atMs: number): Light {
    return this.state(group, atMs).light;
  }

  /** Whether two groups are ever green or yellow at the same time (sampled every 0.1 s over one cycle). */
  overlap(g1: number | undefined, g2: number | undefined): boolean {
    if (g1 === undefined || g2 === undefined || g1 === g2) return true;
    if (!this.byId.has(g1) || !this.byId.has(g2)) return true;
    for (let t = 0; t < this.cycleS * 1000; t += 100) if (this.light(g1, t) !== 'red' && this.light(g2, t) !== 'red') return true;
    return false;
  }
}
