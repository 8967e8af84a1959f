// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9): a short-lived JWT signed with the
// client's own key (not the DPoP key), with a fresh jti per request.
import { b64uEncode, type CryptoProvider, type DpopKey, getDefaultCrypto, randomJti } from '@keybound/core';

export interface ClientAssertionOptions {
  clientId: string;
  /** The audience: the issuer identifier (the default of ClientAuth) or the token endpoint URL. */
  audience: string;
  /** Issued-at in epoch seconds (on the authorization server's clock). */
  iat: number;
  /** Lifetime in seconds (default 60). */
  lifetimeSeconds?: number;
  kid?: string;
  crypto?: CryptoProvider;
}

const encoder = new TextEncoder();

export async function createClientAssertion(key: DpopKey, options: ClientAssertionOptions): Promise<string> {
  const header: Record<string, string> = { alg: key.alg, typ: 'JWT' };
  if (options.kid !== undefined) header.kid = options.kid;
  const payload = {
    iss: options.clientId,
    sub: options.clientId,
    aud: options.audience,
    jti: randomJti(),
    iat: options.iat,
    exp: options.iat + (options.lifetimeSeconds ?? 60),
  };
  const input = `${b64uEncode(JSON.stringify(header))}.${b64uEncode(JSON.stringify(payload))}`;
  const signature = await (options.crypto ?? getDefaultCrypto()).sign(
    key.alg,
    key.privateKey,
    encoder.encode(input),
  );
  return `${input}.${b64uEncode(signature)}`;
}
