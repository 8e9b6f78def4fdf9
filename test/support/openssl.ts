// openssl (Debian's OpenSSL 3) as the independent reference for signatures: presence check, batched runs, and
// the DER ECDSA-Sig-Value it reads and writes (test-only conversion to and from r || s; the runtime never sees
// DER signatures, 1609.2 carries r and s as octet strings).
import { spawn, spawnSync } from 'node:child_process';

/** Why openssl cannot serve as the reference here, or undefined when it can (SM2 with distid included). */
export function opensslMissing(): string | undefined {
  const v = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (v.status !== 0) return 'openssl is not installed (apt-get install openssl)';
  if (!/^OpenSSL 3\./.test(v.stdout)) return `need OpenSSL 3, found ${v.stdout.trim()}`;
  const sm2 = spawnSync('openssl', ['list', '-signature-algorithms'], { encoding: 'utf8' });
  if (!/SM2/.test(sm2.stdout)) return 'this openssl has no SM2';
  return undefined;
}

/** SM2's standard distinguishing identifier as a pkeyutl option. */
export const ID = 'distid:1234567812345678';

/** A script writing key.pem and pub.pem, a fresh key pair on the curve, in the directory it runs in. */
export function opensslKeyScript(curve: 'nistp256' | 'sm2'): string {
  const gen = curve === 'sm2' ? 'ec_paramgen_curve:SM2' : 'ec_paramgen_curve:P-256';
  return `openssl genpkey -algorithm EC -pkeyopt ${gen} -out key.pem && openssl pkey -in key.pem -pubout -out pub.pem\n`;
}

/** The openssl command verifying <i>.sig (DER) over <i>.msg with pub.pem: SHA-256 ECDSA, or SM2/SM3 with the standard ID. */
export function verifyCommand(curve: 'nistp256' | 'sm2', i: number): string {
  return curve === 'sm2'
    ? `openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey pub.pem -in ${i}.msg -sigfile ${i}.sig -pkeyopt ${ID}`
    : `openssl dgst -sha256 -verify pub.pem -signature ${i}.sig ${i}.msg`;
}

/** Runs a shell script (one openssl call per line, so one sh process forks them all) and returns its stdout. */
export function runShell(script: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-s'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`sh exited ${code}: ${err.slice(-500)}`))));
    p.stdin.end(script);
  });
}

function derInt(b: Uint8Array): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = Buffer.from(b.subarray(i));
  return v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } of 32-octet r and s (always short-form lengths here). */
export function rsToDer(r: Uint8Array, s: Uint8Array): Buffer {
  const ri = derInt(r);
  const si = derInt(s);
  return Buffer.concat([Buffer.from([0x30, ri.length + si.length + 4, 0x02, ri.length]), ri, Buffer.from([0x02, si.length]), si]);
}

/** r and s (32 octets each) of a DER ECDSA-Sig-Value of a 256-bit curve. */
export function derToRs(der: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw new Error('not a short-form DER SEQUENCE');
  const ints: Uint8Array[] = [];
  let o = 2;
  while (o < der.length) {
    if (der[o] !== 0x02) throw new Error('expected INTEGER');
    const n = der[o + 1]!;
    ints.push(der.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  if (ints.length !== 2) throw new Error('expected two INTEGERs');
  const pad = (v: Uint8Array): Uint8Array => {
    const t = v[0] === 0 ? v.subarray(1) : v;
    const out = new Uint8Array(32);
    out.set(t, 32 - t.length);
    return out;
  };
  return { r: pad(ints[0]!), s: pad(ints[1]!) };
}
