// keybound proof --key FILE --htm GET --htu URL [...]: prints one DPoP proof (RFC 9449 §4.2),
// for curl -H "DPoP: $(keybound proof …)".
import { createProof, DEFAULT_MAX_JTI_LENGTH } from '@keybound/core';
import { defineCommand, stringOption, UsageError } from '../args.js';
import { EXIT } from '../io.js';
import { loadDpopKey } from '../key-file.js';
import { readStdin } from '../stdin.js';

/** An HTTP method is an RFC 9110 token. */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkMethod(value: string, option: string): string {
  if (!METHOD.test(value)) throw new UsageError(`${option} must be an HTTP method such as GET or POST`);
  return value;
}

export function checkHttpUrl(value: string, option: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${option} must be an http or https URL, not ${url.protocol}`);
  }
  return value;
}

function checkEpochSeconds(value: string, option: string): number {
  if (!/^\d{1,12}$/.test(value))
    throw new UsageError(`${option} must be a whole number of seconds since 1970`);
  return Number(value);
}

function nonEmpty(value: string | undefined, option: string): string | undefined {
  if (value !== undefined && value.length === 0) throw new UsageError(`${option} must not be empty`);
  return value;
}

export const run = defineCommand(
  {
    name: 'proof',
    synopsis: '--key FILE --htm METHOD --htu URL [--token T] [--nonce N] [--iat S] [--jti J]',
    description:
      'Prints a DPoP proof (RFC 9449) for one request, signed with the private key in FILE\n' +
      '(a private JWK, or the JSON that keybound keys generate prints).',
    options: {
      key: { type: 'string', valueName: 'FILE', description: 'private key file', required: true },
      htm: {
        type: 'string',
        valueName: 'METHOD',
        description: 'the request method, e.g. GET',
        required: true,
      },
      htu: {
        type: 'string',
        valueName: 'URL',
        description: 'the request URL (query and fragment are left out)',
        required: true,
      },
      token: {
        type: 'string',
        valueName: 'T',
        description: "the access token sent with the proof (adds ath); '-' reads it from standard input",
      },
      nonce: { type: 'string', valueName: 'N', description: 'the DPoP-Nonce the server sent' },
      iat: { type: 'string', valueName: 'S', description: 'issued-at, epoch seconds (default now)' },
      jti: { type: 'string', valueName: 'J', description: 'the proof identifier (default 128 random bits)' },
    },
    epilog:
      'example:\n' +
      '  curl -H "Authorization: DPoP $TOKEN" \\\n' +
      '       -H "DPoP: $(keybound proof --key client-key.json --htm GET --htu https://api.example/x --token "$TOKEN")" \\\n' +
      '       https://api.example/x',
  },
  async ({ values }, io) => {
    const htm = checkMethod(stringOption(values, 'htm')!, '--htm');
    const htu = checkHttpUrl(stringOption(values, 'htu')!, '--htu');
    const iatText = stringOption(values, 'iat');
    const iat = iatText === undefined ? undefined : checkEpochSeconds(iatText, '--iat');
    const jti = nonEmpty(stringOption(values, 'jti'), '--jti');
    if (jti !== undefined && jti.length > DEFAULT_MAX_JTI_LENGTH) {
      throw new UsageError(
        `--jti must be at most ${DEFAULT_MAX_JTI_LENGTH} characters (verifiers refuse longer ones)`,
      );
    }
    const tokenText = nonEmpty(stringOption(values, 'token'), '--token');
    const nonce = nonEmpty(stringOption(values, 'nonce'), '--nonce');
    const key = await loadDpopKey(io, stringOption(values, 'key')!);
    const accessToken = tokenText === '-' ? await readStdin(io, '--token') : tokenText;
    const proof = await createProof(key, { htm, htu, accessToken, nonce, iat, jti });
    io.stdout.write(`${proof}\n`);
    return EXIT.ok;
  },
);
