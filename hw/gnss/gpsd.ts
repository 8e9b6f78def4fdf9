// gpsd client: the JSON protocol on TCP (default port 2947). Sends ?WATCH, reads VERSION, DEVICES, TPV, SKY,
// TOFF and PPS reports, reconnects with backoff. Feeds a TimeHealth.

import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { LineReader } from '../sensors/lines.js';
import { RateLimitedLogger } from '../sensors/ratelog.js';
import type { FixMode, PositionFix, TimeHealth } from './time-health.js';

export interface GpsdOptions {
  host: string;
  port: number;
  health: TimeHealth;
  logger: Logger;
  /** First reconnect delay, doubled after each failure up to reconnectMaxMs. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Ask for PPS and TOFF reports (needs a PPS-capable setup to produce PPS). Default true. */
  pps?: boolean;
  now?: () => number;
}

/** A gpsd TPV report, the fields this client uses. */
export interface GpsdTpv {
  class: 'TPV';
  device?: string;
  mode: number;
  /** ISO 8601 (protocol 3.4+) or seconds since the epoch (older). */
  time?: string | number;
  lat?: number;
  lon?: number;
  alt?: number;
  altMSL?: number;
  altHAE?: number;
  eph?: number;
  epx?: number;
  epy?: number;
  speed?: number;
  track?: number;
}

export interface GpsdStats {
  connects: number;
  lines: number;
  badLines: number;
  tpv: number;
  sky: number;
  toff: number;
  pps: number;
}

const MODES: FixMode[] = ['unknown', 'none', '2d', '3d'];

function timeOf(t: unknown): number | undefined {
  if (typeof t === 'number' && Number.isFinite(t)) return t * 1000;
  if (typeof t !== 'string') return undefined;
  // Date.parse keeps ms; gpsd may send up to ns: cut the fraction to ms first.
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) ? ms : undefined;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Events: 'connect', 'disconnect' (Error | undefined), 'tpv' (GpsdTpv), 'sky' ({visible, used}), 'version'. */
export class GpsdClient extends EventEmitter {
  readonly stats: GpsdStats = { connects: 0, lines: 0, badLines: 0, tpv: 0, sky: 0, toff: 0, pps: 0 };
  version: { release?: string; proto_major?: number; proto_minor?: number } | undefined;
  devices: string[] = [];
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private closed = false;
  private readonly rl: RateLimitedLogger;
  private readonly now: () => number;

  constructor(private readonly opts: GpsdOptions) {
    super();
    this.delay = opts.reconnectMinMs ?? 1000;
    this.rl = new RateLimitedLogger(opts.logger, { intervalMs: 60_000, burst: 3 });
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.sock || this.closed) return;
    const sock = connect({ host: this.opts.host, port: this.opts.port });
    this.sock = sock;
    const lines = new LineReader(256 * 1024);
    sock.setKeepAlive(true, 10_000);
    sock.on('connect', () => {
      this.stats.connects++;
      this.delay = this.opts.reconnectMinMs ?? 1000;
      this.opts.health.setConnected(true);
      sock.write(`?WATCH=${JSON.stringify({ enable: true, json: true, ...(this.opts.pps === false ? {} : { pps: true }) })};\n`);
      this.opts.logger.info({ host: this.opts.host, port: this.opts.port }, 'gpsd connected');
      this.emit('connect');
    });
    sock.on('data', (chunk: Buffer) => {
      const at = this.now();
      for (const line of lines.push(chunk)) this.handleLine(line, at);
      if (lines.oversize > 0) {
        this.stats.badLines += lines.oversize;
        lines.oversize = 0;
      }
    });
    sock.on('error', (e) => this.rl.warn('gpsd-error', { err: e.message, host: this.opts.host, port: this.opts.port }, 'gpsd connection error'));
    sock.on('close', () => {
      this.sock = undefined;
      this.opts.health.setConnected(false);
      this.emit('disconnect');
      if (this.closed) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxMs ?? 30_000);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const sock = this.sock;
    if (sock && !sock.destroyed) {
      const closed = new Promise((r) => sock.once('close', r));
      sock.destroy();
      await closed;
    }
  }

