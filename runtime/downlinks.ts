// RSI events and signs from the cloud (MQTT rsi/down): validated before anything changes, active until they expire.
import { isoTimeMs } from './apps/clock.js';
import { eventCodeProblem, signCodeProblem } from './apps/events/codes.js';
import { formatIssue, validateRuntimeSections, type RuntimeSections } from './config/index.js';
import { EVENT_SOURCES, REMOTE_CONFIG_KEYS, SIGN_KINDS, type MessageSet, type RemoteConfigKey, type RsiEvent, type RsiSign, type RsuConfig } from './config/types.js';
import { isPlainObject as isObj, suggest } from './config/schema.js';

/** Payload of an rsi/down message: JSON, UTF-8. Either list may be absent, not both. */
export interface RsiDownlink {
  events: (RsiEvent & { durationS: number })[];
  signs: (RsiSign & { durationS: number })[];
}

const MAX_EVENTS = 32;
const MAX_SIGNS = 32;
const SIGN_RADIUS_M = 50;

type O = Record<string, unknown>;
const shown = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Checks of one object's keys; each returns the first problem as `where.key: ...`, or undefined. */
function checks(o: O, where: string) {
  const at = (k: string) => `${where}.${k}`;
  const int = (k: string, lo: number, hi: number) =>
    typeof o[k] === 'number' && Number.isInteger(o[k]) && (o[k] as number) >= lo && (o[k] as number) <= hi ? undefined : `${at(k)}: expected an integer ${lo}..${hi}, got ${shown(o[k])}`;
  const num = (k: string, lo: number, hi: number) =>
    typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= lo && (o[k] as number) <= hi ? undefined : `${at(k)}: expected a number ${lo}..${hi}, got ${shown(o[k])}`;
  const opt = (k: string, check: (k: string) => string | undefined) => (o[k] === undefined ? undefined : check(k));
  const oneOf = (values: readonly string[]) => (k: string) =>
    typeof o[k] === 'string' && values.includes(o[k] as string) ? undefined : `${at(k)}: expected one of ${values.join(', ')}, got ${shown(o[k])}`;
  const time = (k: string) =>
    isoTimeMs(o[k]) !== undefined ? undefined : `${at(k)}: expected an ISO 8601 date and time with a time zone (e.g. "2026-05-04T08:00:00+08:00"), got ${shown(o[k])}`;
  const text = (k: string) =>
    typeof o[k] === 'string' && /^[\x20-\x7e]{1,512}$/.test(o[k] as string) ? undefined : `${at(k)}: expected 1-512 printable ASCII characters`;
  const only = (keys: readonly string[]) => {
    const extra = Object.keys(o).find((k) => !keys.includes(k));
    if (extra === undefined) return undefined;
    const hint = suggest(extra, keys);
    return `${at(extra)}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''} (expected ${keys.join(', ')})`;
  };
  const list = (k: string, min: number, max: number, item: (v: unknown, where: string) => string | undefined) => {
    const v = o[k];
    if (!Array.isArray(v) || v.length < min || v.length > max) return `${at(k)}: expected a list of ${min}..${max} entries, got ${Array.isArray(v) ? `${v.length}` : shown(v)}`;
    for (let i = 0; i < v.length; i++) {
      const err = item(v[i], `${at(k)}[${i}]`);
      if (err) return err;
    }
    return undefined;
  };
  return { at, int, num, opt, oneOf, time, text, only, list };
}

function checkPoint(v: unknown, where: string): string | undefined {
  if (!isObj(v)) return `${where}: expected an object {lat, lon}`;
  const c = checks(v, where);
  return c.only(['lat', 'lon']) ?? c.num('lat', -90, 90) ?? c.num('lon', -180, 180);
}

function checkPath(v: unknown, where: string): string | undefined {
  if (!isObj(v)) return `${where}: expected an object {points, radiusM}`;
  const c = checks(v, where);
  // 2..32 points: PathPointList of csae2020 (csae2019 takes 1; a round area is the event's position and radius).
  return c.only(['points', 'radiusM']) ?? c.list('points', 2, 32, checkPoint) ?? c.num('radiusM', 0, 6553.5);
}

