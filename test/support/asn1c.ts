/**
 * asn1c 0.9.28 (Debian) as a second-opinion UPER codec of the CSAE message sets
 * and as the C baseline of the codec benchmark.
 *
 * buildAsn1c() runs scripts/asn1c/build.sh, which compiles a module set with
 * asn1c into a gitignored build directory (bench/work/asn1c-<set>/<key>/, or
 * $RSU_ASN1C_WORK_DIR) and links it with scripts/asn1c/driver.c. The build is
 * keyed by a hash of its inputs, so repeated runs reuse it. The returned tool
 * talks to the driver over stdin/stdout, one hex MessageFrame per line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export type CsaeSetName = 'csae2019' | 'csae2020';

/** What build.sh reports (times are those of the build that made the directory). */
export interface Asn1cBuildInfo {
  set: string;
  dir: string;
  driver: string;
  key: string;
  /** true when an existing build with the same inputs was reused */
  cached: boolean;
  /** seconds spent in asn1c itself */
  asn1cSec: number;
  /** seconds spent compiling and linking the generated C code and the driver */
  ccSec: number;
  totalSec: number;
}

export interface Asn1cBenchResult {
  /** size of the input encoding */
  bytes: number;
  /** size of asn1c's re-encoding */
  encodedBytes: number;
  iter: number;
  decodeSec: number;
  encodeSec: number;
  /** complete decodes (uper_decode_complete + free) per second */
  decodePerSec: number;
  /** encodes of the decoded value (uper_encode_to_buffer) per second */
  encodePerSec: number;
}

export interface Asn1cRoundtripOptions {
  /**
   * Run asn1c's constraint checker between decode and encode (default true).
   * The driver restores the checkers that asn1c 0.9.28 disables at run time;
   * the checker still rejects out-of-root sizes of extensible SIZE constraints.
   */
  checkConstraints?: boolean;
  /**
   * Set false to leave asn1c's checkers as asn1c 0.9.28 leaves them after the
   * first decode (mostly disabled); only to demonstrate that defect.
   */
  restoreCheckers?: boolean;
}

export interface Asn1cTool {
  readonly setName: CsaeSetName;
  readonly build: Asn1cBuildInfo;
  /**
   * For each UPER hex MessageFrame: decode (uper_decode_complete), check
   * constraints (asn_check_constraints, unless options.checkConstraints is
   * false), re-encode (uper_encode_to_buffer). Each result is the re-encoded
   * lowercase hex, or a string starting with 'ERROR ' (decode or encode
   * failure, constraint violation, or bytes left over after the message).
   */
  roundtrip(hexes: readonly string[], options?: Asn1cRoundtripOptions): Promise<string[]>;
  /** The decoded value as canonical XER on one line, or 'ERROR …'. */
  xer(hex: string): Promise<string>;
  /** Decoded values as canonical XER, one per input, or 'ERROR …'. */
  xerMany(hexes: readonly string[]): Promise<string[]>;
  /** Times `iter` decodes and `iter` encodes of each input. Rejects if an input does not decode. */
  bench(hexes: readonly string[], iter: number): Promise<Asn1cBenchResult[]>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const buildScript = path.join(repoRoot, 'scripts', 'asn1c', 'build.sh');

const requiredTools = ['asn1c', 'cc', 'sh', 'flock', 'sha256sum', 'xargs'] as const;

let unavailable: string | null | undefined;

/** Why asn1c cannot be used here, or undefined when it can. */
export function asn1cUnavailableReason(): string | undefined {
  if (unavailable === undefined) {
    const missing = requiredTools.filter(
      (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
    );
    if (missing.length > 0) {
      unavailable =
        `not on PATH: ${missing.join(', ')} ` +
        '(Debian: apt-get install asn1c gcc util-linux coreutils findutils)';
    } else {
      const v = spawnSync('asn1c', ['-h'], { encoding: 'utf8' });
      const text = `${v.stdout ?? ''}${v.stderr ?? ''}`;
      unavailable = /ASN\.1 Compiler, v0\.9\.2\d/.test(text)
        ? null
        : `asn1c is not version 0.9.2x (found: ${text.split('\n')[0] || 'no version line'})`;
    }
  }
  return unavailable ?? undefined;
}

/** True when asn1c, a C compiler and the tools build.sh uses are installed. */
export function asn1cAvailable(): boolean {
  return asn1cUnavailableReason() === undefined;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(
  cmd: string,
  args: readonly string[],
  input: string,
  what: string,
  env?: Record<string, string>,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.stdin.on('error', () => {
      /* reported through the exit status */
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0) {
        reject(
          new Error(
            `${what} failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${stderr.trim() || '(no stderr)'}`,
          ),
        );
      } else {
        resolve({ stdout, stderr });
      }
    });
    child.stdin.end(input);
  });
}

