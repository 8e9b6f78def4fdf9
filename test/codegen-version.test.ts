// The module caches are keyed by the generators' version numbers (codecs/index.ts), so output that changes without a
// version bump would leave deployed caches serving the old code. This pins a digest of what both generators emit
// for the sets that ship, per version: a change in output fails here until the version is bumped and the digest
// recorded anew.
import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { compileToIR, readModuleDir } from '../codecs/compiler/compile.js';
import { CODEGEN_VERSION, generate } from '../codecs/compiler/codegen.js';
import { generateOer, OER_CODEGEN_VERSION } from '../codecs/compiler/oer-codegen.js';

const sets = join(import.meta.dirname, '..', 'codecs', 'sets');
const digest = (g: { js: string; types: string }): string =>
  createHash('sha256').update(g.js).update('\0').update(g.types).digest('hex').slice(0, 16);

// version -> digest of the output for that version; add a row when bumping.
const UPER: Record<number, string> = { 9: '919c1e0bcf3d655f' };
const OER: Record<string, string> = { '2.9': '67dfe50bc2849ee9' };

t.test('UPER output is pinned to CODEGEN_VERSION', async (t) => {
  const d = digest(generate(compileToIR(readModuleDir(join(sets, 'csae2020'))), 'runtime.js'));
  t.equal(UPER[CODEGEN_VERSION], d, `codegen v${CODEGEN_VERSION}: csae2020 output digest ${d}; if the output changed on purpose, bump CODEGEN_VERSION and record the digest`);
});

t.test('C-OER output is pinned to OER_CODEGEN_VERSION.CODEGEN_VERSION', async (t) => {
  const v = `${OER_CODEGEN_VERSION}.${CODEGEN_VERSION}`;
  const d = digest(generateOer(compileToIR(readModuleDir(join(sets, 'ieee1609dot2'))), 'runtime.js'));
  t.equal(OER[v], d, `C-OER v${v}: ieee1609dot2 built-in output digest ${d}; if the output changed on purpose, bump OER_CODEGEN_VERSION (or CODEGEN_VERSION) and record the digest`);
});
