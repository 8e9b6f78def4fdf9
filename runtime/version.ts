// What is running: the package version, the git commit it was built from (when known), Node, the message sets
// and the codec compiler, and the SHA-256 of the fusion model. Shown by `rsu --version` / `rsu version --json`,
// `rsu status`, the MQTT status message's software_version, the rsu_build_info metric and the view.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STD_NAMES } from '../codecs/index.js';
import { CODEGEN_VERSION } from '../codecs/compiler/codegen.js';
import { defaultModelPath } from './perception/fusion-ort.js';

export interface BuildInfo {
  name: string;
  version: string;
  /** Git commit the package was built from (written by scripts/build-info.ts at build time), when known. */
  commit?: string;
  /** When that build ran (ISO 8601), when known. */
  builtAt?: string;
  node: string;
  messageSets: readonly string[];
  codecCompiler: string;
  model: { path: string; sha256: string } | { path: string; error: string };
}

/** Written beside this module in dist/ by `npm run build`. */
export const BUILD_INFO_FILE = 'build-info.json';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: two levels above dist/runtime, one above runtime/ in the source tree. */
const packageRoot = [resolve(here, '..'), resolve(here, '..', '..')].find((d) => existsSync(join(d, 'package.json')))!;

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const digests = new Map<string, string>();
/** SHA-256 of a model file (read once per path and process). */
export function modelDigest(path: string): BuildInfo['model'] {
  try {
    let d = digests.get(path);
    if (!d) digests.set(path, (d = createHash('sha256').update(readFileSync(path)).digest('hex')));
    return { path, sha256: d };
  } catch (e) {
    return { path, error: (e as Error).message };
  }
}

/** The build information, with the model at `modelPath` (default: the package's models/fusion.onnx). */
export function buildInfo(modelPath = defaultModelPath()): BuildInfo {
  const pkg = readJson(join(packageRoot, 'package.json')) ?? {};
  const built = readJson(join(here, BUILD_INFO_FILE)) ?? readJson(join(packageRoot, 'dist', 'runtime', BUILD_INFO_FILE)) ?? {};
  return {
    name: String(pkg.name ?? 'rsu-edge'),
    version: String(pkg.version ?? '0.0.0'),
    ...(typeof built.commit === 'string' ? { commit: built.commit } : {}),
    ...(typeof built.builtAt === 'string' ? { builtAt: built.builtAt } : {}),
    node: process.version,
    messageSets: STD_NAMES,
    codecCompiler: `codegen v${CODEGEN_VERSION}`,
    model: modelDigest(modelPath),
  };
}

/** One line: `rsu-edge 0.1.0+3f07080c1a2b`, the MQTT status message's software_version. */
export function softwareVersion(b: BuildInfo = buildInfo()): string {
  const c = b.commit;
  return `${b.name} ${b.version}${c ? `+${c.slice(0, 12)}${c.endsWith('-dirty') ? '-dirty' : ''}` : ''}`;
}

/** The human form of `rsu --version`. */
export function formatBuildInfo(b: BuildInfo): string[] {
  return [
    softwareVersion(b),
    `commit        ${b.commit ?? 'unknown (not built from a git checkout)'}${b.builtAt ? `, built ${b.builtAt}` : ''}`,
    `node          ${b.node}`,
    `message sets  ${b.messageSets.join(', ')}`,
    `codec         ${b.codecCompiler}`,
    `model         ${'sha256' in b.model ? `sha256:${b.model.sha256}` : `unreadable: ${b.model.error}`} (${b.model.path})`,
  ];
}
