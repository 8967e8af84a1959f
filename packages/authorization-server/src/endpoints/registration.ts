// Dynamic client registration (RFC 7591), guarded by an initial access token (Bearer) unless the
// server is configured open. The token must be live before the body is read, and one of its uses is
// spent only once the body and metadata are valid, right before the client is stored (a refused
// registration costs nothing). The metadata is validated like configured clients (RFC 7591 names,
// RFC 8705 tls_client_auth_* and tls_client_certificate_bound_access_tokens, RFC 9449
// dpop_bound_access_tokens); the client_id and secret are issued here and the secret is stored
// hashed. Unknown metadata is ignored (RFC 7591 §2).
import { parseJsonObject } from '@keybound/core';
import { readClientMetadata } from '../clients/client.js';
import { Issues, ObjectReader } from '../config/config-reader.js';
import { OAuthError } from '../http/oauth-error.js';
import { mediaType, readBody } from '../http/read-body.js';
import { sendJson } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';
import { randomToken, sha256 } from '../tokens/hash.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

function bearerChallenge(error?: string): Record<string, string> {
  return {
    'WWW-Authenticate': error ? `Bearer realm="keybound", error="${error}"` : 'Bearer realm="keybound"',
  };
}

const unusableToken = () =>
  new OAuthError('invalid_token', 'the initial access token is invalid, expired or used up', {
    status: 401,
    headers: bearerChallenge('invalid_token'),
  });

/** The SHA-256 of the request's initial access token (undefined when registration is open). */
function initialAccessTokenHash(ctx: RequestContext): string | undefined {
  if (ctx.rt.config.registration.open) return undefined;
  const header = ctx.req.headers.authorization;
  if (header === undefined) {
    throw new OAuthError(
      'invalid_token',
      'registration needs an initial access token (Authorization: Bearer)',
      {
        status: 401,
        headers: bearerChallenge(),
      },
    );
  }
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) throw unusableToken();
  return sha256(m[1]!);
}

/** A request without a live token is answered 401 before its body is read; nothing is spent yet. */
async function checkInitialAccessToken(ctx: RequestContext): Promise<void> {
  try {
    const hash = initialAccessTokenHash(ctx);
    if (hash !== undefined && !(await ctx.rt.storage.initialAccessTokenIsLive(hash, Math.floor(ctx.now))))
      throw unusableToken();
  } catch (e) {
    ctx.req.resume();
    throw e;
  }
}

async function register(ctx: RequestContext): Promise<void> {
  const { rt } = ctx;
  if (mediaType(ctx.req).type !== 'application/json') {
    ctx.req.resume();
    throw new OAuthError('invalid_request', 'the request body must be application/json');
  }
  const body = await readBody(ctx.req, rt.config.limits.maxJsonBytes);
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new OAuthError('invalid_client_metadata', 'the request body is not valid UTF-8');
  }
  const parsed = parseJsonObject(text);
  if (parsed === 'invalid')
    throw new OAuthError('invalid_client_metadata', 'the request body is not a JSON object');
  if (parsed === 'duplicate')
    throw new OAuthError('invalid_client_metadata', 'the request body repeats a member name');

  const clientId = randomToken(16);
  const method = parsed.token_endpoint_auth_method ?? 'client_secret_basic';
  const secret =
    method === 'client_secret_basic' || method === 'client_secret_post' ? randomToken(32) : undefined;
  const issues = new Issues();
  const client = readClientMetadata(
    new ObjectReader(parsed, '', issues),
    rt.clients.validationContext,
    secret === undefined ? { clientId } : { clientId, secret },
  );
  if (client === undefined) {
    const first = issues.list[0] ?? { path: '(metadata)', message: 'is invalid' };
    const error = first.path.startsWith('redirect_uris') ? 'invalid_redirect_uri' : 'invalid_client_metadata';
    throw new OAuthError(error, `${first.path}: ${first.message}`.slice(0, 300));
  }
  const now = Math.floor(ctx.now);
  // one use of the token is spent only now, for a registration that will be made (and atomically:
  // concurrent requests with the last use get one 201 and 401s)
  const tokenHash = initialAccessTokenHash(ctx);
  if (tokenHash !== undefined && !(await rt.storage.useInitialAccessToken(tokenHash, now))) {
    throw unusableToken();
  }
  await rt.storage.insertClient({
    clientId,
    metadata: client.metadata,
    secretHash: client.secretHash,
    createdAt: now,
  });
  const response: Record<string, unknown> = { client_id: clientId, client_id_issued_at: now };
  if (secret !== undefined) {
    response.client_secret = secret;
    response.client_secret_expires_at = 0;
  }
  sendJson(ctx.res, 201, { ...response, ...client.metadata }, ctx.headers);
}

export const registrationEndpoint: Endpoint = {
  name: 'registration',
  methods: ['POST'],
  steps: [
    ['initial access token', checkInitialAccessToken],
    ['register', register],
  ],
};
