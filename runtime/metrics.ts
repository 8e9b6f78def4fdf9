// Prometheus metrics (prom-client) on a localhost port. Counters are incremented where things happen; gauges
// read the components' stats() when scraped, so the hot path pays for nothing it does not count.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly messages = new Counter({
    name: 'rsu_messages_total',
    help: 'V2X messages by type and path: radio_tx, radio_rx, uplink',
    labelNames: ['type', 'path'] as const,
    registers: [this.registry],
  });
  readonly withheld = new Counter({
    name: 'rsu_messages_withheld_total',
    help: 'Messages not sent, by type and reason (clock_untrusted, perception_stale, encode_error, ...)',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly decodeErrors = new Counter({
    name: 'rsu_decode_errors_total',
    help: 'Received messages that failed to decode, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly frameToRadio = new Histogram({
    name: 'rsu_frame_to_radio_seconds',
    help: 'From a sensor frame arriving to the radio datagram built from it',
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  private readonly gauges: { gauge: Gauge; read: () => Record<string, number> | number }[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'rsu_process_' });
  }

  /** A gauge whose value(s) are read when scraped: a number, or values by label `key`. */
  gauge(name: string, help: string, read: () => Record<string, number> | number, key?: string): void {
    const g = new Gauge({
      name,
      help,
      labelNames: key ? [key] : [],
      registers: [this.registry],
      collect() {
        const v = read();
        if (typeof v === 'number') this.set(v);
        else for (const [k, x] of Object.entries(v)) this.set({ [key!]: k }, x);
      },
    });
    this.gauges.push({ gauge: g, read });
  }

  /** A counter read from a component's running total when scraped: a number, or values by label `key`. */
  counter(name: string, help: string, read: () => Record<string, number> | number, key?: string): void {
    const c = new Counter({ name, help, labelNames: key ? [key] : [], registers: [this.registry] });
    // prom-client counters only go up: set the total by reset + inc at each scrape
    (c as unknown as { collect: () => void }).collect = () => {
      c.reset();
      const v = read();
      if (typeof v === 'number') c.inc(v);
      else for (const [k, x] of Object.entries(v)) c.inc({ [key!]: k }, x);
    };
  }

  /** Serve /metrics on host:port (port 0: any free port). Resolves with the bound port. */
  async serve(host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
    const server: Server = createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found: try /metrics\n');
        return;
      }
      try {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    return {
      port: typeof addr === 'object' && addr ? addr.port : port,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
}
