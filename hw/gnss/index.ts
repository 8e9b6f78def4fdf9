// The RSU's own time and position: gpsd, NMEA on a serial port, or the system clock (see README.md).

import { pino, type Logger } from 'pino';
import type { TimeSection } from '../../runtime/config/types.js';
import { GpsdClient } from './gpsd.js';
import { NmeaSource } from './nmea-source.js';
import { TimeHealth } from './time-health.js';

export * from './nmea.js';
export * from './time-health.js';
export { GpsdClient, type GpsdOptions, type GpsdStats, type GpsdTpv } from './gpsd.js';
export { NmeaSource, configureSerialPort, type NmeaSourceOptions, type NmeaSourceStats } from './nmea-source.js';

export interface TimeSourceHandle {
  health: TimeHealth;
  /** The gpsd client or NMEA reader, when the source is one of those. */
  client?: GpsdClient | NmeaSource;
  close(): Promise<void>;
}

/** Starts the time source of the config's `time` section. */
export function startTimeSource(cfg: TimeSection, opts: { logger?: Logger; now?: () => number } = {}): TimeSourceHandle {
  const logger = opts.logger ?? pino({ name: 'gnss', level: 'warn' });
  const health = new TimeHealth({ source: cfg.source, maxOffsetMs: cfg.maxClockOffsetMs, now: opts.now });
  health.on('alarm', (st) => logger.error({ clock: st }, 'clock offset beyond the bound: SPAT and RSM withheld'));
  health.on('clear', (st) => logger.warn({ clock: st }, 'clock offset back within the bound'));
  if (cfg.source === 'gpsd') {
    const client = new GpsdClient({ host: cfg.gpsd.host, port: cfg.gpsd.port, health, logger, now: opts.now });
    client.start();
    return { health, client, close: () => client.close() };
  }
  if (cfg.source === 'nmea') {
    const client = new NmeaSource({ device: cfg.nmea.device, baud: cfg.nmea.baud, configureTty: cfg.nmea.configureTty, latencyMs: cfg.nmea.latencyMs, health, logger, now: opts.now });
    client.start();
    return { health, client, close: () => client.close() };
  }
  return { health, close: async () => {} };
}
