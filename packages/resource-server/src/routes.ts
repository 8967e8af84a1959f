// Which rule applies to a request: the first route whose methods and path match, else the
// defaults; then the client's overrides once the token names the client.
//
// A policy rule must never cover less than what the framework routes to the handler, and apps
// read paths differently: Express compares case-insensitively, Fastify can ignore case, repeated
// slashes and what follows a ";", Hono resolves dot-segments, Express and Fastify do not. So a
// path is matched under each of those readings: as received and in normal form (the path of
// core's htu normal form: what RFC 3986 does not allow in a path percent-encoded, `/a|b` is
// `/a%7Cb`; encoded unreserved characters decoded, dot-segments removed: `/%61dmin`,
// `/x/../admin`), with "\\" read as "/" (Express's url.parse) and that in normal form, and each of
// those percent-decoded (Fastify decodes, then lower-cases: `/%E2%84%AAeys` is `/keys`); each
// as is or compared case-insensitively, with runs of "/" as one, and with
// ";params" removed from every segment or everything from the first ";" cut. Each reading selects a route (first match wins,
// else the defaults); when readings select different routes, their rules are combined field by
// field (combineRules), so that no field of any selected rule is relaxed: no reading is mixed with
// another, and a relaxed route never relaxes a spelling that another reading sends elsewhere.
import { type JwsAlgorithm, LruCache, normalizeHtu } from '@keybound/core';
import {
  DEFAULT_RULE,
  type EffectiveRule,
  type Mode,
  type Policy,
  type Requirement,
  type Rule,
} from './policy.js';

type PathTest = (path: string) => boolean;

/** Route tests by reading: bit 1 compares case-insensitively, bit 2 collapses runs of "/". */
type Tests = readonly [PathTest, PathTest, PathTest, PathTest];
const CASELESS = 1;
const COLLAPSED = 2;

export interface CompiledRoute {
  readonly name: string;
  readonly methods: ReadonlySet<string> | undefined;
  /** The route's path test for each kind of reading (CASELESS | COLLAPSED). */
  readonly tests: Tests;
  readonly rule: EffectiveRule;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A pattern's test: `:name` is one segment, a final `*` the rest, also nothing (`/files/*` matches
 * `/files`, as Hono routes it); a trailing "/" is not significant, as in a `path`.
 */
function compilePattern(pattern: string): (path: string) => boolean {
  const segments = (pattern.length > 1 ? pattern.replace(/\/+$/, '') : pattern).split('/').slice(1);
  let source = '^';
  for (const seg of segments) {
    if (seg === '*') source += '(?:/.*)?';
    else if (seg.startsWith(':')) source += '/[^/]+';
    else source += `/${escapeRegExp(seg)}`;
  }
  const re = new RegExp(`${source}${segments.at(-1) === '*' ? '' : '/?'}$`);
  return (path) => re.test(path);
}

/** The tests of a route path: as written, lower-cased, with runs of "/" as one, and both. */
function compileTests(path: string, compile: (p: string) => PathTest): Tests {
  const cache = new Map<string, PathTest>();
  const test = (p: string): PathTest => {
    let t = cache.get(p);
    if (t === undefined) {
      t = compile(p);
      cache.set(p, t);
    }
    return t;
  };
  const lower = caseless(path);
  return [test(path), test(lower), test(collapse(path)), test(collapse(lower))];
}

/**
 * The case-insensitive form of a path, as a framework that decodes before it lower-cases reads it
 * (Fastify caseSensitive: false), in normal form again: `/%C3%9Cber` (Über) and `/%C3%BCber` (über)
 * are both `/%C3%BCber`, `/%E2%84%AAeys` (KELVIN SIGN) is `/keys`.
 */
function caseless(path: string): string {
  return normalPath(decoded(path).toLowerCase());
}

const collapse = (path: string): string => path.replace(/\/{2,}/g, '/');

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
  const rule: EffectiveRule = {
    mode: over.mode ?? base.mode,
    require: over.require ?? base.require,
    nonce: over.nonce ?? base.nonce,
    algs: (over.algs as JwsAlgorithm[] | undefined) ?? base.algs,
    scopes: over.scopes ?? base.scopes,
  };
  if (over.require === undefined && base.requireBoth === true) rule.requireBoth = true;
  return rule;
}

export class RouteTable {
  readonly defaults: CompiledRoute;
  readonly #routes: CompiledRoute[];
  /** Client overrides by issuer, then client id (client ids are only unique per issuer). */
  readonly #clients = new Map<string, Map<string, Rule>>();
  readonly #merged = new WeakMap<CompiledRoute, Map<Rule, EffectiveRule>>();
  /** CASELESS | COLLAPSED when some route path has upper case or repeated "/". */
  #significant = 0;
  /** Each route's position (the defaults: -1), to name a combination of routes. */
  readonly #index = new Map<CompiledRoute, number>();
  /** Routes that stand for a combination of routes, by the positions of the routes combined. */
  readonly #combinations = new LruCache<string, CompiledRoute>(256);

