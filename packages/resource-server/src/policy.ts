// The enforcement policy: plain data (JSON/YAML-loadable), validated by parsePolicy with errors
// that name the bad field (`routes[2].mode: expected off|report|enforce, received "enforced"`).
// parsePolicy returns the same shape with every default filled in.
import {
  DEFAULT_DPOP_ALGORITHMS,
  isSupportedAlgorithm,
  type JwsAlgorithm,
  normalizeHtu,
} from '@keybound/core';
import { parseCidr } from './lib/cidr.js';

export type Mode = 'off' | 'report' | 'enforce';
export type Requirement = 'dpop' | 'mtls' | 'either' | 'none';
export type CertificateHeaderFormat = 'rfc9440' | 'envoy-xfcc' | 'nginx' | 'aws-alb';

export const MODES: readonly Mode[] = ['off', 'report', 'enforce'];
export const REQUIREMENTS: readonly Requirement[] = ['dpop', 'mtls', 'either', 'none'];
export const CERTIFICATE_HEADER_FORMATS: readonly CertificateHeaderFormat[] = [
  'rfc9440',
  'envoy-xfcc',
  'nginx',
  'aws-alb',
];
/** Signature algorithms accepted on access tokens by default (asymmetric only). */
export const DEFAULT_TOKEN_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
const TOKEN_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/** What a route or client requires. Every field is optional in a route or client entry. */
export interface Rule {
  /**
   * off: sender constraint not checked; report: checked, failures logged but let through; enforce.
   * In every mode a bound token must show possession of its key (a DPoP proof signed by it, with
   * the token's ath) or certificate, and a DPoP-bound token under the Bearer scheme is refused.
   */
  mode?: Mode;
  /** Which sender constraint a token must carry. */
  require?: Requirement;
  /** Require a server nonce (RFC 9449 §9) in DPoP proofs. */
  nonce?: boolean;
  /** DPoP proof signature algorithms accepted (and advertised in the challenge `algs`). */
  algs?: string[];
}

export interface RouteRule extends Rule {
  /** A name for events and logs (default: the path or pattern). */
  name?: string;
  /** Path prefix, matched on segment boundaries (`/admin` matches `/admin` and `/admin/x`). */
  path?: string;
  /** Path pattern: `:name` matches one segment, a final `*` matches the rest (`/users/:id/*`). */
  pattern?: string;
  /** Methods this route applies to (default all); GET also covers HEAD. */
  methods?: string[];
  /** Scopes the token must carry (all of them). */
  scopes?: string[];
}

export interface ClientRule extends Rule {
  /**
   * The issuer of the tokens this entry applies to: client ids are only unique per authorization
   * server. Required when more than one issuer is configured; with one, that issuer (filled in).
   */
  issuer?: string;
  /** The client_id (RFC 9068) or azp of the tokens this entry applies to. */
  clientId: string;
}

export interface IntrospectionPolicy {
  /** RFC 7662 introspection endpoint. */
  endpoint: string;
  /** This resource server's client_id at the authorization server (client_secret_basic). */
  clientId: string;
  /** Its secret; may instead be supplied by `introspectionSecret` in the options. */
  clientSecret?: string;
  /** Cache an active result at most this long (default: until the token's exp). */
  cacheMaxSeconds?: number;
  /**
   * Refuse an active response without `aud` (default true). RFC 7662 makes `aud` optional; without
   * it a token the authorization server issued for another API would pass here. Set false only for
   * an authorization server that never returns `aud` and answers only for tokens meant for this API.
   */
  requireAudience?: boolean;
}

