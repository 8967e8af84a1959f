#!/usr/bin/env node
// Writes docs/error-codes.md from the ERROR_CODES table of the built core (npm run build first).
// test/docs/error-codes.test.ts fails when the document and the table disagree.
import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../packages/core/dist/index.js';

export function renderErrorCodes(codes) {
  const rows = (side) =>
    Object.entries(codes)
      .filter(([, info]) => (info.side ?? 'server') === side)
      .map(
        ([code, info]) =>
          `| \`${code}\` | \`${info.error}\` | ${info.status} | ${info.meaning.replaceAll('|', '\\|')} |`,
      )
      .join('\n');
  return `# Error codes

Every failure in keybound carries one of these stable codes (\`KeyboundError.code\`, the \`code\` of a
resource server's refusal and decision event). The RFC error is what goes on the wire
(\`WWW-Authenticate\` or the JSON error body); the status is the one a resource server answers with.
The authorization server answers proof errors (\`invalid_dpop_proof\`, \`use_dpop_nonce\`) with 400, as
RFC 9449 §5 says. Diagnostics carry expected and received values, never a token, a proof or a secret.

This file is generated from \`packages/core/src/errors.ts\` by \`node scripts/error-codes.mjs\`; a test
checks that it lists exactly the codes that exist.

## Raised by servers (resource server, authorization server)

| code | RFC error | status | meaning |
|---|---|---|---|
${rows('server')}

## Raised by the client SDK

The client throws these; the RFC error and status name what a server would use for the condition.

| code | RFC error | status | meaning |
|---|---|---|---|
${rows('client')}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../docs/error-codes.md', import.meta.url), renderErrorCodes(ERROR_CODES));
  console.log(`wrote docs/error-codes.md (${Object.keys(ERROR_CODES).length} codes)`);
}
