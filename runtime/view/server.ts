// The live view's HTTP server: one static page (index.html, beside this module) and a Server-Sent-Events stream
// with the lane map (once, and again when an attached view reaches a restarted daemon) and, at 5-10 Hz, the
// link to the daemon, signal states with countdowns, road users, RSI events, message rates and alarms, all built
// from what the daemon broadcasts (state.ts). The daemon runs in this process or is attached over its status
// socket (source.ts).
//
// Access control, the counterpart of the status socket's owner-only permissions: the server listens on
// 127.0.0.1 only; every request must carry the per-run random token (`?token=`), which only the user who
// started the view learns (printed, and written to a 0600 file in the status socket's 0700 directory); and the
// Host header must name the loopback address and this port, so a web page elsewhere cannot reach the server
// through DNS rebinding. Anything else gets 403 before any content.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LaneMap } from '../map/index.js';
import { defaultSocketPath } from '../status.js';
import { localViewSource, type DaemonInfo, type LocalDaemon, type ViewSource, type ViewStatus } from './source.js';
import { ViewState, viewHealthOf, type ViewFrame, type ViewMap } from './state.js';

export type { ViewSource } from './source.js';

export interface ViewServerOptions {
  /** TCP port on 127.0.0.1; 0 (the default): a free one. */
  port?: number;
  /** With a daemon in this process: the lane map to draw (default: the daemon's, else its config's file). */
  laneMap?: LaneMap;
  /** Updates per second on the stream, 1-10 (default 5). */
  rateHz?: number;
  /** Where to write the URL with the token (mode 0600); false: nowhere. Default viewUrlPath(). */
  urlFile?: string | false;
  /** The token (default: 32 random bytes, base64url). */
  token?: string;
}

export interface ViewServer {
  /** The page's URL, token included. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** The file holding the URL, when one was written. */
  readonly urlFile?: string;
  /** Why the URL file could not be written (the view runs without it). */
  readonly urlFileError?: string;
  /** The current frame (what the stream sends next). */
  frame(): ViewFrame;
  close(): Promise<void>;
}

/** Where `rsu view` writes its URL: beside the status socket ($RSU_SOCKET's directory, else the default's). */
export function viewUrlPath(socketPath: string = defaultSocketPath()): string {
  return join(dirname(socketPath), 'view.url');
}

/** The page, beside this module in the source tree (found from dist/ too). */
export function viewPagePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'index.html'), resolve(here, '../../../runtime/view/index.html')]) if (existsSync(p)) return p;
  return join(here, 'index.html');
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a Host header names the loopback interface on this port. */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/i.exec(host.trim());
  if (!m) return false;
  return LOOPBACK_HOSTS.has(m[1]!.toLowerCase()) && Number(m[2] ?? 80) === port;
}

function tokenMatches(given: string | null, token: Buffer): boolean {
  if (!given) return false;
  const g = Buffer.from(given);
  return g.length === token.length && timingSafeEqual(g, token);
}

