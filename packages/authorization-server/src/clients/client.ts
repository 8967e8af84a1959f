// The client model: the same validated shape for clients from the configuration and clients
// registered at runtime (RFC 7591), with RFC 7591 / RFC 8705 / RFC 9449 metadata names.
import { isIP } from 'node:net';
import { KeyboundError, parsePublicJwk } from '@keybound/core';
import type { Issues, ObjectReader } from '../config/config-reader.js';
import { parseDistinguishedName } from '../mtls/distinguished-name.js';
import { sha256 } from '../tokens/hash.js';

export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
] as const;
export type TokenEndpointAuthMethod = (typeof AUTH_METHODS)[number];

export const GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export const SAN_FIELDS = {
  tls_client_auth_san_dns: 'dns',
  tls_client_auth_san_uri: 'uri',
  tls_client_auth_san_ip: 'ip',
  tls_client_auth_san_email: 'email',
} as const;
export type SanType = (typeof SAN_FIELDS)[keyof typeof SAN_FIELDS];

export interface ClientConfig {
  clientId: string;
  /** SHA-256 (base64url) of the client secret (client_secret_basic / client_secret_post). */
  secretHash?: string | undefined;
  authMethod: TokenEndpointAuthMethod;
  grantTypes: GrantType[];
  redirectUris: string[];
  /** Scopes the client may request (and gets when it asks for none); undefined: every scope. */
  scopes?: string[] | undefined;
  /** Resources (audiences) the client may request; undefined: every configured resource. */
  resources?: string[] | undefined;
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  jwksUri?: string | undefined;
  tlsSubjectDn?: string | undefined;
  tlsSan?: { type: SanType; value: string } | undefined;
  /** RFC 9449 §5.2: token requests without a DPoP proof are refused. */
  dpopBound: boolean;
  /** RFC 8705 §3.4: tokens are bound to the client certificate. */
  certBound: boolean;
  requireDpopNonce: boolean;
  requirePar: boolean;
  name?: string | undefined;
  /** The metadata as registered, RFC 7591 names (what the registration response echoes). */
  metadata: Record<string, unknown>;
}

export const isPublicClient = (c: ClientConfig) => c.authMethod === 'none';

const CLIENT_ID = /^[\x21-\x7e]{1,200}$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A redirect URI a client may register (RFC 9700 §4.1.3, RFC 8252 §7). */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.hash !== '' || uri.includes('#')) return 'must not contain a fragment';
  // http://evil.example@127.0.0.1/cb reads as another host to a person and to careless parsers
  if (url.username !== '' || url.password !== '') return 'must not contain userinfo (user@host)';
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https') return undefined;
  if (scheme === 'http') {
    const host = url.hostname;
    if (host === '127.0.0.1' || host === '[::1]' || host === 'localhost') return undefined;
    return 'http is allowed only for loopback addresses (127.0.0.1, [::1], localhost)';
  }
  // private-use schemes of native apps are reverse domain names (RFC 8252 §7.1)
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/.test(scheme)) return undefined;
  return `the scheme "${scheme}" is not allowed (https, loopback http, or a reverse-domain private-use scheme)`;
}

/** An absolute https URL without a fragment (what jwks_uri must be). */
function isHttpsUrl(uri: string): boolean {
  if (!URL.canParse(uri) || uri.includes('#')) return false;
  const url = new URL(uri);
  return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '';
}

export function parseScope(scope: string): string[] | undefined {
  const parts = scope.split(' ');
  if (parts.some((p) => !SCOPE_TOKEN.test(p))) return undefined;
  return [...new Set(parts)];
}

export interface ClientValidationContext {
  mode: 'config' | 'registration';
  /** Server scopes (empty: any). */
  scopes: readonly string[];
  resources: readonly string[];
  /** Whether an mTLS listener or forwarded certificates are configured. */
  mtlsAvailable: boolean;
  /**
   * Whether tls_client_auth certificates can be verified: CAs are configured (mtls.ca,
   * listeners.mtls.tls.ca) or the proxy verifies forwarded ones (mtls.forwarded.verified_by_proxy).
   */
  tlsTrustAnchors: boolean;
}

/**
 * Validates client metadata. In config mode the client_id and secret come from the file and
 * unknown fields are errors; in registration mode they are issued by the server and unknown
 * metadata is ignored (RFC 7591 §2). Problems are added to the reader's issues.
 */
