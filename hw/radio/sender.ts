// Who sent a received MessageFrame, as the message itself says: the identity the uplink's `rx` records carry
// (Envelope.sender_id), so the cloud never takes another station's message for this RSU's own.
//
// CSAE: BSM, RSI and RSM carry an 8-byte `id`; SPAT and MAP name their intersections (`intersectionId`,
// `nodes[].id`). J2735: BSM `coreData.id` (4 bytes), SPAT and MAP `intersections[].id`; TIM names no sender.

import type { EnvelopeSummary } from '../../runtime/uplink/envelope.js';
import type { RadioType } from './types.js';

export interface Sender {
  /** "id:<hex>" or "intersection:<region>/<id>[,...]"; '' when the message names none. */
  senderId: string;
  /** The same in the envelope summary's fields. */
  summary: EnvelopeSummary;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null ? (v as Obj) : undefined);

function intersections(list: unknown, key: 'intersectionId' | 'id'): Sender {
  const ids = (Array.isArray(list) ? list : [])
    .map((x) => obj(obj(x)?.[key]))
    .filter((r): r is Obj => typeof r?.id === 'number')
    .map((r) => ({ region: typeof r.region === 'number' ? r.region : 0, id: r.id as number }));
  if (!ids.length) return { senderId: '', summary: {} };
  return { senderId: `intersection:${ids.map((r) => `${r.region}/${r.id}`).join(',')}`, summary: { regionId: ids[0]!.region, intersectionId: ids[0]!.id } };
}

function station(id: unknown): Sender {
  return typeof id === 'string' && id ? { senderId: `id:${id.toUpperCase()}`, summary: { stationId: id.toUpperCase() } } : { senderId: '', summary: {} };
}

/** The sender of a decoded MessageFrame of `type` (CSAE or J2735 shape). */
export function senderOf(type: RadioType, frame: unknown): Sender {
  const f = obj(frame) ?? {};
  if (typeof f.messageId === 'number') {
    const v = obj(f.value) ?? {};
    if (type === 'bsm') return station(obj(v.coreData)?.id);
    if (type === 'spat' || type === 'map') return intersections(v.intersections, 'id');
    return { senderId: '', summary: {} };
  }
  const v = obj(f[`${type}Frame`]) ?? {};
  if (type === 'spat') return intersections(v.intersections, 'intersectionId');
  if (type === 'map') return intersections(v.nodes, 'id');
  return station(v.id);
}
