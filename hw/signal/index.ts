export * from './types.js';
export { StateTracker, type TrackerOptions } from './tracker.js';
export { SimulatedController, type ActuatedStage, type SimulatedOptions } from './simulated.js';
export { parseTscbm, tscbmObservation, TscbmController, type Tscbm, type TscbmOptions } from './tscbm.js';
export { NtcipSnmpController, NTCIP1202_OID, type NtcipOptions } from './ntcip1202.js';
