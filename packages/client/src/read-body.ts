// Reads a server's response body with a size limit, and parses JSON objects from it. Errors never
// quote the body: a token response carries tokens.
import { KeyboundError } from '@keybound/core';

export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;

/** Reads at most `limit` bytes of the body; more than that cancels the stream and fails. */
export async function readBodyText(response: Response, limit: number, what: string): Promise<string> {
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    await response.body?.cancel().catch(() => {});
    throw new KeyboundError('response_too_large', `the ${what} is larger than ${limit} bytes`, {
      expected: `<= ${limit} bytes`,
      received: Number(declared),
    });
  }
  const body = response.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (cause) {
      throw new KeyboundError('server_unreachable', `the ${what} was cut off`, {}, { cause });
    }
    if (next.done) break;
    total += next.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new KeyboundError('response_too_large', `the ${what} is larger than ${limit} bytes`, {
        expected: `<= ${limit} bytes`,
        received: `> ${limit} bytes`,
      });
    }
    chunks.push(next.value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new KeyboundError('response_malformed', `the ${what} is not UTF-8`);
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Reads the body as a JSON object (not an array, not a scalar). */
export async function readJsonObject(
  response: Response,
  limit: number,
  what: string,
): Promise<Record<string, unknown>> {
  const text = await readBodyText(response, limit, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyboundError('response_malformed', `the ${what} is not JSON`, {
      expected: 'a JSON object',
      received: `${text.length} characters of non-JSON (HTTP ${response.status})`,
    });
  }
  if (kindOf(value) !== 'object') {
    throw new KeyboundError('response_malformed', `the ${what} is not a JSON object`, {
      expected: 'a JSON object',
      received: kindOf(value),
    });
  }
  return value as Record<string, unknown>;
}

const UNSAFE_TEXT = /[^\x20-\x7e]/g;

/** A server-supplied string made safe to put in a diagnostic: printable ASCII, at most 200 characters. */
export function clipServerText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const clean = value.replace(UNSAFE_TEXT, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
