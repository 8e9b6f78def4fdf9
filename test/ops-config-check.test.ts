// Issue 16 point 4 (part): `rsu config check` catches what `rsu run` would then fail on, naming the key and line:
// an unwritable spool directory, two sections on one port, a private key given as the certificate, J2735 with
// no modules, a reference point with latitude and longitude swapped against the MAP's.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Io } from '../runtime/cli/io.js';
import { main } from '../runtime/cli/main.js';
import { demoLaneMapPath } from '../runtime/map/index.js';
import { tmpDir } from './support/wait.js';

async function check(t: Test, yaml: string): Promise<{ code: number; errors: { path: string; line?: number; message: string }[] }> {
  const dir = tmpDir(t, 'rsu-check-');
  const file = join(dir, 'rsu.yaml');
  writeFileSync(file, yaml.replaceAll('$DIR', dir));
  const out: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: () => {} };
  const code = await main(['config', 'check', file, '--json'], io);
  return { code, errors: JSON.parse(out[0]!).errors };
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = ['radio: { mode: "off" }', 'metrics: { port: 0 }'];

// As root every directory is writable: then the check runs as nobody (setpriv), for whom a root-owned one is not.
const root = process.getuid?.() === 0;
const nobodyReads = (dir: string) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', join(dir, 'package.json')]).status === 0;
const asNobody = root && spawnSync('setpriv', ['--version']).status === 0 && nobodyReads(ROOT);
t.test('an unwritable spool directory, named with its key', { skip: root && !asNobody ? 'runs as root, and without setpriv or a tree that nobody can read it cannot check as another user: every directory is writable for root' : false }, async (t) => {
  const dir = tmpDir(t, 'rsu-ro-');
  chmodSync(dir, 0o755);
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  t.teardown(() => chmodSync(ro, 0o700));
  const file = join(dir, 'rsu.yaml');
  writeFileSync(file, [...base, `uplink: { mqtt: { embeddedBroker: false, url: "mqtt://127.0.0.1:1" }, spool: { dir: "${ro}/spool" } }`, ''].join('\n'));
  let errors: { path: string; line?: number; message: string }[];
  if (asNobody) {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', join(ROOT, 'runtime/cli/main.ts'), 'config', 'check', file, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: dir } });
    t.equal(r.status, 1, r.stderr);
    errors = JSON.parse(r.stdout.trim().split('\n').pop()!).errors;
  } else {
    const out: string[] = [];
    t.equal(await main(['config', 'check', file, '--json'], { stdin: Readable.from(['']), out: (l) => out.push(l), err: () => {} }), 1);
    errors = JSON.parse(out[0]!).errors;
  }
  t.match(errors, [{ path: 'uplink.spool.dir', line: 3, message: /spool directory .*ro\/spool cannot be created: .*ro is not writable/ }]);
});

t.test('port clash across sections', async (t) => {
  const r = await check(t, ['ingest: { listeners: [{ protocol: udp, listen: "0.0.0.0:47001", format: protobuf }] }', 'radio: { mode: "off", receive: { listen: "127.0.0.1:47001" } }', 'metrics: { port: 0 }', 'uplink: { mqtt: { enabled: false } }', ''].join('\n'));
  t.equal(r.code, 1);
  t.match(r.errors, [{ path: 'radio.receive.listen', line: 2, message: 'port 47001/udp is also taken by ingest.listeners[0].listen: the daemon would fail to bind it' }]);
});

t.test('a TLS private key given as the certificate', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is absent' }, async (t) => {
  const dir = tmpDir(t, 'rsu-tls-');
  const key = join(dir, 'client.key');
  t.equal(spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]).status, 0);
  const r = await check(t, [...base, `uplink: { mqtt: { embeddedBroker: false, url: "mqtts://127.0.0.1:8883", tls: { cert: "${key}", key: "${key}" } }, spool: { dir: "$DIR/spool" } }`, ''].join('\n'));
  t.equal(r.code, 1);
  t.match(r.errors, [{ path: 'uplink.mqtt.tls.cert', line: 3, message: `${key} holds a private key, not a PEM certificate` }]);
});

t.test('J2735 without modules', async (t) => {
  const saved = process.env.RSU_J2735_ASN1_DIR;
  delete process.env.RSU_J2735_ASN1_DIR;
  t.teardown(() => (saved === undefined ? undefined : (process.env.RSU_J2735_ASN1_DIR = saved)));
  const r = await check(t, [...base, 'messageSet: j2735-2020', 'uplink: { mqtt: { enabled: false } }', ''].join('\n'));
  t.equal(r.code, 1);
  t.match(r.errors, [{ path: 'messageSet', line: 3, message: /j2735-2020 needs the deployer's licensed SAE J2735 ASN\.1 modules/ }]);
});

t.test("rsu.reference with lat and lon swapped against the MAP's reference point", async (t) => {
  const r = await check(t, [...base, 'rsu: { reference: { lat: 11.6389, lon: 48.2495, elevation: 527 } }', `applications: { map: { enabled: true, file: "${demoLaneMapPath()}" } }`, 'uplink: { mqtt: { enabled: false } }', ''].join('\n'));
  t.equal(r.code, 1);
  t.match(r.errors, [{ path: 'rsu.reference', line: 3, message: /km from the MAP's reference point .*: latitude and longitude are swapped$/ }]);
  const ok = await check(t, [...base, 'rsu: { reference: { lat: 48.2495, lon: 11.6389, elevation: 527 } }', `applications: { map: { enabled: true, file: "${demoLaneMapPath()}" } }`, 'uplink: { mqtt: { enabled: false } }', ''].join('\n'));
  t.same(ok.errors, [], 'the right way round passes');
});

t.test('map validate --config: the same swapped reference', async (t) => {
  const dir = tmpDir(t, 'rsu-mapref-');
  const file = join(dir, 'rsu.yaml');
  writeFileSync(file, 'rsu: { reference: { lat: 11.6389, lon: 48.2495, elevation: 527 } }\n');
  const out: string[] = [];
  const code = await main(['map', 'validate', demoLaneMapPath(), '--config', file], { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => out.push(l) });
  t.equal(code, 1);
  t.match(out.join('\n'), /error: .*rsu\.yaml: rsu\.reference: lat 11\.6389, lon 48\.2495 is [\d.]+ km from the MAP's reference point .*: latitude and longitude are swapped/);
});
