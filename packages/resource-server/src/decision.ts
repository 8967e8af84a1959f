// What protect() answers, and the event it emits for telemetry.
import type { KeyboundErrorCode, OAuthErrorName } from '@keybound/core';
import type { ClientPath } from './client-path.js';
import type { Mode } from './policy.js';

/** How the request proved possession: a DPoP proof, a client certificate, or nothing (bearer). */
export type Binding = 'dpop' | 'mtls' | 'bearer';

export interface WouldDeny {
  code: KeyboundErrorCode;
  status: number;
  error: OAuthErrorName;
  description: string;
}

export interface AllowDecision {
  readonly allow: true;
  /** The verified access-token claims (JWT payload or introspection response). */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly issuer: string;
  readonly clientId: string | undefined;
  readonly scopes: readonly string[];
  readonly binding: Binding;
  /** The DPoP key thumbprint, when the request was DPoP-bound and the proof verified. */
  readonly jkt?: string;
  /** The certificate thumbprint, when the token was certificate-bound and matched. */
  readonly x5t?: string;
  /** The route (policy `name`, path or pattern; `default` when none matched). */
  readonly route: string;
  readonly mode: Mode;
  /** Headers to add to the response the app sends (a fresh DPoP-Nonce, CORS exposure). */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** Report mode: the refusal enforce would have answered with. */
  readonly wouldDeny?: WouldDeny;
}

export interface DenyDecision {
  readonly allow: false;
  readonly status: number;
  /** WWW-Authenticate, DPoP-Nonce, Retry-After, Cache-Control, CORS exposure. */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body to send. */
  readonly body: { readonly error: OAuthErrorName; readonly error_description: string };
  /** The stable reason code. */
  readonly code: KeyboundErrorCode;
  readonly route: string;
  readonly mode: Mode;
}

export type Decision = AllowDecision | DenyDecision;

/**
 * One per protected request. Never holds a token, a proof or a secret: thumbprints and client ids
 * identify keys and clients without granting anything.
 */
export interface DecisionEvent {
  /** ISO 8601. */
  time: string;
  method: string;
  route: string;
  mode: Mode;
  /** allow; deny; report: let through although enforce would have refused. */
  outcome: 'allow' | 'deny' | 'report';
  /** Status protect() decided: 200 means "passed to the app". */
  status: number;
  /** deny: the reason; report: the reason enforce would have given. */
  code?: KeyboundErrorCode;
  /** The scheme the client used. */
  scheme: 'dpop' | 'bearer' | 'none';
  /** The binding that was verified ('none' when the request was refused before). */
  binding: Binding | 'none';
  clientId?: string;
  issuer?: string;
  jkt?: string;
  x5t?: string;
  clientPath: ClientPath;
  /** Forwarded / certificate headers ignored because the peer is not a trusted proxy. */
  spoofedHeaders?: string[];
}
