// The KeyboundError code an operation fails with, for the core tests. Any other error is rethrown:
// a TypeError from a bug must not pass as a refusal.
import { expect } from 'vitest';
import { isKeyboundError, KeyboundError, type KeyboundErrorCode } from './helpers.js';

/** The code of the KeyboundError `fn` throws, or undefined when it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKeyboundError(e)) return e.code;
    throw e;
  }
  return undefined;
}

/** Asserts that `p` rejects with a KeyboundError carrying `code`, and returns that error. */
export async function expectCode(p: Promise<unknown>, code: KeyboundErrorCode): Promise<KeyboundError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected a rejection with ${code}`).toBeInstanceOf(KeyboundError);
  expect((e as KeyboundError).code).toBe(code);
  return e as KeyboundError;
}
