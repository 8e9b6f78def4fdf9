// The packed package (`npm pack`) installed as the image installs it (scripts/install-runtime.sh), into a
// directory of its own: for the tests of what ships.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './vectors.js';

/** Newest modification time of the files under `dir` whose name matches `re`. */
function newest(dir: string, re: RegExp): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && re.test(e.name) && !e.parentPath.includes('node_modules')) m = Math.max(m, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return m;
}

/** Packs the repository (dist/ as built) into `root` and installs it for `arch` into `root`/app; returns that path. */
export function installPacked(root: string, arch: 'x64' | 'arm64' = process.arch as 'x64'): string {
  // The tarball carries dist/ as it is: a test of stale output would prove nothing.
  const sources = Math.max(...['runtime', 'hw', 'codecs'].map((d) => newest(join(REPO, d), /(?<!\.d)\.ts$/)));
  const built = existsSync(join(REPO, 'dist')) ? newest(join(REPO, 'dist'), /\.js$/) : 0;
  if (built < sources) throw new Error('dist/ is older than the sources: run npm run build first (npm ci does)');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string }[];
  const app = join(root, 'app');
  // --no-native-build: librdkafka's 2-minute compile is left out; these tests run no Kafka.
  execFileSync('bash', [join(REPO, 'scripts', 'install-runtime.sh'), join(root, packed[0]!.filename), join(REPO, 'package-lock.json'), app, arch, '--no-native-build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  return app;
}

/** The environment of a run outside the source tree: no overrides pointing back into it. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['RSU_CALIB_DIR', 'RSU_VECTORS_DIR', 'NODE_OPTIONS', 'STATE_DIRECTORY']) delete env[k];
  return env;
}
