// Which scope and which resource (audience, RFC 8707) a token is for: what the client asked for,
// within what the server offers and the client may have.
import type { ClientConfig } from '../clients/client.js';
import { parseScope } from '../clients/client.js';
import type { ResourceConfig } from '../config/server-config.js';
import { OAuthError } from '../http/oauth-error.js';
import type { Runtime } from '../server/runtime.js';

export function resolveScope(rt: Runtime, client: ClientConfig, requested: string | undefined): string {
  if (requested === undefined) return (client.scopes ?? []).join(' ');
  const scopes = parseScope(requested);
  if (scopes === undefined)
    throw new OAuthError('invalid_scope', 'scope must be space-separated scope tokens');
  const offered = rt.config.scopes;
  const unknown = scopes.filter(
    (s) => (offered.length > 0 && !offered.includes(s)) || (client.scopes && !client.scopes.includes(s)),
  );
  if (unknown.length > 0) {
    throw new OAuthError(
      'invalid_scope',
      `scope not allowed for this client: ${unknown.slice(0, 5).join(' ').slice(0, 200)}`,
    );
  }
  return scopes.join(' ');
}

/** A narrower scope on refresh (RFC 6749 §6): every requested scope must be in the original grant. */
export function narrowScope(granted: string, requested: string | undefined): string {
  if (requested === undefined) return granted;
  const scopes = parseScope(requested);
  if (scopes === undefined)
    throw new OAuthError('invalid_scope', 'scope must be space-separated scope tokens');
  const have = new Set(granted.split(' '));
  if (scopes.some((s) => !have.has(s)))
    throw new OAuthError('invalid_scope', 'scope exceeds what was originally granted');
  return scopes.join(' ');
}

export function resolveResource(
  rt: Runtime,
  client: ClientConfig,
  requested: string | undefined,
): ResourceConfig {
  if (requested === undefined) {
    const id = client.resources?.[0] ?? rt.config.defaultResource;
    if (id === undefined) return { identifier: rt.urls().issuer, accessTokenFormat: 'jwt' };
    return rt.resources.get(id)!;
  }
  const resource = rt.resources.get(requested);
  if (resource === undefined || (client.resources && !client.resources.includes(requested))) {
    throw new OAuthError(
      'invalid_target',
      'the resource is unknown or not allowed for this client (RFC 8707)',
    );
  }
  return resource;
}

export function resourceByIdentifier(rt: Runtime, identifier: string): ResourceConfig {
  return rt.resources.get(identifier) ?? { identifier, accessTokenFormat: 'jwt' };
}
