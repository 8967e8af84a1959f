// What `keybound inspect` prints: one JSON object saying what the JWT is, whether it is valid, and
// which checks ran. It carries decoded headers and claims but never the JWT itself.
import { isKeyboundError, type KeyboundErrorCode } from '@keybound/core';

export type InspectKind = 'dpop_proof' | 'access_token' | 'unknown';

export interface InspectValid {
  kind: InspectKind;
  valid: true;
  jkt?: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** Checks that ran and passed, in order. */
  checked: string[];
  /** Checks that could not run, each with what would let it run. */
  unchecked: Record<string, string>;
  [extra: string]: unknown;
}

export interface InspectInvalid {
  kind: InspectKind;
  valid: false;
  /** A code from ERROR_CODES. */
  code: KeyboundErrorCode;
  /** The RFC error name the code maps to. */
  error: string;
  detail: string;
  expected?: string | number;
  received?: string | number;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  [extra: string]: unknown;
}

export type InspectResult = InspectValid | InspectInvalid;

/** The invalid result for a KeyboundError; other errors are rethrown (they are bugs, not verdicts). */
export function invalidFrom(
  kind: InspectKind,
  e: unknown,
  decoded?: Partial<InspectInvalid>,
): InspectInvalid {
  if (!isKeyboundError(e)) throw e;
  const out: InspectInvalid = { kind, valid: false, code: e.code, error: e.error, detail: e.message };
  if (e.detail.expected !== undefined) out.expected = e.detail.expected;
  if (e.detail.received !== undefined) out.received = e.detail.received;
  return { ...out, ...decoded };
}
