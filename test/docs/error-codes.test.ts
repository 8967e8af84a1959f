import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '@keybound/core';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../docs/error-codes.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([a-z0-9_]+)` \| `([a-z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [
    m[1]!,
    { error: m[2], status: Number(m[3]), meaning: m[4]!.replaceAll('\\|', '|') },
  ]),
);

describe('docs/error-codes.md', () => {
  it('lists exactly the error codes that exist (regenerate with node scripts/error-codes.mjs)', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('gives each code the RFC error, status and meaning of the table in core', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(documented.get(code), code).toEqual({
        error: info.error,
        status: info.status,
        meaning: info.meaning,
      });
    }
  });
});
