// Finding and reading the `keybound serve` configuration file: `--config FILE`, or
// keybound.config.yaml in the working directory when it exists. YAML (a superset of JSON, so .json
// files read the same way); duplicate keys, several documents and YAML errors are refused with the
// line they are on. Problems are usage errors (exit 2): the message names the file, never its content.
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { UsageError } from '../args.js';
import { MAX_INPUT_FILE_BYTES } from '../files.js';
import type { CommandIo } from '../io.js';

export const DEFAULT_CONFIG_FILE = 'keybound.config.yaml';

export interface LoadedConfigFile {
  /** The parsed document (an object, or undefined when there is no file). */
  value: Record<string, unknown> | undefined;
  /** The file as the user named it (for messages), when there is one. */
  file: string | undefined;
  /** Relative paths in the file (SQLite path, data_dir, file: references) resolve against this. */
  baseDir: string;
}

function reason(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? 'cannot be read';
}

/** Reads `--config FILE` (required to exist) or the default file (used only when present). */
export async function loadConfigFile(io: CommandIo, option: string | undefined): Promise<LoadedConfigFile> {
  const named = option ?? DEFAULT_CONFIG_FILE;
  const path = resolve(io.cwd, named);
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (info.size > MAX_INPUT_FILE_BYTES) {
      throw new UsageError(`config file '${named}' is larger than ${MAX_INPUT_FILE_BYTES} bytes`);
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (option === undefined && (e as { code?: string }).code === 'ENOENT') {
      return { value: undefined, file: undefined, baseDir: io.cwd };
    }
    throw new UsageError(`--config file '${named}': ${reason(e)}`);
  }
  return { value: parseConfigText(text, named), file: named, baseDir: dirname(path) };
}

/** Parses YAML or JSON text into a plain object; `name` is used in messages. */
export function parseConfigText(text: string, name: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const where = problem.linePos?.[0];
    const at = where === undefined ? '' : ` at line ${where.line}, column ${where.col}`;
    // the first line only: pretty errors go on with an excerpt of the file, which may hold secrets
    const what =
      problem.code === 'DUPLICATE_KEY'
        ? 'a key is repeated'
        : (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new UsageError(`config file '${name}' is not valid YAML or JSON${at}: ${what}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new UsageError(`config file '${name}': ${(e as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(
      `config file '${name}' must hold a mapping of sections (server, authorization_server, api, demo)`,
    );
  }
  return value as Record<string, unknown>;
}
