// The local control socket: `rsu status`, `rsu tail` and `rsu view` talk to the running daemon over a Unix socket
// that only its owner can open (the socket is created with mode 0600 inside a 0700 directory).
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { isPlainObject } from './config/schema.js';

/** Default socket path: $RSU_SOCKET, else $XDG_RUNTIME_DIR/rsu/rsu.sock, else /tmp/rsu-<uid>/rsu.sock. */
export function defaultSocketPath(): string {
  if (process.env.RSU_SOCKET) return process.env.RSU_SOCKET;
  const base = process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'rsu') : join(tmpdir(), `rsu-${userInfo().uid}`);
  return join(base, 'rsu.sock');
}

export interface TailEvent {
  dir: 'tx' | 'rx';
  type: string;
  atMs: number;
  value: unknown;
  hex?: string;
  /** tx: signed | unsigned; rx: verified | unverified:<reason> | unsigned. */
  security?: string;
}

export interface RecordEvent {
  t: number;
  kind: 'sensor' | 'radio';
  format?: string;
  data: string; // base64 (binary) or the JSON line
}

export interface StatusSource {
  status(): unknown;
  /** What the live view needs to know of the daemon (a summary of its config and its lane map); no secrets. */
  info?(): unknown;
  onTail(fn: (e: TailEvent) => void): () => void;
  onRecord(fn: (e: RecordEvent) => void): () => void;
}

/** What the `view` stream forwards of the messages the daemon sends (the view draws SPAT, RSM/PSM, RSI/TIM). */
export const VIEW_TAIL_TYPES: ReadonlySet<string> = new Set(['spat', 'rsm', 'psm', 'rsi']);

/** Limits of the status socket: nothing a client does (or fails to do) grows the daemon without bound. */
export interface StatusLimits {
  /** Connections open at once; one more is told so and closed. */
  maxConnections: number;
  /** Replies and stream lines waiting for a client to read them, bytes; beyond: replies wait, stream lines are dropped. */
  maxBufferedBytes: number;
  /** A request line longer than this closes the connection (after an error reply). */
  maxLineBytes: number;
  /** A client that takes no byte for this long while lines wait for it is disconnected, ms. */
  stallMs: number;
  /** A connection with no stream and no request for this long is closed, ms. */
  idleMs: number;
  /** Floor (and ceiling) of the view stream's status period, ms. */
  minStatusMs: number;
  maxStatusMs: number;
}

export const STATUS_LIMITS: Readonly<StatusLimits> = {
  maxConnections: 16,
  maxBufferedBytes: 1 << 20,
  maxLineBytes: 65_536,
  stallMs: 10_000,
  idleMs: 60_000,
  minStatusMs: 200,
  maxStatusMs: 10_000,
};

export const STATUS_STREAMS = ['tail', 'record', 'view'] as const;
export type StatusStream = (typeof STATUS_STREAMS)[number];

/** Why the status socket refused a request or closed a connection (the label of rsu_status_rejected_total). */
export const STATUS_REJECT_REASONS = [
  'not_json', // the line is not JSON
  'not_object', // JSON, but not an object ({"cmd": ...})
  'bad_request', // cmd missing or not a string, or a field of the wrong type
  'unknown_command',
  'duplicate_stream', // a second tail, record or view stream on one connection
  'line_too_long', // connection closed
  'too_many_connections', // connection refused
  'slow_client', // connection closed: it read nothing for stallMs while lines waited
  'idle', // connection closed: no stream and no request for idleMs
  'internal_error', // the daemon failed to answer (its status threw)
] as const;
export type StatusRejectReason = (typeof STATUS_REJECT_REASONS)[number];

export interface StatusServerStats {
  connections: number;
  rejected: Partial<Record<StatusRejectReason, number>>;
  /** Stream lines dropped because their client did not keep up. */
  droppedLines: Partial<Record<StatusStream, number>>;
}

export interface StatusServerOptions {
  limits?: Partial<StatusLimits>;
  /** Told of every rejection and every dropped stream line (the daemon's metrics). */
  onReject?: (reason: StatusRejectReason) => void;
  onDrop?: (stream: StatusStream, lines: number) => void;
}