export async function serveView(src: ViewSource | LocalDaemon, opts: ViewServerOptions = {}): Promise<ViewServer> {
  const source: ViewSource = 'config' in src ? localViewSource(src, opts.laneMap) : src;
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const rateHz = Math.max(1, Math.min(10, opts.rateHz ?? 5));

  // The page, and a CSP that allows exactly its inline script and style.
  const page = readFileSync(viewPagePath(), 'utf8');
  const hashes = (tag: string) =>
    [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`).join(' ');
  const csp = `default-src 'none'; script-src ${hashes('script')}; style-src ${hashes('style')}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

  // The daemon's info, its map and the state built from what it sends; rebuilt when the source attaches to
  // another daemon (a new info object), and the map sent again to the pages.
  let cur: { info: DaemonInfo; map: ViewMap | null; state: ViewState } | undefined;
  // status() walks every component: once a second is enough for rates (a 5 s window) and alarms.
  let status: { at: number; st: ViewStatus } | undefined;
  const streams = new Set<ServerResponse>();
  const mapEvent = () => `event: map\ndata: ${JSON.stringify(cur?.map ?? null)}\n\n`;
  const sync = () => {
    const info = source.info();
    if (!info || info === cur?.info) return;
    const first = cur === undefined;
    cur = {
      info,
      map: info.map,
      state: new ViewState({
        reference: info.map?.reference ?? info.reference,
        intersectionId: info.intersection.id,
        eventTtlMs: Math.max(5000, 3 * info.intervalsMs.rsi),
        spatTtlMs: Math.max(2000, 5 * info.intervalsMs.spat),
        trackTtlMs: Math.max(400, 3 * info.intervalsMs.rsm),
      }),
    };
    status = undefined;
    if (!first) for (const s of streams) s.write(mapEvent());
  };
  sync();
  const unsubscribe = source.onTail((e) => {
    sync();
    cur?.state.onTail(e);
  });

  const frame = (): ViewFrame => {
    sync();
    const now = Date.now();
    const link = source.link();
    const up = link.connected && cur !== undefined;
    if (up && (!status || now - status.at >= 1000)) {
      const st = source.status();
      if (st) status = { at: now, st };
    }
    const st = up ? status?.st : undefined;
    const per = (st?.perception ?? {}) as { mode?: string; confirmedTracks?: number };
    const { signals, spatAgeMs } = up ? cur!.state.signals(now) : { signals: [], spatAgeMs: null };
    return {
      atMs: now,
      link,
      rsuId: st?.rsuId ?? cur?.info.rsuId ?? '',
      messageSet: st?.messageSet ?? cur?.info.messageSet ?? '',
      uptimeS: st?.uptimeS ?? 0,
      signals,
      spatAgeMs,
      tracks: up ? cur!.state.currentTracks(now) : [],
      events: up ? cur!.state.currentEvents(now) : [],
      rates: st?.messages ?? { radioTxPerS: {}, radioRxPerS: {}, uplinkPerS: {} },
      perception: st ? { mode: per.mode, confirmedTracks: per.confirmedTracks } : undefined,
      alarms: st?.alarms ?? [],
      recentErrors: st?.recentErrors.slice(-5) ?? [],
      health: st ? viewHealthOf(st) : { sensors: [], uplink: [] },
    };
  };

  let port = 0;
  const common = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY' };
  const refuse = (res: ServerResponse, code: number, why: string) => {
    res.writeHead(code, { ...common, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${why}\n`);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, port)) return refuse(res, 403, 'forbidden: the view answers only to http://127.0.0.1 or http://localhost on its own port');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!tokenMatches(url.searchParams.get('token'), tokenBuf)) return refuse(res, 403, 'forbidden: the URL needs the token `rsu view` printed (also in its view.url file)');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { ...common, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': csp });
      return res.end(req.method === 'HEAD' ? undefined : page);
    }
    if (url.pathname === '/state') {
      res.writeHead(200, { ...common, 'Content-Type': 'application/json' });
      const f = frame();
      return res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ map: cur?.map ?? null, frame: f }));
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { ...common, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
      if (req.method === 'HEAD') return res.end();
      const f = frame();
      res.write(`retry: 1000\n${mapEvent()}`);
      res.write(`event: frame\ndata: ${JSON.stringify(f)}\n\n`);
      streams.add(res);
      const drop = () => streams.delete(res);
      res.on('close', drop);
      res.on('error', drop);
      return;
    }
    refuse(res, 404, 'not found');
  });
  // Idle keep-alive connections must not hold up close().
  server.keepAliveTimeout = 2000;

  const timer = setInterval(() => {
    if (!streams.size) return;
    const f = frame(); // before the data: a new daemon's map goes out first
    const data = `event: frame\ndata: ${JSON.stringify(f)}\n\n`;
    for (const s of streams) if (!s.writableNeedDrain) s.write(data); // a slow page skips frames, it never queues them
  }, Math.round(1000 / rateHz));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (e) {
    clearInterval(timer);
    unsubscribe();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`the view's port ${opts.port} is in use (give another with --port, or 0 for a free one)`);
    throw e;
  }
  port = (server.address() as AddressInfo).port;
  const pageUrl = `http://127.0.0.1:${port}/?token=${token}`;

  let urlFile: string | undefined;
  let urlFileError: string | undefined;
  if (opts.urlFile !== false) {
    const file = opts.urlFile ?? viewUrlPath();
    try {
      const dir = dirname(file);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if ((statSync(dir).mode & 0o077) !== 0 && dir !== tmpdir()) chmodSync(dir, 0o700);
      if (existsSync(file)) unlinkSync(file); // a new file gets mode 0600 whatever the old one had
      writeFileSync(file, pageUrl + '\n', { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600); // whatever the umask
      urlFile = file;
    } catch (e) {
      urlFileError = `${file}: ${(e as Error).message}`;
    }
  }

  return {
    url: pageUrl,
    port,
    token,
    urlFile,
    urlFileError,
    frame,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        unsubscribe();
        for (const s of streams) s.end();
        streams.clear();
        if (urlFile) {
          try {
            // Only our own URL: another view may have written the file since.
            if (readFileSync(urlFile, 'utf8').trim() === pageUrl) unlinkSync(urlFile);
          } catch {
            /* already gone */
          }
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
