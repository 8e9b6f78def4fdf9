// Adversarial family: the status socket (issue 12: D1, D7, D9, D15). Hostile lines get error replies and never
// crash the daemon; a client that does not read is bounded (dropped lines counted, then disconnected); one stream
// per kind per connection, a cap on connections, a floor on statusMs; a socket directory another user could
// control is refused by the daemon and the CLI alike. Loopback and Unix sockets only, a few seconds each.
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { encodeFrameJson } from '../../hw/sensors/index.js';
import { main } from '../../runtime/cli/main.js';
import type { Io } from '../../runtime/cli/io.js';
import { startDaemon } from '../../runtime/daemon.js';
import { attachView } from '../../runtime/view/source.js';
import { checkSocketDir, request, serveStatus, STATUS_LIMITS, type RecordEvent, type StatusSource, type TailEvent } from '../../runtime/status.js';
import { quietDaemonConfig } from '../support/quiet-daemon.js';
import { tmpDir, until } from '../support/wait.js';

/** A status source whose tail and record streams the test drives. */
function fakeSource(): StatusSource & { tail(e: TailEvent): void; record(e: RecordEvent): void; subscribers(): number } {
  const tails = new Set<(e: TailEvent) => void>();
  const records = new Set<(e: RecordEvent) => void>();
  return {
    status: () => ({ ok: true }),
    info: () => ({ rsuId: 'FAKE' }),
    onTail: (fn) => (tails.add(fn), () => tails.delete(fn)),
    onRecord: (fn) => (records.add(fn), () => records.delete(fn)),
    tail: (e) => tails.forEach((fn) => fn(e)),
    record: (e) => records.forEach((fn) => fn(e)),
    subscribers: () => tails.size + records.size,
  };
}

/** A client connection that collects the daemon's reply lines. */
async function client(path: string): Promise<{ sock: Socket; lines: unknown[]; send(s: string): void; closed: Promise<void> }> {
  const sock = createConnection(path);
  const lines: unknown[] = [];
  let buf = '';
  sock.on('data', (c) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('error', () => {});
  await new Promise<void>((r, j) => (sock.once('connect', () => r()), sock.once('error', j)));
  return { sock, lines, send: (s) => sock.write(s), closed };
}

t.test('D1: a line of null kills no daemon: it gets an error reply and SPAT goes on', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const socketPath = join(dir, 'rsu.sock');
  const d = await startDaemon({ config: quietDaemonConfig(), socketPath });
  t.teardown(() => d.stop());
  // The repro: node -e "require('net').connect(process.env.S).end('null\n')".
  const c = await client(socketPath);
  c.send('null\n');
  await until('an error reply to null', () => c.lines.length > 0, 3000);
  t.match(c.lines[0], { error: /request must be a JSON object .* got null/ });
  const spat = () => ((d.status().scheduler as { sent: Record<string, number> }).sent.spat ?? 0);
  const before = spat();
  await until('SPAT still sent', () => spat() > before + 2, 3000);
  t.match(await request(socketPath, { cmd: 'status' }), { rsuId: d.config.rsu.id }, 'the socket still answers');
  t.match(d.status().statusSocket, { rejected: { not_object: 1 } }, 'counted');
  c.sock.destroy();
});

t.test('D1 fuzz: every hostile line gets exactly one error reply, in order; the socket keeps serving', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const src = fakeSource();
  const s = await serveStatus(path, src);
  t.teardown(() => s.close());
  const hostile = [
    'null', 'true', 'false', '0', '-1', '1e999', '"status"', '[]', '[{"cmd":"status"}]', '{}', '{"cmd":null}', '{"cmd":1}',
    '{"cmd":["status"]}', '{"cmd":{"cmd":"status"}}', '{"cmd":"STATUS"}', '{"cmd":"__proto__"}', '{"__proto__":{"cmd":"status"}}',
    '{"cmd":"constructor"}', '{"cmd":"toString"}', '{"cmd":"tail","types":"spat"}', '{"cmd":"tail","types":[1,2]}', '{"cmd":"tail","types":{}}',
    '{"cmd":"view","statusMs":"1"}', '{"cmd":"view","statusMs":null}', '{"cmd":"view","statusMs":[200]}', '{', '}', '{"cmd":"status"', 'cmd=status',
    '\u0000\u0001\u0002', '\ufffd\ufffd', '{"cmd":"status"}{"cmd":"status"}', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
  ];
  // Random printable and binary junk too (a fixed seed: the same lines every run).
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 200; i++) hostile.push(Array.from({ length: 1 + Math.floor(rnd() * 80) }, () => String.fromCharCode(1 + Math.floor(rnd() * 0x2ff))).join('').replace(/\n/g, ' ').replace(/^\s*$/, 'x'));
  const c = await client(path);
  c.send(Buffer.from([0xff, 0xfe, 0x0a])); // invalid UTF-8
  for (const h of hostile) c.send(h + '\n');
  c.send('{"cmd":"status"}\n');
  await until('a reply to every line', () => c.lines.length >= hostile.length + 2, 5000);
  const replies = c.lines as Record<string, unknown>[];
  t.equal(replies.length, hostile.length + 2, 'one reply per line');
  t.ok(replies.slice(0, -1).every((r) => typeof r.error === 'string' && Object.keys(r).length === 1), 'each hostile line: an {"error"} reply');
  t.same(replies.at(-1), { ok: true }, 'then a good request is answered');
  t.equal(src.subscribers(), 0, 'no hostile line opened a stream');
  t.match(s.stats().rejected, { not_json: Number, not_object: Number, bad_request: Number, unknown_command: Number });
  c.sock.destroy();
});

