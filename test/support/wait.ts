// Small helpers the tests share: polling for a condition with a bound, and a temporary directory per test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

/** Resolves once `cond` holds (checked every `everyMs`); rejects naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number, everyMs = 10): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A fresh directory under the OS temp directory (`prefix` names the test file), removed when the test ends. */
export function tmpDir(t: Test, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
