#!/usr/bin/env node
// Where the time of one core verifyProof goes, step by step (not part of `npm run bench`):
//   node bench/core-steps.mjs
// Runs the real PROOF_STEPS of the built core one at a time on the same proofs, interleaved with a
// bare node:crypto verify of the same signatures (cached KeyObject, inputs decoded in advance) and a
// bare verify that decodes its inputs itself, and prints µs per proof for each.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import * as core from '@keybound/core';
import { interleave } from './run.js';

const HTM = 'GET';
const HTU = 'https://api.example.com/resource';
const NOW = Math.floor(Date.now() / 1000);
const BATCH = 400;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const key = await core.generateDpopKey('ES256');
const proofs = [];
for (let i = 0; i < BATCH; i++) proofs.push(await core.createProof(key, { htm: HTM, htu: HTU, iat: NOW }));
const keyObject = createPublicKey({ key: key.publicJwk, format: 'jwk' });
const inputs = proofs.map((p) => {
  const dot = p.lastIndexOf('.');
  return { data: Buffer.from(p.slice(0, dot)), sig: Buffer.from(p.slice(dot + 1), 'base64url') };
});
const options = { htm: HTM, htu: HTU, now: NOW };
const crypto = core.getDefaultCrypto();
const ok = (v) => {
  if (!v) throw new Error('verification failed');
};

// a context for each proof, taken through every step once: each step reads what the earlier ones
// wrote and only (re)writes its own fields, so it can be timed again on its own on these contexts
const contexts = proofs.map((raw) => ({ options, crypto, keyCache: core.defaultKeyCache, now: NOW, raw }));
for (const ctx of contexts) for (const [, step] of core.PROOF_STEPS) await step(ctx);
const stepCandidates = {};
core.PROOF_STEPS.forEach(([name, step], index) => {
  stepCandidates[`step ${index + 1} ${name}`] = { op: (i) => step(contexts[i]) };
});

const m = await interleave(
  {
    'bare crypto.verify, inputs decoded in advance': {
      op: (i) =>
        ok(
          cryptoVerify(
            'sha256',
            inputs[i].data,
            { key: keyObject, dsaEncoding: 'ieee-p1363' },
            inputs[i].sig,
          ),
        ),
    },
    'bare crypto.verify, decoding its inputs': {
      op: (i) => {
        const p = proofs[i];
        const dot = p.lastIndexOf('.');
        ok(
          cryptoVerify(
            'sha256',
            Buffer.from(p.slice(0, dot)),
            { key: keyObject, dsaEncoding: 'ieee-p1363' },
            Buffer.from(p.slice(dot + 1), 'base64url'),
          ),
        );
      },
    },
    'core nodeCrypto.verify (the seam), inputs decoded in advance': {
      op: async (i) => ok(await crypto.verify('ES256', keyObject, inputs[i].data, inputs[i].sig)),
    },
    'core verifyProof (all steps)': { op: (i) => core.verifyProof(proofs[i], options) },
    ...stepCandidates,
  },
  { rounds: ROUNDS, warmup: 2, batch: BATCH },
);

const width = Math.max(...Object.keys(m).map((k) => k.length));
console.log(`µs per proof (medians of ${ROUNDS} interleaved rounds of ${BATCH}), node ${process.version}`);
console.log(`${''.padEnd(width)}  ${'CPU'.padStart(6)}  ${'wall'.padStart(6)}  ${'p50'.padStart(6)}`);
const f = (v) => v.toFixed(1).padStart(6);
for (const [name, r] of Object.entries(m))
  console.log(`${name.padEnd(width)}  ${f(r.cpuUsPerOp)}  ${f(r.usPerOp)}  ${f(r.p50)}`);
const sum = (k) => Object.keys(stepCandidates).reduce((s, n) => s + m[n][k], 0);
console.log(
  `${'sum of the steps'.padEnd(width)}  ${f(sum('cpuUsPerOp'))}  ${f(sum('usPerOp'))}  ${f(sum('p50'))}`,
);
