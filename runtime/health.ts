// Health judgements the status, alarms, view and metrics share: uplink links that are down or behind, and sensors
// whose detections perception drops (a camera whose extrinsics point above the horizon delivers frames, yet
// contributes nothing). Pure functions of the components' stats, sampled by the daemon once a second.
import type { SensorPerceptionStats } from './perception/types.js';
import type { LinkHealth } from './uplink/index.js';

export interface UplinkAlarmThresholds {
  /** A link not connected for longer than this raises an alarm, s. */
  linkDownS: number;
  /** A link whose oldest undelivered record is older than this raises an alarm, s. */
  undeliveredS: number;
}

export function uplinkAlarms(links: readonly LinkHealth[], th: UplinkAlarmThresholds, nowMs: number): string[] {
  const out: string[] = [];
  for (const l of links) {
    const downS = Math.round((nowMs - l.sinceMs) / 1000);
    const waiting = `${l.backlog} record(s) waiting${l.oldestUndeliveredS !== null ? `, oldest ${Math.round(l.oldestUndeliveredS)} s` : ''}`;
    const behind = l.oldestUndeliveredS !== null && l.oldestUndeliveredS > th.undeliveredS;
    if (!l.connected && (downS > th.linkDownS || behind)) out.push(`uplink ${l.link} down for ${downS} s: ${waiting}${l.lastError ? `; last error: ${l.lastError}` : ''}`);
    else if (behind) out.push(`uplink ${l.link} behind: ${waiting}`);
  }
  return out;
}

export interface SensorHealth {
  healthy: boolean;
  /** Over the last window: detections in processed frames and the share perception dropped. */
  detections: number;
  droppedPct: number;
  /** The most frequent drop reason in the window. */
  mainReason?: string;
}

/** Detections at least this many in the window before a sensor is judged, and the drop share that is unhealthy. */
const MIN_DETECTIONS = 10;
const UNHEALTHY_DROP_SHARE = 0.9;

/** Per sensor, the share of its detections perception dropped over a sliding window (default 10 s). */
export class SensorDropWatch {
  private samples: { ms: number; perSensor: Record<string, SensorPerceptionStats> }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  sample(nowMs: number, perSensor: Record<string, SensorPerceptionStats>): void {
    this.samples.push({ ms: nowMs, perSensor: structuredClone(perSensor) });
    while (this.samples.length > 2 && nowMs - this.samples[1]!.ms >= this.windowMs) this.samples.shift();
  }

  health(): Record<string, SensorHealth> {
    const out: Record<string, SensorHealth> = {};
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last) return out;
    for (const [id, s] of Object.entries(last.perSensor)) {
      const a = first.perSensor[id];
      const detections = s.detections - (a?.detections ?? 0);
      const used = s.used - (a?.used ?? 0);
      const reasons = Object.entries(s.detectionsDropped).map(([k, v]) => [k, (v ?? 0) - ((a?.detectionsDropped as Record<string, number> | undefined)?.[k] ?? 0)] as const);
      const main = reasons.sort((x, y) => y[1] - x[1])[0];
      const dropped = detections - used;
      const droppedPct = detections > 0 ? Math.round((dropped / detections) * 1000) / 10 : 0;
      out[id] = {
        healthy: !(detections >= MIN_DETECTIONS && dropped >= UNHEALTHY_DROP_SHARE * detections),
        detections,
        droppedPct,
        ...(main && main[1] > 0 ? { mainReason: main[0] } : {}),
      };
    }
    return out;
  }
}

export function sensorAlarms(health: Record<string, SensorHealth>): string[] {
  return Object.entries(health)
    .filter(([, h]) => !h.healthy)
    .map(([id, h]) => `sensor ${id} unhealthy: ${h.droppedPct} % of its ${h.detections} detections in the last 10 s dropped${h.mainReason ? ` (mostly ${h.mainReason})` : ''}`);
}

/** How much running totals grew over a sliding window (default 10 s), sampled once a second. */
export class TotalsWindow {
  private samples: { ms: number; totals: Record<string, number> }[] = [];
  constructor(private readonly windowMs = 10_000) {}
  sample(nowMs: number, totals: Record<string, number>): void {
    this.samples.push({ ms: nowMs, totals: { ...totals } });
    while (this.samples.length > 2 && nowMs - this.samples[1]!.ms >= this.windowMs) this.samples.shift();
  }
  growth(): Record<string, number> {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last) return {};
    return Object.fromEntries(Object.entries(last.totals).map(([k, v]) => [k, v - (first.totals[k] ?? 0)]));
  }
}

/**
 * Messages built but failing on the way out: encoding (modules that are not the configured message set's) and the
 * radio (sends refused: unreachable, nothing listening, queue full). Totals: `encode_error:<type>`, `radio_sent`, `radio_error:<reason>`.
 */
export function outputAlarms(growth: Record<string, number>, lastRadioError?: string): string[] {
  const out: string[] = [];
  const enc = Object.entries(growth).filter(([k, v]) => k.startsWith('encode_error:') && v > 0);
  if (enc.length) out.push(`messages fail to encode (${enc.map(([k, v]) => `${k.slice(13)} ${v}`).join(', ')} in the last 10 s): nothing of those types is sent; see recent errors`);
  const radioErrors = Object.entries(growth).filter(([k, v]) => k.startsWith('radio_error:') && v > 0);
  if (radioErrors.length) {
    const sent = growth.radio_sent ?? 0;
    out.push(`radio: ${sent ? `${sent} datagrams sent, but ` : 'nothing sent: '}${radioErrors.map(([k, v]) => `${k.slice(12)} ${v}`).join(', ')} in the last 10 s${lastRadioError ? ` (${lastRadioError})` : ''}`);
  }
  return out;
}
