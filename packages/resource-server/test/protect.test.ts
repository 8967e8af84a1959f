// protect() called directly with request facts: rollout semantics, events and stats.
import { createProof, type DpopKey, generateDpopKey, NonceManager } from '@keybound/core';
import {
  classifyClientPath,
  createResourceServer,
  type DecisionEvent,
  type Policy,
  PROTECT_STEPS,
  type RequestFacts,
} from '@keybound/resource-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from './support/issuer.js';

const ORIGIN = 'https://api.example.com';
let issuer: TestIssuer;
let key: DpopKey;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  key = await generateDpopKey('ES256');
});
afterAll(() => issuer.close());

function policy(extra: Partial<Policy> = {}): Policy {
  return {
    resource: ORIGIN,
    publicOrigins: [ORIGIN],
    trustedProxies: ['10.0.0.0/8'],
    issuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
    defaults: { require: 'dpop' },
    ...extra,
  };
}

const token = (claims: Record<string, unknown> = {}) =>
  issuer.mint({ aud: ORIGIN, client_id: 'app', sub: 'u', ...claims });

async function dpopFacts(
  path: string,
  t: string,
  extra: string[] = [],
  nonce?: string,
): Promise<RequestFacts> {
  const proof = await createProof(key, {
    htm: 'GET',
    htu: `${ORIGIN}${path}`,
    accessToken: t,
    ...(nonce ? { nonce } : {}),
  });
  return {
    method: 'GET',
    target: path,
    headers: ['Host', 'api.example.com', 'Authorization', `DPoP ${t}`, 'DPoP', proof, ...extra],
  };
}

const bearerFacts = (path: string, t: string, extra: string[] = [], peerAddress?: string): RequestFacts => ({
  method: 'GET',
  target: path,
  headers: ['Host', 'api.example.com', 'Authorization', `Bearer ${t}`, ...extra],
  ...(peerAddress ? { peerAddress } : {}),
});

