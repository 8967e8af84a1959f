// Validation of public JWKs (RFC 7517/7518/8037) as they arrive in a DPoP header or a client's
// registered JWKS, and their RFC 7638 canonical form.
import { KeyboundError } from './errors.js';
import { b64uDecode } from './lib/base64url.js';
import { ALGORITHMS, type JwsAlgorithm, MIN_RSA_BITS, type PublicJwk } from './lib/crypto.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const COORDINATE_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const B64U = /^[A-Za-z0-9_-]+$/;

function member(jwk: Record<string, unknown>, name: string): string {
  const v = jwk[name];
  if (typeof v !== 'string' || v.length === 0 || !B64U.test(v)) {
    throw new KeyboundError('jwk_invalid', `jwk member "${name}" must be a base64url string`);
  }
  return v;
}

function bytes(jwk: Record<string, unknown>, name: string, expectedLength?: number): Uint8Array {
  const decoded = b64uDecode(member(jwk, name));
  if (decoded === undefined) throw new KeyboundError('jwk_invalid', `jwk member "${name}" is not base64url`);
  if (expectedLength !== undefined && decoded.length !== expectedLength) {
    throw new KeyboundError('jwk_invalid', `jwk member "${name}" has the wrong length`, {
      expected: expectedLength,
      received: decoded.length,
    });
  }
  return decoded;
}

/**
 * Checks that `value` is a well-formed public JWK and returns only its key-defining members.
 * Private members → `jwk_private`; anything else wrong → `jwk_invalid`.
 */
export function parsePublicJwk(value: unknown): PublicJwk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeyboundError('jwk_invalid', 'jwk must be a JSON object');
  }
  const jwk = value as Record<string, unknown>;
  for (const m of PRIVATE_MEMBERS) {
    if (m in jwk) throw new KeyboundError('jwk_private', `jwk contains the private member "${m}"`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new KeyboundError('jwk_invalid', 'jwk "use" must be "sig" when present');
  }
  switch (jwk.kty) {
    case 'EC': {
      const crv = jwk.crv;
      const size = typeof crv === 'string' ? COORDINATE_BYTES[crv] : undefined;
      if (size === undefined)
        throw new KeyboundError('jwk_invalid', 'unsupported EC curve', { received: String(crv) });
      bytes(jwk, 'x', size);
      bytes(jwk, 'y', size);
      return { kty: 'EC', crv: crv as string, x: jwk.x as string, y: jwk.y as string };
    }
    case 'OKP': {
      if (jwk.crv !== 'Ed25519') {
        throw new KeyboundError('jwk_invalid', 'unsupported OKP curve', { received: String(jwk.crv) });
      }
      bytes(jwk, 'x', 32);
      return { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string };
    }
    case 'RSA': {
      const n = bytes(jwk, 'n');
      const e = bytes(jwk, 'e');
      if (n[0] === 0 || e[0] === 0)
        throw new KeyboundError('jwk_invalid', 'RSA n and e must not have leading zeros');
      if (n.length * 8 < MIN_RSA_BITS) {
        throw new KeyboundError('jwk_invalid', 'RSA modulus too small', {
          expected: `>= ${MIN_RSA_BITS} bits`,
          received: n.length * 8,
        });
      }
      return { kty: 'RSA', n: jwk.n as string, e: jwk.e as string };
    }
    default:
      throw new KeyboundError('jwk_invalid', 'unsupported or missing kty', { received: String(jwk.kty) });
  }
}

/** Throws `jwk_alg_mismatch` when the key's type or curve cannot be used with `alg`. */
export function assertJwkFitsAlgorithm(jwk: PublicJwk, alg: JwsAlgorithm): void {
  const info = ALGORITHMS[alg];
  if (info.kty !== jwk.kty || (info.crv !== undefined && info.crv !== jwk.crv)) {
    throw new KeyboundError(
      'jwk_alg_mismatch',
      `a ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ''} key cannot sign ${alg}`,
      {
        expected: info.crv ?? info.kty,
        received: jwk.crv ?? jwk.kty,
      },
    );
  }
}

/**
 * The RFC 7638 canonical JSON of a validated public JWK: required members only, in
 * lexicographic order, no whitespace. Values are base64url or curve names, so no escaping is needed.
 */
export function canonicalJwk(jwk: PublicJwk): string {
  switch (jwk.kty) {
    case 'EC':
      return `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
    case 'OKP':
      return `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
    case 'RSA':
      return `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`;
  }
}
