#!/usr/bin/env node
// `rsu`: the field engineer's command line.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { codecCommand, decodeCommand, encodeCommand } from './codec.js';
import { UsageError, processIo, type Io } from './io.js';

const USAGE = `usage: rsu <command> [options]
commands:
  decode         decode UPER hex to JER JSON           (rsu decode --help)
  encode         encode JER JSON to UPER hex           (rsu encode --help)
  codec compile  compile a deployer's ASN.1 modules    (rsu codec compile --help)`;

type Command = (argv: string[], io: Io) => Promise<number>;
const COMMANDS: Record<string, Command> = {
  decode: decodeCommand,
  encode: encodeCommand,
  codec: codecCommand,
};

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(USAGE);
    return cmd ? 0 : 2;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    io.err(`rsu: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
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
