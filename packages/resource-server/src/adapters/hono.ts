// Hono 4 adapter: a middleware on the Web Request. On @hono/node-server the IncomingMessage in
// `c.env.incoming` gives the raw header list, the peer address and the TLS certificate; on other
// runtimes the Request's headers are used (a repeated Authorization or DPoP header then arrives
// joined with ", " and is still refused) and `peer` supplies the address and TLS facts.
import type { Context, MiddlewareHandler } from 'hono';
import type { AllowDecision } from '../decision.js';
import type { HeaderList, RequestFacts, TlsFacts } from '../facts.js';
import { tlsFacts } from '../lib/node-request.js';
import type { ResourceServer } from '../protect.js';

export interface KeyboundHonoOptions {
  /** Peer address and TLS facts where the runtime knows them (default: from c.env.incoming). */
  peer?: (c: Context) => { address?: string; tls?: TlsFacts } | undefined;
}

export type KeyboundHonoEnv = { Variables: { keybound: AllowDecision } };

interface NodeIncoming {
  url?: string;
  rawHeaders?: string[];
  socket?: Parameters<typeof tlsFacts>[0];
}

function incomingOf(c: Context): NodeIncoming | undefined {
  const env = c.env as { incoming?: NodeIncoming } | undefined;
  return env?.incoming !== undefined && Array.isArray(env.incoming.rawHeaders) ? env.incoming : undefined;
}

function facts(c: Context, options: KeyboundHonoOptions): RequestFacts {
  const req = c.req.raw;
  const incoming = incomingOf(c);
  const url = new URL(req.url);
  const target = incoming?.url ?? `${url.pathname}${url.search}`;
  const headers: HeaderList = incoming?.rawHeaders ?? [...req.headers];
  const peer = options.peer?.(c);
  const address = peer?.address ?? incoming?.socket?.remoteAddress;
  const tls =
    peer?.tls ??
    (incoming === undefined ? { encrypted: url.protocol === 'https:' } : tlsFacts(incoming.socket));
  return {
    method: req.method,
    target,
    headers,
    ...(address === undefined ? {} : { peerAddress: address }),
    tls,
  };
}

function respond(status: number, headers: Record<string, string>, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, 'content-type': 'application/json' },
  });
}

export function keyboundHono(
  rs: ResourceServer,
  options: KeyboundHonoOptions = {},
): MiddlewareHandler<KeyboundHonoEnv> {
  return async (c, next) => {
    const f = facts(c, options);
    const wellKnown = rs.wellKnown(f.method, f.target);
    if (wellKnown !== undefined) return respond(wellKnown.status, wellKnown.headers, wellKnown.body);
    const decision = await rs.protect(f);
    if (!decision.allow) return respond(decision.status, decision.headers, decision.body);
    c.set('keybound', decision);
    const extra = Object.entries(decision.responseHeaders);
    // for c.text(), c.json() and the like
    for (const [name, value] of extra) c.header(name, value);
    await next();
    // a Response the handler returned itself does not carry what c.header() set
    if (extra.length > 0) addHeaders(c, extra);
  };
}

/**
 * Puts the decision's headers on the response: a fresh DPoP-Nonce unless the app set one, and the
 * names of Access-Control-Expose-Headers added to those the app exposes. A Response with immutable
 * headers (from fetch(), Response.redirect()) is copied first.
 */
function addHeaders(c: Context, extra: readonly [string, string][]): void {
  const headers = c.res.headers;
  const missing = extra.flatMap(([name, value]): [string, string][] => {
    const present = headers.get(name);
    if (present === null) return [[name, value]];
    if (name.toLowerCase() !== 'access-control-expose-headers') return [];
    const listed = new Set(present.split(',').map((n) => n.trim().toLowerCase()));
    const added = value
      .split(',')
      .map((n) => n.trim())
      .filter((n) => !listed.has(n.toLowerCase()));
    return added.length === 0 ? [] : [[name, `${present}, ${added.join(', ')}`]];
  });
  if (missing.length === 0) return;
  try {
    for (const [name, value] of missing) headers.set(name, value);
  } catch {
    // Hono's setter copies the response with its headers into a new, mutable one
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of missing) c.res.headers.set(name, value);
  }
}
