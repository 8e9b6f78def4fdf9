/**
 * Durable store-and-forward spool for uplink records.
 *
 * Layout of the spool directory:
 *
 *   seg-<20 digit base id>.log   append-only segment files
 *   cursor-<consumer>.bin        durable ack cursor of one consumer (MQTT, Kafka, ...)
 *   lock                         pid of the process that has the spool open
 *
 * A segment starts with a 16 byte header (magic "RSUSPL01", u64 LE base id)
 * followed by records:
 *
 *   u32 LE bodyLen | u32 LE crc32(bodyLen bytes + body) | body
 *   body = u64 LE record id | u8 tag | payload
 *
 * Record ids are assigned by append(), start at 1 and strictly increase for
 * the life of the directory (across restarts and after segments are deleted).
 *
 * Every consumer reads the same log in id order and acknowledges records when
 * its broker has acknowledged them.  Its cursor `ackedLow` means "every record
 * with id < ackedLow is acknowledged"; acks that arrive out of order are kept
 * in memory until the gap closes.  After a crash the consumer restarts at its
 * last persisted cursor, so records acknowledged shortly before the crash are
 * delivered again (at-least-once; the consumer dedups on id), none is skipped.
 *
 * Fsync policy (FsyncPolicy, default mode 'interval'):
 *   - every append() performs write(2) of the complete record before it
 *     returns, so an accepted record survives a crash of the process
 *     (SIGKILL, OOM kill, uncaught exception): the kernel has it.
 *   - 'interval': the active segment is fdatasync'ed (in the libuv thread
 *     pool, off the event loop) at most `intervalMs` (default 200 ms) after the
 *     first unsynced append, or as soon as `everyRecords` (default 1000)
 *     records are unsynced, whichever comes first.  A power loss or kernel
 *     crash can lose at most that window; recovery then truncates the torn
 *     tail.
 *   - 'always': fdatasync inside every append() (strict, slow on SD/eMMC).
 *   - 'never': no fdatasync except on close (for tmpfs and tests).
 *   - in every mode: a segment that is sealed (rolled over) is fdatasync'ed and
 *     the directory is fsync'ed after a segment is created; close() syncs the
 *     active segment and writes every cursor durably.
 *   - cursors are written every `cursorPersistMs` (default 500 ms) when they
 *     moved, with write-temp + fdatasync + rename + directory fsync, so a
 *     cursor file is either the old or the new value, never torn.  A stale
 *     cursor only causes re-delivery.
 *
 * Bound: the total size of all segments is kept <= maxBytes (+ one record).
 * When an append would exceed it, whole oldest segments are deleted, whether
 * acknowledged or not; records deleted before every consumer acknowledged
 * them are counted (stats().droppedRecords, per consumer `dropped`).  The
 * spool never blocks or throws because it is full.
 *
 * Full disk (ENOSPC): the file system may hold less than maxBytes (segments
 * are then sized to an eighth of the room found at open, so that there is an
 * oldest segment to give up).  A write that fails with ENOSPC deletes the
 * oldest segment (counted in droppedRecords and droppedDiskFull) and tries
 * again; when only the active segment is left and every consumer has
 * acknowledged all of it, it is emptied in place (no new file is needed) once
 * the cursors are on disk; otherwise the record is refused (SpoolError
 * WRITE_FAILED, counted in refusedDiskFull).  Nothing latches: every append
 * tries the disk again, so the spool accepts records as soon as there is
 * room, and while it refuses, the tick empties the active segment as soon as
 * it is acknowledged.  Refusals and drops are logged once when they start,
 * then at most once a minute with their count, and once when they end.
 *
 * Recovery on open: the last segment is scanned; a torn last record (crash
 * during write, power loss) is truncated away and counted.  Corrupted records
 * found anywhere (CRC mismatch, impossible length, id out of order) are
 * skipped by searching for the next valid record, logged with file and
 * offset, and counted; they never stop the spool.  A corrupted cursor file is
 * counted and the consumer restarts at the oldest record (no loss, more
 * duplicates).
 *
 * Threading: all methods are synchronous except the fsyncs/cursor writes that
 * run in the background and close().  Reads use readSync of 64 KiB chunks,
 * normally served from the page cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { errorMessage, silentLogger, type Logger } from './types.js';

export interface FsyncPolicy {
  mode: 'interval' | 'always' | 'never';
  /** 'interval' mode: fdatasync at most this many ms after an unsynced append. Default 200. */
  intervalMs: number;
  /** 'interval' mode: fdatasync as soon as this many records are unsynced. Default 1000. */
  everyRecords: number;
}

export const DEFAULT_FSYNC_POLICY: Readonly<FsyncPolicy> = { mode: 'interval', intervalMs: 200, everyRecords: 1000 };

export interface SpoolOptions {
  /** Directory of the spool; created if missing. One process at a time (lock file). */
  dir: string;
  /** Names of the independent readers, e.g. ['mqtt', 'kafka']; [a-z0-9_-]. */
  consumers: readonly string[];
  /** Upper bound of the total segment size in bytes. Default 128 MiB. */
  maxBytes?: number;
  /** Size at which the active segment is sealed and a new one started. Default 4 MiB, at most maxBytes/4. */
  segmentBytes?: number;
  /** Largest accepted payload in bytes. Default 256 KiB. */
  maxRecordBytes?: number;
  fsync?: Partial<FsyncPolicy>;
  /** How often moved cursors are written to disk. Default 500 ms. */
  cursorPersistMs?: number;
  logger?: Logger;
}

export type SpoolErrorCode = 'LOCKED' | 'CLOSED' | 'RECORD_TOO_LARGE' | 'WRITE_FAILED' | 'BAD_OPTIONS' | 'OPEN_FAILED';

