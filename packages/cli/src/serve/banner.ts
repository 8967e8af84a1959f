// What `keybound serve` prints once it is listening: the URLs, where state is kept, and shell lines
// that get a DPoP-bound token for the demo service client and call the API with it.
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServe } from './start-serve.js';

/** This package's executable, whether this module runs from src (tests) or dist. */
export const KEYBOUND_BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * `keybound` when that name on PATH is this executable, else `node /path/to/dist/bin.js`. PATH
 * entries ending in node_modules/.bin are skipped: npm puts them on the PATH of `npm start`, and
 * the lines are pasted into the user's own shell, which does not have them.
 */
export function keyboundCommand(env: Readonly<Record<string, string | undefined>>): string {
  let own: string;
  try {
    own = realpathSync(KEYBOUND_BIN);
  } catch {
    own = KEYBOUND_BIN;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '' || /node_modules[\\/]\.bin[\\/]?$/.test(dir)) continue;
    const candidate = join(dir, 'keybound');
    try {
      if (existsSync(candidate) && realpathSync(candidate) === own) return 'keybound';
    } catch {
      // an unreadable PATH entry: try the next
    }
  }
  return `node ${shellQuote(KEYBOUND_BIN)}`;
}

/** The try-it lines (sh): a client_credentials token bound to the demo key, then GET /api/hello with it. */
export function tryItLines(running: RunningServe, keybound: string): string[] {
  const demo = running.demo;
  if (demo === undefined) return [`curl -s ${running.urls.metadata}`];
  const { token, api } = running.urls;
  return [
    `KEY=${shellQuote(demo.keyFile)}`,
    `TOKEN=$(curl -s -u ${shellQuote(`${demo.serviceClientId}:${demo.serviceClientSecret}`)} -d grant_type=client_credentials \\`,
    `  -H "DPoP: $(${keybound} proof --key "$KEY" --htm POST --htu ${token})" \\`,
    `  ${token} | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
    `curl -s -i -H "Authorization: DPoP $TOKEN" \\`,
    `  -H "DPoP: $(${keybound} proof --key "$KEY" --htm GET --htu ${api} --token "$TOKEN")" \\`,
    `  ${api}`,
  ];
}

export function banner(running: RunningServe, keybound: string): string {
  const u = running.urls;
  const demo = running.demo;
  const rows: Array<[string, string]> = [
    ['issuer', u.issuer],
    ['metadata', u.metadata],
    ['JWKS', u.jwks],
    ['API', `${u.api}  (DPoP-bound tokens only; RFC 9728 metadata ${u.apiMetadata})`],
  ];
  if (demo !== undefined) {
    rows.push([
      'demo',
      demo.pageBuilt
        ? `${u.demo}  (sign in as ${demo.username}, password ${demo.password})`
        : `${u.demo}  (not built: run npm run build; sign in as ${demo.username}, password ${demo.password})`,
    ]);
  }
  rows.push(['storage', running.storage], ['replay', running.replay]);
  if (running.listening !== new URL(u.issuer).origin) rows.push(['listening', running.listening]);
  const lines = [
    'keybound serve: an authorization server issuing DPoP-bound tokens, and an API that refuses them without their key',
    '',
    ...rows.map(([name, value]) => `  ${name.padEnd(9)} ${value}`),
    '',
    demo === undefined
      ? 'try it:'
      : `try it: a token bound to the demo key (${demo.serviceClientId}), then the API with it (paste into sh or bash):`,
    ...tryItLines(running, keybound).map((l) => `  ${l}`),
    '',
    'Ctrl-C stops the server.',
    '',
  ];
  return lines.join('\n');
}
