// `rsu replay`: the daemon on recorded inputs, isolated from the live world. A replay on the RSU box beside the
// live daemon must not broadcast, publish, take its ports, its spool, its status socket or its MQTT client id; asked
// to publish, it does so under an RSU id of its own, so the site's records, retained status and downlinks are not its.
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { shiftCaptureTime } from '../../hw/sensors/wire.js';
import type { RsuConfig } from '../config/index.js';
import { startDaemon } from '../daemon.js';
import type { RecordEvent } from '../status.js';
import { configFrom, useAsn1Dir } from './daemon-cmds.js';
import { UplinkConfigError, validateRsuId } from '../uplink/types.js';
import { UsageError, type Io } from './io.js';

export const REPLAY_HELP = `usage: rsu replay FILE [--config FILE] [--std S] [--asn1 DIR] [--speed N | --as-fast-as-possible]
                  [--radio] [--uplink [--uplink-id ID]] [--socket PATH]
Run the daemon on recorded inputs (rsu record). Isolated by default, so it can run beside the live daemon:
radio and uplink off, a private spool in a temporary directory, ingest and radio receive on free ports, no
metrics endpoint, no status socket, the system clock, the signal plan instead of a controller.
  --radio              send on the configured radio (off by default)
  --uplink             publish to the configured brokers as <rsu.id>-replay (topics, records, retained status),
                       with a client id of its own (<clientId>-replay-<pid>): the site's id is left alone
  --uplink-id ID       publish as ID instead; --uplink-id <rsu.id> publishes as the site itself (its status too)
  --socket PATH        serve a status socket (rsu status/tail --socket PATH) while replaying
  --speed N            N times the recorded pace (default 1)
  --as-fast-as-possible  no pauses between inputs
At speed 1 the whole recording moves onto today's timeline by one offset, so times between frames stay as
recorded. At other speeds each input is moved to the moment it is replayed: the tracker sees time compressed,
and the speeds it estimates scale with N.`;

export interface ReplayIsolation {
  radio: boolean;
  uplink: boolean;
  /** The private spool directory (created by the caller). */
  spoolDir: string;
}

/** The config as the replay runs it: what touches the outside world is off unless asked for. */
export function replayConfig(site: RsuConfig, o: ReplayIsolation): RsuConfig {
  const cfg = structuredClone(site);
  const free = (hp: string) => hp.replace(/:\d+$/, ':0');
  cfg.ingest.listeners = cfg.ingest.listeners.map((l) => ({ ...l, listen: free(l.listen) }));
  // The receiver stays (recorded radio inputs go through it) but on a free loopback port.
  cfg.radio.receive.listen = '127.0.0.1:0';
  if (!o.radio) cfg.radio.mode = 'off';
  cfg.uplink.spool.dir = o.spoolDir;
  if (o.uplink) {
    // Never the site's client id: a broker drops the older of two sessions with one id (the live daemon's).
    const suffix = `-replay-${process.pid}`;
    cfg.uplink.mqtt.clientId = `${cfg.uplink.mqtt.clientId ?? `rsu-${cfg.rsu.id}`}${suffix}`;
    cfg.uplink.kafka.clientId = `${cfg.uplink.kafka.clientId ?? `rsu-${cfg.rsu.id}`}${suffix}`;
    cfg.uplink.mqtt.embeddedBroker = false;
  } else {
    cfg.uplink.mqtt.enabled = false;
    cfg.uplink.kafka.enabled = false;
  }
  cfg.metrics.port = 0;
  // A GNSS serial device or a controller's port belongs to the live daemon; the recording has neither.
  cfg.time.source = 'system';
  cfg.applications.spat.controller = { kind: 'plan' };
  return cfg;
}

export async function replayCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      std: { type: 'string' },
      asn1: { type: 'string' },
      speed: { type: 'string' },
      'as-fast-as-possible': { type: 'boolean' },
      radio: { type: 'boolean' },
      uplink: { type: 'boolean' },
      'uplink-id': { type: 'string' },
      socket: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return io.out(REPLAY_HELP), 0;
  if (positionals.length !== 1) throw new UsageError('give the FILE to replay');
  useAsn1Dir(values.asn1);
  const speed = values['as-fast-as-possible'] ? Infinity : values.speed === undefined ? 1 : Number(values.speed);
  if (values.speed !== undefined && values['as-fast-as-possible']) throw new UsageError('--speed or --as-fast-as-possible, not both');
  if (!(speed > 0)) throw new UsageError(`--speed ${values.speed}: expected a number above 0`);
  const uplinkIdGiven = values['uplink-id'];
  if (uplinkIdGiven !== undefined) {
    if (!values.uplink) throw new UsageError('--uplink-id goes with --uplink');
    try {
      validateRsuId(uplinkIdGiven);
    } catch (e) {
      if (e instanceof UplinkConfigError) throw new UsageError(`--uplink-id: ${e.message}`);
      throw e;
    }
  }
  const file = positionals[0]!;
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  const spoolDir = mkdtempSync(join(tmpdir(), 'rsu-replay-spool-'));
  try {
    const cfg = replayConfig(configFrom(values.config, values.std, io), { radio: !!values.radio, uplink: !!values.uplink, spoolDir });
    const uplinkId = values.uplink ? (uplinkIdGiven ?? `${cfg.rsu.id}-replay`) : undefined;
    const d = await startDaemon({ config: cfg, socketPath: values.socket ?? false, uplinkId });
    const sent: Record<string, number> = {};
    d.onTail((e) => e.dir === 'tx' && (sent[e.type] = (sent[e.type] ?? 0) + 1));
    const r = await feed(file, size, speed, (e) => d.inject(e));
    await new Promise((res) => setTimeout(res, 300));
    await d.stop();
    const what = values.radio ? 'sent' : 'built (radio off)';
    io.out(`replayed ${r.n} inputs from ${file}${r.bad ? `, ${r.bad} unreadable lines skipped` : ''}; ${what} ${Object.entries(sent).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing'}${uplinkId ? `; published as ${uplinkId}` : ''}`);
    return r.bad && !r.n ? 1 : 0;
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/** Read the recording and inject each input at its (scaled) time; a progress bar on a terminal. */
async function feed(file: string, size: number, speed: number, inject: (e: RecordEvent) => void): Promise<{ n: number; bad: number }> {
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
    if (speed === Infinity) await new Promise((r) => setImmediate(r)); // let the daemon's timers and sockets run
    else {
      const wait = (e.t - t0) / speed - (Date.now() - wall0);
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    // Recorded frames carry their original capture times. At speed 1 one offset moves the whole recording onto
    // today's timeline; otherwise each frame moves to now (an input in the future would rightly be dropped).
    if (e.kind === 'sensor') {
      const delta = BigInt(Math.round(speed === 1 ? wall0 - t0 : Date.now() - e.t)) * 1_000_000n;
      e.data = e.format === 'json' ? shiftCaptureTime(e.data, delta) : Buffer.from(shiftCaptureTime(Buffer.from(e.data, 'base64'), delta)).toString('base64');
    }
    inject(e);
    n++;
    if (tty && n % 50 === 0) {
      const f = Math.min(1, read / Math.max(1, size));
      process.stderr.write(`\r[${'#'.repeat(Math.round(f * 30)).padEnd(30)}] ${(f * 100).toFixed(0)}%  ${n} inputs`);
    }
  }
  if (tty) process.stderr.write('\n');
  return { n, bad };
}
