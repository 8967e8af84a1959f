// A small but real authorization server and resource server for the client tests. Proofs are
// verified with core's verifyProof (signature, htm, htu, iat window, ath, replay), nonces come from
// core's NonceManager, client assertions are verified with jose, certificates are read from TLS.
// Both can run on a skewed clock, count what they receive, and be told to misbehave.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  formatWwwAuthenticate,
  isKeyboundError,
  type KeyboundError,
  MemoryReplayStore,
  NonceManager,
  type VerifiedProof,
  verifyProof,
} from '@keybound/core';
import { importJWK, jwtVerify } from 'jose';
import {
  httpDate,
  type ListeningServer,
  listen,
  peerCertificate,
  readBody,
  sendJson,
  type TlsOptions,
} from './http-test-server.js';

export interface IssuedToken {
  clientId: string;
  jkt?: string;
  x5t?: string;
  scope?: string;
  /** Epoch seconds, server clock. */
  expiresAt: number;
}

/** Access tokens issued by the AS, looked up by the RS (as introspection would). */
export type TokenRegistry = Map<string, IssuedToken>;

export interface TestClient {
  auth: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'tls_client_auth';
  secret?: string;
  /** private_key_jwt: the client's public JWK and algorithm. */
  jwk?: Record<string, unknown>;
  alg?: string;
  redirectUris?: string[];
}

export interface RawResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | (() => AsyncIterable<Buffer>);
}

export interface TestAuthorizationServerOptions {
  clients: Record<string, TestClient>;
  tokens?: TokenRegistry;
  /** Whether the token endpoint insists on a server nonce (default true). */
  requireNonce?: boolean;
  /** The server's clock minus the real one, in seconds. */
  skewSeconds?: number;
  /** expires_in for each issued token (default 3600). */
  lifetime?: (grant: string, issuedSoFar: number) => number;
  /** Confidential clients may move their refresh token to a new key (default true). */
  allowRebind?: boolean;
  tls?: TlsOptions;
  /** Also listen on an https server that asks for client certificates and serve the mTLS aliases there. */
  mtlsAlias?: TlsOptions;
  /** Allowed browser origin (CORS). */
  corsOrigin?: string;
  /** Answer a token request with this instead (after counting it). */
  override?: (grant: string | undefined) => RawResponse | undefined;
  /** Extra metadata members. */
  metadata?: Record<string, unknown>;
}

export interface TokenEndpointRecord {
  grant: string | undefined;
  status: number;
  error?: string;
  proof?: VerifiedProof['claims'];
  jkt?: string;
  clientAssertionJti?: string;
  clientAuthenticated?: string;
  server: 'main' | 'mtls';
}

export interface TestAuthorizationServer {
  issuer: string;
  mtlsOrigin: string | undefined;
  tokens: TokenRegistry;
  requests: TokenEndpointRecord[];
  close(): Promise<void>;
}

const NONCE_SECRET = randomBytes(32);

export function x5tOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('base64url');
}

export function x5tOfPem(pem: string): string {
  return x5tOf(new X509Certificate(pem).raw);
}

function corsHeaders(origin: string | undefined, req: IncomingMessage): Record<string, string> {
  if (origin === undefined || req.headers.origin !== origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': 'DPoP-Nonce, WWW-Authenticate, Date',
    vary: 'Origin',
  };
}

function handlePreflight(origin: string | undefined, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, {
    ...corsHeaders(origin, req),
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
    'access-control-allow-headers': 'Authorization, DPoP, Content-Type',
    'access-control-max-age': '600',
  });
  res.end();
  return true;
}

async function writeRaw(res: ServerResponse, raw: RawResponse, extra: Record<string, string>): Promise<void> {
  res.writeHead(raw.status, { ...extra, ...raw.headers });
  if (typeof raw.body === 'function') {
    try {
      for await (const chunk of raw.body()) {
        if (res.destroyed) return;
        if (!res.write(chunk))
          await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      }
    } catch {
      return;
    }
    res.end();
  } else res.end(raw.body);
}

