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
  /**
   * Optional (signal controller adapters, hw/signal). The controller's bounds on this window's end, ms from the
   * snapshot time; endInMs is then the likely end. Both absent: the end is certain (fixed time); only one given: the
   * other bound is not known.
   */
  minEndInMs?: number;
  maxEndInMs?: number;
  /** J2735 TimeIntervalConfidence (0..15) of endInMs; absent: certain (15). */
  confidence?: number;
  /** True when the controller does not say when this window ends; endInMs, minEndInMs, maxEndInMs are then 0. */
  endUnknown?: boolean;
  /** True when the window after this one with the same light is not known; nextStartInMs, nextDurationMs are 0. */
  nextUnknown?: boolean;
}

export interface PhaseSnapshot {
  id: number;
  light: Light;
  /** The current window first, then the next two: one window per light, in the order they come. */
  windows: LightWindow[];
  /**
   * Optional (signal controller adapters): how the light is shown. 'flashing' (flash operation: flashing red means
   * stop then proceed, flashing yellow caution) and 'dark' (lamps off; `light` is then 'red' only as a placeholder
   * and must not be encoded as red). Absent: 'steady'.
   */
  display?: 'steady' | 'flashing' | 'dark';
}

/** Optional intersection-wide state reported by a signal controller (hw/signal). */
export interface IntersectionSignalStatus {
  /** The controller is in flash (startup, fault, manual, MMU, preemption flash). */
  flash: boolean;
  /** A preemption (rail, emergency vehicle) is active. */
  preempt: boolean;
  /** Priority (transit) is being served. */
  priority: boolean;
  /** Lamps are off (all dark). */
  dark: boolean;
  /** Manual control (police panel, center manual). */
  manual: boolean;
  /** The controller runs a fixed-time plan (no actuation): ends are certain. */
  fixedTime: boolean;
  /** The controller announced a discontinuous change (plan change, restart) since the previous state. */
  discontinuity?: boolean;
}

export interface SignalSnapshot {
  atMs: number;
  phases: PhaseSnapshot[];
  /** Optional: intersection-wide controller state (absent for the configured fixed-time plan). */
  status?: IntersectionSignalStatus;
}

/** The cycle length of a fixed-time plan, ms; throws unless every phase has the same one. */
export function planCycleMs(phases: readonly SpatPhase[]): number {
  if (!phases.length) throw new Error('a signal plan needs at least one phase');
  const cycles = new Set(phases.map((p) => Math.round((p.green + p.yellow + p.red) * 1000)));
  if (cycles.size !== 1) throw new Error(`all phases must share one cycle length, got ${[...cycles].map((c) => c / 1000).join(', ')} s`);
  return [...cycles][0]!;
}

/** Time since the phase's green began in the current cycle, ms: cycles count from the Unix epoch. */
export function cyclePositionMs(p: SpatPhase, cycleMs: number, atMs: number): number {
  return (((atMs - p.offset * 1000) % cycleMs) + cycleMs) % cycleMs;
}

export class FixedTimePlan {
  readonly cycleMs: number;

  constructor(private readonly phases: SpatPhase[]) {
    this.cycleMs = planCycleMs(phases);
  }

  snapshot(atMs: number): SignalSnapshot {
    return { atMs, phases: this.phases.map((p) => this.phase(p, atMs)) };
  }

  private phase(p: SpatPhase, atMs: number): PhaseSnapshot {
    const C = this.cycleMs;
    const g = p.green * 1000;
    const y = p.yellow * 1000;
    const r = p.red * 1000;
    const u = cyclePositionMs(p, C, atMs);
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
