// Build step (npm run build, after tsc): writes dist/runtime/build-info.json with the git commit the build comes
// from and the time, so an installed package (which has no .git) can say what it is (runtime/version.ts).
// Outside a git checkout the commit is left out, and `rsu --version` says it is unknown.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let commit: string | undefined;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (dirty) commit += '-dirty';
} catch {
  commit = undefined;
}
const out = join(root, 'dist', 'runtime', 'build-info.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ ...(commit ? { commit } : {}), builtAt: new Date().toISOString() }) + '\n');
console.log(`build-info: ${commit ?? 'no git commit'} -> dist/runtime/build-info.json`);
