// Builds the /demo page that `keybound serve` serves: demo/app.ts bundled with the browser entry of
// @keybound/client by esbuild (ESM, minified, no node: imports), next to demo/index.html and
// demo/style.css, into dist/demo-page. Run at build time (npm run build), never at request time.
// Run: node packages/cli/scripts/bundle-demo.mjs [outdir]
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const demoDir = join(packageDir, 'demo');

/** Bundles the page into outdir; resolves with the files written and the script's sizes. */
export async function bundleDemo(outdir = join(packageDir, 'dist', 'demo-page')) {
  mkdirSync(outdir, { recursive: true });
  const script = join(outdir, 'app.js');
  await build({
    entryPoints: [join(demoDir, 'app.ts')],
    outfile: script,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    // the workspace packages are bundled from their TypeScript sources (no build order needed)
    conditions: ['source'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  for (const name of ['index.html', 'style.css', 'favicon.svg'])
    copyFileSync(join(demoDir, name), join(outdir, name));
  const code = readFileSync(script);
  return {
    outdir,
    files: ['index.html', 'style.css', 'favicon.svg', 'app.js'],
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outdir, bytes, gzipBytes } = await bundleDemo(process.argv[2]);
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${outdir}: app.js ${kib(bytes)} minified, ${kib(gzipBytes)} minified+gzipped`);
}
