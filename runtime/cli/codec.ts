// `rsu decode`, `rsu encode`, `rsu codec compile`: the codec from a shell, one message or a stream of lines.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { STD_NAMES, TrailingBytesError, checkModules, compileCached, fromHex, j2735Dir, loadMessageSet, toHex, type MessageSet, type StdName } from '../../codecs/index.js';
import { subcommand, UsageError, type Io } from './io.js';

const COMMON = {
  std: { type: 'string' },
  type: { type: 'string', default: 'MessageFrame' },
  lines: { type: 'boolean', default: false },
  asn1: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const DECODE_HELP = `usage: rsu decode --std S [--type T] [--lines] [--allow-trailing] [--pretty] [--asn1 DIR] [HEX]
Decode UPER hex (argument or stdin) and print the value as JER JSON.
  --std S            message set: ${STD_NAMES.join(' | ')}
  --type T           ASN.1 type (default MessageFrame)
  --lines            one hex message per input line, one JSON line out each; a line that fails
                     prints {"error": "..."} in its place and the exit status is 1 at the end
  --allow-trailing   decode a message followed by extra bytes, reporting them on stderr
  --pretty           indent the JSON
  --asn1 DIR         the deployer's J2735 modules (or RSU_J2735_ASN1_DIR)`;

export const ENCODE_HELP = `usage: rsu encode --std S [--type T] [--lines] [--asn1 DIR] [JSON]
Encode a JER JSON value (argument or stdin) and print its UPER encoding as hex.
  --lines            one JSON value per input line, one hex line out each; a line that fails prints
                     ERROR: <reason> in its place and the exit status is 1 at the end`;

export const COMPILE_HELP = `usage: rsu codec compile --asn1 DIR [--std j2735-2020|j2735-2016|csae2020|csae2019] [--cache DIR]
Compile a directory of ASN.1 modules into specialised encoders/decoders in the codec cache.`;

function stdOf(v: string | undefined): StdName {
  if (!v) throw new UsageError(`--std is required: one of ${STD_NAMES.join(', ')}`);
  if (!STD_NAMES.includes(v as StdName)) throw new UsageError(`--std ${v}: expected one of ${STD_NAMES.join(', ')}`);
  return v as StdName;
}

async function openSet(std: StdName, asn1: string | undefined): Promise<MessageSet> {
  return (await loadMessageSet(std, { asn1Dir: asn1 })) as MessageSet;
}

/** Each input item: the positional argument, or stdin as one item, or stdin line by line. */
async function* inputs(io: Io, positional: string[], lines: boolean): AsyncGenerator<string> {
  if (positional.length > 1) throw new UsageError('give at most one value argument (or use stdin)');
  if (positional.length === 1) {
    if (lines) yield* positional[0]!.replace(/\r?\n$/, '').split(/\r?\n/);
    else yield positional[0]!;
    return;
  }
  if (!lines) {
    let all = '';
    for await (const chunk of io.stdin) all += chunk;
    yield all;
    return;
  }
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

function parseHex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '').replace(/^0x/i, '');
  if (!clean) throw new Error('empty input: expected hex digits');
  return fromHex(clean);
}

export async function decodeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON, 'allow-trailing': { type: 'boolean', default: false }, pretty: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (values.help) return io.out(DECODE_HELP), 0;
  const ms = await openSet(stdOf(values.std), values.asn1);
  if (!ms.has(values.type)) throw new UsageError(`${ms.name} has no type ${values.type}`);
  let failed = 0;
  for await (const item of inputs(io, positionals, values.lines)) {
    if (values.lines && !item.trim()) {
      io.out(''); // an empty line stays one, so output lines match input lines
      continue;
    }
    try {
      const bytes = parseHex(item);
      let value: unknown;
      if (values['allow-trailing']) {
        const r = ms.decodePrefix(values.type, bytes);
        value = r.value;
        if (r.trailing.length) io.err(`warning: ${r.trailing.length} byte(s) after the complete value: ${toHex(r.trailing)}`);
      } else value = ms.decode(values.type, bytes);
      io.out(JSON.stringify(value, null, values.pretty ? 2 : undefined));
    } catch (e) {
      failed++;
      const msg = e instanceof TrailingBytesError ? `${e.message} (trailing ${toHex(e.trailing)}; --allow-trailing decodes it)` : (e as Error).message;
      if (values.lines) io.out(JSON.stringify({ error: msg }));
      else io.err(`error: ${msg}`);
    }
  }
  return failed ? 1 : 0;
}

export async function encodeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true });
  if (values.help) return io.out(ENCODE_HELP), 0;
  const ms = await openSet(stdOf(values.std), values.asn1);
  if (!ms.has(values.type)) throw new UsageError(`${ms.name} has no type ${values.type}`);
  let failed = 0;
  for await (const item of inputs(io, positionals, values.lines)) {
    if (values.lines && !item.trim()) {
      io.out('');
      continue;
    }
    try {
      let value: unknown;
      try {
        value = JSON.parse(item);
      } catch (e) {
        throw new Error(`not JSON: ${(e as Error).message}`);
      }
      io.out(toHex(ms.encode(values.type, value as never)));
    } catch (e) {
      failed++;
      if (values.lines) io.out(`ERROR: ${(e as Error).message}`);
      else io.err(`error: ${(e as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}

export async function codecCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (!subcommand('codec', sub, ['compile'], COMPILE_HELP, io)) return 0;
  const { values } = parseArgs({
    args: rest,
    options: { asn1: { type: 'string' }, std: { type: 'string', default: 'j2735-2020' }, cache: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return io.out(COMPILE_HELP), 0;
  const std = stdOf(values.std);
  const dir = std.startsWith('j2735') ? j2735Dir(std as 'j2735-2020', values.asn1) : values.asn1;
  if (!dir) throw new UsageError('--asn1 DIR is required');
  const t0 = performance.now();
  const mod = await compileCached(std, dir, values.cache);
  checkModules(std, dir, mod.typeNames);
  io.out(`${std}: compiled ${mod.typeNames.length} types from ${dir} in ${(performance.now() - t0).toFixed(0)} ms`);
  return 0;
}
