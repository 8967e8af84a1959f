// Resource-server throughput over loopback, in one run, with autocannon as the load generator in
// this process and every server in its own child process (so they do not share a core):
//   - a DPoP-protected node:http endpoint through keybound (repeat client, JWT access token,
//     in-memory and Redis replay store) vs the same node:http server doing one bare ES256
//     crypto.verify (cached KeyObject) of the DPoP header per request;
//   - keybound's Express adapter vs express-oauth2-jwt-bearer 1.10 with DPoP required, on the same
//     Express app with the same requests.
// Every request carries a fresh proof (pre-generated: each needs its own jti); every answer must
// be 200, or the measurement is refused. Rounds are interleaved and the median taken.
// Child mode: `node bench/resource-server.bench.mjs serve <kind> <config-json>`.
import { spawn } from 'node:child_process';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const PUBLIC_ORIGIN = 'http://api.bench.test';
const PATH = '/resource';
const PAIRS = [
  ['keybound-memory', 'bare'],
  ['keybound-redis', 'bare'],
  ['express-keybound', 'express-peer'],
  ['express-none', 'express-peer'],
];
const KINDS = [
  'bare',
  'keybound-memory',
  'keybound-redis',
  'express-keybound',
  'express-peer',
  'express-none',
];

const log = (...args) => console.error('[resource-server bench]', ...args);

// ---------------------------------------------------------------------------------------------
// child: one server

async function serve(kind, config) {
  const ok = (res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  };
  let server;
  if (kind === 'bare') {
    // the floor: one ES256 verify of the DPoP header's signature with a cached KeyObject
    const key = createPublicKey({ key: config.clientJwk, format: 'jwk' });
    server = createServer((req, res) => {
      const proof = req.headers.dpop ?? '';
      const dot = proof.lastIndexOf('.');
      const valid = verify(
        'sha256',
        Buffer.from(proof.slice(0, dot)),
        { key, dsaEncoding: 'ieee-p1363' },
        Buffer.from(proof.slice(dot + 1), 'base64url'),
      );
      if (valid) ok(res);
      else {
        res.writeHead(401);
        res.end();
      }
    });
  } else {
    const policy = {
      resource: PUBLIC_ORIGIN,
      publicOrigins: [PUBLIC_ORIGIN],
      issuers: [{ issuer: config.issuer, jwksUri: config.jwksUri }],
      defaults: { mode: 'enforce', require: 'dpop' },
    };
    const { createResourceServer } = await import('@keybound/resource-server');
    let replayStore;
    if (kind === 'keybound-redis') {
      const { Redis } = await import('ioredis');
      const { RedisReplayStore } = await import('@keybound/core');
      const client = new Redis({ host: '127.0.0.1', port: 6379, enableAutoPipelining: true });
      replayStore = new RedisReplayStore({
        client,
        prefix: `kbbench:${process.pid}:${randomBytes(4).toString('hex')}:`,
      });
    }
    const rs =
      kind === 'express-peer' || kind === 'express-none'
        ? undefined
        : createResourceServer({ policy, replayStore });
    if (kind.startsWith('express')) {
      const { default: express } = await import('express');
      const app = express();
      if (kind === 'express-keybound') {
        const { keyboundExpress } = await import('@keybound/resource-server/express');
        app.use(keyboundExpress(rs));
      } else if (kind === 'express-peer') {
        const { auth } = await import('express-oauth2-jwt-bearer');
        app.use(
          auth({
            issuer: config.issuer,
            jwksUri: config.jwksUri,
            audience: PUBLIC_ORIGIN,
            tokenSigningAlg: 'ES256',
            dpop: { enabled: true, required: true },
          }),
        );
      }
      app.get(PATH, (_req, res) => res.type('text/plain').send('ok'));
      server = createServer(app);
    } else {
      const { keyboundHandler } = await import('@keybound/resource-server/node');
      server = createServer(keyboundHandler(rs, (_req, res) => ok(res)));
    }
  }
  // the CPU time this process has used, for CPU per request (read between measurements)
  const listeners = server.listeners('request');
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    if (req.url === '/__cpu') {
      const { user, system } = process.cpuUsage();
      res.end(String(user + system));
      return;
    }
    for (const l of listeners) l.call(server, req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
  );
}

// ---------------------------------------------------------------------------------------------
// parent: issuer JWKS, client key, load generator

