// RSI events from the cloud (MQTT rsi/down): validated before anything changes, active until they expire.
import type { RsiEvent } from './config/types.js';

/** Payload of an rsi/down message: JSON, UTF-8. */
export interface RsiDownlink {
  events: (RsiEvent & { durationS: number })[];
}

const MAX_EVENTS = 32;

function check(e: unknown, i: number): string | undefined {
  if (typeof e !== 'object' || e === null) return `events[${i}]: expected an object`;
  const o = e as Record<string, unknown>;
  const int = (k: string, lo: number, hi: number) =>
    typeof o[k] === 'number' && Number.isInteger(o[k]) && (o[k] as number) >= lo && (o[k] as number) <= hi ? undefined : `events[${i}].${k}: expected an integer ${lo}..${hi}, got ${JSON.stringify(o[k])}`;
  const num = (k: string, lo: number, hi: number) =>
    typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= lo && (o[k] as number) <= hi ? undefined : `events[${i}].${k}: expected a number ${lo}..${hi}, got ${JSON.stringify(o[k])}`;
  return (
    int('id', 0, 255) ??
    int('type', 0, 65535) ??
    num('lat', -90, 90) ??
    num('lon', -180, 180) ??
    num('radiusM', 0, 6553.5) ??
    int('priority', 0, 7) ??
    num('durationS', 1, 7 * 86400) ??
    (o.description !== undefined && (typeof o.description !== 'string' || !/^[\x20-\x7e]{1,512}$/.test(o.description))
      ? `events[${i}].description: expected 1-512 printable ASCII characters`
      : undefined)
  );
}

export function parseRsiDownlink(payload: Uint8Array): { ok: true; value: RsiDownlink } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `payload is not JSON: ${(e as Error).message}` };
  }
  const events = (v as { events?: unknown })?.events;
  if (!Array.isArray(events) || events.length === 0) return { ok: false, reason: 'payload needs a non-empty "events" array' };
  if (events.length > MAX_EVENTS) return { ok: false, reason: `at most ${MAX_EVENTS} events per message, got ${events.length}` };
  for (let i = 0; i < events.length; i++) {
    const err = check(events[i], i);
    if (err) return { ok: false, reason: err };
  }
  return { ok: true, value: { events: events as RsiDownlink['events'] } };
}

export function validateRsiDownlink(payload: Uint8Array): { ok: true } | { ok: false; reason: string } {
  const r = parseRsiDownlink(payload);
  return r.ok ? { ok: true } : r;
}

/** Configured events (always active) plus cloud-issued ones until they expire; a cloud event replaces one with its id. */
export class RsiEvents {
  private cloud = new Map<number, { e: RsiEvent; untilMs: number }>();
  constructor(private readonly configured: RsiEvent[]) {}

  addFromCloud(payload: Uint8Array, nowMs: number): void {
    const r = parseRsiDownlink(payload);
    if (!r.ok) throw new Error(r.reason);
    for (const { durationS, ...e } of r.value.events) this.cloud.set(e.id, { e, untilMs: nowMs + durationS * 1000 });
  }

  active(nowMs: number): RsiEvent[] {
    for (const [id, c] of this.cloud) if (c.untilMs <= nowMs) this.cloud.delete(id);
    const ids = new Set(this.cloud.keys());
    return [...this.configured.filter((e) => !ids.has(e.id)), ...[...this.cloud.values()].map((c) => c.e)];
  }
}
