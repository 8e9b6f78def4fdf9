// The local control socket: `rsu status` and `rsu tail` talk to the running daemon over a Unix socket that only
// its owner can open (the socket is created with mode 0600 inside a 0700 directory).
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
  onTail(fn: (e: TailEvent) => void): () => void;
  onRecord(fn: (e: RecordEvent) => void): () => void;
}

/**
 * Line protocol, JSON one per line. Requests: {"cmd":"status"} → one status line; {"cmd":"tail","types":[...]}
 * → a line per message until the client closes; {"cmd":"record"} → raw inputs as RecordEvents, likewise.
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
        let req: { cmd?: string; types?: string[] };
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
        else sock.write(JSON.stringify({ error: `unknown command ${JSON.stringify(req.cmd)}: status, tail or record` }) + '\n');
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

/** Send one request; resolve with the first reply line (status), or stream every line to onLine (tail, record). */
export function request(path: string, req: object, onLine?: (obj: unknown) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new Error(`no rsu daemon answers on ${path} (is it running? RSU_SOCKET sets the path)`));
      else if (e.code === 'EACCES') reject(new Error(`${path}: permission denied (the socket belongs to the daemon's user)`));
      else reject(e);
    });
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const obj = JSON.parse(line);
        if (!onLine) {
          sock.destroy();
          return resolve(obj);
        }
        onLine(obj);
      }
    });
    sock.on('close', () => resolve(undefined));
  });
}
