// `rsu view` attached to a daemon that runs on its own (no browser; test/view-e2e.test.ts has the page): the status
// socket's `info` and `view` stream, the attached source following the daemon through a stop and a restart,
// the view server showing the link, and the CLI's errors: no daemon, a left-over socket, permission denied,
// something else on the socket, an older daemon.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import type { Io } from '../runtime/cli/io.js';
import { main } from '../runtime/cli/main.js';
import { startDaemon, type Daemon } from '../runtime/daemon.js';
import { demoLaneMapPath } from '../runtime/map/index.js';
import { request } from '../runtime/status.js';
import { serveView } from '../runtime/view/server.js';
import { attachView } from '../runtime/view/source.js';
import type { ViewLink } from '../runtime/view/state.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';
import { until as untilWithin } from './support/wait.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rsu-view-attach-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) };
  return { code: await main(argv, io), out, err };
}

function config(rsuId: string) {
  const cfg = quietDaemonConfig();
  cfg.rsu.id = rsuId;
  cfg.applications.map = { ...cfg.applications.map, enabled: true, file: demoLaneMapPath() };
  return cfg;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = (what: string, fn: () => boolean | Promise<boolean>, ms = 8000): Promise<void> => untilWithin(what, fn, ms, 50);

function getJson(port: number, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The lines a raw client of the socket gets for one request, until `enough` says so. */
function lines(socket: string, req: object, enough: (ls: any[]) => boolean): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket, () => c.write(JSON.stringify(req) + '\n'));
    const got: any[] = [];
    let buf = '';
    c.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        got.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (enough(got)) {
        c.destroy();
        resolve(got);
      }
    });
    c.on('error', reject);
  });
}

/** Signal handlers at the start: the CLI runs in this process and must leave none behind. */
const sigintBefore = process.listenerCount('SIGINT');

t.test('the status socket: info, and the view stream of info, status and what the daemon sends', async (t) => {
  const socket = join(dir, 'proto.sock');
  const d = await startDaemon({ config: config('ATTACH-P'), socketPath: socket });
  t.teardown(() => d.stop());

  const { info } = (await request(socket, { cmd: 'info' })) as { info: any };
  t.same(Object.keys(info).sort(), ['intersection', 'intervalsMs', 'map', 'mapFile', 'messageSet', 'pid', 'reference', 'rsuId', 'signalController', 'startedAt'], 'a summary of the config, nothing else');
  t.match(info, { rsuId: 'ATTACH-P', messageSet: 'csae2020', pid: process.pid, intersection: { region: 0, id: 110 }, intervalsMs: { spat: 100, rsm: 100, rsi: 1000 }, signalController: 'plan', mapFile: demoLaneMapPath() });
  t.equal(info.map.lanes.length, 18, 'the lane map as the view draws it');

  const got = await lines(socket, { cmd: 'view', statusMs: 200 }, (ls) => ls.filter((l) => l.status).length >= 3 && ls.some((l) => l.tail?.type === 'spat'));
  t.ok(got[0].info, 'the info first');
  t.same(got[0].info, info);
  t.equal(got[1].status?.rsuId, 'ATTACH-P', 'then the status, at once');
  const tails = got.filter((l) => l.tail).map((l) => l.tail);
  t.ok(tails.length > 0 && tails.every((e) => e.dir === 'tx' && ['spat', 'rsm', 'psm', 'rsi'].includes(e.type)), `only what the view draws: ${[...new Set(tails.map((e) => e.type))].join(', ')}`);
  t.notOk(tails.some((e) => e.type === 'map'), 'no MAP (the view has the lane map from the info)');
  t.ok(tails.find((e) => e.type === 'spat').value.spatFrame, 'the SPAT decoded');

  const unknown = (await request(socket, { cmd: 'nope' })) as { error: string };
  t.match(unknown.error, /unknown command "nope": status, tail, record, info or view/);
});

