// The state of one request as it passes through an endpoint's steps.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VerifiedProof } from '@keybound/core';
import type { ClientConfig, TokenEndpointAuthMethod } from '../clients/client.js';
import type { Params } from '../http/parse-form.js';
import type { PeerCertificate } from '../mtls/peer-certificate.js';
import type { EndpointUrls, Runtime } from './runtime.js';

export type ListenerKind = 'main' | 'mtls';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly rt: Runtime;
  readonly listener: ListenerKind;
  /** The endpoint URLs of the listener the request came in on (htu and aud are checked against them). */
  readonly endpoints: EndpointUrls;
  /** Epoch seconds, read once per request. */
  readonly now: number;
  /** The request URL (path and query as received). */
  readonly url: URL;
  params?: Params;
  client?: ClientConfig;
  authMethod?: TokenEndpointAuthMethod;
  /** A verified private_key_jwt assertion whose jti is recorded after the DPoP check. */
  pendingAssertion?: { jti: string; exp: number } | undefined;
  proof?: VerifiedProof | undefined;
  /** undefined: not looked at yet; null: none presented. */
  certificate?: PeerCertificate | null;
  /** Headers every response of this request carries (DPoP-Nonce, CORS). */
  readonly headers: Record<string, string>;
}

export type Step = (ctx: RequestContext) => void | Promise<void>;

/** An endpoint: the methods it answers and its steps, run in order (node-oidc-provider style). */
export interface Endpoint {
  name: string;
  methods: readonly string[];
  /** Whether browsers on other origins may call it (token, revocation, metadata, JWKS). */
  cors?: boolean;
  steps: ReadonlyArray<readonly [name: string, step: Step]>;
}

export async function runSteps(endpoint: Endpoint, ctx: RequestContext): Promise<void> {
  for (const [, step] of endpoint.steps) {
    const pending = step(ctx);
    if (pending !== undefined) await pending;
    if (ctx.res.writableEnded || ctx.res.headersSent) return;
  }
}
