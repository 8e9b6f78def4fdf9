// `rsu decode`, `rsu encode`, `rsu codec compile`: the codec from a shell, one message or a stream of lines.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  IEEE1609DOT2_EDITIONS,
  STD_NAMES,
  TrailingBytesError,
  checkModules,
  compileCached,
  fromHex,
  j2735Dir,
  loadIeee1609Dot2,
  loadMessageSet,
  toHex,
  toJerJson,
  type Ieee1609Dot2Edition,
  type MessageSet,
  type StdName,
} from '../../codecs/index.js';
import { unwrap } from '../../hw/radio/netlayer.js';
import { certificateInfo, createCryptoBackend, MemoryTrustStore, unixMsFromTime64 } from '../security/index.js';
import { demoCertDir } from '../security/demo-certs.js';
import { securityCodec } from '../security/rsu-security.js';
import { isX509SignerError, SpduVerifier } from '../security/spdu.js';
import { isX509, parseX509 } from '../security/x509.js';
import { subcommand, UsageError, type Io } from './io.js';

/** The C-OER sets: IEEE 1609.2 editions (the security envelope), `ieee1609dot2-2022` etc. */
const OER_STDS = IEEE1609DOT2_EDITIONS.map((e) => `ieee1609dot2-${e}`);
const ALL_STDS = [...STD_NAMES, ...OER_STDS];
type AnyStd = StdName | `ieee1609dot2-${Ieee1609Dot2Edition}`;
const isOer = (std: AnyStd) => std.startsWith('ieee1609dot2-');
/** The type a set decodes when --type is not given: the message frame, or the SPDU. */
const defaultType = (std: AnyStd) => (!isOer(std) ? 'MessageFrame' : std.endsWith('china') ? 'V2XSecData' : 'Ieee1609Dot2Data');

