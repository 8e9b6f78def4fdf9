// `rsu version` / `rsu --version`: what is installed (runtime/version.ts).
import { parseArgs } from 'node:util';
import { buildInfo, formatBuildInfo } from '../version.js';
import type { Io } from './io.js';

export const VERSION_HELP = `usage: rsu version [--json]     (also: rsu --version)
  the package version, the git commit it was built from, Node, the message sets, the codec compiler and the
  SHA-256 of the fusion model`;

export async function versionCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.out(VERSION_HELP);
    return 0;
  }
  const b = buildInfo();
  if (values.json) io.out(JSON.stringify(b));
  else for (const l of formatBuildInfo(b)) io.out(l);
  return 0;
}