export async function startTestAuthorizationServer(
  options: TestAuthorizationServerOptions,
): Promise<TestAuthorizationServer> {
  const tokens: TokenRegistry = options.tokens ?? new Map();
  const skew = options.skewSeconds ?? 0;
  const requireNonce = options.requireNonce ?? true;
  const nonces = new NonceManager({ secrets: [NONCE_SECRET], context: 'as' });
  const replayStore = new MemoryReplayStore();
  const usedAssertions = new Set<string>();
  const codes = new Map<
    string,
    { clientId: string; redirectUri: string; challenge: string; dpopJkt?: string; scope?: string }
  >();
  const pushed = new Map<string, Record<string, string>>();
  const refreshTokens = new Map<string, { clientId: string; jkt?: string; scope?: string }>();
  const requests: TokenEndpointRecord[] = [];
  let issued = 0;
  const now = () => Date.now() / 1000 + skew;

  let issuer = '';
  let mtlsOrigin: string | undefined;

  const metadata = () => ({
    issuer,
    token_endpoint: `${issuer}/token`,
    authorization_endpoint: `${issuer}/authorize`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    token_endpoint_auth_methods_supported: [
      'none',
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'tls_client_auth',
    ],
    dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'PS256'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    ...(mtlsOrigin !== undefined
      ? {
          tls_client_certificate_bound_access_tokens: true,
          mtls_endpoint_aliases: {
            token_endpoint: `${mtlsOrigin}/token`,
            pushed_authorization_request_endpoint: `${mtlsOrigin}/par`,
          },
        }
      : {}),
    ...options.metadata,
  });

  const oauthError = (
    res: ServerResponse,
    status: number,
    error: string,
    description: string,
    headers: Record<string, string> = {},
  ) => sendJson(res, status, { error, error_description: description }, { date: httpDate(skew), ...headers });

  /** Client authentication; returns the client id or answers invalid_client. */
  async function authenticate(
    req: IncomingMessage,
    form: URLSearchParams,
    endpoint: string,
    record: TokenEndpointRecord,
  ): Promise<string | undefined> {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    let clientId = form.get('client_id') ?? undefined;
    let secret: string | undefined;
    if (basic) {
      const [id, pass] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent((id ?? '').replace(/\+/g, ' '));
      secret = decodeURIComponent((pass ?? '').replace(/\+/g, ' '));
    }
    const client = clientId === undefined ? undefined : options.clients[clientId];
    if (client === undefined || clientId === undefined) return undefined;
    switch (client.auth) {
      case 'none':
        return basic || form.has('client_secret') ? undefined : clientId;
      case 'client_secret_basic':
        return basic && secret === client.secret ? clientId : undefined;
      case 'client_secret_post':
        return !basic && form.get('client_secret') === client.secret ? clientId : undefined;
      case 'private_key_jwt': {
        if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
          return undefined;
        try {
          const key = await importJWK(client.jwk as Parameters<typeof importJWK>[0], client.alg);
          const { payload } = await jwtVerify(form.get('client_assertion') ?? '', key, {
            issuer: clientId,
            subject: clientId,
            audience: [issuer, endpoint],
            currentDate: new Date(now() * 1000),
            algorithms: [client.alg ?? 'ES256'],
          });
          if (typeof payload.jti !== 'string' || usedAssertions.has(payload.jti)) return undefined;
          usedAssertions.add(payload.jti);
          record.clientAuthenticated = 'private_key_jwt';
          return clientId;
        } catch {
          return undefined;
        }
      }
      case 'tls_client_auth': {
        const cert = peerCertificate(req);
        return cert?.authorized && cert.cn === clientId ? clientId : undefined;
      }
    }
  }

  /** The DPoP proof of a token-endpoint request, if any; answers and returns false when it fails. */
  async function checkProof(
    req: IncomingMessage,
    res: ServerResponse,
    htu: string,
    record: TokenEndpointRecord,
  ): Promise<VerifiedProof | undefined | false> {
    if (req.headers.dpop === undefined) return undefined;
    try {
      const proof = await verifyProof(req.headers.dpop, {
        htm: 'POST',
        htu,
        now: now(),
        nonce: { verifier: nonces, required: requireNonce },
        replayStore,
      });
      record.proof = proof.claims;
      record.jkt = proof.jkt;
      return proof;
    } catch (e) {
      const err = e as KeyboundError;
      const nonceHeader = {
        'dpop-nonce': await nonces.issue(now()),
        ...corsHeaders(options.corsOrigin, req),
      };
      record.status = 400;
      record.error = isKeyboundError(e) ? err.error : 'invalid_dpop_proof';
      oauthError(res, 400, record.error, isKeyboundError(e) ? err.code : 'bad proof', nonceHeader);
      return false;
    }
  }

  async function issue(
    res: ServerResponse,
    grant: string,
    clientId: string,
    proof: VerifiedProof | undefined,
    x5t: string | undefined,
    scope: string | undefined,
    withRefresh: boolean,
    record: TokenEndpointRecord,
    extraHeaders: Record<string, string>,
  ) {
    issued++;
    const lifetime = options.lifetime?.(grant, issued) ?? 3600;
    const accessToken = `at_${randomBytes(24).toString('base64url')}`;
    tokens.set(accessToken, {
      clientId,
      ...(proof !== undefined ? { jkt: proof.jkt } : {}),
      ...(x5t !== undefined ? { x5t } : {}),
      ...(scope !== undefined ? { scope } : {}),
      expiresAt: now() + lifetime,
    });
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: proof !== undefined ? 'DPoP' : 'Bearer',
      expires_in: lifetime,
    };
    if (scope !== undefined) body.scope = scope;
    if (withRefresh) {
      const refreshToken = `rt_${randomBytes(24).toString('base64url')}`;
      const isPublic = options.clients[clientId]?.auth === 'none';
      // RFC 9449 §5: a public client's refresh token is bound to its DPoP key
      refreshTokens.set(refreshToken, {
        clientId,
        ...(proof !== undefined && (isPublic || options.allowRebind === false) ? { jkt: proof.jkt } : {}),
        ...(scope !== undefined ? { scope } : {}),
      });
      body.refresh_token = refreshToken;
    }
    record.status = 200;
    sendJson(res, 200, body, {
      date: httpDate(skew),
      'dpop-nonce': await nonces.issue(now()),
      ...extraHeaders,
    });
  }

  async function tokenEndpoint(
    req: IncomingMessage,
    res: ServerResponse,
    origin: string,
    server: 'main' | 'mtls',
  ) {
    const cors = corsHeaders(options.corsOrigin, req);
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get('grant_type') ?? undefined;
    const record: TokenEndpointRecord = { grant, status: 0, server };
    requests.push(record);
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      // recorded before any check, to see that every attempt carries a new assertion
      try {
        record.clientAssertionJti = JSON.parse(
          Buffer.from(assertion.split('.')[1]!, 'base64url').toString(),
        ).jti;
      } catch {}
    }
    const htu = `${origin}/token`;
    const proof = await checkProof(req, res, htu, record);
    if (proof === false) return;
    const raw = options.override?.(grant);
    if (raw !== undefined) {
      record.status = raw.status;
      return writeRaw(res, raw, { date: httpDate(skew), ...cors });
    }
    const clientId = await authenticate(req, form, htu, record);
    if (clientId === undefined) {
      record.status = 401;
      record.error = 'invalid_client';
      return oauthError(res, 401, 'invalid_client', 'client authentication failed', cors);
    }
    const cert = peerCertificate(req);
    const x5t = proof === undefined && cert?.authorized ? x5tOf(cert.der) : undefined;
    const fail = (error: string, description: string) => {
      record.status = 400;
      record.error = error;
      oauthError(res, 400, error, description, cors);
    };
    if (grant === 'client_credentials') {
      if (options.clients[clientId]!.auth === 'none')
        return fail('unauthorized_client', 'public clients cannot');
      return issue(res, grant, clientId, proof, x5t, form.get('scope') ?? undefined, false, record, cors);
    }
    if (grant === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (code === undefined || code.clientId !== clientId) return fail('invalid_grant', 'unknown code');
      if (code.redirectUri !== form.get('redirect_uri')) return fail('invalid_grant', 'redirect_uri differs');
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge)
        return fail('invalid_grant', 'PKCE');
      if (code.dpopJkt !== undefined && code.dpopJkt !== proof?.jkt)
        return fail('invalid_grant', 'dpop_jkt differs from the proof key');
      return issue(res, grant, clientId, proof, x5t, code.scope, true, record, cors);
    }
    if (grant === 'refresh_token') {
      const rt = refreshTokens.get(form.get('refresh_token') ?? '');
      if (rt === undefined || rt.clientId !== clientId) return fail('invalid_grant', 'unknown refresh token');
      if (rt.jkt !== undefined && rt.jkt !== proof?.jkt)
        return fail('invalid_grant', 'refresh token is bound to another key');
      refreshTokens.delete(form.get('refresh_token')!);
      return issue(res, grant, clientId, proof, x5t, rt.scope, true, record, cors);
    }
    return fail('unsupported_grant_type', 'unknown grant');
  }

  async function authorize(res: ServerResponse, url: URL) {
    let p: Record<string, string> = Object.fromEntries(url.searchParams);
    if (p.request_uri !== undefined) {
      const stored = pushed.get(p.request_uri);
      pushed.delete(p.request_uri);
      if (stored === undefined || stored.client_id !== p.client_id)
        return sendJson(res, 400, { error: 'invalid_request_uri' });
      p = stored;
    }
    const client = options.clients[p.client_id ?? ''];
    if (client === undefined || !client.redirectUris?.includes(p.redirect_uri ?? '')) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'client or redirect_uri' });
    }
    const back = new URL(p.redirect_uri!);
    if (p.response_type !== 'code' || p.code_challenge_method !== 'S256' || p.code_challenge === undefined) {
      back.searchParams.set('error', 'invalid_request');
    } else {
      const code = `code_${randomBytes(16).toString('base64url')}`;
      codes.set(code, {
        clientId: p.client_id!,
        redirectUri: p.redirect_uri!,
        challenge: p.code_challenge,
        ...(p.dpop_jkt !== undefined ? { dpopJkt: p.dpop_jkt } : {}),
        ...(p.scope !== undefined ? { scope: p.scope } : {}),
      });
      back.searchParams.set('code', code);
    }
    if (p.state !== undefined) back.searchParams.set('state', p.state);
    back.searchParams.set('iss', issuer);
    res.writeHead(302, { location: back.href });
    res.end();
  }

  async function par(req: IncomingMessage, res: ServerResponse, origin: string, server: 'main' | 'mtls') {
    const form = new URLSearchParams(await readBody(req));
    const record: TokenEndpointRecord = { grant: 'par', status: 0, server };
    requests.push(record);
    const proof = await checkProof(req, res, `${origin}/par`, record);
    if (proof === false) return;
    const clientId = await authenticate(req, form, `${origin}/par`, record);
    if (clientId === undefined) return oauthError(res, 401, 'invalid_client', 'client authentication failed');
    const params = Object.fromEntries(form);
    // RFC 9449 §10.1: the proof key becomes the dpop_jkt; both given must agree
    if (proof !== undefined) {
      if (params.dpop_jkt !== undefined && params.dpop_jkt !== proof.jkt)
        return oauthError(res, 400, 'invalid_dpop_proof', 'jkt');
      params.dpop_jkt = proof.jkt;
    }
    const requestUri = `urn:ietf:params:oauth:request_uri:${randomBytes(16).toString('base64url')}`;
    pushed.set(requestUri, params);
    record.status = 201;
    sendJson(
      res,
      201,
      { request_uri: requestUri, expires_in: 60 },
      { date: httpDate(skew), ...corsHeaders(options.corsOrigin, req) },
    );
  }

  const handler =
    (server: 'main' | 'mtls', originOf: () => string) =>
    async (req: IncomingMessage, res: ServerResponse) => {
      if (handlePreflight(options.corsOrigin, req, res)) return;
      const url = new URL(req.url ?? '/', originOf());
      if (
        req.method === 'GET' &&
        url.pathname === '/.well-known/oauth-authorization-server' &&
        server === 'main'
      ) {
        return sendJson(res, 200, metadata(), corsHeaders(options.corsOrigin, req));
      }
      if (req.method === 'GET' && url.pathname === '/authorize' && server === 'main')
        return authorize(res, url);
      if (req.method === 'POST' && url.pathname === '/token')
        return tokenEndpoint(req, res, originOf(), server);
      if (req.method === 'POST' && url.pathname === '/par') return par(req, res, originOf(), server);
      sendJson(res, 404, { error: 'not_found' });
    };

  const main: ListeningServer = await listen(
    handler('main', () => issuer),
    options.tls,
  );
  issuer = main.origin;
  let alias: ListeningServer | undefined;
  if (options.mtlsAlias !== undefined) {
    alias = await listen(
      handler('mtls', () => mtlsOrigin!),
      options.mtlsAlias,
    );
    mtlsOrigin = alias.origin;
  }
  return {
    issuer,
    mtlsOrigin,
    tokens,
    requests,
    async close() {
      await Promise.all([main.close(), alias?.close()]);
    },
  };
}

