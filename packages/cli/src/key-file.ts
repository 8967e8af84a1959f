// Key files: a private JWK, or the JSON `keybound keys generate` prints ({ privateJwk, … }).
import { type DpopKey, importDpopKey, isKeyboundError, type PrivateJwk } from '@keybound/core';
import { UsageError } from './args.js';
import { readJsonFile } from './files.js';
import type { CommandIo } from './io.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The private JWK held in parsed key-file JSON, or a UsageError saying why there is none. */
export function privateJwkOf(json: unknown, file: string): PrivateJwk {
  const jwk = isObject(json) && isObject(json.privateJwk) ? json.privateJwk : json;
  if (!isObject(jwk)) throw new UsageError(`--key file '${file}' holds no JSON object`);
  if (typeof jwk.d !== 'string') {
    throw new UsageError(
      `--key file '${file}' holds no private key (a JWK with "d", or the output of keys generate)`,
    );
  }
  return jwk as unknown as PrivateJwk;
}

export async function loadDpopKey(io: CommandIo, file: string): Promise<DpopKey> {
  const jwk = privateJwkOf(await readJsonFile(io, file, '--key'), file);
  try {
    return await importDpopKey(jwk);
  } catch (e) {
    if (isKeyboundError(e)) throw new UsageError(`--key file '${file}': ${e.message} (${e.code})`);
    throw new UsageError(`--key file '${file}': not a usable private key for DPoP`);
  }
}