function checkHex(hex: string): string {
  if (!/^[0-9a-fA-F]*$/.test(hex)) {
    // The driver would answer "ERROR invalid hex", but line breaks would
    // break the one-line-per-input protocol, so refuse early.
    throw new TypeError(`not a hex string: ${JSON.stringify(hex.slice(0, 40))}`);
  }
  return hex;
}

async function driverLines(
  driver: string,
  args: readonly string[],
  hexes: readonly string[],
  env?: Record<string, string>,
): Promise<string[]> {
  if (hexes.length === 0) return [];
  const input = hexes.map(checkHex).join('\n') + '\n';
  const { stdout } = await run(driver, args, input, `asn1c driver ${args.join(' ')}`, env);
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== hexes.length) {
    throw new Error(`asn1c driver ${args[0]}: ${hexes.length} inputs but ${lines.length} output lines`);
  }
  return lines;
}

const builds = new Map<string, Promise<Asn1cTool>>();

/**
 * Builds (or reuses) the asn1c codec of codecs/sets/<setName>.
 * Rejects when asn1c or the C compiler fails; check asn1cAvailable() first.
 */
export function buildAsn1c(
  setName: CsaeSetName,
  options: { workRoot?: string } = {},
): Promise<Asn1cTool> {
  const cacheKey = `${setName}\0${options.workRoot ?? ''}`;
  let p = builds.get(cacheKey);
  if (!p) {
    p = doBuild(setName, options.workRoot);
    builds.set(cacheKey, p);
    p.catch(() => builds.delete(cacheKey));
  }
  return p;
}

async function doBuild(setName: CsaeSetName, workRoot?: string): Promise<Asn1cTool> {
  if (setName !== 'csae2019' && setName !== 'csae2020') {
    throw new TypeError(`unknown CSAE set ${String(setName)}`);
  }
  const args = [buildScript, setName];
  if (workRoot) args.push(workRoot);
  const { stdout } = await run('sh', args, '', `scripts/asn1c/build.sh ${setName}`);
  const last = stdout.trim().split('\n').pop() ?? '';
  const build = JSON.parse(last) as Asn1cBuildInfo;
  const driver = build.driver;

  return {
    setName,
    build,
    roundtrip: (hexes, opts) =>
      driverLines(
        driver,
        [opts?.checkConstraints === false ? 'reencode' : 'roundtrip'],
        hexes,
        opts?.restoreCheckers === false ? { ASN1C_DRIVER_NO_CHECK_RESTORE: '1' } : undefined,
      ),
    xerMany: (hexes) => driverLines(driver, ['xer'], hexes),
    xer: async (hex) => (await driverLines(driver, ['xer'], [hex]))[0]!,
    bench: async (hexes, iter) => {
      if (!Number.isInteger(iter) || iter <= 0) throw new RangeError(`iter must be a positive integer, got ${iter}`);
      const lines = await driverLines(driver, ['bench', String(iter)], hexes);
      return lines.map((line, i) => {
        const r = JSON.parse(line) as Asn1cBenchResult & { error?: string };
        if (r.error) throw new Error(`asn1c bench of input ${i}: ${r.error}`);
        return r;
      });
    },
  };
}

// ---------------------------------------------------------------------------
// Comparing asn1c's canonical XER with a JER-shaped value (as our codec decodes)

