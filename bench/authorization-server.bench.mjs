// Authorization-server token endpoint throughput over loopback, in one run, with autocannon as the
// load generator in this process and every server in its own child process (so they do not share a
// core): grant_type=client_credentials with a DPoP proof, client_secret_basic, an ES256-signed
// RFC 9068 JWT access token bound to the proof key (cnf.jkt), in-memory replay state.
//   - keybound (@keybound/authorization-server, built) vs oidc-provider 9 configured the same way
//     (DPoP on, JWT access tokens through resource indicators, ES256, client_secret_basic);
//   - keybound with its JWT signing seam switched to jose 6 SignJWT (deps.signJwt), to show what
//     the hand-written compact-JWS signer is worth.
// Every request carries a fresh proof (pre-generated: each needs its own jti, and htu must be the
// server's own token endpoint); every answer must be 200, or the measurement is refused. Rounds are
// interleaved and the median taken. Besides tokens/s (which the load generator and whatever else runs
// on the machine also shape), each server reports the CPU time it spent per token (user + system,
// every thread of its process): the cost of a token, less sensitive to a busy machine.
// Child mode: `node bench/authorization-server.bench.mjs serve <kind> <config-json>`.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const KINDS = ['keybound', 'keybound-jose-signer', 'oidc-provider'];
const RESOURCE = 'https://api.bench.test';
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-client-secret-0123456789abcdef';

const log = (...args) => console.error('[authorization-server bench]', ...args);

// ---------------------------------------------------------------------------------------------
// child: one server on 127.0.0.1, prints {"port", "tokenPath"} once listening

async function serveKeybound(kind, config) {
  const { createAuthorizationServer, parseServerConfig } = await import('@keybound/authorization-server');
  const deps = { onError: (e) => console.error(e) };
  if (kind === 'keybound-jose-signer') {
    // the jose 6 that the authorization server depends on (the root may hoist an older one)
    const req = createRequire(new URL('../packages/authorization-server/package.json', import.meta.url));
    const { SignJWT } = await import(pathToFileURL(req.resolve('jose')).href);
    deps.signJwt = (key, typ, payload) =>
      new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ, kid: key.kid }).sign(key.privateKey);
  }
  const server = createAuthorizationServer(
    parseServerConfig({
      issuer: config.issuer,
      listeners: { http: { host: '127.0.0.1', port: 0 } },
      // the client_credentials path does not touch storage; SQLite in memory keeps the run clean
      storage: { type: 'sqlite', path: ':memory:' },
      scopes: ['read'],
      resources: [{ identifier: RESOURCE, access_token_ttl: 300 }],
      signing_alg: 'ES256',
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          scope: 'read',
        },
      ],
    }),
    deps,
  );
  await server.listen();
  const port = Number(new URL(server.listening.http).port);
  return { port, tokenPath: '/token', close: () => server.close() };
}

async function serveOidcProvider(config) {
  const { default: Provider } = await import('oidc-provider');
  const { createServer } = await import('node:http');
  const { generateKeyPairSync } = await import('node:crypto');
  const signingJwk = {
    ...generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }),
    alg: 'ES256',
    use: 'sig',
    kid: 'bench',
  };
  const provider = new Provider(config.issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'read',
        // only an ES256 key is configured (as for keybound)
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingJwk] },
    scopes: ['openid', 'read'],
    cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read',
          audience: RESOURCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    dPoPSigningAlgValues: ['ES256'],
  });
  // the same public issuer as keybound's; requests arrive on 127.0.0.1 with the public Host
  provider.proxy = true;
  const server = createServer(provider.callback());
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: server.address().port,
    tokenPath: '/token',
    close: () => new Promise((done) => server.close(done)),
  };
}

