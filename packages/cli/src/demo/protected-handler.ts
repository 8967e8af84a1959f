// The demo's protected API in one function: the access token (JWT, issuer keys from its JWKS),
// the DPoP proof (core's verifyProof, replay checked last), then the binding (cnf.jkt must be the
// proof key's thumbprint). A refusal answers the RFC 9449 §7.1 challenge and the keybound code.
// When @keybound/resource-server's protect() lands, the demo swaps this function for its node adapter.
import type { IncomingMessage } from 'node:http';
import {
  DEFAULT_DPOP_ALGORITHMS,
  formatWwwAuthenticate,
  isKeyboundError,
  KeyboundError,
  type ReplayStore,
  verifyProof,
} from '@keybound/core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { keyboundErrorFromJose } from '../jose-errors.js';
import { type NodeHandler, sendJson } from './http.js';

export interface ProtectedHandlerOptions {
  /** The only issuer whose tokens are accepted. */
  issuer: string;
  jwksUrl: URL;
  /** The aud tokens must carry. */
  audience: string;
  /** This API's public origin: htu is rebuilt from it, never from the Host header. */
  publicOrigin: string;
  replayStore: ReplayStore;
}

export type ProtectedHandlerFactory = (options: ProtectedHandlerOptions) => NodeHandler;

const AUTHORIZATION = /^([A-Za-z]+) +([A-Za-z0-9\-._~+/]+=*)$/;

export const createProtectedHandler: ProtectedHandlerFactory = (o) => {
  const jwks = createRemoteJWKSet(o.jwksUrl);

  async function accessToken(token: string) {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: o.issuer,
        audience: o.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      return payload;
    } catch (e) {
      throw keyboundErrorFromJose(e);
    }
  }

  async function authorize(req: IncomingMessage): Promise<{ sub: string; jkt: string }> {
    const headers = req.headersDistinct.authorization;
    if (headers === undefined) throw new KeyboundError('token_missing');
    if (headers.length > 1) throw new KeyboundError('authorization_multiple');
    const match = AUTHORIZATION.exec(headers[0]!);
    if (match === null) throw new KeyboundError('authorization_malformed');
    const scheme = match[1]!.toLowerCase();
    const token = match[2]!;
    if (scheme !== 'dpop' && scheme !== 'bearer') throw new KeyboundError('scheme_unsupported');
    const claims = await accessToken(token);
    const cnf = claims.cnf as { jkt?: unknown } | undefined;
    const boundTo = typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
    // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused
    if (scheme === 'bearer')
      throw new KeyboundError(boundTo === undefined ? 'dpop_required' : 'bound_token_as_bearer');
    if (boundTo === undefined) throw new KeyboundError('token_not_bound');
    const proof = await verifyProof(req.headersDistinct.dpop, {
      htm: req.method ?? '',
      htu: `${o.publicOrigin}${req.url ?? '/'}`,
      accessToken: token,
      replayStore: o.replayStore,
    });
    if (proof.jkt !== boundTo) {
      throw new KeyboundError(
        'jkt_mismatch',
        'the proof is signed by a key other than the one the token is bound to',
      );
    }
    return { sub: String(claims.sub), jkt: proof.jkt };
  }

  return async (req, res) => {
    try {
      const { sub, jkt } = await authorize(req);
      sendJson(res, 200, { message: `hello ${sub}`, jkt });
    } catch (e) {
      if (!isKeyboundError(e)) throw e;
      const headers: Record<string, string> = {};
      if (e.status !== 503) {
        // RFC 6750 §3.1: no error code when the request carried no credentials at all
        const withError = e.code === 'token_missing' ? {} : { error: e.error, errorDescription: e.message };
        headers['www-authenticate'] = formatWwwAuthenticate([
          { scheme: 'DPoP', ...withError, algs: DEFAULT_DPOP_ALGORITHMS },
        ]);
      }
      sendJson(res, e.status, { error: e.error, error_description: e.message, code: e.code }, headers);
    }
  };
};
