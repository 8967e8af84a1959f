// RFC 9728 OAuth 2.0 Protected Resource Metadata, derived from the policy, and where it is served:
// /.well-known/oauth-protected-resource followed by the resource identifier's path (§3.1).
import { DEFAULT_RULE, type Policy } from './policy.js';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  scopes_supported?: string[];
  resource_name?: string;
  resource_documentation?: string;
  dpop_signing_alg_values_supported: string[];
  dpop_bound_access_tokens_required: boolean;
  tls_client_certificate_bound_access_tokens: boolean;
}

export function protectedResourceMetadata(policy: Policy): ProtectedResourceMetadata {
  const defaults = { ...DEFAULT_RULE, ...policy.defaults };
  const rules = [defaults, ...(policy.routes ?? []).map((r) => ({ ...defaults, ...r }))];
  const algs = new Set<string>();
  for (const r of [...rules, ...(policy.clients ?? []).map((c) => ({ ...defaults, ...c }))]) {
    for (const a of r.algs ?? []) algs.add(a);
  }
  const scopes = new Set<string>();
  for (const r of rules) for (const s of r.scopes ?? []) scopes.add(s);
  const meta: ProtectedResourceMetadata = {
    resource: policy.resource,
    authorization_servers: policy.issuers.map((i) => i.issuer),
    // tokens are accepted in the Authorization header only (RFC 9449 §7, RFC 6750 §2.1)
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: [...algs],
    // DPoP is required when every request is enforced with require: dpop
    dpop_bound_access_tokens_required: rules.every((r) => r.mode === 'enforce' && r.require === 'dpop'),
    // RFC 9728 §2: the resource supports certificate-bound tokens when any rule accepts them
    tls_client_certificate_bound_access_tokens: rules.some(
      (r) => r.require !== 'dpop' || r.mode !== 'enforce',
    ),
  };
  if (scopes.size > 0) meta.scopes_supported = [...scopes];
  if (policy.resourceName !== undefined) meta.resource_name = policy.resourceName;
  if (policy.resourceDocumentation !== undefined) meta.resource_documentation = policy.resourceDocumentation;
  return meta;
}

/** The path at which the metadata is served for a resource identifier (RFC 9728 §3.1). */
export function metadataPath(resource: string): string {
  const path = new URL(resource).pathname;
  return `/.well-known/oauth-protected-resource${path === '/' ? '' : path}`;
}
