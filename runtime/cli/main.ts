#!/usr/bin/env node
// `rsu`: the field engineer's command line.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { certCommand } from './cert.js';
import { codecCommand, decodeCommand, encodeCommand } from './codec.js';
import { demoCommand } from './demo.js';
import { configCommand, recordCommand, runCommand, sendTestCommand, statusCommand, tailCommand } from './daemon-cmds.js';
import { suggest } from '../config/schema.js';
import { UsageError, processIo, type Io } from './io.js';
import { mapCommand } from './map.js';
import { replayCommand } from './replay.js';
import { viewCommand } from './view.js';

const USAGE = `usage: rsu <command> [options]     (rsu <command> --help for each)
commands:
  run            run the daemon (--config FILE; without it, the built-in defaults)
  demo           the demo: simulated intersection, embedded MQTT broker, live status
  view           the live view in a browser: map, signals, road users, events, of the running daemon
                 (--socket PATH), or of one it runs (--demo | --config FILE)
  status         the running daemon's state (--json)
  tail           live decoded messages (--type spat,rsm)
  record FILE    record the running daemon's raw inputs
  replay FILE    run the daemon on recorded inputs
  config check   validate a config file
  send-test      build and send one message (--type rsi|spat|map|rsm)
  decode         decode UPER hex to JER JSON
  encode         encode JER JSON to UPER hex
  codec compile  compile a deployer's ASN.1 modules
  map            MAP authoring: build, validate, render a GeoJSON lane map
  cert           IEEE 1609.2 certificates: show, check, make-test-ca, issue (throwaway ones for labs)`;

type Command = (argv: string[], io: Io) => Promise<number>;
const COMMANDS: Record<string, Command> = {
  run: runCommand,
  demo: demoCommand,
  view: viewCommand,
  status: statusCommand,
  tail: tailCommand,
  record: recordCommand,
  replay: replayCommand,
  config: configCommand,
  'send-test': sendTestCommand,
  decode: decodeCommand,
  encode: encodeCommand,
  codec: codecCommand,
  map: mapCommand,
  cert: certCommand,
};

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(USAGE);
    return cmd ? 0 : 2;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    const near = suggest(cmd, Object.keys(COMMANDS));
    io.err(`rsu: unknown command ${JSON.stringify(cmd)}${near ? ` (did you mean "${near}"?)` : ''}\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`rsu ${cmd}: ${(e as Error).message}`);
      return 2;
    }
    io.err(`rsu ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}

// Run when executed directly (the package bin, possibly through a symlink), not when imported by tests.
const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (invoked === import.meta.url) process.exitCode = await main(process.argv.slice(2));
