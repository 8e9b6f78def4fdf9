// What a CLI command may touch: its streams. Commands take an Io so tests can run them in-process.
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