t.test('D1: an over-long line gets an error and the connection is closed; others are not affected', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const s = await serveStatus(path, fakeSource());
  t.teardown(() => s.close());
  const c = await client(path);
  c.send('x'.repeat(STATUS_LIMITS.maxLineBytes + 10));
  await c.closed;
  t.match(c.lines, [{ error: /request line longer than 65536 bytes/ }]);
  t.same(await request(path, { cmd: 'status' }), { ok: true });
});

t.test('D7: a record client that never reads is bounded: lines dropped and counted, then disconnected', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const src = fakeSource();
  const dropped: number[] = [];
  const rejected: string[] = [];
  const s = await serveStatus(path, src, { limits: { maxBufferedBytes: 64 * 1024, stallMs: 800 }, onDrop: (_s, n) => dropped.push(n), onReject: (r) => rejected.push(r) });
  t.teardown(() => s.close());
  const sock = createConnection(path);
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  sock.write('{"cmd":"record"}\n');
  sock.pause(); // never reads
  await until('the record stream', () => src.subscribers() === 1, 2000);
  const data = 'x'.repeat(1000);
  let sent = 0;
  // 20 MB offered; the daemon may hold at most its 64 KiB plus the kernel's socket buffer.
  const feeder = setInterval(() => {
    for (let i = 0; i < 2000; i++, sent++) src.record({ t: Date.now(), kind: 'sensor', format: 'json', data });
  }, 10);
  // (A paused client never sees the close: the daemon's side is what counts.)
  await until('the daemon disconnects the client', () => rejected.length > 0, 5000);
  clearInterval(feeder);
  sock.destroy();
  const st = s.stats();
  t.ok(st.droppedLines.record! > sent / 2, `most lines dropped (${st.droppedLines.record} of ${sent})`);
  t.equal(dropped.reduce((a, b) => a + b, 0), st.droppedLines.record, 'each drop reported to the metrics hook');
  t.same(rejected, ['slow_client'], 'disconnected as a slow client');
  await until('its subscription is gone', () => src.subscribers() === 0 && s.stats().connections === 0, 2000);
});

t.test('D7: a slow reader that catches up is told how many lines it missed', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const src = fakeSource();
  const s = await serveStatus(path, src, { limits: { maxBufferedBytes: 16 * 1024, stallMs: 5000 } });
  t.teardown(() => s.close());
  const c = await client(path);
  c.send('{"cmd":"tail"}\n');
  await until('the tail stream', () => src.subscribers() === 1, 2000);
  c.sock.pause();
  const big = 'y'.repeat(4000);
  for (let i = 0; i < 500; i++) src.tail({ dir: 'tx', type: 'spat', atMs: i, value: big });
  c.sock.resume();
  await new Promise((r) => setTimeout(r, 200));
  src.tail({ dir: 'tx', type: 'spat', atMs: 999, value: 'last' });
  await until('the last line', () => c.lines.some((l) => (l as TailEvent).atMs === 999), 3000);
  const notice = c.lines.find((l) => (l as { dropped?: unknown }).dropped) as { dropped: { stream: string; lines: number } };
  const got = c.lines.filter((l) => (l as TailEvent).type === 'spat').length;
  t.ok(notice, 'a {"dropped"} line');
  t.equal(notice.dropped.stream, 'tail');
  t.equal(got + notice.dropped.lines, 501, 'delivered + dropped = sent');
  c.sock.destroy();
});

