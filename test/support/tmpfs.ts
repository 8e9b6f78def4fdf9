// A real small file system for full-disk tests: a tmpfs of a given size, mounted for one test (needs root and
// mount(2); CI runs as root). When mounting is not allowed, tmpfs() says why, and the test skips with that reason.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

/** Mounts a tmpfs of `size` (mount's syntax: 2m) on a new directory, unmounted at teardown; or the reason it cannot. */
export function tmpfs(t: Test, size: string): { dir: string } | { skip: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsu-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmdirSync(dir);
    const why = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim();
    return { skip: `cannot mount a ${size} tmpfs here (${why || 'mount failed'}; needs root)` };
  }
  t.teardown(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    fs.rmdirSync(dir);
  });
  return { dir };
}

/** Fills the file system of `dir` to the last byte with a ballast file; returns its path (delete it to give the room back). */
export function fillDisk(dir: string, name = 'ballast'): string {
  const p = path.join(dir, name);
  const fd = fs.openSync(p, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (let n = chunk.length; n >= 1; ) {
      try {
        fs.writeSync(fd, chunk, 0, n);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        n = n >> 1;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return p;
}

/** Bytes free on the file system of `dir`. */
export function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}
