// Test helpers: a server on 127.0.0.1 port 0 with in-memory SQLite, DPoP keys, form posts.
import { createProof, type DpopKey, generateDpopKey } from '@keybound/core';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach } from 'vitest';
import {
  type AuthorizationServer,
  type AuthorizationServerDeps,
  createAuthorizationServer,
  parseServerConfig,
  type ServerUrls,
} from '../src/index.js';

export const SECRET = 'a-client-secret-of-reasonable-length';

export function baseConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listeners: { http: { host: '127.0.0.1', port: 0 } },
    storage: { type: 'sqlite', path: ':memory:' },
    scopes: ['read', 'write', 'admin'],
    resources: [
      { identifier: 'https://api.example.com' },
      { identifier: 'https://opaque.example.com', access_token_format: 'opaque' },
    ],
    clients: [
      {
        client_id: 'svc',
        client_secret: SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: 'read write',
      },
      {
        client_id: 'svc-post',
        client_secret: SECRET,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'dpop-only',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        dpop_bound_access_tokens: true,
      },
      {
        client_id: 'nonce-client',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        require_dpop_nonce: true,
      },
    ],
    ...over,
  };
}

export interface Running {
  server: AuthorizationServer;
  urls: ServerUrls;
}

const running: AuthorizationServer[] = [];
const runningForFile: AuthorizationServer[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});
afterAll(async () => {
  for (const s of runningForFile.splice(0)) await s.close();
});

/** Starts a server closed after the test (or, with lifetime 'file', after the file). KB_DEBUG=1 prints 500s. */
export async function start(
  config: Record<string, unknown> = baseConfig(),
  deps: AuthorizationServerDeps = {},
  lifetime: 'test' | 'file' = 'test',
): Promise<Running> {
  const onError = process.env.KB_DEBUG ? console.error : () => {};
  const server = createAuthorizationServer(parseServerConfig(config), { onError, ...deps });
  (lifetime === 'test' ? running : runningForFile).push(server);
  const urls = await server.listen();
  return { server, urls };
}

/** The URLs with the public issuer replaced by where the server actually listens. */
export function localUrls(urls: ServerUrls, listening: string): ServerUrls {
  const swap = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.replace(urls.issuer, listening)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
        : v;
  return swap(urls) as ServerUrls;
}

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Status, headers, the body and the body parsed as JSON ({} when it is not JSON). */
export async function readResponse<H>(res: {
  status: number;
  headers: H;
  text(): Promise<string>;
}): Promise<{ status: number; headers: H; json: Record<string, unknown>; text: string }> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

export async function post(
  url: string,
  body: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  });
  return readResponse(res);
}

export async function proofFor(
  key: DpopKey,
  htu: string,
  extra: { nonce?: string; iat?: number; htm?: string } = {},
) {
  return createProof(key, { htm: extra.htm ?? 'POST', htu, nonce: extra.nonce, iat: extra.iat });
}

export async function newKey(): Promise<DpopKey> {
  return generateDpopKey('ES256');
}

export function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token) as Record<string, unknown>;
}

export function headerOf(token: string): Record<string, unknown> {
  return decodeProtectedHeader(token) as Record<string, unknown>;
}
