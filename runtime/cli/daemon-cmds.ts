// `rsu run`, `rsu status`, `rsu tail`, `rsu record`, `rsu config check`, `rsu send-test`.
import { createWriteStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMessageSet, toHex, type MessageSet } from '../../codecs/index.js';
import { radioTxFromConfig } from '../../hw/radio/index.js';
import { MsgCounter } from '../apps/clock.js';
import { buildMap } from '../apps/map.js';
import { MESSAGE_TYPES, rsuIdHex, type MessageType } from '../apps/messages.js';
import { buildRsi } from '../apps/rsi.js';
import { buildRsm, ParticipantIds } from '../apps/rsm.js';
import { FixedTimePlan } from '../apps/signal-plan.js';
import { buildSpat } from '../apps/spat.js';
import { ConfigError, configCheck, formatIssue, parseHostPort as splitHostPort, type ConfigIssue, loadConfig, MESSAGE_SETS, type MessageSet as StdName, type RsuConfig } from '../config/index.js';
import { startDaemon, type Daemon, type DaemonStatus } from '../daemon.js';
import { demoLaneMapPath, loadLaneMap } from '../map/index.js';
import { defaultSocketPath, request, type TailEvent } from '../status.js';
import { deploymentIssues } from './deploy-checks.js';
import { subcommand, UsageError, type Io } from './io.js';
import { clock, paint, table, useColor } from './term.js';
import type { LinkHealth } from '../uplink/index.js';
import { softwareVersion } from '../version.js';

export function configFrom(file: string | undefined, std: string | undefined, io: Io): RsuConfig {
  let cfg: RsuConfig;
  try {
    cfg = loadConfig(file, { onWarning: (w) => io.err(`config warning: ${formatIssue(w)}`) });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  if (std) {
    if (!MESSAGE_SETS.includes(std as StdName)) throw new UsageError(`--std ${std}: expected one of ${MESSAGE_SETS.join(', ')}`);
    cfg.messageSet = std as StdName;
  }
  return cfg;
}

/**
 * `--asn1 DIR`: the deployer's J2735 modules for this run (as RSU_J2735_ASN1_DIR, which every loader of the
 * process reads: the daemon, the demo's receiver, send-test).
 */
export function useAsn1Dir(dir: string | undefined): void {
  if (dir === undefined) return;
  if (!existsSync(dir)) throw new UsageError(`--asn1 ${dir}: no such directory`);
  process.env.RSU_J2735_ASN1_DIR = resolve(dir);
}

/** Resolves when SIGINT/SIGTERM arrives or after durationS; removes its handlers. */
export function untilStopped(durationS?: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    // The caller gave up waiting (an error): release the signal handlers and the timer.
    const onAbort = () => done('aborted');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    signal?.addEventListener('abort', onAbort);
    const timer = durationS !== undefined ? setTimeout(() => done('duration'), durationS * 1000) : undefined;
  });
}

export const RUN_HELP = `usage: rsu run [--config FILE] [--std S] [--asn1 DIR] [--record FILE] [--duration S]
Run the daemon. Without --config the built-in defaults apply. Ctrl-C (or SIGTERM) stops it cleanly.
SIGHUP reloads --config: validated first (an invalid file changes nothing); logging.level, applications.*.enabled,
applications.rsi.events and .signs and uplink.alarms change live; any other changed key is logged as needing a
restart.`;

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, std: { type: 'string' }, asn1: { type: 'string' }, record: { type: 'string' }, duration: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return io.out(RUN_HELP), 0;
  useAsn1Dir(values.asn1);
  const cfg = configFrom(values.config, values.std, io);
  const d = await startDaemon({ config: cfg, recordTo: values.record });
  const onHup = () => io.err(reloadConfig(d, values.config, values.std));
  process.on('SIGHUP', onHup);
  const why = await untilStopped(values.duration ? Number(values.duration) : undefined);
  process.off('SIGHUP', onHup);
  await d.stop();
  io.err(`rsu: stopped (${why})`);
  return 0;
}

/** SIGHUP: the config file again, validated, handed to the daemon; says what changed and what needs a restart. */
export function reloadConfig(d: Daemon, file: string | undefined, std: string | undefined): string {
  if (!file) return 'rsu: reload (SIGHUP): no --config file to reload; nothing changed';
  let next: RsuConfig;
  try {
    next = loadConfig(file, {});
    if (std) next.messageSet = std as StdName;
  } catch (e) {
    const issues = e instanceof ConfigError ? e.errors.map(formatIssue).join('; ') : (e as Error).message;
    return `rsu: reload (SIGHUP): ${file} is not valid, nothing changed: ${issues}`;
  }
  const r = d.reload(next);
  if (!r.applied.length && !r.needRestart.length) return `rsu: reload (SIGHUP): ${file}: no change`;
  return `rsu: reload (SIGHUP): ${file}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'nothing applied live'}${r.needRestart.length ? `; needs a restart (running values kept): ${r.needRestart.join(', ')}` : ''}`;
}

