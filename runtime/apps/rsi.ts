// RSI (CSAE) for configured road traffic events: one RTEData per active event, at most 8 per message. In J2735
// mode the same events go out as TIMs (tim.ts).
import type { MessageSet as StdName, RsiEvent } from '../config/types.js';
import { minuteOfYear } from './clock.js';
import { offsetLL, position3D, type LatLon } from './geo.js';
import { frameOf, isJ2735 } from './messages.js';
import { buildTim } from './tim.js';

export interface RsiContext {
  std: StdName;
  rsuIdHex: string;
  ref: LatLon;
  nextMsgCnt: () => number;
}

export function rteData(e: RsiEvent, ref: LatLon): Record<string, unknown> {
  const r: Record<string, unknown> = {
    rteId: e.id,
    eventType: e.type,
    eventSource: 'unknown',
    eventPos: { offsetLL: offsetLL({ lat: e.lat, lon: e.lon }, ref) },
    eventRadius: Math.max(0, Math.min(65535, Math.round(e.radiusM * 10))),
    // RSIPriority: the upper three bits, 0 lowest .. 7 highest; the lower five are zero.
    priority: ((Math.max(0, Math.min(7, e.priority)) << 5) & 0xe0).toString(16).padStart(2, '0').toUpperCase(),
  };
  if (e.description && /^[\x20-\x7e]{1,512}$/.test(e.description)) r.description = { textString: e.description };
  return r;
}

export function buildRsi(events: RsiEvent[], atMs: number, ctx: RsiContext): unknown[] {
  if (isJ2735(ctx.std)) return buildTim(events, atMs, ctx); // J2735's counterpart: TravelerInformation
  if (!events.length) return [];
  const out: unknown[] = [];
  for (let i = 0; i < events.length; i += 8) {
    out.push(
      frameOf(ctx.std, 'rsi', {
        msgCnt: ctx.nextMsgCnt(),
        moy: minuteOfYear(atMs),
        id: ctx.rsuIdHex,
        refPos: position3D(ctx.ref),
        rtes: events.slice(i, i + 8).map((e) => rteData(e, ctx.ref)),
      }),
    );
  }
  return out;
}
