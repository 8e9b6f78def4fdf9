// Issue 12 D2 without a real small disk (the tmpfs tests need root to mount one): the spool's node:fs is replaced
// (tap's mockImport, the spool's code unchanged) by the real one with a byte quota on the spool directory, beyond
// which writes fail with ENOSPC as on a full disk. Same story as spool-full.test.ts: the oldest records go, then
// refusals (one log line), the acknowledged active segment is emptied with the disk still full, cursors are
// written in place, and after a restart nothing acknowledged is handed out again.
import realFs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Spool as RealSpool, type Spool as SpoolClass } from '../../runtime/uplink/spool.js';
import { tmpDir } from '../support/wait.js';

const QUOTA = 2 * 1024 * 1024;

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write (simulated)'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** node:fs with a quota on the bytes of the files in `dir` (plus `ballast` bytes taken by others). */
function quotaFs(dir: string, state: { ballast: number }) {
  const used = (): number => {
    let n = state.ballast;
    for (const f of realFs.readdirSync(dir)) n += realFs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.size ?? 0;
    return n;
  };
  const check = (grow: number): void => {
    if (grow > 0 && used() + grow > QUOTA) throw enospc();
  };
  const writeSync = ((fd: number, buf: Uint8Array, off?: number, len?: number, pos?: number | null) => {
    const n = typeof len === 'number' ? len : buf.length - (off ?? 0);
    const size = realFs.fstatSync(fd).size;
    check(typeof pos === 'number' ? pos + n - size : n);
    return (realFs.writeSync as (...a: unknown[]) => number)(fd, buf, off, len, pos);
  }) as typeof realFs.writeSync;
  const open = async (p: string, flags: string) => {
    const fh = await realFs.promises.open(p, flags);
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'writeFile')
          return async (data: Buffer) => {
            check(data.length);
            return target.writeFile(data);
          };
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
  return { ...realFs, default: undefined, writeSync, promises: { ...realFs.promises, open } };
}

t.test('simulated ENOSPC: oldest first, refusals logged once, reclaim while full, in-place cursors, no resend', async (t) => {
  const dir = path.join(tmpDir(t, 'rsu-enospc-'), 'spool');
  realFs.mkdirSync(dir);
  const state = { ballast: 0 };
  const fake = quotaFs(dir, state);
  const { Spool } = (await t.mockImport('../../runtime/uplink/spool.js', { 'node:fs': { ...fake, default: fake } })) as { Spool: typeof SpoolClass };
  const lines: string[] = [];
  const logger = { debug() {}, info: (_o: object, m?: string) => void lines.push(`info ${m}`), warn: (_o: object, m?: string) => void lines.push(`warn ${m}`), error: (_o: object, m?: string) => void lines.push(`error ${m}`) };
  // the spool does not know the quota: it measures the real disk, so tell it the segment size a 2 MiB disk gets
  const opts = { dir, consumers: ['mqtt'], segmentBytes: 256 * 1024, fsync: { mode: 'never' as const }, logger };
  const s = await Spool.open(opts);
  const r = s.reader('mqtt');
  const rec = Buffer.alloc(80, 7);

  for (let i = 0; i < 40_000; i++) s.append(1, rec);
  let st = s.stats();
  t.ok(st.droppedDiskFull > 15_000, `oldest dropped for the full disk: ${st.droppedDiskFull}`);
  t.equal(st.refusedDiskFull, 0);

  // everything delivered and acknowledged; then another file takes the rest of the disk
  for (let x = r.next(); x; x = r.next()) r.ack(x.id);
  await s.persistCursors();
  const totalNow = realFs.readdirSync(dir).reduce((n, f) => n + realFs.statSync(path.join(dir, f)).size, 0);
  state.ballast = QUOTA - totalNow;
  const before = lines.length;
  let refused = 0;
  const codes = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    try {
      s.append(1, rec);
    } catch (e) {
      refused++;
      codes.add(`${(e as { code?: string }).code}: ${(e as Error).message.replace(/.*: /, '')}`);
    }
  }
  t.same([...codes], ['WRITE_FAILED: no space left on device, write (simulated)'], 'each refusal a SpoolError naming the full disk');
  st = s.stats();
  // the first record fits after the acknowledged active segment is emptied; new ones are refused once it is full
  t.ok(st.activeReclaims >= 1, `acknowledged active segment emptied with the disk full (${st.activeReclaims})`);
  t.ok(refused > 1000 && st.refusedDiskFull === refused, `refused: ${refused}`);
  t.ok(st.diskFullSince > 0);
  t.same(lines.slice(before).filter((l) => /refused/.test(l)), ['error spool: disk full, new uplink records are refused until there is room'], 'one line for all refusals');

  // delivered and acknowledged: the tick empties the active segment although the disk stays full
  for (let x = r.next(); x; x = r.next()) r.ack(x.id);
  const reclaims = st.activeReclaims;
  const deadline = Date.now() + 5000;
  while (s.stats().activeReclaims === reclaims && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  st = s.stats();
  t.ok(st.activeReclaims > reclaims, 'room given back by the tick, not by the next append');
  t.ok(st.cursorInPlaceWrites > 0, `cursor written in place (${st.cursorInPlaceWrites}), the disk has no room for a new file`);
  // a crash right now (the active segment empty): the files as they are give the same next id, nothing to resend
  const crashCopy = path.join(path.dirname(dir), 'crash-copy');
  realFs.cpSync(dir, crashCopy, { recursive: true });
  realFs.rmSync(path.join(crashCopy, 'lock'), { force: true });
  const c = await RealSpool.open({ ...opts, dir: crashCopy, logger: undefined });
  t.equal(c.nextId, s.nextId, 'ids never go back after the acknowledged records were removed');
  t.equal(c.reader('mqtt').next(), undefined, 'nothing acknowledged is handed out again');
  await c.close();
  t.doesNotThrow(() => s.append(1, rec), 'records accepted again');
  t.equal(s.stats().diskFullSince, 0);
  t.ok(lines.includes('info spool: accepting uplink records again'));
  const next = s.nextId;
  for (let x = r.next(); x; x = r.next()) r.ack(x.id);
  await s.close();

  const s2 = await Spool.open(opts);
  t.teardown(() => s2.close());
  t.equal(s2.nextId, next, 'ids go on');
  t.equal(s2.reader('mqtt').next(), undefined, 'nothing acknowledged is handed out again');
});