async function serve(kind, config) {
  const s = kind === 'oidc-provider' ? await serveOidcProvider(config) : await serveKeybound(kind, config);
  process.stdout.write(`${JSON.stringify({ port: s.port, tokenPath: s.tokenPath })}\n`);
  // the parent asks for this process's CPU time before and after each load
  createInterface({ input: process.stdin }).on('line', () => {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: user + system })}\n`);
  });
  const stop = async () => {
    await s.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// ---------------------------------------------------------------------------------------------
// parent

function startChild(kind, config) {
  const child = spawn(process.execPath, [SELF, 'serve', kind, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // oidc-provider prints a runtime warning on Node 20; pass everything else through
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!/Unsupported runtime|Use Node\.js v22/.test(line)) console.error(`[${kind}] ${line}`);
  });
  return new Promise((resolveStarted, reject) => {
    const lines = createInterface({ input: child.stdout });
    const waiting = [];
    lines.once('line', (line) => {
      lines.on('line', (l) => waiting.shift()?.(JSON.parse(l).cpu));
      const cpu = () =>
        new Promise((answer) => {
          waiting.push(answer);
          child.stdin.write('cpu\n');
        });
      resolveStarted({ child, cpu, ...JSON.parse(line) });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function stopChild(child) {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGINT');
  });
}

const basic = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`;
const BODY = 'grant_type=client_credentials&scope=read';

async function load(server, host, proofs, { amount, connections }) {
  const { default: autocannon } = await import('autocannon');
  let next = 0;
  let last = 0n;
  const start = process.hrtime.bigint();
  const headers = {
    host,
    'content-type': 'application/x-www-form-urlencoded',
    authorization: basic,
    'x-forwarded-proto': 'https',
    'x-forwarded-host': host,
  };
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    amount,
    timeout: 10,
    sampleInt: 10,
    requests: [
      {
        method: 'POST',
        path: server.tokenPath,
        body: BODY,
        setupRequest: (req) => ({ ...req, headers: { ...headers, dpop: proofs[next++] } }),
        onResponse: () => {
          last = process.hrtime.bigint();
        },
      },
    ],
  });
  if (next > proofs.length) throw new Error('ran out of proofs');
  result.seconds = Number(last - start) / 1e9;
  return result;
}

/** One request outside the timing: the answer must be a DPoP-bound JWT for our key. */
async function checkOnce(kind, server, host, key, tokenUrl, createProof) {
  const res = await fetch(`http://127.0.0.1:${server.port}${server.tokenPath}`, {
    method: 'POST',
    headers: {
      host,
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': host,
      dpop: await createProof(key, { htm: 'POST', htu: tokenUrl }),
    },
    body: BODY,
  });
  const body = await res.json();
  if (res.status !== 200 || !/^dpop$/i.test(body.token_type)) {
    throw new Error(`${kind}: check request answered ${res.status} ${JSON.stringify(body)}`);
  }
  const [header, payload] = body.access_token
    .split('.')
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
  if (header.alg !== 'ES256' || payload.cnf?.jkt !== key.jkt || payload.aud !== RESOURCE) {
    throw new Error(`${kind}: unexpected token ${JSON.stringify({ header, payload })}`);
  }
}

