// `rsu run`, `rsu status`, `rsu tail`, `rsu record`, `rsu replay`, `rsu config check`, `rsu send-test`.
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadMessageSet, toHex, type MessageSet } from '../../codecs/index.js';
import { radioTxFromConfig } from '../../hw/radio/index.js';
import { shiftCaptureTime } from '../../hw/sensors/wire.js';
import { MsgCounter } from '../apps/clock.js';
import { buildMap } from '../apps/map.js';
import { MESSAGE_TYPES, rsuIdHex, type MessageType } from '../apps/messages.js';
import { buildRsi } from '../apps/rsi.js';
import { buildRsm, ParticipantIds } from '../apps/rsm.js';
import { FixedTimePlan } from '../apps/signal-plan.js';
import { buildSpat } from '../apps/spat.js';
import { ConfigError, configCheck, formatIssue, loadConfig, MESSAGE_SETS, type MessageSet as StdName, type RsuConfig } from '../config/index.js';
import { startDaemon, type DaemonStatus } from '../daemon.js';
import { demoLaneMapPath, loadLaneMap } from '../map/index.js';
import { defaultSocketPath, request, type RecordEvent, type TailEvent } from '../status.js';
import { UsageError, type Io } from './io.js';
import { paint, table } from './term.js';

function configFrom(file: string | undefined, std: string | undefined, io: Io): RsuConfig {
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

export const RUN_HELP = `usage: rsu run [--config FILE] [--std S] [--record FILE] [--duration S]
Run the daemon. Without --config the built-in defaults apply. Ctrl-C (or SIGTERM) stops it cleanly.`;

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, std: { type: 'string' }, record: { type: 'string' }, duration: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return io.out(RUN_HELP), 0;
  const cfg = configFrom(values.config, values.std, io);
  const d = await startDaemon({ config: cfg, recordTo: values.record });
  const why = await untilStopped(values.duration ? Number(values.duration) : undefined);
  await d.stop();
  io.err(`rsu: stopped (${why})`);
  return 0;
}

export const STATUS_HELP = `usage: rsu status [--json] [--socket PATH]
Show the running daemon's state: uptime, sensors, tracks, message rates, radio, uplink and spool, time source, errors.`;

export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return io.out(STATUS_HELP), 0;
  const socket = values.socket ?? defaultSocketPath();
  const st = (await request(socket, { cmd: 'status' })) as DaemonStatus & { error?: unknown };
  if (typeof st?.error === 'string') throw new Error(`the rsu daemon on ${socket} refused the request: ${st.error}`);
  if (values.json) return io.out(JSON.stringify(st)), 0;
  io.out(renderStatus(st, !!process.stdout.isTTY));
  return 0;
}

const fmt = (x: unknown, d = 1) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(d)) : x === null || x === undefined ? '–' : String(x));

