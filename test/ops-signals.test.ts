// Issue 16 point 3: long commands stop when asked. `rsu tail` and `rsu record` end on SIGINT/SIGTERM or
// --duration, flushing what they wrote; SIGHUP on `rsu run` reloads the config (validated first, live keys change,
// the rest is named as needing a restart) instead of killing the daemon. Real processes, real signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { tmpDir, until } from './support/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'runtime/cli/main.ts');

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function rsu(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms))]);

t.test('tail, record, SIGHUP and SIGTERM on real processes', async (t) => {
  const dir = tmpDir(t, 'rsu-signals-');
  const socket = join(dir, 'rsu.sock');
  const env = { RSU_SOCKET: socket };
  const config = join(dir, 'rsu.yaml');
  const yaml = (level: string, rsi: boolean, extra = '') =>
    [
      'ingest: { listeners: [{ protocol: udp, listen: "127.0.0.1:0", format: protobuf }] }',
      'radio: { mode: "off", receive: { listen: "127.0.0.1:0" } }',
      'uplink: { mqtt: { enabled: false } }',
      'perception: { fusion: plain }',
      'metrics: { port: 0 }',
      `logging: { level: ${level} }`,
      `applications: { rsi: { enabled: ${rsi} } }`,
      extra,
      '',
    ].join('\n');
  writeFileSync(config, yaml('warn', true));
  const daemon = rsu(['run', '--config', config], env);
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await until('the daemon answers', () => existsSync(socket), 30_000, 100);

  // tail: prints SPATs until Ctrl-C, then stops at once.
  const tail = rsu(['tail', '--type', 'spat', '--json'], env);
  await until('tail prints', () => tail.out().split('\n').length > 3, 20_000, 100);
  tail.child.kill('SIGINT');
  const te = await within(tail.exited, 3000, 'tail after SIGINT');
  t.equal(te.code, 0, 'tail exits 0 on SIGINT');
  const tail2 = rsu(['tail', '--type', 'spat'], env);
  await until('tail prints', () => tail2.out().length > 0, 20_000, 100);
  tail2.child.kill('SIGTERM');
  t.equal((await within(tail2.exited, 3000, 'tail after SIGTERM')).code, 0, 'and on SIGTERM');
  const piped = tail2.out().trim().split('\n')[0]!;
  t.ok(piped.endsWith('}') || piped.endsWith(']'), 'piped, a value is printed whole');

  // record --duration: ends by itself; what it counted is in the file.
  const file = join(dir, 'rec.jsonl');
  const rec = rsu(['record', file, '--duration', '1'], env);
  const re = await within(rec.exited, 8000, 'record --duration 1');
  t.equal(re.code, 0, rec.err());
  const m = /recorded (\d+) inputs to .* \(1 s\)/.exec(rec.err());
  t.ok(m, rec.err());
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
  t.equal(lines, Number(m?.[1]), 'the file holds every input counted');
  const rec2 = rsu(['record', join(dir, 'rec2.jsonl')], env);
  await until('record has started (its file is open)', () => existsSync(join(dir, 'rec2.jsonl')), 20_000, 50);
  await new Promise((r) => setTimeout(r, 500));
  rec2.child.kill('SIGTERM');
  t.equal((await within(rec2.exited, 3000, 'record after SIGTERM')).code, 0);
  t.match(rec2.err(), /recorded \d+ inputs to .*rec2\.jsonl \(SIGTERM\)/);

  // SIGHUP: an invalid file changes nothing, and the daemon goes on.
  writeFileSync(config, yaml('warn', true, 'radio2: {}'));
  daemon.child.kill('SIGHUP');
  await until('the reload is refused', () => /reload \(SIGHUP\): .* is not valid, nothing changed: .*radio2/.test(daemon.err()), 5000, 50);
  t.equal(daemon.child.exitCode, null, 'still running');
  // A valid one: the log level and RSI apply live, the radio needs a restart.
  writeFileSync(config, yaml('info', false).replace('mode: "off"', 'mode: udp-raw, udpRaw: { target: "127.0.0.1:9" }'));
  daemon.child.kill('SIGHUP');
  await until('the reload', () => /applied /.test(daemon.err()), 5000, 50);
  t.match(daemon.err(), /reload \(SIGHUP\): .*: applied applications\.rsi\.enabled, logging\.level; needs a restart \(running values kept\): radio\.mode, radio\.udpRaw\.target/);
  const st = rsu(['status', '--json'], env);
  await within(st.exited, 10_000, 'status');
  t.equal(JSON.parse(st.out()).rsuId.length > 0, true, 'the daemon answers after the reloads');

  // SIGTERM: a clean stop, the socket removed.
  daemon.child.kill('SIGTERM');
  const de = await within(daemon.exited, 10_000, 'daemon after SIGTERM');
  t.equal(de.code, 0);
  t.match(daemon.err(), /stopped \(SIGTERM\)/);
  t.notOk(existsSync(socket), 'no stale socket');
});
