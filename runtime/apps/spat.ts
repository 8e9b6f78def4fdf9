// SPAT from a signal snapshot: CSAE (TimeCountingDown, relative tenths of a second) and J2735 (TimeMark:
// absolute tenths of a second within the UTC hour).
import type { IntersectionRef, MessageSet as StdName } from '../config/types.js';
import { dSecond, minuteOfYear, tenths, timeMarkOfHour } from './clock.js';
import { frameOf, isJ2735 } from './messages.js';
import type { IntersectionSignalStatus, Light, LightWindow, PhaseSnapshot, SignalSnapshot } from './signal-plan.js';

export interface SpatContext {
  std: StdName;
  msgCnt: number;
  intersection: IntersectionRef;
  name?: string;
}

/** TimeMark value meaning "unknown" (CSAE and J2735). */
const UNKNOWN = 36001;

/**
 * IntersectionStatusObject (16 bits, CSAE and J2735 alike): manualControlIsEnabled 0, failureFlash 2,
 * preemptIsActive 3, signalPriorityIsActive 4, fixedTimeOperation 5, trafficDependentOperation 6, off 9. Without a
 * controller status the configured plan is fixed time.
 */
export function statusBits(st: IntersectionSignalStatus | undefined): string {
  if (!st) return '0400';
  let v = 0;
  const set = (bit: number) => (v |= 0x8000 >>> bit);
  if (st.manual) set(0);
  if (st.flash) set(2);
  if (st.preempt) set(3);
  if (st.priority) set(4);
  set(st.fixedTime ? 5 : 6);
  if (st.dark) set(9);
  return v.toString(16).toUpperCase().padStart(4, '0');
}

type Display = PhaseSnapshot['display'];

function csaeLight(light: Light, display: Display): string {
  if (display === 'dark') return 'dark';
  if (display === 'flashing') return light === 'green' ? 'flashing-green' : light === 'yellow' ? 'flashing-yellow' : 'flashing-red';
  return light === 'green' ? 'protected-green' : light;
}

function j2735State(light: Light, display: Display): string {
  if (display === 'dark') return 'dark';
  // Flashing red: stop, then go when clear; flashing yellow: proceed with caution; flashing green (China's end of
  // green, GB 14886): the movement is still allowed, J2735 has no flashing green.
  if (display === 'flashing') return light === 'red' ? 'stop-Then-Proceed' : light === 'green' ? 'protected-Movement-Allowed' : 'caution-Conflicting-Traffic';
  return light === 'green' ? 'protected-Movement-Allowed' : light === 'yellow' ? 'protected-clearance' : 'stop-And-Remain';
}

export function buildSpat(snap: SignalSnapshot, ctx: SpatContext): unknown {
  const t = snap.atMs;
  const id = { ...(ctx.intersection.region ? { region: ctx.intersection.region } : {}), id: ctx.intersection.id };
  if (!isJ2735(ctx.std)) {
    const spat = {
      msgCnt: ctx.msgCnt,
      moy: minuteOfYear(t),
      timeStamp: dSecond(t),
      ...(ctx.name ? { name: ctx.name } : {}),
      intersections: [
        {
          intersectionId: id,
          status: statusBits(snap.status),
          moy: minuteOfYear(t),
          timeStamp: dSecond(t),
          phases: snap.phases.map((p) => ({
            id: p.id,
            phaseStates: (p.display === 'dark' ? p.windows.slice(0, 1) : p.windows).map((w) => ({
              light: csaeLight(w.light, p.display),
              timing: { counting: csaeCounting(w) },
            })),
          })),
        },
      ],
    };
    return frameOf(ctx.std, 'spat', spat);
  }
  const mark = (inMs: number) => timeMarkOfHour(t + inMs);
  const spat = {
    timeStamp: minuteOfYear(t),
    intersections: [
      {
        id,
        revision: ctx.msgCnt,
        status: statusBits(snap.status),
        moy: minuteOfYear(t),
        timeStamp: dSecond(t),
        states: snap.phases.map((p) => ({
          signalGroup: p.id,
          'state-time-speed': (p.display === 'dark' ? p.windows.slice(0, 1) : p.windows).map((w, k) => ({
            eventState: j2735State(w.light, p.display),
            timing: w.endUnknown
              ? { ...(k > 0 ? { startTime: mark(w.startInMs) } : {}), minEndTime: UNKNOWN }
              : {
                  ...(k > 0 ? { startTime: mark(w.startInMs) } : {}),
                  minEndTime: mark(w.minEndInMs ?? w.endInMs),
                  // Both bounds absent: a fixed-time end, certain. Only a minimum: the maximum is not known, left out.
                  ...(w.maxEndInMs !== undefined ? { maxEndTime: mark(w.maxEndInMs) } : w.minEndInMs === undefined ? { maxEndTime: mark(w.endInMs) } : {}),
                  likelyTime: mark(w.endInMs),
                  // TimeIntervalConfidence 15 (100 %) unless the controller says otherwise: a fixed-time end is certain.
                  confidence: w.confidence ?? 15,
                  ...(w.nextUnknown ? {} : { nextTime: mark(w.nextStartInMs) }),
                },
          })),
        })),
      },
    ],
  };
  return frameOf(ctx.std, 'spat', spat);
}

/** CSAE TimeCountingDown of a window: relative tenths of a second; what the controller does not know is left out. */
function csaeCounting(w: LightWindow): Record<string, number> {
  const c: Record<string, number> = { startTime: tenths(w.startInMs) };
  if (w.endUnknown) c.likelyEndTime = UNKNOWN;
  else {
    if (w.minEndInMs !== undefined) c.minEndTime = tenths(w.minEndInMs);
    if (w.maxEndInMs !== undefined) c.maxEndTime = tenths(w.maxEndInMs);
    c.likelyEndTime = tenths(w.endInMs);
  }
  if (!w.nextUnknown) {
    c.nextStartTime = tenths(w.nextStartInMs);
    c.nextDuration = tenths(w.nextDurationMs);
  }
  return c;
}