export const STATUS_HELP = `usage: rsu status [--json] [--socket PATH]
Show the running daemon's state: uptime, sensors, tracks, message rates, radio, uplink and spool, time source, errors.
Exit status: 0 running without alarms; 3 running with an alarm active (listed); 1 no daemon answers; 2 usage.`;

/** `rsu status` exit status while the daemon reports an alarm (monitoring scripts test it). */
export const STATUS_ALARM_EXIT = 3;

export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return io.out(STATUS_HELP), 0;
  const socket = values.socket ?? defaultSocketPath();
  const st = (await request(socket, { cmd: 'status' })) as DaemonStatus & { error?: unknown };
  if (typeof st?.error === 'string') throw new Error(`the rsu daemon on ${socket} refused the request: ${st.error}`);
  if (values.json) io.out(JSON.stringify(st));
  else io.out(renderStatus(st, useColor()));
  return st.alarms?.length ? STATUS_ALARM_EXIT : 0;
}

const fmt = (x: unknown, d = 1) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(d)) : x === null || x === undefined ? '–' : String(x));

export function renderStatus(st: DaemonStatus, color: boolean): string {
  const p = paint(color);
  const lines: string[] = [];
  lines.push(`${p.bold(`RSU ${st.rsuId}`)}  ${st.messageSet}  up ${st.uptimeS} s  since ${st.startedAt}`);
  if (st.build) lines.push(`software: ${softwareVersion(st.build)}, node ${st.build.node}, ${st.build.codecCompiler}, model ${'sha256' in st.build.model ? `sha256:${st.build.model.sha256.slice(0, 16)}` : 'unreadable'}`);
  const time = st.time as { source: string; offsetMs: number | null; clock: { trusted: boolean; reason: string }; fix: string };
  lines.push(`time: ${time.source}, offset ${fmt(time.offsetMs)} ms, ${time.clock.trusted ? p.green('trusted') : p.red('NOT trusted')} (${time.clock.reason}), fix ${time.fix}`);
  const sensors = (st.sensors as { sensors: Record<string, { kind: string; frameRateHz: number; objectRatePerS: number; lastFrameAgeMs: number | null; framesDropped: Record<string, number> }> }).sensors;
  lines.push(
    table(
      ['sensor', 'kind', 'frames/s', 'objects/s', 'last frame', 'frames dropped', 'detections dropped (10 s)'],
      Object.entries(sensors).map(([id, s]) => {
        const h = st.sensorHealth?.[id];
        const det = !h || !h.detections ? '–' : `${fmt(h.droppedPct)} %${h.mainReason ? ` ${h.mainReason}` : ''}`;
        return [
          id,
          s.kind,
          fmt(s.frameRateHz),
          fmt(s.objectRatePerS, 0),
          s.lastFrameAgeMs === null ? p.red('never') : s.lastFrameAgeMs > 1000 ? p.red(`${fmt(s.lastFrameAgeMs, 0)} ms ago`) : `${fmt(s.lastFrameAgeMs, 0)} ms ago`,
          String(Object.values(s.framesDropped).reduce((a, b) => a + b, 0)),
          h && !h.healthy ? p.red(`${det} UNHEALTHY`) : det,
        ];
      }),
    ),
  );
  const per = st.perception as { mode: string; confirmedTracks?: number; liveTracks?: number };
  const lat = st.frameToRadio;
  lines.push(`perception: ${per.mode}, ${fmt(per.confirmedTracks)} tracks; frame → radio p50 ${fmt(lat.p50Ms, 2)} ms, p99 ${fmt(lat.p99Ms, 2)} ms`);
  // The uplink rows count what each broker acknowledged (delivered), not what was handed to the spool.
  const byLink = st.messages.uplinkByLinkPerS ?? { uplink: st.messages.uplinkPerS };
  const types = MESSAGE_TYPES.filter((t) => st.messages.radioTxPerS[t] || st.messages.radioRxPerS[t] || Object.values(byLink).some((r) => r[t]));
  const rows = [['radio tx', ...types.map((t) => fmt(st.messages.radioTxPerS[t] ?? 0))], ['radio rx', ...types.map((t) => fmt(st.messages.radioRxPerS[t] ?? 0))]];
  for (const [l, r] of Object.entries(byLink)) rows.push([l === 'uplink' ? 'uplink' : `${l} delivered`, ...types.map((t) => fmt(r[t] ?? 0))]);
  lines.push(table(['messages/s', ...types], rows));
  const up = st.uplink as { spool: { droppedRecords: number }; links?: LinkHealth[] } | undefined;
  if (up) {
    const link = (l: LinkHealth) =>
      `${l.link} ${l.connected ? p.green('connected') : p.red(`${l.state} since ${clock(l.sinceMs)}`)}, ${l.backlog} waiting${l.oldestUndeliveredS !== null ? ` (oldest ${fmt(l.oldestUndeliveredS)} s)` : ''}, ${fmt(l.deliveredPerS)} delivered/s, ${l.errors} errors${l.lastError && !l.connected ? ` (last: ${l.lastError})` : ''}`;
    lines.push(`uplink: ${(up.links ?? []).map(link).join('; ')}; spool dropped ${up.spool.droppedRecords}`);
  } else lines.push('uplink: off');
  const sch = st.scheduler as { withheld: Record<string, number> };
  const sec = st.security;
  if (sec) {
    const c = sec.certificate;
    const state = sec.signing === 'signed' ? p.green('signed') : p.red(sec.signing.toUpperCase());
    const cert = c ? `certificate ${c.hashedId8 ?? '?'}${c.daysToExpiry !== undefined ? `, ${c.daysToExpiry < 30 ? p.red(`${c.daysToExpiry} days to expiry`) : `${c.daysToExpiry} days to expiry`}` : ''}${c.usable ? '' : p.red(', NOT usable')}` : 'no certificate';
    const unv = Object.entries(sec.receive.unverified).map(([k, v]) => `${k} ${v}`).join(', ');
    const pool = sec.signPool;
    const cost = sec.signTimeUs ? `; SN-SIGN ${sec.signTimeUs.p50} µs p50${pool ? ` (${pool.pooled} pre-computed, ${pool.direct} direct)` : ''}` : '';
    lines.push(`security: ${state}; ${cert}${cost}; rx verified ${sec.receive.verified}${unv ? `, unverified ${unv}` : ''} (${sec.receive.policy})`);
    for (const x of sec.tls ?? []) {
      const days = x.daysToExpiry === undefined ? p.red('not readable') : x.daysToExpiry < 30 ? p.red(`${x.daysToExpiry} days to expiry`) : `${x.daysToExpiry} days to expiry`;
      lines.push(`tls: ${x.uplink} client certificate ${x.subject ? `"${x.subject}" ` : ''}${days} (${x.file})`);
    }
  }
  if (Object.keys(sch.withheld).length) lines.push(`withheld: ${Object.entries(sch.withheld).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const a of st.alarms) lines.push(p.red(`ALARM: ${a}`));
  if (st.recentErrors.length) {
    lines.push('recent errors:');
    for (const e of st.recentErrors.slice(-5)) lines.push(`  ${clock(Date.parse(e.at))}  ${e.msg}`);
  }
  return lines.join('\n');
}

export const TAIL_HELP = `usage: rsu tail [--type bsm,spat,map,rsi,rsm] [--json] [--socket PATH]
Print the messages the daemon sends and receives, decoded, as they happen.`;

export async function tailCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { type: { type: 'string' }, json: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return io.out(TAIL_HELP), 0;
  const types = values.type?.split(',').map((s) => s.trim().toLowerCase());
  const bad = types?.filter((t) => !MESSAGE_TYPES.includes(t as MessageType));
  if (bad?.length) throw new UsageError(`--type: unknown message type ${bad.join(', ')} (bsm, spat, map, rsi, rsm)`);
  const p = paint(useColor());
  // On a terminal a line is cut to fit; piped, every value is whole.
  const cut = process.stdout.isTTY ? (s: string) => (s.length > 160 ? `${s.slice(0, 159)}…` : s) : (s: string) => s;
  const ended = new AbortController();
  const stop = untilStopped(undefined, ended.signal);
  const req = request(
    values.socket ?? defaultSocketPath(),
    { cmd: 'tail', types },
    (o) => {
      if (ended.signal.aborted || droppedNotice(o, io)) return;
      const e = o as TailEvent;
      if (values.json) io.out(JSON.stringify(e));
      else io.out(`${new Date(e.atMs).toISOString().slice(11, 23)} ${e.dir === 'tx' ? p.green('tx') : p.cyan('rx')} ${e.type.toUpperCase().padEnd(4)} ${e.security ? `${(e.security === 'signed' || e.security === 'verified' ? p.green : p.red)(e.security)} ` : ''}${cut(JSON.stringify(e.value))}`);
    },
    ended.signal,
  );
  try {
    await Promise.race([stop, req]);
  } finally {
    ended.abort(); // Ctrl-C, SIGTERM or the daemon gone: close the connection, print nothing more
  }
  return 0;
}

export const RECORD_HELP = `usage: rsu record FILE [--duration S] [--socket PATH]
Record the running daemon's raw inputs (sensor frames, received radio messages) to FILE (JSON lines), for rsu replay.`;

export async function recordCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { duration: { type: 'string' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) return io.out(RECORD_HELP), 0;
  if (positionals.length !== 1) throw new UsageError('give the FILE to record to');
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration ${values.duration}: expected seconds above 0`);
  const out = createWriteStream(positionals[0]!, { flags: 'a' });
  let n = 0;
  let lost = 0;
  const ended = new AbortController();
  const stop = untilStopped(duration, ended.signal);
  const req = request(
    values.socket ?? defaultSocketPath(),
    { cmd: 'record' },
    (o) => {
      if (ended.signal.aborted) return;
      const d = droppedNotice(o, io);
      if (d) return void (lost += d);
      out.write(JSON.stringify(o) + '\n');
      if (++n % 100 === 0 && process.stderr.isTTY) process.stderr.write(`\rrecorded ${n}`);
    },
    ended.signal,
  );
  let why: unknown;
  try {
    why = await Promise.race([stop, req]);
  } finally {
    ended.abort(); // stop reading before the count is final; the file gets everything counted
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  io.err(
    `${process.stderr.isTTY ? '\n' : ''}recorded ${n} inputs to ${positionals[0]}${typeof why === 'string' ? ` (${why === 'duration' ? `${duration} s` : why})` : ' (the daemon closed the connection)'}` +
      (lost ? `; ${lost} inputs were dropped by the daemon because this recorder did not keep up (the recording has gaps)` : ''),
  );
  return 0;
}

/** The daemon's {"dropped": {"stream", "lines"}} line (a client that fell behind): said on stderr; the count, or 0. */
function droppedNotice(o: unknown, io: Io): number {
  const d = (o as { dropped?: { stream?: unknown; lines?: unknown } } | null)?.dropped;
  if (!d || typeof d.lines !== 'number') return 0;
  io.err(`(the daemon dropped ${d.lines} ${String(d.stream)} lines: this client did not keep up)`);
  return d.lines;
}

export const CONFIG_HELP = `usage: rsu config check FILE [--json]
Validate a config file: every problem, with its key and line.`;

export async function configCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (!subcommand('config', sub, ['check'], CONFIG_HELP, io)) return 0;
  const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) return io.out(CONFIG_HELP), 0;
  if (positionals.length !== 1) throw new UsageError('give the config FILE to check');
  const r = configCheck(positionals[0]!, { extraChecks: deploymentIssues });
  // Each issue as an object (path, message, file, line, column) plus its one-line text.
  const asJson = (i: ConfigIssue) => ({ ...i, text: formatIssue(i) });
  if (values.json) io.out(JSON.stringify({ file: r.file, ok: r.ok, errors: r.errors.map(asJson), warnings: r.warnings.map(asJson) }));
  else {
    for (const w of r.warnings) io.out(`warning: ${formatIssue(w)}`);
    for (const e of r.errors) io.out(`error: ${formatIssue(e)}`);
    io.out(r.ok ? `${r.file}: ok` : `${r.file}: ${r.errors.length} error(s)`);
  }
  return r.ok ? 0 : 1;
}

export const SEND_TEST_HELP = `usage: rsu send-test --type rsi|spat|map|rsm [--config FILE] [--std S] [--asn1 DIR] [--to HOST:PORT]
Build one message of the type from the config, send it once over the configured radio (or udp-raw to --to), and
print it (hex and decoded).`;

export async function sendTestCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { type: { type: 'string' }, config: { type: 'string' }, std: { type: 'string' }, asn1: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return io.out(SEND_TEST_HELP), 0;
  useAsn1Dir(values.asn1);
  const type = values.type?.toLowerCase() as MessageType | undefined;
  if (!type || !['rsi', 'spat', 'map', 'rsm'].includes(type)) throw new UsageError('--type rsi, spat, map or rsm');
  const cfg = configFrom(values.config, values.std, io);
  if (values.to) {
    if (!splitHostPort(values.to.replace(/^udp:\/\//, ''))) throw new UsageError(`--to ${values.to}: expected HOST:PORT or udp://HOST:PORT`);
    cfg.radio.mode = 'udp-raw';
    cfg.radio.udpRaw.target = values.to.replace(/^udp:\/\//, '');
  }
  const ms = (await loadMessageSet(cfg.messageSet)) as MessageSet;
  const now = Date.now();
  const ref = { lat: cfg.rsu.reference.lat, lon: cfg.rsu.reference.lon, elevation: cfg.rsu.reference.elevation };
  const cnt = new MsgCounter();
  let frames: unknown[];
  if (type === 'rsi') {
    const { events: configured, signs } = cfg.applications.rsi;
    const events = configured.length || signs.length ? configured : [{ id: 1, type: 0, description: 'rsu send-test', lat: ref.lat, lon: ref.lon, radiusM: 50, priority: 0 }];
    frames = buildRsi(events, now, { std: cfg.messageSet, rsuIdHex: rsuIdHex(cfg.rsu.id), ref, nextMsgCnt: () => cnt.next('rsi') }, signs);
  } else if (type === 'spat') {
    frames = [buildSpat(new FixedTimePlan(cfg.applications.spat.phases).snapshot(now), { std: cfg.messageSet, msgCnt: 0, intersection: cfg.applications.spat.intersection })];
  } else if (type === 'map') {
    frames = [buildMap(loadLaneMap(cfg.applications.map.file ?? demoLaneMapPath()), { std: cfg.messageSet, msgCnt: 0, atMs: now, intersection: cfg.applications.spat.intersection })];
  } else {
    const t = { id: 1, classification: 'pedestrian', lat: ref.lat, lon: ref.lon, elevation: ref.elevation, speed: 1.2, headingDeg: 90, size: { length: 0.5, width: 0.5, height: 1.7 }, posStdM: 0.5, sources: ['lidar'] };
    frames = buildRsm([t], now, { std: cfg.messageSet, rsuIdHex: rsuIdHex(cfg.rsu.id), ref, nextMsgCnt: () => 0, maxParticipants: 16, ids: new ParticipantIds() });
    if (!frames.length) throw new UsageError(`${cfg.messageSet} has no RSM counterpart`);
  }
  const tx = radioTxFromConfig(cfg.radio, { messageSet: cfg.messageSet });
  if (!tx) throw new UsageError('the radio is off in this config (radio.mode: off); give --to HOST:PORT');
  const target = cfg.radio.mode === 'udp-raw' ? cfg.radio.udpRaw.target : cfg.radio.immediateForward.target;
  // The socket connects first (name lookup, connect(2)); a target that never becomes reachable is an error.
  let timer: NodeJS.Timeout | undefined;
  const connected = await Promise.race([tx.ready().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 3000)))]);
  clearTimeout(timer);
  if (!connected || !(tx.stats() as { connected?: boolean }).connected) {
    const why = (tx.stats() as { lastError?: { message: string } }).lastError?.message ?? 'no connection within 3 s';
    await tx.close();
    io.err(`rsu send-test: cannot send to ${target}: ${why}`);
    return 1;
  }
  for (const f of frames) {
    const bytes = ms.encode('MessageFrame', f as never);
    const ok = tx.send({ type, bytes });
    io.out(toHex(bytes));
    io.out(JSON.stringify(f));
    if (!ok) io.err(`not sent: ${JSON.stringify(tx.stats())}`);
  }
  await new Promise((r) => setTimeout(r, 100));
  const st = tx.stats() as { errors?: Record<string, number>; lastError?: { message: string } };
  await tx.close();
  const errors = Object.entries(st.errors ?? {}).filter(([, n]) => n > 0);
  if (!errors.length) {
    io.err(`sent ${frames.length} ${type} message(s) via ${cfg.radio.mode} to ${target}`);
    return 0;
  }
  // ECONNREFUSED comes back as ICMP after the datagram left: nothing listens on the target.
  const said = errors.map(([k, n]) => (k === 'ECONNREFUSED' ? `refused by ${target} (ECONNREFUSED: nothing listens there)` : `${k} ×${n}`));
  io.err(`rsu send-test: ${type} to ${target} via ${cfg.radio.mode} failed: ${said.join('; ')}${st.lastError ? ` (${st.lastError.message})` : ''}`);
  return 1;
}