t.test('attached: the view follows the daemon through a stop and a restart', async (t) => {
  const socket = join(dir, 'rsu.sock');
  let d: Daemon | undefined = await startDaemon({ config: config('ATTACH-1'), socketPath: socket });
  t.teardown(() => d?.stop());

  const changes: ViewLink[] = [];
  const src = await attachView(socket, { retryMs: 200, onLink: (l) => changes.push(l) });
  t.teardown(() => src.close());
  t.match(src.link(), { attached: true, socket, connected: true, pid: process.pid });
  t.equal(src.info()!.rsuId, 'ATTACH-1');
  const view = await serveView(src, { urlFile: join(dir, 'view.url'), rateHz: 10 });
  t.teardown(() => view.close());

  // The map from the daemon, the signals from its SPATs, the status streamed.
  await until('signals in the frame', async () => (await getJson(view.port, `/state?token=${view.token}`)).frame.signals.length === 2);
  let st = await getJson(view.port, `/state?token=${view.token}`);
  t.equal(st.map.intersectionId, 110);
  t.equal(st.map.lanes.length, 18);
  t.match(st.frame, { rsuId: 'ATTACH-1', link: { attached: true, connected: true, socket } });
  t.ok(st.frame.signals.every((s: any) => ['red', 'yellow', 'green'].includes(s.colour) && typeof s.remainingS === 'number'), JSON.stringify(st.frame.signals));
  const mode = (d.status().perception as { mode: string }).mode;
  t.ok(mode, 'the daemon has a perception mode');
  t.equal(st.frame.perception?.mode, mode, 'the status streamed from the daemon');

  // The stream: a second map event when the view attaches to the restarted daemon.
  const events: string[] = [];
  const sse = httpRequest({ host: '127.0.0.1', port: view.port, path: `/events?token=${view.token}` }, (res) => res.on('data', (c) => events.push(String(c))));
  sse.on('error', () => {});
  sse.end();
  t.teardown(() => sse.destroy());
  await until('the first map event', () => events.join('').includes('event: map'));

  // The daemon stops: the link goes down with the reason, the frame empties.
  await d.stop();
  d = undefined;
  await until('the link down', () => !src.link().connected, 3000);
  t.match(src.link().message, /the daemon closed the connection/);
  t.equal(src.status(), undefined, 'no status while disconnected');
  st = await getJson(view.port, `/state?token=${view.token}`);
  t.match(st.frame, { link: { connected: false, message: /closed the connection/ }, signals: [], tracks: [], events: [], alarms: [] });
  t.same(st.frame.rates, { radioTxPerS: {}, radioRxPerS: {}, uplinkPerS: {} }, 'no rates from a daemon that is gone');
  // Retrying while the socket is gone: the reason changes to that.
  await until('the reason: no socket', () => /socket does not exist/.test(src.link().message ?? ''), 3000);

  // A daemon comes back on the socket (another config): attached again, its info, its state.
  d = await startDaemon({ config: config('ATTACH-2'), socketPath: socket });
  await until('the link up again', () => src.link().connected, 5000);
  t.equal(src.info()!.rsuId, 'ATTACH-2');
  await until('the new daemon in the frame', async () => {
    const f = (await getJson(view.port, `/state?token=${view.token}`)).frame;
    return f.rsuId === 'ATTACH-2' && f.signals.length === 2;
  });
  await until('the map sent again', () => (events.join('').match(/event: map/g) ?? []).length >= 2, 3000);
  t.same(
    changes.map((c) => (c.connected ? 'up' : /closed the connection/.test(c.message!) ? 'closed' : /does not exist/.test(c.message!) ? 'no socket' : c.message)),
    ['closed', 'no socket', 'up'],
    'told of each change once (no repeats while retrying)',
  );
});

