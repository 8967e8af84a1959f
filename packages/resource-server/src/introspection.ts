// RFC 7662 token introspection with client_secret_basic (RFC 6749 §2.3.1). An endpoint that
// cannot be reached, answers with anything but 200 and a JSON object, or refuses our credentials
// is introspection_unavailable (503): the request is refused, never allowed.
import { KeyboundError } from '@keybound/core';
import { cacheUntil, tokenFacts, type VerifiedToken } from './access-token.js';
import type { IssuerPolicy } from './policy.js';

const MAX_RESPONSE_BYTES = 64 * 1024;

function formEncode(s: string): string {
  return new URLSearchParams({ v: s }).toString().slice(2);
}

export class IntrospectionClient {
  readonly #issuer: IssuerPolicy;
  readonly #authorization: string;
  readonly #audience: readonly string[];
  readonly #skew: number;
  readonly #fetch: typeof fetch;

  constructor(
    issuer: IssuerPolicy,
    clientSecret: string,
    audience: readonly string[],
    skewSeconds: number,
    fetchImpl: typeof fetch,
  ) {
    this.#issuer = issuer;
    const intro = issuer.introspection!;
    this.#authorization = `Basic ${btoa(`${formEncode(intro.clientId)}:${formEncode(clientSecret)}`)}`;
    this.#audience = audience;
    this.#skew = skewSeconds;
    this.#fetch = fetchImpl;
  }

  async introspect(token: string, now: number): Promise<{ token: VerifiedToken; until: number }> {
    const intro = this.#issuer.introspection!;
    const unavailable = (why: string, cause?: unknown) =>
      new KeyboundError(
        'introspection_unavailable',
        `introspection at ${intro.endpoint} failed: ${why}`,
        {},
        cause === undefined ? undefined : { cause },
      );
    let body: unknown;
    try {
      const res = await this.#fetch(intro.endpoint, {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#issuer.timeoutMs ?? 5000),
      });
      const text = await res.text();
      if (res.status !== 200) throw unavailable(`status ${res.status}`);
      if (text.length > MAX_RESPONSE_BYTES) throw unavailable('response too large');
      body = JSON.parse(text);
    } catch (e) {
      if (e instanceof KeyboundError) throw e;
      throw unavailable(e instanceof SyntaxError ? 'the response is not JSON' : 'not reachable', e);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw unavailable('the response is not a JSON object');
    const r = body as Record<string, unknown>;
    if (r.active !== true) throw new KeyboundError('token_inactive');
    if (r.iss !== undefined && r.iss !== this.#issuer.issuer) {
      throw new KeyboundError('issuer_unknown', 'the introspection response names another issuer', {
        expected: this.#issuer.issuer,
        received: String(r.iss).slice(0, 200),
      });
    }
    if (r.aud === undefined) {
      if (intro.requireAudience !== false) {
        throw new KeyboundError(
          'audience_mismatch',
          'the introspection response has no aud (set introspection.requireAudience: false only for an authorization server that never sends one)',
          { expected: this.#audience.join(' ') },
        );
      }
    } else {
      const auds = Array.isArray(r.aud) ? r.aud : [r.aud];
      if (!auds.some((a) => typeof a === 'string' && this.#audience.includes(a))) {
        throw new KeyboundError(
          'audience_mismatch',
          'the introspected token aud does not name this resource',
          {
            expected: this.#audience.join(' '),
          },
        );
      }
    }
    const verified = tokenFacts(this.#issuer.issuer, r, 'introspection');
    if (verified.exp !== undefined && now >= verified.exp + this.#skew)
      throw new KeyboundError('token_expired');
    const until =
      verified.exp === undefined
        ? now + (intro.cacheMaxSeconds ?? 0)
        : cacheUntil(verified, now, intro.cacheMaxSeconds);
    return { token: verified, until };
  }
}