/**
 * Line protocol, JSON one per line. Requests: {"cmd":"status"} → one status line; {"cmd":"tail","types":[...]}
 * → a line per message until the client closes; {"cmd":"record"} → raw inputs as RecordEvents, likewise;
 * {"cmd":"info"} → {"info": ...}, one line; {"cmd":"view","statusMs":N} (`rsu view` attached to the daemon) →
 * {"info": ...} first, then {"status": ...} at once and every statusMs (200-10000, default 1000) and
 * {"tail": TailEvent} for each SPAT, RSM/PSM and RSI the daemon sends, until the client closes.
 *
 * Every line that is not such a request gets {"error": "..."} naming the problem; blank lines are ignored. One
 * stream of each kind per connection. A client that does not read: its replies wait (the daemon stops reading its
 * requests), its stream lines beyond STATUS_LIMITS.maxBufferedBytes are dropped and counted (when it reads again,
 * {"dropped": {"stream", "lines"}} says how many), and after stallMs it is disconnected.
 */
export async function serveStatus(path: string, src: StatusSource, opts: StatusServerOptions = {}): Promise<{ close: () => Promise<void>; stats: () => StatusServerStats }> {
  const lim: StatusLimits = { ...STATUS_LIMITS, ...opts.limits };
  ensureSocketDir(dirname(path));
  if (existsSync(path)) {
    // A socket left by a crashed daemon: remove it, unless a live daemon answers on it.
    const alive = await new Promise<boolean>((resolve) => {
      const c = createConnection(path, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (alive) throw new Error(`another rsu daemon is running (it answers on ${path}); set RSU_SOCKET to run a second one`);
    unlinkSync(path);
  }
  const clients = new Set<Socket>();
  const rejected: Partial<Record<StatusRejectReason, number>> = {};
  const droppedLines: Partial<Record<StatusStream, number>> = {};
  const reject = (reason: StatusRejectReason) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    opts.onReject?.(reason);
  };
  const all = new Set<Socket>(); // clients and refused connections still closing: close() ends them all
  const server: Server = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    all.add(sock);
    sock.on('close', () => all.delete(sock));
    if (clients.size >= lim.maxConnections) {
      reject('too_many_connections');
      return endWith(sock, { error: `too many connections to the status socket (${lim.maxConnections} open); close one and try again` });
    }
    clients.add(sock);
    serveConnection(sock, src, lim, reject, (stream, n) => {
      droppedLines[stream] = (droppedLines[stream] ?? 0) + n;
      opts.onDrop?.(stream, n);
    });
    sock.on('close', () => clients.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    stats: () => ({ connections: clients.size, rejected: { ...rejected }, droppedLines: { ...droppedLines } }),
    close: () =>
      new Promise((resolve) => {
        for (const c of all) c.destroy();
        server.close(() => {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
          resolve();
        });
      }),
  };
}

/** Says why, and closes the connection (destroyed after 1 s if the client does not close its side). */
function endWith(sock: Socket, reply: unknown): void {
  sock.pause();
  sock.end(JSON.stringify(reply) + '\n');
  setTimeout(() => sock.destroy(), 1000).unref();
}

/** One client connection: its requests, in order, and its streams, each bounded. */
function serveConnection(sock: Socket, src: StatusSource, lim: StatusLimits, reject: (r: StatusRejectReason) => void, dropped: (s: StatusStream, n: number) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  let blocked = false; // replies wait for the client to read: requests are not read meanwhile
  let stallTimer: NodeJS.Timeout | undefined;
  const streams = new Map<StatusStream, () => void>();
  const unread: Partial<Record<StatusStream, number>> = {};
  const over = () => sock.writableLength > lim.maxBufferedBytes;
  const close = (reason: StatusRejectReason) => {
    if (sock.destroyed) return;
    reject(reason);
    sock.destroy();
  };
  // Bytes the client has taken (bytesWritten counts what is still buffered too).
  const taken = () => sock.bytesWritten - sock.writableLength;
  /** While lines wait: a client that takes nothing for stallMs is cut off; one that reads, however slowly, is not. */
  const stalled = () => {
    if (stallTimer) return;
    const before = taken();
    stallTimer = setTimeout(() => {
      stallTimer = undefined;
      if (taken() > before) stalled();
      else if (over() || blocked) close('slow_client');
    }, lim.stallMs);
  };
  const write = (obj: unknown) => {
    if (!sock.destroyed) sock.write(JSON.stringify(obj) + '\n');
  };
  const error = (reason: StatusRejectReason, message: string) => {
    reject(reason);
    write({ error: message });
  };
  /** A stream line: written while the client keeps up, else dropped and counted. */
  const streamLine = (stream: StatusStream, make: () => string) => {
    if (sock.destroyed) return;
    if (over()) {
      unread[stream] = (unread[stream] ?? 0) + 1;
      dropped(stream, 1);
      stalled();
      return;
    }
    const n = unread[stream];
    if (n) {
      unread[stream] = 0;
      sock.write(JSON.stringify({ dropped: { stream, lines: n } }) + '\n');
    }
    sock.write(make());
  };
  const cleanup = () => {
    for (const u of streams.values()) u();
    streams.clear();
    clearTimeout(stallTimer);
  };
  sock.on('close', cleanup);
  sock.on('drain', () => {
    clearTimeout(stallTimer);
    stallTimer = undefined;
    if (blocked) {
      blocked = false;
      sock.resume();
      pump();
    }
  });
  sock.setTimeout(lim.idleMs, () => {
    if (streams.size === 0 && !blocked) close('idle');
  });

  const handle = (line: string) => {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      return error('not_json', `request is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (!isPlainObject(req)) return error('not_object', `request must be a JSON object such as {"cmd":"status"}, got ${req === null ? 'null' : Array.isArray(req) ? 'an array' : typeof req}`);
    const cmd = req.cmd;
    if (typeof cmd !== 'string') return error('bad_request', `request without a "cmd" string: {"cmd": "status" | "tail" | "record" | "info" | "view"}`);
    const streamOnce = (s: StatusStream) => {
      if (!streams.has(s)) return true;
      error('duplicate_stream', `${s}: this connection has a ${s} stream already (one per connection; open another connection)`);
      return false;
    };
    switch (cmd) {
      case 'status': {
        let st: string;
        try {
          st = JSON.stringify(src.status());
        } catch (e) {
          return error('internal_error', `status: ${(e as Error).message}`);
        }
        return sock.write(st + '\n');
      }
      case 'tail': {
        const t = req.types;
        if (t !== undefined && t !== null && !(Array.isArray(t) && t.length <= 64 && t.every((x) => typeof x === 'string')))
          return error('bad_request', 'tail: "types" must be a list of message types such as ["spat","rsm"]');
        if (!streamOnce('tail')) return;
        const types = Array.isArray(t) && t.length ? new Set(t as string[]) : undefined;
        streams.set('tail', src.onTail((e) => (!types || types.has(e.type)) && streamLine('tail', () => JSON.stringify(e) + '\n')));
        return;
      }
      case 'record':
        if (!streamOnce('record')) return;
        streams.set('record', src.onRecord((e) => streamLine('record', () => JSON.stringify(e) + '\n')));
        return;
      case 'info':
      case 'view': {
        const ms = req.statusMs;
        if (cmd === 'view' && ms !== undefined && !(typeof ms === 'number' && Number.isFinite(ms)))
          return error('bad_request', `view: "statusMs" must be a number of ms (${lim.minStatusMs}-${lim.maxStatusMs}), got ${JSON.stringify(ms)?.slice(0, 40)}`);
        if (cmd === 'view' && !streamOnce('view')) return;
        let info: unknown;
        try {
          info = src.info?.();
        } catch (e) {
          return error('internal_error', `${cmd}: ${(e as Error).message}`);
        }
        if (info === undefined) return error('unknown_command', `${cmd}: this daemon has no view information`);
        write({ info });
        if (cmd === 'info') return;
        const statusLine = () => {
          try {
            return JSON.stringify({ status: src.status() }) + '\n';
          } catch (e) {
            return JSON.stringify({ error: `status: ${(e as Error).message}` }) + '\n';
          }
        };
        streamLine('view', statusLine);
        const every = typeof ms === 'number' ? Math.min(lim.maxStatusMs, Math.max(lim.minStatusMs, ms)) : 1000;
        const timer = setInterval(() => streamLine('view', statusLine), every);
        const off = src.onTail((e) => e.dir === 'tx' && VIEW_TAIL_TYPES.has(e.type) && streamLine('view', () => JSON.stringify({ tail: e }) + '\n'));
        streams.set('view', () => {
          clearInterval(timer);
          off();
        });
        return;
      }
      default:
        return error('unknown_command', `unknown command ${JSON.stringify(cmd.slice(0, 40))}: status, tail, record, info or view`);
    }
  };

  /** Handles the complete lines received, as long as the client reads the replies. */
  const pump = () => {
    let nl: number;
    while (!blocked && !sock.destroyed && (nl = pending.indexOf(0x0a)) >= 0) {
      const raw = pending.subarray(0, nl);
      pending = pending.subarray(nl + 1);
      if (raw.length > lim.maxLineBytes) return tooLong();
      const line = raw.toString('utf8').replace(/\r$/, '');
      if (line.trim() !== '') {
        try {
          handle(line);
        } catch (e) {
          error('internal_error', `internal error: ${(e as Error).message}`);
        }
      }
      if (over()) {
        blocked = true;
        sock.pause();
        stalled();
      }
    }
    if (pending.length > lim.maxLineBytes) tooLong();
  };
  const tooLong = () => {
    reject('line_too_long');
    pending = Buffer.alloc(0);
    endWith(sock, { error: `request line longer than ${lim.maxLineBytes} bytes: closing the connection` });
  };
  sock.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pump();
  });
}

/** Thrown when the socket's directory could be someone else's (socket squatting). */
export class UnsafeSocketDirError extends Error {
  readonly code = 'EUNSAFEDIR';
}

/**
 * Refuses a socket directory that another user could have made or can write to: the daemon would serve (and the
 * CLI would talk to) a socket someone else controls. Trusted: a directory owned by this user (or root) that
 * neither group nor others may write. ENOENT passes (the caller says "no daemon").
 */
export function checkSocketDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const uid = process.getuid?.();
  if (uid === undefined) return; // not POSIX
  const fix = 'set RSU_SOCKET (or --socket) to a path in a directory of your own, or remove it';
  if (!st.isDirectory()) throw new UnsafeSocketDirError(`refusing the status socket directory ${dir}: it is not a directory; ${fix}`);
  if (st.uid !== uid && st.uid !== 0)
    throw new UnsafeSocketDirError(`refusing the status socket directory ${dir}: it belongs to uid ${st.uid}, not to you (uid ${uid}), so its socket could be another user's impersonating the daemon; ${fix}`);
  if ((st.mode & 0o022) !== 0)
    throw new UnsafeSocketDirError(
      `refusing the status socket directory ${dir}: mode ${(st.mode & 0o7777).toString(8)} lets ${st.mode & 0o002 ? 'every user' : 'its group'} create and replace sockets in it; chmod 700 ${dir}, or ${fix}`,
    );
}

/** Creates the socket directory (mode 0700) when missing, and refuses it when it is not safe (checkSocketDir). */
export function ensureSocketDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkSocketDir(dir);
}

/** A failed connection to the status socket, said for a field engineer. */
export function describeSocketError(path: string, e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return `no rsu daemon answers on ${path}: the socket does not exist (is the daemon running? --socket or RSU_SOCKET names another path)`;
  if (e.code === 'ECONNREFUSED') return `no rsu daemon answers on ${path} (the socket is left over from a daemon that stopped, or is not a socket)`;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `${path}: permission denied: the status socket is open to the daemon's user only (run this as that user, e.g. sudo -u rsu)`;
  if (e.code === 'ENOTSOCK' || e.code === 'ENOTDIR') return `${path} is not a socket`;
  return `${path}: ${e.message}`;
}

/**
 * A socket 'data' handler that calls `onLine` with each complete newline-terminated line (UTF-8); `tooLong` is
 * called (and the partial line dropped) when more than `maxLine` characters arrive without a newline.
 */
export function lineReader(onLine: (line: string) => void, limit?: { maxLine: number; tooLong: () => void }): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
    if (limit && buf.length > limit.maxLine) {
      buf = '';
      limit.tooLong();
    }
  };
}

/**
 * Send one request; resolve with the first reply line (status; {"error"} when the daemon refused it), or stream
 * every line to onLine (tail, record; rejects when the daemon refuses the stream). Refuses a socket directory
 * another user could control (checkSocketDir). `signal` closes the connection (a stream that should end: Ctrl-C on
 * `rsu tail`); the promise then resolves.
 */
export function request(path: string, req: object, onLine?: (obj: unknown) => void, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    checkSocketDir(dirname(path));
    const sock = createConnection(path);
    const abort = () => {
      sock.destroy();
      resolve(undefined);
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener('abort', abort, { once: true });
    sock.on('close', () => signal?.removeEventListener('abort', abort));
    sock.on('error', (e: NodeJS.ErrnoException) => reject(new Error(describeSocketError(path, e))));
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on(
      'data',
      lineReader((line) => {
        if (sock.destroyed) return; // answered or refused already: the rest of the chunk is not read
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          sock.destroy();
          return reject(new Error(`${path} answered ${JSON.stringify(line.slice(0, 60))}, which is not the rsu daemon's protocol (is this its status socket?)`));
        }
        // A stream the daemon refused (too many connections, one of its kind on this connection already, ...).
        if (onLine && isPlainObject(obj) && typeof obj.error === 'string' && Object.keys(obj).length === 1) {
          sock.destroy();
          return reject(new Error(`the rsu daemon on ${path} refused the request: ${obj.error}`));
        }
        if (!onLine) {
          sock.destroy();
          return resolve(obj);
        }
        onLine(obj);
      }),
    );
    sock.on('close', () => resolve(undefined));
  });
}