const COMMON = {
  std: { type: 'string' },
  type: { type: 'string' },
  lines: { type: 'boolean', default: false },
  asn1: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const DECODE_HELP = `usage: rsu decode --std S [--type T] [--lines] [--allow-trailing] [--pretty] [--asn1 DIR] [HEX]
Decode UPER hex (argument or stdin) and print the value as JER JSON.
  --std S            message set: ${STD_NAMES.join(' | ')} (UPER), or the
                     C-OER security envelope: ${OER_STDS.join(' | ')}
  --type T           ASN.1 type (default MessageFrame; Ieee1609Dot2Data for the 1609.2 sets)
  --lines            one hex message per input line, one JSON line out each; a line that fails
                     prints {"error": "..."} in its place and the exit status is 1 at the end
  --allow-trailing   decode a message followed by extra bytes, reporting them on stderr
  --pretty           indent the JSON
  --asn1 DIR         the deployer's J2735 modules (or RSU_J2735_ASN1_DIR), or IEEE 1609.2 modules
                     (or RSU_IEEE1609DOT2_ASN1_DIR)
A signed SPDU (bare, or in a WSMP frame) given to a message set is unwrapped: the output is
{"spdu": {psid, signer, generationTime, verified}, "value": <the MessageFrame>}.
  --verify           verify the SPDU (SN-VERIFY): signature, chain to a trust anchor, time, PSID
  --anchor FILE      a trust anchor certificate (C-OER; repeatable); default with --verify: the
                     demo's THROWAWAY roots (npm start)`;

export const ENCODE_HELP = `usage: rsu encode --std S [--type T] [--lines] [--asn1 DIR] [JSON]
Encode a JER JSON value (argument or stdin) and print its encoding (UPER, or C-OER for ieee1609dot2-*) as hex.
  --lines            one JSON value per input line, one hex line out each; a line that fails prints
                     ERROR: <reason> in its place and the exit status is 1 at the end`;

export const COMPILE_HELP = `usage: rsu codec compile --asn1 DIR [--std ${ALL_STDS.join('|')}] [--cache DIR]
Compile a directory of ASN.1 modules into specialised encoders/decoders in the codec cache.`;

function stdOf(v: string | undefined): AnyStd {
  if (!v) throw new UsageError(`--std is required: one of ${ALL_STDS.join(', ')}`);
  if (!ALL_STDS.includes(v)) throw new UsageError(`--std ${v}: expected one of ${ALL_STDS.join(', ')}`);
  return v as AnyStd;
}

async function openSet(std: AnyStd, asn1: string | undefined, cacheDir?: string): Promise<MessageSet<Record<string, unknown>, string>> {
  if (isOer(std)) return loadIeee1609Dot2(std.slice('ieee1609dot2-'.length) as Ieee1609Dot2Edition, { asn1Dir: asn1, cacheDir });
  return (await loadMessageSet(std as StdName, { asn1Dir: asn1 })) as MessageSet;
}

/** JSON numbers beyond 2^53 (1609.2 Time64) as decimal text, which the encoder takes exactly: JSON.parse would round them. */
function parseJer(text: string, exactBigNumbers: boolean): unknown {
  return JSON.parse(exactBigNumbers ? text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"') : text);
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
    options: { ...COMMON, 'allow-trailing': { type: 'boolean', default: false }, pretty: { type: 'boolean', default: false }, verify: { type: 'boolean', default: false }, anchor: { type: 'string', multiple: true } },
    allowPositionals: true,
  });
  if (values.help) return io.out(DECODE_HELP), 0;
  const std = stdOf(values.std);
  const type = values.type ?? defaultType(std);
  const ms = await openSet(std, values.asn1);
  if (!ms.has(type)) throw new UsageError(`${ms.name} has no type ${type}`);
  let failed = 0;
  for await (const item of inputs(io, positionals, values.lines)) {
    if (values.lines && !item.trim()) {
      io.out(''); // an empty line stays one, so output lines match input lines
      continue;
    }
    try {
      let bytes = parseHex(item);
      let spdu: Record<string, unknown> | undefined;
      if (!isOer(std) && type === 'MessageFrame') {
        const u = unwrap(bytes, 'wsmp');
        if (u.kind === 'spdu') {
          const r = await unwrapSpdu(u.payload, values.verify ? (values.anchor ?? demoAnchors()) : undefined);
          spdu = r.spdu;
          bytes = r.payload;
        }
      }
      let value: unknown;
      if (values['allow-trailing']) {
        const r = ms.decodePrefix(type, bytes);
        value = r.value;
        if (r.trailing.length) io.err(`warning: ${r.trailing.length} byte(s) after the complete value: ${toHex(r.trailing)}`);
      } else value = ms.decode(type, bytes);
      io.out(spdu ? toJerJson({ spdu, value }, values.pretty ? 2 : undefined) : toJerJson(value, values.pretty ? 2 : undefined));
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
  const std = stdOf(values.std);
  const type = values.type ?? defaultType(std);
  const ms = await openSet(std, values.asn1);
  if (!ms.has(type)) throw new UsageError(`${ms.name} has no type ${type}`);
  let failed = 0;
  for await (const item of inputs(io, positionals, values.lines)) {
    if (values.lines && !item.trim()) {
      io.out('');
      continue;
    }
    try {
      let value: unknown;
      try {
        value = parseJer(item, isOer(std));
      } catch (e) {
        throw new Error(`not JSON: ${(e as Error).message}`);
      }
      io.out(toHex(ms.encode(type, value as never)));
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
  const t0 = performance.now();
  if (isOer(std)) {
    const ms = await openSet(std, values.asn1, values.cache);
    io.out(`${std}: compiled ${ms.typeNames.length} types (C-OER) in ${(performance.now() - t0).toFixed(0)} ms`);
    return 0;
  }
  const dir = std.startsWith('j2735') ? j2735Dir(std as 'j2735-2020', values.asn1) : values.asn1;
  if (!dir) throw new UsageError('--asn1 DIR is required');
  const mod = await compileCached(std, dir, values.cache);
  checkModules(std, dir, mod.typeNames);
  io.out(`${std}: compiled ${mod.typeNames.length} types from ${dir} in ${(performance.now() - t0).toFixed(0)} ms`);
  return 0;
}

/** The demo's THROWAWAY trust anchors (npm start), for `rsu decode --verify` without --anchor. */
function demoAnchors(): string[] {
  return (['nistp256', 'sm2'] as const).map((c) => join(demoCertDir(c), 'anchors', 'demo-root.cert')).filter((f) => existsSync(f));
}

/** An SPDU's signer and header, verified against `anchors` when given, and the payload inside. */
async function unwrapSpdu(bytes: Uint8Array, anchors: string[] | undefined): Promise<{ spdu: Record<string, unknown>; payload: Uint8Array }> {
  let codec = await securityCodec();
  const backend = createCryptoBackend();
  let v: { content: Record<string, unknown> };
  try {
    v = codec.decode('Ieee1609Dot2Data', bytes) as typeof v;
  } catch (e) {
    // China's X.509 signer (SignerIdentifier.x509) is an alternative 1609.2's modules do not have.
    if (!isX509SignerError(String(e))) throw e;
    codec = await loadIeee1609Dot2('builtin-china');
    v = codec.decode('V2XSecData', bytes) as typeof v;
  }
  const sd = v.content.signedData as { tbsData: { headerInfo: { psid?: number; aid?: number; generationTime?: bigint; expiryTime?: bigint }; payload: { data?: { content: { unsecuredData?: string } } } }; signer: Record<string, unknown> } | undefined;
  if (!sd) throw new Error(`an SPDU of content ${Object.keys(v.content)[0]}: only signedData carries a message here`);
  const data = sd.tbsData.payload.data?.content.unsecuredData;
  if (data === undefined) throw new Error('a signedData without unsecuredData inside');
  const h = sd.tbsData.headerInfo;
  const [kind, sv] = Object.entries(sd.signer)[0]!;
  const x509 = kind === 'x509' ? parseX509(Buffer.from(String(sv), 'hex'), 'X.509 signer') : undefined;
  const signer = kind === 'digest' ? { digest: String(sv) } : kind === 'certificate' ? { certificate: certificateInfo(codec, backend, (sv as unknown[])[0]).hashedId8 } : x509 ? { x509: { subject: x509.subject, issuer: x509.issuer, sha256: x509.sha256 } } : { [kind]: sv };
  const spdu: Record<string, unknown> = {
    psid: Number(h.psid ?? h.aid),
    signer,
    ...(h.generationTime !== undefined ? { generationTime: new Date(unixMsFromTime64(h.generationTime)).toISOString() } : {}),
    ...(h.expiryTime !== undefined ? { expiryTime: new Date(unixMsFromTime64(h.expiryTime)).toISOString() } : {}),
  };
  if (anchors) {
    const files = anchors.map((f) => ({ f, b: readFileSync(f) }));
    const certs = files.filter(({ b }) => !isX509(b)).map(({ b }) => certificateInfo(codec, backend, codec.decode('Certificate', b), b));
    const x509Anchors = files.filter(({ b }) => isX509(b)).map(({ f, b }) => parseX509(b, f));
    // A message from a capture may be old: the generation time window is not applied here, the expiry is.
    const r = new SpduVerifier(codec, backend, new MemoryTrustStore(backend, certs, undefined, x509Anchors), { maxAgeMs: Number.MAX_SAFE_INTEGER, maxFutureMs: Number.MAX_SAFE_INTEGER }).verify(bytes);
    spdu.verified = r.ok ? true : { ok: false, reason: r.reason, detail: r.detail };
  } else spdu.verified = 'not checked (--verify)';
  return { spdu, payload: Uint8Array.from(Buffer.from(data, 'hex')) };
}
