// Build step: generate the codecs of the message sets that ship with the project into codecs/generated/, as
// TypeScript that tsc then compiles with the rest: CSAE 2019 and YD/T 3709-2020 (UPER), and the built-in IEEE
// 1609.2 and China security structures (C-OER, written for this project: codecs/sets/ieee1609dot2*/README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSources, compileToIR, readModuleDir } from '../codecs/compiler/compile.js';
import { generateOer } from '../codecs/compiler/oer-codegen.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'codecs', 'generated');
mkdirSync(outDir, { recursive: true });

for (const set of ['csae2019', 'csae2020']) {
  const t0 = performance.now();
  const gen = compileSources(readModuleDir(join(root, 'codecs', 'sets', set)), '../per/runtime.js');
  const body = `// @ts-nocheck -- generated code; its value types are declared below and checked where used.\n${gen.js}\n${gen.types}\n`;
  writeFileSync(join(outDir, `${set}.ts`), body);
  console.log(`codegen: ${set} -> codecs/generated/${set}.ts (${(body.length / 1024).toFixed(0)} KiB, ${(performance.now() - t0).toFixed(0)} ms)`);
}

for (const set of ['ieee1609dot2', 'ieee1609dot2-china']) {
  const t0 = performance.now();
  const gen = generateOer(compileToIR(readModuleDir(join(root, 'codecs', 'sets', set))), '../oer/runtime.js');
  const body = `// @ts-nocheck -- generated code; its value types are declared below and checked where used.\n${gen.js}\n${gen.types}\n`;
  writeFileSync(join(outDir, `${set}.ts`), body);
  console.log(`codegen: ${set} (C-OER) -> codecs/generated/${set}.ts (${(body.length / 1024).toFixed(0)} KiB, ${(performance.now() - t0).toFixed(0)} ms)`);
}