export class SpoolError extends Error {
  override name = 'SpoolError';
  constructor(
    readonly code: SpoolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One record as handed to a consumer. */
export interface SpoolRecord {
  readonly id: number;
  readonly tag: number;
  readonly payload: Buffer;
}

export interface ConsumerStats {
  /** Every record with a smaller id is acknowledged (or dropped). */
  ackedLow: number;
  /** Records in the spool this consumer has not acknowledged yet. */
  pending: number;
  /** Records handed out by next() and not acknowledged yet. */
  outstanding: number;
  /** Acknowledgements received since open. */
  acked: number;
  /** Records deleted by the size bound before this consumer acknowledged them. */
  dropped: number;
  /** Rewinds (redelivery from the first unacknowledged record). */
  rewinds: number;
}

export interface SpoolStats {
  dir: string;
  segments: number;
  bytes: number;
  maxBytes: number;
  /** Id of the oldest record still on disk (== nextId when empty). */
  firstId: number;
  nextId: number;
  appended: number;
  appendedBytes: number;
  appendErrors: number;
  rejectedTooLarge: number;
  /** Records deleted because the spool was full before every consumer acknowledged them. */
  droppedRecords: number;
  /** Of droppedRecords: deleted to make room after the disk was full (ENOSPC) rather than at maxBytes. */
  droppedDiskFull: number;
  droppedSegments: number;
  /** Of appendErrors: records refused because the disk was full and nothing could be given up for them. */
  refusedDiskFull: number;
  /** Since when (epoch ms) appends have been refused because the disk is full; 0 when they are not. */
  diskFullSince: number;
  /** When (epoch ms) unacknowledged records were last deleted to make room; 0 never. */
  lastDropAt: number;
  /** Times the fully acknowledged active segment was emptied in place to make room. */
  activeReclaims: number;
  /** Cursor writes that could not create a new file (full disk) and overwrote the old one in place. */
  cursorInPlaceWrites: number;
  corruptRecords: number;
  corruptBytes: number;
  corruptSegments: number;
  tornTailBytes: number;
  cursorErrors: number;
  fsyncs: number;
  fsyncErrors: number;
  lastFsyncMs: number;
  unsyncedRecords: number;
  recoveryMs: number;
  fsyncPolicy: FsyncPolicy;
  consumers: Record<string, ConsumerStats>;
}

/** Per-consumer view of the spool. */
export interface SpoolReader {
  readonly name: string;
  /** Next record not yet handed out, in id order; undefined when caught up. */
  next(): SpoolRecord | undefined;
  /** The broker acknowledged record `id`; out-of-order acks are fine, unknown/old ids are ignored. */
  ack(id: number): void;
  /** Forget everything handed out but not acknowledged: next() restarts at the first unacknowledged record. */
  rewind(): void;
  /** Called (coalesced, asynchronously) after records were appended. Returns an unsubscribe function. */
  onAvailable(cb: () => void): () => void;
  /** Records handed out and not acknowledged. */
  readonly outstanding: number;
  /** Records not acknowledged (handed out or not). */
  readonly pending: number;
  stats(): ConsumerStats;
}

const SEG_MAGIC = Buffer.from('RSUSPL01', 'latin1');
const CUR_MAGIC = Buffer.from('RSUCUR01', 'latin1');
const SEG_HEADER = 16;
const REC_HEADER = 8;
const BODY_FIXED = 9; // id + tag
const SEG_RE = /^seg-(\d{20})\.log$/;
const CUR_RE = /^cursor-([a-z0-9_-]+)\.bin$/;
const CONSUMER_RE = /^[a-z0-9_-]{1,32}$/;
const TWO32 = 0x1_0000_0000;
const READ_CHUNK = 64 * 1024;

const openDirs = new Set<string>();

interface Segment {
  baseId: number;
  path: string;
  /** Bytes on disk, header included. */
  size: number;
  deleted: boolean;
}

interface Outstanding {
  id: number;
  seg: Segment;
  offset: number;
  acked: boolean;
}

type Parsed =
  | { kind: 'ok'; id: number; tag: number; bodyStart: number; end: number }
  | { kind: 'short' }
  | { kind: 'bad'; why: string };

function segName(baseId: number): string {
  return `seg-${String(baseId).padStart(20, '0')}.log`;
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO32;
}

function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v % TWO32, off);
  buf.writeUInt32LE(Math.floor(v / TWO32), off + 4);
}

/** Parse the record at buf[off..end). */
function parseRecord(buf: Buffer, off: number, end: number, maxBody: number): Parsed {
  if (end - off < REC_HEADER) return { kind: 'short' };
  const len = buf.readUInt32LE(off);
  if (len < BODY_FIXED || len > maxBody) return { kind: 'bad', why: `impossible record length ${len}` };
  if (off + REC_HEADER + len > end) return { kind: 'short' };
  const want = buf.readUInt32LE(off + 4);
  let c = crc32(buf, off, off + 4);
  c = crc32(buf, off + REC_HEADER, off + REC_HEADER + len, c);
  if (c !== want) return { kind: 'bad', why: 'CRC mismatch' };
  const bodyStart = off + REC_HEADER;
  return { kind: 'ok', id: readU64(buf, bodyStart), tag: buf[bodyStart + 8]!, bodyStart, end: bodyStart + len };
}

