// One POST to a token-like endpoint (token, PAR) with client authentication and, when the client
// has a DPoP key, a proof: a use_dpop_nonce refusal is retried once with a freshly built body (a
// new client assertion, since its jti must not repeat). Errors come back typed: the server's OAuth
// error as token_request_failed, anything unreadable as response_malformed / response_too_large.
import { type CryptoProvider, type DpopKey, KeyboundError } from '@keybound/core';
import { applyClientAuth, type ClientAuth } from './client-auth.js';
import type { FetchLike } from './dpop-fetch.js';
import type { DpopSession } from './dpop-session.js';
import { type AuthorizationServerMetadata, type EndpointName, endpointUrl } from './metadata.js';
import { clipServerText, readJsonObject } from './read-body.js';

export interface EndpointContext {
  metadata: AuthorizationServerMetadata;
  clientId: string;
  clientAuth: ClientAuth;
  session: DpopSession | undefined;
  fetch: FetchLike;
  mtls: boolean;
  maxResponseBytes: number;
  crypto?: CryptoProvider;
}

export interface EndpointResult {
  status: number;
  body: Record<string, unknown>;
  receivedAt: number;
}

export async function postToEndpoint(
  ctx: EndpointContext,
  name: EndpointName,
  params: URLSearchParams,
  options: { key?: DpopKey; successStatus?: number } = {},
): Promise<EndpointResult> {
  const url = endpointUrl(ctx.metadata, name, ctx.mtls);
  const origin = new URL(url).origin;
  const what = `${name.replace(/_/g, ' ')} response`;
  const dispatch = async (dpopHeaders: Record<string, string>): Promise<Response> => {
    const body = new URLSearchParams(params); // a copy per attempt: the client assertion is new each time
    const headers = new Headers({ accept: 'application/json', ...dpopHeaders });
    await applyClientAuth(ctx.clientAuth, body, headers, {
      clientId: ctx.clientId,
      issuer: ctx.metadata.issuer,
      endpoint: url,
      now: Date.now() / 1000 + (ctx.session?.servers.offsetSeconds(origin) ?? 0),
      ...(ctx.crypto !== undefined ? { crypto: ctx.crypto } : {}),
    });
    try {
      return await ctx.fetch(url, { method: 'POST', headers, body, redirect: 'manual' });
    } catch (cause) {
      throw new KeyboundError(
        'server_unreachable',
        `the request to the ${name.replace(/_/g, ' ')} failed`,
        {},
        { cause },
      );
    }
  };
  const response =
    ctx.session === undefined
      ? await dispatch({})
      : await ctx.session.send(url, dispatch, {
          method: 'POST',
          retry: true,
          role: 'authorization',
          ...(options.key !== undefined ? { key: options.key } : {}),
        });
  const receivedAt = Date.now();
  const expected = options.successStatus ?? 200;
  if (response.status === expected) {
    return {
      status: response.status,
      body: await readJsonObject(response, ctx.maxResponseBytes, what),
      receivedAt,
    };
  }
  throw await errorFrom(response, what, ctx.maxResponseBytes);
}

/** The typed error for a refusal: the OAuth error when the body is one, else what was wrong. */
async function errorFrom(response: Response, what: string, limit: number): Promise<KeyboundError> {
  const status = response.status;
  let body: Record<string, unknown>;
  try {
    // read whatever the content type says: some servers label their OAuth errors text/plain
    body = await readJsonObject(response, limit, what);
  } catch (e) {
    if (e instanceof KeyboundError && e.code !== 'response_malformed') return e;
    body = {};
  }
  const error = clipServerText(body.error);
  if (error === undefined) {
    return new KeyboundError('response_malformed', `the ${what} is HTTP ${status} without an OAuth error`, {
      expected: 'a success or an OAuth error response',
      received: status,
      status,
    });
  }
  const description = clipServerText(body.error_description);
  return new KeyboundError(
    'token_request_failed',
    `the authorization server refused the request: ${error}${description === undefined ? '' : ` (${description})`}`,
    { status, error, ...(description !== undefined ? { errorDescription: description } : {}) },
  );
}