export function readClientMetadata(
  r: ObjectReader,
  ctx: ClientValidationContext,
  issued?: { clientId: string; secret?: string },
): ClientConfig | undefined {
  const before = r.issues.list.length;
  const issues: Issues = r.issues;
  const metadata: Record<string, unknown> = {};
  const clientId =
    ctx.mode === 'config'
      ? r.string('client_id', {
          required: true,
          pattern: CLIENT_ID,
          patternText: '1 to 200 printable ASCII characters',
        })
      : issued?.clientId;

  const authMethod = r.oneOf('token_endpoint_auth_method', AUTH_METHODS, 'client_secret_basic')!;
  metadata.token_endpoint_auth_method = authMethod;

  let secret: string | undefined;
  if (ctx.mode === 'config') {
    secret = r.string('client_secret', { secret: true });
    if (
      (authMethod === 'client_secret_basic' || authMethod === 'client_secret_post') &&
      !r.has('client_secret')
    ) {
      issues.add(r.at('client_secret'), `is required for token_endpoint_auth_method ${authMethod}`);
    }
    if (secret !== undefined && authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') {
      issues.add(r.at('client_secret'), `is not used with token_endpoint_auth_method ${authMethod}`);
    }
  } else {
    if (r.has('client_id') || r.has('client_secret')) {
      issues.add(
        r.at(r.has('client_id') ? 'client_id' : 'client_secret'),
        'is issued by the server, not chosen by the client',
      );
    }
    secret = issued?.secret;
  }

  const grantTypes = (r.stringList('grant_types', { allowed: GRANT_TYPES }) ?? [
    'authorization_code',
  ]) as GrantType[];
  metadata.grant_types = grantTypes;
  if (grantTypes.length === 0) issues.add(r.at('grant_types'), 'must not be empty');
  if (authMethod === 'none' && grantTypes.includes('client_credentials')) {
    issues.add(
      r.at('grant_types'),
      'client_credentials needs an authenticated client, not token_endpoint_auth_method none',
    );
  }
  const responseTypes = r.stringList('response_types', { allowed: ['code'] });
  const wantsCode = grantTypes.includes('authorization_code');
  if (responseTypes !== undefined && responseTypes.includes('code') !== wantsCode) {
    issues.add(
      r.at('response_types'),
      'must be ["code"] exactly when grant_types includes authorization_code',
    );
  }
  if (wantsCode) metadata.response_types = ['code'];

  const redirectUris = r.stringList('redirect_uris') ?? [];
  redirectUris.forEach((uri, i) => {
    const problem = redirectUriProblem(uri);
    if (problem) issues.add(`${r.at('redirect_uris')}[${i}]`, problem);
  });
  if (wantsCode && redirectUris.length === 0)
    issues.add(r.at('redirect_uris'), 'is required for authorization_code');
  if (redirectUris.length > 0) metadata.redirect_uris = redirectUris;

  let scopes: string[] | undefined;
  const scope = r.string('scope', { max: 2000 });
  if (scope !== undefined) {
    scopes = parseScope(scope);
    if (scopes === undefined) issues.add(r.at('scope'), 'expected space-separated scope tokens');
    else if (ctx.scopes.length > 0) {
      const unknown = scopes.filter((s) => !ctx.scopes.includes(s));
      if (unknown.length > 0)
        issues.add(r.at('scope'), `names scopes the server does not offer: ${unknown.join(' ')}`);
    }
    if (scopes) metadata.scope = scopes.join(' ');
  }

  let resources: string[] | undefined;
  if (r.has('resources')) {
    resources = r.stringList('resources') ?? [];
    resources.forEach((res, i) => {
      if (!ctx.resources.includes(res))
        issues.add(`${r.at('resources')}[${i}]`, `is not a configured resource: ${res}`);
    });
    metadata.resources = resources;
  }

  let jwks: ClientConfig['jwks'];
  if (r.has('jwks')) {
    const raw = r.raw('jwks');
    const keys = (raw as { keys?: unknown } | null)?.keys;
    if (typeof raw !== 'object' || raw === null || !Array.isArray(keys) || keys.length === 0) {
      issues.add(r.at('jwks'), 'expected a JWK Set: {"keys": [ … ]} with at least one key');
    } else if (keys.length > 20) {
      issues.add(r.at('jwks'), 'holds more than 20 keys');
    } else {
      keys.forEach((k, i) => {
        try {
          parsePublicJwk(k);
        } catch (e) {
          issues.add(
            `${r.at('jwks')}.keys[${i}]`,
            e instanceof KeyboundError ? e.message : 'is not a public JWK',
          );
        }
      });
      jwks = { keys: keys as Record<string, unknown>[] };
      metadata.jwks = jwks;
    }
  }
  const jwksUri = r.string('jwks_uri', { max: 2000 });
  if (jwksUri !== undefined) {
    // https only, loopback included: the keys that authenticate the client must not travel in clear
    if (!isHttpsUrl(jwksUri)) issues.add(r.at('jwks_uri'), 'must be an https URL');
    else metadata.jwks_uri = jwksUri;
  }
  if (jwks && jwksUri) issues.add(r.at('jwks_uri'), 'jwks and jwks_uri must not both be given (RFC 7591 §2)');
  if (
    (authMethod === 'private_key_jwt' || authMethod === 'self_signed_tls_client_auth') &&
    !jwks &&
    !jwksUri
  ) {
    issues.add(r.at('jwks'), `jwks or jwks_uri is required for token_endpoint_auth_method ${authMethod}`);
  }

  const dn = r.string('tls_client_auth_subject_dn', { max: 1000 });
  if (dn !== undefined) {
    if (parseDistinguishedName(dn) === undefined) {
      issues.add(
        r.at('tls_client_auth_subject_dn'),
        'is not a distinguished name (RFC 4514, e.g. "CN=client,O=Example")',
      );
    } else metadata.tls_client_auth_subject_dn = dn;
  }
  let tlsSan: ClientConfig['tlsSan'];
  for (const [field, type] of Object.entries(SAN_FIELDS)) {
    const v = r.string(field, { max: 1000 });
    if (v === undefined) continue;
    if (type === 'ip' && isIP(v) === 0) issues.add(r.at(field), 'is not an IP address');
    else if (type === 'email' && !/^[^@\s]+@[^@\s]+$/.test(v))
      issues.add(r.at(field), 'is not an email address');
    else if (type === 'uri' && !URL.canParse(v)) issues.add(r.at(field), 'is not an absolute URI');
    metadata[field] = v;
    if (tlsSan !== undefined || dn !== undefined) {
      issues.add(
        r.at(field),
        'only one of tls_client_auth_subject_dn and the tls_client_auth_san_* fields may be given',
      );
    }
    tlsSan = { type, value: type === 'ip' ? v : v };
  }
  if (authMethod === 'tls_client_auth' && dn === undefined && tlsSan === undefined) {
    issues.add(
      r.path || '(client)',
      'tls_client_auth needs tls_client_auth_subject_dn or one tls_client_auth_san_* field',
    );
  }
  if (authMethod !== 'tls_client_auth' && (dn !== undefined || tlsSan !== undefined)) {
    issues.add(
      r.path || '(client)',
      'tls_client_auth_* fields are only used with token_endpoint_auth_method tls_client_auth',
    );
  }

  const dpopBound = r.boolean('dpop_bound_access_tokens', false);
  const certBound = r.boolean('tls_client_certificate_bound_access_tokens', false);
  if (dpopBound) metadata.dpop_bound_access_tokens = true;
  if (certBound) metadata.tls_client_certificate_bound_access_tokens = true;
  if ((certBound || authMethod.includes('tls_client_auth')) && !ctx.mtlsAvailable) {
    issues.add(
      r.path || '(client)',
      'mutual TLS is not available: configure listeners.mtls or mtls.forwarded for certificate-bound tokens and tls client authentication',
    );
  }
  if (authMethod === 'tls_client_auth' && ctx.mtlsAvailable && !ctx.tlsTrustAnchors) {
    issues.add(
      r.at('token_endpoint_auth_method'),
      'tls_client_auth needs trust anchors: configure mtls.ca (or listeners.mtls.tls.ca) with the CAs that issue client certificates',
    );
  }
  const requireDpopNonce = r.boolean('require_dpop_nonce', false);
  if (requireDpopNonce) metadata.require_dpop_nonce = true;
  const requirePar = r.boolean('require_pushed_authorization_requests', false);
  if (requirePar) metadata.require_pushed_authorization_requests = true;
  const name = r.string('client_name', { max: 200 });
  if (name !== undefined) metadata.client_name = name;

  if (ctx.mode === 'config') r.done();
  if (r.issues.list.length > before || clientId === undefined) return undefined;
  return {
    clientId,
    secretHash: secret === undefined ? undefined : sha256(secret),
    authMethod,
    grantTypes,
    redirectUris,
    scopes,
    resources,
    jwks,
    jwksUri,
    tlsSubjectDn: dn,
    tlsSan,
    dpopBound,
    certBound,
    requireDpopNonce,
    requirePar,
    name,
    metadata,
  };
}