/** An element of asn1c's canonical XER output. */
export interface XerNode {
  name: string;
  /** true for <name/> */
  selfClosing: boolean;
  children: XerNode[];
  /** character content with asn1c's escapes resolved (only for elements without element children) */
  text: string;
}

// asn1c writes control characters inside IA5String text as these empty
// elements (OCTET_STRING.c, OCTET_STRING__xer_escape_table); tab, LF and CR
// stay raw, and the driver turns LF and CR into &#10; and &#13;.
const controlNames = [
  'nul', 'soh', 'stx', 'etx', 'eot', 'enq', 'ack', 'bel', 'bs', '', '', 'vt', 'ff', '', 'so', 'si',
  'dle', 'dc1', 'dc2', 'dc3', 'dc4', 'nak', 'syn', 'etb', 'can', 'em', 'sub', 'esc', 'is4', 'is3', 'is2', 'is1',
];
const controlChar = new Map<string, string>(
  controlNames.flatMap((n, i) => (n ? [[n, String.fromCharCode(i)] as [string, string]] : [])),
);

function unescapeXerText(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_m, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCharCode(Number(dec));
    if (hex) return String.fromCharCode(parseInt(hex, 16));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[name]!;
  });
}

/** Parses one line of asn1c canonical XER (as printed by the driver's xer mode). */
export function parseXer(xml: string): XerNode {
  const src = xml.replace(/<!--[\s\S]*?-->/g, '');
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`XER parse error at ${pos}: ${why}: ${src.slice(pos, pos + 60)}`);
  };
  const parseElement = (): XerNode => {
    const m = /^<([A-Za-z][\w.-]*)\s*(\/?)>/.exec(src.slice(pos));
    if (!m) return fail('expected a start tag');
    pos += m[0].length;
    const node: XerNode = { name: m[1]!, selfClosing: m[2] === '/', children: [], text: '' };
    if (node.selfClosing) return node;
    let text = '';
    const controls: string[] = [];
    for (;;) {
      if (pos >= src.length) fail(`unterminated <${node.name}>`);
      if (src.startsWith('</', pos)) {
        const close = /^<\/([A-Za-z][\w.-]*)\s*>/.exec(src.slice(pos));
        if (!close || close[1] !== node.name) fail(`expected </${node.name}>`);
        pos += close![0].length;
        break;
      }
      if (src[pos] === '<') {
        const child = parseElement();
        const ch = child.selfClosing ? controlChar.get(child.name) : undefined;
        if (ch !== undefined && (text.length > 0 || node.children.length === 0)) {
          // possibly an escaped control character inside text; decided below
          controls.push(child.name);
          text += `\u0000CTRL${controls.length - 1}\u0000`;
          node.children.push(child);
        } else {
          node.children.push(child);
        }
        continue;
      }
      const next = src.indexOf('<', pos);
      text += src.slice(pos, next < 0 ? src.length : next);
      pos = next < 0 ? src.length : next;
    }
    const onlyControls = node.children.every((c) => c.selfClosing && controlChar.has(c.name));
    const hasText = text.replace(/\u0000CTRL\d+\u0000/g, '').length > 0;
    if (node.children.length > 0 && onlyControls && (hasText || node.children.length > 1)) {
      // text with escaped control characters: fold them back into the text
      node.children = [];
      node.text = unescapeXerText(text).replace(/\u0000CTRL(\d+)\u0000/g, (_m, i: string) =>
        controlChar.get(controls[Number(i)]!)!,
      );
    } else {
      node.text = node.children.length > 0 ? '' : unescapeXerText(text);
    }
    return node;
  };
  const root = parseElement();
  if (src.slice(pos).trim() !== '') fail('text after the root element');
  return root;
}