function encodeRecord(id: number, tag: number, payload: Uint8Array): Buffer {
  const len = BODY_FIXED + payload.length;
  const buf = Buffer.allocUnsafe(REC_HEADER + len);
  buf.writeUInt32LE(len, 0);
  writeU64(buf, REC_HEADER, id);
  buf[REC_HEADER + 8] = tag;
  buf.set(payload, REC_HEADER + BODY_FIXED);
  let c = crc32(buf, 0, 4);
  c = crc32(buf, REC_HEADER, buf.length, c);
  buf.writeUInt32LE(c, 4);
  return buf;
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on directories; nothing better to do
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // see fsyncDirSync
  } finally {
    await fh?.close().catch(() => {});
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class Consumer implements SpoolReader {
  ackedLow: number;
  persistedAckedLow: number;
  /**
   * Read position: the next record is read at (seg, offset); scanId is the id
   * of the record before that position (ids must increase within a segment);
   * records with id < skipBelow are passed over, not handed out.
   */
  seg: Segment | undefined;
  offset = SEG_HEADER;
  scanId = 0;
  skipBelow: number;
  /** Id of the last record handed out by next(). */
  lastHandedId: number;
  readonly queue: Outstanding[] = [];
  qHead = 0;
  readonly byId = new Map<number, Outstanding>();
  ackedCount = 0;
  dropped = 0;
  rewinds = 0;
  // read cache
  fd: number | undefined;
  fdSeg: Segment | undefined;
  chunk: Buffer = Buffer.alloc(READ_CHUNK);
  chunkSeg: Segment | undefined;
  chunkStart = 0;
  chunkLen = 0;

  constructor(
    private readonly spool: Spool,
    readonly name: string,
    ackedLow: number,
  ) {
    this.ackedLow = ackedLow;
    this.persistedAckedLow = ackedLow;
    this.skipBelow = ackedLow;
    this.lastHandedId = ackedLow - 1;
  }

  get outstanding(): number {
    return this.byId.size;
  }

  get pending(): number {
    return Math.max(0, this.spool.nextId - this.ackedLow);
  }

  onAvailable(cb: () => void): () => void {
    return this.spool.addListener(cb);
  }

  stats(): ConsumerStats {
    return {
      ackedLow: this.ackedLow,
      pending: this.pending,
      outstanding: this.outstanding,
      acked: this.ackedCount,
      dropped: this.dropped,
      rewinds: this.rewinds,
    };
  }

  next(): SpoolRecord | undefined {
    return this.spool.readNext(this);
  }

  ack(id: number): void {
    if (id < this.ackedLow) return;
    const e = this.byId.get(id);
    if (!e || e.acked) return;
    e.acked = true;
    this.ackedCount++;
    this.byId.delete(id);
    this.popAcked();
    this.spool.onProgress();
  }

  popAcked(): void {
    const q = this.queue;
    while (this.qHead < q.length && q[this.qHead]!.acked) this.qHead++;
    if (this.qHead > 1024 && this.qHead * 2 > q.length) {
      q.splice(0, this.qHead);
      this.qHead = 0;
    }
    const low = this.qHead < q.length ? q[this.qHead]!.id : this.lastHandedId + 1;
    if (low > this.ackedLow) this.ackedLow = low;
  }

  rewind(): void {
    this.rewinds++;
    if (this.qHead < this.queue.length) {
      const head = this.queue[this.qHead]!;
      this.seg = head.seg;
      this.offset = head.offset;
      this.scanId = head.id - 1;
      this.skipBelow = head.id;
      this.lastHandedId = head.id - 1;
      this.chunkSeg = undefined;
    }
    this.queue.length = 0;
    this.qHead = 0;
    this.byId.clear();
  }

  /** Records with id < endId were deleted by the size bound. */
  droppedBelow(endId: number, seg: Segment): void {
    if (this.ackedLow < endId) {
      this.dropped += endId - Math.max(this.ackedLow, seg.baseId);
      this.ackedLow = endId;
    }
    // forget outstanding records of the deleted segment; their acks are ignored
    while (this.qHead < this.queue.length && this.queue[this.qHead]!.id < endId) {
      this.byId.delete(this.queue[this.qHead]!.id);
      this.qHead++;
    }
    if (this.lastHandedId < endId - 1) this.lastHandedId = endId - 1;
    if (this.skipBelow < endId) this.skipBelow = endId;
    if (this.seg === seg) this.seg = undefined;
    if (this.fdSeg === seg) this.closeFd();
    if (this.chunkSeg === seg) this.chunkSeg = undefined;
    this.popAcked();
  }

  closeFd(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* ignore */
      }
    }
    this.fd = undefined;
    this.fdSeg = undefined;
  }
}

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;
  readonly fsyncPolicy: FsyncPolicy;
  private readonly cursorPersistMs: number;
  private readonly log: Logger;
  private readonly maxBody: number;

  private segments: Segment[] = [];
  private activeFd = -1;
  private totalBytes = 0;
  nextId = 1;
  private readonly consumers = new Map<string, Consumer>();
  private readonly listeners = new Set<() => void>();
  private readonly corruptSeen = new Set<string>();
  private notifyScheduled = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Background fsyncs / closes / cursor writes; close() waits for them. */
  private readonly bg = new Set<Promise<void>>();
  private activeSyncing = false;
  private persisting: Promise<void> | undefined;
  private unsynced = 0;
  private firstUnsyncedAt = 0;
  private lastCursorPersist = 0;
  /** Bytes free on the spool's file system plus what its segments take, when measured at open. */
  private readonly diskRoom: number | undefined;
  private readonly refusals: Episode;
  private readonly drops: Episode;
  private readonly cursorFailures: Episode;
  private readonly st = {
    appended: 0,
    appendedBytes: 0,
    appendErrors: 0,
    rejectedTooLarge: 0,
    droppedRecords: 0,
    droppedDiskFull: 0,
    droppedSegments: 0,
    refusedDiskFull: 0,
    diskFullSince: 0,
    lastDropAt: 0,
    activeReclaims: 0,
    cursorInPlaceWrites: 0,
    corruptRecords: 0,
    corruptBytes: 0,
    corruptSegments: 0,
    tornTailBytes: 0,
    cursorErrors: 0,
    fsyncs: 0,
    fsyncErrors: 0,
    lastFsyncMs: 0,
    recoveryMs: 0,
  };

  private constructor(opts: SpoolOptions) {
    this.dir = path.resolve(opts.dir);
    this.maxBytes = opts.maxBytes ?? 128 * 1024 * 1024;
    if (!(this.maxBytes >= 4096)) throw new SpoolError('BAD_OPTIONS', `spool maxBytes must be >= 4096, got ${opts.maxBytes}`);
    const overhead = SEG_HEADER + REC_HEADER + BODY_FIXED;
    let segmentBytes = Math.min(opts.segmentBytes ?? 4 * 1024 * 1024, Math.floor(this.maxBytes / 4));
    if (opts.segmentBytes === undefined) {
      // A disk smaller than maxBytes fills first: give it several segments, so that the oldest can go.
      this.diskRoom = diskRoom(this.dir);
      if (this.diskRoom !== undefined && this.diskRoom < this.maxBytes) {
        segmentBytes = Math.min(segmentBytes, Math.max(64 * 1024, Math.floor(this.diskRoom / 8), (opts.maxRecordBytes ?? 0) + overhead));
      }
    }
    this.segmentBytes = Math.max(1024, segmentBytes);
    this.maxRecordBytes = opts.maxRecordBytes ?? Math.min(256 * 1024, this.segmentBytes - overhead);
    if (!(this.maxRecordBytes > 0) || this.maxRecordBytes + overhead > this.segmentBytes) {
      throw new SpoolError(
        'BAD_OPTIONS',
        `spool maxRecordBytes must be in 1..${this.segmentBytes - overhead} (segmentBytes ${this.segmentBytes} minus headers), got ${opts.maxRecordBytes}`,
      );
    }
    this.maxBody = this.maxRecordBytes + BODY_FIXED;
    const f = { ...DEFAULT_FSYNC_POLICY, ...(opts.fsync ?? {}) };
    if (!['interval', 'always', 'never'].includes(f.mode) || !(f.intervalMs > 0) || !(f.everyRecords > 0)) {
      throw new SpoolError('BAD_OPTIONS', `bad spool fsync policy ${JSON.stringify(opts.fsync)}`);
    }
    this.fsyncPolicy = f;
    this.cursorPersistMs = opts.cursorPersistMs ?? 500;
    this.log = opts.logger ?? silentLogger;
    this.refusals = new Episode(this.log, 'error', 'spool: disk full, new uplink records are refused until there is room', 'spool: accepting uplink records again');
    this.drops = new Episode(this.log, 'warn', 'spool full: unsent uplink records dropped, oldest first', 'spool: no longer dropping records');
    this.cursorFailures = new Episode(this.log, 'error', 'spool: cannot persist a cursor', 'spool: cursors persisted again');
    for (const c of opts.consumers) {
      if (!CONSUMER_RE.test(c)) throw new SpoolError('BAD_OPTIONS', `bad spool consumer name ${JSON.stringify(c)}`);
    }
    if (new Set(opts.consumers).size !== opts.consumers.length) {
      throw new SpoolError('BAD_OPTIONS', `duplicate spool consumer names ${JSON.stringify(opts.consumers)}`);
    }
  }

  /** Open (and recover) the spool in opts.dir. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    return Spool.openSync(opts);
  }

  /** Synchronous variant of open(). */
  static openSync(opts: SpoolOptions): Spool {
    const s = new Spool(opts);
    const t0 = performance.now();
    s.lock();
    try {
      s.recover(opts.consumers);
    } catch (err) {
      s.unlock();
      if (err instanceof SpoolError) throw err;
      throw new SpoolError('OPEN_FAILED', `cannot open spool ${s.dir}: ${errorMessage(err)}`, { cause: err });
    }
    s.st.recoveryMs = performance.now() - t0;
    s.timer = setInterval(() => s.tick(), Math.max(10, Math.min(s.fsyncPolicy.intervalMs, s.cursorPersistMs) / 2));
    s.timer.unref();
    s.log.info(
      { dir: s.dir, firstId: s.firstId, nextId: s.nextId, segments: s.segments.length, bytes: s.totalBytes, recoveryMs: Math.round(s.st.recoveryMs) },
      'spool opened',
    );
    if (s.diskRoom !== undefined && s.diskRoom < s.maxBytes) {
      s.log.warn(
        { dir: s.dir, maxBytes: s.maxBytes, diskRoom: s.diskRoom, segmentBytes: s.segmentBytes },
        'spool: its file system has less room than maxBytes; the disk will fill first, and then the oldest records go',
      );
    }
    return s;
  }

  // ---------------------------------------------------------------- open

  private lock(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    if (openDirs.has(this.dir)) throw new SpoolError('LOCKED', `spool ${this.dir} is already open in this process`);
    const lockPath = path.join(this.dir, 'lock');
    try {
      const old = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(old) && old > 0 && old !== process.pid && pidAlive(old)) {
        throw new SpoolError('LOCKED', `spool ${this.dir} is locked by running process ${old} (${lockPath})`);
      }
    } catch (err) {
      if (err instanceof SpoolError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ err: errorMessage(err), lockPath }, 'spool lock file unreadable, taking it over');
      }
    }
    fs.writeFileSync(lockPath, `${process.pid}\n`);
    openDirs.add(this.dir);
  }

  private unlock(): void {
    openDirs.delete(this.dir);
    try {
      const lockPath = path.join(this.dir, 'lock');
      if (fs.readFileSync(lockPath, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockPath);
    } catch {
      /* ignore */
    }
  }

  private recover(consumerNames: readonly string[]): void {
    const names = fs.readdirSync(this.dir);
    const segs: Segment[] = [];
    for (const n of names) {
      const m = SEG_RE.exec(n);
      if (m) {
        segs.push({ baseId: Number(m[1]), path: path.join(this.dir, n), size: 0, deleted: false });
      } else if (n.endsWith('.tmp')) {
        fs.rmSync(path.join(this.dir, n), { force: true });
      } else if (n !== 'lock' && !CUR_RE.test(n)) {
        this.log.warn({ dir: this.dir, file: n }, 'spool: ignoring unknown file');
      }
    }
    segs.sort((a, b) => a.baseId - b.baseId);

    // validate headers
    const hdr = Buffer.alloc(SEG_HEADER);
    const good: Segment[] = [];
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const isLast = i === segs.length - 1;
      let fd: number | undefined;
      let problem: string | undefined;
      try {
        fd = fs.openSync(seg.path, 'r');
        seg.size = fs.fstatSync(fd).size;
        const n = seg.size >= SEG_HEADER ? fs.readSync(fd, hdr, 0, SEG_HEADER, 0) : 0;
        if (n < SEG_HEADER) problem = seg.size === 0 ? 'empty segment file' : `segment header truncated (${seg.size} bytes)`;
        else if (!hdr.subarray(0, 8).equals(SEG_MAGIC)) problem = 'bad segment magic';
        else if (readU64(hdr, 8) !== seg.baseId) problem = `segment header base id ${readU64(hdr, 8)} does not match file name`;
      } catch (err) {
        problem = `unreadable: ${errorMessage(err)}`;
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
      if (problem === undefined) {
        good.push(seg);
        continue;
      }
      if (isLast && seg.size < SEG_HEADER) {
        // crash right after creating the segment: rewrite its header
        this.log.warn({ file: seg.path, problem }, 'spool: rewriting header of the last segment');
        fs.writeFileSync(seg.path, this.segHeader(seg.baseId));
        seg.size = SEG_HEADER;
        good.push(seg);
        continue;
      }
      this.st.corruptSegments++;
      this.st.corruptBytes += seg.size;
      this.log.error({ file: seg.path, problem }, 'spool: corrupted segment deleted; its records are lost');
      fs.rmSync(seg.path, { force: true });
    }
    this.segments = good;

    // scan the last segment: find the end, truncate a torn tail
    let nextId = 1;
    const last = good[good.length - 1];
    if (last) {
      nextId = last.baseId;
      const data = fs.readFileSync(last.path);
      let off = SEG_HEADER;
      let lastId = last.baseId - 1;
      while (off < data.length) {
        const p = parseRecord(data, off, data.length, this.maxBody);
        if (p.kind === 'ok' && p.id > lastId) {
          lastId = p.id;
          off = p.end;
          continue;
        }
        const why = p.kind === 'ok' ? `record id ${p.id} not above ${lastId}` : p.kind === 'bad' ? p.why : 'truncated record';
        const resync = this.findNextValid(data, off + 1, data.length, lastId);
        if (resync === undefined) {
          this.st.tornTailBytes += data.length - off;
          this.log.warn({ file: last.path, offset: off, bytes: data.length - off, why }, 'spool: truncating torn tail of the last segment');
          fs.truncateSync(last.path, off);
          break;
        }
        this.noteCorrupt(last, off, resync - off, why, undefined);
        off = resync;
      }
      last.size = Math.min(off, data.length);
      nextId = lastId + 1;
    }
    this.totalBytes = good.reduce((a, s) => a + s.size, 0);

    // cursors
    const cursors = new Map<string, number>();
    let maxCursor = 0;
    for (const name of consumerNames) {
      const v = this.readCursor(name);
      if (v !== undefined) {
        cursors.set(name, v);
        maxCursor = Math.max(maxCursor, v);
      }
    }
    // ids must keep increasing even if segment files were removed behind our back
    this.nextId = Math.max(nextId, maxCursor);
    if (!last || this.nextId > nextId) this.createSegment(this.nextId);
    const active = this.segments[this.segments.length - 1]!;
    this.activeFd = fs.openSync(active.path, 'r+');

    const firstId = this.firstId;
    for (const name of consumerNames) {
      let low = cursors.get(name) ?? firstId;
      if (low < firstId) low = firstId;
      if (low > this.nextId) low = this.nextId;
      const c = new Consumer(this, name, low);
      c.persistedAckedLow = cursors.get(name) ?? -1;
      this.consumers.set(name, c);
    }
    // Every cursor file exists from now on: on a full disk it can still be overwritten in place.
    this.persistCursorsSync();
    this.deleteAckedSegments();
  }

  private readCursor(name: string): number | undefined {
    const p = path.join(this.dir, `cursor-${name}.bin`);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.st.cursorErrors++;
      this.log.error({ file: p, err: errorMessage(err) }, 'spool: cursor unreadable; consumer restarts at the oldest record');
      return undefined;
    }
    if (buf.length !== 24 || !buf.subarray(0, 8).equals(CUR_MAGIC) || crc32(buf, 0, 16) !== buf.readUInt32LE(16)) {
      this.st.cursorErrors++;
      this.log.error({ file: p, bytes: buf.length }, 'spool: cursor file corrupted; consumer restarts at the oldest record');
      return undefined;
    }
    return readU64(buf, 8);
  }

  private segHeader(baseId: number): Buffer {
    const h = Buffer.alloc(SEG_HEADER);
    SEG_MAGIC.copy(h, 0);
    writeU64(h, 8, baseId);
    return h;
  }

  private createSegment(baseId: number): Segment {
    const seg: Segment = { baseId, path: path.join(this.dir, segName(baseId)), size: SEG_HEADER, deleted: false };
    const fd = fs.openSync(seg.path, 'w');
    try {
      fs.writeSync(fd, this.segHeader(baseId), 0, SEG_HEADER, 0);
    } catch (err) {
      fs.rmSync(seg.path, { force: true });
      throw err;
    } finally {
      fs.closeSync(fd);
    }
    this.segments.push(seg);
    this.totalBytes += SEG_HEADER;
    fsyncDirSync(this.dir);
    return seg;
  }

  /** First offset >= from with a valid record whose id is > afterId. */
  private findNextValid(data: Buffer, from: number, end: number, afterId: number): number | undefined {
    for (let off = from; off + REC_HEADER + BODY_FIXED <= end; off++) {
      const len = data.readUInt32LE(off);
      if (len < BODY_FIXED || len > this.maxBody || off + REC_HEADER + len > end) continue;
      const p = parseRecord(data, off, end, this.maxBody);
      if (p.kind === 'ok' && p.id > afterId && p.id < this.nextIdBound()) return off;
    }
    return undefined;
  }

  private nextIdBound(): number {
    // during recovery nextId is not known yet; any id is plausible
    return this.activeFd === -1 ? Number.MAX_SAFE_INTEGER : this.nextId;
  }

  // ---------------------------------------------------------------- write

  get firstId(): number {
    const s = this.segments[0];
    if (!s) return this.nextId;
    // the first segment may have been created empty
    return Math.min(s.baseId, this.nextId);
  }

  /**
   * Append one record. `payload` may be a function of the record id (so a
   * caller can embed the id). Returns the record id once the record has been
   * written to the kernel (see the fsync policy above).
   * Throws SpoolError RECORD_TOO_LARGE / WRITE_FAILED / CLOSED; never because
   * the spool is full.
   */
  append(tag: number, payload: Uint8Array | ((id: number) => Uint8Array)): number {
    if (this.closed) throw new SpoolError('CLOSED', `spool ${this.dir} is closed`);
    if (!Number.isInteger(tag) || tag < 0 || tag > 255) throw new SpoolError('BAD_OPTIONS', `record tag must be 0..255, got ${tag}`);
    const id = this.nextId;
    const body = typeof payload === 'function' ? payload(id) : payload;
    if (body.length > this.maxRecordBytes) {
      this.st.rejectedTooLarge++;
      throw new SpoolError('RECORD_TOO_LARGE', `record of ${body.length} bytes exceeds the spool limit of ${this.maxRecordBytes} bytes`);
    }
    const rec = encodeRecord(id, tag, body);
    let active = this.segments[this.segments.length - 1]!;
    while (active.size > SEG_HEADER && active.size + rec.length > this.segmentBytes) {
      try {
        active = this.roll();
      } catch (err) {
        // a new segment file needs room too; making room may also have emptied the active segment
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC' && this.makeRoom()) {
          active = this.segments[this.segments.length - 1]!;
          continue;
        }
        this.refuse(err, 'cannot start a new segment');
      }
    }
    // make room first so that the bound holds after the write
    this.enforceBound(rec.length);
    this.writeRecord(active, rec);
    if (this.st.diskFullSince) {
      this.st.diskFullSince = 0;
      this.refusals.end({ dir: this.dir });
    }
    this.nextId = id + 1;
    this.st.appended++;
    this.st.appendedBytes += rec.length;
    if (this.fsyncPolicy.mode === 'always') {
      const t = performance.now();
      try {
        fs.fdatasyncSync(this.activeFd);
        this.st.fsyncs++;
      } catch (err) {
        this.st.fsyncErrors++;
        this.log.error({ err: errorMessage(err) }, 'spool: fdatasync failed');
      }
      this.st.lastFsyncMs = performance.now() - t;
    } else if (this.fsyncPolicy.mode === 'interval') {
      if (this.unsynced++ === 0) this.firstUnsyncedAt = performance.now();
      if (this.unsynced >= this.fsyncPolicy.everyRecords) this.syncActive();
    }
    this.scheduleNotify();
    return id;
  }

  private writeRecord(seg: Segment, rec: Buffer): void {
    for (;;) {
      const at = seg.size;
      try {
        let done = 0;
        while (done < rec.length) done += fs.writeSync(this.activeFd, rec, done, rec.length - done, at + done);
        seg.size += rec.length;
        this.totalBytes += rec.length;
        return;
      } catch (err) {
        try {
          fs.ftruncateSync(this.activeFd, at);
        } catch {
          /* ignore */
        }
        // each round gives up one segment or empties the active one: it ends
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC' && this.makeRoom()) continue;
        this.refuse(err, 'write failed');
      }
    }
  }

  /** Count and log (a full disk: as one episode) a record that cannot be written, and throw. */
  private refuse(err: unknown, what: string): never {
    this.st.appendErrors++;
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
      this.st.refusedDiskFull++;
      if (!this.st.diskFullSince) this.st.diskFullSince = Date.now();
      this.refusals.add({ dir: this.dir, err: errorMessage(err), pending: this.maxPending() });
    } else {
      this.log.error({ dir: this.dir, err: errorMessage(err) }, `spool: ${what}, record not accepted`);
    }
    throw new SpoolError('WRITE_FAILED', `spool ${this.dir}: ${what}: ${errorMessage(err)}`, { cause: err });
  }

  /** The disk is full: give up the oldest segment, or empty the acknowledged active one. False: nothing to give. */
  private makeRoom(): boolean {
    if (this.segments.length > 1) {
      this.dropOldest(true);
      return true;
    }
    return this.reclaimActive();
  }

  private minAckedLow(): number {
    let min = Number.MAX_SAFE_INTEGER;
    for (const c of this.consumers.values()) min = Math.min(min, c.ackedLow);
    return min;
  }

  private maxPending(): number {
    let max = 0;
    for (const c of this.consumers.values()) max = Math.max(max, c.pending);
    return max;
  }

  /**
   * Every consumer acknowledged every record: empty the active segment in place (a full disk may have no room
   * for a new file). The cursors (>= nextId) go to disk first, so ids never go back after a restart.
   */
  private reclaimActive(): boolean {
    const active = this.segments[this.segments.length - 1]!;
    if (active.size <= SEG_HEADER || this.consumers.size === 0 || this.minAckedLow() < this.nextId) return false;
    if (this.persisting) return false; // a background cursor write could land after ours; the next try follows
    this.persistCursorsSync();
    let durable = false;
    for (const c of this.consumers.values()) durable ||= c.persistedAckedLow >= this.nextId;
    if (!durable) return false;
    try {
      fs.ftruncateSync(this.activeFd, SEG_HEADER);
    } catch (err) {
      this.log.error({ file: active.path, err: errorMessage(err) }, 'spool: cannot empty the acknowledged active segment');
      return false;
    }
    this.totalBytes -= active.size - SEG_HEADER;
    active.size = SEG_HEADER;
    this.unsynced = 0;
    this.st.activeReclaims++;
    for (const c of this.consumers.values()) {
      if (c.seg === active) {
        c.offset = SEG_HEADER;
        c.scanId = this.nextId - 1;
      }
      if (c.chunkSeg === active) c.chunkSeg = undefined;
    }
    return true;
  }

  private track(p: Promise<void>): Promise<void> {
    this.bg.add(p);
    void p.finally(() => this.bg.delete(p));
    return p;
  }

  private roll(): Segment {
    const oldFd = this.activeFd;
    const seg = this.createSegment(this.nextId);
    this.activeFd = fs.openSync(seg.path, 'r+');
    this.unsynced = 0;
    // seal the old segment in the background, then close it
    const mode = this.fsyncPolicy.mode;
    this.track(
      new Promise<void>((resolve) => {
        const done = (): void => fs.close(oldFd, () => resolve());
        if (mode === 'never') return done();
        fs.fdatasync(oldFd, (err) => {
          if (err) {
            this.st.fsyncErrors++;
            this.log.error({ err: errorMessage(err) }, 'spool: fdatasync of sealed segment failed');
          } else this.st.fsyncs++;
          done();
        });
      }),
    );
    return seg;
  }

  private enforceBound(incoming: number): void {
    while (this.totalBytes + incoming > this.maxBytes && this.segments.length > 1) this.dropOldest(false);
  }

  private dropOldest(diskFull: boolean): void {
    const seg = this.segments[0]!;
    const endId = this.segments[1]!.baseId;
    let lost = 0;
    for (const c of this.consumers.values()) {
      const before = c.dropped;
      c.droppedBelow(endId, seg);
      lost = Math.max(lost, c.dropped - before);
    }
    if (this.consumers.size === 0) lost = endId - seg.baseId;
    this.removeSegment(seg);
    this.st.droppedSegments++;
    this.st.droppedRecords += lost;
    if (diskFull) this.st.droppedDiskFull += lost;
    if (lost > 0) {
      this.st.lastDropAt = Date.now();
      this.drops.add({ dir: this.dir, why: diskFull ? 'disk full' : 'maxBytes reached', maxBytes: this.maxBytes }, lost);
      this.scheduleNotify();
    }
  }

  private removeSegment(seg: Segment): void {
    this.segments.shift();
    seg.deleted = true;
    this.totalBytes -= seg.size;
    try {
      fs.rmSync(seg.path, { force: true });
    } catch (err) {
      this.log.error({ file: seg.path, err: errorMessage(err) }, 'spool: cannot delete segment');
    }
    for (const c of this.consumers.values()) {
      if (c.fdSeg === seg) c.closeFd();
      if (c.chunkSeg === seg) c.chunkSeg = undefined;
    }
  }

  /** Delete sealed segments every consumer has acknowledged. */
  private deleteAckedSegments(): void {
    while (this.segments.length > 1) {
      const endId = this.segments[1]!.baseId;
      let min = Number.MAX_SAFE_INTEGER;
      for (const c of this.consumers.values()) min = Math.min(min, c.ackedLow);
      if (this.consumers.size === 0 || min < endId) return;
      this.removeSegment(this.segments[0]!);
    }
  }

  /** A consumer's ackedLow moved. */
  onProgress(): void {
    if (this.segments.length > 1) this.deleteAckedSegments();
  }

  // ---------------------------------------------------------------- read

  /** @internal used by Consumer.next() */
  readNext(c: Consumer): SpoolRecord | undefined {
    if (this.closed) return undefined;
    for (;;) {
      let seg = c.seg;
      if (!seg || seg.deleted) {
        seg = this.segmentFor(c.skipBelow);
        if (!seg) return undefined;
        c.seg = seg;
        c.offset = SEG_HEADER;
        c.scanId = seg.baseId - 1;
      }
      if (c.offset >= seg.size) {
        if (seg === this.segments[this.segments.length - 1]) return undefined;
        const i = this.segments.indexOf(seg);
        const nextSeg = this.segments[i + 1]!;
        c.seg = nextSeg;
        c.offset = SEG_HEADER;
        c.scanId = nextSeg.baseId - 1;
        continue;
      }
      const p = this.parseFor(c, seg, c.offset);
      if (p.kind === 'ok' && p.id > c.scanId && p.id < this.nextId) {
        const off = c.offset;
        c.offset = off + REC_HEADER + (p.end - p.bodyStart);
        c.scanId = p.id;
        if (p.id < c.skipBelow) continue;
        const payload = Buffer.from(c.chunk.subarray(p.bodyStart + BODY_FIXED, p.end));
        const e: Outstanding = { id: p.id, seg, offset: off, acked: false };
        c.queue.push(e);
        c.byId.set(p.id, e);
        c.lastHandedId = p.id;
        return { id: p.id, tag: p.tag, payload };
      }
      // corruption: skip to the next valid record of this segment
      const why =
        p.kind === 'ok' ? `record id ${p.id} out of order after ${c.scanId}` : p.kind === 'bad' ? p.why : 'record runs past the end of the segment';
      const data = this.readRange(seg, c.offset, seg.size);
      const rel = data ? this.findNextValid(data, 1, data.length, c.scanId) : undefined;
      const skip = rel === undefined ? seg.size - c.offset : rel;
      this.noteCorrupt(seg, c.offset, skip, why, c.name);
      c.offset += skip;
      c.chunkSeg = undefined;
    }
  }

  /** Count and log a corrupted range once, however many consumers run into it. */
  private noteCorrupt(seg: Segment, offset: number, bytes: number, why: string, consumer: string | undefined): void {
    const key = `${seg.baseId}:${offset}`;
    if (this.corruptSeen.has(key)) return;
    this.corruptSeen.add(key);
    if (this.corruptSeen.size > 10_000) this.corruptSeen.clear();
    this.st.corruptRecords++;
    this.st.corruptBytes += bytes;
    this.log.error({ file: seg.path, offset, bytes, why, consumer }, 'spool: skipping corrupted bytes');
  }

  private segmentFor(id: number): Segment | undefined {
    const segs = this.segments;
    for (let i = segs.length - 1; i >= 0; i--) if (segs[i]!.baseId <= id) return segs[i];
    return segs[0];
  }

  /** Parse the record at `offset` of `seg` through the consumer's chunk cache (offsets in the Parsed are chunk-relative). */
  private parseFor(c: Consumer, seg: Segment, offset: number): Parsed {
    const limit = seg.size;
    let rel = offset - c.chunkStart;
    if (c.chunkSeg !== seg || rel < 0 || rel + REC_HEADER > c.chunkLen) {
      if (!this.fill(c, seg, offset, REC_HEADER)) return { kind: 'short' };
      rel = 0;
    }
    const len = c.chunk.readUInt32LE(rel);
    const need = REC_HEADER + len;
    if (len >= BODY_FIXED && len <= this.maxBody && offset + need <= limit && rel + need > c.chunkLen) {
      if (!this.fill(c, seg, offset, need)) return { kind: 'short' };
      rel = 0;
    }
    return parseRecord(c.chunk, rel, Math.min(c.chunkLen, limit - c.chunkStart), this.maxBody);
  }

  /** Load seg[offset ..] (at least `min` bytes if available) into the consumer's chunk. */
  private fill(c: Consumer, seg: Segment, offset: number, min: number): boolean {
    const avail = seg.size - offset;
    if (avail < min) return false;
    const want = Math.min(avail, Math.max(READ_CHUNK, min));
    if (c.chunk.length < want) c.chunk = Buffer.alloc(want);
    if (c.fdSeg !== seg) {
      c.closeFd();
      try {
        c.fd = fs.openSync(seg.path, 'r');
        c.fdSeg = seg;
      } catch (err) {
        this.log.error({ file: seg.path, err: errorMessage(err) }, 'spool: cannot open segment for reading');
        return false;
      }
    }
    let n = 0;
    try {
      while (n < want) {
        const r = fs.readSync(c.fd!, c.chunk, n, want - n, offset + n);
        if (r === 0) break;
        n += r;
      }
    } catch (err) {
      this.log.error({ file: seg.path, err: errorMessage(err) }, 'spool: read failed');
      return false;
    }
    c.chunkSeg = seg;
    c.chunkStart = offset;
    c.chunkLen = n;
    return n >= min;
  }

  private readRange(seg: Segment, from: number, to: number): Buffer | undefined {
    try {
      const fd = fs.openSync(seg.path, 'r');
      try {
        const b = Buffer.alloc(Math.max(0, to - from));
        let n = 0;
        while (n < b.length) {
          const r = fs.readSync(fd, b, n, b.length - n, from + n);
          if (r === 0) break;
          n += r;
        }
        return b.subarray(0, n);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------- consumers

  reader(name: string): SpoolReader {
    const c = this.consumers.get(name);
    if (!c) throw new SpoolError('BAD_OPTIONS', `spool has no consumer ${JSON.stringify(name)} (configured: ${[...this.consumers.keys()].join(', ')})`);
    return c;
  }

  /** @internal */
  addListener(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled || this.listeners.size === 0) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      for (const l of [...this.listeners]) {
        try {
          l();
        } catch (err) {
          this.log.error({ err: errorMessage(err) }, 'spool: listener threw');
        }
      }
    });
  }

  // ---------------------------------------------------------------- durability

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.fsyncPolicy.mode === 'interval' && this.unsynced > 0 && now - this.firstUnsyncedAt >= this.fsyncPolicy.intervalMs) {
      this.syncActive();
    }
    if (now - this.lastCursorPersist >= this.cursorPersistMs) {
      this.lastCursorPersist = now;
      void this.persistCursors();
    }
    // Refusing for a full disk: give the acknowledged records' room back now, not at the next append.
    if (this.st.diskFullSince) this.reclaimActive();
    this.refusals.tick();
    this.drops.tick(60_000);
    this.cursorFailures.tick();
  }

  private syncActive(): Promise<void> {
    if (this.activeSyncing) return Promise.resolve(); // the next tick follows up
    this.activeSyncing = true;
    const fd = this.activeFd;
    const n = this.unsynced;
    this.unsynced = 0;
    const t = performance.now();
    return this.track(
      new Promise<void>((resolve) => {
        fs.fdatasync(fd, (err) => {
          this.activeSyncing = false;
          if (err) {
            this.st.fsyncErrors++;
            if (fd === this.activeFd) this.unsynced += n;
            this.log.error({ err: errorMessage(err) }, 'spool: fdatasync failed');
          } else {
            this.st.fsyncs++;
          }
          this.st.lastFsyncMs = performance.now() - t;
          resolve();
        });
      }),
    );
  }

  /** fdatasync the active segment now, whatever the policy (awaitable). */
  async flush(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.bg]);
    if (this.closed) return;
    await this.syncActive();
  }

  private cursorBuf(v: number): Buffer {
    const b = Buffer.alloc(24);
    CUR_MAGIC.copy(b, 0);
    writeU64(b, 8, v);
    b.writeUInt32LE(crc32(b, 0, 16), 16);
    return b;
  }

  /** Write moved cursors durably (temp file + fdatasync + rename + dir fsync). */
  persistCursors(): Promise<void> {
    if (this.persisting) return this.persisting;
    const todo: Array<[Consumer, number]> = [];
    for (const c of this.consumers.values()) if (c.ackedLow !== c.persistedAckedLow) todo.push([c, c.ackedLow]);
    if (todo.length === 0) return Promise.resolve();
    const run = async (): Promise<void> => {
      for (const [c, v] of todo) {
        const final = path.join(this.dir, `cursor-${c.name}.bin`);
        const tmp = `${final}.tmp`;
        try {
          const fh = await fs.promises.open(tmp, 'w');
          try {
            await fh.writeFile(this.cursorBuf(v));
            await fh.datasync();
          } finally {
            await fh.close();
          }
          await fs.promises.rename(tmp, final);
          c.persistedAckedLow = v;
          this.cursorFailures.end({ dir: this.dir });
        } catch (err) {
          await fs.promises.rm(tmp, { force: true }).catch(() => {});
          this.cursorWriteFailed(c, v, final, err);
        }
      }
      await fsyncDir(this.dir);
    };
    this.persisting = this.track(
      run().finally(() => {
        this.persisting = undefined;
      }),
    );
    return this.persisting;
  }

  private persistCursorsSync(): void {
    for (const c of this.consumers.values()) {
      if (c.ackedLow === c.persistedAckedLow) continue;
      const final = path.join(this.dir, `cursor-${c.name}.bin`);
      const tmp = `${final}.tmp`;
      try {
        const fd = fs.openSync(tmp, 'w');
        try {
          fs.writeSync(fd, this.cursorBuf(c.ackedLow));
          fs.fdatasyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(tmp, final);
        c.persistedAckedLow = c.ackedLow;
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        this.cursorWriteFailed(c, c.ackedLow, final, err);
      }
    }
    fsyncDirSync(this.dir);
  }

  /**
   * The atomic cursor write (new file + rename) failed, typically for a full disk: overwrite the existing
   * 24-byte file in place, which needs no new blocks. A torn overwrite fails its CRC at open and only costs
   * redelivery from the oldest record.
   */
  private cursorWriteFailed(c: Consumer, v: number, file: string, err: unknown): void {
    try {
      const fd = fs.openSync(file, 'r+');
      try {
        if (fs.writeSync(fd, this.cursorBuf(v), 0, 24, 0) !== 24) throw new Error('short write');
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      c.persistedAckedLow = Math.max(c.persistedAckedLow, v);
      this.st.cursorInPlaceWrites++;
    } catch (err2) {
      this.st.cursorErrors++;
      this.cursorFailures.add({ file, err: errorMessage(err), inPlace: errorMessage(err2) });
    }
  }

  /** Sync the active segment, persist every cursor, release the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    while (this.bg.size > 0) await Promise.all([...this.bg]);
    try {
      fs.fdatasyncSync(this.activeFd);
      this.st.fsyncs++;
    } catch (err) {
      this.st.fsyncErrors++;
      this.log.error({ err: errorMessage(err) }, 'spool: fdatasync on close failed');
    }
    fs.closeSync(this.activeFd);
    this.unsynced = 0;
    this.persistCursorsSync();
    for (const c of this.consumers.values()) c.closeFd();
    this.listeners.clear();
    this.unlock();
    this.log.info({ dir: this.dir, nextId: this.nextId }, 'spool closed');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): SpoolStats {
    const consumers: Record<string, ConsumerStats> = {};
    for (const [n, c] of this.consumers) consumers[n] = c.stats();
    return {
      dir: this.dir,
      segments: this.segments.length,
      bytes: this.totalBytes,
      maxBytes: this.maxBytes,
      firstId: this.firstId,
      nextId: this.nextId,
      ...this.st,
      unsyncedRecords: this.unsynced,
      fsyncPolicy: { ...this.fsyncPolicy },
      consumers,
    };
  }
}

/**
 * A condition that repeats (records refused, dropped, a cursor not written): logged once when it starts, then
 * at most once per interval with how many times it happened since, and once when it ends.
 */
class Episode {
  private active = false;
  private count = 0;
  private total = 0;
  private lastLogAt = 0;
  private lastAt = 0;
  private last: object = {};

  constructor(
    private readonly log: Logger,
    private readonly level: 'warn' | 'error',
    private readonly startMsg: string,
    private readonly endMsg: string,
    private readonly intervalMs = 60_000,
  ) {}

  add(fields: object, n = 1): void {
    const now = Date.now();
    this.count += n;
    this.total += n;
    this.lastAt = now;
    this.last = fields;
    if (!this.active) {
      this.active = true;
      this.lastLogAt = now;
      this.log[this.level]({ ...fields, count: n }, this.startMsg);
      this.count = 0;
    }
  }

  /** Called periodically: the summary line; with quietMs, an episode with nothing new for that long ends. */
  tick(quietMs?: number): void {
    if (!this.active) return;
    const now = Date.now();
    if (this.count > 0 && now - this.lastLogAt >= this.intervalMs) {
      this.lastLogAt = now;
      this.log[this.level]({ ...this.last, count: this.count, total: this.total }, `${this.startMsg} (still)`);
      this.count = 0;
    }
    if (quietMs !== undefined && now - this.lastAt >= quietMs) this.end({});
  }

  end(fields: object): void {
    if (!this.active) return;
    this.active = false;
    this.log.info({ ...fields, total: this.total }, this.endMsg);
    this.count = 0;
    this.total = 0;
  }
}

/** Bytes the spool can use on the file system of `dir` (free to us + its segments' size); undefined if unknown. */
function diskRoom(dir: string): number | undefined {
  try {
    let d = dir;
    while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
    const st = fs.statfsSync(d);
    let own = 0;
    if (d === dir) for (const n of fs.readdirSync(dir)) if (SEG_RE.test(n)) own += fs.statSync(path.join(dir, n)).size;
    return st.bavail * st.bsize + own;
  } catch {
    return undefined;
  }
}