export interface IssuerPolicy {
  /** The `iss` value of the authorization server. */
  issuer: string;
  /** Where its JWKS is published (JWT access tokens). */
  jwksUri?: string;
  /** RFC 7662 introspection (opaque tokens, or JWTs of an issuer without jwksUri). */
  introspection?: IntrospectionPolicy;
  /** Access-token signature algorithms accepted (default RS256 PS256 ES256 ES384 EdDSA). */
  algorithms?: string[];
  /** Minimum time between two JWKS refetches caused by an unknown kid (default 30). */
  jwksCooldownSeconds?: number;
  /** How long a fetched JWKS is used before it is fetched again (default 600). */
  jwksMaxAgeSeconds?: number;
  /** Timeout of a JWKS or introspection request in milliseconds (default 5000). */
  timeoutMs?: number;
}

export interface Policy {
  /** RFC 9728 resource identifier of this API (an https URL); the default audience. */
  resource: string;
  /** Accepted `aud` values (default: [resource]). */
  audience?: string[];
  /** Public origins (`https://api.example.com`) used to rebuild the URL a proof's htu must name. */
  publicOrigins?: string[];
  /** Public path prefix in front of the paths the app sees (e.g. `/api` when a proxy strips it). */
  basePath?: string;
  /** Peers (CIDRs) whose Forwarded / X-Forwarded-* / client-certificate headers are believed. */
  trustedProxies?: string[];
  /** Read the client certificate from this forwarded header format (trusted proxies only). */
  clientCertificateHeader?: CertificateHeaderFormat;
  /** Authorization servers whose tokens are accepted. */
  issuers: IssuerPolicy[];
  /** The rule for every request no route matches, and the base every route starts from. */
  defaults?: Rule & { scopes?: string[] };
  /** First match wins; fields not set come from defaults. */
  routes?: RouteRule[];
  /** Per-client overrides (mode, require, nonce, algs) by issuer and client id, over the route's rule. */
  clients?: ClientRule[];
  /** DPoP proof freshness window and clock skew in seconds (default 60 and 5). */
  proof?: { maxAgeSeconds?: number; clockSkewSeconds?: number };
  /** Verified access tokens kept in memory, keyed by hash, each until its exp (default 10000). */
  tokenCacheSize?: number;
  /** Retry-After on 503 answers, in seconds (default 5). */
  retryAfterSeconds?: number;
  /** realm parameter of challenges, if any. */
  realm?: string;
  /** RFC 9728 resource_name and resource_documentation. */
  resourceName?: string;
  resourceDocumentation?: string;
}

/** A rule with every field decided. */
export interface EffectiveRule {
  mode: Mode;
  require: Requirement;
  /**
   * Set where readings of a path select a route requiring DPoP and one requiring mTLS: then
   * `require` is `dpop` and a certificate-bound token is required as well.
   */
  requireBoth?: true;
  nonce: boolean;
  algs: JwsAlgorithm[];
  scopes: string[];
}

export const DEFAULT_RULE: EffectiveRule = {
  mode: 'enforce',
  require: 'either',
  nonce: false,
  algs: [...DEFAULT_DPOP_ALGORITHMS],
  scopes: [],
};

export interface PolicyIssue {
  path: string;
  message: string;
}