function checkNode(v: unknown, where: string): string | undefined {
  if (!isObj(v)) return `${where}: expected an object {region?, id}`;
  const c = checks(v, where);
  return c.only(['region', 'id']) ?? c.opt('region', (k) => c.int(k, 0, 65535)) ?? c.int('id', 0, 65535);
}

function checkLink(v: unknown, where: string): string | undefined {
  if (!isObj(v)) return `${where}: expected an object {upstreamNodeId, downstreamNodeId, lanes?}`;
  const c = checks(v, where);
  const lane = (x: unknown, w: string) => (typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 15 ? undefined : `${w}: expected a lane 1..15, got ${shown(x)}`);
  const err =
    c.only(['upstreamNodeId', 'downstreamNodeId', 'lanes']) ??
    checkNode(v.upstreamNodeId, c.at('upstreamNodeId')) ??
    checkNode(v.downstreamNodeId, c.at('downstreamNodeId')) ??
    c.opt('lanes', (k) => c.list(k, 1, 15, lane));
  if (err) return err;
  const [u, d] = [v.upstreamNodeId as O, v.downstreamNodeId as O];
  return u.id === d.id && (u.region ?? 0) === (d.region ?? 0) ? `${c.at('downstreamNodeId')}: the same node as upstreamNodeId: a link joins two nodes` : undefined;
}

const COMMON_KEYS = ['id', 'lat', 'lon', 'radiusM', 'priority', 'durationS', 'description', 'startTime', 'endTime', 'referencePaths', 'referenceLinks'];
/** The keys of an event and of a sign in rsi/down (README, the uplink contract): any other is refused, named. */
const EVENT_KEYS = ['type', 'source', ...COMMON_KEYS];
const SIGN_KEYS = ['kind', 'type', 'speedLimitKmh', ...COMMON_KEYS];

/** What events and signs share: id, position, priority, lifetime, text, time, paths and links. */
function checkCommon(o: O, where: string): string | undefined {
  const c = checks(o, where);
  const err =
    c.int('id', 0, 255) ??
    c.num('lat', -90, 90) ??
    c.num('lon', -180, 180) ??
    c.int('priority', 0, 7) ??
    c.num('durationS', 1, 7 * 86400) ??
    c.opt('description', c.text) ??
    c.opt('startTime', c.time) ??
    c.opt('endTime', c.time) ??
    c.opt('referencePaths', (k) => c.list(k, 1, 8, checkPath)) ??
    c.opt('referenceLinks', (k) => c.list(k, 1, 16, checkLink));
  if (err) return err;
  if (o.startTime !== undefined && o.endTime !== undefined && isoTimeMs(o.endTime)! <= isoTimeMs(o.startTime)!)
    return `${c.at('endTime')}: expected a time after startTime (${o.startTime as string}), got ${o.endTime as string}`;
  return undefined;
}

function checkEvent(e: unknown, i: number, std: MessageSet | undefined): string | undefined {
  const where = `events[${i}]`;
  if (!isObj(e)) return `${where}: expected an object`;
  const c = checks(e, where);
  const err = c.only(EVENT_KEYS) ?? c.int('type', 0, 65535) ?? c.num('radiusM', 0, 6553.5) ?? c.opt('source', c.oneOf(EVENT_SOURCES)) ?? checkCommon(e, where);
  if (err) return err;
  const problem = std ? eventCodeProblem(e.type as number, std) : undefined;
  return problem ? `${c.at('type')}: ${problem}` : undefined;
}

