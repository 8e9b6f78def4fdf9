// `rsu view`: the daemon (or the demo) with the live view: a page on 127.0.0.1 showing the MAP, signal heads
// coloured by the SPaT with countdowns, road users from the RSM, RSI events, message rates and alarms.
import { parseArgs } from 'node:util';
import { ConfigError, formatIssue, loadConfig, MESSAGE_SETS, type MessageSet as StdName } from '../config/index.js';
import { startDaemon, type Daemon } from '../daemon.js';
import { defaultSocketPath } from '../status.js';
import { serveView, viewUrlPath } from '../view/server.js';
import { untilStopped } from './daemon-cmds.js';
import { startDemo } from './demo.js';
import { UsageError, type Io } from './io.js';

export const VIEW_HELP = `usage: rsu view [--demo | --config FILE] [--port N] [--rate HZ] [--std S] [--seed N] [--duration S]
Run the daemon (with --demo: the simulated intersection of rsu demo) and serve the live view on
http://127.0.0.1:PORT/?token=... : the lane map, signal heads coloured by the SPaT with countdowns, the road users
of the RSM, RSI events, message rates and alarms.
The page answers only on the loopback address, only to requests carrying the printed per-run token (also written,
mode 0600, to view.url beside the status socket), and only when the Host header names 127.0.0.1 or localhost.
  --demo         the simulated intersection (no config, no external service)
  --config FILE  the daemon's config (without --demo or --config: the built-in defaults)
  --port N       the view's port (default 0: a free one)
  --rate HZ      view updates per second, 1-10 (default 5)
  --std S        message set: ${MESSAGE_SETS.join(' | ')}
  --seed N       simulation seed for --demo (default 1)
  --duration S   stop by itself after S seconds`;

export async function viewCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      demo: { type: 'boolean' },
      config: { type: 'string' },
      port: { type: 'string', default: '0' },
      rate: { type: 'string', default: '5' },
      std: { type: 'string' },
      seed: { type: 'string', default: '1' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return io.out(VIEW_HELP), 0;
  if (values.demo && values.config) throw new UsageError('--demo or --config, not both');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port}: expected 0-65535`);
  const rate = Number(values.rate);
  if (!(rate >= 1 && rate <= 10)) throw new UsageError(`--rate ${values.rate}: expected 1-10 updates per second`);
  const duration = values.duration !== undefined ? Number(values.duration) : undefined;
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration ${values.duration}: expected seconds > 0`);
  if (values.std && !MESSAGE_SETS.includes(values.std as StdName)) throw new UsageError(`--std ${values.std}: expected one of ${MESSAGE_SETS.join(', ')}`);

  let daemon: Daemon;
  let stopDaemon: () => Promise<void>;
  let socketPath: string | false;
  if (values.demo) {
    const demo = await startDemo({ std: values.std as StdName | undefined, seed: Number(values.seed), onNote: (m) => io.err(m) });
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
    daemon = await startDaemon({ config: cfg, socketPath });
    stopDaemon = () => daemon.stop();
  }
  try {
    // The URL file lives beside the status socket (or where it would be, when the demo runs without one).
    const view = await serveView(daemon, { port, rateHz: rate, urlFile: viewUrlPath(socketPath || defaultSocketPath()) });
    io.out(`rsu view: ${view.url}`);
    io.out(`(the URL, token included, is also in ${view.urlFile}; only this user can read it) ${duration ? `Stops after ${duration} s.` : 'Ctrl-C stops it.'}`);
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
