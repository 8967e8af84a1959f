// A scripted browser for the authorization endpoint and the built-in login page (plain fetch,
// cookies kept by hand), and PKCE helpers.
import { createHash, randomBytes } from 'node:crypto';
import type { ServerUrls } from '../src/index.js';
import { SECRET } from './helpers.js';

export const PASSWORD = 'correct horse battery staple';

export function codeFlowConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listeners: { http: { host: '127.0.0.1', port: 0 } },
    storage: { type: 'sqlite', path: ':memory:' },
    scopes: ['read', 'write'],
    resources: [{ identifier: 'https://api.example.com' }],
    users: [{ username: 'alice', password: PASSWORD, sub: 'user-alice' }],
    clients: [
      {
        client_id: 'web',
        client_secret: SECRET,
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://app.example/cb', 'https://app.example/other'],
        scope: 'read write',
      },
      {
        client_id: 'spa',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['http://127.0.0.1/cb'],
        dpop_bound_access_tokens: true,
        client_name: 'Single <Page> App',
      },
      {
        client_id: 'par-only',
        client_secret: SECRET,
        grant_types: ['authorization_code'],
        redirect_uris: ['https://par.example/cb'],
        require_pushed_authorization_requests: true,
      },
    ],
    ...over,
  };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface LoginPage {
  status: number;
  html: string;
  cookie: string | undefined;
  interaction: string;
  csrf: string;
}

export async function openAuthorize(
  urls: ServerUrls,
  query: Record<string, string> | string,
  cookie?: string,
) {
  const qs = typeof query === 'string' ? query : new URLSearchParams(query).toString();
  const res = await fetch(`${urls.authorization}?${qs}`, {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  const html = await res.text();
  const setCookie = res.headers.get('set-cookie');
  return {
    status: res.status,
    location: res.headers.get('location'),
    html,
    cookie: setCookie ? setCookie.split(';')[0] : cookie,
    setCookie,
    referrerPolicy: res.headers.get('referrer-policy'),
    interaction: /name="interaction" value="([^"]+)"/.exec(html)?.[1] ?? '',
    csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '',
  };
}

export async function submitLogin(
  urls: ServerUrls,
  page: { cookie?: string | undefined; interaction: string; csrf: string },
  credentials: { username: string; password: string } = { username: 'alice', password: PASSWORD },
  headers: Record<string, string> = {},
) {
  const res = await fetch(urls.login, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(page.cookie ? { cookie: page.cookie } : {}),
      ...headers,
    },
    body: new URLSearchParams({ interaction: page.interaction, csrf: page.csrf, ...credentials }).toString(),
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

/**
 * Signs alice in for the public DPoP client `spa` (code + PKCE S256, redirect http://127.0.0.1/cb,
 * plus `extra` parameters); returns the authorization code and its PKCE verifier.
 */
export async function spaCode(
  urls: ServerUrls,
  extra: Record<string, string> = {},
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const p = await authorizeAndLogin(urls, {
    response_type: 'code',
    client_id: 'spa',
    redirect_uri: 'http://127.0.0.1/cb',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  return { code: p.get('code')!, verifier };
}

/** Runs authorize + login; returns the redirect's parameters. */
export async function authorizeAndLogin(
  urls: ServerUrls,
  query: Record<string, string>,
): Promise<URLSearchParams & { url: URL }> {
  const page = await openAuthorize(urls, query);
  if (page.status !== 200)
    throw new Error(`authorize answered ${page.status}: ${page.location ?? page.html.slice(0, 200)}`);
  const done = await submitLogin(urls, page);
  if (done.status !== 303 || !done.location) throw new Error(`login answered ${done.status}`);
  const url = new URL(done.location);
  return Object.assign(url.searchParams, { url });
}
