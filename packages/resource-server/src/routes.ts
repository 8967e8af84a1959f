// Which rule applies to a request: the first route whose methods and path match, else the
// defaults; then the client's overrides once the token names the client. Paths are matched in
// normal form (percent-encoded unreserved characters decoded, dot-segments removed), so that
// `/%61dmin` or `/x/../admin` cannot slip past a rule for `/admin`.
import { type JwsAlgorithm, normalizeHtu } from '@keybound/core';
import { DEFAULT_RULE, type EffectiveRule, type Policy, type Rule } from './policy.js';

export interface CompiledRoute {
  readonly name: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly test: (path: string) => boolean;
  readonly rule: EffectiveRule;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compilePattern(pattern: string): (path: string) => boolean {
  const segments = pattern.split('/').slice(1);
  let source = '^';
  for (const seg of segments) {
    if (seg === '*') source += '/.*';
    else if (seg.startsWith(':')) source += '/[^/]+';
    else source += `/${escapeRegExp(seg)}`;
  }
  const re = new RegExp(`${source}${segments.at(-1) === '*' ? '' : '/?'}$`);
  return (path) => re.test(path);
}

function compilePrefix(prefix: string): (path: string) => boolean {
  const p = prefix.replace(/\/+$/, '');
  if (p === '') return () => true;
  const withSlash = `${p}/`;
  return (path) => path === p || path.startsWith(withSlash);
}

/** A route's methods; GET also covers HEAD, which every framework answers with the GET handler. */
function methodSet(methods: readonly string[]): ReadonlySet<string> {
  const set = new Set(methods);
  if (set.has('GET')) set.add('HEAD');
  return set;
}

export function mergeRule(base: EffectiveRule, over: Rule & { scopes?: string[] }): EffectiveRule {
  return {
    mode: over.mode ?? base.mode,
    require: over.require ?? base.require,
    nonce: over.nonce ?? base.nonce,
    algs: (over.algs as JwsAlgorithm[] | undefined) ?? base.algs,
    scopes: over.scopes ?? base.scopes,
  };
}

export class RouteTable {
  readonly defaults: CompiledRoute;
  readonly #routes: CompiledRoute[];
  readonly #clients = new Map<string, Rule>();
  readonly #merged = new WeakMap<CompiledRoute, Map<string, EffectiveRule>>();

  constructor(policy: Policy) {
    const base = mergeRule(DEFAULT_RULE, policy.defaults ?? {});
    this.defaults = { name: 'default', methods: undefined, test: () => true, rule: base };
    this.#routes = (policy.routes ?? []).map((r) => ({
      name: r.name ?? r.path ?? r.pattern!,
      methods: r.methods === undefined ? undefined : methodSet(r.methods),
      test: r.path !== undefined ? compilePrefix(r.path) : compilePattern(r.pattern!),
      rule: mergeRule(base, r),
    }));
    for (const c of policy.clients ?? []) {
      const { clientId, ...rule } = c;
      this.#clients.set(clientId, rule);
    }
  }

  /** The route for a request (path without query, as received). */
  match(method: string, rawPath: string): CompiledRoute {
    if (this.#routes.length === 0) return this.defaults;
    const path = normalPath(rawPath);
    for (const r of this.#routes) {
      if ((r.methods === undefined || r.methods.has(method)) && r.test(path)) return r;
    }
    return this.defaults;
  }

  /** The route's rule with the client's overrides applied (scopes are never overridden). */
  forClient(route: CompiledRoute, clientId: string | undefined): EffectiveRule {
    if (clientId === undefined) return route.rule;
    const over = this.#clients.get(clientId);
    if (over === undefined) return route.rule;
    let perRoute = this.#merged.get(route);
    if (perRoute === undefined) {
      perRoute = new Map();
      this.#merged.set(route, perRoute);
    }
    let merged = perRoute.get(clientId);
    if (merged === undefined) {
      merged = mergeRule(route.rule, { ...over, scopes: route.rule.scopes });
      perRoute.set(clientId, merged);
    }
    return merged;
  }
}

/** The path in the normal form used for matching. */
export function normalPath(path: string): string {
  if (!path.startsWith('/')) return path;
  if (!path.includes('%') && !path.includes('/.') && !path.includes('\\')) return path;
  try {
    return normalizeHtu(`http://h${path.replace(/\\/g, '%5C')}`).slice('http://h'.length);
  } catch {
    return path;
  }
}
