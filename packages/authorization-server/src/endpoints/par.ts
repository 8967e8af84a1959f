// Pushed authorization requests (RFC 9126): the client authenticates, pushes the parameters, and
// gets a one-time request_uri. A DPoP proof sent with the push binds the code to its key
// (RFC 9449 §10.1): dpop_jkt is taken from the proof, and must match when both are sent.
import {
  NonRedirectableError,
  RedirectableError,
  resolveClientAndRedirect,
  validateAuthorizationParams,
} from '../authorize/authorization-request.js';
import { authenticateClient, recordAssertion } from '../clients/authenticate-client.js';
import { checkEndpointProof } from '../dpop/check-endpoint-proof.js';
import { parseFormBody } from '../http/form-body.js';
import { OAuthError } from '../http/oauth-error.js';
import { sendJson } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';
import { randomToken, sha256 } from '../tokens/hash.js';

async function push(ctx: RequestContext): Promise<void> {
  const { rt } = ctx;
  const client = ctx.client!;
  const params = ctx.params!;
  let request: ReturnType<typeof validateAuthorizationParams>;
  try {
    const target = await resolveClientAndRedirect(rt, client.clientId, params.get('redirect_uri'), client);
    request = validateAuthorizationParams(rt, client, target, params, {
      pushed: true,
      proofJkt: ctx.proof?.jkt,
    });
  } catch (e) {
    if (e instanceof NonRedirectableError) throw new OAuthError('invalid_request', e.message);
    if (e instanceof RedirectableError) throw e.oauth;
    throw e;
  }
  const requestUri = `urn:ietf:params:oauth:request_uri:${randomToken(32)}`;
  const ttl = rt.config.tokens.pushedRequestTtl;
  await rt.storage.insertPushedRequest({
    requestUriHash: sha256(requestUri),
    clientId: client.clientId,
    request: { ...request },
    expiresAt: Math.floor(ctx.now) + ttl,
  });
  sendJson(ctx.res, 201, { request_uri: requestUri, expires_in: ttl }, ctx.headers);
}

export const parEndpoint: Endpoint = {
  name: 'pushed authorization request',
  methods: ['POST'],
  cors: true,
  steps: [
    ['parse form', parseFormBody],
    ['authenticate client', (ctx) => authenticateClient(ctx, { allowPublic: true }).then(() => {})],
    [
      'dpop proof',
      (ctx) =>
        checkEndpointProof(ctx, ctx.endpoints.pushedAuthorizationRequest, { required: false }).then(() => {}),
    ],
    ['client assertion replay', recordAssertion],
    ['validate and store', push],
  ],
};
