// Authorization server metadata (RFC 8414), with the DPoP (RFC 9449 §5.1), mTLS (RFC 8705 §3.3,
// §5), PAR (RFC 9126 §5) and RFC 9207 members.
import { AUTH_METHODS } from '../clients/client.js';
import { sendJson } from '../http/respond.js';
import type { Endpoint } from '../server/request-context.js';
import type { Runtime } from '../server/runtime.js';

const CLIENT_AUTH_SIGNING_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
];

export function buildMetadata(rt: Runtime): Record<string, unknown> {
  const urls = rt.urls();
  const { config } = rt;
  const mtlsAvailable = config.listeners.mtls !== undefined || config.mtls.forwarded !== undefined;
  const authMethods = AUTH_METHODS.filter((m) => mtlsAvailable || !m.includes('tls_client_auth'));
  const endpointAuth = authMethods.filter((m) => m !== 'none');
  const m: Record<string, unknown> = {
    issuer: urls.issuer,
    authorization_endpoint: urls.authorization,
    token_endpoint: urls.token,
    jwks_uri: urls.jwks,
    pushed_authorization_request_endpoint: urls.pushedAuthorizationRequest,
    require_pushed_authorization_requests: config.par.required,
    introspection_endpoint: urls.introspection,
    revocation_endpoint: urls.revocation,
  };
  if (urls.registration) m.registration_endpoint = urls.registration;
  if (config.scopes.length > 0) m.scopes_supported = config.scopes;
  Object.assign(m, {
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: CLIENT_AUTH_SIGNING_ALGS,
    introspection_endpoint_auth_methods_supported: endpointAuth,
    introspection_endpoint_auth_signing_alg_values_supported: CLIENT_AUTH_SIGNING_ALGS,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: CLIENT_AUTH_SIGNING_ALGS,
    dpop_signing_alg_values_supported: config.dpop.algorithms,
    tls_client_certificate_bound_access_tokens: mtlsAvailable,
    authorization_response_iss_parameter_supported: true,
  });
  if (config.resources.length > 0) m.resource_indicators_supported = true;
  if (urls.mtls) {
    const aliases: Record<string, string> = {
      token_endpoint: urls.mtls.token,
      pushed_authorization_request_endpoint: urls.mtls.pushedAuthorizationRequest,
      introspection_endpoint: urls.mtls.introspection,
      revocation_endpoint: urls.mtls.revocation,
    };
    if (urls.mtls.registration) aliases.registration_endpoint = urls.mtls.registration;
    m.mtls_endpoint_aliases = aliases;
  }
  return m;
}

export const metadataEndpoint: Endpoint = {
  name: 'metadata',
  methods: ['GET', 'HEAD'],
  cors: true,
  steps: [
    ['respond', (ctx) => sendJson(ctx.res, 200, buildMetadata(ctx.rt), ctx.headers, 'public, max-age=300')],
  ],
};

export const jwksEndpoint: Endpoint = {
  name: 'jwks',
  methods: ['GET', 'HEAD'],
  cors: true,
  steps: [
    [
      'respond',
      (ctx) => {
        ctx.rt.keys.maybeReload(ctx.now);
        // short caching: a key added by rotation must reach resource servers quickly
        sendJson(
          ctx.res,
          200,
          ctx.rt.keys.jwks(ctx.now),
          { ...ctx.headers, 'Content-Type': 'application/jwk-set+json' },
          'public, max-age=60',
        );
      },
    ],
  ],
};
