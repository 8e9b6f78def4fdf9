// A certificate's validity period against the clock: the one check behind the RSU certificate store's and the
// uplink TLS certificates' expiry alarms, so both warn alike (warnDays ahead) and word it alike.

export type ValidityProblemCode = 'not-yet-valid' | 'expired' | 'expiring-soon';

const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Days left (fractional; negative once expired) and the problem, if any, of a certificate valid from `validFrom`
 * to `validUntil` (Unix ms) at `now`; `who` names it in the message, `expiredConsequence` says what expiry breaks.
 */
export function validityAt(
  who: string,
  validity: { validFrom: number; validUntil: number },
  now: number,
  warnDays: number,
  expiredConsequence = '',
): { days: number; problem?: { code: ValidityProblemCode; message: string } } {
  const days = (validity.validUntil - now) / DAY;
  if (now < validity.validFrom) return { days, problem: { code: 'not-yet-valid', message: `${who} is valid from ${iso(validity.validFrom)}` } };
  if (days < 0) return { days, problem: { code: 'expired', message: `${who} expired ${iso(validity.validUntil)}${expiredConsequence}` } };
  if (days < warnDays) return { days, problem: { code: 'expiring-soon', message: `${who} expires in ${days.toFixed(1)} days (${iso(validity.validUntil)})` } };
  return { days };
}
