// A token endpoint's successful answer (RFC 6749 §5.1), checked member by member. The access token
// must be token68 (it goes into an Authorization header), and the token type must be the one asked
// for: a Bearer token where DPoP was requested is an unbound token, refused (RFC 9449 §5).
import { KeyboundError } from '@keybound/core';

export interface TokenSet {
  accessToken: string;
  /** 'DPoP' or 'Bearer' (certificate-bound tokens are Bearer with cnf.x5t#S256). */
  tokenType: 'DPoP' | 'Bearer';
  /** When the access token expires, epoch milliseconds on the local clock (absent: not said). */
  expiresAt?: number;
  refreshToken?: string;
  scope?: string;
  idToken?: string;
}

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

function malformed(member: string, expected: string, value: unknown): never {
  const received =
    value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new KeyboundError('response_malformed', `the token response member ${member} is not ${expected}`, {
    member,
    expected,
    received,
  });
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) malformed(name, 'a non-empty string', v);
  return v;
}

export function parseTokenResponse(
  body: Record<string, unknown>,
  expected: { tokenType: 'DPoP' | 'Bearer'; receivedAt: number },
): TokenSet {
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = body;
  if (typeof accessToken !== 'string' || accessToken.length === 0)
    malformed('access_token', 'a non-empty string', accessToken);
  if (!TOKEN68.test(accessToken)) {
    throw new KeyboundError('response_malformed', 'the access token has characters a header cannot carry', {
      member: 'access_token',
      expected: 'token68 characters',
      received: `${accessToken.length} characters`,
    });
  }
  if (typeof tokenType !== 'string') malformed('token_type', 'a string', tokenType);
  if (tokenType.toLowerCase() !== expected.tokenType.toLowerCase()) {
    throw new KeyboundError(
      'token_type_mismatch',
      `expected a ${expected.tokenType} token, the server issued another type`,
      {
        expected: expected.tokenType,
        received: tokenType.slice(0, 40),
      },
    );
  }
  const out: TokenSet = { accessToken, tokenType: expected.tokenType };
  if (expiresIn !== undefined) {
    if (
      typeof expiresIn !== 'number' ||
      !Number.isFinite(expiresIn) ||
      expiresIn <= 0 ||
      expiresIn > MAX_LIFETIME_SECONDS
    ) {
      malformed('expires_in', 'a positive number of seconds', expiresIn);
    }
    out.expiresAt = expected.receivedAt + expiresIn * 1000;
  }
  const refreshToken = optionalString(body, 'refresh_token');
  const scope = optionalString(body, 'scope');
  const idToken = optionalString(body, 'id_token');
  if (refreshToken !== undefined) out.refreshToken = refreshToken;
  if (scope !== undefined) out.scope = scope;
  if (idToken !== undefined) out.idToken = idToken;
  return out;
}
