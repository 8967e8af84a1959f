// Bundles the browser entry of @keybound/client (ESM, minified, everything inlined) and reports its
// size minified and minified+gzipped. Run: node packages/client/scripts/bundle-browser.mjs [outfile]
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the bundle; resolves with its path and sizes in bytes. */
export async function bundleBrowser(outfile = join(packageDir, 'dist', 'browser', 'keybound-client.min.js')) {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    entryPoints: [join(packageDir, 'src', 'index.ts')],
    outfile,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    // the workspace packages are bundled from their TypeScript sources
    conditions: ['source'],
    metafile: true,
    logLevel: 'silent',
  });
  const code = readFileSync(outfile);
  const inputs = Object.keys(result.metafile.inputs);
  return {
    outfile,
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    inputs,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outfile, bytes, gzipBytes, inputs } = await bundleBrowser(process.argv[2]);
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `${outfile}: ${kib(bytes)} minified, ${kib(gzipBytes)} minified+gzipped (${inputs.length} modules)`,
  );
}
