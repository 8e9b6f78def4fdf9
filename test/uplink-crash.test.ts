/**
 * Daemon crash: the real spool + MQTT link in a child process is SIGKILLed
 * twice mid-stream while 10,000 records flow, and restarted.  An independent
 * subscriber must see every record at least once, with per-type first
 * arrivals in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { ChildConfig } from './fixtures/uplink/records.js';
import { Mosquitto, mosquittoMissing, UplinkVerifier } from './support/mosquitto.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = path.join(ROOT, 'test/fixtures/uplink/publisher-child.ts');

interface ChildEvent {
  event: string;
  /** performance.now() of the parent when the line arrived */
  at: number;
  [k: string]: unknown;
}

class Child {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  closed = false;
  private constructor(readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push({ ...(JSON.parse(line) as ChildEvent), at: performance.now() });
        } catch {
          this.stderr += `[stdout] ${line}\n`;
        }
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    // 'close' (not 'exit'): every stdout line has been read by then
    this.exited = new Promise((resolve) =>
      proc.once('close', (code, signal) => {
        this.closed = true;
        resolve({ code, signal });
      }),
    );
  }

  static start(cfg: ChildConfig): Child {
    const env: NodeJS.ProcessEnv = { ...process.env, UPLINK_CHILD: JSON.stringify(cfg) };
    delete env.NODE_OPTIONS;
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Child(proc);
  }

  last(event: string): ChildEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.event === event) return this.events[i];
    return undefined;
  }

  async waitFor(pred: (e: ChildEvent) => boolean, timeoutMs: number, what: string): Promise<ChildEvent> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.events.length; seen++) if (pred(this.events[seen]!)) return this.events[seen]!;
      if (this.closed) {
        throw new Error(`child exited (${this.proc.exitCode ?? this.proc.signalCode}) while waiting for ${what}: ${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async kill(): Promise<void> {
    if (!this.closed && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

const skip = mosquittoMissing();

t.test('SIGKILL of the daemon mid-stream: 10,000 records, none lost', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const TOTAL = 10_000;
  const rsuId = 'RSU-CRASH';
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  const v = await UplinkVerifier.connect(broker.url, rsuId, { keepEnvelopes: false });
  t.teardown(() => v.end());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsu-crash-spool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg: ChildConfig = { dir, rsuId, total: TOTAL, batch: 100, tickMs: 5, mqttUrl: broker.url };
  const children: Child[] = [];
  t.teardown(async () => {
    for (const c of children) await c.kill();
  });

  const kills: Array<{ at: number; nextId: number; acked: number; receivedSoFar: number }> = [];
  const recoveries: Array<{ openMs: number; spoolRecoveryMs: number; spawnToOpenMs: number; spawnToFirstAckMs: number; resumedAt: number }> = [];
  const startChild = async (): Promise<Child> => {
    const t0 = performance.now();
    const c = Child.start(cfg);
    children.push(c);
    const open = await c.waitFor((e) => e.event === 'open', 30_000, 'open');
    if (children.length > 1) {
      const fa = await c.waitFor((e) => e.event === 'first-ack', 30_000, 'first ack after restart');
      recoveries.push({
        openMs: Math.round((open.openMs as number) * 10) / 10,
        spoolRecoveryMs: Math.round((open.spoolRecoveryMs as number) * 100) / 100,
        spawnToOpenMs: Math.round(open.at - t0),
        spawnToFirstAckMs: Math.round(fa.at - t0),
        resumedAt: open.nextId as number,
      });
    }
    return c;
  };
  for (const killAt of [3000, 7000]) {
    const c = await startChild();
    const p = await c.waitFor((e) => e.event === 'progress' && (e.nextId as number) > killAt, 30_000, `progress past ${killAt}`);
    await c.kill();
    kills.push({ at: killAt, nextId: p.nextId as number, acked: p.acked as number, receivedSoFar: v.seen.size });
  }
  const t0 = performance.now();
  const last = await startChild();
  const done = await last.waitFor((e) => e.event === 'done', 60_000, 'done');
  const exit = await last.exited;
  const spawnToDone = performance.now() - t0;
  t.equal(exit.code, 0, `last child exits cleanly (stderr: ${last.stderr})`);

  await v.waitFor(() => v.seen.size >= TOTAL, 30_000, `all ${TOTAL} records at the subscriber`);
  t.same(v.missing(1, TOTAL), [], 'every record 1..10000 arrived at least once');
  t.equal(v.seen.size, TOTAL, 'nothing outside 1..10000 arrived');
  t.same(v.errors, [], 'every message decodes, with the right type topic and rsu id');
  t.same(v.orderViolations(), [], 'per message type, first arrivals are in seq order');
  t.ok(
    v.statuses.some((s) => s.state === 'OFFLINE_LOST'),
    'the broker published the last will (OFFLINE_LOST) after a kill',
  );
  await v.waitFor(() => v.statuses.at(-1)?.state === 'OFFLINE', 5000, 'OFFLINE status after the clean exit').catch(() => {});
  t.equal(v.statuses.at(-1)?.state, 'OFFLINE', 'the clean exit published OFFLINE');
  for (const k of kills) t.ok(k.nextId > k.acked, `killed at ${k.nextId - 1} appended with only ${k.acked} acked in that run (records in flight)`);
  const st = (done.stats as { spool: { nextId: number } }).spool;
  t.equal(st.nextId, TOTAL + 1, 'spool ids are contiguous across restarts');
  t.comment(`kills: ${JSON.stringify(kills)}`);
  t.comment(`recoveries (openMs = Uplink.open incl. spool recovery; spawn* include node+tsx start): ${JSON.stringify(recoveries)}`);
  t.comment(`duplicates delivered: ${v.duplicates} of ${v.received} messages; last run spawn->done ${Math.round(spawnToDone)} ms`);
});
