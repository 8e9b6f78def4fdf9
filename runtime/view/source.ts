// Where the live view's data comes from: the daemon running in the view's own process (`rsu view --demo`,
// `--config`), or a daemon already running elsewhere (`rsu view`, attached through its status socket).
//
// Attached, the view opens the status socket (runtime/status.ts: owner-only, so the same local access control as
// `rsu status`) and sends {"cmd":"view"}: the daemon answers with its info (a summary of its config: RSU id,
// message set, intersection, rates, and the lane map as the view draws it; no secrets), then streams its status
// once a second and every SPAT, RSM/PSM and RSI it sends. When the daemon stops, the view says so and tries again
// every second; a daemon that comes back (restarted, maybe with another config) is attached afresh.
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { RsuConfig } from '../config/types.js';
import type { DaemonStatus } from '../daemon.js';
import { loadLaneMap, type LaneMap } from '../map/index.js';
import { checkSocketDir, describeSocketError, lineReader, type TailEvent } from '../status.js';
import { viewMapOf, type ViewLink, type ViewMap } from './state.js';
import { isPlainObject as isObj } from '../config/schema.js';

/** What a daemon tells the view about itself (the status socket's `info`). */
export interface DaemonInfo {
  rsuId: string;
  messageSet: string;
  startedAt: string;
  pid: number;
  /** rsu.reference (the view's origin when there is no lane map). */
  reference: { lat: number; lon: number; elevation: number };
  /** The SPAT's (and MAP's) intersection. */
  intersection: { region: number; id: number };
  intervalsMs: { spat: number; rsm: number; rsi: number };
  /** applications.spat.controller.kind */
  signalController: string;
  /** applications.map.file as the daemon loaded it; null: none. */
  mapFile: string | null;
  /** The lane map the daemon builds its MAP from, as the view draws it; null: none. */
  map: ViewMap | null;
}

/**
 * What the view uses of the daemon's status. The health parts may be missing (an older daemon attached over the
 * socket) and are read defensively (state.ts healthOf); `security` is what a daemon that signs will report.
 */
export type ViewStatus = Pick<DaemonStatus, 'rsuId' | 'messageSet' | 'uptimeS' | 'perception' | 'messages' | 'alarms' | 'recentErrors'> &
  Partial<Pick<DaemonStatus, 'time' | 'sensors' | 'sensorHealth' | 'uplink' | 'build'>> & { security?: unknown };

/** The view's data: the daemon's info and status, the messages it sends, and the link to it. */
export interface ViewSource {
  /** Undefined until an attached source has first reached the daemon; a new object for each daemon attached. */
  info(): DaemonInfo | undefined;
  /** The latest status; undefined while not connected. */
  status(): ViewStatus | undefined;
  onTail(fn: (e: TailEvent) => void): () => void;
  link(): ViewLink;
}

/** A daemon in this process (a `Daemon` is one). */
export interface LocalDaemon {
  readonly config: RsuConfig;
  readonly laneMap?: LaneMap;
  status(): DaemonStatus;
  onTail(fn: (e: TailEvent) => void): () => void;
}

export function daemonInfo(cfg: RsuConfig, laneMap: LaneMap | undefined, startedAt: string): DaemonInfo {
  const a = cfg.applications;
  return {
    rsuId: cfg.rsu.id,
    messageSet: cfg.messageSet,
    startedAt,
    pid: process.pid,
    reference: { ...cfg.rsu.reference },
    intersection: { region: a.spat.intersection.region, id: a.spat.intersection.id },
    intervalsMs: { spat: a.spat.intervalMs, rsm: a.rsm.intervalMs, rsi: a.rsi.intervalMs },
    signalController: a.spat.controller.kind,
    mapFile: laneMap ? (a.map.file ?? null) : null,
    map: laneMap ? viewMapOf(laneMap) : null,
  };
}

/** The view's source for a daemon in this process; `laneMap` overrides the daemon's (else its config's file). */
export function localViewSource(d: LocalDaemon, laneMap?: LaneMap): ViewSource {
  const map = laneMap ?? d.laneMap ?? (d.config.applications.map.file ? loadLaneMap(d.config.applications.map.file) : undefined);
  const info = daemonInfo(d.config, map, String(d.status().startedAt ?? new Date().toISOString()));
  const link: ViewLink = { attached: false, connected: true, sinceMs: Date.now(), pid: process.pid };
  return { info: () => info, status: () => d.status(), onTail: (fn) => d.onTail(fn), link: () => link };
}

