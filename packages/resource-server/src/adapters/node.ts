// node:http / node:https adapter: translates IncomingMessage to request facts and writes a
// refusal; an allowed request goes on to the handler with the decision.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AllowDecision } from '../decision.js';
import { nodeRequestFacts } from '../lib/node-request.js';
import type { ResourceServer } from '../protect.js';

/** node:http / node:https requests, or node:http2 compatibility-API requests. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

function send(res: NodeResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const text = JSON.stringify(body);
  (res as ServerResponse).writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Returns a guard: `await guard(req, res)` resolves with the allow decision (its response
 * headers already set on `res`), or with undefined after it answered the request itself (a
 * refusal, or the RFC 9728 metadata document).
 */
export function keyboundNode(
  rs: ResourceServer,
): (req: NodeRequest, res: NodeResponse) => Promise<AllowDecision | undefined> {
  return async (req, res) => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const wellKnown = rs.wellKnown(method, target);
    if (wellKnown !== undefined) {
      send(res, wellKnown.status, wellKnown.headers, wellKnown.body);
      return undefined;
    }
    let decision: Awaited<ReturnType<ResourceServer['protect']>>;
    try {
      decision = await rs.protect(nodeRequestFacts(req as IncomingMessage, target));
    } catch {
      send(
        res,
        500,
        { 'cache-control': 'no-store' },
        { error: 'server_error', error_description: 'Internal error' },
      );
      return undefined;
    }
    if (!decision.allow) {
      send(res, decision.status, decision.headers, decision.body);
      return undefined;
    }
    for (const [name, value] of Object.entries(decision.responseHeaders)) res.setHeader(name, value);
    return decision;
  };
}

/** A request listener that runs `handler` only for allowed requests. */
export function keyboundHandler(
  rs: ResourceServer,
  handler: (req: IncomingMessage, res: ServerResponse, auth: AllowDecision) => void | Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const guard = keyboundNode(rs);
  return (req, res) => {
    guard(req, res).then(
      (auth) => (auth === undefined ? undefined : handler(req, res, auth)),
      () => {
        if (!res.headersSent)
          send(res, 500, {}, { error: 'server_error', error_description: 'Internal error' });
      },
    );
  };
}
