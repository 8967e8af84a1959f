// Values given as `-` on the command line are read from standard input: a token passed as an
// argument is visible to every user of the machine in `ps` and kept in shell history.
import { UsageError } from './args.js';
import type { CommandIo } from './io.js';

/** More than any token or proof worth handling; the command's own limits apply after this. */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** Reads all of standard input as UTF-8, refusing more than `max` bytes; trims surrounding whitespace. */
export async function readStdin(io: CommandIo, what: string, max = MAX_STDIN_BYTES): Promise<string> {
  if (io.stdin === undefined)
    throw new UsageError(`${what}: '-' reads standard input, which is not available here`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += bytes.length;
    if (size > max) throw new UsageError(`${what}: standard input is longer than ${max} bytes`);
    chunks.push(bytes);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks)).trim();
  if (text.length === 0) throw new UsageError(`${what}: standard input is empty`);
  return text;
}

/**
 * Resolves the values given as `-` from standard input. At most one may be `-` (standard input is
 * read once); the others are returned as they are.
 */
export async function valuesFromStdin<K extends string>(
  io: CommandIo,
  values: Record<K, string | undefined>,
): Promise<Record<K, string | undefined>> {
  const dashed = (Object.keys(values) as K[]).filter((k) => values[k] === '-');
  if (dashed.length === 0) return values;
  if (dashed.length > 1) {
    throw new UsageError(`only one value can be read from standard input ('-'): ${dashed.join(', ')}`);
  }
  const name = dashed[0]!;
  return { ...values, [name]: await readStdin(io, name) };
}
