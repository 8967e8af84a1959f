// Client authentication at the token and PAR endpoints (RFC 6749 §2.3, RFC 7523, RFC 8705 §2).
import type { CryptoProvider, DpopKey } from '@keybound/core';
import { createClientAssertion } from './client-assertion.js';

export type ClientAuth =
  /** Public client (SPA, native app): client_id in the body, no secret. */
  | { method: 'none' }
  | { method: 'client_secret_basic'; clientSecret: string }
  | { method: 'client_secret_post'; clientSecret: string }
  /**
   * A JWT signed with the client's key, registered at the AS (keep it separate from the DPoP key).
   * `audience` defaults to the issuer identifier; 'token_endpoint' uses the endpoint URL instead.
   */
  | {
      method: 'private_key_jwt';
      key: DpopKey;
      kid?: string;
      audience?: 'issuer' | 'token_endpoint' | (string & {});
    }
  /** mTLS client authentication: the TLS client certificate authenticates (use an mTLS fetch). */
  | { method: 'tls_client_auth' }
  | { method: 'self_signed_tls_client_auth' };

export interface ClientAuthContext {
  clientId: string;
  issuer: string;
  endpoint: string;
  /** Now on the authorization server's clock, in epoch seconds. */
  now: number;
  crypto?: CryptoProvider;
}

/** x-www-form-urlencoded, as RFC 6749 §2.3.1 requires before base64 for client_secret_basic. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** Adds the client's credentials to a token-endpoint request (body and headers are changed in place). */
export async function applyClientAuth(
  auth: ClientAuth,
  body: URLSearchParams,
  headers: Headers,
  ctx: ClientAuthContext,
): Promise<void> {
  switch (auth.method) {
    case 'client_secret_basic': {
      const credentials = `${formEncode(ctx.clientId)}:${formEncode(auth.clientSecret)}`;
      headers.set('Authorization', `Basic ${btoa(credentials)}`);
      return;
    }
    case 'client_secret_post':
      body.set('client_id', ctx.clientId);
      body.set('client_secret', auth.clientSecret);
      return;
    case 'private_key_jwt': {
      const audience =
        auth.audience === undefined || auth.audience === 'issuer'
          ? ctx.issuer
          : auth.audience === 'token_endpoint'
            ? ctx.endpoint
            : auth.audience;
      body.set('client_id', ctx.clientId);
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set(
        'client_assertion',
        await createClientAssertion(auth.key, {
          clientId: ctx.clientId,
          audience,
          iat: Math.floor(ctx.now),
          ...(auth.kid !== undefined ? { kid: auth.kid } : {}),
          ...(ctx.crypto !== undefined ? { crypto: ctx.crypto } : {}),
        }),
      );
      return;
    }
    case 'none':
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      body.set('client_id', ctx.clientId);
      return;
    default:
      throw new TypeError(
        `unknown client authentication method ${String((auth as { method: unknown }).method)}`,
      );
  }
}
