// @keybound/core proof verification, measured in one run against its two baselines:
//   - a bare node:crypto verify of the same signatures with a cached KeyObject (the floor), and
//   - the jose jwtVerify + EmbeddedJWK pipeline with the DPoP checks jose can do (typ, algorithms,
//     maxTokenAge, required claims) plus the htm/htu comparison,
// for the same key repeated and for a new key every time; plus the latency the Redis replay store
// adds (skipped with a note when Redis is unreachable).
// Targets (issue 2): same key ≥ 0.8 of the bare verify rate, ≥ 3x the jose pipeline.
import { createPublicKey, verify as cryptoVerify, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as core from '@keybound/core';
import { concurrently, interleave } from './run.js';

// The jose that core depends on (6.x); the repository root may hoist an older one for other tools.
const requireFromCore = createRequire(new URL('../packages/core/package.json', import.meta.url));
const jose = await import(pathToFileURL(requireFromCore.resolve('jose')).href);
const joseVersion = JSON.parse(
  await import('node:fs/promises').then((fs) =>
    fs.readFile(requireFromCore.resolve('jose/package.json').replace(/dist.*$/, 'package.json'), 'utf8'),
  ),
).version;

const HTM = 'GET';
const HTU = 'https://api.example.com/resource';
const NOW = Math.floor(Date.now() / 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const WARMUP = 2;
const BATCH = 400;
const NEW_KEY_BATCH = 150;

const proofOptions = { htm: HTM, htu: HTU, now: NOW };
const joseOptions = {
  typ: 'dpop+jwt',
  algorithms: [...core.DEFAULT_DPOP_ALGORITHMS],
  maxTokenAge: 60,
  clockTolerance: 5,
  currentDate: new Date(NOW * 1000),
  requiredClaims: ['jti', 'htm', 'htu', 'iat'],
};

async function makeProofs(key, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = await core.createProof(key, { htm: HTM, htu: HTU, iat: NOW });
  return out;
}

/** What a bare verifier needs: the signing input and raw signature as bytes, decoded in advance. */
function bareInputs(proofs) {
  return proofs.map((p) => {
    const dot = p.lastIndexOf('.');
    return { data: Buffer.from(p.slice(0, dot)), sig: Buffer.from(p.slice(dot + 1), 'base64url') };
  });
}

const bareVerify = (keyObject, { data, sig }) => {
  if (!cryptoVerify('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, sig))
    throw new Error('bare verify failed');
};

async function coreVerify(proof, options = proofOptions) {
  await core.verifyProof(proof, options);
}

async function josePipeline(proof) {
  const { payload } = await jose.jwtVerify(proof, jose.EmbeddedJWK, joseOptions);
  if (payload.htm !== HTM || payload.htu !== HTU) throw new Error('jose pipeline: htm/htu');
}

async function josePipelineWithThumbprint(proof) {
  const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, joseOptions);
  if (payload.htm !== HTM || payload.htu !== HTU) throw new Error('jose pipeline: htm/htu');
  await jose.calculateJwkThumbprint(protectedHeader.jwk);
}

const round = (v) => (v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
const int = (v) => Math.round(v).toLocaleString('en-US');

const row = (name, ours, baseline, unit, extra = {}) => ({
  name,
  ours: round(ours),
  baseline: round(baseline),
  ratio: Math.round((ours / baseline) * 100) / 100,
  unit,
  ...extra,
});

/**
 * A comparison of rates (wall clock, interleaved, medians) with the p50/p99 of ours. The note adds
 * the same comparison by median latency and by CPU time, which move less when other processes
 * share the machine.
 */
const rateRow = (name, ours, baseline, note) =>
  row(name, ours.rate, baseline.rate, 'ops/s', {
    p50: round(ours.p50),
    p99: round(ours.p99),
    note: [
      note,
      `by p50 latency ${(baseline.p50 / ours.p50).toFixed(2)}x, by CPU time ${(ours.cpuRate / baseline.cpuRate).toFixed(2)}x`,
    ]
      .filter(Boolean)
      .join('; '),
  });

async function sameKey() {
  const key = await core.generateDpopKey('ES256');
  const proofs = await makeProofs(key, BATCH);
  const inputs = bareInputs(proofs);
  const keyObject = createPublicKey({ key: key.publicJwk, format: 'jwk' });
  // every candidate accepts the inputs before anything is timed
  bareVerify(keyObject, inputs[0]);
  if ((await core.verifyProof(proofs[0], proofOptions)).jkt !== key.jkt) throw new Error('core: wrong jkt');
  await josePipeline(proofs[0]);
  const m = await interleave(
    {
      core: { op: (i) => coreVerify(proofs[i]) },
      bare: { op: (i) => bareVerify(keyObject, inputs[i]) },
      jose: { op: (i) => josePipeline(proofs[i]) },
      joseJkt: { op: (i) => josePipelineWithThumbprint(proofs[i]) },
    },
    { rounds: ROUNDS, warmup: WARMUP, batch: BATCH },
  );
  return [
    rateRow(
      'ES256 same key: core verifyProof vs bare crypto.verify (cached KeyObject)',
      m.core,
      m.bare,
      'target ≥ 0.8',
    ),
    rateRow(
      'ES256 same key: core verifyProof vs jose jwtVerify+EmbeddedJWK',
      m.core,
      m.jose,
      `target ≥ 3; jose ${joseVersion}; jose + calculateJwkThumbprint (needed for cnf.jkt): ${int(m.joseJkt.rate)} ops/s`,
    ),
  ];
}

async function newKeyEveryTime() {
  // fresh keys for every candidate in every round, made before anything is timed: nothing is
  // ever verified with a key seen before
  const fresh = async () => {
    const items = [];
    for (let i = 0; i < NEW_KEY_BATCH; i++) {
      const key = await core.generateDpopKey('ES256');
      const [proof] = await makeProofs(key, 1);
      items.push({ key, proof });
    }
    return items;
  };
  const perRound = async (make) => {
    const out = [];
    for (let r = 0; r < WARMUP + ROUNDS; r++) out.push(await make());
    return out;
  };
  const forCore = await perRound(fresh);
  const forJose = await perRound(fresh);
  const forImport = await perRound(async () => {
    const items = await fresh();
    return {
      jwks: items.map(({ key }) => key.publicJwk),
      inputs: bareInputs(items.map(({ proof }) => proof)),
    };
  });
  const cached = await fresh();
  const cachedKeys = cached.map(({ key }) => createPublicKey({ key: key.publicJwk, format: 'jwk' }));
  const cachedInputs = bareInputs(cached.map(({ proof }) => proof));
  const m = await interleave(
    {
      core: { setup: (r) => forCore[r], op: (i, items) => coreVerify(items[i].proof) },
      bare: { op: (i) => bareVerify(cachedKeys[i], cachedInputs[i]) },
      bareImport: {
        setup: (r) => forImport[r],
        op: (i, s) => bareVerify(createPublicKey({ key: s.jwks[i], format: 'jwk' }), s.inputs[i]),
      },
      jose: { setup: (r) => forJose[r], op: (i, items) => josePipeline(items[i].proof) },
    },
    { rounds: ROUNDS, warmup: WARMUP, batch: NEW_KEY_BATCH },
  );
  return [
    rateRow(
      'ES256 new key each time: core verifyProof vs bare crypto.verify (cached KeyObject)',
      m.core,
      m.bare,
      `core imports the JWK and hashes its thumbprint; bare createPublicKey+verify: ${int(m.bareImport.rate)} ops/s`,
    ),
    rateRow('ES256 new key each time: core verifyProof vs jose jwtVerify+EmbeddedJWK', m.core, m.jose),
  ];
}

async function connectRedis() {
  let Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch {
    return { skip: 'ioredis is not installed' };
  }
  const client = new Redis({
    host: '127.0.0.1',
    port: 6379,
    lazyConnect: true,
    enableAutoPipelining: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return { client };
  } catch (e) {
    client.disconnect();
    return { skip: `Redis is not reachable at 127.0.0.1:6379 (${e instanceof Error ? e.message : e})` };
  }
}

async function redisStore() {
  const names = [
    'core verifyProof + RedisReplayStore, one at a time vs no replay store',
    'core verifyProof + RedisReplayStore, 64 in flight vs no replay store',
  ];
  const skipped = (note) =>
    names.map((name, i) => ({
      name,
      ours: null,
      baseline: null,
      ratio: null,
      unit: i === 0 ? 'µs/op' : 'ops/s',
      note: `skipped: ${note}`,
    }));
  if (typeof core.RedisReplayStore !== 'function')
    return skipped('this build of @keybound/core has no RedisReplayStore');
  const { client, skip } = await connectRedis();
  if (skip) return skipped(skip);
  const prefix = `kbbench:${process.pid}:${randomBytes(4).toString('hex')}:`;
  try {
    const store = new core.RedisReplayStore({ client, prefix });
    const memory = new core.MemoryReplayStore();
    const key = await core.generateDpopKey('ES256');
    const withStore = (replayStore) => ({ ...proofOptions, replayStore });
    // a replay store needs a proof it has not seen: fresh proofs for every round, made in advance
    const perRound = async () => {
      const out = [];
      for (let r = 0; r < WARMUP + ROUNDS; r++) out.push(await makeProofs(key, BATCH));
      return out;
    };
    const forRedis = await perRound();
    const forMemory = await perRound();
    const forNone = await perRound();
    const fresh = () => makeProofs(key, BATCH);
    const first = (await fresh())[0];
    await coreVerify(first, withStore(store));
    await core.verifyProof(first, withStore(store)).then(
      () => {
        throw new Error('RedisReplayStore accepted a replayed proof');
      },
      (e) => {
        if (e.code !== 'replay') throw e;
      },
    );
    const m = await interleave(
      {
        redis: { setup: (r) => forRedis[r], op: (i, proofs) => coreVerify(proofs[i], withStore(store)) },
        memory: { setup: (r) => forMemory[r], op: (i, proofs) => coreVerify(proofs[i], withStore(memory)) },
        none: { setup: (r) => forNone[r], op: (i, proofs) => coreVerify(proofs[i], withStore(undefined)) },
      },
      { rounds: ROUNDS, warmup: WARMUP, batch: BATCH },
    );
    // 64 verifications pending at a time, alternating none, redis, none, redis, …; medians of 3
    const total = 4000;
    const forNoneConcurrent = await makeProofs(key, total);
    const forRedisConcurrent = [
      await makeProofs(key, total),
      await makeProofs(key, total),
      await makeProofs(key, total),
    ];
    const noneRuns = [];
    const redisRuns = [];
    for (const proofs of forRedisConcurrent) {
      noneRuns.push(await concurrently((i) => coreVerify(forNoneConcurrent[i]), { total, inFlight: 64 }));
      redisRuns.push(
        await concurrently((i) => coreVerify(proofs[i], withStore(store)), { total, inFlight: 64 }),
      );
    }
    const mid = (runs) => [...runs].sort((a, b) => a.rate - b.rate)[1];
    const c = { none: mid(noneRuns), redis: mid(redisRuns) };
    const added = m.redis.usPerOp - m.none.usPerOp;
    return [
      row(names[0], m.redis.usPerOp, m.none.usPerOp, 'µs/op', {
        p50: round(m.redis.p50),
        p99: round(m.redis.p99),
        note: `adds ${added.toFixed(0)} µs per proof (one SET NX PX round trip, ioredis, localhost); with MemoryReplayStore ${m.memory.usPerOp.toFixed(1)} µs/op`,
      }),
      row(names[1], c.redis.rate, c.none.rate, 'ops/s', {
        p50: round(c.redis.p50),
        p99: round(c.redis.p99),
        note: 'ioredis auto-pipelining; round trips overlap with verification',
      }),
    ];
  } finally {
    // the entries expire by themselves (TTL ≤ 66 s); remove them now anyway
    const stream = client.scanStream({ match: `${prefix}*`, count: 1000 });
    for await (const keys of stream) if (keys.length > 0) await client.unlink(...keys);
    client.disconnect();
  }
}

export async function run() {
  return [...(await sameKey()), ...(await newKeyEveryTime()), ...(await redisStore())];
}
