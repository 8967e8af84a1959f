// Reading the files named on the command line. Problems with them are usage errors (exit 2):
// the message names the file and what is wrong, never its content (it may hold a private key).
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from './args.js';
import type { CommandIo } from './io.js';

/** Larger than any key or JWKS file a user would hand to the CLI. */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

function reason(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? 'cannot be read';
}

/** Reads a JSON file given by option `option` (for messages), resolved against io.cwd. */
export async function readJsonFile(io: CommandIo, file: string, option: string): Promise<unknown> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (info.size > MAX_INPUT_FILE_BYTES) {
      throw new UsageError(`${option} file '${file}' is larger than ${MAX_INPUT_FILE_BYTES} bytes`);
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${option} file '${file}': ${reason(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${option} file '${file}' is not JSON`);
  }
}
