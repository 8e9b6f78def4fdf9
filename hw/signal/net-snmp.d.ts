// Minimal types for the parts of net-snmp (no bundled types, no @types package installed) that ntcip1202.ts uses.
declare module 'net-snmp' {
  export interface Varbind { oid: string; type: number; value: unknown }
  export interface Session {
    get(oids: string[], cb: (err: Error | null, varbinds: Varbind[]) => void): void;
    on(ev: 'error', cb: (e: Error) => void): void;
    close(): void;
  }
  export class RequestTimedOutError extends Error {}
  export const Version1: number;
  export const Version2c: number;
  export const Version3: number;
  export const SecurityLevel: Record<'noAuthNoPriv' | 'authNoPriv' | 'authPriv', number>;
  export const AuthProtocols: Record<'md5' | 'sha', number>;
  export const PrivProtocols: Record<'des' | 'aes', number>;
  export const ObjectType: Record<number, string>;
  export function createSession(target: string, community: string, options: object): Session;
  export function createV3Session(target: string, user: object, options: object): Session;
  export function isVarbindError(vb: Varbind): boolean;
  export function varbindError(vb: Varbind): string;
  const snmp: {
    createSession: typeof createSession; createV3Session: typeof createV3Session; isVarbindError: typeof isVarbindError;
    varbindError: typeof varbindError; RequestTimedOutError: typeof RequestTimedOutError; Version1: number; Version2c: number;
    Version3: number; SecurityLevel: typeof SecurityLevel; AuthProtocols: typeof AuthProtocols; PrivProtocols: typeof PrivProtocols;
    ObjectType: typeof ObjectType;
  };
  export default snmp;
}