t.test('rsu view (the CLI) attached: says what it does, when the daemon goes and when it is back', async (t) => {
  const socket = join(dir, 'cli.sock');
  let d: Daemon | undefined = await startDaemon({ config: config('ATTACH-CLI'), socketPath: socket });
  t.teardown(() => d?.stop());
  const cli = run(['view', '--socket', socket, '--duration', '4']);
  await sleep(1000);
  await d.stop();
  d = undefined;
  await sleep(1200);
  d = await startDaemon({ config: config('ATTACH-CLI2'), socketPath: socket });
  const r = await cli;
  t.equal(r.code, 0, r.err.join('\n'));
  t.match(r.err[0], `rsu view: attaching to the rsu daemon on ${socket} (--socket)`);
  t.match(r.err[1], /^rsu view: attached: RSU ATTACH-CLI, csae2020, pid \d+, running since .*; lane map .*demo-intersection\.geojson$/);
  t.match(r.out[0], /^rsu view: http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  t.match(r.out[1], new RegExp(`URL, token included, is also in ${join(dir, 'view.url')}.*The daemon keeps running either way`));
  const rest = r.err.slice(2).join('\n');
  t.match(rest, /not connected to the daemon on .*cli\.sock: the daemon closed the connection .*The page shows it disconnected; trying again every second/);
  t.match(rest, /attached again to the daemon on .*cli\.sock: RSU ATTACH-CLI2/);
  t.match(r.err.at(-1), /stopped \(duration\); the daemon on .* was not touched/);
  t.ok(d, 'the daemon still runs');
  t.equal(((await request(socket, { cmd: 'status' })) as { rsuId: string }).rsuId, 'ATTACH-CLI2');
});

t.test('rsu view --wait: waits for a daemon that is not running yet, then attaches', async (t) => {
  const socket = join(dir, 'wait.sock');
  let d: Daemon | undefined;
  t.teardown(() => d?.stop());
  const cli = run(['view', '--wait', '--socket', socket, '--duration', '5']);
  await sleep(1500);
  d = await startDaemon({ config: config('WAIT-CLI'), socketPath: socket });
  const r = await cli;
  t.equal(r.code, 0, r.err.join('\n'));
  t.match(r.err[1], /^rsu view: no rsu daemon answers on .*wait\.sock: the socket does not exist .*; waiting for it \(--wait\), checking every second$/);
  t.equal(r.err.filter((l) => /waiting for it/.test(l)).length, 1, 'says it waits once, not every second');
  t.match(r.err[2], /^rsu view: attached: RSU WAIT-CLI, csae2020, pid \d+/);
  t.match(r.out[0], /^rsu view: http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  t.match(r.err.at(-1), /stopped \(duration\); the daemon on .* was not touched/);

  const gone = await run(['view', '--wait', '--socket', join(dir, 'never.sock'), '--duration', '1.5']);
  t.equal(gone.code, 0, 'a wait ended by --duration is not an error');
  t.match(gone.err.at(-1), /^rsu view: stopped \(duration\) before a daemon answered on .*never\.sock$/);
  t.equal(process.listenerCount('SIGINT'), sigintBefore, 'no signal handler left behind');
});

/** A Unix socket server at `path` answering each connection with `reply` (nothing when undefined). */
async function fakeSocket(path: string, reply: string | undefined): Promise<Server> {
  const s = createServer((c) => {
    c.on('error', () => {});
    if (reply !== undefined) c.once('data', () => c.write(reply));
  });
  await new Promise<void>((r) => s.listen(path, () => r()));
  return s;
}

t.test('rsu view: clear errors when it cannot attach', async (t) => {
  const none = await run(['view', '--socket', join(dir, 'none.sock')]);
  t.equal(none.code, 1);
  t.match(none.err.join('\n'), /rsu view: no rsu daemon answers on .*none\.sock: the socket does not exist \(is the daemon running\?[\s\S]*rsu view --demo, or rsu view --config FILE/);
  t.match(none.err.join('\n'), /to wait for the daemon to start: rsu view --wait\)$/, 'names --wait when no daemon is there');

  const env = process.env.RSU_SOCKET;
  process.env.RSU_SOCKET = join(dir, 'env.sock');
  t.teardown(() => (env === undefined ? delete process.env.RSU_SOCKET : (process.env.RSU_SOCKET = env)));
  const bare = await run(['view']);
  t.equal(bare.code, 1, 'no flags: attach, not a daemon of its own');
  t.match(bare.err[0], /attaching to the rsu daemon on .*env\.sock \(\$RSU_SOCKET\)/);

  const stale = join(dir, 'stale.sock');
  writeFileSync(stale, '');
  const left = await run(['view', '--socket', stale]);
  t.equal(left.code, 1);
  t.match(left.err.join('\n'), /no rsu daemon answers on .*stale\.sock \(the socket is left over from a daemon that stopped, or is not a socket\)/);

  const other = await fakeSocket(join(dir, 'other.sock'), 'HELLO\n');
  t.teardown(() => other.close());
  const o = await run(['view', '--socket', join(dir, 'other.sock')]);
  t.equal(o.code, 1);
  t.match(o.err.join('\n'), /answered "HELLO", which is not the rsu daemon's protocol/);
  const st = await run(['status', '--socket', join(dir, 'other.sock')]);
  t.same([st.code, st.err], [1, [`rsu status: ${join(dir, 'other.sock')} answered "HELLO", which is not the rsu daemon's protocol (is this its status socket?)`]], 'rsu status too: an error, not a crash');

  const old = await fakeSocket(join(dir, 'old.sock'), JSON.stringify({ error: 'unknown command "view": status, tail or record' }) + '\n');
  t.teardown(() => old.close());
  const ol = await run(['view', '--socket', join(dir, 'old.sock')]);
  t.equal(ol.code, 1);
  t.match(ol.err.join('\n'), /the rsu daemon on .*old\.sock does not serve the live view \(it answers: unknown command "view"[^)]*\): it runs an older version of rsu/);

  const bad = await fakeSocket(join(dir, 'bad.sock'), JSON.stringify({ info: { rsuId: 1 } }) + '\n');
  t.teardown(() => bad.close());
  await t.rejects(attachView(join(dir, 'bad.sock')), /sent view information with no rsuId or messageSet/);
  const badMap = await fakeSocket(join(dir, 'badmap.sock'), JSON.stringify({ info: { rsuId: 'X', messageSet: 'csae2020', reference: { lat: 1, lon: 2 }, intersection: { id: 1 }, intervalsMs: { spat: 100, rsm: 100, rsi: 1000 }, map: { lanes: 'x' } } }) + '\n');
  t.teardown(() => badMap.close());
  await t.rejects(attachView(join(dir, 'badmap.sock')), /with a malformed lane map/);

  const silent = await fakeSocket(join(dir, 'silent.sock'), undefined);
  t.teardown(() => silent.close());
  await t.rejects(attachView(join(dir, 'silent.sock'), { answerTimeoutMs: 300 }), /silent\.sock accepted the connection, but no rsu daemon answered within 300 ms/);

  const ow = await run(['view', '--wait', '--socket', join(dir, 'other.sock')]);
  t.equal(ow.code, 1, '--wait does not wait on a socket that answers something else');
  t.notMatch(ow.err.join('\n'), /waiting for it/);
  t.notMatch(o.err.join('\n'), /rsu view --wait/, 'no --wait hint when a socket is there but is not the daemon');
  t.equal((await run(['view', '--demo', '--socket', join(dir, 'x.sock')])).code, 2, '--socket with --demo: usage error');
  t.equal((await run(['view', '--demo', '--wait'])).code, 2, '--wait with --demo: usage error');
  t.equal((await run(['view', '--std', 'csae2019'])).code, 2, '--std when attaching: usage error');
});

t.test('rsu view: permission denied on a socket of another user', async (t) => {
  const pdir = mkdtempSync(join(tmpdir(), 'rsu-view-perm-'));
  t.teardown(() => rmSync(pdir, { recursive: true, force: true }));
  chmodSync(pdir, 0o700);
  const socket = join(pdir, 'rsu.sock');
  const d = await startDaemon({ config: config('ATTACH-PERM'), socketPath: socket });
  t.teardown(() => d.stop());
  let code: number | null;
  let err: string;
  if (process.getuid?.() === 0) {
    // root opens any socket: the view runs as nobody, as another user would.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'runtime/cli/main.ts'), 'view', '--socket', socket], { cwd: ROOT, uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
    let e = '';
    child.stderr.on('data', (c) => (e += c));
    code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    err = e;
  } else {
    chmodSync(pdir, 0o000);
    const r = await run(['view', '--socket', socket]).finally(() => chmodSync(pdir, 0o700));
    code = r.code;
    err = r.err.join('\n');
  }
  t.equal(code, 1);
  t.match(err, /rsu view: .*rsu\.sock: permission denied: the status socket is open to the daemon's user only \(run this as that user, e\.g\. sudo -u rsu\)/);
});
