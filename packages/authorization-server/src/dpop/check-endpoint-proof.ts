// DPoP at the authorization server's own endpoints (token, PAR): the core verifies the proof
// (RFC 9449 §4.3) against this endpoint's URL; here are the server's rules around it. A proof
// failure is 400 invalid_dpop_proof (never 401, RFC 9449 §5), a missing or stale nonce is
// 400 use_dpop_nonce with a fresh DPoP-Nonce (§8), and an unreachable replay store is 503.
import { isKeyboundError, KeyboundError, type VerifiedProof, verifyProof } from '@keybound/core';
import type { ClientConfig } from '../clients/client.js';
import { fromProofError } from '../http/oauth-error.js';
import type { RequestContext } from '../server/request-context.js';

export function nonceRequired(ctx: RequestContext, client: ClientConfig | undefined): boolean {
  return (
    ctx.rt.nonces !== undefined && (ctx.rt.config.dpop.nonce.required || client?.requireDpopNonce === true)
  );
}

/**
 * Verifies the request's DPoP proof for `htu` when there is one (or when `required`), sets
 * ctx.proof, and adds a fresh DPoP-Nonce to the response when this client uses nonces.
 */
export async function checkEndpointProof(
  ctx: RequestContext,
  htu: string,
  options: { required: boolean; requiredReason?: string },
): Promise<VerifiedProof | undefined> {
  const { rt } = ctx;
  const header = ctx.req.headersDistinct.dpop;
  const useNonce = nonceRequired(ctx, ctx.client);
  const fresh = useNonce ? await rt.nonces!.issue(ctx.now) : undefined;
  if (fresh !== undefined) ctx.headers['DPoP-Nonce'] = fresh;
  if (header === undefined) {
    if (!options.required) return undefined;
    throw fromProofError(new KeyboundError('proof_missing', options.requiredReason), fresh);
  }
  try {
    ctx.proof = await verifyProof(header, {
      htm: ctx.req.method ?? 'POST',
      htu,
      now: ctx.now,
      algorithms: rt.config.dpop.algorithms,
      maxAgeSeconds: rt.config.dpop.maxAgeSeconds,
      clockSkewSeconds: rt.config.dpop.clockSkewSeconds,
      ...(rt.nonces ? { nonce: { verifier: rt.nonces, required: useNonce } } : {}),
      replayStore: rt.replay,
    });
    return ctx.proof;
  } catch (e) {
    if (!isKeyboundError(e)) throw e;
    // a nonce error always carries a nonce to retry with, even for a client that has not opted in
    const nonce =
      fresh ?? (e.error === 'use_dpop_nonce' && rt.nonces ? await rt.nonces.issue(ctx.now) : undefined);
    throw fromProofError(e, nonce);
  }
}
