// An HTTPS host for clients' jwks_uri (which must be https): it serves a JWK Set per path and
// counts the fetches. trustInFetch() makes the global fetch (what the server and jose call) trust
// the test CA for the rest of the test; afterEach restores it.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterEach, vi } from 'vitest';
import type { Pem } from './certificates.js';

export interface JwksHost {
  /** https://127.0.0.1:port */
  base: string;
  /** Fetches per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

const agents: Agent[] = [];
afterEach(async () => {
  vi.unstubAllGlobals();
  for (const a of agents.splice(0)) await a.close();
});

/** Serves `keysFor(path)` as a JWK Set (404 when it returns undefined) over TLS with `tls`. */
export async function startJwksHost(
  tls: Pem,
  keysFor: (path: string) => { keys: unknown[] } | undefined,
): Promise<JwksHost> {
  const hits = new Map<string, number>();
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = keysFor(path);
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    base: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** Makes globalThis.fetch trust `ca` (and only it) until the test ends. */
export function trustInFetch(ca: string): void {
  const agent = new Agent({ connect: { ca } });
  agents.push(agent);
  const trusting = (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    });
  vi.stubGlobal('fetch', trusting as unknown as typeof fetch);
}
