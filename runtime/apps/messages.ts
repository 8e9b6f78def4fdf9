// The message types the RSU sends and receives, and how each message set frames them.
import type { MessageSet as StdName } from '../config/types.js';

export const MESSAGE_TYPES = ['bsm', 'spat', 'map', 'rsi', 'rsm'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** A MessageFrame value ready to encode, with what it is. */
export interface OutMessage {
  type: MessageType;
  frame: unknown;
  /** When the information in it was true (ms since the epoch). */
  atMs: number;
}

const CSAE_ALTS: Record<MessageType, string> = { bsm: 'bsmFrame', map: 'mapFrame', rsm: 'rsmFrame', spat: 'spatFrame', rsi: 'rsiFrame' };
/** J2735 DSRCmsgID values (MessageFrame.messageId). RSI's counterpart is TIM; RSM has none in J2735 2016/2020. */
export const J2735_IDS: Partial<Record<MessageType, number>> = { map: 18, spat: 19, bsm: 20, rsi: 31 };

export function isJ2735(std: StdName): boolean {
  return std.startsWith('j2735');
}

export function frameOf(std: StdName, type: MessageType, value: unknown): unknown {
  if (!isJ2735(std)) return { [CSAE_ALTS[type]]: value };
  const id = J2735_IDS[type];
  if (id === undefined) throw new Error(`${type} has no counterpart in ${std}`);
  return { messageId: id, value };
}

/** The message type of a decoded MessageFrame, or undefined for one this RSU does not handle. */
export function typeOfFrame(std: StdName, frame: unknown): MessageType | undefined {
  if (typeof frame !== 'object' || frame === null) return undefined;
  if (isJ2735(std)) {
    const id = (frame as { messageId?: number }).messageId;
    if (id === 32) return 'rsm'; // PSM: what this RSU sends for RSM's road users in J2735 (psm.ts)
    return (Object.entries(J2735_IDS) as [MessageType, number][]).find(([, v]) => v === id)?.[0];
  }
  const alt = Object.keys(frame)[0];
  return (Object.entries(CSAE_ALTS) as [MessageType, string][]).find(([, v]) => v === alt)?.[0];
}

/** An RSU id from the config as the 8 bytes CSAE messages carry, in hex. */
export function rsuIdHex(id: string): string {
  if (/^0x[0-9a-f]+$/i.test(id)) return id.slice(2).toUpperCase().padStart(16, '0').slice(-16);
  return Buffer.from(id, 'ascii').toString('hex').toUpperCase().padEnd(16, '0').slice(0, 16);
}
