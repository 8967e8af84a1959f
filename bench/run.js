#!/usr/bin/env node
// Benchmark runner: `node bench/run.js [filter ...]` (or `npm run bench`, which builds first).
//
// Finds every bench/*.bench.mjs (only those whose file name contains one of the filters, when
// given), imports it and awaits its `run()`, which resolves with rows:
//   { name, ours, baseline, ratio, unit, p50?, p99?, note? }
// Prints one table and writes bench/results.json: every row with a `bench` field naming its file.
// A filtered run replaces only the rows of the files it ran. Benchmarks run against the BUILT
// packages (dist): build first (`npm run build`).
//
// Also exports the measuring helpers bench files share (interleaved rounds, medians, percentiles).
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(BENCH_DIR, 'results.json');

/**
 * A full garbage collection. Not used by the helpers below by default: after a forced full
 * collection V8 allocates more slowly for a while, which penalises the candidates that allocate
 * (measured: core verifyProof 20 % slower right after one, bare crypto.verify unchanged).
 */
export const collectGarbage = (() => {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
})();

const settle = () => new Promise((resolve) => setTimeout(resolve, 3));

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Measures several candidates in the same process, interleaved: every round runs every candidate
 * once (the order rotates each round), so that machine noise hits all of them alike.
 *
 * candidates: { [name]: { setup?(round) → state, op(i, state) → void | Promise } }
 *   setup runs outside the timing; op runs `batch` times per round. Make inputs before measuring
 *   and let setup only pick them (setup's garbage would be collected inside the timed batch).
 *   `collect: true` forces a full collection before each batch (see collectGarbage).
 * Returns per candidate: rate (median over rounds of operations per wall-clock second), usPerOp
 * (1e6 / rate), p50 and p99 (wall µs of one operation, over every measured operation), and
 * cpuRate / cpuUsPerOp (the same per second of this process's CPU time, every thread counted:
 * thread-pool crypto, GC helpers; informative only).
 */
export async function interleave(candidates, { rounds = 15, warmup = 2, batch = 500, collect = false } = {}) {
  const names = Object.keys(candidates);
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  const cpuRates = Object.fromEntries(names.map((n) => [n, []]));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    const order = names.map((_, k) => names[(k + round) % names.length]);
    for (const name of order) {
      const { setup, op } = candidates[name];
      const state = setup ? await setup(round) : undefined;
      const times = new Array(batch);
      if (collect) {
        collectGarbage();
        await settle();
      }
      const cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) {
        const t0 = process.hrtime.bigint();
        const pending = op(i, state);
        if (pending !== undefined && typeof pending.then === 'function') await pending;
        times[i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const cpu = process.cpuUsage(cpuStart);
      if (round >= warmup) {
        rates[name].push(batch / seconds);
        cpuRates[name].push(batch / ((cpu.user + cpu.system) / 1e6));
        samples[name].push(...times);
      }
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const rate = median(rates[n]);
      const cpuRate = median(cpuRates[n]);
      const [p50, p99] = [percentile(samples[n], 50), percentile(samples[n], 99)];
      return [n, { rate, cpuRate, usPerOp: 1e6 / rate, cpuUsPerOp: 1e6 / cpuRate, p50, p99 }];
    }),
  );
}

/**
 * Runs `total` operations with `inFlight` of them pending at any time; resolves with ops/s and
 * the p50/p99 latency (µs) of one operation (start to settle).
 */
export async function concurrently(op, { total, inFlight }) {
  const latencies = new Array(total);
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      await op(i);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const isNumberOrNull = (v) => v === null || (typeof v === 'number' && Number.isFinite(v));

function checkRow(row, file) {
  const problems = [];
  if (typeof row?.name !== 'string' || row.name.length === 0) problems.push('name');
  for (const k of ['ours', 'baseline', 'ratio']) if (!isNumberOrNull(row?.[k])) problems.push(k);
  if (typeof row?.unit !== 'string') problems.push('unit');
  for (const k of ['p50', 'p99']) if (row?.[k] !== undefined && !isNumberOrNull(row[k])) problems.push(k);
  if (problems.length > 0)
    throw new Error(`${file}: row ${JSON.stringify(row?.name)} has bad ${problems.join(', ')}`);
}

function formatNumber(value, unit) {
  if (value === null || value === undefined) return '–';
  if (unit === 'ops/s') return Math.round(value).toLocaleString('en-US');
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function table(rows) {
  const header = ['benchmark', 'ours', 'baseline', 'unit', 'ratio', 'p50 µs', 'p99 µs', 'note'];
  const body = rows.map((r) => [
    r.name,
    formatNumber(r.ours, r.unit),
    formatNumber(r.baseline, r.unit),
    r.unit,
    r.ratio === null ? '–' : `${r.ratio.toFixed(2)}x`,
    formatNumber(r.p50, 'µs'),
    formatNumber(r.p99, 'µs'),
    r.note ?? '',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const right = new Set([1, 2, 4, 5, 6]);
  const line = (cells) =>
    cells
      .map((cell, c) =>
        c === cells.length - 1 ? cell : right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function previousRows() {
  try {
    const rows = JSON.parse(await readFile(RESULTS, 'utf8'));
    return Array.isArray(rows) ? rows : [];
  } catch {
    return [];
  }
}

export async function main(filters) {
  const files = (await readdir(BENCH_DIR)).filter((f) => f.endsWith('.bench.mjs')).sort();
  const selected = filters.length === 0 ? files : files.filter((f) => filters.some((x) => f.includes(x)));
  if (selected.length === 0) {
    console.error(
      `bench: no bench/*.bench.mjs matches ${filters.join(', ')} (have: ${files.join(', ') || 'none'})`,
    );
    return 2;
  }
  if (!existsSync(resolve(BENCH_DIR, '../packages/core/dist/index.js'))) {
    console.error(
      'bench: packages are not built; run `npm run build` (or `npm run bench`, which builds first)',
    );
    return 2;
  }
  const cpu = cpus();
  console.log(
    `node ${process.version} · ${process.platform} ${process.arch} · ${cpu.length} CPUs (${cpu[0]?.model ?? '?'})`,
  );
  const rows = [];
  const ran = new Set();
  let failed = 0;
  for (const file of selected) {
    const bench = basename(file, '.bench.mjs');
    console.error(`bench: running ${file} …`);
    try {
      const mod = await import(pathToFileURL(join(BENCH_DIR, file)).href);
      if (typeof mod.run !== 'function') throw new Error(`${file} exports no run()`);
      const result = await mod.run();
      if (!Array.isArray(result)) throw new Error(`${file}: run() did not resolve with an array of rows`);
      for (const row of result) checkRow(row, file);
      rows.push(...result.map((row) => ({ bench, ...row })));
      ran.add(bench);
    } catch (e) {
      failed++;
      console.error(`bench: ${file} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  console.log(table(rows));
  const kept = (await previousRows()).filter(
    (r) => !ran.has(r.bench) && selected.every((f) => !f.startsWith(`${r.bench}.`)),
  );
  const tmp = `${RESULTS}.tmp`;
  await writeFile(tmp, `${JSON.stringify([...kept, ...rows], null, 2)}\n`);
  await rename(tmp, RESULTS);
  console.error(
    `bench: wrote ${rows.length} rows to bench/results.json${kept.length ? ` (kept ${kept.length} from other files)` : ''}`,
  );
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
