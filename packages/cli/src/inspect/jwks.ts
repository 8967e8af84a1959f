// The issuer keys for `inspect --jwks`: a URL (fetched when needed) or a file holding a JWKS, one
// public JWK, or the JSON `keybound keys generate` prints.
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { UsageError } from '../args.js';
import { readJsonFile } from '../files.js';
import type { CommandIo } from '../io.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JWKS from parsed file JSON, or a UsageError saying why it is not one. */
export function jwksFromJson(json: unknown, file: string): JSONWebKeySet {
  const where = `--jwks file '${file}'`;
  let keys: unknown;
  if (isObject(json) && Array.isArray(json.keys)) keys = json.keys;
  else if (isObject(json) && isObject(json.publicJwk)) keys = [json.publicJwk];
  else if (isObject(json) && typeof json.kty === 'string') keys = [json];
  else throw new UsageError(`${where} holds no JWKS ({"keys": [...]}) or public JWK`);
  const list = keys as unknown[];
  if (list.length === 0) throw new UsageError(`${where} holds no keys`);
  for (const key of list) {
    if (!isObject(key) || typeof key.kty !== 'string')
      throw new UsageError(`${where} holds an entry that is not a JWK`);
    if (PRIVATE_MEMBERS.some((m) => m in key)) {
      throw new UsageError(`${where} holds private or secret key material; give the issuer's public keys`);
    }
  }
  return { keys: list } as JSONWebKeySet;
}

export async function loadJwks(io: CommandIo, source: string): Promise<JWTVerifyGetKey> {
  if (/^https?:\/\//i.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new UsageError('--jwks URL is not a valid URL');
    }
    return createRemoteJWKSet(url, { timeoutDuration: 5000 });
  }
  const jwks = jwksFromJson(await readJsonFile(io, source, '--jwks'), source);
  try {
    return createLocalJWKSet(jwks);
  } catch {
    throw new UsageError(`--jwks file '${source}' is not a valid JWKS`);
  }
}
