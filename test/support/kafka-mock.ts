/**
 * Test helper: librdkafka's mock cluster, hosted by Debian's kcat in its own
 * process (so it outlives the producer under test), and kcat as an
 * independent consumer.
 *
 *   kcat -b 127.0.0.1:1 -X test.mock.num.brokers=1 -C -t boot -u -q
 *
 * prints "Mock cluster enabled: ... replaced with 127.0.0.1:PORT" on stderr
 * and keeps the cluster alive while it waits on topic `boot`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadRdKafka } from '../../runtime/uplink/kafka.js';

export const KCAT_BIN = process.env.KCAT_BIN ?? 'kcat';

/** Why Kafka tests must be skipped, or undefined when they can run. */
export function kafkaMissing(): string | undefined {
  const r = spawnSync(KCAT_BIN, ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `kcat not runnable (${r.error?.message ?? r.status}); apt-get install kcat`;
  const k = loadRdKafka();
  if ('error' in k) return k.error;
  return undefined;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
}

export class KafkaMock {
  private constructor(
    private readonly proc: ChildProcess,
    readonly bootstrap: string,
  ) {}

  static async start(timeoutMs = 10_000): Promise<KafkaMock> {
    const proc = spawn(KCAT_BIN, ['-b', '127.0.0.1:1', '-X', 'test.mock.num.brokers=1', '-C', '-t', 'boot', '-u', '-q'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    let stderr = '';
    const bootstrap = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`kcat mock cluster did not report its address within ${timeoutMs} ms: ${stderr}`));
      }, timeoutMs);
      proc.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /replaced with (127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`kcat mock cluster exited (${code}): ${stderr}`));
      });
    });
    return new KafkaMock(proc, bootstrap);
  }

  /** Read a topic from the beginning to its current end with kcat. */
  consume(topic: string, timeoutMs = 20_000): Promise<KafkaRecord[]> {
    return consumeWithKcat(this.bootstrap, topic, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }
}

/**
 * kcat -C -o beginning -e with the format "partition|offset|key|headers|size\n<value bytes>".
 */
export function consumeWithKcat(bootstrap: string, topic: string, timeoutMs = 20_000): Promise<KafkaRecord[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(KCAT_BIN, ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p|%o|%k|%h|%S\n%s'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    const chunks: Buffer[] = [];
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => chunks.push(d));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    // 'close', not 'exit': stdout may still hold data when the process has exited
    proc.once('close', (code, signal) => {
      clearTimeout(t);
      running.delete(proc);
      if (code !== 0) return reject(new Error(`kcat consumer of ${topic} failed (${code ?? signal}): ${stderr}`));
      try {
        resolve(parseKcat(topic, Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseKcat(topic: string, buf: Buffer): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const nl = buf.indexOf(0x0a, off);
    if (nl < 0) throw new Error(`kcat output truncated at byte ${off}`);
    const line = buf.subarray(off, nl).toString('utf8');
    const parts = line.split('|');
    if (parts.length !== 5) throw new Error(`unexpected kcat line ${JSON.stringify(line)}`);
    const size = Number(parts[4]);
    const value = buf.subarray(nl + 1, nl + 1 + size);
    if (value.length !== size) throw new Error(`kcat value truncated at byte ${nl + 1}`);
    const headers: Record<string, string> = {};
    for (const kv of parts[3]!.split(',')) {
      const i = kv.indexOf('=');
      if (i > 0) headers[kv.slice(0, i)] = kv.slice(i + 1);
    }
    out.push({ topic, partition: Number(parts[0]), offset: Number(parts[1]), key: parts[2]!, headers, value: Buffer.from(value) });
    off = nl + 1 + size;
  }
  return out;
}
