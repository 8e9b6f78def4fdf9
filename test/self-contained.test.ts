// The repository carries what it uses: no source, test, bench or script file names the development tree's
// reference folder (`../shared`) as a path. A clone has no such folder; what the project reads lives in
// test/vectors and deploy/calib (each with its source and licence).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './support/vectors.js';

const CHECKED = /\.(ts|mts|js|mjs|cjs|py|sh|erl|c|h|yaml|yml|json|service)$|(^|\/)(Dockerfile|run)$/;
const SKIPPED = /^(node_modules|dist|codecs\/generated|\.tap|\.git|bench\/work|\.scratch)(\/|$)|^package-lock\.json$/;
// The folder's name followed by a slash (not e.g. "sharedWith"), and its name handed to path.join/resolve or new URL.
const SLASH = new RegExp(String.raw`(^|[^\w-])shared` + '/');
const SEGMENT = /(join|resolve|URL)\([^)]*['"`](\.\.\/)*shared['"`/]/;

function repoFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
      .split('\n').filter(Boolean);
  } catch {
    const out: string[] = []; // not a git checkout (an unpacked copy): walk the tree
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const rel = relative(REPO, join(dir, e.name));
        if (SKIPPED.test(rel)) continue;
        if (e.isDirectory()) walk(join(dir, e.name));
        else out.push(rel);
      }
    };
    walk(REPO);
    return out;
  }
}

t.test('no file names ../shared as a path', async (t) => {
  const files = repoFiles().filter((f) => CHECKED.test(f) && !SKIPPED.test(f));
  t.ok(files.length > 100, `checked ${files.length} files`);
  const hits: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      if (!statSync(join(REPO, f)).isFile()) continue;
      text = readFileSync(join(REPO, f), 'utf8');
    } catch {
      continue; // deleted in the work tree but still in the index
    }
    text.split('\n').forEach((line, i) => {
      if (SLASH.test(line) || SEGMENT.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  t.same(hits, [], 'files naming the reference folder (copy what they read into the repository, with its source and licence)');
});

t.test('the check catches the forms it is meant to', async (t) => {
  const name = ['sha', 'red'].join(''); // spelled out, this file would find itself
  for (const bad of [`new URL('../../${name}/vectors/', import.meta.url)`, `path.resolve(REPO, '..', '${name}', 'vectors')`, `calibration: { file: ../../${name}/perception/x.json }`]) {
    t.ok(SLASH.test(bad) || SEGMENT.test(bad), bad);
  }
  for (const fine of ["laneAttributes: { sharedWith: '0000' }", 'function shared(x) {}', 'Types shared by the radio transmitters']) {
    t.notOk(SLASH.test(fine) || SEGMENT.test(fine), fine);
  }
});