export async function run() {
  const { createProof, generateDpopKey } = await import('@keybound/core');
  const issuer = 'https://as.bench.test';
  const host = new URL(issuer).host;
  const tokenUrl = `${issuer}/token`;
  const key = await generateDpopKey('ES256', { extractable: true });
  const proofsFor = async (n) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = await createProof(key, { htm: 'POST', htu: tokenUrl });
    return out;
  };

  const connections = Number(process.env.KEYBOUND_BENCH_CONNECTIONS ?? 32);
  const amount = Number(process.env.KEYBOUND_BENCH_REQUESTS ?? 8_000);
  const rounds = Number(process.env.KEYBOUND_BENCH_ROUNDS ?? 3);
  const servers = {};
  const samples = Object.fromEntries(KINDS.map((k) => [k, []]));
  try {
    for (const kind of KINDS) servers[kind] = await startChild(kind, { issuer });
    for (const kind of KINDS) {
      await checkOnce(kind, servers[kind], host, key, tokenUrl, createProof);
      const warm = await load(servers[kind], host, await proofsFor(1500 + 2 * connections), {
        amount: 1500,
        connections,
      });
      if (warm.non2xx > 0 || warm.errors > 0) {
        throw new Error(`${kind}: warm-up got ${warm.non2xx} non-2xx answers and ${warm.errors} errors`);
      }
    }
    for (let round = 0; round < rounds; round++) {
      const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]);
      for (const kind of order) {
        // fresh proofs right before each run: iat stays well inside every server's window
        const proofs = await proofsFor(amount + 2 * connections + 10);
        const cpuBefore = await servers[kind].cpu();
        const r = await load(servers[kind], host, proofs, { amount, connections });
        const cpuPerToken = ((await servers[kind].cpu()) - cpuBefore) / r['2xx'];
        if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
          throw new Error(`${kind}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
        }
        const rate = r['2xx'] / r.seconds;
        samples[kind].push({ rate, cpuPerToken, p50: r.latency.p50 * 1000, p99: r.latency.p99 * 1000 });
        log(
          `round ${round + 1}/${rounds} ${kind}: ${Math.round(rate)} tokens/s, ${Math.round(cpuPerToken)} µs CPU/token, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`,
        );
      }
    }
  } finally {
    for (const s of Object.values(servers)) await stopChild(s.child);
  }

  const med = (kind) => {
    const pick = (f) => {
      const s = samples[kind].map(f).sort((a, b) => a - b);
      return s[s.length >> 1];
    };
    return {
      rate: pick((x) => x.rate),
      cpu: pick((x) => x.cpuPerToken),
      p50: pick((x) => x.p50),
      p99: pick((x) => x.p99),
    };
  };
  const ours = med('keybound');
  const peer = med('oidc-provider');
  const jose = med('keybound-jose-signer');
  const round2 = (x) => Math.round(x * 100) / 100;
  const setup = `client_credentials + DPoP, client_secret_basic, ES256 JWT access tokens, ${connections} connections, ${amount} requests x ${rounds} rounds (median)`;
  return [
    {
      name: 'token endpoint: keybound vs oidc-provider 9',
      ours: Math.round(ours.rate),
      baseline: Math.round(peer.rate),
      ratio: round2(ours.rate / peer.rate),
      unit: 'tokens/s',
      p50: Math.round(ours.p50),
      p99: Math.round(ours.p99),
      note: `${setup}; oidc-provider p50 ${Math.round(peer.p50)} µs, p99 ${Math.round(peer.p99)} µs; target ≥ 2x`,
    },
    {
      name: 'token endpoint CPU per token: keybound vs oidc-provider 9',
      ours: Math.round(ours.cpu),
      baseline: Math.round(peer.cpu),
      ratio: round2(ours.cpu / peer.cpu),
      unit: 'µs CPU/token',
      note: `server process CPU (user + system, all threads) per issued token; lower is better; ${(peer.cpu / ours.cpu).toFixed(2)}x less CPU`,
    },
    {
      name: 'token endpoint p99 latency: keybound vs oidc-provider 9',
      ours: Math.round(ours.p99),
      baseline: Math.round(peer.p99),
      ratio: round2(ours.p99 / peer.p99),
      unit: 'µs',
      note: 'lower is better',
    },
    {
      name: 'token endpoint: built-in JWT signer vs jose 6 SignJWT (same server)',
      ours: Math.round(ours.rate),
      baseline: Math.round(jose.rate),
      ratio: round2(ours.rate / jose.rate),
      unit: 'tokens/s',
      p50: Math.round(ours.p50),
      p99: Math.round(ours.p99),
      note: `jose signer p50 ${Math.round(jose.p50)} µs, p99 ${Math.round(jose.p99)} µs`,
    },
    {
      name: 'token endpoint CPU per token: built-in JWT signer vs jose 6 SignJWT',
      ours: Math.round(ours.cpu),
      baseline: Math.round(jose.cpu),
      ratio: round2(ours.cpu / jose.cpu),
      unit: 'µs CPU/token',
      note: 'lower is better; jose 6 signs through WebCrypto on the libuv thread pool (off the event loop, more CPU in total)',
    },
  ];
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3], JSON.parse(process.argv[4]));
} else if (process.argv[1] === SELF) {
  const rows = await run();
  console.log(JSON.stringify(rows, null, 2));
}
