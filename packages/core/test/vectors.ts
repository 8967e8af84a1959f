// The RFC examples from ../shared/vectors/rfc-vectors.json, copied into the repository so a
// fresh clone has them (test/vectors/rfc-vectors.json is the same file).
import { readFileSync } from 'node:fs';

const url = new URL('../../../test/vectors/rfc-vectors.json', import.meta.url);
export const vectors = JSON.parse(readFileSync(url, 'utf8'));
