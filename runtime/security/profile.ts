// The two security profiles the SPDU services and certificates speak: IEEE 1609.2 (US, ETSI) and China's
// YD/T 3957 / GB/T 45112. Their structures are the same (same tags, same C-OER octets); only some names differ:
// the envelope, the application identifier of HeaderInfo and permissions, and the uncompressed point
// alternative. The profile is read off the codec (the China sets define V2XSecData), so callers pass one codec.

export interface SecurityProfile {
  readonly name: 'ieee1609dot2' | 'china';
  /** The SPDU type: Ieee1609Dot2Data, or V2XSecData in China. */
  readonly envelope: 'Ieee1609Dot2Data' | 'V2XSecData';
  /** The application identifier's component in HeaderInfo and in PsidSsp/AidSsp: psid, or aid in China. */
  readonly appId: 'psid' | 'aid';
  /** EccP256CurvePoint's alternative with both coordinates. */
  readonly uncompressedPoint: 'uncompressedP256' | 'uncompressed';
}

export const IEEE_PROFILE: SecurityProfile = { name: 'ieee1609dot2', envelope: 'Ieee1609Dot2Data', appId: 'psid', uncompressedPoint: 'uncompressedP256' };
export const CHINA_PROFILE: SecurityProfile = { name: 'china', envelope: 'V2XSecData', appId: 'aid', uncompressedPoint: 'uncompressed' };

/** The profile of a 1609.2 or China security codec (a China set has V2XSecData, a 1609.2 one Ieee1609Dot2Data). */
export function profileOf(codec: { has(typeName: string): boolean }): SecurityProfile {
  return codec.has(CHINA_PROFILE.envelope) ? CHINA_PROFILE : IEEE_PROFILE;
}
