// Issue 16 points 5 and 7: deployer modules that are not what they are loaded as fail loudly; `--asn1` works where
// the advice names it; the CLI's smaller habits (exit codes, --help, did-you-mean, whole lines, JSON issues,
// NO_COLOR, 24-hour times, onnxruntime telemetry off, radio failures said).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Io } from '../runtime/cli/io.js';
import { main } from '../runtime/cli/main.js';
import { clock, useColor } from '../runtime/cli/term.js';
import { startDaemon } from '../runtime/daemon.js';
import { freeUdpPort } from './support/ports.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';
import { tmpDir, until } from './support/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CSAE_DIR = join(ROOT, 'codecs', 'sets', 'csae2020');

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from([stdin]), out: (l) => out.push(l), err: (l) => err.push(l) };
  return { code: await main(argv, io), out, err };
}

t.test('CSAE modules given as J2735: refused, loudly, wherever they are used', async (t) => {
  const cache = tmpDir(t, 'rsu-codec-cache-');
  const c = await run(['codec', 'compile', '--std', 'j2735-2020', '--asn1', CSAE_DIR, '--cache', cache]);
  t.equal(c.code, 1);
  t.match(c.err.join('\n'), /csae2020: these are not SAE J2735 modules \(they look like CSAE modules: use --std csae2020 or csae2019\): no DSRCmsgID, TravelerInformation, PersonalSafetyMessage/);
  t.notMatch(c.out.join('\n'), /compiled/, 'no "compiled N types"');

  // --asn1 is taken by send-test, run and demo (the advice the errors give); here it leads to the same refusal.
  const st = await run(['send-test', '--type', 'spat', '--std', 'j2735-2020', '--asn1', CSAE_DIR, '--to', '127.0.0.1:9']);
  t.equal(st.code, 1);
  t.match(st.err.join('\n'), /not SAE J2735 modules/);
  const saved = process.env.RSU_J2735_ASN1_DIR;
  t.teardown(() => (saved === undefined ? delete process.env.RSU_J2735_ASN1_DIR : (process.env.RSU_J2735_ASN1_DIR = saved)));
  const demo = await run(['demo', '--std', 'j2735-2020', '--duration', '1']);
  t.equal(demo.code, 1, 'RSU_J2735_ASN1_DIR=<CSAE dir> rsu demo --std j2735-2020 fails instead of sending nothing');
  t.match(demo.err.join('\n'), /not SAE J2735 modules/);
  t.equal((await run(['run', '--asn1', '/nonexistent/j2735'])).code, 2, 'run takes --asn1 and checks it');
});

t.test('send-test: clear errors, documented exit codes', async (t) => {
  const nohost = await run(['send-test', '--type', 'spat', '--to', 'nohost.invalid:5000']);
  t.equal(nohost.code, 1);
  t.match(nohost.err.join('\n'), /cannot send to nohost\.invalid:5000: .*ENOTFOUND/);
  const closed = await freeUdpPort();
  const refused = await run(['send-test', '--type', 'spat', '--to', `127.0.0.1:${closed}`]);
  t.equal(refused.code, 1);
  t.match(refused.err.join('\n'), new RegExp(`refused by 127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED: nothing listens there\\)`));
  t.notMatch(refused.err.join('\n'), /^sent /m, 'no "sent 1" for a message nobody took');
  t.equal((await run(['send-test', '--type', 'spat', '--to', 'notaport'])).code, 2, 'a usage error is 2');
  t.equal((await run(['send-test'])).code, 2);
});

t.test('--help and did-you-mean on subcommands', async (t) => {
  for (const g of ['config', 'codec', 'map']) {
    const h = await run([g, '--help']);
    t.equal(h.code, 0, `rsu ${g} --help`);
    t.match(h.out.join('\n'), /^usage: rsu /);
  }
  const typo = await run(['config', 'chek', 'x.yaml']);
  t.equal(typo.code, 2);
  t.match(typo.err[0], /unknown subcommand "chek" \(did you mean "check"\?\)/);
  t.match((await run(['codec', 'compiel'])).err[0], /did you mean "compile"/);
  t.match((await run(['stauts'])).err[0], /unknown command "stauts" \(did you mean "status"\?\)/);
});

