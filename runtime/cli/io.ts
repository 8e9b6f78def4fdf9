// What a CLI command may touch: its streams. Commands take an Io so tests can run them in-process.
import { suggest } from '../config/schema.js';

export interface Io {
  stdin: NodeJS.ReadableStream;
  out(line: string): void;
  err(line: string): void;
}

/** A mistake in how the command was called: printed with the usage, exit status 2. */
export class UsageError extends Error {}

export const processIo: Io = {
  stdin: process.stdin,
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/**
 * The subcommand of `rsu config` / `rsu codec`: `--help` (or `-h`, `help`, none) prints the help and returns
 * undefined; an unknown one is a usage error with a did-you-mean.
 */
export function subcommand(group: string, sub: string | undefined, known: readonly string[], help: string, io: Io): string | undefined {
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(help);
    if (sub === undefined) throw new UsageError(`rsu ${group}: give a subcommand: ${known.join(', ')}`);
    return undefined;
  }
  if (known.includes(sub)) return sub;
  const s = suggest(sub, known);
  throw new UsageError(`rsu ${group}: unknown subcommand ${JSON.stringify(sub)}${s ? ` (did you mean "${s}"?)` : ''}; known: ${known.join(', ')}\n${help}`);
}
