// Authorization code flow for single-page apps: the request (state, PKCE verifier) is kept in
// sessionStorage across the redirect, looked up by state when the user comes back, and used once.
import { KeyboundError } from '@keybound/core';
import type { AuthorizationRequest, AuthorizationUrlOptions, OAuthClient } from './oauth-client.js';
import type { TokenSet } from './token-response.js';

const PREFIX = 'keybound.login.';

export interface StartLoginOptions extends AuthorizationUrlOptions {
  /** Default: window.sessionStorage. */
  storage?: Storage;
  /** Navigate to the authorization URL (default true). */
  navigate?: boolean;
}

function defaultStorage(): Storage {
  const s = (globalThis as { sessionStorage?: Storage }).sessionStorage;
  if (s === undefined) throw new TypeError('sessionStorage is not available: pass options.storage');
  return s;
}

/** Builds the authorization request, remembers it, and (by default) sends the browser there. */
export async function startLogin(
  client: OAuthClient,
  options: StartLoginOptions,
): Promise<AuthorizationRequest> {
  const storage = options.storage ?? defaultStorage();
  const request = await client.authorizationUrl(options);
  storage.setItem(PREFIX + request.state, JSON.stringify(request));
  if (options.navigate !== false) globalThis.location.assign(request.url);
  return request;
}

/**
 * Completes the login when `url` (default: the current location) is a redirect back from the
 * authorization server; resolves undefined when it is not. The stored request is removed first,
 * so a redirect cannot be used twice.
 */
export async function finishLogin(
  client: OAuthClient,
  options: { url?: string; storage?: Storage } = {},
): Promise<TokenSet | undefined> {
  const url = new URL(options.url ?? globalThis.location.href);
  const state = url.searchParams.get('state');
  if (state === null && !url.searchParams.has('code') && !url.searchParams.has('error')) return undefined;
  const storage = options.storage ?? defaultStorage();
  const saved = state === null ? null : storage.getItem(PREFIX + state);
  if (state !== null) storage.removeItem(PREFIX + state);
  if (saved === null) {
    throw new KeyboundError('state_mismatch', 'no login was started in this browser session with this state');
  }
  let request: AuthorizationRequest;
  try {
    request = JSON.parse(saved) as AuthorizationRequest;
  } catch {
    throw new KeyboundError('state_mismatch', 'the stored login request is unreadable');
  }
  return client.handleRedirect(url, request);
}