function hexToBits(hex: string, length: number): string {
  let out = '';
  for (const c of hex) out += parseInt(c, 16).toString(2).padStart(4, '0');
  return out.slice(0, length);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/**
 * Compares a value decoded by asn1c (canonical XER, parsed by parseXer; pass
 * the node of the type itself, e.g. the <MessageFrame> root) with a JER-shaped
 * value (X.697 conventions: OCTET STRING and fixed-size BIT STRING as hex
 * strings, other BIT STRINGs as {value, length}, ENUMERATED as the identifier,
 * CHOICE as {alternative: value}, SEQUENCE OF as arrays). Returns the paths
 * where they differ (empty when equal).
 */
export function diffXerJer(xer: XerNode, jer: unknown, at = '$'): string[] {
  const out: string[] = [];
  const leafText = (): string | undefined => (xer.children.length === 0 ? xer.text : undefined);
  if (Array.isArray(jer)) {
    if (xer.children.length !== jer.length || (xer.children.length === 0 && xer.text.trim() !== '')) {
      return [`${at}: XER has ${xer.children.length} items, JER ${jer.length}`];
    }
    jer.forEach((item, i) => out.push(...diffXerJer(xer.children[i]!, item, `${at}[${i}]`)));
    return out;
  }
  if (isRecord(jer)) {
    const keys = Object.keys(jer);
    const bitString =
      keys.length === 2 && typeof jer.value === 'string' && typeof jer.length === 'number' && xer.children.length === 0;
    if (bitString) {
      const want = hexToBits(jer.value as string, jer.length as number);
      return xer.text === want ? [] : [`${at}: XER bits ${xer.text}, JER ${JSON.stringify(jer)} = ${want}`];
    }
    const byName = new Map<string, XerNode>();
    for (const c of xer.children) {
      if (byName.has(c.name)) return [`${at}: XER element <${c.name}> repeated where JER has an object`];
      byName.set(c.name, c);
    }
    for (const k of keys) {
      if (jer[k] === undefined) continue;
      const c = byName.get(k);
      if (!c) out.push(`${at}.${k}: absent in XER (present in JER)`);
      else out.push(...diffXerJer(c, jer[k], `${at}.${k}`));
    }
    for (const name of byName.keys()) {
      if (!(name in jer) || jer[name] === undefined) out.push(`${at}.${name}: present in XER, absent in JER`);
    }
    return out;
  }
  if (typeof jer === 'string') {
    const only = xer.children.length === 1 ? xer.children[0]! : undefined;
    if (only && only.selfClosing && only.children.length === 0) {
      if (only.name === jer || controlChar.get(only.name) === jer) return [];
      return [`${at}: XER <${only.name}/>, JER ${JSON.stringify(jer)}`];
    }
    const t = leafText();
    if (t === undefined) return [`${at}: XER has elements, JER string ${JSON.stringify(jer)}`];
    if (t === jer) return [];
    if (/^[0-9a-fA-F]*$/.test(jer) && t.replace(/\s+/g, '').toLowerCase() === jer.toLowerCase()) return []; // OCTET STRING
    if (/^[01]+$/.test(t) && /^[0-9a-fA-F]+$/.test(jer)) {
      // fixed-size BIT STRING: JER hex holds the bits followed by padding
      // (compared leniently: only the first t.length bits count)
      const n = t.length;
      if (jer.length * 4 >= n && jer.length * 4 < n + 8 && hexToBits(jer, n) === t) return [];
    }
    return [`${at}: XER ${JSON.stringify(t)}, JER ${JSON.stringify(jer)}`];
  }
  if (typeof jer === 'number' || typeof jer === 'bigint') {
    const t = leafText();
    if (t === undefined || !/^-?\d+$/.test(t.trim())) return [`${at}: XER ${t === undefined ? 'has elements' : JSON.stringify(t)}, JER ${jer}`];
    return BigInt(t.trim()) === BigInt(jer) ? [] : [`${at}: XER ${t.trim()}, JER ${jer}`];
  }
  if (typeof jer === 'boolean') {
    const only = xer.children.length === 1 ? xer.children[0]! : undefined;
    return only && only.selfClosing && only.name === String(jer) ? [] : [`${at}: XER is not <${jer}/>`];
  }
  if (jer === null) {
    return xer.children.length === 0 && xer.text === '' ? [] : [`${at}: XER not empty where JER is null`];
  }
  return [`${at}: cannot compare JER value of type ${typeof jer}`];
}
