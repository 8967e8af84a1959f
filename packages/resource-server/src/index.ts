// @keybound/resource-server: protect() decides whether a request's access token is used by its
// holder (DPoP, RFC 9449; mTLS, RFC 8705) under a data policy rolled out route by route and
// client by client; adapters for node:http, Express, Fastify and Hono only translate.
export type { VerifiedToken } from './access-token.js';
export { acceptedSchemes, wwwAuthenticate } from './challenge.js';
export { type ClientPath, classifyClientPath } from './client-path.js';
export type {
  AllowDecision,
  Binding,
  Decision,
  DecisionEvent,
  DenyDecision,
  WouldDeny,
} from './decision.js';
export type { HeaderList, RequestFacts, TlsFacts } from './facts.js';
export { CidrList, parseCidr, parseIp } from './lib/cidr.js';
export { metadataPath, type ProtectedResourceMetadata, protectedResourceMetadata } from './metadata.js';
export {
  CERTIFICATE_HEADER_FORMATS,
  type CertificateHeaderFormat,
  type ClientRule,
  DEFAULT_RULE,
  DEFAULT_TOKEN_ALGORITHMS,
  type EffectiveRule,
  type IntrospectionPolicy,
  type IssuerPolicy,
  MODES,
  type Mode,
  type Policy,
  PolicyError,
  type PolicyIssue,
  parsePolicy,
  REQUIREMENTS,
  type Requirement,
  type RouteRule,
  type Rule,
} from './policy.js';
export {
  createResourceServer,
  PROTECT_STEPS,
  ResourceServer,
  type ResourceServerOptions,
  type ResourceServerStats,
  type WellKnownResponse,
} from './protect.js';
export { parseForwarded } from './public-url.js';
export { REASON_CODES } from './reason-codes.js';
