// Radio I/O: MessageFrames to the C-V2X radio (udp-raw or RSU 4.1 immediate forward) and from it (see README.md).

import type { Logger } from 'pino';
import type { StdName } from '../../codecs/index.js';
import type { RadioSection } from '../../runtime/config/types.js';
import { ImmediateForwardTx, UdpRawTx, type ImmediateForwardSettings, type UdpTxOptions } from './tx.js';
import { RadioRx, type FrameDecoder, type RadioRxOptions } from './rx.js';
import { RADIO_TYPES, type RadioTx } from './types.js';

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
    return new UdpRawTx(host, port, opts);
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

/** The receiver of the config's `radio.receive` section; undefined when its port is 0 (disabled). Call start(). */
export function radioRxFromConfig(radio: RadioSection, messageSet: FrameDecoder, opts: Omit<RadioRxOptions, 'listen' | 'messageSet'> = {}): RadioRx | undefined {
  const { host, port } = hostPort(radio.receive.listen, 'radio.receive.listen');
  if (port === 0) return undefined;
  return new RadioRx({ ...opts, listen: { host, port }, messageSet });
}
