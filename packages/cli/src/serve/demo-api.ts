// The demo protected API that serve runs beside the authorization server: GET /api/hello behind
// @keybound/resource-server's node adapter. What reaches the handler has passed every check (token
// from the issuer's JWKS, DPoP proof, binding); refusals are answered by the adapter, with the
// keybound reason code in the Keybound-Code header.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AllowDecision, ResourceServer } from '@keybound/resource-server';
import { keyboundNode } from '@keybound/resource-server/node';
import { decideFor } from '../reason-code-header.js';
import { API_PATH } from './authorization-server-config.js';

export const HELLO_PATH = `${API_PATH}/hello`;

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function hello(auth: AllowDecision): Record<string, unknown> {
  const sub = typeof auth.claims.sub === 'string' ? auth.claims.sub : undefined;
  return {
    message: `hello ${sub ?? auth.clientId ?? 'there'}`,
    sub,
    client_id: auth.clientId,
    ...(auth.scopes.length > 0 ? { scope: auth.scopes.join(' ') } : {}),
    binding: auth.binding,
    jkt: auth.jkt,
    mode: auth.mode,
  };
}

export function createDemoApi(
  rs: ResourceServer,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const guard = keyboundNode(rs);
  return async (req, res) => {
    const auth = await decideFor(res, () => guard(req, res));
    if (auth === undefined) return; // refused (or the RFC 9728 metadata): the adapter answered
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== HELLO_PATH)
      return json(res, 404, { error: 'not_found', error_description: `try ${HELLO_PATH}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    }
    json(res, 200, hello(auth));
  };
}
