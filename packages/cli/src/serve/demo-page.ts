// The /demo single-page app: static files bundled at build time (scripts/bundle-demo.mjs writes
// dist/demo-page), served with a strict Content-Security-Policy (scripts and styles from this origin
// only, no inline script), plus /demo/config.json telling the page where the issuer and the API are.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the bundled page (the package's dist/demo-page). */
export const DEFAULT_DEMO_ASSETS_DIR = fileURLToPath(new URL('../../dist/demo-page/', import.meta.url));

export const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': DEMO_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** What the page needs to know, served as /demo/config.json. */
export interface DemoPageConfig {
  issuer: string;
  clientId: string;
  redirectUri: string;
  api: string;
  username: string;
}

export type DemoAssets = Map<string, { type: string; body: Buffer }>;

/** The files scripts/bundle-demo.mjs writes; nothing else in the directory is served. */
export const DEMO_FILES = ['index.html', 'app.js', 'style.css', 'favicon.svg'] as const;

/** The built page's files (name → content), or undefined when the page was not built. */
export async function loadDemoAssets(dir: string): Promise<DemoAssets | undefined> {
  const assets: DemoAssets = new Map();
  for (const name of DEMO_FILES) {
    try {
      assets.set(name, { type: TYPES[extname(name)]!, body: await readFile(join(dir, name)) });
    } catch {
      return undefined;
    }
  }
  return assets;
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function createDemoPage(
  assets: DemoAssets | undefined,
  config: DemoPageConfig,
): (req: IncomingMessage, res: ServerResponse) => void {
  const configJson = JSON.stringify(config);
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(req, res, 405, 'text/plain; charset=utf-8', 'use GET\n', { allow: 'GET, HEAD' });
    }
    if (path === '/demo') return send(req, res, 308, 'text/plain; charset=utf-8', '', { location: '/demo/' });
    if (path === '/demo/config.json') {
      return send(req, res, 200, 'application/json', configJson, { 'cache-control': 'no-store' });
    }
    if (assets === undefined) {
      return send(
        req,
        res,
        503,
        'text/plain; charset=utf-8',
        'the demo page is not built: run `npm run build` (it bundles packages/cli/demo)\n',
      );
    }
    const name = path === '/demo/' ? 'index.html' : path.slice('/demo/'.length);
    const asset = assets.get(name);
    if (asset === undefined) return send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
    send(req, res, 200, asset.type, asset.body);
  };
}