// ------------------------------------------------------------------------------------------------------ attached

export interface AttachOptions {
  /** Between attempts to reach a daemon that went away, ms (default 1000). */
  retryMs?: number;
  /** How often the daemon sends its status, ms (default 1000). */
  statusMs?: number;
  /** A socket that accepts the connection but says nothing for this long is no daemon, ms (default 5000). */
  answerTimeoutMs?: number;
  /** Told of every change of the link after the first attach (lost, reattached, a new reason it is down). */
  onLink?: (link: ViewLink, info: DaemonInfo | undefined) => void;
}

export interface AttachedView extends ViewSource {
  readonly socketPath: string;
  /** Stop: close the connection and do not reconnect. */
  close(): void;
}

type Obj = Record<string, unknown>;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPoint = (p: unknown) => Array.isArray(p) && p.length === 2 && isNum(p[0]) && isNum(p[1]);

/** Why a value is not a DaemonInfo the view can use (undefined: it is one). */
export function infoProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'no info object';
  if (typeof v.rsuId !== 'string' || typeof v.messageSet !== 'string') return 'no rsuId or messageSet';
  if (!isObj(v.reference) || !isNum(v.reference.lat) || !isNum(v.reference.lon)) return 'no reference position';
  if (!isObj(v.intersection) || !isNum(v.intersection.id)) return 'no intersection';
  if (!isObj(v.intervalsMs) || !isNum(v.intervalsMs.spat) || !isNum(v.intervalsMs.rsm) || !isNum(v.intervalsMs.rsi)) return 'no message intervals';
  if (v.map !== null) {
    const m = v.map;
    if (!isObj(m) || !isNum(m.intersectionId) || !isObj(m.reference) || !isNum(m.reference.lat) || !isNum(m.reference.lon) || !Array.isArray(m.approaches) || !Array.isArray(m.lanes)) return 'a malformed lane map';
    for (const l of m.lanes)
      if (!isObj(l) || !isNum(l.laneId) || !isNum(l.widthM) || typeof l.kind !== 'string' || typeof l.direction !== 'string' || !Array.isArray(l.maneuvers) || !Array.isArray(l.signalGroups) || !l.signalGroups.every(isNum) || !Array.isArray(l.points) || l.points.length < 2 || !l.points.every(isPoint))
        return 'a malformed lane in the lane map';
  }
  return undefined;
}

function isStatus(v: unknown): v is ViewStatus {
  return isObj(v) && typeof v.rsuId === 'string' && typeof v.messageSet === 'string' && isNum(v.uptimeS) && isObj(v.messages) && isObj(v.messages.radioTxPerS) && isObj(v.messages.radioRxPerS) && isObj(v.messages.uplinkPerS) && Array.isArray(v.alarms) && v.alarms.every((a) => typeof a === 'string') && Array.isArray(v.recentErrors) && v.recentErrors.every((e) => isObj(e) && typeof e.at === 'string' && typeof e.msg === 'string');
}

function isTail(v: unknown): v is TailEvent {
  return isObj(v) && (v.dir === 'tx' || v.dir === 'rx') && typeof v.type === 'string' && isNum(v.atMs);
}

/** Lines longer than this are no protocol of ours (the largest, the info with a big lane map, is far smaller). */
const MAX_LINE = 32 << 20;

/**
 * Attach to the daemon answering on `socketPath`. Resolves once it has sent its info; rejects with a clear error
 * when nothing answers there, the socket is not ours to open, or what answers is no (current) rsu daemon.
 */
