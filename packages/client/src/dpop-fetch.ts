// A fetch that adds DPoP to requests for the protected origins it is given: a proof (htm, htu
// without query and fragment, ath, the server's nonce, iat on the server's clock) and, when a token
// is supplied, `Authorization: DPoP <token>`. Requests to other origins pass through untouched.
import { type DpopKey, KeyboundError } from '@keybound/core';
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

/** Redirect statuses fetch follows (Fetch §4.4). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Fetch's own limit. */
const MAX_REDIRECTS = 20;
/** Credentials fetch drops when a redirect leaves the origin (Fetch §4.4; undici also drops cookie). */
const CROSS_ORIGIN_DROPPED = ['authorization', 'proxy-authorization', 'cookie', 'host'];
/** Headers that describe a body: dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = [
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
  'content-length',
];

/** One request to send: a Request the caller made, or a URL with fetch options. */
interface Outgoing {
  url: string;
  method: string;
  /** The caller's Request (sent as a copy with our headers, so its body is sent as the caller made it). */
  request?: Request;
  /** Otherwise: the caller's options, headers and body included. */
  init: RequestInit;
  /** Whether the body can be sent a second time (a Request's body cannot). */
  replayable: boolean;
  /** The caller's redirect mode. */
  redirect: RequestRedirect;
}

function outgoing(input: RequestInfo | URL, init: RequestInit | undefined): Outgoing {
  if (isRequest(input)) {
    const request = init === undefined ? input : new Request(input, init);
    return {
      url: request.url,
      method: normalizeMethod(request.method),
      request,
      init: {},
      replayable: request.body === null,
      redirect: request.redirect,
    };
  }
  return {
    url: urlOf(input),
    method: normalizeMethod(init?.method),
    init: init ?? {},
    replayable: isReplayableBody(init?.body),
    redirect: init?.redirect ?? 'follow',
  };
}

/** The options of a GET that a redirect turns a request into, or of a 307/308 repeat of a bodiless Request. */
function initOf(req: Outgoing): RequestInit {
  const r = req.request;
  if (r === undefined) return req.init;
  return {
    method: r.method,
    headers: r.headers,
    signal: r.signal,
    credentials: r.credentials,
    cache: r.cache,
    mode: r.mode,
    referrerPolicy: r.referrerPolicy,
    integrity: r.integrity,
    keepalive: r.keepalive,
  };
}

/**
 * Wraps fetch. For a protected origin, each attempt gets a fresh proof; a `use_dpop_nonce` refusal is
 * retried exactly once when the body can be sent again (none, string, buffer, URLSearchParams, Blob,
 * FormData), otherwise the refusal is returned as is (the nonce is learned for the next call).
 *
 * Redirects of protected requests are followed here, not by fetch: a proof names one URL, and fetch
 * would carry the DPoP header (a valid, unused proof) to wherever the redirect points. Each hop is a
 * new request through this wrapper: a fresh proof and the token only where the hop is a protected
 * origin; the caller's Authorization and DPoP headers are dropped when the hop leaves the origin.
 * With `redirect: 'manual'` or `'error'` the caller's choice is kept. Where the runtime hides
 * redirects (a browser answers `redirect: 'manual'` with an opaque response), a redirect cannot be
 * followed safely: `redirect_not_followed` is thrown.
 */
export function createDpopFetch(options: DpopFetchOptions): FetchLike {
  const protectedOrigins = normalizeOrigins(options.origins);
  const session = options.session;
  const getAccessToken = options.getAccessToken;
  const base: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  const send = async (req: Outgoing, hops: number): Promise<Response> => {
    const supplied = getAccessToken === undefined ? undefined : await getAccessToken();
    const accessToken = typeof supplied === 'string' ? supplied : supplied?.accessToken;
    const key = typeof supplied === 'object' ? supplied.key : undefined;
    const follow = req.redirect === 'follow';
    const redirect: RequestRedirect = follow ? 'manual' : req.redirect;
    const dispatch = (extra: Record<string, string>): Promise<Response> => {
      const headers = new Headers(req.request?.headers ?? req.init.headers);
      for (const [name, value] of Object.entries(extra)) headers.set(name, value);
      if (req.request !== undefined) return base(new Request(req.request, { headers, redirect }));
      return base(req.url, { ...req.init, headers, redirect });
    };
    let response: Response;
    if (session === undefined) {
      // no DPoP key: a certificate-bound (or plain) token travels as Bearer
      response = await dispatch(accessToken === undefined ? {} : { Authorization: `Bearer ${accessToken}` });
    } else {
      response = await session.send(req.url, dispatch, {
        method: req.method,
        retry: req.replayable,
        ...(accessToken !== undefined ? { accessToken } : {}),
        ...(key !== undefined ? { key } : {}),
      });
    }
    return follow ? redirected(req, response, hops) : response;
  };

  /** The next hop of a redirect, as fetch would make it (Fetch §4.4 HTTP-redirect fetch). */
  const redirected = async (req: Outgoing, response: Response, hops: number): Promise<Response> => {
    if (response.type === 'opaqueredirect') {
      // a browser hides where the redirect leads: no next hop can be given its own proof, and
      // letting the browser follow would carry this proof wherever it points
      throw new KeyboundError(
        'redirect_not_followed',
        `the protected request to ${new URL(req.url).pathname} was redirected, and the browser hides the target`,
      );
    }
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
    let next: URL;
    try {
      next = new URL(location, req.url);
    } catch {
      return response;
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') return response;
    if (hops >= MAX_REDIRECTS) {
      await response.body?.cancel().catch(() => {});
      throw new TypeError(`fetch failed: more than ${MAX_REDIRECTS} redirects`);
    }
    const toGet =
      ((response.status === 301 || response.status === 302) && req.method === 'POST') ||
      (response.status === 303 && req.method !== 'GET' && req.method !== 'HEAD');
    // 307/308 send the body again: a stream (a Request's body) was consumed by the first request
    if (!toGet && !req.replayable) return response;
    await response.body?.cancel().catch(() => {});
    const init = initOf(req);
    const headers = new Headers(init.headers);
    headers.delete('dpop');
    if (next.origin !== new URL(req.url).origin)
      for (const name of CROSS_ORIGIN_DROPPED) headers.delete(name);
    if (toGet) for (const name of BODY_HEADERS) headers.delete(name);
    const { body: _body, ...withoutBody } = init;
    const method = toGet ? 'GET' : req.method;
    const hop: Outgoing = {
      url: next.href,
      method,
      init: { ...(toGet ? withoutBody : init), method, headers },
      replayable: true,
      redirect: 'follow',
    };
    if (protectedOrigins.has(next.origin)) return send(hop, hops + 1);
    // leaving the protected origins: no proof, no token; fetch follows any further redirects itself
    return base(hop.url, { ...hop.init, redirect: 'follow' });
  };

  return async (input, init) => {
    const url = urlOf(input);
    if (!protectedOrigins.has(new URL(url).origin)) return base(input, init);
    return send(outgoing(input, init), 0);
  };
}