export interface ResourceRecord {
  method: string;
  path: string;
  status: number;
  error?: string;
  proof?: VerifiedProof['claims'];
  body?: string;
}

export interface TestResourceServerOptions {
  tokens: TokenRegistry;
  requireNonce?: boolean;
  skewSeconds?: number;
  tls?: TlsOptions;
  corsOrigin?: string;
  /** Answer every request with use_dpop_nonce and a new nonce (a broken or hostile server). */
  alwaysDemandNonce?: boolean;
  /** Send a fresh DPoP-Nonce with every successful answer (RFC 9449 §8.2). */
  rotateNonceOnSuccess?: boolean;
  /** Send DPoP-Nonce only with use_dpop_nonce (default: with every DPoP challenge while nonces are required). */
  nonceOnlyWithUseDpopNonce?: boolean;
}

export interface TestResourceServer {
  origin: string;
  requests: ResourceRecord[];
  close(): Promise<void>;
}

/** Protected API: every path answers 200 with what it saw, once token, proof and binding check out. */
export async function startTestResourceServer(
  options: TestResourceServerOptions,
): Promise<TestResourceServer> {
  const skew = options.skewSeconds ?? 0;
  const requireNonce = options.requireNonce ?? true;
  const nonces = new NonceManager({ secrets: [NONCE_SECRET], context: 'rs' });
  const replayStore = new MemoryReplayStore();
  const requests: ResourceRecord[] = [];
  const now = () => Date.now() / 1000 + skew;
  let origin = '';

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    if (handlePreflight(options.corsOrigin, req, res)) return;
    const cors = corsHeaders(options.corsOrigin, req);
    const url = new URL(req.url ?? '/', origin);
    const record: ResourceRecord = { method: req.method ?? '', path: url.pathname, status: 0 };
    requests.push(record);
    const body = await readBody(req);
    record.body = body;
    const challenge = async (status: number, error: string, description: string, withNonce: boolean) => {
      record.status = status;
      record.error = error;
      res.writeHead(status, {
        ...cors,
        date: httpDate(skew),
        'www-authenticate': formatWwwAuthenticate([
          { scheme: 'DPoP', error, errorDescription: description, algs: ['ES256', 'EdDSA'] },
        ]),
        ...(withNonce ? { 'dpop-nonce': await nonces.issue(now()) } : {}),
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error }));
    };
    if (options.alwaysDemandNonce) {
      res.writeHead(401, {
        ...cors,
        'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="again"',
        'dpop-nonce': randomBytes(12).toString('base64url'),
      });
      record.status = 401;
      record.error = 'use_dpop_nonce';
      return res.end();
    }
    const m = /^(DPoP|Bearer) ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? '');
    if (!m) return challenge(401, 'invalid_token', 'no token', false);
    const token = options.tokens.get(m[2]!);
    if (token === undefined || token.expiresAt <= now())
      return challenge(401, 'invalid_token', 'unknown or expired', false);
    let jkt: string | undefined;
    if (token.jkt !== undefined) {
      if (m[1] !== 'DPoP') return challenge(401, 'invalid_token', 'bound token as bearer', false);
      try {
        const proof = await verifyProof(req.headers.dpop, {
          htm: req.method ?? '',
          htu: `${origin}${url.pathname}`,
          accessToken: m[2]!,
          now: now(),
          nonce: { verifier: nonces, required: requireNonce },
          replayStore,
        });
        record.proof = proof.claims;
        jkt = proof.jkt;
      } catch (e) {
        if (!isKeyboundError(e)) throw e;
        const withNonce = options.nonceOnlyWithUseDpopNonce ? e.error === 'use_dpop_nonce' : requireNonce;
        return challenge(401, e.error, e.code, withNonce);
      }
      if (jkt !== token.jkt) return challenge(401, 'invalid_token', 'jkt_mismatch', false);
    }
    if (token.x5t !== undefined) {
      const cert = peerCertificate(req);
      if (cert === undefined || x5tOf(cert.der) !== token.x5t) {
        record.status = 401;
        record.error = 'invalid_token';
        res.writeHead(401, {
          'www-authenticate': 'Bearer error="invalid_token", error_description="x5t_mismatch"',
        });
        return res.end();
      }
    }
    record.status = 200;
    sendJson(
      res,
      200,
      {
        ok: true,
        method: req.method,
        path: url.pathname,
        query: url.search,
        body,
        jkt,
        clientId: token.clientId,
      },
      {
        ...cors,
        date: httpDate(skew),
        ...(options.rotateNonceOnSuccess ? { 'dpop-nonce': await nonces.issue(now()) } : {}),
      },
    );
  };
  const server = await listen(handler, options.tls);
  origin = server.origin;
  return { origin, requests, close: () => server.close() };
}
