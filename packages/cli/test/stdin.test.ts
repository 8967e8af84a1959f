// Values given as '-' come from standard input, so tokens need not appear in argv (ps, history).
import { Readable } from 'node:stream';
import { accessTokenHash, verifyProof } from '@keybound/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STDIN_BYTES } from '../src/stdin.js';
import { cli, json, partOf, tempDir, vectors } from './helpers.js';

const rfc = vectors.rfc9449;
const fig13 = rfc.proof_resource_fig13;
const tmp = tempDir();
let keyFile: string;
beforeAll(async () => {
  keyFile = tmp.write('key.json', (await cli(['keys', 'generate'])).stdout);
});
afterAll(() => tmp.cleanup());

/** Standard input holding `text`, delivered in chunks of `chunk` bytes. */
const input = (text: string | Uint8Array, chunk = 7) => {
  const bytes = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts);
};
const fig13Args = ['--htm', fig13.htm, '--htu', fig13.htu, '--now', String(fig13.iat)];

describe("keybound inspect '-'", () => {
  it('reads the JWT from standard input, trimming the newline a pipe adds', async () => {
    const r = await cli(
      ['inspect', '-', ...fig13Args, '--access-token', rfc.access_token],
      undefined,
      input(`${fig13.proof}\n`),
    );
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ kind: 'dpop_proof', valid: true, jkt: rfc.jkt });
  });

  it('reads --access-token from standard input, and ath is checked against it', async () => {
    const ok = await cli(
      ['inspect', fig13.proof, ...fig13Args, '--access-token', '-'],
      undefined,
      input(`${rfc.access_token}\r\n`),
    );
    expect(ok.code).toBe(0);
    const wrong = await cli(
      ['inspect', fig13.proof, ...fig13Args, '--access-token', '-'],
      undefined,
      input('another-token'),
    );
    expect(wrong.code).toBe(1);
    expect(json(wrong)).toMatchObject({ valid: false, code: 'ath_mismatch' });
  });

  it('refuses two values from standard input as a usage error, before reading it', async () => {
    let read = false;
    const stdin = (async function* () {
      read = true;
      yield fig13.proof;
    })();
    const r = await cli(['inspect', '-', ...fig13Args, '--access-token', '-'], undefined, stdin);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only one value can be read from standard input/);
    expect(read).toBe(false);
  });

  it.each([
    ['empty', '', /standard input is empty/],
    ['only whitespace', ' \n\t\n', /standard input is empty/],
  ])('refuses %s standard input as a usage error', async (_label, text, message) => {
    const r = await cli(['inspect', '-'], undefined, input(text));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('stops reading standard input past its limit and says so', async () => {
    let chunks = 0;
    const endless = (async function* () {
      for (;;) {
        chunks++;
        yield 'a'.repeat(64 * 1024);
      }
    })();
    const r = await cli(['inspect', '-'], undefined, endless);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`longer than ${MAX_STDIN_BYTES} bytes`));
    expect(chunks).toBe(MAX_STDIN_BYTES / (64 * 1024) + 1);
  });

  it('judges hostile standard input like a hostile argument: invalid, exit 1, nothing echoed', async () => {
    for (const text of [
      'not a jwt',
      'a.b.c',
      '\u0000\u0001.\uffff.x',
      Buffer.from([0xff, 0xfe, 0x2e, 0x2e]),
    ]) {
      const r = await cli(['inspect', '-'], undefined, input(text));
      expect(r.code).toBe(1);
      expect(json(r)).toMatchObject({ valid: false, code: 'token_malformed' });
    }
    const long = await cli(['inspect', '-'], undefined, input('x'.repeat(100_000), 4096));
    expect(long.code).toBe(1);
    expect(json(long).detail).toMatch(/longer than/);
  });

  it("refuses '-' when the command has no standard input", async () => {
    const r = await cli(['inspect', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not available/);
  });
});

describe("keybound proof --token '-'", () => {
  it('reads the access token from standard input and binds the proof to it with ath', async () => {
    const token = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
    const r = await cli(
      ['proof', '--key', keyFile, '--htm', 'GET', '--htu', 'https://api.example/x', '--token', '-'],
      undefined,
      input(`${token}\n`),
    );
    expect(r.code).toBe(0);
    const proof = r.stdout.trim();
    expect(partOf(proof, 1).ath).toBe(await accessTokenHash(token));
    await expect(
      verifyProof(proof, { htm: 'GET', htu: 'https://api.example/x', accessToken: token }),
    ).resolves.toBeTruthy();
  });

  it('refuses empty standard input rather than making a proof without ath', async () => {
    const r = await cli(
      ['proof', '--key', keyFile, '--htm', 'GET', '--htu', 'https://api.example/x', '--token', '-'],
      undefined,
      input('\n'),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
