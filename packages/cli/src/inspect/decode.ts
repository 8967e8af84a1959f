// Decoding a compact JWS without verifying anything: enough to tell a DPoP proof from an access
// token and to show what it says.
import { b64uDecodeText } from '@keybound/core';

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function jsonObject(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined) return undefined;
  const text = b64uDecodeText(part);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The header and claims of a three-part compact JWS, or undefined when it is not one. */
export function decodeJwt(jwt: string): DecodedJwt | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  const header = jsonObject(parts[0]);
  const claims = jsonObject(parts[1]);
  return header && claims ? { header, claims } : undefined;
}

const DPOP_TYP = /^(application\/)?dpop\+jwt$/i;

/**
 * A DPoP proof says so in typ; a JWT with an embedded jwk and htm or htu claims is treated as a
 * (broken) proof too, so that a proof with a wrong typ is reported as a proof with typ_invalid.
 */
export function looksLikeProof({ header, claims }: DecodedJwt): boolean {
  if (typeof header.typ === 'string' && DPOP_TYP.test(header.typ)) return true;
  return header.jwk !== undefined && ('htm' in claims || 'htu' in claims);
}
