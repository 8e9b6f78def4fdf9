// `rsu view`: the live view in a browser, a page on 127.0.0.1 showing the MAP, signal heads coloured by the SPaT
// with countdowns, road users from the RSM, RSI events, message rates and alarms. It attaches to the daemon that
// is running (through its status socket), or runs a daemon of its own (--demo, --config).
import { parseArgs } from 'node:util';
import { ConfigError, formatIssue, loadConfig, MESSAGE_SETS, type MessageSet as StdName } from '../config/index.js';
import { startDaemon, type Daemon } from '../daemon.js';
import { defaultSocketPath } from '../status.js';
import { serveView, viewUrlPath, type ViewServer } from '../view/server.js';
import { attachView, type AttachedView, type DaemonInfo } from '../view/source.js';
import type { ViewLink } from '../view/state.js';
import { untilStopped } from './daemon-cmds.js';
import { startDemo } from './demo.js';
import { UsageError, type Io } from './io.js';

export const VIEW_HELP = `usage: rsu view [--socket PATH] [--wait] [--port N] [--rate HZ] [--duration S]
       rsu view --demo | --config FILE [--port N] [--rate HZ] [--std S] [--seed N] [--duration S]
The live view in a browser, on http://127.0.0.1:PORT/?token=... : the lane map, signal heads coloured by the SPaT
with countdowns, the road users of the RSM, RSI events, message rates and alarms.
Without --demo or --config it attaches to the daemon that is running (rsu run, the systemd unit) through its status
socket and shows what that daemon sends. When the daemon stops, the page shows it disconnected and the view
attaches again as soon as the daemon is back; Ctrl-C stops the view, never the daemon.
The status socket is open to the daemon's user only: run rsu view as that user (the systemd unit's daemon:
sudo -u rsu rsu view --socket /run/rsu/rsu.sock).
With --demo or --config the view runs a daemon of its own in this process instead.
The page answers only on the loopback address, only to requests carrying the printed per-run token (also written,
mode 0600, to view.url beside the status socket), and only when the Host header names 127.0.0.1 or localhost.
  --socket PATH  the running daemon's status socket (default: $RSU_SOCKET, else $XDG_RUNTIME_DIR/rsu/rsu.sock,
                 else /tmp/rsu-<uid>/rsu.sock)
  --wait         when no daemon is running yet, wait for it (checking every second) instead of failing
  --demo         run the simulated intersection of rsu demo in the view (no config, no external service)
  --config FILE  run a daemon with this config in the view
  --port N       the view's port (default 0: a free one)
  --rate HZ      view updates per second, 1-10 (default 5)
  --std S        message set of the daemon the view runs: ${MESSAGE_SETS.join(' | ')}
  --seed N       simulation seed for --demo (default 1)
  --duration S   stop by itself after S seconds (with --wait, the waiting counts)`;

export async function viewCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string' },
      wait: { type: 'boolean' },
      demo: { type: 'boolean' },
      config: { type: 'string' },
      port: { type: 'string', default: '0' },
      rate: { type: 'string', default: '5' },
      std: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return io.out(VIEW_HELP), 0;
  if (values.demo && values.config) throw new UsageError('--demo or --config, not both');
  const own = values.demo || values.config !== undefined;
  if (own && values.wait) throw new UsageError('--wait is for attaching to a running daemon; --demo and --config run one in the view');
  if (own && values.socket !== undefined) throw new UsageError('--socket attaches to a running daemon; --demo and --config run one in the view: give one or the other');
  if (!own && values.std !== undefined) throw new UsageError('--std sets the message set of a daemon the view runs (--demo, --config); an attached daemon sends its own');
  if (!values.demo && values.seed !== undefined) throw new UsageError('--seed is for --demo');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port}: expected 0-65535`);
  const rate = Number(values.rate);
  if (!(rate >= 1 && rate <= 10)) throw new UsageError(`--rate ${values.rate}: expected 1-10 updates per second`);
  const duration = values.duration !== undefined ? Number(values.duration) : undefined;
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration ${values.duration}: expected seconds > 0`);
  if (values.std && !MESSAGE_SETS.includes(values.std as StdName)) throw new UsageError(`--std ${values.std}: expected one of ${MESSAGE_SETS.join(', ')}`);
  const seed = Number(values.seed ?? '1');
  if (!Number.isInteger(seed)) throw new UsageError(`--seed ${values.seed}: expected an integer`);

  if (!own) return attached(values.socket, { port, rate, duration, wait: values.wait === true }, io);

  let daemon: Daemon;
  let stopDaemon: () => Promise<void>;
  let socketPath: string | false;
  if (values.demo) {
    io.err('rsu view: running the simulated intersection (rsu demo) in this process');
    const demo = await startDemo({ std: values.std as StdName | undefined, seed, onNote: (m) => io.err(m) });
    daemon = demo.daemon;
    socketPath = demo.socketPath;
    stopDaemon = () => demo.stop();
  } else {
    let cfg;
    try {
      cfg = loadConfig(values.config, { onWarning: (w) => io.err(`config warning: ${formatIssue(w)}`) });
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    if (values.std) cfg.messageSet = values.std as StdName;
    socketPath = defaultSocketPath();
    io.err(`rsu view: running a daemon with ${values.config} in this process (status socket ${socketPath})`);
    try {
      daemon = await startDaemon({ config: cfg, socketPath });
    } catch (e) {
      const m = (e as Error).message;
      if (/another rsu daemon is running/.test(m)) throw new Error(`${m}; rsu view without --config attaches to it`);
      throw e;
    }
    stopDaemon = () => daemon.stop();
  }
  try {
    // The URL file lives beside the status socket (or where it would be, when the demo runs without one).
    const view = await serveView(daemon, { port, rateHz: rate, urlFile: viewUrlPath(socketPath || defaultSocketPath()) });
    printUrl(view, duration ? `Stops after ${duration} s.` : 'Ctrl-C stops it.', io);
    const why = await untilStopped(duration);
    await view.close();
    await stopDaemon();
    io.err(`rsu view: stopped (${why})`);
    return 0;
  } catch (e) {
    await stopDaemon();
    throw e;
  }
}

