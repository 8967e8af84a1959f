// Writing responses: JSON with Cache-Control: no-store for everything that carries tokens or
// errors (RFC 6749 §5.1, §5.2), and the OAuth error body.
import type { ServerResponse } from 'node:http';
import type { OAuthError } from './oauth-error.js';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  cache: 'no-store' | string = 'no-store',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...(cache === 'no-store' ? NO_STORE : { 'Cache-Control': cache }),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...NO_STORE, 'Content-Length': 0, ...headers });
  res.end();
}

export function sendOAuthError(
  res: ServerResponse,
  error: OAuthError,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(
    res,
    error.status,
    { error: error.error, error_description: error.message },
    { ...extraHeaders, ...error.headers },
  );
}

const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // not no-referrer: with it browsers post the login form with "Origin: null", which the /login
  // Origin check must refuse; same-origin still keeps the authorization request from other sites
  'Referrer-Policy': 'same-origin',
};

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...HTML_HEADERS,
    ...NO_STORE,
    'Content-Length': Buffer.byteLength(html),
    ...headers,
  });
  res.end(html);
}

export function redirect(
  res: ServerResponse,
  location: string,
  status = 303,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { Location: location, ...NO_STORE, 'Content-Length': 0, ...headers });
  res.end();
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
