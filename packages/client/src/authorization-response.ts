// The redirect back from the authorization endpoint (RFC 6749 §4.1.2): the issuer (RFC 9207) and
// the state are checked before anything else is believed, then the error or the code is read.
import { KeyboundError } from '@keybound/core';
import { clipServerText } from './read-body.js';

export interface ExpectedAuthorizationResponse {
  state: string;
  issuer: string;
  /** RFC 9207 §2.4: when the server announces the iss parameter, a response without it is refused. */
  issRequired: boolean;
}

/** Returns the authorization code, or throws state_mismatch / authorization_failed. */
export function parseAuthorizationResponse(
  redirectUrl: string | URL,
  expected: ExpectedAuthorizationResponse,
): string {
  let url: URL;
  try {
    url = new URL(redirectUrl);
  } catch {
    throw new KeyboundError('authorization_failed', 'the redirect URL is not a URL');
  }
  const params = url.searchParams;
  for (const name of ['state', 'code', 'iss', 'error']) {
    if (params.getAll(name).length > 1) {
      throw new KeyboundError('authorization_failed', `the authorization response repeats ${name}`, {
        member: name,
      });
    }
  }
  const iss = params.get('iss');
  if (iss !== null ? iss !== expected.issuer : expected.issRequired) {
    throw new KeyboundError('state_mismatch', 'the authorization response comes from another issuer', {
      expected: expected.issuer,
      received: clipServerText(iss ?? 'nothing'),
    });
  }
  const state = params.get('state');
  if (state !== expected.state) {
    throw new KeyboundError(
      'state_mismatch',
      'the authorization response state is not the one this client sent',
      {
        received: state === null ? 'nothing' : `${state.length} characters`,
      },
    );
  }
  const error = params.get('error');
  if (error !== null) {
    const description = clipServerText(params.get('error_description') ?? undefined);
    throw new KeyboundError(
      'authorization_failed',
      `the authorization server answered ${clipServerText(error)}${description === undefined ? '' : ` (${description})`}`,
      {
        error: clipServerText(error),
        ...(description !== undefined ? { errorDescription: description } : {}),
      },
    );
  }
  const code = params.get('code');
  if (code === null || code.length === 0)
    throw new KeyboundError('authorization_failed', 'the authorization response has no code');
  return code;
}
