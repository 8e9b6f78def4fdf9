// The common shape of every signal controller source: simulated, TSCBM (UDP), NTCIP 1202 (SNMP), GB/T 20999.
import type { IntersectionSignalStatus, Light, SignalSnapshot } from '../../runtime/apps/signal-plan.js';

export type { IntersectionSignalStatus, Light, SignalSnapshot };

/** Why a controller input was rejected or a poll failed; counted in health().errors. */
export type SignalErrorReason =
  | 'too-short'
  | 'too-long'
  | 'bad-header'
  | 'bad-checksum'
  | 'bad-frame'
  | 'bad-value'
  | 'inconsistent'
  | 'timeout'
  | 'snmp-error'
  | 'controller-error'
  | 'socket-error'
  | 'stale';

export class SignalInputError extends Error {
  constructor(
    readonly reason: SignalErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'SignalInputError';
  }
}

export interface ControllerHealth {
  source: string;
  /** A state was received within staleAfterMs. */
  connected: boolean;
  /** ms since the last good state; undefined before the first. */
  lastUpdateAgeMs?: number;
  /** Good states received. */
  updates: number;
  errors: Partial<Record<SignalErrorReason, number>>;
  /** The last error, with its message (names the problem). */
  lastError?: { reason: SignalErrorReason; message: string; atMs: number };
  /** Set while SPAT must not be sent from this source: no state yet, stale, or garbage only. */
  alarm?: string;
}

export interface SignalController {
  /** Opens sockets / starts polling. Resolves once listening (not once a state has arrived). */
  start(): Promise<void>;
  /** The controller state at atMs, or undefined while it is unknown or stale (then SPAT must not be sent). */
  snapshot(atMs: number): SignalSnapshot | undefined;
  health(): ControllerHealth;
  close(): Promise<void>;
}

/** Maps a controller's phase (or overlap, or lamp group) to a SPAT signal group. */
export interface PhaseMapping {
  /** SPAT signal group / CSAE phase id, 1-255. */
  signalGroup: number;
  /** Controller phase number (NTCIP/TSCBM 1-16) or lamp group number (GB/T 20999). */
  phase: number;
  /** Which controller output drives it. Default 'vehicle'. */
  type?: 'vehicle' | 'pedestrian' | 'overlap';
}

/** What an adapter observed at one instant, before timing consistency is applied. */
export interface ObservedPhase {
  signalGroup: number;
  light: Light;
  display: 'steady' | 'flashing' | 'dark';
  /** ms from the observation to the earliest / latest end of the current light; undefined when not reported. */
  minEndInMs?: number;
  maxEndInMs?: number;
}

export interface Observation {
  atMs: number;
  phases: ObservedPhase[];
  status: IntersectionSignalStatus;
}

export const NORMAL_STATUS: IntersectionSignalStatus = {
  flash: false,
  preempt: false,
  priority: false,
  dark: false,
  manual: false,
  fixedTime: false,
};
