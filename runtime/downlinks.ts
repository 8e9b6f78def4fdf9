// RSI events from the cloud (MQTT rsi/down): validated before anything changes, active until they expire.
import { formatIssue, validateConfig } from './config/index.js';
import type { RsiEvent, RsuConfig } from './config/types.js';

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
  constructor(private configured: RsiEvent[]) {}

  /** Replace the configured events (a config/down change). */
  setConfigured(events: RsiEvent[]): void {
    this.configured = events;
  }

  addFromCloud(payload: Uint8Array, nowMs: number): void {
    const r = parseRsiDownlink(payload);
    if (!r.ok) throw new Error(r.reason);
    for (const { durationS, ...e } of r.value.events) this.cloud.set(e.id, { e, untilMs: nowMs + durationS * 1000 });
  }

  /** Active events; cloud-issued ones carry their end (`untilMs`), which a J2735 TIM states as its duration. */
  active(nowMs: number): (RsiEvent & { untilMs?: number })[] {
    for (const [id, c] of this.cloud) if (c.untilMs <= nowMs) this.cloud.delete(id);
    const ids = new Set(this.cloud.keys());
    return [...this.configured.filter((e) => !ids.has(e.id)), ...[...this.cloud.values()].map((c) => ({ ...c.e, untilMs: c.untilMs }))];
  }
}

/** What the cloud may change at run time (config/down); everything else needs a new config file and a restart. */
export const REMOTE_CONFIG_KEYS = ['logging.level', 'applications.{rsm,spat,map,rsi}.enabled', 'applications.rsi.events'];

export interface ConfigChange {
  logLevel?: RsuConfig['logging']['level'];
  enabled?: Partial<Record<'rsm' | 'spat' | 'map' | 'rsi', boolean>>;
  rsiEvents?: RsiEvent[];
}

/** Parse and validate a config/down payload (JSON, a partial config); nothing is applied here. */
export function parseConfigDownlink(payload: Uint8Array): { ok: true; value: ConfigChange } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `payload is not JSON: ${(e as Error).message}` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'payload must be a JSON object (a partial config)' };
  const o = v as Record<string, unknown>;
  const notAllowed = (k: string) => ({ ok: false as const, reason: `${k} cannot be changed remotely (allowed: ${REMOTE_CONFIG_KEYS.join(', ')})` });
  for (const k of Object.keys(o)) if (k !== 'logging' && k !== 'applications') return notAllowed(k);
  const logging = o.logging as Record<string, unknown> | undefined;
  if (logging !== undefined) {
    if (typeof logging !== 'object' || logging === null) return { ok: false, reason: 'logging: expected an object' };
    for (const k of Object.keys(logging)) if (k !== 'level') return notAllowed(`logging.${k}`);
  }
  const apps = o.applications as Record<string, Record<string, unknown>> | undefined;
  if (apps !== undefined) {
    if (typeof apps !== 'object' || apps === null) return { ok: false, reason: 'applications: expected an object' };
    for (const [a, sec] of Object.entries(apps)) {
      if (!['rsm', 'spat', 'map', 'rsi'].includes(a)) return notAllowed(`applications.${a}`);
      if (typeof sec !== 'object' || sec === null) return { ok: false, reason: `applications.${a}: expected an object` };
      for (const k of Object.keys(sec)) if (k !== 'enabled' && !(a === 'rsi' && k === 'events')) return notAllowed(`applications.${a}.${k}`);
    }
  }
  if (Object.keys(o).length === 0) return { ok: false, reason: 'the payload changes nothing' };
  // The same validator as the config file: a change that would not pass `rsu config check` is refused.
  const r = validateConfig({ logging: o.logging, applications: o.applications });
  if (!r.ok || !r.config) return { ok: false, reason: r.errors[0] ? formatIssue(r.errors[0]) : 'invalid configuration' };
  const cfg = r.config;
  const change: ConfigChange = {};
  if (logging?.level !== undefined) change.logLevel = cfg.logging.level;
  if (apps) {
    change.enabled = {};
    for (const a of ['rsm', 'spat', 'map', 'rsi'] as const) if (apps[a]?.enabled !== undefined) change.enabled[a] = cfg.applications[a].enabled;
    if (apps.rsi?.events !== undefined) change.rsiEvents = cfg.applications.rsi.events;
  }
  return { ok: true, value: change };
}