/** Thrown by parsePolicy: `message` lists every problem, `issues` holds them one by one. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code = 'policy_invalid';
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[]) {
    super(`invalid policy: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

type Json = unknown;

const show = (v: Json): string => {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

class Checker {
  readonly issues: PolicyIssue[] = [];

  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  object(path: string, v: Json, known: readonly string[]): Record<string, Json> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(path, `expected an object, received ${show(v)}`);
      return undefined;
    }
    for (const key of Object.keys(v)) {
      if (!known.includes(key)) this.fail(`${path}.${key}`, `unknown field (known: ${known.join(', ')})`);
    }
    return v as Record<string, Json>;
  }

  string(path: string, v: Json, test?: (s: string) => string | undefined): string | undefined {
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(path, `expected a non-empty string, received ${show(v)}`);
      return undefined;
    }
    const problem = test?.(v);
    if (problem !== undefined) {
      this.fail(path, problem);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(path: string, v: Json, values: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.fail(path, `expected ${values.join('|')}, received ${show(v)}`);
      return undefined;
    }
    return v as T;
  }

  boolean(path: string, v: Json): boolean | undefined {
    if (typeof v !== 'boolean') {
      this.fail(path, `expected true or false, received ${show(v)}`);
      return undefined;
    }
    return v;
  }

  number(path: string, v: Json, min: number, max: number, integer = true): number | undefined {
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      v < min ||
      v > max ||
      (integer && !Number.isInteger(v))
    ) {
      this.fail(
        path,
        `expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, received ${show(v)}`,
      );
      return undefined;
    }
    return v;
  }

  list<T>(
    path: string,
    v: Json,
    item: (p: string, x: Json) => T | undefined,
    nonEmpty = false,
  ): T[] | undefined {
    if (!Array.isArray(v)) {
      this.fail(path, `expected a list, received ${show(v)}`);
      return undefined;
    }
    if (nonEmpty && v.length === 0) {
      this.fail(path, 'expected at least one entry');
      return undefined;
    }
    const out: T[] = [];
    v.forEach((x, i) => {
      const r = item(`${path}[${i}]`, x);
      if (r !== undefined) out.push(r);
    });
    return out;
  }
}

function httpUrl(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `expected an absolute URL, received ${show(s)}`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    return `expected an http(s) URL, received ${show(s)}`;
  if (u.hash !== '') return 'a URL here must not have a fragment';
  return undefined;
}

function origin(s: string): string | undefined {
  const bad = httpUrl(s);
  if (bad !== undefined) return bad;
  const u = new URL(s);
  if (
    (u.pathname !== '/' && u.pathname !== '') ||
    u.search !== '' ||
    u.username !== '' ||
    u.password !== ''
  ) {
    return `expected an origin like https://api.example.com (no path, query or userinfo), received ${show(s)}`;
  }
  return undefined;
}

const SEGMENT_PATH = /^\/[A-Za-z0-9\-._~!$&'()+,;=:@%/]*$/;

function prefixPath(s: string): string | undefined {
  if (!SEGMENT_PATH.test(s)) return `expected a path starting with "/", received ${show(s)}`;
  if (BAD_ESCAPE.test(s)) return `a "%" must begin a percent-encoding (%XX), received ${show(s)}`;
  if (dotSegments(s)) return 'a path must not contain dot-segments';
  return undefined;
}

/** A "%" that does not begin a percent-encoding: the path has no normal form. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Whether a segment is "." or "..", also spelled with %2E (which the normal form would remove). */
const dotSegments = (s: string): boolean =>
  s
    .replace(/%2e/gi, '.')
    .split('/')
    .some((seg) => seg === '.' || seg === '..');

/**
 * A route path or pattern in the normal form requests are matched in (the path of core's
 * normalizeHtu: percent-encoding normalised, `/%61dmin` is `/admin`), so that it can match.
 */
function normalRoutePath(s: string): string {
  return normalizeHtu(`http://h${s}`).slice('http://h'.length);
}

function patternPath(s: string): string | undefined {
  if (!/^\/[A-Za-z0-9\-._~!$&'()+,;=:@%/*]*$/.test(s)) {
    return `expected a pattern starting with "/", received ${show(s)}`;
  }
  const segs = s.split('/');
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (seg.includes('*') && (seg !== '*' || i !== segs.length - 1)) {
      return `"*" may only be a whole last segment, received ${show(s)}`;
    }
    if (seg.startsWith(':') && !/^:[A-Za-z_][A-Za-z0-9_]*$/.test(seg))
      return `bad parameter segment ${show(seg)}`;
    if (seg === '.' || seg === '..') return 'a pattern must not contain dot-segments';
  }
  if (BAD_ESCAPE.test(s)) return `a "%" must begin a percent-encoding (%XX), received ${show(s)}`;
  if (dotSegments(s)) return 'a pattern must not contain dot-segments';
  return undefined;
}

