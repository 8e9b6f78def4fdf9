// A fixed-time signal plan: each phase's light at any instant and the times of its next changes. This is what
// the SPAT builders encode; a real signal controller adapter produces the same SignalSnapshot.
import type { SpatPhase } from '../config/types.js';

export type Light = 'green' | 'yellow' | 'red';

export interface LightWindow {
  light: Light;
  /** From the snapshot time to this window's start (0 when it is the current one), ms. */
  startInMs: number;
  /** From the snapshot time to this window's end, ms. */
  endInMs: number;
  /** From the snapshot time to the start of the window after this one with the same light, ms. */
  nextStartInMs: number;
  /** Duration of that next window, ms. */
  nextDurationMs: number;
}

export interface PhaseSnapshot {
  id: number;
  light: Light;
  /** The current window first, then the next two: one window per light, in the order they come. */
  windows: LightWindow[];
}

export interface SignalSnapshot {
  atMs: number;
  phases: PhaseSnapshot[];
}

export class FixedTimePlan {
  readonly cycleMs: number;

  constructor(private readonly phases: SpatPhase[]) {
    if (!phases.length) throw new Error('a signal plan needs at least one phase');
    const cycles = new Set(phases.map((p) => Math.round((p.green + p.yellow + p.red) * 1000)));
    if (cycles.size !== 1) throw new Error(`all phases must share one cycle length, got ${[...cycles].map((c) => c / 1000).join(', ')} s`);
    this.cycleMs = [...cycles][0]!;
  }

  snapshot(atMs: number): SignalSnapshot {
    return { atMs, phases: this.phases.map((p) => this.phase(p, atMs)) };
  }

  private phase(p: SpatPhase, atMs: number): PhaseSnapshot {
    const C = this.cycleMs;
    const g = p.green * 1000;
    const y = p.yellow * 1000;
    const r = p.red * 1000;
    // Cycles count from the Unix epoch; u is the time since this phase's green began in the current cycle.
    const u = (((atMs - p.offset * 1000) % C) + C) % C;
    const seq = (
      [
      { light: 'green', start: 0, len: g },
      { light: 'yellow', start: g, len: y },
      { light: 'red', start: g + y, len: r },
      ] as { light: Light; start: number; len: number }[]
    ).filter((s) => s.len > 0);
    const cur = seq.findIndex((s) => u >= s.start && u < s.start + s.len);
    const windows: LightWindow[] = [];
    for (let k = 0; k < seq.length; k++) {
      const s = seq[(cur + k) % seq.length]!;
      const wrap = (cur + k) >= seq.length ? C : 0;
      const startIn = k === 0 ? 0 : s.start + wrap - u;
      const endIn = s.start + wrap + s.len - u;
      windows.push({ light: s.light, startInMs: startIn, endInMs: endIn, nextStartInMs: (k === 0 ? s.start : s.start + wrap) + C - u, nextDurationMs: s.len });
    }
    return { id: p.id, light: seq[cur]!.light, windows };
  }
}
