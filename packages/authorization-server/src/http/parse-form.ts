// Strict application/x-www-form-urlencoded parsing for OAuth requests (RFC 6749 §3.1, §3.2):
// a parameter sent twice is an invalid_request (not "the last one wins"), an empty value counts
// as absent, percent-encoding must decode to UTF-8, and the number and size of parameters are
// bounded. The same parser reads the query of authorization requests.
import { OAuthError } from './oauth-error.js';

export interface FormLimits {
  maxParameters?: number;
  maxValueLength?: number;
}

/** Parameters that may legitimately repeat (none in the flows implemented here). */
const DEFAULT_LIMITS = { maxParameters: 64, maxValueLength: 8192 };

export class Params {
  readonly #map: Map<string, string>;

  constructor(map: Map<string, string>) {
    this.#map = map;
  }

  /** The value, or undefined when absent or empty (RFC 6749 §3.1). */
  get(name: string): string | undefined {
    const v = this.#map.get(name);
    return v === undefined || v === '' ? undefined : v;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** All non-empty parameters. */
  entries(): [string, string][] {
    return [...this.#map].filter(([, v]) => v !== '');
  }

  names(): string[] {
    return this.entries().map(([k]) => k);
  }
}

function decode(part: string, what: string): string {
  const plus = part.includes('+') ? part.replace(/\+/g, ' ') : part;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    throw new OAuthError('invalid_request', `the ${what} is not valid percent-encoded UTF-8`);
  }
}

export function parseForm(text: string, limits: FormLimits = {}): Params {
  const maxParameters = limits.maxParameters ?? DEFAULT_LIMITS.maxParameters;
  const maxValueLength = limits.maxValueLength ?? DEFAULT_LIMITS.maxValueLength;
  const map = new Map<string, string>();
  if (text.length === 0) return new Params(map);
  let count = 0;
  for (const part of text.split('&')) {
    if (part === '') continue;
    if (++count > maxParameters) {
      throw new OAuthError('invalid_request', `more than ${maxParameters} parameters`);
    }
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const name = decode(rawName, 'parameter name');
    if (name === '') throw new OAuthError('invalid_request', 'a parameter has no name');
    const value = eq < 0 ? '' : decode(part.slice(eq + 1), `value of parameter "${safeName(name)}"`);
    if (value.length > maxValueLength) {
      throw new OAuthError(
        'invalid_request',
        `parameter "${safeName(name)}" is longer than ${maxValueLength} characters`,
      );
    }
    if (map.has(name)) {
      throw new OAuthError('invalid_request', `parameter "${safeName(name)}" is included more than once`);
    }
    map.set(name, value);
  }
  return new Params(map);
}

/** A parameter name fit for an error description: printable ASCII, clipped. */
export function safeName(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
