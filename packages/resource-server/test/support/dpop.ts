// DPoP proofs for tests: well-formed ones through core createProof, and hand-made ones (any
// header and payload text, signed with the key) for the checks a well-behaved client never fails.
import {
  b64uEncode,
  type CreateProofOptions,
  createProof,
  type DpopKey,
  getDefaultCrypto,
} from '@keybound/core';

/** Signs exactly these header and payload texts (JSON or not) with the key. */
export async function rawProof(headerText: string, payloadText: string, key: DpopKey): Promise<string> {
  const input = `${b64uEncode(headerText)}.${b64uEncode(payloadText)}`;
  const signature = await getDefaultCrypto().sign(key.alg, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64uEncode(signature)}`;
}

/** A proof with the header members and claims given, over `key` unless `jwk` replaces it. */
export async function customProof(
  key: DpopKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): Promise<string> {
  return rawProof(
    JSON.stringify({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...header }),
    JSON.stringify(claims),
    key,
  );
}

export function proof(key: DpopKey, options: CreateProofOptions): Promise<string> {
  return createProof(key, options);
}
