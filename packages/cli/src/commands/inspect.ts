// keybound inspect JWT: decodes a DPoP proof or a JWT access token, verifies what it can and
// prints JSON. Exit 0 valid, 1 invalid, 2 usage error.
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_DPOP_ALGORITHMS,
  DEFAULT_MAX_AGE_SECONDS,
  isSupportedAlgorithm,
  type JwsAlgorithm,
  KeyboundError,
} from '@keybound/core';
import { clip, defineCommand, stringOption, UsageError } from '../args.js';
import { inspectAccessToken } from '../inspect/access-token.js';
import { decodeJwt, looksLikeProof } from '../inspect/decode.js';
import { loadJwks } from '../inspect/jwks.js';
import { inspectProof } from '../inspect/proof.js';
import { type InspectResult, invalidFrom } from '../inspect/result.js';
import { EXIT } from '../io.js';
import { valuesFromStdin } from '../stdin.js';
import { checkHttpUrl, checkMethod } from './proof.js';

/** Longer than any access token worth inspecting; proofs have core's own, smaller limit. */
export const MAX_JWT_LENGTH = 64 * 1024;

function parseNow(value: string | undefined): number {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  if (!/^\d{1,12}(\.\d+)?$/.test(value)) throw new UsageError('--now must be epoch seconds, e.g. 1562262616');
  return Number(value);
}

function parseSeconds(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new UsageError(`${option} must be whole seconds, 0 to 999999`);
  return Number(value);
}

function parseAlgorithms(value: string | undefined): readonly JwsAlgorithm[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(/[\s,]+/).filter((a) => a.length > 0);
  if (list.length === 0) throw new UsageError('--algs must name at least one algorithm');
  for (const alg of list) {
    if (!isSupportedAlgorithm(alg)) throw new UsageError(`--algs: unsupported algorithm '${clip(alg)}'`);
  }
  return list as JwsAlgorithm[];
}

export const run = defineCommand(
  {
    name: 'inspect',
    synopsis:
      'JWT [--htm METHOD --htu URL --access-token T] [--now EPOCH_SECONDS] [--max-age S] [--skew S] [--jwks FILE|URL]',
    description:
      'Decodes a DPoP proof (typ dpop+jwt) or a JWT access token, verifies what it can and prints JSON:\n' +
      '{"kind":"dpop_proof","valid":true,"jkt":…,"header":…,"claims":…,"checked":[…],"unchecked":{…}}\n' +
      'or {"kind":…,"valid":false,"code":…,"detail":…}. Exit 0 when valid, 1 when not, 2 on usage errors.\n' +
      'Without --htm/--htu a proof is checked for everything else and the output says what was not checked.\n' +
      "JWT or --access-token given as '-' is read from standard input (keeps tokens out of argv).",
    options: {
      htm: { type: 'string', valueName: 'METHOD', description: 'proof: the request method it must be for' },
      htu: { type: 'string', valueName: 'URL', description: 'proof: the request URL it must be for' },
      'access-token': {
        type: 'string',
        valueName: 'T',
        description: 'proof: the access token sent with it (ath must match)',
      },
      algs: {
        type: 'string',
        valueName: 'LIST',
        description: `proof: accepted algorithms (default "${DEFAULT_DPOP_ALGORITHMS.join(' ')}")`,
      },
      now: {
        type: 'string',
        valueName: 'EPOCH_SECONDS',
        description: 'the time to check iat, exp and nbf against (default now)',
      },
      'max-age': {
        type: 'string',
        valueName: 'S',
        description: `proof: how old iat may be, as the server is configured (default ${DEFAULT_MAX_AGE_SECONDS})`,
      },
      skew: {
        type: 'string',
        valueName: 'S',
        description: `proof: clock skew allowed either side of the window (default ${DEFAULT_CLOCK_SKEW_SECONDS})`,
      },
      jwks: {
        type: 'string',
        valueName: 'FILE|URL',
        description: "access token: the issuer's keys, to verify its signature",
      },
    },
    positionals: { min: 1, max: 1, names: 'JWT argument' },
    epilog:
      'examples:\n' +
      '  keybound inspect "$PROOF" --htm GET --htu https://api.example/x --access-token "$TOKEN"\n' +
      '  keybound inspect "$TOKEN" --jwks https://as.example/jwks\n' +
      '  pbpaste | keybound inspect - --jwks https://as.example/jwks',
  },
  async ({ values, positionals }, io) => {
    const htmText = stringOption(values, 'htm');
    const htuText = stringOption(values, 'htu');
    const htm = htmText === undefined ? undefined : checkMethod(htmText, '--htm');
    const htu = htuText === undefined ? undefined : checkHttpUrl(htuText, '--htu');
    if (stringOption(values, 'access-token') === '') throw new UsageError('--access-token must not be empty');
    const now = parseNow(stringOption(values, 'now'));
    const algorithms = parseAlgorithms(stringOption(values, 'algs'));
    const maxAgeSeconds = parseSeconds(stringOption(values, 'max-age'), '--max-age');
    const clockSkewSeconds = parseSeconds(stringOption(values, 'skew'), '--skew');
    const jwksSource = stringOption(values, 'jwks');
    const given = await valuesFromStdin(io, {
      JWT: positionals[0],
      '--access-token': stringOption(values, 'access-token'),
    });
    const jwt = given.JWT!;
    const accessToken = given['--access-token'];
    const jwks = jwksSource === undefined ? undefined : await loadJwks(io, jwksSource);

    let result: InspectResult;
    const decoded = jwt.length <= MAX_JWT_LENGTH ? decodeJwt(jwt) : undefined;
    if (decoded === undefined) {
      const detail =
        jwt.length > MAX_JWT_LENGTH
          ? `the JWT is longer than ${MAX_JWT_LENGTH} characters`
          : 'the JWT is not a compact JWS (three base64url parts, JSON object header and payload)';
      result = invalidFrom('unknown', new KeyboundError('token_malformed', detail));
    } else if (looksLikeProof(decoded)) {
      result = await inspectProof(jwt, decoded, {
        htm,
        htu,
        accessToken,
        now,
        algorithms,
        maxAgeSeconds,
        clockSkewSeconds,
      });
    } else {
      result = await inspectAccessToken(jwt, decoded, { now, jwks });
    }
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.valid ? EXIT.ok : EXIT.failed;
  },
);
