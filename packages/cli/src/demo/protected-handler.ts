// The demo's protected API: @keybound/resource-server's node adapter in front of one greeting. The
// resource server verifies the access token against the issuer's JWKS, the DPoP proof with core's
// verifyProof (replay checked last, in the store given here), then the binding (cnf.jkt must be
// the proof key's thumbprint). Refusals carry the RFC 9449 §7.1 challenge, and the keybound reason
// code in the Keybound-Code header (see ../reason-code-header.ts).
import type { ReplayStore } from '@keybound/core';
import { createResourceServer } from '@keybound/resource-server';
import { keyboundNode } from '@keybound/resource-server/node';
import { decideFor, setReasonCodeHeader } from '../reason-code-header.js';
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

export const createProtectedHandler: ProtectedHandlerFactory = (o) => {
  const rs = createResourceServer({
    policy: {
      resource: o.publicOrigin,
      audience: [o.audience],
      publicOrigins: [o.publicOrigin],
      issuers: [{ issuer: o.issuer, jwksUri: o.jwksUrl.href, algorithms: ['ES256'] }],
      defaults: { mode: 'enforce', require: 'dpop' },
    },
    replayStore: o.replayStore,
    onDecision: setReasonCodeHeader,
  });
  const guard = keyboundNode(rs);
  return async (req, res) => {
    const allowed = await decideFor(res, () => guard(req, res));
    if (allowed === undefined) return; // refused: the adapter answered
    sendJson(res, 200, { message: `hello ${String(allowed.claims.sub)}`, jkt: allowed.jkt });
  };
};
