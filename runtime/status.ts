// The local control socket: `rsu status`, `rsu tail` and `rsu view` talk to the running daemon over a Unix socket
// that only its owner can open (the socket is created with mode 0600 inside a 0700 directory).
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';

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

/**
 * Line protocol, JSON one per line. Requests: {"cmd":"status"} → one status line; {"cmd":"tail","types":[...]}
 * → a line per message until the client closes; {"cmd":"record"} → raw inputs as RecordEvents, likewise;
 * {"cmd":"info"} → {"info": ...}, one line; {"cmd":"view","statusMs":N} (`rsu view` attached to the daemon) →
 * {"info": ...} first, then {"status": ...} at once and every statusMs (200-10000, default 1000) and
 * {"tail": TailEvent} for each SPAT, RSM/PSM and RSI the daemon sends, until the client closes. A client that
 * does not keep up misses lines (tail, view), it never makes the daemon queue them.
 */
export async function serveStatus(path: string, src: StatusSource): Promise<{ close: () => Promise<void> }> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0 && dir !== tmpdir()) chmodSync(dir, 0o700);
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
  const server: Server = createServer((sock) => {
    clients.add(sock);
    let buf = '';
    const unsub: (() => void)[] = [];
    const cleanup = () => {
      unsub.forEach((u) => u());
      clients.delete(sock);
    };
    sock.on('close', cleanup);
    sock.on('error', cleanup);
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.length > 65536) return sock.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: { cmd?: string; types?: string[]; statusMs?: unknown };
        try {
          req = JSON.parse(line);
        } catch {
          sock.write(JSON.stringify({ error: 'request is not JSON' }) + '\n');
          continue;
        }
        if (req.cmd === 'status') sock.write(JSON.stringify(src.status()) + '\n');
        else if (req.cmd === 'tail') {
          const types = Array.isArray(req.types) && req.types.length ? new Set(req.types) : undefined;
          unsub.push(src.onTail((e) => (!types || types.has(e.type)) && !sock.writableNeedDrain && sock.write(JSON.stringify(e) + '\n')));
        } else if (req.cmd === 'record') unsub.push(src.onRecord((e) => sock.write(JSON.stringify(e) + '\n')));
        else if (req.cmd === 'info' || req.cmd === 'view') {
          const info = src.info?.();
          if (info === undefined) {
            sock.write(JSON.stringify({ error: `${req.cmd}: this daemon has no view information` }) + '\n');
            continue;
          }
          sock.write(JSON.stringify({ info }) + '\n');
          if (req.cmd === 'info') continue;
          const statusLine = () => {
            try {
              return JSON.stringify({ status: src.status() }) + '\n';
            } catch (e) {
              return JSON.stringify({ error: `status: ${(e as Error).message}` }) + '\n';
            }
          };
          sock.write(statusLine());
          const every = typeof req.statusMs === 'number' && Number.isFinite(req.statusMs) ? Math.min(10_000, Math.max(200, req.statusMs)) : 1000;
          const timer = setInterval(() => !sock.writableNeedDrain && sock.write(statusLine()), every);
          unsub.push(() => clearInterval(timer));
          unsub.push(src.onTail((e) => e.dir === 'tx' && VIEW_TAIL_TYPES.has(e.type) && !sock.writableNeedDrain && sock.write(JSON.stringify({ tail: e }) + '\n')));
        } else sock.write(JSON.stringify({ error: `unknown command ${JSON.stringify(req.cmd)}: status, tail, record, info or view` }) + '\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise((resolve) => {
        for (const c of clients) c.destroy();
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

/** A failed connection to the status socket, said for a field engineer. */
export function describeSocketError(path: string, e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return `no rsu daemon answers on ${path}: the socket does not exist (is the daemon running? --socket or RSU_SOCKET names another path)`;
  if (e.code === 'ECONNREFUSED') return `no rsu daemon answers on ${path} (the socket is left over from a daemon that stopped, or is not a socket)`;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `${path}: permission denied: the status socket is open to the daemon's user only (run this as that user, e.g. sudo -u rsu)`;
  if (e.code === 'ENOTSOCK' || e.code === 'ENOTDIR') return `${path} is not a socket`;
  return `${path}: ${e.message}`;
}

/** Send one request; resolve with the first reply line (status), or stream every line to onLine (tail, record). */
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

/** `signal`: closes the connection (a stream that should end: Ctrl-C on `rsu tail`); the promise then resolves. */
export function request(path: string, req: object, onLine?: (obj: unknown) => void, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
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