function checkSign(x: unknown, i: number, std: MessageSet | undefined): string | undefined {
  const where = `signs[${i}]`;
  if (!isObj(x)) return `${where}: expected an object`;
  const c = checks(x, where);
  const err =
    c.only(SIGN_KEYS) ??
    c.opt('kind', c.oneOf(SIGN_KINDS)) ??
    c.opt('type', (k) => c.int(k, 0, 65535)) ??
    c.opt('speedLimitKmh', (k) => c.int(k, 5, 150)) ??
    c.opt('radiusM', (k) => c.num(k, 0, 6553.5)) ??
    checkCommon(x, where);
  if (err) return err;
  if (x.kind === undefined && x.type === undefined) return `${c.at('kind')}: missing: a sign needs a kind (${SIGN_KINDS.join(', ')}) or a type code`;
  if (x.kind === 'speed-limit' && x.speedLimitKmh === undefined) return `${c.at('speedLimitKmh')}: missing: a speed-limit sign needs the limit it shows, in km/h`;
  if (x.kind !== 'speed-limit' && x.speedLimitKmh !== undefined) return `${c.at('speedLimitKmh')}: only for kind speed-limit`;
  const problem = std ? signCodeProblem(x as unknown as RsiSign, std) : undefined;
  return problem ? `${c.at('type')}: ${problem}` : undefined;
}

/** Times as UTC ISO strings (the form config validation stores); a sign's radius defaulted. */
function normalised<T extends { startTime?: string; endTime?: string }>(x: T): T {
  const out = { ...x };
  if (out.startTime !== undefined) out.startTime = new Date(isoTimeMs(out.startTime)!).toISOString();
  if (out.endTime !== undefined) out.endTime = new Date(isoTimeMs(out.endTime)!).toISOString();
  return out;
}

/**
 * Parse and validate an rsi/down payload. With `std`, a sign must also have a code to send in that message set (a
 * school-zone sign in J2735 needs its `type`). The first problem is the reason, naming its field.
 */
export function parseRsiDownlink(payload: Uint8Array, std?: MessageSet): { ok: true; value: RsiDownlink } | DownlinkRefusal {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, code: 'malformed', reason: `payload is not JSON: ${(e as Error).message}` };
  }
  const bad = (reason: string): DownlinkRefusal => ({ ok: false, code: 'invalid', reason });
  if (!isObj(v)) return bad(`payload must be a JSON object {"events": [...], "signs": [...]}, got ${Array.isArray(v) ? 'a list' : shown(v)}`);
  const extra = Object.keys(v).find((k) => k !== 'events' && k !== 'signs');
  if (extra !== undefined) {
    const hint = suggest(extra, ['events', 'signs']);
    return bad(`${extra}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''} (expected events, signs)`);
  }
  const events = v.events ?? [];
  const signs = v.signs ?? [];
  if (!Array.isArray(events) || !Array.isArray(signs) || events.length + signs.length === 0)
    return bad('payload needs a non-empty "events" or "signs" array');
  if (events.length > MAX_EVENTS) return bad(`at most ${MAX_EVENTS} events per message, got ${events.length}`);
  if (signs.length > MAX_SIGNS) return bad(`at most ${MAX_SIGNS} signs per message, got ${signs.length}`);
  for (let i = 0; i < events.length; i++) {
    const err = checkEvent(events[i], i, std);
    if (err) return bad(err);
  }
  for (let i = 0; i < signs.length; i++) {
    const err = checkSign(signs[i], i, std);
    if (err) return bad(err);
  }
  return {
    ok: true,
    value: {
      events: (events as RsiDownlink['events']).map(normalised),
      signs: (signs as RsiDownlink['signs']).map((x) => normalised({ ...x, radiusM: x.radiusM ?? SIGN_RADIUS_M })),
    },
  };
}

export function validateRsiDownlink(payload: Uint8Array, std?: MessageSet): { ok: true } | DownlinkRefusal {
  const r = parseRsiDownlink(payload, std);
  return r.ok ? { ok: true } : r;
}

/**
 * Whether an event or sign is not in force now: before its startTime or from its endTime on. (Announcing it ahead of
 * its start could not always be done honestly: MinuteOfTheYear cannot state a start in a later year.)
 */
const ended = (x: { endTime?: string }, nowMs: number) => x.endTime !== undefined && (isoTimeMs(x.endTime) ?? Infinity) <= nowMs;
const over = (x: { startTime?: string; endTime?: string }, nowMs: number) =>
  ended(x, nowMs) || (x.startTime !== undefined && (isoTimeMs(x.startTime) ?? -Infinity) > nowMs);

