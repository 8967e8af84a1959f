// Inspecting a DPoP proof: every RFC 9449 §4.3 check core's verifyProof runs, with the request
// facts the caller could give. A check that needs a fact the caller did not give (the method, the
// URL, the access token) is run against the proof's own claim, so it passes, and listed as unchecked.
import {
  isKeyboundError,
  type JwsAlgorithm,
  KeyboundError,
  type KeyboundErrorCode,
  verifyProof,
} from '@keybound/core';
import type { DecodedJwt } from './decode.js';
import { type InspectResult, invalidFrom } from './result.js';

export interface ProofInspectOptions {
  /** The request method the proof should be for. */
  htm?: string;
  /** The request URL the proof should be for. */
  htu?: string;
  /** The access token sent with the proof: ath must be its hash. */
  accessToken?: string;
  /** Epoch seconds the iat window is checked against. */
  now: number;
  /** Accepted algorithms (default: core's DEFAULT_DPOP_ALGORITHMS). */
  algorithms?: readonly JwsAlgorithm[];
  /** The iat window the server uses (default: core's). */
  maxAgeSeconds?: number | undefined;
  clockSkewSeconds?: number | undefined;
}

// Stand-ins for a missing htm/htu claim: they never equal a real claim, so the check still fails.
const NO_HTM = '';
const NO_HTU = 'https://htu-claim-missing.invalid/';

export async function inspectProof(
  proof: string,
  decoded: DecodedJwt,
  o: ProofInspectOptions,
): Promise<InspectResult> {
  const { header, claims } = decoded;
  const claimHtm = typeof claims.htm === 'string' ? claims.htm : undefined;
  const claimHtu = typeof claims.htu === 'string' ? claims.htu : undefined;
  try {
    const verified = await verifyProof(proof, {
      htm: o.htm ?? claimHtm ?? NO_HTM,
      htu: o.htu ?? claimHtu ?? NO_HTU,
      accessToken: o.accessToken,
      now: o.now,
      algorithms: o.algorithms,
      maxAgeSeconds: o.maxAgeSeconds,
      clockSkewSeconds: o.clockSkewSeconds,
    });
    const checked = ['typ', 'alg', 'jwk', 'signature'];
    const unchecked: Record<string, string> = {};
    if (o.htm !== undefined) checked.push('htm');
    else unchecked.htm = 'pass --htm METHOD to compare htm with the request method';
    if (o.htu !== undefined) checked.push('htu');
    else unchecked.htu = 'pass --htu URL to compare htu with the request URL';
    checked.push('jti');
    if (o.accessToken !== undefined) checked.push('ath');
    else if (claims.ath !== undefined)
      unchecked.ath = "pass --access-token T to compare ath with the token's hash";
    checked.push('iat');
    if (claims.nonce !== undefined) unchecked.nonce = 'only the server that issued the nonce can check it';
    unchecked.replay = 'only the server that received the proof knows whether it was used before';
    return {
      kind: 'dpop_proof',
      valid: true,
      jkt: verified.jkt,
      header: verified.header,
      claims: verified.claims,
      now: o.now,
      checked,
      unchecked,
    };
  } catch (e) {
    return invalidFrom('dpop_proof', explainMissingClaim(e, o, claimHtm, claimHtu), {
      header,
      claims,
      now: o.now,
    });
  }
}

/** When htm/htu came from the proof itself and still failed, the claim is missing or not a URL. */
function explainMissingClaim(e: unknown, o: ProofInspectOptions, htm?: string, htu?: string): unknown {
  const missing = (code: KeyboundErrorCode, claim: string) =>
    new KeyboundError(code, `the proof has no ${claim} claim`, {
      expected: `a ${claim} claim`,
      received: 'none',
    });
  if (isKeyboundError(e, 'htm_mismatch') && o.htm === undefined && htm === undefined)
    return missing(e.code, 'htm');
  if (isKeyboundError(e, 'htu_mismatch') && o.htu === undefined && htu === undefined)
    return missing(e.code, 'htu');
  return e;
}
