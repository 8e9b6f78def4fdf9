// Issue 12 D2: the spool on a real 2 MiB tmpfs, the broker down and records flooding in. The disk fills: the
// oldest records go (counted), then, with the rest of the disk taken by another file, new records are refused
// (counted, one log line, an alarm). When the broker is back every kept record is delivered, the acknowledged
// active segment is emptied although the disk is still full, and records are accepted again without a restart;
// after a restart nothing already acknowledged is sent again.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Uplink } from '../../runtime/uplink/index.js';
import { typeFor, uperFor } from '../fixtures/uplink/records.js';
import { freePort, Mosquitto, mosquittoMissing, UplinkVerifier } from '../support/mosquitto.js';
import { fillDisk, freeBytes, tmpfs } from '../support/tmpfs.js';
import { until } from '../support/wait.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A logger that keeps every line. */
function recordingLogger() {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

t.test('full spool disk (2 MiB tmpfs): drops and refusals counted, one log line, alarm; recovers by itself', { timeout: 90_000 }, async (t) => {
  const missing = mosquittoMissing();
  if (missing) return t.skip(missing);
  const fsys = tmpfs(t, '2m');
  if ('skip' in fsys) return t.skip(fsys.skip);
  const dir = path.join(fsys.dir, 'spool');
  const port = await freePort();
  const rsuId = 'RSU-DISKFULL';
  const { lines, logger } = recordingLogger();
  // the daemon's defaults: maxBytes 128 MiB, far above the disk
  const opts = { rsuId, spool: { dir, fsync: { mode: 'never' as const } }, mqtt: { url: `mqtt://127.0.0.1:${port}`, reconnectMinMs: 50, reconnectMaxMs: 200 }, logger };
  const up = await Uplink.open(opts);
  let closed = false;
  t.teardown(() => (closed ? undefined : up.close()));

  // 1. Broker down, 60,000 records: about 23,000 fit on the disk, the oldest go first.
  let seq = 0;
  let ok = 0;
  for (let i = 0; i < 60_000; i++) if (up.submit({ type: typeFor(++seq), uper: uperFor(seq) }).ok) ok++;
  let st = up.stats();
  t.equal(ok, 60_000, 'every record accepted: a full disk gives up the oldest records first');
  t.ok(st.spool.droppedDiskFull > 30_000, `oldest records dropped for the full disk: ${st.spool.droppedDiskFull}`);
  t.ok(up.droppedByReason().disk_full === st.spool.droppedDiskFull, 'counted under disk_full');
  t.match(up.alarms().join('\n'), /uplink spool full: unsent records dropped/, 'alarm while dropping');
  const dropLines = lines.filter((l) => /dropped|disk full/.test(l.msg));
  t.ok(dropLines.length <= 2, `${dropLines.length} log line(s) for ${st.spool.droppedSegments} dropped segments: ${dropLines.map((l) => l.msg).join(' | ')}`);

  // 2. The broker comes back: every kept record is delivered.
  let kept = st.mqtt!.pending;
  let firstKept = st.spool.firstId;
  t.equal(firstKept + kept, seq + 1, 'the spool holds exactly the newest records');
  const m = await Mosquitto.start({ port });
  t.teardown(() => m.stop());
  const v = await UplinkVerifier.connect(m.url, rsuId);
  t.teardown(() => v.end());
  await until('every kept record acknowledged', () => up.stats().mqtt!.pending === 0, 30_000);
  await v.waitFor(() => v.seen.size >= kept, 10_000, 'kept records at the subscriber');
  t.same(v.missing(firstKept, seq), [], 'every kept record delivered');

  // 3. The broker goes down again and another file takes the rest of the disk: new records are refused,
  //    counted, logged once, alarmed.
  await m.kill();
  await until('link down', () => up.stats().mqtt!.state !== 'up', 5000);
  const ballast = fillDisk(fsys.dir);
  let refused = 0;
  const before = lines.length;
  for (let i = 0; i < 20_000; i++) {
    const r = up.submit({ type: typeFor(seq + 1), uper: uperFor(seq + 1) });
    if (r.ok) seq++;
    else {
      refused++;
      if (refused === 1) t.match(r.error, /ENOSPC/, 'the refusal names the full disk');
    }
  }
  st = up.stats();
  t.ok(refused > 15_000, `records refused: ${refused}`);
  t.equal(st.rejectedByReason.disk_full, refused, 'each refusal counted as disk_full');
  t.equal(st.spool.refusedDiskFull, refused);
  t.equal(up.droppedByReason().disk_full, st.spool.droppedDiskFull + refused, 'the metric counts drops and refusals');
  t.match(up.alarms().join('\n'), /uplink spool disk full: new records refused since .* \(\d+ so far/, 'alarm while refusing');
  const refusalLines = lines.slice(before).filter((l) => l.level !== 'info' && l.level !== 'debug');
  t.equal(refusalLines.filter((l) => /refused|rejected/.test(l.msg)).length, 1, `one log line for ${refused} refusals: ${refusalLines.map((l) => l.msg).join(' | ')}`);
  kept = st.mqtt!.pending;
  firstKept = up.stats().spool.consumers.mqtt!.ackedLow;
  t.ok(kept > 0, `${kept} records accepted before the disk was full wait for the broker`);

  // 4. The broker is back: the kept records are delivered, the acknowledged active segment is emptied although the
  //    ballast still fills the disk, and records are accepted again without a restart.
  const freeBefore = freeBytes(fsys.dir); // while full: the reclaim may come as soon as the acks do
  await m.restart();
  // (the subscriber may reconnect after the link did: the broker's acknowledgements are the proof here)
  const ackedBefore = up.stats().mqtt!.acked;
  await until('every kept record acknowledged', () => up.stats().mqtt!.pending === 0, 30_000);
  t.equal(up.stats().mqtt!.acked - ackedBefore, kept, 'the kept records were acknowledged by the broker');
  await until('subscriber back', () => v.client.connected, 5000);
  await until('active segment emptied', () => up.stats().spool.activeReclaims > 0, 5000);
  st = up.stats();
  t.ok(st.spool.cursorInPlaceWrites > 0, `cursor written in place while no new file fits (${st.spool.cursorInPlaceWrites})`);
  t.ok(freeBytes(fsys.dir) > freeBefore, `room given back: ${freeBefore} -> ${freeBytes(fsys.dir)} bytes free`);
  t.ok(fs.existsSync(ballast), 'the ballast is still there');
  firstKept = seq + 1;
  let accepted = 0;
  for (let i = 0; i < 1000; i++) if (up.submit({ type: typeFor(seq + 1), uper: uperFor(seq + 1) }).ok) (seq++, accepted++);
  t.equal(accepted, 1000, 'records accepted again');
  t.same(up.alarms().filter((a) => /disk full/.test(a)), [], 'the disk-full alarm is gone');
  t.ok(lines.some((l) => /accepting uplink records again/.test(l.msg)), 'the end of the refusals is logged');
  await until('new records delivered', () => up.stats().mqtt!.pending === 0, 10_000);
  await v.waitFor(() => v.missing(firstKept, seq).length === 0, 10_000, 'new records at the subscriber');
  await up.close();
  closed = true;

  // 5. Restart: nothing already acknowledged goes again.
  const received = v.received;
  const up2 = await Uplink.open(opts);
  t.teardown(() => up2.close());
  t.equal(up2.stats().mqtt!.pending, 0, 'no record pending after the restart');
  await until('connected', () => up2.stats().mqtt!.state === 'up', 5000);
  await sleep(500);
  t.equal(v.received, received, 'no record sent again');
  t.equal(v.duplicates, 0);
});
