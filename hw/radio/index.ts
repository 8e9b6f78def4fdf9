// Radio I/O: MessageFrames to the C-V2X radio (udp-raw or RSU 4.1 immediate forward) and from it (see README.md).

import type { Logger } from 'pino';
import type { StdName } from '../../codecs/index.js';
import type { RadioSection } from '../../runtime/config/types.js';
import { ImmediateForwardTx, UdpRawTx, type ImmediateForwardSettings, type RawFrameHeader, type UdpTxOptions } from './tx.js';
import { CSAE_AIDS, J2735_PSIDS, pDecodePsid } from './psid.js';
import { RadioRx, type FrameDecoder, type RadioRxOptions } from './rx.js';
import { RADIO_TYPES, type RadioTx, type RadioType, type SpduHandler } from './types.js';

export * from './types.js';
export * from './psid.js';
export { J2735_MESSAGE_IDS, classifyFrame, type Classified } from './classify.js';
export {
  IFM_DEFAULT_PORT,
  IFM_VERSION,
  DEFAULT_IFM_TYPE_NAMES,
  ImmediateForwardParseError,
  buildIfmDatagram,
  checkHeader,
  formatImmediateForward,
  ifmPrefix,
  looksLikeImmediateForward,
  parseImmediateForward,
  type ImmediateForwardHeader,
  type ParsedImmediateForward,
  type TxMode,
} from './ifm.js';
export {
  ImmediateForwardTx,
  MAX_UDP_PAYLOAD,
  UdpRawTx,
  type ImmediateForwardOptions,
  type ImmediateForwardSettings,
  type ImmediateForwardTypeSettings,
  type UdpTxOptions,
} from './tx.js';
export { RadioRx, type FrameDecoder, type RadioRxOptions, type RxVerdict } from './rx.js';
export * from './netlayer.js';
export type { RawFrameHeader } from './tx.js';

function hostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(s.trim());
  if (!m) throw new RangeError(`${what} ${JSON.stringify(s)}: expected HOST:PORT`);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

/**
 * The transmitter of the config's `radio` section; undefined when radio.mode is 'off'. `messageSet` decides the
 * immediate forward Type= of RSI: TIM for the J2735 sets (RSI goes out as a TravelerInformation), RSI otherwise.
 */
export function radioTxFromConfig(radio: RadioSection, opts: UdpTxOptions & { messageSet?: StdName; logger?: Logger } = {}): RadioTx | undefined {
  if (radio.mode === 'off') return undefined;
  if (radio.mode === 'udp-raw') {
    const { host, port } = hostPort(radio.udpRaw.target, 'radio.udpRaw.target');
    return new UdpRawTx(host, port, opts, rawFrameHeader(radio, opts.messageSet));
  }
  const f = radio.immediateForward;
  const { host, port } = hostPort(f.target, 'radio.immediateForward.target');
  const j2735 = opts.messageSet?.startsWith('j2735') ?? false;
  const settings: ImmediateForwardSettings = {};
  for (const type of RADIO_TYPES) {
    const m = f.messages[type.toUpperCase() as keyof typeof f.messages];
    if (m) settings[type] = { psid: m.psid, channel: m.channel, ...(type === 'rsi' && j2735 ? { typeName: 'TIM' } : {}) };
  }
  return new ImmediateForwardTx(host, port, settings, { ...opts, priority: f.priority, txMode: f.txMode, signature: f.signature, encryption: f.encryption });
}

/**
 * The PSID/AID (integer) each message type goes out under: what the radio config names for its mode (udp-raw
 * psids, immediate forward messages), else J2735's PSIDs for the J2735 sets and the CSAE AIDs for the others. The
 * network header and the 1609.2 signature's HeaderInfo use the same table, so the two always agree.
 */
export function messagePsids(radio: RadioSection, messageSet?: StdName): Partial<Record<RadioType, number>> {
  const j2735 = messageSet?.startsWith('j2735') ?? false;
  const ids: Partial<Record<RadioType, number>> = {};
  for (const type of RADIO_TYPES) {
    const key = type.toUpperCase() as keyof RadioSection['udpRaw']['psids'];
    const configured = radio.mode === 'immediate-forward' ? radio.immediateForward.messages[key]?.psid : radio.udpRaw.psids?.[key];
    const preset = j2735 ? J2735_PSIDS[type]?.psid : undefined;
    const id = configured !== undefined ? pDecodePsid(configured) : preset !== undefined ? pDecodePsid(preset) : j2735 ? undefined : CSAE_AIDS[type];
    if (id !== undefined) ids[type] = id;
  }
  return ids;
}

/**
 * The udp-raw network header of the config: the PSID/AID of each type from radio.udpRaw.psids (p-encoded, as in
 * the immediate forward table), else J2735's PSIDs for the J2735 sets and the CSAE AIDs for the others.
 */
export function rawFrameHeader(radio: RadioSection, messageSet?: StdName): RawFrameHeader | undefined {
  const u = radio.udpRaw;
  if (u.header === undefined || u.header === 'none') return undefined;
  const ids = messagePsids(radio, messageSet);
  return u.header === 'wsmp' ? { kind: 'wsmp', psids: ids, ...u.wsmp } : { kind: 'dsmp', aids: ids, version: u.dsmpVersion ?? 1 };
}

/** The receiver of the config's `radio.receive` section; undefined when its port is 0 (disabled). Call start(). */
export function radioRxFromConfig(radio: RadioSection, messageSet: FrameDecoder, opts: Omit<RadioRxOptions, 'listen' | 'messageSet'> & { spdu?: SpduHandler } = {}): RadioRx | undefined {
  const { host, port } = hostPort(radio.receive.listen, 'radio.receive.listen');
  if (port === 0) return undefined;
  const header = radio.mode === 'udp-raw' ? (radio.udpRaw.header ?? 'none') : 'none';
  return new RadioRx({ header, dsmpVersion: radio.udpRaw.dsmpVersion ?? 1, ...opts, listen: { host, port }, messageSet });
}