function startChild(kind, config, profileDir) {
  const args = [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    SELF,
    'serve',
    kind,
    JSON.stringify(config),
  ];
  // NODE_ENV=test keeps Express from printing the stack of the one refusal the sanity check causes
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'test' },
  });
  return new Promise((resolvePort, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolvePort({ child, port: JSON.parse(line).port }));
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

function redisReachable() {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port: 6379 });
    const end = (v) => {
      s.destroy();
      done(v);
    };
    s.setTimeout(1000, () => end(false));
    s.once('connect', () => end(true));
    s.once('error', () => end(false));
  });
}

async function cpuMicros(port) {
  const res = await fetch(`http://127.0.0.1:${port}/__cpu`);
  return Number(await res.text());
}

async function load(port, proofs, headers, { amount, connections }) {
  const { default: autocannon } = await import('autocannon');
  let next = 0;
  let last = 0n;
  const start = process.hrtime.bigint();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    amount,
    timeout: 10,
    // autocannon settles on a sample tick: a short one, and the time of the last answer, keep
    // the measured duration exact
    sampleInt: 10,
    requests: [
      {
        method: 'GET',
        path: PATH,
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

export async function run() {
  const { createProof, generateDpopKey } = await import('@keybound/core');
  const { SignJWT, exportJWK, generateKeyPair } = await import('jose');

  // the authorization server: an ES256 key published as a JWKS on loopback
  const issuerKey = await generateKeyPair('ES256', { extractable: true });
  const jwks = {
    keys: [{ ...(await exportJWK(issuerKey.publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }],
  };
  const jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise((done) => jwksServer.listen(0, '127.0.0.1', done));
  const issuer = 'https://as.bench.test';
  const config = { issuer, jwksUri: `http://127.0.0.1:${jwksServer.address().port}/jwks` };

  // the repeat client: one DPoP key, one access token bound to it
  const client = await generateDpopKey('ES256', { extractable: true });
  config.clientJwk = client.publicJwk;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    aud: PUBLIC_ORIGIN,
    sub: 'bench-user',
    client_id: 'bench-client',
    scope: 'read',
    cnf: { jkt: client.jkt },
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(issuerKey.privateKey);
  const headers = { host: new URL(PUBLIC_ORIGIN).host, authorization: `DPoP ${token}` };
  const proofsFor = async (n) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++)
      out[i] = await createProof(client, { htm: 'GET', htu: `${PUBLIC_ORIGIN}${PATH}`, accessToken: token });
    return out;
  };

  const withRedis = await redisReachable();
  if (!withRedis) log('Redis is not reachable on 127.0.0.1:6379: the Redis row is left empty');
  // KEYBOUND_BENCH_ONLY=bare,keybound-memory limits a run to some servers (profiling)
  const only = process.env.KEYBOUND_BENCH_ONLY?.split(',');
  const kinds = KINDS.filter(
    (k) => (k !== 'keybound-redis' || withRedis) && (only === undefined || only.includes(k)),
  );
  const profileDir = process.env.KEYBOUND_BENCH_CPU_PROF;
  const servers = {};
  const connections = 32;
  const amount = Number(process.env.KEYBOUND_BENCH_REQUESTS ?? 4_000);
  const rounds = Number(process.env.KEYBOUND_BENCH_ROUNDS ?? 6);
  const samples = Object.fromEntries(kinds.map((k) => [k, []]));
  const pairRatios = Object.fromEntries(PAIRS.map(([a, b]) => [`${a}/${b}`, []]));
  const cpuRatios = Object.fromEntries(PAIRS.map(([a, b]) => [`${a}/${b}`, []]));
  try {
    for (const kind of kinds) servers[kind] = await startChild(kind, config, profileDir);
    for (const kind of kinds) {
      // warm-up: JIT, JWKS fetch, token cache, key cache
      const warm = await load(servers[kind].port, await proofsFor(2000 + 2 * connections), headers, {
        amount: 2000,
        connections,
      });
      if (warm.non2xx > 0 || warm.errors > 0)
        throw new Error(`${kind}: warm-up got ${warm.non2xx} non-2xx answers and ${warm.errors} errors`);
      // every server that checks anything must refuse a proof whose signature is broken: no
      // side of a comparison gets its speed by skipping the check
      if (kind !== 'express-none') {
        const [good] = await proofsFor(1);
        const broken = `${good.slice(0, good.lastIndexOf('.') + 1)}${'A'.repeat(86)}`;
        const res = await fetch(`http://127.0.0.1:${servers[kind].port}${PATH}`, {
          headers: { ...headers, dpop: broken },
        });
        await res.arrayBuffer();
        if (res.status < 400)
          throw new Error(`${kind}: accepted a proof with a broken signature (${res.status})`);
      }
    }
    const measure = async (kind, label) => {
      const proofs = await proofsFor(amount + 2 * connections + 10);
      const cpuBefore = await cpuMicros(servers[kind].port);
      const r = await load(servers[kind].port, proofs, headers, { amount, connections });
      const cpu = ((await cpuMicros(servers[kind].port)) - cpuBefore) / r['2xx'];
      if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
        throw new Error(`${kind}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
      }
      const sample = {
        rate: r['2xx'] / r.seconds,
        cpu,
        p50: r.latency.p50 * 1000,
        p99: r.latency.p99 * 1000,
      };
      samples[kind].push(sample);
      log(
        `${label} ${kind}: ${Math.round(sample.rate)} req/s, ${cpu.toFixed(0)} µs CPU/request, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`,
      );
      return sample;
    };
    // each comparison runs as back-to-back pairs (the order alternates), so that a change of
    // background load between pairs cancels out of the per-pair ratio
    for (let round = 0; round < rounds; round++) {
      for (const [ours, baseline] of PAIRS) {
        if (!kinds.includes(ours) || !kinds.includes(baseline)) continue;
        const label = `round ${round + 1}/${rounds}`;
        const first = round % 2 === 0 ? ours : baseline;
        const a = await measure(first, label);
        const b = await measure(first === ours ? baseline : ours, label);
        const [o, base] = first === ours ? [a, b] : [b, a];
        pairRatios[`${ours}/${baseline}`].push(o.rate / base.rate);
        cpuRatios[`${ours}/${baseline}`].push(base.cpu / o.cpu);
      }
    }
  } finally {
    for (const s of Object.values(servers)) await stopChild(s.child);
    await new Promise((done) => jwksServer.close(done));
  }

  const medianOf = (values) => {
    const s = [...values].sort((a, b) => a - b);
    return s.length === 0
      ? null
      : s.length % 2
        ? s[s.length >> 1]
        : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  // the ratio is the median of per-round ratios: both sides of a round ran back to back, so a
  // change in background load between rounds cancels out
  const ratioOf = (ours, baseline) => medianOf(pairRatios[`${ours}/${baseline}`] ?? []);
  const med = (kind) => {
    const list = samples[kind];
    if (list === undefined || list.length === 0) return undefined;
    const pick = (f) => {
      const s = list.map(f).sort((a, b) => a - b);
      return s[s.length >> 1];
    };
    return {
      rate: pick((x) => x.rate),
      cpu: pick((x) => x.cpu),
      p50: pick((x) => x.p50),
      p99: pick((x) => x.p99),
    };
  };
  const row = (name, oursKind, baselineKind, target) => {
    const ours = med(oursKind);
    const baseline = med(baselineKind);
    const cpuRatio = medianOf(cpuRatios[`${oursKind}/${baselineKind}`] ?? []);
    // CPU per request is steadier than req/s when other work shares the machine
    const note =
      ours && baseline
        ? `${target}; CPU/request ${ours.cpu.toFixed(0)} vs ${baseline.cpu.toFixed(0)} µs (ratio ${cpuRatio.toFixed(2)}x)`
        : target;
    return {
      name,
      ours: ours?.rate ?? null,
      baseline: baseline?.rate ?? null,
      ratio: ratioOf(oursKind, baselineKind),
      unit: 'req/s',
      p50: ours?.p50 ?? null,
      p99: ours?.p99 ?? null,
      baselineP50: baseline?.p50 ?? null,
      baselineP99: baseline?.p99 ?? null,
      cpuUsPerRequest: ours?.cpu ?? null,
      baselineCpuUsPerRequest: baseline?.cpu ?? null,
      cpuRatio,
      note,
    };
  };
  return [
    row(
      'rs node:http DPoP+JWT, memory replay vs bare ES256 verify server',
      'keybound-memory',
      'bare',
      'target >= 0.8x',
    ),
    row(
      'rs node:http DPoP+JWT, Redis replay vs bare ES256 verify server',
      'keybound-redis',
      'bare',
      withRedis ? 'target >= 0.8x' : 'Redis not reachable',
    ),
    row(
      'rs Express adapter vs express-oauth2-jwt-bearer 1.10 (DPoP)',
      'express-keybound',
      'express-peer',
      'target >= 3x',
    ),
    row(
      'rs Express app without auth (the ceiling) vs express-oauth2-jwt-bearer 1.10',
      'express-none',
      'express-peer',
      'context: no auth at all',
    ),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (process.argv[2] === 'serve') {
    process.on('SIGINT', () => process.exit(0));
    serve(process.argv[3], JSON.parse(process.argv[4])).catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    run().then((rows) => console.log(JSON.stringify(rows, null, 2)));
  }
}
