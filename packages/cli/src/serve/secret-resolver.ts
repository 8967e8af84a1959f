// Secrets in the serve configuration stay out of the file: `env:NAME` reads an environment
// variable, `file:PATH` a file (relative to the configuration file; one trailing newline dropped).
// Messages name the variable or file, never the value.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SecretResolver } from '@keybound/authorization-server';

const MAX_SECRET_FILE_BYTES = 64 * 1024;

export function createSecretResolver(
  env: Readonly<Record<string, string | undefined>>,
  baseDir: string,
): SecretResolver {
  return (reference) => {
    if (reference.startsWith('env:')) return env[reference.slice(4)];
    if (reference.startsWith('file:')) {
      const path = resolve(baseDir, reference.slice(5));
      let size: number;
      try {
        size = statSync(path).size;
      } catch (e) {
        const code = (e as { code?: string }).code;
        throw new Error(code === 'ENOENT' ? 'no such file' : (code ?? 'cannot be read'));
      }
      if (size > MAX_SECRET_FILE_BYTES) throw new Error(`larger than ${MAX_SECRET_FILE_BYTES} bytes`);
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    }
    return undefined;
  };
}

const REFERENCE = /^(env|file):(.+)$/;

/**
 * Resolves one value that may be a reference; literal strings are returned as they are.
 * Returns a problem message instead when the reference cannot be resolved.
 */
export function resolveValue(
  value: string,
  resolver: SecretResolver,
  field: string,
): { value: string } | { problem: string } {
  const m = REFERENCE.exec(value);
  if (m === null) return { value };
  let resolved: string | undefined;
  try {
    resolved = resolver(value, field);
  } catch (e) {
    return { problem: `cannot resolve ${m[1]}:${m[2]}: ${(e as Error).message}` };
  }
  if (resolved === undefined || resolved === '') {
    return {
      problem: m[1] === 'env' ? `environment variable ${m[2]} is not set` : `${value} resolved to nothing`,
    };
  }
  return { value: resolved };
}
