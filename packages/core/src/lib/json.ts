// JSON object parsing for JOSE headers and claims: RFC 7515 §4 lets a parser reject duplicate
// member names, and keybound does (a duplicated "htu" or "jwk" is how parser differentials start).

export type JsonObject = Record<string, unknown>;

/** Parses a JSON object; returns 'invalid' for anything else and 'duplicate' for repeated names. */
export function parseJsonObject(text: string): JsonObject | 'invalid' | 'duplicate' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid';
  return hasDuplicateNames(text) ? 'duplicate' : (value as JsonObject);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Scans text that JSON.parse accepted and reports whether any object repeats a member name. */
export function hasDuplicateNames(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === BACKSLASH) {
          escaped = true;
          j += 2;
        } else if (d === QUOTE) break;
        else j++;
      }
      const names = stack[stack.length - 1];
      if (names) {
        let k = j + 1;
        while (isSpace(text.charCodeAt(k))) k++;
        if (text.charCodeAt(k) === COLON) {
          const name = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
          if (names.has(name)) return true;
          names.add(name);
        }
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b) stack.push(new Set());
    else if (c === 0x5b) stack.push(null);
    else if (c === 0x7d || c === 0x5d) stack.pop();
    i++;
  }
  return false;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