t.test('D7: a client that reads, however slowly, is not cut off (its excess lines are dropped)', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const src = fakeSource();
  const rejected: string[] = [];
  const s = await serveStatus(path, src, { limits: { maxBufferedBytes: 16 * 1024, stallMs: 2000 }, onReject: (r) => rejected.push(r) });
  t.teardown(() => s.close());
  const sock = createConnection(path);
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  sock.write('{"cmd":"record"}\n');
  await until('the record stream', () => src.subscribers() === 1, 2000);
  // Takes 4 kB every 10 ms (400 kB/s) while 2 MB/s are offered, for 3 s: its buffer never empties. The kernel
  // frees the daemon's side in steps of half its socket buffer (~100 kB), well within stallMs.
  let got = 0;
  const reader = setInterval(() => (got += sock.read(4000)?.length ?? 0), 10);
  const data = 'z'.repeat(1000);
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    for (let i = 0; i < 20; i++) src.record({ t: Date.now(), kind: 'sensor', format: 'json', data });
    await new Promise((r) => setTimeout(r, 10));
  }
  clearInterval(reader);
  t.same(rejected, [], `not disconnected (it took ${Math.round(got / 1000)} kB)`);
  t.ok(s.stats().droppedLines.record! > 1000, `lines it could not take were dropped (${s.stats().droppedLines.record})`);
  t.equal(s.stats().connections, 1);
  sock.destroy();
});

t.test('D7: the daemon under a sensor flood with a record client that never reads', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const socketPath = join(dir, 'rsu.sock');
  const cfg = quietDaemonConfig();
  cfg.ingest.listeners = [{ protocol: 'udp', listen: '127.0.0.1:0', format: 'json' }];
  const d = await startDaemon({ config: cfg, socketPath });
  t.teardown(() => d.stop());
  const sock = createConnection(socketPath);
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  sock.write('{"cmd":"record"}\n');
  sock.pause();
  await new Promise((r) => setTimeout(r, 100));
  const udp = createSocket('udp4');
  t.teardown(() => udp.close());
  const frame = Buffer.from(encodeFrameJson({ sensorId: 'nobody', captureTimeNs: 0n, frameNumber: 1, objects: [] }) + ' '.repeat(1200));
  for (let i = 0; i < 6000; i++) {
    udp.send(frame, d.ingestPorts[0]!.port, '127.0.0.1');
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  await until('record lines dropped', () => ((d.status().statusSocket?.droppedLines.record ?? 0) > 0), 5000);
  t.pass(`dropped ${d.status().statusSocket!.droppedLines.record} record lines instead of queueing them`);
  sock.destroy();
});

t.test('D9: one stream per kind per connection, a cap on connections, a floor on statusMs', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const src = fakeSource();
  const s = await serveStatus(path, src, { limits: { maxConnections: 4 } });
  t.teardown(() => s.close());
  const c = await client(path);
  for (let i = 0; i < 2000; i++) c.send('{"cmd":"view","statusMs":1}\n');
  c.send('{"cmd":"tail"}\n{"cmd":"tail"}\n{"cmd":"record"}\n{"cmd":"record"}\n');
  await until('replies', () => c.lines.filter((l) => (l as { error?: string }).error).length >= 2001, 5000);
  const errors = c.lines.filter((l) => (l as { error?: string }).error) as { error: string }[];
  t.equal(errors.filter((e) => /view: this connection has a view stream already/.test(e.error)).length, 1999);
  t.equal(errors.filter((e) => /tail: this connection has a tail stream already/.test(e.error)).length, 1);
  t.equal(errors.filter((e) => /record: this connection has a record stream already/.test(e.error)).length, 1);
  t.equal(src.subscribers(), 3, 'one view (its tail), one tail, one record');
  // statusMs 1 is raised to the floor: about 5 status lines a second, not 1000.
  const statusLines = () => c.lines.filter((l) => (l as { status?: unknown }).status).length;
  const n0 = statusLines();
  await new Promise((r) => setTimeout(r, 1000));
  const perS = statusLines() - n0;
  t.ok(perS >= 3 && perS <= 6, `status lines in 1 s at statusMs 1: ${perS} (floor ${STATUS_LIMITS.minStatusMs} ms)`);

  const more = [await client(path), await client(path), await client(path)];
  const refused = await client(path);
  await refused.closed;
  t.match(refused.lines, [{ error: /too many connections to the status socket \(4 open\)/ }]);
  t.equal(s.stats().connections, 4);
  t.match(await request(path, { cmd: 'status' }), { error: /too many connections/ });
  await t.rejects(request(path, { cmd: 'tail' }, () => t.fail('no tail line')), /refused the request: too many connections/, 'a refused stream rejects');
  const io = { stdin: Readable.from(['']), out: () => {}, err: (l: string) => cliErr.push(l) };
  const cliErr: string[] = [];
  t.equal(await main(['status', '--socket', path], io), 1);
  t.match(cliErr.join('\n'), /the rsu daemon on .* refused the request: too many connections/, 'rsu status says why');
  cliErr.length = 0;
  t.equal(await main(['tail', '--socket', path], io), 1);
  t.match(cliErr.join('\n'), /refused the request: too many connections/, 'rsu tail too');
  for (const m of [c, ...more]) m.sock.destroy();
  await until('connections closed', () => s.stats().connections === 0, 2000);
  t.same(await request(path, { cmd: 'status' }), { ok: true }, 'a slot is free again');
});

