// Builds native/sm2 (the SM2 addon, runtime/security/openssl-sm2.ts) with node-gyp against the headers of the
// Node that runs this script (they ship OpenSSL's headers; the node binary exports OpenSSL's symbols, so the
// addon links against nothing else). Offline-safe: the headers are taken from this Node's install prefix when
// they are there, so node-gyp does not download them. A failed build is reported, not fatal: the daemon then
// runs without SM2 and says so (`backend-unavailable`), and P-256 is unaffected. --strict makes it fatal.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native/sm2');
const strict = process.argv.includes('--strict');

/** node-gyp: the one npm runs scripts with, the project's, or the one bundled with npm. */
function nodeGyp(): string | undefined {
  const env = process.env.npm_config_node_gyp;
  if (env && existsSync(env)) return env;
  try {
    return createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    /* not a dependency: try npm's own */
  }
  const npm = process.env.npm_execpath;
  const bundled = npm ? join(dirname(npm), '../node_modules/node-gyp/bin/node-gyp.js') : undefined;
  return bundled && existsSync(bundled) ? bundled : undefined;
}

const prefix = resolve(dirname(process.execPath), '..');
const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) && existsSync(join(prefix, 'include/node/openssl/evp.h')) ? prefix : process.env.npm_config_nodedir;
const gyp = nodeGyp();
let reason: string | undefined;
if (gyp === undefined) reason = 'node-gyp not found (it comes with npm)';
else {
  const args = [gyp, 'rebuild', '--directory', dir, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) reason = `node-gyp failed (${r.status ?? r.signal}):\n${(r.stderr ?? '').split('\n').filter((l) => !l.startsWith('gyp info')).slice(-20).join('\n')}`;
}
if (reason === undefined) console.error(`native/sm2: built (headers: ${nodedir ?? 'node-gyp default'})`);
else {
  console.error(`native/sm2: NOT built, SM2 will be unavailable: ${reason}`);
  if (strict) process.exit(1);
}
