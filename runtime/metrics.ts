// Prometheus metrics (prom-client) on a localhost port, named by the Prometheus guide (one `rsu_` prefix, base
// units, counters end in `_total`). Counters are incremented where things happen, or read from the components'
// stats() when scraped, like the gauges, so the hot path pays for nothing it does not count.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly messages = new Counter({
    name: 'rsu_messages_total',
    help: 'V2X messages by type and path: radio_tx, radio_rx, spooled (handed to the uplink), uplink_mqtt and uplink_kafka (acknowledged by the broker)',
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
  readonly radioRxDropped = new Counter({
    name: 'rsu_radio_rx_dropped_total',
    help: 'Received radio datagrams dropped, by reason (empty, oversize, ifm_malformed, decode_error, trailing_bytes, unsupported_type, internal_error)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly sensorObjectsDropped = new Counter({
    name: 'rsu_sensor_objects_dropped_total',
    help: 'Objects of accepted sensor frames dropped, by reason (non_finite, out_of_range, missing_box, bad_covariance)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly statusRejected = new Counter({
    name: 'rsu_status_rejected_total',
    help: 'Status socket requests refused and connections closed by the daemon, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly statusDropped = new Counter({
    name: 'rsu_status_stream_dropped_lines_total',
    help: 'Status socket stream lines (tail, record, view) dropped because the client did not read them',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly participantsLeftOut = new Counter({
    name: 'rsu_rsm_participants_left_out_total',
    help: 'Tracked road users left out of an RSM cycle, by reason (ids_exhausted, encode_error, no_j2735_counterpart)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly frameToRadio = new Histogram({
    name: 'rsu_frame_to_radio_seconds',
    help: 'From a sensor frame arriving to the radio datagram built from it',
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  constructor() {
    // process_cpu_seconds_total, nodejs_heap_size_used_bytes, ... as rsu_process_cpu_seconds_total, rsu_nodejs_...
    collectDefaultMetrics({ register: this.registry, prefix: 'rsu_' });
    // prom-client also exposes gauges named *_total (the sums of nodejs_active_{handles,requests,resources} by
    // type): not counters, so they break the naming rule; the per-type gauges stay.
    for (const g of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`rsu_nodejs_active_${g}_total`);
  }

  /** A gauge whose value(s) are read when scraped: a number, or values by label `key` (a series per entry). */
  gauge(name: string, help: string, read: () => Record<string, number> | number, key?: string): void {
    this.scraped(new Gauge({ name, help, labelNames: key ? [key] : [], registers: [this.registry] }), (m, l, v) => m.set(l, v), read, key);
  }

  /** A counter read from a component's running total when scraped: a number, or totals by label `key`. */
  counter(name: string, help: string, read: () => Record<string, number> | number, key?: string): void {
    this.scraped(new Counter({ name, help, labelNames: key ? [key] : [], registers: [this.registry] }), (m, l, v) => m.inc(l, v), read, key);
  }

  private scraped<M extends Gauge | Counter>(m: M, put: (m: M, labels: Record<string, string>, v: number) => void, read: () => Record<string, number> | number, key?: string): void {
    // prom-client calls collect() on every scrape; the series are rebuilt from what read() returns.
    (m as unknown as { collect: () => void }).collect = () => {
      const v = read();
      m.reset();
      if (typeof v === 'number') put(m, {}, v);
      else for (const [k, x] of Object.entries(v)) put(m, { [key!]: k }, x);
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
