// The built-in login form's target. The form must come from the browser that started the
// interaction (cookie), carry its CSRF token, and come from this origin; every wrong username or
// password gets the same answer after the same work; a few failures end the interaction.
import type { AuthorizationRequest } from '../authorize/authorization-request.js';
import { errorRedirect, RedirectableError } from '../authorize/authorization-request.js';
import { browserId } from '../authorize/interaction.js';
import { issueCode } from '../authorize/issue-code.js';
import { errorPage, loginPage } from '../authorize/pages.js';
import { parseFormBody } from '../http/form-body.js';
import { OAuthError } from '../http/oauth-error.js';
import { redirect, sendHtml } from '../http/respond.js';
import type { Endpoint, RequestContext } from '../server/request-context.js';
import { constantTimeEqual, sha256 } from '../tokens/hash.js';
import { verifyPassword } from '../users/password.js';

export const MAX_LOGIN_ATTEMPTS = 5;

async function login(ctx: RequestContext): Promise<void> {
  const { rt } = ctx;
  const urls = rt.urls();
  const origin = ctx.req.headers.origin;
  if (origin !== undefined && origin !== new URL(urls.issuer).origin) {
    sendHtml(ctx.res, 403, errorPage('The sign-in form was submitted from another site.'));
    return;
  }
  const params = ctx.params!;
  const id = params.get('interaction');
  const idHash = id === undefined || id.length > 100 ? undefined : sha256(id);
  const interaction = idHash === undefined ? undefined : await rt.storage.findInteraction(idHash);
  if (interaction === undefined || interaction.expiresAt <= ctx.now) {
    sendHtml(ctx.res, 400, errorPage('This sign-in form has expired. Start again from the application.'));
    return;
  }
  const browser = browserId(ctx);
  if (browser === undefined || sha256(browser) !== interaction.browserHash) {
    sendHtml(ctx.res, 403, errorPage('This sign-in form was not opened in this browser.'));
    return;
  }
  const csrf = params.get('csrf');
  if (csrf === undefined || !constantTimeEqual(csrf, interaction.csrfToken)) {
    sendHtml(ctx.res, 403, errorPage('The sign-in form is not valid. Start again from the application.'));
    return;
  }
  const request = interaction.request as unknown as AuthorizationRequest;
  const username = params.get('username');
  const password = params.get('password') ?? '';
  const user = username === undefined ? undefined : rt.users.get(username);
  const ok = await verifyPassword(password.slice(0, 1024), user?.passwordHash);
  if (!ok || user === undefined) {
    const attempts = await rt.storage.countLoginAttempt(idHash!);
    if (attempts >= MAX_LOGIN_ATTEMPTS) {
      await rt.storage.finishInteraction(idHash!);
      const e = new RedirectableError(
        new OAuthError('access_denied', 'too many failed sign-in attempts'),
        request.redirectUri,
        request.state,
      );
      redirect(ctx.res, errorRedirect(e, urls.issuer));
      return;
    }
    const client = await rt.clients.find(request.clientId);
    sendHtml(
      ctx.res,
      401,
      loginPage({
        action: urls.login,
        interaction: id!,
        csrf: interaction.csrfToken,
        clientName: client?.name ?? request.clientId,
        scope: request.scope,
        error: 'Invalid username or password.',
        username: (username ?? '').slice(0, 200),
      }),
    );
    return;
  }
  if (!(await rt.storage.finishInteraction(idHash!))) {
    sendHtml(ctx.res, 400, errorPage('This sign-in form was already used.'));
    return;
  }
  redirect(ctx.res, await issueCode(rt, request, { sub: user.sub, authTime: Math.floor(ctx.now) }, ctx.now));
}

export const loginEndpoint: Endpoint = {
  name: 'login',
  methods: ['POST'],
  steps: [
    ['parse form', parseFormBody],
    ['sign in', login],
  ],
};