export async function attachView(socketPath: string, opts: AttachOptions = {}): Promise<AttachedView> {
  const retryMs = opts.retryMs ?? 1000;
  const statusMs = Math.min(10_000, Math.max(200, opts.statusMs ?? 1000));
  const answerTimeoutMs = opts.answerTimeoutMs ?? 5000;
  const tails = new Set<(e: TailEvent) => void>();
  let info: DaemonInfo | undefined;
  let status: ViewStatus | undefined;
  let link: ViewLink = { attached: true, socket: socketPath, connected: false, message: 'not attached yet', sinceMs: Date.now() };
  let current: Socket | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let started = false;

  const setLink = (l: Omit<ViewLink, 'attached' | 'socket' | 'sinceMs'>) => {
    if (l.connected === link.connected && l.message === link.message && l.pid === link.pid) return;
    link = { attached: true, socket: socketPath, ...l, sinceMs: Date.now() };
    if (started) opts.onLink?.(link, info);
  };

  /** One connection: resolves with the daemon's info, or rejects saying why there is none. */
  const connect = () =>
    new Promise<DaemonInfo>((resolve, reject) => {
      try {
        checkSocketDir(dirname(socketPath));
      } catch (e) {
        return reject(e);
      }
      const sock = createConnection(socketPath);
      let attached = false;
      let lastLineMs = Date.now();
      let watchdog: NodeJS.Timeout | undefined;
      /** `code`: the socket's errno (ENOENT, ECONNREFUSED: no daemon there yet), kept on the rejection. */
      const fail = (why: string, code?: string) => {
        clearTimeout(timer);
        if (watchdog) clearInterval(watchdog);
        sock.destroy();
        if (!attached) reject(Object.assign(new Error(why), code ? { code } : {}));
        else if (current === sock) lost(why);
      };
      const timer = setTimeout(() => fail(`${socketPath} accepted the connection, but no rsu daemon answered within ${answerTimeoutMs} ms`), answerTimeoutMs);
      sock.on('error', (e: NodeJS.ErrnoException) => fail(attached ? `the connection to the daemon failed: ${e.message}` : describeSocketError(socketPath, e), e.code));
      sock.on('close', () => fail(attached ? 'the daemon closed the connection (it stopped, or is restarting)' : `${socketPath}: the other side closed the connection without answering`));
      sock.on('connect', () => sock.write(JSON.stringify({ cmd: 'view', statusMs }) + '\n'));
      sock.on(
        'data',
        lineReader(
          (line) => {
            if (sock.destroyed) return;
            lastLineMs = Date.now();
            let o: unknown;
            try {
              o = JSON.parse(line);
            } catch {
              return fail(`${socketPath} answered ${JSON.stringify(line.slice(0, 60))}, which is not the rsu daemon's protocol (is this its status socket?)`);
            }
            if (!isObj(o)) return fail(`${socketPath} answered ${JSON.stringify(line.slice(0, 60))}, which is not the rsu daemon's protocol`);
            if (!attached) {
              if (typeof o.error === 'string')
                return fail(`the rsu daemon on ${socketPath} does not serve the live view (it answers: ${o.error}): it runs an older version of rsu; restart it with this one`);
              const why = infoProblem(o.info);
              if (why) return fail(`the daemon on ${socketPath} sent view information with ${why}`);
              attached = true;
              clearTimeout(timer);
              current = sock;
              // Now, not after the promise settles: the status and messages in this same chunk belong to this daemon.
              info = o.info as DaemonInfo;
              status = undefined;
              // The daemon sends its status every statusMs: a connection silent for much longer is a hung daemon.
              const silentMs = Math.max(answerTimeoutMs, 5 * statusMs);
              watchdog = setInterval(() => {
                if (Date.now() - lastLineMs > silentMs) fail(`the daemon has sent nothing for ${Math.round(silentMs / 1000)} s (is it hung?)`);
              }, statusMs);
              watchdog.unref();
              resolve(o.info as DaemonInfo);
            } else if ('tail' in o) {
              if (isTail(o.tail)) for (const fn of tails) fn(o.tail);
            } else if ('status' in o) {
              if (isStatus(o.status)) status = o.status;
            }
          },
          { maxLine: MAX_LINE, tooLong: () => fail(`${socketPath} sent a line of more than ${MAX_LINE} bytes: not the rsu daemon's protocol`) },
        ),
      );
    });

  const attach = async () => {
    const i = await connect();
    if (closed) {
      current?.destroy();
      return;
    }
    setLink({ connected: true, pid: typeof i.pid === 'number' ? i.pid : undefined });
  };

  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      if (closed) return;
      attach().catch((e: Error) => {
        setLink({ connected: false, message: e.message });
        schedule();
      });
    }, retryMs);
    retry.unref();
  };

  const lost = (why: string) => {
    current = undefined;
    status = undefined;
    setLink({ connected: false, message: why });
    schedule();
  };

  await attach();
  started = true;
  return {
    socketPath,
    info: () => info,
    status: () => (link.connected ? status : undefined),
    onTail: (fn) => (tails.add(fn), () => tails.delete(fn)),
    link: () => link,
    close: () => {
      closed = true;
      if (retry) clearTimeout(retry);
      const s = current;
      current = undefined;
      s?.destroy();
    },
  };
}