const METHOD = /^[A-Z][A-Z0-9_-]*$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function ruleFields(c: Checker, path: string, o: Record<string, Json>): Rule {
  const r: Rule = {};
  if (o.mode !== undefined) r.mode = c.oneOf(`${path}.mode`, o.mode, MODES);
  if (o.require !== undefined) r.require = c.oneOf(`${path}.require`, o.require, REQUIREMENTS);
  if (o.nonce !== undefined) r.nonce = c.boolean(`${path}.nonce`, o.nonce);
  if (o.algs !== undefined) {
    r.algs = c.list(
      `${path}.algs`,
      o.algs,
      (p, x) =>
        c.string(p, x, (s) =>
          isSupportedAlgorithm(s) ? undefined : `unsupported DPoP algorithm ${show(s)}`,
        ),
      true,
    );
  }
  for (const k of Object.keys(r) as (keyof Rule)[]) if (r[k] === undefined) delete r[k];
  return r;
}

function scopes(c: Checker, path: string, v: Json): string[] | undefined {
  return c.list(path, v, (p, x) =>
    c.string(p, x, (s) => (SCOPE_TOKEN.test(s) ? undefined : `not a scope token: ${show(s)}`)),
  );
}

const RULE_KEYS = ['mode', 'require', 'nonce', 'algs'] as const;

/**
 * Validates a policy read from JSON or YAML and returns it with defaults filled in.
 * Throws PolicyError naming every bad field.
 */
