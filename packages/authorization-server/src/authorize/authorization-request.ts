// Validation of an authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 8707, RFC 9449 §10),
// the same whether it arrives at the authorization endpoint or is pushed (RFC 9126). Errors about
// the client or the redirect URI are never redirected (RFC 6749 §4.1.2.1); the others are.
import type { ClientConfig } from '../clients/client.js';
import { resolveResource, resolveScope } from '../grants/scope-and-resource.js';
import { OAuthError } from '../http/oauth-error.js';
import type { Params } from '../http/parse-form.js';
import type { Runtime } from '../server/runtime.js';

export interface AuthorizationRequest {
  clientId: string;
  /** Where the response goes. */
  redirectUri: string;
  /** Whether the request named the redirect URI (then the token request must repeat it). */
  redirectUriGiven: boolean;
  scope: string;
  state?: string | undefined;
  codeChallenge: string;
  /** RFC 9449 §10: the key the code will be bound to. */
  dpopJkt?: string | undefined;
  resource: string;
}

/** An error shown to the user, never sent to the redirect URI. */
export class NonRedirectableError extends Error {
  override readonly name = 'NonRedirectableError';
}

/** An error sent to the client's redirect URI. */
export class RedirectableError extends Error {
  override readonly name = 'RedirectableError';
  readonly oauth: OAuthError;
  readonly redirectUri: string;
  readonly state: string | undefined;

  constructor(oauth: OAuthError, redirectUri: string, state: string | undefined) {
    super(oauth.message);
    this.oauth = oauth;
    this.redirectUri = redirectUri;
    this.state = state;
  }
}

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const JKT = /^[A-Za-z0-9_-]{43}$/;

function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]');
}

/**
 * RFC 9700 §2.1 exact matching; loopback IP redirect URIs may use any port (RFC 8252 §7.3). A URI
 * with a fragment (even an empty one) never matches, given or registered (RFC 6749 §3.1.2).
 */
export function matchRedirectUri(client: ClientConfig, given: string): boolean {
  if (given.includes('#')) return false;
  if (client.redirectUris.includes(given)) return true;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return false;
  }
  // loopback URIs match on any port (RFC 8252 §7.3), never with userinfo added
  if (!isLoopback(url) || url.username !== '' || url.password !== '') return false;
  return client.redirectUris.some((r) => {
    if (r.includes('#')) return false;
    const reg = new URL(r);
    return (
      isLoopback(reg) &&
      reg.hostname === url.hostname &&
      reg.pathname === url.pathname &&
      reg.search === url.search
    );
  });
}

/** Resolves the client and the redirect URI; failures are NonRedirectableError. */
export async function resolveClientAndRedirect(
  rt: Runtime,
  clientId: string | undefined,
  redirectUri: string | undefined,
  known?: ClientConfig,
): Promise<{ client: ClientConfig; redirectUri: string; given: boolean }> {
  if (clientId === undefined) throw new NonRedirectableError('The request has no client_id.');
  const client = known ?? (await rt.clients.find(clientId));
  if (client === undefined)
    throw new NonRedirectableError('The application (client_id) is not known to this server.');
  if (redirectUri !== undefined) {
    if (!matchRedirectUri(client, redirectUri)) {
      throw new NonRedirectableError('The redirect_uri is not registered for this application.');
    }
    return { client, redirectUri, given: true };
  }
  if (client.redirectUris.length !== 1) {
    throw new NonRedirectableError(
      'The request must name a redirect_uri: this application registered several (or none).',
    );
  }
  return { client, redirectUri: client.redirectUris[0]!, given: false };
}

/**
 * Validates the remaining parameters. `pushed` is set for PAR (then `request_uri` is refused and
 * errors are answered as JSON by the caller); `proofJkt` is the thumbprint of the PAR's DPoP proof.
 */
export function validateAuthorizationParams(
  rt: Runtime,
  client: ClientConfig,
  target: { redirectUri: string; given: boolean },
  params: Params,
  options: { pushed: boolean; proofJkt?: string | undefined },
): AuthorizationRequest {
  const state = params.get('state');
  const fail = (error: OAuthError['error'], description: string): never => {
    throw new RedirectableError(new OAuthError(error, description), target.redirectUri, state);
  };
  const responseType = params.get('response_type');
  if (responseType === undefined) fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') fail('unsupported_response_type', 'only response_type=code is supported');
  if (params.has('request')) fail('request_not_supported', 'request objects are not supported');
  if (options.pushed && params.has('request_uri'))
    fail('invalid_request', 'request_uri is not allowed in a pushed request');
  if (!client.grantTypes.includes('authorization_code')) {
    fail('unauthorized_client', 'this client may not use the authorization code grant');
  }
  if (!options.pushed && (rt.config.par.required || client.requirePar)) {
    fail('invalid_request', 'this client must push its authorization requests (PAR, RFC 9126)');
  }
  const challenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (challenge === undefined) fail('invalid_request', 'code_challenge is required (PKCE with S256)');
  if (method !== 'S256') fail('invalid_request', 'code_challenge_method must be S256');
  if (!CHALLENGE.test(challenge!))
    fail('invalid_request', 'code_challenge must be 43 base64url characters (S256)');
  let scope = '';
  let resource = '';
  try {
    scope = resolveScope(rt, client, params.get('scope'));
    resource = resolveResource(rt, client, params.get('resource')).identifier;
  } catch (e) {
    if (e instanceof OAuthError) fail(e.error, e.message);
    throw e;
  }
  let dpopJkt = params.get('dpop_jkt');
  if (dpopJkt !== undefined && !JKT.test(dpopJkt))
    fail('invalid_request', 'dpop_jkt must be a base64url SHA-256 JWK thumbprint');
  if (options.proofJkt !== undefined) {
    if (dpopJkt !== undefined && dpopJkt !== options.proofJkt) {
      fail('invalid_request', 'dpop_jkt does not match the key of the DPoP proof (RFC 9449 §10.1)');
    }
    dpopJkt = options.proofJkt;
  }
  return {
    clientId: client.clientId,
    redirectUri: target.redirectUri,
    redirectUriGiven: target.given,
    scope,
    state,
    codeChallenge: challenge!,
    dpopJkt,
    resource,
  };
}

/** The redirect to the client with an error (RFC 6749 §4.1.2.1, RFC 9207 iss). */
export function errorRedirect(e: RedirectableError, issuer: string): string {
  const url = new URL(e.redirectUri);
  url.searchParams.append('error', e.oauth.error);
  url.searchParams.append('error_description', e.oauth.message);
  if (e.state !== undefined) url.searchParams.append('state', e.state);
  url.searchParams.append('iss', issuer);
  return url.toString();
}
