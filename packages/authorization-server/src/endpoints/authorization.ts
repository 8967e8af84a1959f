// The authorization endpoint (RFC 6749 §3.1, §4.1): validates the request (or takes a pushed
// one, RFC 9126 §4), authenticates the user through the host's function or the built-in login
// page, and redirects with a code bound to the PKCE challenge and dpop_jkt.
import {
  type AuthorizationRequest,
  errorRedirect,
  NonRedirectableError,
  RedirectableError,
  resolveClientAndRedirect,
  validateAuthorizationParams,
} from '../authorize/authorization-request.js';
import { startInteraction } from '../authorize/interaction.js';
import { issueCode } from '../authorize/issue-code.js';
import { errorPage } from '../authorize/pages.js';
import { OAuthError } from '../http/oauth-error.js';
import { parseForm } from '../http/parse-form.js';
import { redirect, sendHtml } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';
import { sha256 } from '../tokens/hash.js';

const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/;

/** When the query itself is broken, an error may still be redirected if client and redirect URI are unambiguous. */
async function redirectForBrokenQuery(ctx: RequestContext, raw: string, error: OAuthError): Promise<void> {
  const sp = new URLSearchParams(raw);
  const ids = sp.getAll('client_id');
  const uris = sp.getAll('redirect_uri');
  const states = sp.getAll('state');
  if (ids.length === 1 && uris.length <= 1) {
    try {
      const target = await resolveClientAndRedirect(ctx.rt, ids[0], uris[0]);
      const e = new RedirectableError(error, target.redirectUri, states.length === 1 ? states[0] : undefined);
      redirect(ctx.res, errorRedirect(e, ctx.rt.urls().issuer));
      return;
    } catch {}
  }
  sendHtml(ctx.res, 400, errorPage(`The authorization request is invalid: ${error.message}.`));
}

async function authorize(ctx: RequestContext): Promise<void> {
  const { rt } = ctx;
  const raw = ctx.url.search.slice(1);
  if (raw.length > rt.config.limits.maxQueryBytes) {
    sendHtml(ctx.res, 414, errorPage('The authorization request is too long.'));
    return;
  }
  try {
    ctx.params = parseForm(raw);
  } catch (e) {
    if (e instanceof OAuthError) return redirectForBrokenQuery(ctx, raw, e);
    throw e;
  }
  const params = ctx.params;
  let request: AuthorizationRequest;
  const requestUri = params.get('request_uri');
  if (requestUri !== undefined) {
    const clientId = params.get('client_id');
    if (clientId === undefined) throw new NonRedirectableError('The request has no client_id.');
    // taken only with the client_id that pushed it: another client_id leaves it for that client
    const record = REQUEST_URI.test(requestUri)
      ? await rt.storage.takePushedRequestForClient(sha256(requestUri), clientId)
      : undefined;
    if (record === undefined || record.expiresAt <= ctx.now || record.clientId !== clientId) {
      throw new NonRedirectableError(
        'The request_uri is invalid, expired or was already used. Start again from the application.',
      );
    }
    request = record.request as unknown as AuthorizationRequest;
  } else {
    const target = await resolveClientAndRedirect(rt, params.get('client_id'), params.get('redirect_uri'));
    request = validateAuthorizationParams(rt, target.client, target, params, { pushed: false });
  }

  if (rt.authenticateUser) {
    const user = await rt.authenticateUser({
      request: ctx.req,
      clientId: request.clientId,
      scope: request.scope,
      resource: request.resource,
    });
    if (user) {
      redirect(ctx.res, await issueCode(rt, request, user, ctx.now));
      return;
    }
  }
  if (rt.config.login.enabled && rt.users.size > 0) {
    await startInteraction(ctx, request);
    return;
  }
  throw new RedirectableError(
    new OAuthError('access_denied', 'no user is signed in'),
    request.redirectUri,
    request.state,
  );
}

export const authorizationEndpoint: Endpoint = {
  name: 'authorization',
  methods: ['GET'],
  steps: [
    [
      'authorize',
      async (ctx) => {
        try {
          await authorize(ctx);
        } catch (e) {
          if (e instanceof NonRedirectableError) sendHtml(ctx.res, 400, errorPage(e.message));
          else if (e instanceof RedirectableError) redirect(ctx.res, errorRedirect(e, ctx.rt.urls().issuer));
          else throw e;
        }
      },
    ],
  ],
};