export function renderStatus(st: DaemonStatus, color: boolean): string {
  const p = paint(color);
  const lines: string[] = [];
  lines.push(`${p.bold(`RSU ${st.rsuId}`)}  ${st.messageSet}  up ${st.uptimeS} s  since ${st.startedAt}`);
  const time = st.time as { source: string; offsetMs: number | null; clock: { trusted: boolean; reason: string }; fix: string };
  lines.push(`time: ${time.source}, offset ${fmt(time.offsetMs)} ms, ${time.clock.trusted ? p.green('trusted') : p.red('NOT trusted')} (${time.clock.reason}), fix ${time.fix}`);
  const sensors = (st.sensors as { sensors: Record<string, { kind: string; frameRateHz: number; objectRatePerS: number; lastFrameAgeMs: number | null; framesDropped: Record<string, number> }> }).sensors;
  lines.push(
    table(
      ['sensor', 'kind', 'frames/s', 'objects/s', 'last frame', 'dropped'],
      Object.entries(sensors).map(([id, s]) => [
        id,
        s.kind,
        fmt(s.frameRateHz),
        fmt(s.objectRatePerS, 0),
        s.lastFrameAgeMs === null ? p.red('never') : s.lastFrameAgeMs > 1000 ? p.red(`${fmt(s.lastFrameAgeMs, 0)} ms ago`) : `${fmt(s.lastFrameAgeMs, 0)} ms ago`,
        String(Object.values(s.framesDropped).reduce((a, b) => a + b, 0)),
      ]),
    ),
  );
  const per = st.perception as { mode: string; confirmedTracks?: number; liveTracks?: number };
  const lat = st.frameToRadio;
  lines.push(`perception: ${per.mode}, ${fmt(per.confirmedTracks)} tracks; frame → radio p50 ${fmt(lat.p50Ms, 2)} ms, p99 ${fmt(lat.p99Ms, 2)} ms`);
  const types = MESSAGE_TYPES.filter((t) => st.messages.radioTxPerS[t] || st.messages.uplinkPerS[t] || st.messages.radioRxPerS[t]);
  lines.push(table(['messages/s', ...types], [['radio tx', ...types.map((t) => fmt(st.messages.radioTxPerS[t] ?? 0))], ['radio rx', ...types.map((t) => fmt(st.messages.radioRxPerS[t] ?? 0))], ['uplink', ...types.map((t) => fmt(st.messages.uplinkPerS[t] ?? 0))]]));
  const up = st.uplink as { spool: { records?: number; bytes?: number; droppedRecords: number }; mqtt?: { state: string; pending: number; acked: number }; kafka?: { state: string; pending: number } } | undefined;
  if (up) {
    const link = (name: string, l?: { state: string; pending: number }) => (l ? `${name} ${l.state === 'up' ? p.green(l.state) : p.red(l.state)}, ${l.pending} waiting` : '');
    lines.push(`uplink: ${[link('mqtt', up.mqtt), link('kafka', up.kafka)].filter(Boolean).join('; ')}; spool dropped ${up.spool.droppedRecords}`);
  } else lines.push('uplink: off');
  const sch = st.scheduler as { withheld: Record<string, number> };
  const sec = st.security;
  if (sec) {
    const c = sec.certificate;
    const state = sec.signing === 'signed' ? p.green('signed') : p.red(sec.signing.toUpperCase());
    const cert = c ? `certificate ${c.hashedId8 ?? '?'}${c.daysToExpiry !== undefined ? `, ${c.daysToExpiry < 30 ? p.red(`${c.daysToExpiry} days to expiry`) : `${c.daysToExpiry} days to expiry`}` : ''}${c.usable ? '' : p.red(', NOT usable')}` : 'no certificate';
    const unv = Object.entries(sec.receive.unverified).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`security: ${state}; ${cert}; rx verified ${sec.receive.verified}${unv ? `, unverified ${unv}` : ''} (${sec.receive.policy})`);
  }
  if (Object.keys(sch.withheld).length) lines.push(`withheld: ${Object.entries(sch.withheld).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const a of st.alarms) lines.push(p.red(`ALARM: ${a}`));
  if (st.recentErrors.length) {
    lines.push('recent errors:');
    for (const e of st.recentErrors.slice(-5)) lines.push(`  ${e.at}  ${e.msg}`);
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
  const p = paint(!!process.stdout.isTTY);
  const stop = untilStopped();
  const req = request(values.socket ?? defaultSocketPath(), { cmd: 'tail', types }, (o) => {
    if (droppedNotice(o, io)) return;
    const e = o as TailEvent;
    if (values.json) io.out(JSON.stringify(e));
    else io.out(`${new Date(e.atMs).toISOString().slice(11, 23)} ${e.dir === 'tx' ? p.green('tx') : p.cyan('rx')} ${e.type.toUpperCase().padEnd(4)} ${e.security ? `${(e.security === 'signed' || e.security === 'verified' ? p.green : p.red)(e.security)} ` : ''}${JSON.stringify(e.value).slice(0, 160)}`);
  });
  await Promise.race([stop, req]);
  return 0;
}

export const RECORD_HELP = `usage: rsu record FILE [--duration S] [--socket PATH]
Record the running daemon's raw inputs (sensor frames, received radio messages) to FILE (JSON lines), for rsu replay.`;

export async function recordCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { duration: { type: 'string' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) return io.out(RECORD_HELP), 0;
  if (positionals.length !== 1) throw new UsageError('give the FILE to record to');
  const out = createWriteStream(positionals[0]!, { flags: 'a' });
  let n = 0;
  let lost = 0;
  const stop = untilStopped(values.duration ? Number(values.duration) : undefined);
  const req = request(values.socket ?? defaultSocketPath(), { cmd: 'record' }, (o) => {
    const d = droppedNotice(o, io);
    if (d) return void (lost += d);
    out.write(JSON.stringify(o) + '\n');
    if (++n % 100 === 0 && process.stderr.isTTY) process.stderr.write(`\rrecorded ${n}`);
  });
  await Promise.race([stop, req]);
  await new Promise<void>((resolve) => out.end(() => resolve()));
  io.err(`\nrecorded ${n} inputs to ${positionals[0]}${lost ? `; ${lost} inputs were dropped by the daemon because this recorder did not keep up (the recording has gaps)` : ''}`);
  return 0;
}

/** The daemon's {"dropped": {"stream", "lines"}} line (a client that fell behind): said on stderr; the count, or 0. */
function droppedNotice(o: unknown, io: Io): number {
  const d = (o as { dropped?: { stream?: unknown; lines?: unknown } } | null)?.dropped;
  if (!d || typeof d.lines !== 'number') return 0;
  io.err(`(the daemon dropped ${d.lines} ${String(d.stream)} lines: this client did not keep up)`);
  return d.lines;
}

export const REPLAY_HELP = `usage: rsu replay FILE [--config FILE] [--std S]
Run the daemon on recorded inputs at their recorded pace, the recording moved onto today's timeline as a whole
(faster replay would put frames in the future, where the ingest rightly drops them).`;

export async function replayCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, std: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return io.out(REPLAY_HELP), 0;
  if (positionals.length !== 1) throw new UsageError('give the FILE to replay');
  const file = positionals[0]!;
  const size = statSync(file).size;
  const cfg = configFrom(values.config, values.std, io);
  // Recorded inputs are injected; the daemon's own listeners take free ports so a live daemon is not disturbed.
  cfg.ingest.listeners = cfg.ingest.listeners.map((l) => ({ ...l, listen: l.listen.replace(/:\d+$/, ':0') }));
  if (cfg.radio.receive.listen !== '0' && !/:0$/.test(cfg.radio.receive.listen)) cfg.radio.receive.listen = cfg.radio.receive.listen.replace(/:\d+$/, ':0');
  const d = await startDaemon({ config: cfg, socketPath: false });
  const sent: Record<string, number> = {};
  d.onTail((e) => e.dir === 'tx' && (sent[e.type] = (sent[e.type] ?? 0) + 1));
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let read = 0;
  let bad = 0;
  let n = 0;
  let t0 = NaN;
  const wall0 = Date.now();
  const tty = !!process.stderr.isTTY;
  for await (const line of rl) {
    read += Buffer.byteLength(line) + 1;
    let e: RecordEvent;
    try {
      e = JSON.parse(line);
      if ((e.kind !== 'sensor' && e.kind !== 'radio') || typeof e.data !== 'string' || !Number.isFinite(e.t)) throw new Error('not a record line');
    } catch {
      bad++;
      continue;
    }
    if (Number.isNaN(t0)) t0 = e.t;
    const wait = e.t - t0 - (Date.now() - wall0);
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Recorded frames carry their original capture times: move the whole recording onto today's timeline by one
    // offset, so the times between frames (and so speeds) stay as recorded.
    if (e.kind === 'sensor') {
      const delta = BigInt(Math.round(wall0 - t0)) * 1_000_000n;
      e.data = e.format === 'json' ? shiftCaptureTime(e.data, delta) : Buffer.from(shiftCaptureTime(Buffer.from(e.data, 'base64'), delta)).toString('base64');
    }
    d.inject(e);
    n++;
    if (tty && n % 50 === 0) {
      const f = Math.min(1, read / Math.max(1, size));
      process.stderr.write(`\r[${'#'.repeat(Math.round(f * 30)).padEnd(30)}] ${(f * 100).toFixed(0)}%  ${n} inputs`);
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  await d.stop();
  if (tty) process.stderr.write('\n');
  io.out(`replayed ${n} inputs from ${file}${bad ? `, ${bad} unreadable lines skipped` : ''}; sent ${Object.entries(sent).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing'}`);
  return bad && !n ? 1 : 0;
}

export const CONFIG_HELP = `usage: rsu config check FILE [--json]
Validate a config file: every problem, with its key and line.`;

export async function configCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'check') throw new UsageError(`rsu config: unknown subcommand ${sub ?? '(none)'}\n${CONFIG_HELP}`);
  const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) return io.out(CONFIG_HELP), 0;
  if (positionals.length !== 1) throw new UsageError('give the config FILE to check');
  const r = configCheck(positionals[0]!);
  if (values.json) io.out(JSON.stringify({ file: r.file, ok: r.ok, errors: r.errors.map(formatIssue), warnings: r.warnings.map(formatIssue) }));
  else {
    for (const w of r.warnings) io.out(`warning: ${formatIssue(w)}`);
    for (const e of r.errors) io.out(`error: ${formatIssue(e)}`);
    io.out(r.ok ? `${r.file}: ok` : `${r.file}: ${r.errors.length} error(s)`);
  }
  return r.ok ? 0 : 1;
}

