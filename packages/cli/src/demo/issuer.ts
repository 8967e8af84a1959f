// The demo's authorization step: a token endpoint that verifies the client's DPoP proof with
// core's verifyProof and issues a JWT access token bound to the proof key (cnf.jkt, RFC 9449 §6),
// signed by a demo issuer key with jose, and the JWKS that publishes that key.
// The authorization-server package replaces this when it exists.
import {
  isKeyboundError,
  jwkThumbprint,
  MemoryReplayStore,
  type PublicJwk,
  randomJti,
  verifyProof,
} from '@keybound/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { listenLocal, type RunningServer, readBody, sendJson } from './http.js';

export interface DemoIssuer extends RunningServer {
  jwksUrl: URL;
}

export const DEMO_TOKEN_LIFETIME_SECONDS = 300;

export async function startDemoIssuer(audience: string): Promise<DemoIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = await exportJWK(publicKey);
  const kid = await jwkThumbprint(publicJwk as PublicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] };
  const replayStore = new MemoryReplayStore();

  const server = await listenLocal((origin) => async (req, res) => {
    const path = req.url ?? '/';
    if (req.method === 'GET' && path === '/jwks') return sendJson(res, 200, jwks);
    if (path !== '/token') return sendJson(res, 404, { error: 'not_found' });
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'invalid_request' }, { allow: 'POST' });
    const body = await readBody(req, 4096);
    const form = new URLSearchParams(body ?? '');
    if (body === undefined || form.get('grant_type') !== 'client_credentials') {
      return sendJson(res, 400, { error: 'unsupported_grant_type' });
    }
    const clientId = form.get('client_id') ?? 'demo-client';
    let jkt: string;
    try {
      ({ jkt } = await verifyProof(req.headersDistinct.dpop, {
        htm: 'POST',
        htu: `${origin}/token`,
        replayStore,
      }));
    } catch (e) {
      if (!isKeyboundError(e)) throw e;
      // RFC 9449 §5: the token endpoint answers 400 with invalid_dpop_proof (or use_dpop_nonce)
      return sendJson(res, e.status === 503 ? 503 : 400, { error: e.error, error_description: e.message });
    }
    const accessToken = await new SignJWT({ client_id: clientId, scope: 'demo', cnf: { jkt } })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(origin)
      .setAudience(audience)
      .setSubject(clientId)
      .setIssuedAt()
      .setExpirationTime(`${DEMO_TOKEN_LIFETIME_SECONDS}s`)
      .setJti(randomJti())
      .sign(privateKey);
    return sendJson(res, 200, {
      access_token: accessToken,
      token_type: 'DPoP',
      expires_in: DEMO_TOKEN_LIFETIME_SECONDS,
    });
  });
  return { ...server, jwksUrl: new URL('/jwks', server.origin) };
}
