// Which message type a decoded MessageFrame is.
//
// CSAE (csae2019/csae2020): MessageFrame is a CHOICE, so the value is { bsmFrame: ... } and so on.
// J2735: MessageFrame is { messageId, value }; DSRCmsgID 20 BSM, 18 MAP, 19 SPAT, 31 TIM (J2735's counterpart
// of RSI, the way this RSU sends RSI on J2735). Other ids (PSM 32, SRM 29, SSM 30, ...) are 'other'.

import type { RadioType } from './types.js';

const CSAE_ALTERNATIVES: Readonly<Record<string, RadioType>> = {
  bsmFrame: 'bsm',
  mapFrame: 'map',
  spatFrame: 'spat',
  rsiFrame: 'rsi',
  rsmFrame: 'rsm',
};

/** J2735 DSRCmsgID of each type this RSU forwards (J2735-2016 and -2020 agree on these). */
export const J2735_MESSAGE_IDS: Readonly<Partial<Record<RadioType, number>>> = { map: 18, spat: 19, bsm: 20, rsi: 31 };

const J2735_BY_ID = new Map<number, RadioType>(Object.entries(J2735_MESSAGE_IDS).map(([k, v]) => [v, k as RadioType]));

export interface Classified {
  type: RadioType | 'other';
  /** J2735 DSRCmsgID, for J2735 frames. */
  messageId?: number;
}

/** The type of a decoded MessageFrame value of either family; 'other' for anything else. */
export function classifyFrame(value: unknown): Classified {
  if (typeof value !== 'object' || value === null) return { type: 'other' };
  const v = value as Record<string, unknown>;
  if (typeof v.messageId === 'number') return { type: J2735_BY_ID.get(v.messageId) ?? 'other', messageId: v.messageId };
  for (const k in v) return { type: CSAE_ALTERNATIVES[k] ?? 'other' };
  return { type: 'other' };
}