  /** Handles one JSON line from gpsd received at system time `at` (ms). */
  handleLine(line: string, at: number = this.now()): void {
    this.stats.lines++;
    let m: Record<string, unknown>;
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      m = v as Record<string, unknown>;
    } catch {
      this.stats.badLines++;
      this.rl.warn('gpsd-bad-line', { line: line.slice(0, 120) }, 'gpsd sent a line that is not a JSON object');
      return;
    }
    const h = this.opts.health;
    switch (m['class']) {
      case 'VERSION':
        this.version = m as GpsdClient['version'];
        if (isNum(m['proto_major']) && m['proto_major'] !== 3) this.rl.warn('gpsd-proto', { proto_major: m['proto_major'] }, 'gpsd protocol major version is not 3; reports may not parse');
        h.noteMessage();
        this.emit('version', this.version);
        break;
      case 'DEVICES':
        this.devices = Array.isArray(m['devices']) ? (m['devices'] as Array<{ path?: unknown }>).map((d) => String(d.path ?? '')) : [];
        h.noteMessage();
        break;
      case 'TPV': {
        this.stats.tpv++;
        const t = m as unknown as GpsdTpv;
        const mode = isNum(t.mode) && t.mode >= 0 && t.mode <= 3 ? t.mode : 0;
        const timeMs = timeOf(t.time);
        let position: PositionFix | null = null;
        if (mode >= 2 && isNum(t.lat) && isNum(t.lon)) {
          position = { lat: t.lat, lon: t.lon };
          const alt = [t.altMSL, t.alt, t.altHAE].find(isNum);
          if (alt !== undefined) position.altM = alt;
          const hAcc = isNum(t.eph) ? t.eph : isNum(t.epx) && isNum(t.epy) ? Math.hypot(t.epx, t.epy) : undefined;
          if (hAcc !== undefined) position.hAccM = hAcc;
          if (isNum(t.speed)) position.speedMps = t.speed;
          if (isNum(t.track)) position.courseDeg = t.track;
          if (timeMs !== undefined) position.timeMs = timeMs;
        }
        h.setFix(MODES[mode]!, position);
        // gpsd leaves time out without a fix; with mode 0/1 a time may come from an unsynchronized receiver RTC.
        if (mode >= 2 && timeMs !== undefined) h.addOffsetSample('tpv', at, timeMs);
        this.emit('tpv', t);
        break;
      }
      case 'SKY': {
        this.stats.sky++;
        const sats = m['satellites'];
        // gpsd also sends SKY reports with only DOPs: they say nothing about satellites.
        if (isNum(m['nSat']) && isNum(m['uSat'])) h.setSatellites(m['nSat'], m['uSat']);
        else if (Array.isArray(sats)) h.setSatellites(sats.length, sats.filter((s) => (s as { used?: unknown }).used === true).length);
        else h.noteMessage();
        this.emit('sky', h.snapshot().satellites);
        break;
      }
      case 'TOFF':
      case 'PPS': {
        const [rs, rn, cs, cn] = [m['real_sec'], m['real_nsec'], m['clock_sec'], m['clock_nsec']];
        if (isNum(rs) && isNum(rn) && isNum(cs) && isNum(cn)) {
          this.stats[m['class'] === 'PPS' ? 'pps' : 'toff']++;
          h.addOffsetSample(m['class'] === 'PPS' ? 'pps' : 'toff', cs * 1000 + cn / 1e6, rs * 1000 + rn / 1e6);
        }
        break;
      }
      case 'ERROR':
        this.rl.warn('gpsd-reported-error', { message: m['message'] }, 'gpsd reported an error');
        break;
      default:
        h.noteMessage();
    }
  }
}
