import { createResourceServer, type Policy, PolicyError, parsePolicy } from '@keybound/resource-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const minimal = {
  resource: 'https://api.example.com',
  publicOrigins: ['https://api.example.com'],
  issuers: [{ issuer: 'https://as.example.com', jwksUri: 'https://as.example.com/jwks' }],
};

function issuesOf(value: unknown): string[] {
  try {
    parsePolicy(value);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a PolicyError');
}

describe('parsePolicy', () => {
  it('fills every default into a minimal policy', () => {
    const p = parsePolicy(minimal);
    expect(p).toEqual({
      ...minimal,
      audience: ['https://api.example.com'],
      basePath: '',
      trustedProxies: [],
      issuers: [
        {
          ...minimal.issuers[0],
          algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
          jwksCooldownSeconds: 30,
          jwksMaxAgeSeconds: 600,
          timeoutMs: 5000,
        },
      ],
      defaults: {
        mode: 'enforce',
        require: 'either',
        nonce: false,
        algs: ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'],
        scopes: [],
      },
      routes: [],
      clients: [],
      proof: { maxAgeSeconds: 60, clockSkewSeconds: 5 },
      tokenCacheSize: 10_000,
      retryAfterSeconds: 5,
    });
  });

  it('returns a policy that parses to itself (JSON round trip)', () => {
    const p = parsePolicy({
      ...minimal,
      basePath: '/api/',
      routes: [{ pattern: '/users/:id/*', methods: ['GET'], mode: 'report', scopes: ['users:read'] }],
      clients: [{ clientId: 'legacy', mode: 'off' }],
    });
    expect(p.basePath).toBe('/api');
    expect(parsePolicy(JSON.parse(JSON.stringify(p)))).toEqual(p);
  });

  it('keys a client rule by issuer and client id: the only issuer is filled in', () => {
    const p = parsePolicy({ ...minimal, clients: [{ clientId: 'legacy', mode: 'off' }] });
    expect(p.clients).toEqual([{ issuer: 'https://as.example.com', clientId: 'legacy', mode: 'off' }]);
    expect(parsePolicy(p)).toEqual(p);
  });

  it('requires the issuer of a client rule when more than one issuer is configured', () => {
    const issuers = [
      ...minimal.issuers,
      { issuer: 'https://partner.example', jwksUri: 'https://partner.example/j' },
    ];
    expect(issuesOf({ ...minimal, issuers, clients: [{ clientId: 'legacy', mode: 'off' }] })).toEqual([
      'clients[0].issuer: required when more than one issuer is configured (one of "https://as.example.com", "https://partner.example")',
    ]);
    expect(
      issuesOf({ ...minimal, issuers, clients: [{ issuer: 'https://other.example', clientId: 'legacy' }] }),
    ).toEqual([
      'clients[0].issuer: not a configured issuer (one of "https://as.example.com", "https://partner.example"), received "https://other.example"',
    ]);
    const p = parsePolicy({
      ...minimal,
      issuers,
      clients: [
        { issuer: 'https://as.example.com', clientId: 'legacy', mode: 'off' },
        { issuer: 'https://partner.example', clientId: 'legacy', mode: 'report' },
      ],
    });
    expect(p.clients).toHaveLength(2);
    expect(parsePolicy(p)).toEqual(p);
  });

  it('parses its own output when no basePath was given (the root mount)', () => {
    const p = parsePolicy(minimal);
    expect(p.basePath).toBe('');
    expect(parsePolicy(p)).toEqual(p);
  });

  it('loads the same policy from YAML', () => {
    const yaml = `
resource: https://api.example.com
publicOrigins: [https://api.example.com]
issuers:
  - issuer: https://as.example.com
    jwksUri: https://as.example.com/jwks
defaults: { mode: report, require: dpop }
routes:
  - path: /admin
    mode: enforce
    nonce: true
`;
    const p = parsePolicy(parseYaml(yaml));
    expect(p.defaults).toMatchObject({ mode: 'report', require: 'dpop' });
    expect(p.routes).toEqual([{ path: '/admin', mode: 'enforce', nonce: true }]);
  });

  it('names the bad field, what it expected and what it received', () => {
    expect(
      issuesOf({ ...minimal, routes: [{ path: '/a' }, { path: '/b' }, { path: '/c', mode: 'enforced' }] }),
    ).toEqual(['routes[2].mode: expected off|report|enforce, received "enforced"']);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf({
      resource: 'ftp://x',
      issuers: [],
      defaults: { require: 'maybe', nonce: 'yes' },
      trustedProxies: ['10.0.0.0/33'],
      tokenCacheSize: -1,
    });
    expect(issues).toEqual([
      'resource: expected an http(s) URL, received "ftp://x"',
      'trustedProxies[0]: not an IP address or CIDR: "10.0.0.0/33"',
      'publicOrigins: set publicOrigins (or trustedProxies whose Forwarded headers give the public URL)',
      'issuers: expected at least one entry',
      'defaults.require: expected dpop|mtls|either|none, received "maybe"',
      'defaults.nonce: expected true or false, received "yes"',
      'tokenCacheSize: expected an integer from 1 to 10000000, received -1',
    ]);
  });

  it('refuses unknown fields so that a typo cannot silently weaken a rule', () => {
    expect(issuesOf({ ...minimal, routes: [{ path: '/admin', requrie: 'dpop' }] })).toEqual([
      'routes[0].requrie: unknown field (known: name, path, pattern, methods, scopes, mode, require, nonce, algs)',
    ]);
    expect(
      issuesOf(
        JSON.parse(
          `{"resource":"https://a.example","publicOrigins":["https://a.example"],"issuers":[{"issuer":"x","jwksUri":"https://x/j"}],"__proto__":{"mode":"off"}}`,
        ),
      ),
    ).toEqual([expect.stringMatching(/^policy\.__proto__: unknown field/)]);
  });

  it.each([
    ['policy', null, 'policy: expected an object, received null'],
    ['policy', [], 'policy: expected an object, received []'],
    ['policy', 'resource: x', 'policy: expected an object, received "resource: x"'],
    [
      'publicOrigins[0]',
      { ...minimal, publicOrigins: ['https://api.example.com/v1'] },
      'publicOrigins[0]: expected an origin like https://api.example.com (no path, query or userinfo), received "https://api.example.com/v1"',
    ],
    [
      'publicOrigins',
      { ...minimal, publicOrigins: undefined },
      'publicOrigins: set publicOrigins (or trustedProxies whose Forwarded headers give the public URL)',
    ],
    [
      'issuers[0]',
      { ...minimal, issuers: [{ issuer: 'https://as' }] },
      'issuers[0]: expected jwksUri or introspection (or both)',
    ],
    [
      'issuers[1].issuer',
      { ...minimal, issuers: [minimal.issuers[0], minimal.issuers[0]] },
      'issuers[1].issuer: issuer "https://as.example.com" is listed twice',
    ],
    [
      'routes[0]',
      { ...minimal, routes: [{ path: '/a', pattern: '/b' }] },
      'routes[0]: expected exactly one of path or pattern',
    ],
    [
      'routes[0].pattern',
      { ...minimal, routes: [{ pattern: '/a/*/b' }] },
      'routes[0].pattern: "*" may only be a whole last segment, received "/a/*/b"',
    ],
    [
      'routes[0].path',
      { ...minimal, routes: [{ path: '/a/../b' }] },
      'routes[0].path: a path must not contain dot-segments',
    ],
    [
      'routes[0].path',
      { ...minimal, routes: [{ path: 'admin' }] },
      'routes[0].path: expected a path starting with "/", received "admin"',
    ],
    [
      'routes[0].methods[0]',
      { ...minimal, routes: [{ path: '/a', methods: ['get'] }] },
      'routes[0].methods[0]: expected an upper-case method, received "get"',
    ],
    [
      'defaults.algs[0]',
      { ...minimal, defaults: { algs: ['HS256'] } },
      'defaults.algs[0]: unsupported DPoP algorithm "HS256"',
    ],
    [
      'defaults.scopes[0]',
      { ...minimal, defaults: { scopes: ['a b'] } },
      'defaults.scopes[0]: not a scope token: "a b"',
    ],
    [
      'clients[1].clientId',
      { ...minimal, clients: [{ clientId: 'a' }, { clientId: 'a' }] },
      'clients[1].clientId: client "a" of issuer "https://as.example.com" is listed twice',
    ],
    [
      'clients[0].scopes',
      { ...minimal, clients: [{ clientId: 'a', scopes: ['x'] }] },
      'clients[0].scopes: unknown field (known: issuer, clientId, mode, require, nonce, algs)',
    ],
    [
      'clientCertificateHeader',
      { ...minimal, clientCertificateHeader: 'rfc9440' },
      'clientCertificateHeader: a forwarded certificate header is only read from trustedProxies: list them',
    ],
    [
      'clientCertificateHeader',
      { ...minimal, clientCertificateHeader: 'haproxy', trustedProxies: ['10.0.0.1'] },
      'clientCertificateHeader: expected rfc9440|envoy-xfcc|nginx|aws-alb, received "haproxy"',
    ],
    [
      'issuers[0].algorithms[0]',
      { ...minimal, issuers: [{ issuer: 'x', jwksUri: 'https://x/j', algorithms: ['none'] }] },
      'issuers[0].algorithms[0]: unsupported token algorithm "none"',
    ],
    [
      'proof.maxAgeSeconds',
      { ...minimal, proof: { maxAgeSeconds: 1e9 } },
      'proof.maxAgeSeconds: expected an integer from 1 to 3600, received 1000000000',
    ],
  ])('refuses bad input with a clear error: %s', (_label, value, message) => {
    expect(issuesOf(value)).toContain(message);
  });

  it('puts route paths and patterns in normal form, or refuses them when they have none', () => {
    const p = parsePolicy({
      ...minimal,
      routes: [{ path: '/%61dmin' }, { pattern: '/%6Frders/:id/%7c/*' }, { path: '/a%7cb/' }],
    });
    expect(p.routes?.map((r) => r.path ?? r.pattern)).toEqual(['/admin', '/orders/:id/%7C/*', '/a%7Cb/']);
    expect(
      issuesOf({ ...minimal, routes: [{ path: '/a%zz' }, { pattern: '/%2e%2E/x' }, { path: '/x/%2e' }] }),
    ).toEqual([
      'routes[0].path: a "%" must begin a percent-encoding (%XX), received "/a%zz"',
      'routes[1].pattern: a pattern must not contain dot-segments',
      'routes[2].path: a path must not contain dot-segments',
    ]);
  });

  it('throws only PolicyError, whatever JSON it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parsePolicy(value);
        } catch (e) {
          expect(e).toBeInstanceOf(PolicyError);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.record({
          routes: fc.array(
            fc.dictionary(
              fc.constantFrom('path', 'pattern', 'mode', 'require', 'nonce', 'algs', 'methods'),
              fc.jsonValue(),
            ),
          ),
        }),
        (extra) => {
          try {
            parsePolicy({ ...minimal, ...extra });
          } catch (e) {
            expect(e).toBeInstanceOf(PolicyError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps secrets out of error messages', () => {
    const issues = issuesOf({
      ...minimal,
      issuers: [{ issuer: 'x', introspection: { endpoint: 'nope', clientId: 'rs', clientSecret: 42 } }],
    });
    expect(issues).toEqual([
      'issuers[0].introspection.endpoint: expected an absolute URL, received "nope"',
      'issuers[0].introspection.clientSecret: expected a non-empty string, received 42',
    ]);
  });

  it('refuses a policy that needs nonces when no nonce manager is given', () => {
    const policy: Policy = { ...minimal, routes: [{ path: '/pay', nonce: true }] };
    expect(() => createResourceServer({ policy })).toThrow(/requires DPoP nonces/);
  });

  it('refuses introspection without a client secret anywhere', () => {
    const policy = {
      ...minimal,
      issuers: [{ issuer: 'x', introspection: { endpoint: 'https://x/i', clientId: 'rs' } }],
    };
    expect(() => createResourceServer({ policy })).toThrow(/needs a clientSecret/);
    expect(() => createResourceServer({ policy, introspectionSecret: () => 'from-env' })).not.toThrow();
  });
});