/**
 * Configured events and signs (in force from their startTime to their endTime, when given) plus cloud-issued ones
 * until they expire or end; a cloud event replaces a configured event with its id, a cloud sign a configured sign
 * with its id (also while it has not started).
 */
export class RsiEvents {
  private cloud = new Map<number, { e: RsiEvent; untilMs: number }>();
  private cloudSigns = new Map<number, { s: RsiSign; untilMs: number }>();
  constructor(
    private configured: RsiEvent[],
    private configuredSigns: RsiSign[] = [],
    /** The message set, for checking that cloud signs have a code to send. */
    private readonly std?: MessageSet,
  ) {}

  /** Replace the configured events (and signs, when given): a config/down change. */
  setConfigured(events: RsiEvent[], signs?: RsiSign[]): void {
    this.configured = events;
    if (signs) this.configuredSigns = signs;
  }

  addFromCloud(payload: Uint8Array, nowMs: number): void {
    const r = parseRsiDownlink(payload, this.std);
    if (!r.ok) throw new Error(r.reason);
    for (const { durationS, ...e } of r.value.events) this.cloud.set(e.id, { e, untilMs: nowMs + durationS * 1000 });
    for (const { durationS, ...s } of r.value.signs) this.cloudSigns.set(s.id, { s, untilMs: nowMs + durationS * 1000 });
  }

  /** Active events; cloud-issued ones carry their expiry (`untilMs`), which RSI and TIM state as their end. */
  active(nowMs: number): (RsiEvent & { untilMs?: number })[] {
    for (const [id, c] of this.cloud) if (c.untilMs <= nowMs || ended(c.e, nowMs)) this.cloud.delete(id);
    const ids = new Set(this.cloud.keys());
    const cloud = [...this.cloud.values()].filter((c) => !over(c.e, nowMs));
    return [...this.configured.filter((e) => !ids.has(e.id) && !over(e, nowMs)), ...cloud.map((c) => ({ ...c.e, untilMs: c.untilMs }))];
  }

  /** Active signs, the same way. */
  activeSigns(nowMs: number): (RsiSign & { untilMs?: number })[] {
    for (const [id, c] of this.cloudSigns) if (c.untilMs <= nowMs || ended(c.s, nowMs)) this.cloudSigns.delete(id);
    const ids = new Set(this.cloudSigns.keys());
    const cloud = [...this.cloudSigns.values()].filter((c) => !over(c.s, nowMs));
    return [...this.configuredSigns.filter((s) => !ids.has(s.id) && !over(s, nowMs)), ...cloud.map((c) => ({ ...c.s, untilMs: c.untilMs }))];
  }
}

/** What the cloud may change at run time (config/down); everything else needs a new config file and a restart. */
export { REMOTE_CONFIG_KEYS };

export interface ConfigChange {
  logLevel?: RsuConfig['logging']['level'];
  enabled?: Partial<Record<'rsm' | 'spat' | 'map' | 'rsi', boolean>>;
  rsiEvents?: RsiEvent[];
  rsiSigns?: RsiSign[];
}

export interface ConfigDownlinkOptions {
  /** The running daemon's logging and applications: a change is judged merged onto them (default: the defaults). */
  running?: RuntimeSections;
  /** What may change (uplink.mqtt.downlinks.configKeys); default every key of REMOTE_CONFIG_KEYS. */
  allowed?: readonly RemoteConfigKey[];
}

/** A refusal of a downlink: the reason names the field; `code` is the reason's class, for counting. */
export type DownlinkRefusal = { ok: false; reason: string; code: 'malformed' | 'not_allowed' | 'invalid' };

/**
 * Parse and validate a config/down payload (JSON, a partial config); nothing is applied here. Only the keys of
 * `allowed` may appear; the result is validated as `rsu config check` validates the file, merged onto the running
 * sections, against the running message set `std`, and with nothing else of the config (no sensors, no calibration
 * files: the same verdict on any site and installation).
 */