describe('protect()', () => {
  it('runs its steps in the order of the design: parse, policy, token, proof, binding', () => {
    expect(PROTECT_STEPS.map(([name]) => name)).toEqual(['parse', 'policy', 'token', 'proof', 'binding']);
  });

  it('lets a client override raise the mode: an enforced client on an off route is refused', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'off', require: 'dpop' },
        clients: [{ clientId: 'strict-app', mode: 'enforce' }],
      }),
    });
    expect(await rs.protect(bearerFacts('/x', await token()))).toMatchObject({ allow: true, mode: 'off' });
    expect(await rs.protect(bearerFacts('/x', await token({ client_id: 'strict-app' })))).toMatchObject({
      allow: false,
      code: 'dpop_required',
      mode: 'enforce',
    });
  });

  it("applies a client override only to tokens of the issuer it names, not to another issuer's client of that id", async () => {
    const partner = await TestIssuer.start();
    try {
      const rs = createResourceServer({
        policy: policy({
          issuers: [
            { issuer: issuer.issuer, jwksUri: issuer.jwksUri },
            { issuer: partner.issuer, jwksUri: partner.jwksUri },
          ],
          defaults: { mode: 'enforce', require: 'dpop' },
          clients: [{ issuer: issuer.issuer, clientId: 'legacy-batch', mode: 'off' }],
        }),
      });
      const ours = await token({ client_id: 'legacy-batch' });
      expect(await rs.protect(bearerFacts('/x', ours))).toMatchObject({ allow: true, mode: 'off' });
      const theirs = await partner.mint({ aud: ORIGIN, client_id: 'legacy-batch', sub: 'u' });
      expect(await rs.protect(bearerFacts('/x', theirs))).toMatchObject({
        allow: false,
        code: 'dpop_required',
        mode: 'enforce',
      });
    } finally {
      await partner.close();
    }
  });

  it('checks a presented proof even where no binding is required', async () => {
    const rs = createResourceServer({ policy: policy({ defaults: { require: 'none' } }) });
    const t = await token({ cnf: { jkt: key.jkt } });
    expect(await rs.protect(await dpopFacts('/x', t))).toMatchObject({
      allow: true,
      binding: 'dpop',
      jkt: key.jkt,
    });
    const wrongUrl = await dpopFacts('/y', t);
    expect(await rs.protect({ ...wrongUrl, target: '/x' })).toMatchObject({
      allow: false,
      code: 'htu_mismatch',
    });
  });

  it('in report mode sends the nonce a refused client needs and says what enforce would answer', async () => {
    const nonces = new NonceManager({ secrets: ['0123456789abcdef0123456789abcdef'] });
    const rs = createResourceServer({
      policy: policy({ defaults: { mode: 'report', require: 'dpop', nonce: true } }),
      nonces,
    });
    const d = await rs.protect(await dpopFacts('/x', await token({ cnf: { jkt: key.jkt } })));
    expect(d).toMatchObject({
      allow: true,
      // possession of the key was verified; the nonce is what enforce would want besides
      binding: 'dpop',
      jkt: key.jkt,
      wouldDeny: {
        code: 'nonce_required',
        status: 401,
        error: 'use_dpop_nonce',
        description: 'Resource server requires nonce in DPoP proof',
      },
    });
    if (d.allow) expect(await nonces.check(d.responseHeaders['DPoP-Nonce']!)).toBe('valid');
  });

  it('in report mode lets through the proof checks that do not show possession, and refuses a bound token without it', async () => {
    const nonces = new NonceManager({ secrets: ['0123456789abcdef0123456789abcdef'] });
    const rs = createResourceServer({
      policy: policy({ defaults: { mode: 'report', require: 'dpop', nonce: true } }),
      nonces,
    });
    const t = await token({ cnf: { jkt: key.jkt } });
    const facts = async (
      options: Partial<Parameters<typeof createProof>[1]>,
      k = key,
    ): Promise<RequestFacts> => ({
      method: 'GET',
      target: '/x',
      headers: [
        'Host',
        'api.example.com',
        'Authorization',
        `DPoP ${t}`,
        'DPoP',
        await createProof(k, { htm: 'GET', htu: `${ORIGIN}/x`, accessToken: t, ...options }),
      ],
    });
    const nonce = await nonces.issue();
    for (const [options, code] of [
      [{ htm: 'POST', nonce }, 'htm_mismatch'],
      [{ htu: `${ORIGIN}/y`, nonce }, 'htu_mismatch'],
      [{}, 'nonce_required'],
      [{ nonce: 'forged.nonce' }, 'nonce_invalid'],
    ] as const) {
      expect(await rs.protect(await facts(options)), code).toMatchObject({
        allow: true,
        binding: 'dpop',
        jkt: key.jkt,
        wouldDeny: { code },
      });
    }
    const other = await generateDpopKey('ES256');
    expect(await rs.protect(await facts({ htu: `${ORIGIN}/y` }, other))).toMatchObject({
      allow: false,
      code: 'jkt_mismatch',
      status: 401,
    });
    // an old proof, or one used before, does not show that the presenter holds the key now
    expect(await rs.protect(await facts({ iat: Math.floor(Date.now() / 1000) - 600, nonce }))).toMatchObject({
      allow: false,
      code: 'iat_too_old',
    });
    const used = await facts({ htu: `${ORIGIN}/y`, nonce });
    expect(await rs.protect(used)).toMatchObject({ allow: true, wouldDeny: { code: 'htu_mismatch' } });
    expect(await rs.protect(used)).toMatchObject({ allow: false, code: 'replay' });
    const once = (await facts({ nonce })).headers as string[];
    expect(
      await rs.protect({ method: 'GET', target: '/x', headers: [...once, ...once.slice(-2)] }),
    ).toMatchObject({ allow: false, code: 'proof_multiple' });
  });

  it("in off mode requires current possession of a bound token's key and nothing else of the proof", async () => {
    const rs = createResourceServer({ policy: policy({ defaults: { mode: 'off', require: 'dpop' } }) });
    const t = await token({ cnf: { jkt: key.jkt } });
    const elsewhere = await createProof(key, { htm: 'POST', htu: `${ORIGIN}/elsewhere`, accessToken: t });
    const stale = await createProof(key, {
      htm: 'GET',
      htu: `${ORIGIN}/x`,
      accessToken: t,
      iat: Math.floor(Date.now() / 1000) - 3600,
    });
    const facts = (dpop: string[]): RequestFacts => ({
      method: 'GET',
      target: '/x',
      headers: ['Host', 'api.example.com', 'Authorization', `DPoP ${t}`, ...dpop],
    });
    expect(await rs.protect(facts(['DPoP', elsewhere]))).toMatchObject({
      allow: true,
      mode: 'off',
      binding: 'dpop',
      jkt: key.jkt,
    });
    expect(await rs.protect(facts(['DPoP', elsewhere]))).toMatchObject({ allow: false, code: 'replay' });
    expect(await rs.protect(facts(['DPoP', stale]))).toMatchObject({ allow: false, code: 'iat_too_old' });
    expect(await rs.protect(facts([]))).toMatchObject({ allow: false, code: 'proof_missing' });
    const [h, p] = elsewhere.split('.');
    expect(await rs.protect(facts(['DPoP', `${h}.${p}.${'A'.repeat(86)}`]))).toMatchObject({
      allow: false,
      code: 'bad_signature',
    });
    const forOther = await createProof(key, {
      htm: 'GET',
      htu: `${ORIGIN}/x`,
      accessToken: await token({ cnf: { jkt: key.jkt }, jti: 'another' }),
    });
    expect(await rs.protect(facts(['DPoP', forOther]))).toMatchObject({ allow: false, code: 'ath_mismatch' });
  });

  it('emits one event per decision with the client path hint and no token or proof', async () => {
    const events: DecisionEvent[] = [];
    const rs = createResourceServer({ policy: policy(), onDecision: (e) => events.push(e) });
    const t = await token({ cnf: { jkt: key.jkt } });
    await rs.protect(await dpopFacts('/x', t, ['User-Agent', 'okhttp/4.12.0']));
    await rs.protect(bearerFacts('/x', await token(), ['X-Forwarded-For', '203.0.113.5'], '10.1.2.3'));
    await rs.protect(bearerFacts('/x', await token(), ['Origin', 'https://app.example.com']));
    await rs.protect({ method: 'GET', target: '/x', headers: [] });
    expect(events.map((e) => [e.outcome, e.code, e.clientPath, e.scheme, e.binding])).toEqual([
      ['allow', undefined, 'mobile', 'dpop', 'dpop'],
      ['deny', 'dpop_required', 'gateway', 'bearer', 'none'],
      ['deny', 'dpop_required', 'browser', 'bearer', 'none'],
      ['deny', 'token_missing', 'backend', 'none', 'none'],
    ]);
    expect(events[0]).toMatchObject({
      method: 'GET',
      route: 'default',
      mode: 'enforce',
      status: 200,
      clientId: 'app',
      issuer: issuer.issuer,
      jkt: key.jkt,
    });
    expect(new Date(events[0]!.time).getTime()).not.toBeNaN();
    const text = JSON.stringify(events);
    expect(text).not.toContain(t);
    expect(text).not.toContain('eyJ');
  });

  it('never lets a throwing telemetry sink change or break a decision', async () => {
    const rs = createResourceServer({
      policy: policy(),
      onDecision: () => {
        throw new Error('sink down');
      },
    });
    expect(await rs.protect(bearerFacts('/x', await token()))).toMatchObject({
      allow: false,
      code: 'dpop_required',
    });
  });

  it('counts decisions, reasons and spoof attempts', async () => {
    const rs = createResourceServer({ policy: policy({ routes: [{ path: '/r', mode: 'report' }] }) });
    await rs.protect(bearerFacts('/x', await token(), ['X-Forwarded-Host', 'evil.example'], '192.0.2.1'));
    await rs.protect(bearerFacts('/r', await token()));
    await rs.protect(await dpopFacts('/x', await token({ cnf: { jkt: key.jkt } })));
    expect(rs.stats()).toEqual({
      allow: 1,
      deny: 1,
      report: 1,
      spoofAttempts: 1,
      codes: { dpop_required: 2 },
    });
  });

  it('ends the authority of an absolute-form target at the first "/", "?" or "#"', async () => {
    const rs = createResourceServer({
      policy: policy({ defaults: { require: 'dpop' }, routes: [{ path: '/health', mode: 'off' }] }),
    });
    const t = await token();
    for (const target of [
      'http://api.example.com?/health',
      'HTTP://api.example.com#/health',
      'http://h?x=/health',
    ]) {
      expect(await rs.protect(bearerFacts(target, t))).toMatchObject({ allow: false, route: 'default' });
    }
    for (const target of ['http://api.example.com/health?x', 'https://u@api.example.com:8443/health/x']) {
      expect(await rs.protect(bearerFacts(target, t))).toMatchObject({ allow: true, route: '/health' });
    }
  });

  it('refuses a target that names a scheme other than http(s) and reads "\\" as "/"', async () => {
    const rs = createResourceServer({
      policy: policy({ defaults: { mode: 'off' }, routes: [{ path: '/admin', mode: 'enforce' }] }),
    });
    const t = await token();
    for (const target of [
      'x://h/admin',
      'ftp://h/admin/users',
      'x:/admin',
      'http:/admin',
      'https:\\\\h/admin',
    ]) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: false,
        status: 400,
        code: 'target_invalid',
      });
    }
    for (const target of ['/admin\\#', '/admin\\users', 'http://h/admin\\', '\\admin', '/x\\..\\admin']) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: false,
        route: '/admin',
      });
    }
    expect(await rs.protect(bearerFacts('/other', t))).toMatchObject({ allow: true });
  });

  it('matches routes on the percent-decoded path, lower-cased as JavaScript does (Fastify caseSensitive: false)', async () => {
    const rs = createResourceServer({
      policy: policy({ defaults: { mode: 'off' }, routes: [{ path: '/keys', mode: 'enforce' }] }),
    });
    const t = await token();
    // U+212A KELVIN SIGN: Fastify decodes the path, then lower-cases it to "/keys"
    for (const target of [
      '/%E2%84%AAeys',
      '/%E2%84%AAEYS/x',
      '/%6B%65%79%73;v',
      '//%4Beys',
      '/%E2%84%AAeys/%ZZ',
      '/%ZZ/../%E2%84%AAeys',
    ]) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: false,
        route: '/keys',
      });
    }
    expect(await rs.protect(bearerFacts('/%E2%84%AAeyss', t))).toMatchObject({ allow: true });
  });

  it('matches a route with non-ASCII letters in any case of them, as a decoding caseless router does', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'off' },
        routes: [
          { path: '/%C3%BCber', mode: 'enforce' },
          { path: '/%C3%89T%C3%89', mode: 'enforce' },
        ],
      }),
    });
    const t = await token();
    // Fastify (caseSensitive: false) routes /Über, /ÜBER and /über to the /über handler
    for (const [target, route] of [
      ['/%C3%BCber', '/%C3%BCber'],
      ['/%C3%9Cber', '/%C3%BCber'],
      ['/%C3%9CBER', '/%C3%BCber'],
      ['/%c3%9cber/x', '/%C3%BCber'],
      ['/%C3%A9t%C3%A9', '/%C3%89T%C3%89'],
      ['/%C3%89t%C3%A9', '/%C3%89T%C3%89'],
    ]) {
      expect(await rs.protect(bearerFacts(target!, t)), target).toMatchObject({ allow: false, route });
    }
    expect(await rs.protect(bearerFacts('/%C3%BCbers', t))).toMatchObject({ allow: true });
  });

  it('matches routes case-insensitively, with runs of "/" as one and ;params ignored', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'off', require: 'dpop' },
        routes: [
          { path: '/admin', mode: 'enforce' },
          { pattern: '/Reports/:id', mode: 'enforce' },
        ],
      }),
    });
    const t = await token();
    for (const [target, route] of [
      ['/ADMIN', '/admin'],
      ['//admin', '/admin'],
      ['/admin;x', '/admin'],
      ['/admin;x/users', '/admin'],
      ['/aDmIn//users;v=1/', '/admin'],
      ['/reports/7', '/Reports/:id'],
      ['/REPORTS//7;x', '/Reports/:id'],
    ]) {
      expect(await rs.protect(bearerFacts(target!, t)), target).toMatchObject({
        allow: false,
        code: 'dpop_required',
        route,
      });
    }
    expect(await rs.protect(bearerFacts('/administrator', t))).toMatchObject({
      allow: true,
      route: 'default',
    });
  });

  it('applies the stricter rule where readings of a path select different routes', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'enforce', require: 'dpop' },
        routes: [
          { path: '/admin/health', mode: 'off' },
          { path: '/admin', scopes: ['admin'] },
          { path: '/public', mode: 'off' },
        ],
      }),
    });
    const t = await token({ scope: 'admin' });
    expect(await rs.protect(bearerFacts('/admin/health', t))).toMatchObject({ allow: true });
    // a framework that reads these as /admin/health serves the health check; one that does not
    // serves them from the /admin handler: the /admin rule applies, not the relaxed health route
    for (const target of ['/admin//health', '/admin/health;x', '/ADMIN/Health']) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: false,
        code: 'dpop_required',
      });
    }
    // Express and Fastify do not resolve dot-segments: they route these to /secret/..., not /public
    for (const target of ['/secret/../public', '/secret/%2e%2e/public', '/x;/../public']) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: false,
        code: 'dpop_required',
        route: 'default',
      });
    }
  });

  it('combines the rules that readings of a path select: no scope of either is dropped', async () => {
    // Hono resolves dot-segments: /status/../admin reaches the /admin handler, Express /status/...
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'enforce', require: 'dpop' },
        routes: [
          { path: '/status', mode: 'enforce', require: 'none' },
          { path: '/admin', mode: 'report', scopes: ['admin'] },
        ],
      }),
    });
    const plain = await token({ scope: 'read' });
    for (const target of ['/status/../admin', '/status/%2e%2e/admin']) {
      expect(await rs.protect(bearerFacts(target, plain)), target).toMatchObject({
        allow: false,
        status: 403,
        code: 'insufficient_scope',
        mode: 'enforce',
        route: '/admin + /status',
      });
    }
    // the highest mode (enforce, from /status) and the strictest requirement (dpop, from /admin)
    expect(await rs.protect(bearerFacts('/status/../admin', await token({ scope: 'admin' })))).toMatchObject({
      allow: false,
      code: 'dpop_required',
    });
    expect(await rs.protect(bearerFacts('/status', plain))).toMatchObject({ allow: true, route: '/status' });
  });

  it('combines the requirements dpop and mtls into both, and the algs into their intersection', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'enforce', require: 'none' },
        routes: [
          { path: '/d', require: 'dpop', algs: ['ES256', 'PS256'], nonce: false },
          { path: '/m', require: 'mtls', algs: ['ES256'] },
          { path: '/p', require: 'dpop', algs: ['PS256'] },
        ],
      }),
    });
    const t = await token({ cnf: { jkt: key.jkt } });
    // a DPoP-bound token with its proof is not enough where a reading selects the mTLS route
    expect(await rs.protect(await dpopFacts('/m/../d', t))).toMatchObject({
      allow: false,
      code: 'mtls_required',
      route: '/d + /m',
    });
    expect(await rs.protect(await dpopFacts('/d', t))).toMatchObject({ allow: true, route: '/d' });
    // no algorithm both routes accept: every proof is refused
    expect(await rs.protect(await dpopFacts('/m/../p', t))).toMatchObject({
      allow: false,
      code: 'alg_not_allowed',
      route: '/p + /m',
    });
  });

  it('selects the same route for a character RFC 3986 does not allow in a path, raw or percent-encoded', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'off', require: 'dpop' },
        routes: [
          { path: '/a%7Cb', mode: 'enforce' },
          { path: '/c%20d', mode: 'enforce' },
          { path: '/e%7Bf', mode: 'enforce' },
        ],
      }),
    });
    const t = await token();
    for (const [targets, route] of [
      [['/a|b', '/a%7Cb', '/a%7cb', '/a|b/x', '/a%7cb/x'], '/a%7Cb'],
      [['/c d', '/c%20d', '/c d/x'], '/c%20d'],
      [['/e{f', '/e%7Bf', '/e%7bf', '/e{f/x'], '/e%7Bf'],
    ] as const) {
      for (const target of targets) {
        expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
          allow: false,
          code: 'dpop_required',
          route,
        });
      }
    }
  });

  it('never applies a route that no reading of the path selects', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'off', require: 'dpop' },
        routes: [
          { path: '/files;v=2', mode: 'enforce' },
          { path: '/a/b;v', mode: 'enforce' },
        ],
      }),
    });
    const t = await token();
    // the ;params of the request are ignored, not those of a route: /files is not /files;v=2;
    // and readings are not mixed: no reading of /a;x/b;v keeps one ;param and drops the other
    for (const target of ['/files', '/files/x', '/files;v=3', '/a;x/b;v', '/a/b']) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: true,
        route: 'default',
      });
    }
    for (const target of ['/files;v=2', '/FILES;V=2/x', '/a/b;v', '/A//b;v/c']) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({ allow: false });
    }
  });

  it('matches a final "/*" on the bare prefix, a pattern with a trailing "/" like a path, and encoded route paths', async () => {
    const rs = createResourceServer({
      policy: policy({
        defaults: { mode: 'off', require: 'dpop' },
        routes: [
          { pattern: '/files/*', mode: 'enforce' },
          { pattern: '/admin/', mode: 'enforce' },
          { path: '/%6Beys', mode: 'enforce' },
        ],
      }),
    });
    const t = await token();
    for (const [target, route] of [
      ['/files', '/files/*'], // Hono's app.get('/files/*') answers /files
      ['/files/', '/files/*'],
      ['/files/a/b', '/files/*'],
      ['/admin', '/admin/'],
      ['/admin/', '/admin/'],
      ['/keys', '/keys'],
      ['/%6beys/x', '/keys'],
    ]) {
      expect(await rs.protect(bearerFacts(target!, t)), target).toMatchObject({ allow: false, route });
    }
    for (const target of ['/filesx', '/admin/x', '/keysx']) {
      expect(await rs.protect(bearerFacts(target, t)), target).toMatchObject({
        allow: true,
        route: 'default',
      });
    }
  });

  it('names a route by its name, path or pattern in decisions', async () => {
    const rs = createResourceServer({
      policy: policy({
        routes: [
          { name: 'admin area', path: '/admin', methods: ['POST'] },
          { pattern: '/users/:id', require: 'none' },
        ],
      }),
    });
    expect(await rs.protect(bearerFacts('/users/7', await token()))).toMatchObject({
      allow: true,
      route: '/users/:id',
    });
    expect(await rs.protect(bearerFacts('/users/7/x', await token()))).toMatchObject({ route: 'default' });
    expect(await rs.protect({ ...bearerFacts('/admin/x', await token()), method: 'POST' })).toMatchObject({
      route: 'admin area',
    });
    expect(await rs.protect(bearerFacts('/admin/x', await token()))).toMatchObject({ route: 'default' });
  });
});

describe('the client path hint', () => {
  it.each([
    [{ origin: 'https://app.example' }, 'browser'],
    [{ secFetchSite: 'same-origin' }, 'browser'],
    [{ userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/120' }, 'browser'],
    [{ userAgent: 'okhttp/4.12.0' }, 'mobile'],
    [{ userAgent: 'MyApp/3 CFNetwork/1490 Darwin/23.2.0' }, 'mobile'],
    [{ userAgent: 'curl/8.5', certificate: true }, 'backend'],
    [{ userAgent: 'Go-http-client/1.1', forwardedByTrustedProxy: true }, 'gateway'],
    [{ userAgent: 'python-requests/2.31' }, 'backend'],
  ])('classifies %j as %s', (facts, path) => {
    expect(classifyClientPath({ certificate: false, forwardedByTrustedProxy: false, ...facts })).toBe(path);
  });
});
