// A login interaction: the validated authorization request waiting for the user to sign in,
// stored (hashed id) so any instance can finish it, and bound to the browser that started it by a
// cookie, so a login form cannot be submitted from another browser (login CSRF).

import { cookieHeader, readCookie } from '../http/cookies.js';
import { sendHtml } from '../http/respond.js';
import type { RequestContext } from '../server/request-context.js';
import { randomToken, sha256 } from '../tokens/hash.js';
import type { AuthorizationRequest } from './authorization-request.js';
import { loginPage } from './pages.js';

export const BROWSER_COOKIE = 'kb_browser';
const BROWSER_ID = /^[A-Za-z0-9_-]{43}$/;

export function browserId(ctx: RequestContext): string | undefined {
  const value = readCookie(ctx.req.headers.cookie, BROWSER_COOKIE);
  return value !== undefined && BROWSER_ID.test(value) ? value : undefined;
}

export async function startInteraction(ctx: RequestContext, request: AuthorizationRequest): Promise<void> {
  const { rt } = ctx;
  const urls = rt.urls();
  let browser = browserId(ctx);
  const headers: Record<string, string> = {};
  const issuerUrl = new URL(urls.issuer);
  if (browser === undefined) {
    browser = randomToken(32);
    headers['Set-Cookie'] = cookieHeader(BROWSER_COOKIE, browser, {
      path: issuerUrl.pathname.endsWith('/') ? issuerUrl.pathname : `${issuerUrl.pathname}/`,
      secure: issuerUrl.protocol === 'https:',
      maxAge: 30 * 86_400,
    });
  }
  const id = randomToken(32);
  const csrf = randomToken(32);
  await rt.storage.insertInteraction({
    idHash: sha256(id),
    browserHash: sha256(browser),
    csrfToken: csrf,
    clientId: request.clientId,
    request: { ...request },
    attempts: 0,
    expiresAt: Math.floor(ctx.now) + rt.config.tokens.loginTtl,
  });
  const client = await rt.clients.find(request.clientId);
  sendHtml(
    ctx.res,
    200,
    loginPage({
      action: urls.login,
      interaction: id,
      csrf,
      clientName: client?.name ?? request.clientId,
      scope: request.scope,
    }),
    headers,
  );
}