export function parseConfigDownlink(payload: Uint8Array, std: MessageSet = 'csae2020', opts: ConfigDownlinkOptions = {}): { ok: true; value: ConfigChange } | DownlinkRefusal {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, code: 'malformed', reason: `payload is not JSON: ${(e as Error).message}` };
  }
  if (!isObj(v)) return { ok: false, code: 'malformed', reason: 'payload must be a JSON object (a partial config)' };
  const allowed = opts.allowed ?? REMOTE_CONFIG_KEYS;
  // Every leaf the payload sets, as a config key path; only the keys of REMOTE_CONFIG_KEYS are leaves.
  const set: Array<[RemoteConfigKey, unknown]> = [];
  const refuse = (key: string): DownlinkRefusal => {
    if (!(REMOTE_CONFIG_KEYS as readonly string[]).includes(key)) {
      const hint = suggest(key, REMOTE_CONFIG_KEYS);
      return { ok: false, code: 'not_allowed', reason: `${key} cannot be changed remotely${hint ? ` (did you mean "${hint}"?)` : ''} (allowed on this RSU: ${allowed.join(', ') || 'nothing'})` };
    }
    return { ok: false, code: 'not_allowed', reason: `${key} may not be changed remotely on this RSU (uplink.mqtt.downlinks.configKeys allows: ${allowed.join(', ') || 'nothing'})` };
  };
  for (const [top, sec] of Object.entries(v)) {
    if (top !== 'logging' && top !== 'applications') return refuse(top);
    if (!isObj(sec)) return { ok: false, code: 'invalid', reason: `${top}: expected an object, got ${shown(sec)}` };
    for (const [k, x] of Object.entries(sec)) {
      if (top === 'logging') {
        if (k !== 'level') return refuse(`logging.${k}`);
        set.push(['logging.level', x]);
        continue;
      }
      if (!isObj(x)) return { ok: false, code: 'invalid', reason: `applications.${k}: expected an object, got ${shown(x)}` };
      for (const [kk, y] of Object.entries(x)) {
        const key = `applications.${k}.${kk}`;
        if (!(REMOTE_CONFIG_KEYS as readonly string[]).includes(key)) return refuse(key);
        set.push([key as RemoteConfigKey, y]);
      }
    }
  }
  for (const [key] of set) if (!allowed.includes(key)) return refuse(key);
  if (set.length === 0) return { ok: false, code: 'invalid', reason: 'the payload changes nothing' };
  // The change merged onto the running sections (the keys are the fixed paths above: nothing else is written).
  const base = opts.running ? structuredClone({ logging: opts.running.logging, applications: opts.running.applications }) : undefined;
  const merged: { logging: Record<string, unknown>; applications: Record<string, Record<string, unknown>> } = {
    logging: { ...(base?.logging ?? {}) },
    applications: Object.fromEntries((['rsm', 'spat', 'map', 'rsi'] as const).map((a) => [a, { ...(base?.applications[a] ?? {}) }])),
  };
  for (const [key, x] of set) {
    const [top, a, k] = key.split('.') as [string, string, string | undefined];
    if (top === 'logging') merged.logging.level = x;
    else merged.applications[a]![k!] = x;
  }
  const r = validateRuntimeSections(merged, std);
  if (!r.ok) return { ok: false, code: 'invalid', reason: r.errors[0] ? formatIssue(r.errors[0]) : 'invalid configuration' };
  const cfg = r.value;
  const change: ConfigChange = {};
  for (const [key] of set) {
    if (key === 'logging.level') change.logLevel = cfg.logging.level;
    else if (key === 'applications.rsi.events') change.rsiEvents = cfg.applications.rsi.events;
    else if (key === 'applications.rsi.signs') change.rsiSigns = cfg.applications.rsi.signs;
    else {
      const a = key.split('.')[1] as 'rsm' | 'spat' | 'map' | 'rsi';
      (change.enabled ??= {})[a] = cfg.applications[a].enabled;
    }
  }
  return { ok: true, value: change };
}
