// Builds arbitrary (possibly invalid) JWS for negative tests: the header and payload are taken
// as given, so each check of the verifier can be made to fail on its own.
import { b64uEncode, type DpopKey, getDefaultCrypto, type JwsAlgorithm } from '@keybound/core';

export async function signJws(
  key: DpopKey,
  header: Record<string, unknown> | string,
  payload: Record<string, unknown> | string,
  alg: JwsAlgorithm = key.alg,
): Promise<string> {
  const h = b64uEncode(typeof header === 'string' ? header : JSON.stringify(header));
  const p = b64uEncode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const sig = await getDefaultCrypto().sign(alg, key.privateKey, new TextEncoder().encode(`${h}.${p}`));
  return `${h}.${p}.${b64uEncode(sig)}`;
}

export function dpopHeader(key: DpopKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...extra };
}