export const SEND_TEST_HELP = `usage: rsu send-test --type rsi|spat|map|rsm [--config FILE] [--std S] [--to HOST:PORT]
Build one message of the type from the config, send it once over the configured radio (or udp-raw to --to), and
print it (hex and decoded).`;

export async function sendTestCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { type: { type: 'string' }, config: { type: 'string' }, std: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return io.out(SEND_TEST_HELP), 0;
  const type = values.type?.toLowerCase() as MessageType | undefined;
  if (!type || !['rsi', 'spat', 'map', 'rsm'].includes(type)) throw new UsageError('--type rsi, spat, map or rsm');
  const cfg = configFrom(values.config, values.std, io);
  if (values.to) {
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
  await tx.ready();
  for (const f of frames) {
    const bytes = ms.encode('MessageFrame', f as never);
    const ok = tx.send({ type, bytes });
    io.out(toHex(bytes));
    io.out(JSON.stringify(f));
    if (!ok) io.err(`not sent: ${JSON.stringify(tx.stats())}`);
  }
  await new Promise((r) => setTimeout(r, 100));
  const st = tx.stats() as { errors?: Record<string, number> };
  await tx.close();
  const errors = Object.values(st.errors ?? {}).reduce((a, b) => a + b, 0);
  io.err(`sent ${frames.length} ${type} message(s) via ${cfg.radio.mode} to ${cfg.radio.mode === 'udp-raw' ? cfg.radio.udpRaw.target : cfg.radio.immediateForward.target}${errors ? `, ${errors} error(s)` : ''}`);
  return errors ? 1 : 0;
}
