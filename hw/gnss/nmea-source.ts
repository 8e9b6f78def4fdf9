// NMEA 0183 from a serial port read as a file stream (no native serial-port module): the port's speed and raw
// mode are set with stty, see README.md. Regular files and FIFOs work too (replays, tests).

import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants, createReadStream, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isatty, ReadStream as TtyReadStream } from 'node:tty';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { LineReader } from '../sensors/lines.js';
import { RateLimitedLogger } from '../sensors/ratelog.js';
import { parseNmea, type NmeaError, type NmeaSentence } from './nmea.js';
import type { PositionFix, TimeHealth } from './time-health.js';

export interface NmeaSourceOptions {
  /** Device or file path, or an already open stream. */
  device: string | Readable;
  health: TimeHealth;
  logger: Logger;
  /** Line speed: used by stty and to correct the offset estimate for the sentence's transmission time. */
  baud?: number;
  /** Run `stty -F DEVICE BAUD raw -echo` before opening a character device. Default true. */
  configureTty?: boolean;
  /** Receiver output delay to subtract from offset samples, ms. */
  latencyMs?: number;
  /** Delay before reopening a device that closed or failed, ms. */
  reopenDelayMs?: number;
  now?: () => number;
}

export type NmeaSourceStats = { sentences: number; opens: number } & Record<NmeaError, number>;

const DAY_MS = 86_400_000;

/** `stty -F device baud raw -echo`: 8N1 raw input without echo or line editing at the given speed. */
export function configureSerialPort(device: string, baud: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('stty', ['-F', device, String(baud), 'raw', '-echo', 'cs8', '-parenb', '-cstopb'], { timeout: 5000 }, (err, _out, stderr) =>
      err ? reject(new Error(`stty -F ${device} ${baud} failed: ${String(stderr).trim() || err.message}`)) : resolve(),
    );
  });
}

/** Events: 'sentence' (NmeaSentence), 'end' (a regular file was read to its end), 'error' is never emitted. */
export class NmeaSource extends EventEmitter {
  readonly stats: NmeaSourceStats = { sentences: 0, opens: 0, not_nmea: 0, no_checksum: 0, bad_checksum: 0, malformed: 0, unsupported: 0 };
  private stream: Readable | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly rl: RateLimitedLogger;
  private readonly now: () => number;
  /** UTC midnight of the last date seen (RMC or ZDA), to date GGA times. */
  private dateMs: number | null = null;
  private lastTimeMs: number | null = null;
  private fixValid = false;