function printUrl(view: ViewServer, tail: string, io: Io): void {
  io.out(`rsu view: ${view.url}`);
  if (view.urlFile) io.out(`(the URL, token included, is also in ${view.urlFile}; only this user can read it) ${tail}`);
  else io.out(`(the URL file could not be written: ${view.urlFileError ?? 'none asked for'}) ${tail}`);
}

const describe = (i: DaemonInfo) => `RSU ${i.rsuId}, ${i.messageSet}, pid ${i.pid}, running since ${i.startedAt}; lane map ${i.mapFile ?? 'none configured'}`;

async function attached(socketArg: string | undefined, o: { port: number; rate: number; duration?: number; wait: boolean }, io: Io): Promise<number> {
  const socket = socketArg ?? defaultSocketPath();
  const from = socketArg !== undefined ? '--socket' : process.env.RSU_SOCKET ? '$RSU_SOCKET' : 'the default socket';
  io.err(`rsu view: attaching to the rsu daemon on ${socket} (${from})`);
  const onLink = (l: ViewLink, info: DaemonInfo | undefined) => {
    if (l.connected) io.err(`rsu view: attached again to the daemon on ${socket}: ${info ? describe(info) : ''}`);
    else io.err(`rsu view: not connected to the daemon on ${socket}: ${l.message}. The page shows it disconnected; trying again every second (Ctrl-C stops the view)`);
  };
  // Ctrl-C, SIGTERM or --duration; started at the first wait (it ends a --wait too) or else once attached.
  let why: string | undefined;
  let stopped: Promise<string> | undefined;
  const giveUp = new AbortController();
  const stop = () => (stopped ??= untilStopped(o.duration, giveUp.signal).then((w) => (why = w)));
  let src: AttachedView | undefined;
  try {
    let waiting = false;
    while (!src) {
      try {
        src = await attachView(socket, { onLink });
      } catch (e) {
        // Only "no daemon there yet" is waited out; permission denied or a foreign socket will not change by waiting.
        const code = (e as NodeJS.ErrnoException).code;
        const noDaemon = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!o.wait || !noDaemon) {
          const hint = noDaemon ? '; to wait for the daemon to start: rsu view --wait' : '';
          throw new Error(`${(e as Error).message}\n(to run a daemon inside the view instead: rsu view --demo, or rsu view --config FILE${hint})`);
        }
        if (!waiting) io.err(`rsu view: ${(e as Error).message}; waiting for it (--wait), checking every second`);
        waiting = true;
        await Promise.race([stop(), new Promise((r) => setTimeout(r, 1000))]);
        if (why) {
          io.err(`rsu view: stopped (${why}) before a daemon answered on ${socket}`);
          return 0;
        }
      }
    }
    io.err(`rsu view: attached: ${describe(src.info()!)}`);
    const view = await serveView(src, { port: o.port, rateHz: o.rate, urlFile: viewUrlPath(socket) });
    printUrl(view, `${o.duration ? `Stops after ${o.duration} s.` : 'Ctrl-C stops the view.'} The daemon keeps running either way.`, io);
    await stop();
    await view.close();
    io.err(`rsu view: stopped (${why}); the daemon on ${socket} was not touched`);
    return 0;
  } finally {
    giveUp.abort();
    src?.close();
  }
}
