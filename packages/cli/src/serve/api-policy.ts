// The demo API's resource-server policy: the file's api.policy, with what serve knows filled in —
// the resource (<public URL>/api), the public origin, this server as an issuer (its JWKS read from
// the local listener), and DPoP enforced by default — validated by parsePolicy. Issues come back
// with paths under `api.policy.`.
import { type Policy, PolicyError, parsePolicy } from '@keybound/resource-server';
import { apiResource } from './authorization-server-config.js';
import { resolveValue } from './secret-resolver.js';
import type { ConfigIssue, ServeConfig } from './serve-config.js';

/** The rule for every API request unless the file says otherwise: DPoP-bound tokens only, nonces off. */
export const API_DEFAULT_RULE = { mode: 'enforce', require: 'dpop', nonce: false } as const;

export interface ApiPolicyResult {
  /** The policy as given to createResourceServer (valid: parsePolicy accepted it). */
  policy?: Record<string, unknown>;
  /** What parsePolicy made of it (every default filled in). */
  parsed?: Policy;
  issues: ConfigIssue[];
}

export function buildApiPolicy(serve: ServeConfig, publicUrl: string, jwksUri: string): ApiPolicyResult {
  const issues: ConfigIssue[] = [];
  const raw: Record<string, unknown> = { ...serve.api.policy };
  if (raw.resource !== undefined) {
    issues.push({
      path: 'api.policy.resource',
      message: `is set by serve: the API's resource identifier is ${apiResource(publicUrl)}`,
    });
  }
  raw.resource = apiResource(publicUrl);
  raw.publicOrigins ??= [publicUrl];
  const defaults = raw.defaults;
  if (defaults === undefined || defaults === null) raw.defaults = { ...API_DEFAULT_RULE };
  else if (typeof defaults === 'object' && !Array.isArray(defaults)) {
    raw.defaults = { ...API_DEFAULT_RULE, ...(defaults as Record<string, unknown>) };
  }
  const own = { issuer: publicUrl, jwksUri };
  if (raw.issuers === undefined || raw.issuers === null) raw.issuers = [own];
  else if (Array.isArray(raw.issuers)) {
    const issuers = raw.issuers.map((entry, i) => withResolvedSecret(entry, i, serve, issues));
    const listed = issuers.some(
      (e) => typeof e === 'object' && e !== null && (e as { issuer?: unknown }).issuer === publicUrl,
    );
    raw.issuers = listed ? issuers : [...issuers, own];
  }
  try {
    // createResourceServer parses the policy itself: the checked input is what is handed on
    const parsed = parsePolicy(raw);
    return issues.length > 0 ? { issues } : { policy: raw, parsed, issues };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return {
      issues: [
        ...issues,
        ...e.issues.map((i) => ({
          path: i.path ? `api.policy.${i.path}` : 'api.policy',
          message: i.message,
        })),
      ],
    };
  }
}

/** issuers[i].introspection.clientSecret may be an env:/file: reference. */
function withResolvedSecret(entry: unknown, i: number, serve: ServeConfig, issues: ConfigIssue[]): unknown {
  const intro = (entry as { introspection?: { clientSecret?: unknown } } | null)?.introspection;
  const secret = intro?.clientSecret;
  if (typeof secret !== 'string') return entry;
  const path = `api.policy.issuers[${i}].introspection.clientSecret`;
  const r = resolveValue(secret, serve.resolveSecret, path);
  if ('problem' in r) {
    issues.push({ path, message: r.problem });
    return entry;
  }
  const e = entry as Record<string, unknown>;
  return { ...e, introspection: { ...(e.introspection as object), clientSecret: r.value } };
}