  constructor(private readonly opts: NmeaSourceOptions) {
    super();
    this.rl = new RateLimitedLogger(opts.logger, { intervalMs: 60_000, burst: 3 });
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.closed || this.stream) return;
    void this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    if (s && !s.destroyed) {
      const done = new Promise((r) => s.once('close', r));
      s.destroy();
      // A regular-file stream closes at once; a blocked device read may hold its fd until the next byte.
      await Promise.race([done, new Promise((r) => setTimeout(r, 500).unref())]);
    }
  }

  private async open(): Promise<void> {
    const dev = this.opts.device;
    let stream: Readable;
    let regularFile = false;
    try {
      if (typeof dev !== 'string') stream = dev;
      else {
        const st = await stat(dev);
        regularFile = st.isFile();
        if (st.isCharacterDevice()) {
          if (this.opts.configureTty !== false && this.opts.baud) {
            await configureSerialPort(dev, this.opts.baud).catch((e: Error) => this.rl.warn('stty', { err: e.message }, 'could not configure the serial port'));
          }
          const fd = openSync(dev, constants.O_RDONLY | constants.O_NOCTTY);
          stream = isatty(fd) ? new TtyReadStream(fd) : createReadStream('', { fd });
        } else stream = createReadStream(dev);
      }
    } catch (e) {
      this.rl.warn('open', { device: String(dev), err: (e as Error).message }, 'cannot open the NMEA device');
      this.opts.health.setConnected(false);
      this.reopenLater();
      return;
    }
    if (this.closed) {
      if (typeof dev === 'string') stream.destroy();
      return;
    }
    this.stream = stream;
    this.stats.opens++;
    this.opts.health.setConnected(true);
    const lines = new LineReader(1024);
    stream.on('data', (chunk: Buffer | string) => {
      const at = this.now();
      for (const line of lines.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) this.handleLine(line, at);
    });
    stream.on('error', (e) => this.rl.warn('read', { device: String(dev), err: e.message }, 'NMEA device read error'));
    stream.on('close', () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.opts.health.setConnected(false);
      if (regularFile || typeof dev !== 'string') this.emit('end');
      else this.reopenLater();
    });
  }

  private reopenLater(): void {
    if (this.closed || typeof this.opts.device !== 'string') return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.open();
    }, this.opts.reopenDelayMs ?? 2000);
  }

  /** Handles one line received at system time `at` (ms, when its last byte arrived). */
  handleLine(line: string, at: number = this.now()): void {
    const r = parseNmea(line);
    if (!r.ok) {
      this.stats[r.error]++;
      if (r.error !== 'unsupported') this.rl.warn(`nmea-${r.error}`, { error: r.error, detail: r.detail, line: line.slice(0, 100) }, 'NMEA sentence rejected');
      return;
    }
    this.stats.sentences++;
    const s = r.sentence;
    const h = this.opts.health;
    // When the sentence's first byte arrived: the last byte's arrival minus the bytes' time on the wire.
    const firstByteAt = at - (this.opts.baud ? ((line.length + 2) * 10 * 1000) / this.opts.baud : 0) - (this.opts.latencyMs ?? 0);
    let gnssMs: number | null = null;
    switch (s.type) {
      case 'RMC': {
        this.fixValid = s.valid;
        if (s.dateMs !== null) this.dateMs = s.dateMs;
        let pos: PositionFix | null = null;
        if (s.valid && s.lat !== null && s.lon !== null) {
          pos = { lat: s.lat, lon: s.lon };
          if (s.speedMps !== null) pos.speedMps = s.speedMps;
          if (s.courseDeg !== null) pos.courseDeg = s.courseDeg;
          if (s.timeMs !== null) pos.timeMs = s.timeMs;
        }
        // RMC says fix or no fix; GGA tells 2D from 3D: keep a 3D fix GGA reported.
        h.setFix(s.valid ? (h.fixMode === '3d' ? '3d' : '2d') : 'none', pos);
        if (s.valid) gnssMs = s.timeMs;
        break;
      }
      case 'GGA':
        this.fixValid = s.quality > 0;
        if (s.quality > 0 && s.lat !== null && s.lon !== null) {
          const pos: PositionFix = { lat: s.lat, lon: s.lon };
          if (s.altitudeM !== null) pos.altM = s.altitudeM;
          h.setFix(s.altitudeM === null ? '2d' : '3d', pos);
        } else h.setFix('none', null);
        // GGA counts only the satellites in use (GSV, not parsed here, would give the visible ones).
        if (s.satellites !== null) h.setSatellites(s.satellites, s.satellites);
        if (s.quality > 0 && s.timeOfDayMs !== null && this.dateMs !== null) {
          gnssMs = this.dateMs + s.timeOfDayMs;
          // Past midnight before the next dated sentence: the date has rolled over.
          if (this.lastTimeMs !== null && gnssMs < this.lastTimeMs - DAY_MS / 2) gnssMs += DAY_MS;
        }
        break;
      case 'ZDA':
        if (s.dateMs !== null) this.dateMs = s.dateMs;
        // ZDA has no validity flag: trust it only while a fix says the receiver's time is GNSS time.
        if (this.fixValid) gnssMs = s.timeMs;
        break;
    }
    if (gnssMs !== null) {
      this.lastTimeMs = gnssMs;
      h.addOffsetSample('nmea', firstByteAt, gnssMs);
    }
    this.emit('sentence', s);
  }
}