t.test('D9: a connection that never asks anything is closed after idleMs', async (t) => {
  const dir = tmpDir(t, 'rsu-adv-status-');
  const path = join(dir, 's.sock');
  const s = await serveStatus(path, fakeSource(), { limits: { idleMs: 300 } });
  t.teardown(() => s.close());
  const c = await client(path);
  await c.closed;
  t.match(s.stats().rejected, { idle: 1 });
});

// D15. The tests run as root in CI; as another user they cannot give a directory away and skip that part.
const root = process.getuid?.() === 0;

t.test('D15: a socket directory of another user is refused by the daemon and by the CLI, with a clear error', { skip: !root && 'needs root to make a directory owned by another user' }, async (t) => {
  const tmp = tmpDir(t, 'rsu-adv-squat-');
  // User A (uid 65534) squats the default directory of user B (this process): TMPDIR/rsu-<uid>, mode 777.
  const squatted = join(tmp, `rsu-${process.getuid!()}`);
  mkdirSync(squatted);
  chmodSync(squatted, 0o777);
  chownSync(squatted, 65534, 65534);
  // A's fake daemon answers there.
  const fake = createServer((s) => s.end('{"rsuId":"FAKE","alarms":[]}\n'));
  await new Promise<void>((r) => fake.listen(join(squatted, 'rsu.sock'), () => r()));
  t.teardown(() => fake.close());
  const env = { TMPDIR: process.env.TMPDIR, RSU_SOCKET: process.env.RSU_SOCKET, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
  process.env.TMPDIR = tmp;
  delete process.env.RSU_SOCKET;
  delete process.env.XDG_RUNTIME_DIR;
  t.teardown(() => {
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });

  await t.rejects(startDaemon({ config: quietDaemonConfig() }), /refusing the status socket directory .*rsu-\d+: it belongs to uid 65534, not to you/);
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(['status', '--json'], io);
  t.not(code, 0, 'rsu status fails');
  t.same(out, [], "it never prints the fake daemon's answer");
  t.match(err.join('\n'), /refusing the status socket directory .*: it belongs to uid 65534, not to you .*impersonating the daemon/);
  await t.rejects(attachView(join(squatted, 'rsu.sock')), /refusing the status socket directory/, 'rsu view refuses it too');
  const viewErr: string[] = [];
  t.equal(await main(['view', '--duration', '1'], { ...io, err: (l) => viewErr.push(l) }), 1);
  t.match(viewErr.join('\n'), /refusing the status socket directory/);

  // Owned by this user but writable by others: refused too; chmod 700 makes it fine.
  chownSync(squatted, process.getuid!(), process.getgid!());
  t.throws(() => checkSocketDir(squatted), /mode 777 lets every user create and replace sockets in it; chmod 700/);
  chmodSync(squatted, 0o770);
  t.throws(() => checkSocketDir(squatted), /lets its group create/);
  chmodSync(squatted, 0o700);
  t.doesNotThrow(() => checkSocketDir(squatted));
});

t.test('D15: a world-writable directory (sticky /tmp itself) is refused for the socket', async (t) => {
  const tmp = tmpDir(t, 'rsu-adv-squat-');
  const open = join(tmp, 'open');
  mkdirSync(open);
  chmodSync(open, 0o1777);
  await t.rejects(serveStatus(join(open, 'rsu.sock'), fakeSource()), /refusing the status socket directory .*open: mode 1777 lets every user/);
  await t.rejects(request(join(open, 'rsu.sock'), { cmd: 'status' }), /refusing the status socket directory/);
});
