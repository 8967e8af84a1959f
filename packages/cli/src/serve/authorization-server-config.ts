// The authorization server's configuration as serve runs it: the file's authorization_server
// section, with the issuer (the public URL), the demo API as a resource, and (with the demo on) the
// demo clients and user added, validated by parseServerConfig. Its issues come back with paths
// under `authorization_server.`, or under `demo` for what serve added.
import { ConfigError, parseServerConfig, type ServerConfig } from '@keybound/authorization-server';
import { DEMO_SERVICE_CLIENT_ID, DEMO_SPA_CLIENT_ID, type DemoCredentials } from './demo-credentials.js';
import type { ConfigIssue, ServeConfig } from './serve-config.js';

export const API_PATH = '/api';
export const DEMO_PATH = '/demo/';

/** The demo API's resource identifier (RFC 8707) and the audience of the tokens it accepts. */
export const apiResource = (publicUrl: string): string => `${publicUrl}${API_PATH}`;

/** Appends `entry` to the list at `key` unless an entry already has `id` under `idField`. */
function appendUnless(
  target: Record<string, unknown>,
  key: string,
  idField: string,
  entry: Record<string, unknown>,
): void {
  const list = target[key];
  if (list === undefined || list === null) target[key] = [entry];
  else if (Array.isArray(list)) {
    const present = list.some(
      (e) =>
        typeof e === 'object' && e !== null && (e as Record<string, unknown>)[idField] === entry[idField],
    );
    if (!present) target[key] = [...list, entry];
  }
  // anything else: parseServerConfig reports the field
}

export function demoClients(publicUrl: string, demo: DemoCredentials): Record<string, unknown>[] {
  const resources = [apiResource(publicUrl)];
  return [
    {
      client_id: DEMO_SPA_CLIENT_ID,
      client_name: 'keybound demo page',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [`${publicUrl}${DEMO_PATH}`],
      dpop_bound_access_tokens: true,
      resources,
    },
    {
      client_id: DEMO_SERVICE_CLIENT_ID,
      client_name: 'keybound demo service',
      client_secret: demo.serviceClientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      dpop_bound_access_tokens: true,
      resources,
    },
  ];
}

export interface AuthorizationServerConfigResult {
  config?: ServerConfig;
  issues: ConfigIssue[];
}

export function buildAuthorizationServerConfig(
  serve: ServeConfig,
  publicUrl: string,
  demo: DemoCredentials | undefined,
): AuthorizationServerConfigResult {
  const raw: Record<string, unknown> = { ...serve.authorizationServer, issuer: publicUrl };
  const own = {
    clients: Array.isArray(raw.clients) ? raw.clients.length : 0,
    users: Array.isArray(raw.users) ? raw.users.length : 0,
    resources: Array.isArray(raw.resources) ? raw.resources.length : 0,
  };
  appendUnless(raw, 'resources', 'identifier', { identifier: apiResource(publicUrl) });
  if (demo !== undefined) {
    for (const client of demoClients(publicUrl, demo)) appendUnless(raw, 'clients', 'client_id', client);
    appendUnless(raw, 'users', 'username', {
      username: serve.demo.username,
      password_hash: demo.passwordHash,
      sub: serve.demo.username,
    });
  }
  try {
    return { config: parseServerConfig(raw, { resolveSecret: serve.resolveSecret }), issues: [] };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { issues: e.issues.map((issue) => placeIssue(issue, own, raw)) };
  }
}

/** Paths of the file's own entries go under authorization_server.; those serve added under demo. */
function placeIssue(
  issue: { path: string; message: string },
  own: { clients: number; users: number; resources: number },
  raw: Record<string, unknown>,
): ConfigIssue {
  const m = /^(clients|users|resources)\[(\d+)\](.*)$/.exec(issue.path);
  if (m !== null && Number(m[2]) >= own[m[1] as keyof typeof own]) {
    const entry = (raw[m[1]!] as Record<string, unknown>[])[Number(m[2])];
    const name = entry?.client_id ?? entry?.username ?? entry?.identifier;
    const what = m[1] === 'clients' ? 'client' : m[1] === 'users' ? 'user' : 'resource';
    const field = m[3]!.replace(/^\./, '');
    return {
      path: m[1] === 'resources' ? 'server.public_url' : 'demo',
      message: `the ${what} serve adds (${String(name)})${field ? `, ${field}` : ''}: ${issue.message}`,
    };
  }
  const path =
    issue.path === '(root)' || issue.path === ''
      ? 'authorization_server'
      : `authorization_server.${issue.path}`;
  return { path, message: issue.message };
}