  constructor(policy: Policy) {
    const base = mergeRule(DEFAULT_RULE, policy.defaults ?? {});
    const always = () => true;
    this.defaults = {
      name: 'default',
      methods: undefined,
      tests: [always, always, always, always],
      rule: base,
    };
    this.#routes = (policy.routes ?? []).map((r) => ({
      name: r.name ?? r.path ?? r.pattern!,
      methods: r.methods === undefined ? undefined : methodSet(r.methods),
      tests:
        r.path !== undefined ? compileTests(r.path, compilePrefix) : compileTests(r.pattern!, compilePattern),
      rule: mergeRule(base, r),
    }));
    this.#index.set(this.defaults, -1);
    for (const [i, r] of this.#routes.entries()) this.#index.set(r, i);
    // which kinds of reading test a route differently from the reading as written
    for (const r of this.#routes) {
      if (r.tests[CASELESS] !== r.tests[0]) this.#significant |= CASELESS;
      if (r.tests[COLLAPSED] !== r.tests[0]) this.#significant |= COLLAPSED;
    }
    for (const c of policy.clients ?? []) {
      const { issuer, clientId, ...rule } = c;
      // parsePolicy fills in the issuer; without it only a single-issuer policy is unambiguous
      const iss = issuer ?? (policy.issuers.length === 1 ? policy.issuers[0]!.issuer : undefined);
      if (iss === undefined) continue;
      let byId = this.#clients.get(iss);
      if (byId === undefined) {
        byId = new Map();
        this.#clients.set(iss, byId);
      }
      byId.set(clientId, rule);
    }
  }

  /**
   * The route for a request (path without query, as received): the route the readings of the
   * path select, or when they select several, their combination (see the top of this file).
   */
  match(method: string, rawPath: string): CompiledRoute {
    if (this.#routes.length === 0) return this.defaults;
    const normal = normalPath(rawPath);
    const best = this.#first(method, normal, 0);
    // the common case: every other reading of the path is the same as its normal form
    if (this.#significant === 0 && PLAIN_PATH.test(rawPath)) return best;
    const selected = [best];
    const seen = new Set<string>([`0 ${normal}`]);
    for (const base of readings(rawPath, normal)) {
      for (let kind = 0; kind <= (CASELESS | COLLAPSED); kind++) {
        let path = kind & COLLAPSED ? collapse(base) : base;
        if (kind & CASELESS) path = caseless(path);
        const semi = path.indexOf(';');
        const paths = semi < 0 ? [path] : [path, path.replace(/;[^/]*/g, ''), path.slice(0, semi)];
        // a kind of reading that tests no route differently is tested once, as written
        const tests = kind & this.#significant;
        for (const p of paths) {
          const key = `${tests} ${p}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const route = this.#first(method, p, tests);
          if (!selected.includes(route)) selected.push(route);
        }
      }
    }
    return selected.length === 1 ? best : this.#combined(selected);
  }

  /**
   * The routes that readings select, as one: a route whose rule is the combination of them all
   * (see combineRules) when there is one, the first such, else a route named after them all.
   */
  #combined(selected: CompiledRoute[]): CompiledRoute {
    const key = selected.map((r) => this.#index.get(r)).join(' ');
    let route = this.#combinations.get(key);
    if (route !== undefined) return route;
    const rule = combineRules(selected.map((r) => r.rule));
    route = selected.find((r) => sameRule(r.rule, rule)) ?? {
      name: selected.map((r) => r.name).join(' + '),
      methods: undefined,
      tests: selected[0]!.tests,
      rule,
    };
    this.#combinations.set(key, route);
    return route;
  }

  /** The first route whose methods and path match under one reading, else the defaults. */
  #first(method: string, path: string, tests: number): CompiledRoute {
    for (const r of this.#routes) {
      if ((r.methods === undefined || r.methods.has(method)) && r.tests[tests]!(path)) return r;
    }
    return this.defaults;
  }

  /**
   * The route's rule with the overrides of the token's client applied, the client named by its
   * issuer and client id (scopes are never overridden).
   */
  forClient(route: CompiledRoute, issuer: string, clientId: string | undefined): EffectiveRule {
    if (clientId === undefined) return route.rule;
    const over = this.#clients.get(issuer)?.get(clientId);
    if (over === undefined) return route.rule;
    let perRoute = this.#merged.get(route);
    if (perRoute === undefined) {
      perRoute = new Map();
      this.#merged.set(route, perRoute);
    }
    let merged = perRoute.get(over);
    if (merged === undefined) {
      merged = mergeRule(route.rule, { ...over, scopes: route.rule.scopes });
      perRoute.set(over, merged);
    }
    return merged;
  }
}

/**
 * The bases of the readings of a path, the normal form first: as received, with every "\\" read
 * as "/" (Express's url.parse does so for a target in absolute-form or with a "#") and that in
 * normal form, and each of those percent-decoded (Fastify).
 */
function readings(rawPath: string, normal: string): string[] {
  const bases = [normal];
  const add = (p: string) => {
    if (!bases.includes(p)) bases.push(p);
  };
  add(rawPath);
  if (rawPath.includes('\\')) {
    const slashed = rawPath.replaceAll('\\', '/');
    add(slashed);
    add(normalPath(slashed));
  }
  if (rawPath.includes('%')) {
    for (const base of bases.slice()) if (base.includes('%')) add(decoded(base));
  }
  return bases;
}

/**
 * The path percent-decoded, as Fastify decodes it before it lower-cases (`/%E2%84%AAeys`, with
 * U+212A KELVIN SIGN, is `/\u212Aeys`, lower-cased `/keys`): each run of encoded octets that is
 * UTF-8 decoded, a run that is not kept as is, and "/" kept encoded (`%2F` is not a separator).
 */
function decoded(path: string): string {
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run).replaceAll('/', '%2F');
    } catch {
      return run;
    }
  });
}

/** A path that every reading leaves as it is: lower case, no "%", ";", "\\", "//" or "/.". */
const PLAIN_PATH = /^(?:\/(?!\/|\.)[a-z0-9\-._~!$&'()*+,=:@]*)*$/;

const MODE_RANK: Record<Mode, number> = { off: 0, report: 1, enforce: 2 };
const REQUIRE_RANK: Record<Requirement, number> = { none: 0, either: 1, dpop: 2, mtls: 2 };

/**
 * The rules that readings of one path select, as one rule that is at least as strict as each of
 * them in every field: the highest mode, the strictest requirement (`dpop` and `mtls` together:
 * both, `requireBoth`), a nonce if any asks for one, the union of the scopes and the intersection
 * of the algorithms (empty when they share none: every DPoP proof is then refused, alg_not_allowed).
 */
export function combineRules(rules: readonly EffectiveRule[]): EffectiveRule {
  const [first, ...rest] = rules;
  let mode = first!.mode;
  let require = first!.require;
  let both = first!.requireBoth === true;
  let nonce = first!.nonce;
  let algs = first!.algs;
  const scopes = [...first!.scopes];
  for (const r of rest) {
    if (MODE_RANK[r.mode] > MODE_RANK[mode]) mode = r.mode;
    if (
      r.requireBoth === true ||
      (REQUIRE_RANK[r.require] === 2 && REQUIRE_RANK[require] === 2 && r.require !== require)
    )
      both = true;
    if (REQUIRE_RANK[r.require] > REQUIRE_RANK[require]) require = r.require;
    nonce ||= r.nonce;
    algs = algs.filter((a) => r.algs.includes(a));
    for (const s of r.scopes) if (!scopes.includes(s)) scopes.push(s);
  }
  const rule: EffectiveRule = { mode, require: both ? 'dpop' : require, nonce, algs, scopes };
  if (both) rule.requireBoth = true;
  return rule;
}

/** Whether two rules ask for the same in every field. */
function sameRule(a: EffectiveRule, b: EffectiveRule): boolean {
  return (
    a.mode === b.mode &&
    a.require === b.require &&
    (a.requireBoth === true) === (b.requireBoth === true) &&
    a.nonce === b.nonce &&
    a.algs.length === b.algs.length &&
    a.algs.every((x) => b.algs.includes(x)) &&
    a.scopes.length === b.scopes.length &&
    a.scopes.every((x) => b.scopes.includes(x))
  );
}

/** A path core's normal form leaves as it is: RFC 3986 path characters only, no "%" (and no "/."). */
const NORMAL_PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/**
 * The path in the normal form used for matching: the path of core's normalizeHtu, so that a route
 * and the htu a proof is checked against read a path alike (what RFC 3986 does not allow in a path,
 * `\` included, percent-encoded; percent-encoding normalised; dot-segments removed).
 */
export function normalPath(path: string): string {
  if (!path.startsWith('/')) return path;
  if (NORMAL_PATH_CHARS.test(path) && !path.includes('/.')) return path;
  try {
    return normalizeHtu(`http://h${path}`).slice('http://h'.length);
  } catch {
    return path; // not well-formed Unicode (a lone surrogate): matched as received
  }
}
