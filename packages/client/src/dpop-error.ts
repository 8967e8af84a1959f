// Finds the DPoP error a server answered with: a resource server says it in a 401 WWW-Authenticate
// DPoP challenge (RFC 9449 §7.1), a token endpoint in a 400 JSON body (RFC 9449 §8).
import { parseWwwAuthenticate } from '@keybound/core';
import { readJsonObject } from './read-body.js';

const MAX_ERROR_BODY_BYTES = 16 * 1024;

/** The `error` of a DPoP challenge or token-endpoint error response, if the response is one. */
export async function dpopErrorOf(response: Response): Promise<string | undefined> {
  if (response.status === 401) {
    const header = response.headers.get('www-authenticate');
    if (header === null) return undefined;
    const dpop = parseWwwAuthenticate(header).find((c) => c.scheme.toLowerCase() === 'dpop');
    return dpop?.params.error;
  }
  if (response.status === 400 && /json/i.test(response.headers.get('content-type') ?? '')) {
    try {
      const body = await readJsonObject(response.clone(), MAX_ERROR_BODY_BYTES, 'error response');
      return typeof body.error === 'string' ? body.error : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
