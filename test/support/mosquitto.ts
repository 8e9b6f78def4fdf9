/**
 * Test helper: a real Debian mosquitto on a free loopback port.
 *
 * The config sets `max_queued_messages 0` (no limit): the default of 1000
 * silently drops QoS 1 bursts to a slow subscriber.  Every broker started
 * here is also killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeDownlinkAck,
  decodeEnvelope,
  decodeStatus,
  type DownlinkAck,
  type Envelope,
  type RsuStatus,
} from '../../runtime/uplink/envelope.js';

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

/** Why mosquitto tests must be skipped, or undefined when they can run. */
export function mosquittoMissing(): string | undefined {
  try {
    fs.accessSync(MOSQUITTO_BIN, fs.constants.X_OK);
    return undefined;
  } catch {
    return `mosquitto not found at ${MOSQUITTO_BIN} (apt-get install mosquitto, or set MOSQUITTO_BIN)`;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface MosquittoTls {
  cafile: string;
  certfile: string;
  keyfile: string;
  requireCertificate?: boolean;
}

export interface MosquittoOptions {
  port?: number;
  tls?: MosquittoTls;
  /** Save sessions and queued messages to disk (autosave every second and on SIGTERM). */
  persistence?: boolean;
  /** Extra config lines. */
  extra?: string[];
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export class Mosquitto {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly configFile: string,
    readonly tls: boolean,
  ) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return path.join(this.dir, 'mosquitto.log');
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  static async start(opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const reason = mosquittoMissing();
    if (reason) throw new Error(reason);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rsu-mosq-'));
    const port = opts.port ?? (await freePort());
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'max_queued_messages 0',
      'max_inflight_messages 100',
      `user ${os.userInfo().username}`,
      `log_dest file ${path.join(dir, 'mosquitto.log')}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      `persistence ${opts.persistence ? 'true' : 'false'}`,
    ];
    if (opts.persistence) lines.push(`persistence_location ${dir}/`, 'autosave_interval 1');
    if (opts.tls) {
      lines.push(
        `cafile ${opts.tls.cafile}`,
        `certfile ${opts.tls.certfile}`,
        `keyfile ${opts.tls.keyfile}`,
        `require_certificate ${opts.tls.requireCertificate === false ? 'false' : 'true'}`,
      );
    }
    lines.push(...(opts.extra ?? []));
    const configFile = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(configFile, lines.join('\n') + '\n');
    const m = new Mosquitto(port, dir, configFile, !!opts.tls);
    await m.launch();
    return m;
  }

  private async launch(): Promise<void> {
    const proc = spawn(MOSQUITTO_BIN, ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    running.add(proc);
    this.proc = proc;
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        running.delete(proc);
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`mosquitto exited at start (${proc.exitCode ?? proc.signalCode}): ${stderr}\n${this.log()}`);
      }
      if (await canConnect(this.port)) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${this.port} within 10 s: ${stderr}\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Kill the broker and wait until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.proc!.kill(signal);
    await this.exited;
  }

  /** Waits until the persistence file was written after `sinceMs` (epoch ms): an autosave has happened since. */
  async savedAfter(sinceMs: number, timeoutMs: number): Promise<void> {
    const db = path.join(this.dir, 'mosquitto.db');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // mtime has 1 s resolution on some file systems: demand the next second
      const saved = fs.statSync(db, { throwIfNoEntry: false });
      if (saved && saved.mtimeMs >= Math.ceil(sinceMs / 1000) * 1000) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not save ${db} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Start again with the same port and config (and persistence directory). */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    for (let i = 0; ; i++) {
      try {
        await this.launch();
        return;
      } catch (err) {
        if (i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Kill the broker and remove its directory. */
  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------
// Independent verifying subscriber (mqtt.js client, not the code under test's
// connection).

export interface VerifierOptions extends IClientOptions {
  /** Keep every decoded envelope (memory!). Default false. */
  keepEnvelopes?: boolean;
}

export class UplinkVerifier {
  /** seq -> times received */
  readonly seen = new Map<number, number>();
  /** per message type: seqs in order of first arrival */
  readonly firstArrival = new Map<string, number[]>();
  readonly statuses: RsuStatus[] = [];
  readonly acks: DownlinkAck[] = [];
  readonly envelopes: Envelope[] = [];
  readonly errors: string[] = [];
  duplicates = 0;
  received = 0;
  /** The CONNACK's session-present flag of each connection (the first, then every reconnection). */
  readonly sessionPresent: boolean[] = [];

  private constructor(
    readonly client: MqttClient,
    readonly rsuId: string,
    private readonly keep: boolean,
  ) {}

  static async connect(url: string, rsuId: string, opts: VerifierOptions = {}): Promise<UplinkVerifier> {
    const { keepEnvelopes, ...mopts } = opts;
    const client = mqtt.connect(url, { clientId: `verifier-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 100, ...mopts });
    const v = new UplinkVerifier(client, rsuId, !!keepEnvelopes);
    client.on('message', (topic, payload) => v.onMessage(topic, payload));
    client.on('connect', (ack) => v.sessionPresent.push(!!ack.sessionPresent));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`verifier could not connect to ${url}`)), 10_000);
      client.once('connect', () => {
        client.subscribe(`v2x/v1/rsu/${rsuId}/#`, { qos: 1 }, (err) => {
          clearTimeout(t);
          if (err) reject(err);
          else resolve();
        });
      });
    });
    return v;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const base = `v2x/v1/rsu/${this.rsuId}/`;
    const rest = topic.slice(base.length);
    try {
      if (rest === 'status') {
        this.statuses.push(decodeStatus(payload));
        return;
      }
      if (rest === 'ack/up') {
        this.acks.push(decodeDownlinkAck(payload));
        return;
      }
      const m = /^(bsm|spat|map|rsi|rsm|rx)\/up$/.exec(rest);
      if (!m) return; // downlink topics etc.
      const e = decodeEnvelope(payload);
      this.received++;
      if (m[1] === 'rx' ? !e.received : e.msgType !== m[1] || e.received) this.errors.push(`seq ${e.seq}: envelope type ${e.msgType}${e.received ? ' (received)' : ''} on topic ${topic}`);
      if (e.rsuId !== this.rsuId) this.errors.push(`seq ${e.seq}: rsu id ${e.rsuId}`);
      const n = this.seen.get(e.seq) ?? 0;
      this.seen.set(e.seq, n + 1);
      if (n > 0) this.duplicates++;
      else {
        let arr = this.firstArrival.get(e.msgType);
        if (!arr) this.firstArrival.set(e.msgType, (arr = []));
        arr.push(e.seq);
      }
      if (this.keep) this.envelopes.push(e);
    } catch (err) {
      this.errors.push(`${topic}: ${(err as Error).message}`);
    }
  }

  /** Seqs in [from, to] never received. */
  missing(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = from; i <= to; i++) if (!this.seen.has(i)) out.push(i);
    return out;
  }

  /** Places where, per message type, a first arrival has a smaller seq than the one before. */
  orderViolations(): string[] {
    const out: string[] = [];
    for (const [type, arr] of this.firstArrival) {
      for (let i = 1; i < arr.length; i++) if (arr[i]! < arr[i - 1]!) out.push(`${type}: ${arr[i - 1]} then ${arr[i]}`);
    }
    return out;
  }

  async waitFor(pred: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async end(): Promise<void> {
    await new Promise<void>((resolve) => this.client.end(true, {}, () => resolve()));
  }
}
