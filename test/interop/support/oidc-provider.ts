// oidc-provider 9 (npm) as a real third-party authorization server on 127.0.0.1:0: DPoP with
// required nonces, JWT access tokens for resource indicators (RFC 8707), client_credentials, and the
// code flow with a sign-in that stands in for the host application's (the interaction route below
// signs the browser in as one user and grants the scopes it asks for, through oidc-provider's API).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { listenOnLoopback } from './keybound.js';

export const OP_SECRET = 'oidc-provider-client-secret-0123456789';
export const OP_USER = 'op-user-1';
/** The resource server's own client at oidc-provider, for RFC 7662 introspection. */
export const OP_RS_CLIENT = 'op-resource-server';
export const OP_RS_SECRET = 'oidc-provider-rs-secret-0123456789ab';

export interface RunningOidcProvider {
  issuer: string;
  jwksUri: string;
  introspectionEndpoint: string;
  /** The oidc-provider instance (untyped: the package ships no declarations). */
  provider: unknown;
}

export interface OidcProviderOptions {
  /** Resource indicators the provider issues JWT access tokens for (the first is the default). */
  resources: string[];
  /** Of those, the ones that get opaque access tokens (checked by introspection) instead of JWTs. */
  opaqueResources?: string[];
  redirectUri: string;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  const { origin: issuer, handle } = await listenOnLoopback();
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'op-es256', alg: 'ES256', use: 'sig' };
  const [defaultResource] = options.resources;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'op-service',
        client_secret: OP_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        dpop_bound_access_tokens: true,
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: 'op-app',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [options.redirectUri],
        dpop_bound_access_tokens: true,
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: OP_RS_CLIENT,
        client_secret: OP_RS_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      ClientCredentials: 300,
      Grant: 3600,
      IdToken: 300,
      Interaction: 600,
      RefreshToken: 3600,
      Session: 3600,
    },
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(grant: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: (ctx: { oidc: { client: { clientId: string } } }) =>
          Promise.resolve(ctx.oidc.client.clientId === OP_RS_CLIENT),
      },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => defaultResource!,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          if (!options.resources.includes(resourceIndicator)) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'read write',
            audience: resourceIndicator,
            accessTokenTTL: 300,
            ...(options.opaqueResources?.includes(resourceIndicator)
              ? { accessTokenFormat: 'opaque' }
              : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
          };
        },
      },
    },
  });
  provider.on('server_error', (_ctx: unknown, error: unknown) =>
    console.error('oidc-provider server_error', error),
  );
  const callback = provider.callback();

  /** The host application's sign-in and consent, done through oidc-provider's interaction API. */
  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: OP_USER } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: details.session!.accountId,
          clientId: details.params.client_id as string,
        });
    if (grant === undefined) throw new Error('interaction grant not found');
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  handle((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((e: unknown) => {
        console.error('interaction failed', e);
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    callback(req, res);
  });
  const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
    introspection_endpoint: string;
  };
  return {
    issuer,
    jwksUri: metadata.jwks_uri,
    introspectionEndpoint: metadata.introspection_endpoint,
    provider,
  };
}

/** Follows the browser's redirects through oidc-provider (cookies kept) until one leaves it. */
export async function followAuthorization(authorizationUrl: string, issuer: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(authorizationUrl);
  for (let hop = 0; hop < 10; hop++) {
    if (url.origin !== new URL(issuer).origin) return url;
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || location === null)
      throw new Error(
        `oidc-provider answered ${res.status} at ${url.pathname}: ${(await res.text()).slice(0, 300)}`,
      );
    await res.body?.cancel();
    url = new URL(location, url);
  }
  throw new Error('too many redirects at oidc-provider');
}
