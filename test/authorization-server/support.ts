// Shared helpers for the cross-package authorization server tests: a running server on
// 127.0.0.1:0, and a scripted browser that signs in on the built-in login page.
import {
  type AuthorizationServer,
  type AuthorizationServerDeps,
  createAuthorizationServer,
  parseServerConfig,
  type ServerUrls,
} from '@keybound/authorization-server';
import { afterAll } from 'vitest';

export const SECRET = 'interop-client-secret-0123456789';
export const PASSWORD = 'interop password';

const servers: AuthorizationServer[] = [];
afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
});

export async function startServer(config: Record<string, unknown>, deps: AuthorizationServerDeps = {}) {
  const server = createAuthorizationServer(parseServerConfig(config), { onError: () => {}, ...deps });
  servers.push(server);
  const urls = await server.listen();
  return { server, urls };
}

/** Opens the authorization URL, signs in as alice, and returns the redirect URL with the code. */
export async function signIn(authorizationUrl: URL, urls: ServerUrls): Promise<URL> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200)
    throw new Error(
      `authorization endpoint answered ${page.status}: ${page.headers.get('location') ?? html.slice(0, 200)}`,
    );
  const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)![1]!;
  const res = await fetch(urls.login, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({
      interaction: field('interaction'),
      csrf: field('csrf'),
      username: 'alice',
      password: PASSWORD,
    }),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  return new URL(res.headers.get('location')!);
}
