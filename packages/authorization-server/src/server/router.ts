// Routes a request to an endpoint and answers errors. Paths are relative to the listener's base
// URL (the issuer for the main listener, the mTLS alias base for the mTLS listener); the metadata
// is also served at the RFC 8414 §3.1 location for issuers with a path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isKeyboundError } from '@keybound/core';
import { isOAuthError, OAuthError } from '../http/oauth-error.js';
import { sendJson, sendOAuthError } from '../http/respond.js';
import type { Endpoint, ListenerKind, RequestContext } from './request-context.js';
import { runSteps } from './request-context.js';
import { type EndpointUrls, PATHS, type Runtime } from './runtime.js';

export interface RouteTable {
  /** Path (absolute, as received) → endpoint. */
  readonly routes: Map<string, Endpoint>;
  readonly endpoints: EndpointUrls;
}

const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, DPoP';
const CORS_EXPOSE_HEADERS = 'DPoP-Nonce, WWW-Authenticate';

export function buildRoutes(
  listener: ListenerKind,
  base: string,
  issuer: string,
  all: Record<keyof typeof PATHS, Endpoint | undefined>,
  endpoints: EndpointUrls,
): RouteTable {
  const prefix = new URL(base).pathname.replace(/\/$/, '');
  const routes = new Map<string, Endpoint>();
  const names: (keyof typeof PATHS)[] =
    listener === 'mtls'
      ? ['token', 'par', 'introspection', 'revocation', 'registration']
      : (Object.keys(PATHS) as (keyof typeof PATHS)[]);
  for (const name of names) {
    const endpoint = all[name];
    if (endpoint !== undefined) routes.set(`${prefix}${PATHS[name]}`, endpoint);
  }
  if (listener === 'main' && all.metadata) {
    const issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
    routes.set(`${PATHS.metadata}${issuerPath}`, all.metadata);
  }
  return { routes, endpoints };
}

export async function handleRequest(
  rt: Runtime,
  listener: ListenerKind,
  table: RouteTable,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  if (rawUrl.length > rt.config.limits.maxQueryBytes + 1024 || !rawUrl.startsWith('/')) {
    req.resume();
    sendOAuthError(
      res,
      new OAuthError('invalid_request', 'the request target is too long or not a path', { status: 414 }),
    );
    return;
  }
  let url: URL;
  try {
    url = new URL(rawUrl, 'http://keybound.invalid');
  } catch {
    req.resume();
    sendOAuthError(res, new OAuthError('invalid_request', 'the request target is not a valid URL path'));
    return;
  }
  const endpoint = table.routes.get(url.pathname);
  if (endpoint === undefined) {
    req.resume();
    sendJson(res, 404, { error: 'not_found', error_description: 'no such endpoint' });
    return;
  }
  const headers: Record<string, string> = {};
  if (endpoint.cors && req.headers.origin !== undefined) {
    headers['Access-Control-Allow-Origin'] = '*';
    headers['Access-Control-Expose-Headers'] = CORS_EXPOSE_HEADERS;
  }
  const method = req.method ?? 'GET';
  if (method === 'OPTIONS' && endpoint.cors) {
    req.resume();
    res.writeHead(204, {
      ...headers,
      'Access-Control-Allow-Methods': endpoint.methods.join(', '),
      'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
      'Access-Control-Max-Age': '600',
      'Content-Length': 0,
    });
    res.end();
    return;
  }
  if (!endpoint.methods.includes(method)) {
    req.resume();
    sendOAuthError(
      res,
      new OAuthError('invalid_request', `this endpoint answers ${endpoint.methods.join(', ')}`, {
        status: 405,
      }),
      {
        ...headers,
        Allow: endpoint.methods.join(', '),
      },
    );
    return;
  }
  const ctx: RequestContext = {
    req,
    res,
    rt,
    listener,
    endpoints: table.endpoints,
    now: rt.now(),
    url,
    headers,
  };
  try {
    await runSteps(endpoint, ctx);
    if (!res.headersSent) throw new Error(`endpoint ${endpoint.name} did not answer`);
  } catch (e) {
    if (isOAuthError(e)) {
      sendOAuthError(res, e, ctx.headers);
    } else if (isKeyboundError(e)) {
      const status = e.error === 'temporarily_unavailable' ? 503 : 400;
      sendOAuthError(
        res,
        new OAuthError(status === 503 ? 'temporarily_unavailable' : 'invalid_request', e.message, {
          status,
          code: e.code,
        }),
        ctx.headers,
      );
    } else {
      rt.onError(e);
      sendOAuthError(
        res,
        new OAuthError('server_error', 'the server could not process the request', { status: 500 }),
        ctx.headers,
      );
    }
  }
}