export function parsePolicy(value: unknown): Policy {
  const c = new Checker();
  const top = c.object('policy', value, [
    'resource',
    'audience',
    'publicOrigins',
    'basePath',
    'trustedProxies',
    'clientCertificateHeader',
    'issuers',
    'defaults',
    'routes',
    'clients',
    'proof',
    'tokenCacheSize',
    'retryAfterSeconds',
    'realm',
    'resourceName',
    'resourceDocumentation',
  ]);
  if (top === undefined) throw new PolicyError(c.issues);

  const resource = c.string('resource', top.resource, httpUrl);
  const out: Policy = { resource: resource ?? '', issuers: [] };
  out.audience =
    top.audience === undefined
      ? resource === undefined
        ? []
        : [resource]
      : (c.list('audience', top.audience, (p, x) => c.string(p, x), true) ?? []);
  if (top.publicOrigins !== undefined) {
    out.publicOrigins = (
      c.list('publicOrigins', top.publicOrigins, (p, x) => c.string(p, x, origin), true) ?? []
    ).map((o) => new URL(o).origin);
  }
  out.basePath = '';
  // '' is the root mount: what parsePolicy itself writes when basePath is not given
  if (top.basePath !== undefined && top.basePath !== '') {
    const b = c.string('basePath', top.basePath, prefixPath);
    if (b !== undefined) out.basePath = b.replace(/\/+$/, '');
  }
  out.trustedProxies = [];
  if (top.trustedProxies !== undefined) {
    out.trustedProxies =
      c.list('trustedProxies', top.trustedProxies, (p, x) =>
        c.string(p, x, (s) =>
          parseCidr(s) === undefined ? `not an IP address or CIDR: ${show(s)}` : undefined,
        ),
      ) ?? [];
  }
  if (top.clientCertificateHeader !== undefined) {
    out.clientCertificateHeader = c.oneOf(
      'clientCertificateHeader',
      top.clientCertificateHeader,
      CERTIFICATE_HEADER_FORMATS,
    );
  }
  if (
    (out.publicOrigins?.length ?? 0) === 0 &&
    out.trustedProxies.length === 0 &&
    top.publicOrigins === undefined
  ) {
    c.fail(
      'publicOrigins',
      'set publicOrigins (or trustedProxies whose Forwarded headers give the public URL)',
    );
  }
  if (out.clientCertificateHeader !== undefined && out.trustedProxies.length === 0) {
    c.fail(
      'clientCertificateHeader',
      'a forwarded certificate header is only read from trustedProxies: list them',
    );
  }

  out.issuers = c.list('issuers', top.issuers, (p, x) => issuer(c, p, x), true) ?? [];
  const seen = new Set<string>();
  out.issuers.forEach((iss, i) => {
    if (seen.has(iss.issuer)) c.fail(`issuers[${i}].issuer`, `issuer ${show(iss.issuer)} is listed twice`);
    seen.add(iss.issuer);
  });

  const defaults: Rule & { scopes?: string[] } = { ...DEFAULT_RULE };
  if (top.defaults !== undefined) {
    const d = c.object('defaults', top.defaults, [...RULE_KEYS, 'scopes']);
    if (d !== undefined) {
      Object.assign(defaults, ruleFields(c, 'defaults', d));
      if (d.scopes !== undefined) defaults.scopes = scopes(c, 'defaults.scopes', d.scopes) ?? [];
    }
  }
  out.defaults = defaults;

  out.routes =
    top.routes === undefined
      ? []
      : (c.list('routes', top.routes, (p, x) => {
          const o = c.object(p, x, ['name', 'path', 'pattern', 'methods', 'scopes', ...RULE_KEYS]);
          if (o === undefined) return undefined;
          const r: RouteRule = ruleFields(c, p, o);
          if ((o.path === undefined) === (o.pattern === undefined)) {
            c.fail(p, 'expected exactly one of path or pattern');
          }
          if (o.path !== undefined) {
            const v = c.string(`${p}.path`, o.path, prefixPath);
            if (v !== undefined) r.path = normalRoutePath(v);
          }
          if (o.pattern !== undefined) {
            const v = c.string(`${p}.pattern`, o.pattern, patternPath);
            if (v !== undefined) r.pattern = normalRoutePath(v);
          }
          if (o.name !== undefined) r.name = c.string(`${p}.name`, o.name);
          if (o.methods !== undefined) {
            r.methods = c.list(
              `${p}.methods`,
              o.methods,
              (q, m) =>
                c.string(q, m, (s) =>
                  METHOD.test(s) ? undefined : `expected an upper-case method, received ${show(s)}`,
                ),
              true,
            );
          }
          if (o.scopes !== undefined) r.scopes = scopes(c, `${p}.scopes`, o.scopes);
          return r;
        }) ?? []);

  out.clients =
    top.clients === undefined
      ? []
      : (c.list('clients', top.clients, (p, x) => {
          const o = c.object(p, x, ['issuer', 'clientId', ...RULE_KEYS]);
          if (o === undefined) return undefined;
          // client ids are only unique per authorization server: a rule names the issuer
          const configured = out.issuers.map((iss) => iss.issuer);
          const oneOf = `one of ${configured.map((iss) => show(iss)).join(', ')}`;
          let iss: string | undefined;
          if (o.issuer !== undefined) {
            iss = c.string(`${p}.issuer`, o.issuer, (v) =>
              configured.includes(v) ? undefined : `not a configured issuer (${oneOf}), received ${show(v)}`,
            );
          } else if (configured.length === 1) {
            iss = configured[0];
          } else if (configured.length > 1) {
            c.fail(`${p}.issuer`, `required when more than one issuer is configured (${oneOf})`);
          }
          const id = c.string(`${p}.clientId`, o.clientId);
          if (iss === undefined || id === undefined) return undefined;
          return { issuer: iss, clientId: id, ...ruleFields(c, p, o) };
        }) ?? []);
  const ids = new Set<string>();
  out.clients.forEach((cl, i) => {
    const key = `${cl.issuer}\n${cl.clientId}`;
    if (ids.has(key)) {
      c.fail(
        `clients[${i}].clientId`,
        `client ${show(cl.clientId)} of issuer ${show(cl.issuer)} is listed twice`,
      );
    }
    ids.add(key);
  });

  out.proof = { maxAgeSeconds: 60, clockSkewSeconds: 5 };
  if (top.proof !== undefined) {
    const pr = c.object('proof', top.proof, ['maxAgeSeconds', 'clockSkewSeconds']);
    if (pr?.maxAgeSeconds !== undefined)
      out.proof.maxAgeSeconds = c.number('proof.maxAgeSeconds', pr.maxAgeSeconds, 1, 3600);
    if (pr?.clockSkewSeconds !== undefined) {
      out.proof.clockSkewSeconds = c.number('proof.clockSkewSeconds', pr.clockSkewSeconds, 0, 600);
    }
  }
  out.tokenCacheSize =
    top.tokenCacheSize === undefined ? 10_000 : c.number('tokenCacheSize', top.tokenCacheSize, 1, 10_000_000);
  out.retryAfterSeconds =
    top.retryAfterSeconds === undefined ? 5 : c.number('retryAfterSeconds', top.retryAfterSeconds, 0, 86_400);
  for (const k of ['realm', 'resourceName'] as const) {
    if (top[k] !== undefined) out[k] = c.string(k, top[k]);
  }
  if (top.resourceDocumentation !== undefined) {
    out.resourceDocumentation = c.string('resourceDocumentation', top.resourceDocumentation, httpUrl);
  }

  if (c.issues.length > 0) throw new PolicyError(c.issues);
  return out;
}

