// A simulated signal controller for the demo and tests.
// - fixed time: the FixedTimePlan semantics (cycles counted from the Unix epoch, green from `offset`), with plan
//   changes that take effect at a cycle boundary of the running plan far enough ahead that every window already
//   announced is kept (no jumps);
// - actuated: stages served in turn, each green between minGreen and maxGreen, extended by detector calls
//   (`call()`) for `passage` seconds; ends are announced as [min, max] with the min as the likely end, which only
//   moves later;
// - flash, dark and preemption can be switched on to test how they are represented.
import { cyclePositionMs, planCycleMs, type LightWindow, type PhaseSnapshot } from '../../runtime/apps/signal-plan.js';
import type { SpatPhase } from '../../runtime/config/types.js';
import type { ControllerHealth, IntersectionSignalStatus, Light, SignalController, SignalSnapshot } from './types.js';
import { NORMAL_STATUS } from './types.js';

interface PlanEpoch {
  fromMs: number;
  cycleMs: number;
  phases: SpatPhase[];
}

interface Segment {
  light: Light;
  start: number;
  end: number;
}

export interface ActuatedStage {
  /** Signal groups green in this stage. */
  phases: number[];
  /** Seconds. */
  minGreen: number;
  maxGreen: number;
  passage: number;
  yellow: number;
  /** All-red clearance after the yellow, seconds. */
  red: number;
}

export type SimulatedOptions =
  | { mode: 'fixed'; phases: SpatPhase[]; now?: () => number }
  | { mode: 'actuated'; stages: ActuatedStage[]; startMs: number; now?: () => number };

export class SimulatedController implements SignalController {
  private running = false;
  private epochs: PlanEpoch[] = [];
  private override?: 'flash' | 'dark';
  private preempt = false;
  private updates = 0;
  private readonly now: () => number;
  // actuated
  private act?: { stages: ActuatedStage[]; stage: number; greenStart: number; lastCall: number; calls: number[] };

