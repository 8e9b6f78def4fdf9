// SPAT from a signal snapshot: CSAE (TimeCountingDown, relative tenths of a second) and J2735 (TimeMark:
// absolute tenths of a second within the UTC hour).
import type { IntersectionRef, MessageSet as StdName } from '../config/types.js';
import { dSecond, minuteOfYear, tenths, timeMarkOfHour } from './clock.js';
import { frameOf, isJ2735 } from './messages.js';
import type { Light, SignalSnapshot } from './signal-plan.js';

export interface SpatContext {
  std: StdName;
  msgCnt: number;
  intersection: IntersectionRef;
  name?: string;
}

/** IntersectionStatusObject with fixedTimeOperation (bit 5) set: what a fixed-time plan is. */
const STATUS_FIXED_TIME = '0400';

const CSAE_LIGHT: Record<Light, string> = { green: 'protected-green', yellow: 'yellow', red: 'red' };
const J2735_STATE: Record<Light, string> = { green: 'protected-Movement-Allowed', yellow: 'protected-clearance', red: 'stop-And-Remain' };

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
          status: STATUS_FIXED_TIME,
          moy: minuteOfYear(t),
          timeStamp: dSecond(t),
          phases: snap.phases.map((p) => ({
            id: p.id,
            phaseStates: p.windows.map((w) => ({
              light: CSAE_LIGHT[w.light],
              timing: {
                counting: {
                  startTime: tenths(w.startInMs),
                  likelyEndTime: tenths(w.endInMs),
                  nextStartTime: tenths(w.nextStartInMs),
                  nextDuration: tenths(w.nextDurationMs),
                },
              },
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
        status: STATUS_FIXED_TIME,
        moy: minuteOfYear(t),
        timeStamp: dSecond(t),
        states: snap.phases.map((p) => ({
          signalGroup: p.id,
          'state-time-speed': p.windows.map((w, k) => ({
            eventState: J2735_STATE[w.light],
            timing: {
              ...(k > 0 ? { startTime: mark(w.startInMs) } : {}),
              minEndTime: mark(w.endInMs),
              maxEndTime: mark(w.endInMs),
              likelyTime: mark(w.endInMs),
              confidence: 15, // fixed time: the end is certain (TimeIntervalConfidence 15: 100%)
              nextTime: mark(w.nextStartInMs),
            },
          })),
        })),
      },
    ],
  };
  return frameOf(ctx.std, 'spat', spat);
}
