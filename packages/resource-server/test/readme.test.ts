import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '@keybound/core';
import { REASON_CODES } from '@keybound/resource-server';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('the README', () => {
  it('lists exactly the reason codes protect() can give, by step', () => {
    const section = readme.slice(readme.indexOf('## Reason codes'), readme.indexOf('## Decision events'));
    const rows = Object.fromEntries(
      [...section.matchAll(/^\| (\w+) +\| (`.+?) *\|$/gm)].map((m) => [
        m[1],
        [...m[2]!.matchAll(/`(\w+)`/g)].map((c) => c[1]),
      ]),
    );
    expect(rows).toEqual(REASON_CODES);
  });

  it('names only codes that exist in the core table', () => {
    for (const code of Object.values(REASON_CODES).flat()) expect(ERROR_CODES).toHaveProperty(code);
  });
});