  constructor(private readonly o: SimulatedOptions) {
    this.now = o.now ?? Date.now;
    if (o.mode === 'fixed') this.epochs = [{ fromMs: 0, cycleMs: planCycleMs(o.phases), phases: o.phases }];
    else {
      if (!o.stages.length) throw new Error('an actuated controller needs at least one stage');
      for (const s of o.stages) if (s.minGreen > s.maxGreen) throw new Error(`stage ${s.phases.join('+')}: minGreen ${s.minGreen} s > maxGreen ${s.maxGreen} s`);
      this.act = { stages: o.stages, stage: 0, greenStart: o.startMs, lastCall: -Infinity, calls: [] };
    }
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async close(): Promise<void> {
    this.running = false;
  }

  /**
   * Switch to a new fixed-time plan. It takes effect at the first cycle boundary of the running plan that lies
   * at least three cycles after atMs (everything announced up to atMs stays true); returns that time.
   */
  setPlan(phases: SpatPhase[], atMs = this.now()): number {
    if (this.o.mode !== 'fixed') throw new Error('setPlan: not a fixed-time controller');
    const cycleMs = planCycleMs(phases);
    const ids = (ps: SpatPhase[]) => ps.map((p) => p.id).sort((a, b) => a - b).join(',');
    const cur = this.epochAt(atMs);
    if (ids(phases) !== ids(cur.phases)) throw new Error(`setPlan: the new plan has phases ${ids(phases)}, the running one ${ids(cur.phases)}`);
    const horizon = atMs + 3 * Math.max(cur.cycleMs, cycleMs);
    const fromMs = cur.fromMs + Math.ceil((horizon - cur.fromMs) / cur.cycleMs) * cur.cycleMs;
    this.epochs = this.epochs.filter((e) => e.fromMs < fromMs);
    this.epochs.push({ fromMs, cycleMs, phases });
    return fromMs;
  }

  setFlash(on: boolean): void {
    this.override = on ? 'flash' : this.override === 'flash' ? undefined : this.override;
  }
  setDark(on: boolean): void {
    this.override = on ? 'dark' : this.override === 'dark' ? undefined : this.override;
  }
  setPreempt(on: boolean): void {
    this.preempt = on;
  }

  /** A detector call for a signal group (actuated mode). */
  call(signalGroup: number, atMs = this.now()): void {
    if (!this.act) return;
    this.advance(atMs);
    const st = this.act.stages[this.act.stage]!;
    if (st.phases.includes(signalGroup)) this.act.lastCall = Math.max(this.act.lastCall, atMs);
  }

  private epochAt(t: number): PlanEpoch {
    let e = this.epochs[0]!;
    for (const x of this.epochs) if (x.fromMs <= t) e = x;
    return e;
  }

  /** Fixed time: the light of a phase at t and when that piece ends (within its plan epoch). */
  private piece(id: number, t: number): Segment {
    const e = this.epochAt(t);
    const next = this.epochs.find((x) => x.fromMs > t)?.fromMs ?? Infinity;
    const p = e.phases.find((q) => q.id === id)!;
    const C = e.cycleMs;
    const g = p.green * 1000;
    const y = p.yellow * 1000;
    const u = cyclePositionMs(p, C, t - e.fromMs); // cycles of this plan count from its start
    const seq: Segment[] = (
      [
        { light: 'green', start: 0, end: g },
        { light: 'yellow', start: g, end: g + y },
        { light: 'red', start: g + y, end: C },
      ] as Segment[]
    ).filter((s) => s.end > s.start);
    const s = seq.find((x) => u >= x.start && u < x.end)!;
    return { light: s.light, start: t - (u - s.start), end: Math.min(t - u + s.end, next) };
  }

  private segmentsFixed(id: number, atMs: number, count: number): Segment[] {
    const out: Segment[] = [];
    let t = atMs;
    while (out.length < count) {
      const s = this.piece(id, t);
      const last = out[out.length - 1];
      if (last && last.light === s.light) last.end = s.end;
      else out.push({ light: s.light, start: out.length ? t : s.start, end: s.end });
      t = s.end;
    }
    // merge a trailing piece that continues the last light
    for (;;) {
      const s = this.piece(id, t);
      if (s.light !== out[out.length - 1]!.light) break;
      out[out.length - 1]!.end = s.end;
      t = s.end;
    }
    return out;
  }

  private windowsFrom(segs: Segment[], atMs: number, bounds?: (k: number) => { min: number; max: number } | undefined): LightWindow[] {
    const ws: LightWindow[] = [];
    for (let k = 0; k < 3 && k < segs.length; k++) {
      const s = segs[k]!;
      const nx = segs.slice(k + 1).find((x) => x.light === s.light);
      const b = bounds?.(k);
      ws.push({
        light: s.light,
        startInMs: Math.max(0, s.start - atMs),
        endInMs: s.end - atMs,
        ...(nx ? { nextStartInMs: nx.start - atMs, nextDurationMs: nx.end - nx.start } : { nextStartInMs: 0, nextDurationMs: 0, nextUnknown: true }),
        ...(b ? { minEndInMs: b.min - atMs, maxEndInMs: b.max - atMs, confidence: b.min === b.max ? 15 : 6 } : {}),
      });
    }
    return ws;
  }

  /** Actuated: run the stage machine up to t (ends of greens decided by the calls seen so far). */
  private advance(t: number): void {
    const a = this.act!;
    for (;;) {
      const st = a.stages[a.stage]!;
      const end = this.greenEnd(a.greenStart, st, a.lastCall);
      const nextGreen = end + (st.yellow + st.red) * 1000;
      if (t < nextGreen) return;
      a.stage = (a.stage + 1) % a.stages.length;
      a.greenStart = nextGreen;
      a.lastCall = -Infinity;
    }
  }

  private greenEnd(greenStart: number, st: ActuatedStage, lastCall: number): number {
    return Math.min(greenStart + st.maxGreen * 1000, Math.max(greenStart + st.minGreen * 1000, lastCall + st.passage * 1000));
  }

  private actuatedPhases(atMs: number): PhaseSnapshot[] {
    this.advance(atMs);
    const a = this.act!;
    const n = a.stages.length;
    // Stage green starts from now on, with min and max greens: [min, max] bounds of every future change.
    const starts: { stage: number; min: number; max: number; minEnd: number; maxEnd: number }[] = [];
    let st = a.stages[a.stage]!;
    let minEnd = Math.max(this.greenEnd(a.greenStart, st, a.lastCall), atMs);
    let maxEnd = a.greenStart + st.maxGreen * 1000;
    starts.push({ stage: a.stage, min: a.greenStart, max: a.greenStart, minEnd, maxEnd });
    for (let k = 1; k <= n; k++) {
      const prev = a.stages[(a.stage + k - 1) % n]!;
      const idx = (a.stage + k) % n;
      st = a.stages[idx]!;
      const min = minEnd + (prev.yellow + prev.red) * 1000;
      const max = maxEnd + (prev.yellow + prev.red) * 1000;
      minEnd = min + st.minGreen * 1000;
      maxEnd = max + st.maxGreen * 1000;
      starts.push({ stage: idx, min, max, minEnd, maxEnd });
    }
    const ids = [...new Set(a.stages.flatMap((s) => s.phases))].sort((x, y) => x - y);
    return ids.map((id) => {
      // segments with likely (= min) times, and their [min, max] end bounds
      const segs: (Segment & { minE: number; maxE: number })[] = [];
      for (const s of starts) {
        const stg = a.stages[s.stage]!;
        const mine = stg.phases.includes(id);
        const yEndMin = s.minEnd + stg.yellow * 1000;
        const yEndMax = s.maxEnd + stg.yellow * 1000;
        const pieces = mine
          ? [
              { light: 'green' as Light, start: s.min, end: s.minEnd, minE: s.minEnd, maxE: s.maxEnd },
              { light: 'yellow' as Light, start: s.minEnd, end: yEndMin, minE: yEndMin, maxE: yEndMax },
              { light: 'red' as Light, start: yEndMin, end: yEndMin + stg.red * 1000, minE: yEndMin + stg.red * 1000, maxE: yEndMax + stg.red * 1000 },
            ]
          : [{ light: 'red' as Light, start: s.min, end: yEndMin + stg.red * 1000, minE: yEndMin + stg.red * 1000, maxE: yEndMax + stg.red * 1000 }];
        for (const p of pieces) {
          if (p.end <= atMs && segs.length === 0) continue;
          const last = segs[segs.length - 1];
          if (last && last.light === p.light) Object.assign(last, { end: p.end, minE: p.minE, maxE: p.maxE });
          else if (p.end > p.start) segs.push({ ...p });
        }
      }
      const cur = segs.findIndex((s) => s.end > atMs);
      const live = segs.slice(cur);
      const windows = this.windowsFrom(live, atMs, (k) => ({ min: live[k]!.minE, max: live[k]!.maxE }));
      return { id, light: windows[0]!.light, windows };
    });
  }

  snapshot(atMs: number): SignalSnapshot | undefined {
    if (!this.running) return undefined;
    this.updates++;
    const status: IntersectionSignalStatus = { ...NORMAL_STATUS, fixedTime: this.o.mode === 'fixed', preempt: this.preempt };
    let phases: PhaseSnapshot[];
    if (this.o.mode === 'fixed') {
      const ids = this.epochAt(atMs).phases.map((p) => p.id);
      phases = ids.map((id) => {
        const windows = this.windowsFrom(this.segmentsFixed(id, atMs, 6), atMs);
        return { id, light: windows[0]!.light, windows };
      });
    } else phases = this.actuatedPhases(atMs);
    if (this.override) {
      status.flash = this.override === 'flash';
      status.dark = this.override === 'dark';
      phases = phases.map((p) => ({
        id: p.id,
        light: 'red',
        display: this.override === 'flash' ? 'flashing' : 'dark',
        windows: [{ light: 'red', startInMs: 0, endInMs: 0, minEndInMs: 0, maxEndInMs: 0, endUnknown: true, nextStartInMs: 0, nextDurationMs: 0, nextUnknown: true, confidence: 0 }],
      }));
    }
    return { atMs, phases, status };
  }

  health(): ControllerHealth {
    return {
      source: `simulated (${this.o.mode})`,
      connected: this.running,
      ...(this.running ? { lastUpdateAgeMs: 0 } : {}),
      updates: this.updates,
      errors: {},
      ...(this.running ? {} : { alarm: 'simulated controller not running' }),
    };
  }
}
