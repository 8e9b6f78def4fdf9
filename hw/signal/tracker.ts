// Turns a controller's reports (current light + time to change, relative to the moment of the report) into
// snapshots whose timing is consistent from one SPAT to the next:
// - ends are kept in absolute time, so a snapshot taken between reports counts down from *its* time (no stale
//   "now" start times) and never reports an end in the past;
// - the end of the same window never moves backwards: report jitter (tenths of a second, arrival delay) within
//   `jitterMs` is absorbed, and an earlier end is only accepted as a light change;
// - a state older than `staleAfterMs` is not returned (the SPAT stops) and raises the health alarm.
import type { LightWindow, PhaseSnapshot } from '../../runtime/apps/signal-plan.js';
import type { ControllerHealth, Observation, SignalErrorReason, SignalSnapshot } from './types.js';
import { SignalInputError } from './types.js';

interface PhaseState {
  light: string;
  display: string;
  sinceMs: number;
  minEndAbs?: number;
  maxEndAbs?: number;
}

export interface TrackerOptions {
  source: string;
  /** A state older than this is stale: snapshot() returns undefined. Default 1000 ms (TSCBM comes at 10 Hz). */
  staleAfterMs?: number;
  /** Report-to-report movements of an end smaller than this are jitter and ignored. Default 250 ms. */
  jitterMs?: number;
  now?: () => number;
}

export class StateTracker {
  private phases = new Map<number, PhaseState>();
  private last?: Observation;
  private lastAtMs?: number;
  private updates = 0;
  private errors: Partial<Record<SignalErrorReason, number>> = {};
  private lastError?: ControllerHealth['lastError'];
  readonly staleAfterMs: number;
  private readonly jitterMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: TrackerOptions) {
    this.staleAfterMs = opts.staleAfterMs ?? 1000;
    this.jitterMs = opts.jitterMs ?? 250;
    this.now = opts.now ?? Date.now;
  }

  /** Forget everything (a controller restart announced by the adapter). */
  reset(): void {
    this.phases.clear();
    this.last = undefined;
  }

  update(obs: Observation): void {
    for (const p of obs.phases) {
      const prev = this.phases.get(p.signalGroup);
      const minAbs = p.minEndInMs === undefined ? undefined : obs.atMs + p.minEndInMs;
      const maxAbs = p.maxEndInMs === undefined ? undefined : obs.atMs + p.maxEndInMs;
      const same = prev && prev.light === p.light && prev.display === p.display && !obs.status.discontinuity;
      if (!same) {
        this.phases.set(p.signalGroup, { light: p.light, display: p.display, sinceMs: obs.atMs, minEndAbs: minAbs, maxEndAbs: maxAbs });
        continue;
      }
      prev.minEndAbs = this.forward(prev.minEndAbs, minAbs);
      prev.maxEndAbs = this.forward(prev.maxEndAbs, maxAbs);
      if (prev.minEndAbs !== undefined && prev.maxEndAbs !== undefined && prev.maxEndAbs < prev.minEndAbs) prev.maxEndAbs = prev.minEndAbs;
    }
    const seen = new Set(obs.phases.map((p) => p.signalGroup));
    for (const id of [...this.phases.keys()]) if (!seen.has(id)) this.phases.delete(id);
    this.last = obs;
    this.lastAtMs = obs.atMs;
    this.updates++;
  }

  /** Same window: keep the old end unless the new one is later by more than the jitter. */
  private forward(prev: number | undefined, next: number | undefined): number | undefined {
    if (next === undefined) return undefined;
    if (prev === undefined) return next;
    return next > prev + this.jitterMs ? next : prev;
  }

  error(e: unknown, atMs = this.now()): SignalInputError {
    const err = e instanceof SignalInputError ? e : new SignalInputError('bad-frame', e instanceof Error ? e.message : String(e));
    this.errors[err.reason] = (this.errors[err.reason] ?? 0) + 1;
    this.lastError = { reason: err.reason, message: `${this.opts.source}: ${err.message}`, atMs };
    return err;
  }

  isStale(atMs: number): boolean {
    return this.lastAtMs === undefined || atMs - this.lastAtMs > this.staleAfterMs;
  }

  snapshot(atMs: number): SignalSnapshot | undefined {
    const obs = this.last;
    if (!obs || this.isStale(atMs)) return undefined;
    const phases: PhaseSnapshot[] = [];
    for (const [id, st] of this.phases) {
      const rel = (abs: number | undefined) => (abs === undefined ? undefined : Math.max(0, abs - atMs));
      const min = rel(st.minEndAbs);
      const max = rel(st.maxEndAbs);
      const endUnknown = min === undefined && max === undefined;
      const likely = min ?? max ?? 0;
      const w: LightWindow = {
        light: st.light as LightWindow['light'],
        startInMs: 0,
        endInMs: likely,
        nextStartInMs: 0,
        nextDurationMs: 0,
        nextUnknown: true,
        confidence: endUnknown ? 0 : min !== undefined && max !== undefined && max - min <= 100 ? 15 : obs.status.fixedTime ? 15 : 6,
        // A bound the controller did not report stays absent: the SPAT then leaves it out instead of claiming it.
        ...(endUnknown ? { endUnknown: true, minEndInMs: 0, maxEndInMs: 0 } : { minEndInMs: min ?? likely, ...(max !== undefined ? { maxEndInMs: max } : {}) }),
      };
      phases.push({ id, light: st.light as PhaseSnapshot['light'], windows: [w], display: st.display as PhaseSnapshot['display'] });
    }
    phases.sort((a, b) => a.id - b.id);
    return { atMs, phases, status: { ...obs.status } };
  }

  health(connectedHint = true): ControllerHealth {
    const at = this.now();
    const stale = this.isStale(at);
    return {
      source: this.opts.source,
      connected: connectedHint && !stale,
      ...(this.lastAtMs !== undefined ? { lastUpdateAgeMs: at - this.lastAtMs } : {}),
      updates: this.updates,
      errors: { ...this.errors },
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(stale
        ? { alarm: this.lastAtMs === undefined ? `${this.opts.source}: no controller state received yet${this.lastError ? ` (last error: ${this.lastError.message})` : ''}` : `${this.opts.source}: controller silent for ${at - this.lastAtMs} ms (> ${this.staleAfterMs} ms); SPAT stopped` }
        : {}),
    };
  }
}
