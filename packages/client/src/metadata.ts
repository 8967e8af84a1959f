// Authorization server metadata (RFC 8414), checked before it is trusted: the issuer must be the
// one asked for, and every endpoint must be an https URL (http only on loopback hosts, for tests
// and local development).
import { KeyboundError } from '@keybound/core';

export interface MtlsEndpointAliases {
  token_endpoint?: string;
  pushed_authorization_request_endpoint?: string;
  revocation_endpoint?: string;
  introspection_endpoint?: string;
  [name: string]: string | undefined;
}

export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  authorization_endpoint?: string;
  pushed_authorization_request_endpoint?: string;
  require_pushed_authorization_requests?: boolean;
  revocation_endpoint?: string;
  introspection_endpoint?: string;
  jwks_uri?: string;
  token_endpoint_auth_methods_supported?: string[];
  dpop_signing_alg_values_supported?: string[];
  code_challenge_methods_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
  tls_client_certificate_bound_access_tokens?: boolean;
  mtls_endpoint_aliases?: MtlsEndpointAliases;
  [member: string]: unknown;
}

const ENDPOINTS = [
  'token_endpoint',
  'authorization_endpoint',
  'pushed_authorization_request_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
  'jwks_uri',
] as const;

const STRING_LISTS = [
  'token_endpoint_auth_methods_supported',
  'dpop_signing_alg_values_supported',
  'code_challenge_methods_supported',
] as const;

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** True for https URLs, and for http URLs on a loopback host. */
export function isAcceptableEndpoint(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

function invalid(member: string, expected: string, received: unknown): never {
  const shown =
    typeof received === 'string'
      ? received.slice(0, 200)
      : received === undefined
        ? 'nothing'
        : typeof received;
  throw new KeyboundError('metadata_invalid', `metadata member ${member} is not ${expected}`, {
    member,
    expected,
    received: shown,
  });
}

/** Checks metadata from a server (or from configuration) and returns it typed. */
export function validateMetadata(
  value: Record<string, unknown>,
  expectedIssuer: string,
): AuthorizationServerMetadata {
  if (value.issuer !== expectedIssuer) invalid('issuer', `exactly ${expectedIssuer}`, value.issuer);
  if (!isAcceptableEndpoint(value.issuer)) invalid('issuer', 'an https URL', value.issuer);
  if (value.token_endpoint === undefined) invalid('token_endpoint', 'present', undefined);
  for (const name of ENDPOINTS) {
    if (value[name] !== undefined && !isAcceptableEndpoint(value[name]))
      invalid(name, 'an https URL', value[name]);
  }
  for (const name of STRING_LISTS) {
    const list = value[name];
    if (list !== undefined && (!Array.isArray(list) || !list.every((v) => typeof v === 'string'))) {
      invalid(name, 'an array of strings', list);
    }
  }
  for (const name of [
    'require_pushed_authorization_requests',
    'authorization_response_iss_parameter_supported',
  ]) {
    if (value[name] !== undefined && typeof value[name] !== 'boolean')
      invalid(name, 'a boolean', value[name]);
  }
  const aliases = value.mtls_endpoint_aliases;
  if (aliases !== undefined) {
    if (typeof aliases !== 'object' || aliases === null || Array.isArray(aliases)) {
      invalid('mtls_endpoint_aliases', 'an object', aliases);
    }
    for (const [name, url] of Object.entries(aliases as Record<string, unknown>)) {
      if (!isAcceptableEndpoint(url)) invalid(`mtls_endpoint_aliases.${name}`, 'an https URL', url);
    }
  }
  return value as AuthorizationServerMetadata;
}

export type EndpointName =
  | 'token_endpoint'
  | 'authorization_endpoint'
  | 'pushed_authorization_request_endpoint'
  | 'revocation_endpoint'
  | 'introspection_endpoint';

/**
 * The URL to use for an endpoint. With mTLS, RFC 8705 §5: the alias in mtls_endpoint_aliases when
 * there is one, else the ordinary endpoint. The authorization endpoint is never aliased (browsers go there).
 */
export function endpointUrl(
  metadata: AuthorizationServerMetadata,
  name: EndpointName,
  mtls: boolean,
): string {
  const alias =
    mtls && name !== 'authorization_endpoint' ? metadata.mtls_endpoint_aliases?.[name] : undefined;
  const url = alias ?? metadata[name];
  if (typeof url !== 'string') {
    throw new KeyboundError('metadata_invalid', `the authorization server metadata has no ${name}`, {
      member: name,
      expected: 'present',
      received: 'nothing',
    });
  }
  return url;
}