function issuer(c: Checker, p: string, x: Json): IssuerPolicy | undefined {
  const o = c.object(p, x, [
    'issuer',
    'jwksUri',
    'introspection',
    'algorithms',
    'jwksCooldownSeconds',
    'jwksMaxAgeSeconds',
    'timeoutMs',
  ]);
  if (o === undefined) return undefined;
  const iss: IssuerPolicy = { issuer: c.string(`${p}.issuer`, o.issuer) ?? '' };
  if (o.jwksUri !== undefined) iss.jwksUri = c.string(`${p}.jwksUri`, o.jwksUri, httpUrl);
  if (o.introspection !== undefined) {
    const i = c.object(`${p}.introspection`, o.introspection, [
      'endpoint',
      'clientId',
      'clientSecret',
      'cacheMaxSeconds',
      'requireAudience',
    ]);
    if (i !== undefined) {
      const intro: IntrospectionPolicy = {
        endpoint: c.string(`${p}.introspection.endpoint`, i.endpoint, httpUrl) ?? '',
        clientId: c.string(`${p}.introspection.clientId`, i.clientId) ?? '',
      };
      if (i.clientSecret !== undefined)
        intro.clientSecret = c.string(`${p}.introspection.clientSecret`, i.clientSecret);
      if (i.cacheMaxSeconds !== undefined) {
        intro.cacheMaxSeconds = c.number(`${p}.introspection.cacheMaxSeconds`, i.cacheMaxSeconds, 0, 86_400);
      }
      if (i.requireAudience !== undefined) {
        intro.requireAudience = c.boolean(`${p}.introspection.requireAudience`, i.requireAudience);
      }
      iss.introspection = intro;
    }
  }
  if (o.jwksUri === undefined && o.introspection === undefined)
    c.fail(p, 'expected jwksUri or introspection (or both)');
  iss.algorithms = [...DEFAULT_TOKEN_ALGORITHMS];
  if (o.algorithms !== undefined) {
    iss.algorithms =
      c.list(
        `${p}.algorithms`,
        o.algorithms,
        (q, a) =>
          c.string(q, a, (s) =>
            TOKEN_ALGORITHMS.has(s) ? undefined : `unsupported token algorithm ${show(s)}`,
          ),
        true,
      ) ?? [];
  }
  iss.jwksCooldownSeconds =
    o.jwksCooldownSeconds === undefined
      ? 30
      : c.number(`${p}.jwksCooldownSeconds`, o.jwksCooldownSeconds, 0, 86_400);
  iss.jwksMaxAgeSeconds =
    o.jwksMaxAgeSeconds === undefined
      ? 600
      : c.number(`${p}.jwksMaxAgeSeconds`, o.jwksMaxAgeSeconds, 0, 86_400);
  iss.timeoutMs = o.timeoutMs === undefined ? 5000 : c.number(`${p}.timeoutMs`, o.timeoutMs, 1, 120_000);
  return iss;
}