t.test('decode --lines keeps empty lines aligned; config check --json gives issue objects', async (t) => {
  const spat = (await run(['send-test', '--type', 'spat', '--to', `127.0.0.1:${await freeUdpPort()}`])).out[0]!;
  const d = await run(['decode', '--std', 'csae2020', '--lines'], `${spat}\n\n${spat}\n`);
  t.equal(d.out.length, 3, 'three lines in, three out');
  t.equal(d.out[1], '');
  t.ok(JSON.parse(d.out[2]!).spatFrame);
  t.equal(d.code, 0);
  const e = await run(['encode', '--std', 'csae2020', '--lines'], `${JSON.stringify(JSON.parse(d.out[0]!))}\n\n`);
  t.same(e.out, [spat, ''], 'encode likewise');

  const dir = tmpDir(t, 'rsu-cfg-');
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'rsu:\n  id: R1\nradio:\n  mode: sideways\n');
  const c = await run(['config', 'check', f, '--json']);
  t.equal(c.code, 1);
  const j = JSON.parse(c.out[0]!);
  t.match(j.errors[0], { path: 'radio.mode', file: f, line: 4, column: Number, message: /sideways/, text: /bad\.yaml:4:\d+: radio\.mode: / });
});

t.test('NO_COLOR and 24-hour times', async (t) => {
  const saved = process.env.NO_COLOR;
  t.teardown(() => (saved === undefined ? delete process.env.NO_COLOR : (process.env.NO_COLOR = saved)));
  delete process.env.NO_COLOR;
  t.equal(useColor({ isTTY: true }), true);
  process.env.NO_COLOR = '1';
  t.equal(useColor({ isTTY: true }), false, 'NO_COLOR turns colour off on a terminal');
  t.equal(useColor({ isTTY: false }), false);
  t.match(clock(Date.UTC(2026, 0, 2, 14, 1, 32)), /^2026-01-0[12] \d\d:01:32[+-]\d\d:\d\d$/);
  t.notMatch(clock(Date.now()), /AM|PM/);
});

t.test('demo: --mqtt must be a broker URL', async (t) => {
  const r = await run(['demo', '--mqtt', 'notaurl']);
  t.equal(r.code, 2);
  t.match(r.err[0], /--mqtt notaurl: expected a broker URL/);
});

t.test('a radio whose sends fail raises an alarm', async (t) => {
  const cfg = quietDaemonConfig();
  cfg.radio.mode = 'udp-raw';
  cfg.radio.udpRaw.target = `127.0.0.1:${await freeUdpPort()}`;
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  await until('the alarm', () => d.status().alarms.some((a) => a.startsWith('radio:')), 5000, 100);
  t.match(d.status().alarms.find((a) => a.startsWith('radio:')), /^radio: \d+ datagrams sent, but ECONNREFUSED \d+ in the last 10 s/);
});

t.test('the daemon leaves no onnxruntime telemetry behind', async (t) => {
  const home = tmpDir(t, 'rsu-home-');
  const dir = tmpDir(t, 'rsu-tel-');
  const file = join(dir, 'rsu.yaml');
  writeFileSync(file, ['ingest: { listeners: [{ protocol: udp, listen: "127.0.0.1:0", format: protobuf }] }', 'radio: { mode: "off", receive: { listen: "127.0.0.1:0" } }', 'uplink: { mqtt: { enabled: false } }', 'metrics: { port: 0 }', 'perception: { fusion: onnx }', 'logging: { level: info }', ''].join('\n'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'runtime/cli/main.ts'), 'run', '--config', file, '--duration', '2'], {
    cwd: ROOT,
    env: Object.fromEntries(Object.entries({ ...process.env, HOME: home, RSU_SOCKET: join(dir, 'rsu.sock') }).filter(([k]) => k !== 'ORT_DISABLE_TELEMETRY')),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  t.equal(code, 0);
  t.match(out, /"perception":"onnx"/, 'the learned fusion ran (onnxruntime loaded)');
  t.notOk(existsSync(`/tmp/mat-debug-${child.pid}.log`), 'no /tmp/mat-debug-<pid>.log');
  t.notOk(existsSync(join(home, '.cache', 'Microsoft')), 'nothing under ~/.cache/Microsoft');
});

t.test('a port taken at run time: the error names the key', async (t) => {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => s.close());
  const cfg = quietDaemonConfig();
  cfg.radio.receive.listen = `127.0.0.1:${s.address().port}`;
  await t.rejects(startDaemon({ config: cfg, socketPath: false }), { message: new RegExp(`^radio\\.receive\\.listen 127\\.0\\.0\\.1:${s.address().port}: .*EADDRINUSE`) });
});

t.test('a speed-limit sign whose description states the limit carries it once', async (t) => {
  const { signText } = await import('../runtime/apps/rsi.js');
  const sign = { id: 1, kind: 'speed-limit' as const, speedLimitKmh: 50, lat: 0, lon: 0, radiusM: 50, priority: 3, durationS: 60 };
  t.equal(signText({ ...sign, description: 'speed limit 50 km/h' } as never), 'speed limit 50 km/h');
  t.equal(signText({ ...sign, description: 'school zone' } as never), 'school zone; speed limit 50 km/h');
  t.equal(signText(sign as never), 'speed limit 50 km/h');
});
