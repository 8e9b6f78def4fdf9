export * from './types.js';
export { StateTracker, type TrackerOptions } from './tracker.js';
export { SimulatedController, type ActuatedStage, type SimulatedOptions } from './simulated.js';
export { parseTscbm, tscbmObservation, TscbmController, type Tscbm, type TscbmOptions } from './tscbm.js';
export { NtcipSnmpController, NTCIP1202_OID, type NtcipOptions } from './ntcip1202.js';
export {
  crc16Gbt20999,
  encodeGbt20999,
  escapeGbt20999,
  Gbt20999Controller,
  Gbt20999Stream,
  parseGbt20999,
  GBT20999_FRAME_TYPE,
  type Gbt20999DataValue,
  type Gbt20999Frame,
  type Gbt20999Options,
} from './gbt20999.js';
