// Client authentication at the token, PAR, introspection and revocation endpoints (RFC 6749 §2.3,
// RFC 7523, RFC 8705 §2). Exactly one method per request; the method must be the one the client
// registered; every failure is the same invalid_client with the same description, so nothing tells
// which clients exist or how they authenticate (the reason is the error's code, never sent). Two
// methods in one request are invalid_request: that is about the request, not the client.
import { replayKey } from '@keybound/core';
import { invalidClient, isKeyboundError, OAuthError } from '../http/oauth-error.js';
import { sameDistinguishedName } from '../mtls/distinguished-name.js';
import { hasSubjectAltName } from '../mtls/peer-certificate.js';
import type { RequestContext } from '../server/request-context.js';
import { constantTimeEqual, sha256 } from '../tokens/hash.js';
import type { ClientConfig, TokenEndpointAuthMethod } from './client.js';
import { assertionClientId, JWT_BEARER, verifyClientAssertion } from './private-key-jwt.js';

export interface ClientAuthOptions {
  /** Whether public clients (token_endpoint_auth_method none) may use the endpoint. */
  allowPublic: boolean;
}

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="keybound", charset="UTF-8"' };

/** The same answer for every failure (see invalidClient); `code` keeps the reason for logs. */
function failed(usedBasic: boolean, code: string): OAuthError {
  return invalidClient(code, usedBasic ? BASIC_CHALLENGE : {});
}

function formDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Decodes `Authorization: Basic` (RFC 6749 §2.3.1: id and secret are form-encoded first). */
function parseBasic(header: string): { id: string; secret: string } | undefined {
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const id = formDecode(text.slice(0, colon));
  const secret = formDecode(text.slice(colon + 1));
  if (!id || secret === undefined) return undefined;
  return { id, secret };
}

/** Authenticates the client of a form request and sets ctx.client and ctx.authMethod. */
export async function authenticateClient(
  ctx: RequestContext,
  options: ClientAuthOptions,
): Promise<ClientConfig> {
  const params = ctx.params!;
  const authorization = ctx.req.headers.authorization;
  const usedBasic = authorization !== undefined;
  let basic: { id: string; secret: string } | undefined;
  if (authorization !== undefined) {
    basic = parseBasic(authorization);
    if (basic === undefined) {
      throw failed(
        true,
        /^Basic /i.test(authorization) ? 'basic_credentials_malformed' : 'authorization_scheme_unsupported',
      );
    }
  }
  const postSecret = params.get('client_secret');
  const assertionType = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if ((assertionType === undefined) !== (assertion === undefined)) {
    throw new OAuthError('invalid_request', 'client_assertion and client_assertion_type go together');
  }
  if (assertionType !== undefined && assertionType !== JWT_BEARER) {
    throw failed(usedBasic, 'client_assertion_type_unsupported');
  }
  const presented = [basic, postSecret, assertion].filter((x) => x !== undefined).length;
  if (presented > 1)
    throw new OAuthError(
      'invalid_request',
      'more than one client authentication method was used (RFC 6749 §2.3)',
    );

  const paramId = params.get('client_id');
  const claimedId =
    basic?.id ?? (assertion !== undefined ? assertionClientId(assertion) : undefined) ?? paramId;
  if (claimedId === undefined) throw failed(usedBasic, 'client_authentication_missing');
  if (paramId !== undefined && paramId !== claimedId) {
    throw new OAuthError('invalid_request', 'client_id does not match the client that authenticated');
  }
  const client = await ctx.rt.clients.find(claimedId);
  if (client === undefined) throw failed(usedBasic, 'client_unknown');

  let method: TokenEndpointAuthMethod;
  if (basic) method = 'client_secret_basic';
  else if (postSecret !== undefined) method = 'client_secret_post';
  else if (assertion !== undefined) method = 'private_key_jwt';
  else if (client.authMethod === 'tls_client_auth' || client.authMethod === 'self_signed_tls_client_auth')
    method = client.authMethod;
  else method = 'none';
  if (method !== client.authMethod) {
    throw failed(usedBasic, 'client_auth_method_mismatch');
  }

  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post': {
      const secret = basic?.secret ?? postSecret!;
      if (client.secretHash === undefined || !constantTimeEqual(sha256(secret), client.secretHash))
        throw failed(usedBasic, 'client_secret_mismatch');
      break;
    }
    case 'private_key_jwt': {
      const urls = ctx.rt.urls();
      const audiences = [urls.issuer, urls.token, ctx.endpoints.token, currentEndpointUrl(ctx)];
      const keys = ctx.rt.clients.assertionKeys.for(client);
      ctx.pendingAssertion = await verifyClientAssertion(assertion!, client, keys, {
        audiences: [...new Set(audiences)],
        now: ctx.now,
        clockSkew: ctx.rt.config.dpop.clockSkewSeconds,
      });
      break;
    }
    case 'tls_client_auth': {
      const cert = await ctx.rt.certificates.read(ctx);
      if (cert === undefined) throw failed(usedBasic, 'client_certificate_missing');
      if (!cert.trusted) throw failed(usedBasic, 'client_certificate_untrusted');
      const matches =
        client.tlsSubjectDn !== undefined
          ? sameDistinguishedName(cert.x509.subject, client.tlsSubjectDn)
          : hasSubjectAltName(cert.x509, client.tlsSan!);
      if (!matches) throw failed(usedBasic, 'client_certificate_subject_mismatch');
      break;
    }
    case 'self_signed_tls_client_auth': {
      const cert = await ctx.rt.certificates.read(ctx);
      if (cert === undefined) throw failed(usedBasic, 'client_certificate_missing');
      if (!(await ctx.rt.clients.certificateIsRegistered(client, cert.der))) {
        throw failed(usedBasic, 'client_certificate_unregistered');
      }
      break;
    }
    case 'none':
      if (!options.allowPublic) throw failed(usedBasic, 'public_client_not_allowed');
      break;
  }
  ctx.client = client;
  ctx.authMethod = method;
  return client;
}

function currentEndpointUrl(ctx: RequestContext): string {
  const e = ctx.endpoints;
  const path = ctx.url.pathname;
  for (const url of [e.token, e.pushedAuthorizationRequest, e.introspection, e.revocation]) {
    if (new URL(url).pathname === path) return url;
  }
  return e.token;
}

/**
 * Records the private_key_jwt jti. Runs after the DPoP check: a request refused with
 * use_dpop_nonce has not spent its assertion, so the client may resend it with the nonce.
 */
export async function recordAssertion(ctx: RequestContext): Promise<void> {
  const pending = ctx.pendingAssertion;
  if (pending === undefined) return;
  const ttlMs = Math.max(
    1000,
    Math.ceil((pending.exp + ctx.rt.config.dpop.clockSkewSeconds - ctx.now) * 1000),
  );
  let first: boolean;
  try {
    first = await ctx.rt.replay.setIfAbsent(
      `client_assertion:${replayKey(ctx.client!.clientId, pending.jti)}`,
      ttlMs,
    );
  } catch (e) {
    throw new OAuthError(
      'temporarily_unavailable',
      'the replay store could not be reached; the request is refused',
      {
        status: 503,
        code: isKeyboundError(e) ? e.code : 'replay_store_unavailable',
      },
    );
  }
  if (!first) throw invalidClient('client_assertion_replayed');
  ctx.pendingAssertion = undefined;
}
