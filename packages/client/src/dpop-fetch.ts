// A fetch that adds DPoP to requests for the protected origins it is given: a proof (htm, htu
// without query and fragment, ath, the server's nonce, iat on the server's clock) and, when a token
// is supplied, `Authorization: DPoP <token>`. Requests to other origins pass through untouched.
import type { DpopKey } from '@keybound/core';
import type { DpopSession } from './dpop-session.js';
import { normalizeMethod } from './http-method.js';
import { isReplayableBody } from './replayable-body.js';

export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** A token with the key it is bound to, read at the same moment (so a key rotation cannot split them). */
export interface BoundToken {
  accessToken: string;
  /** Default: the session's current key. */
  key?: DpopKey;
}

export interface DpopFetchOptions {
  /** Holds the key, nonces and clock offsets; share it with the token client. */
  session?: DpopSession;
  /** Origins (`https://api.example.com`, port included when not the default) that get proofs. */
  origins: readonly string[];
  /** The access token for a protected request (none: proof only, no Authorization header). */
  getAccessToken?: () => string | BoundToken | undefined | Promise<string | BoundToken | undefined>;
  /** The underlying fetch (default globalThis.fetch; on Node, an mTLS fetch from @keybound/client/node). */
  fetch?: FetchLike;
}

/** Normalises the configured protected origins, refusing anything that is not an http(s) origin. */
export function normalizeOrigins(origins: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const o of origins) {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new TypeError(`protected origin ${JSON.stringify(o)} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`protected origin ${JSON.stringify(o)} is not http(s)`);
    }
    out.add(url.origin);
  }
  return out;
}

function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') return new URL(input, globalThis.location?.href).href;
  if (input instanceof URL) return input.href;
  return input.url;
}

function isRequest(input: RequestInfo | URL): input is Request {
  return typeof input === 'object' && !(input instanceof URL) && typeof (input as Request).url === 'string';
}

function withHeaders(base: HeadersInit | undefined, extra: Record<string, string>): Headers {
  const headers = new Headers(base);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return headers;
}

/**
 * Wraps fetch. For a protected origin, each attempt gets a fresh proof; a `use_dpop_nonce` refusal is
 * retried exactly once when the body can be sent again (none, string, buffer, URLSearchParams, Blob,
 * FormData), otherwise the refusal is returned as is (the nonce is learned for the next call).
 */
export function createDpopFetch(options: DpopFetchOptions): FetchLike {
  const protectedOrigins = normalizeOrigins(options.origins);
  const session = options.session;
  const getAccessToken = options.getAccessToken;
  const base: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return async (input, init) => {
    const url = urlOf(input);
    if (!protectedOrigins.has(new URL(url).origin)) return base(input, init);
    const supplied = getAccessToken === undefined ? undefined : await getAccessToken();
    const accessToken = typeof supplied === 'string' ? supplied : supplied?.accessToken;
    const key = typeof supplied === 'object' ? supplied.key : undefined;
    const request = isRequest(input) ? (init === undefined ? input : new Request(input, init)) : undefined;
    if (session === undefined) {
      // no DPoP key: a certificate-bound (or plain) token travels as Bearer
      if (accessToken === undefined) return base(input, init);
      const auth = { Authorization: `Bearer ${accessToken}` };
      if (request !== undefined)
        return base(new Request(request, { headers: withHeaders(request.headers, auth) }));
      return base(url, { ...init, headers: withHeaders(init?.headers, auth) });
    }
    let method: string;
    let retry: boolean;
    let dispatch: (h: Record<string, string>) => Promise<Response>;
    if (request !== undefined) {
      method = normalizeMethod(request.method);
      // a Request's body is always a stream: it can be sent once
      retry = request.body === null;
      dispatch = (h) => base(new Request(request, { headers: withHeaders(request.headers, h) }));
    } else {
      method = normalizeMethod(init?.method);
      retry = isReplayableBody(init?.body);
      dispatch = (h) => base(url, { ...init, headers: withHeaders(init?.headers, h) });
    }
    return session.send(url, dispatch, {
      method,
      retry,
      ...(accessToken !== undefined ? { accessToken } : {}),
      ...(key !== undefined ? { key } : {}),
    });
  };
}
