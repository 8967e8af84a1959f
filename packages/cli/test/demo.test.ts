import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/commands/demo.js';
import { sendJson } from '../src/demo/http.js';
import { createProtectedHandler } from '../src/demo/protected-handler.js';
import { captureIo, cli } from './helpers.js';

const stepLines = (stdout: string) => stdout.split('\n').filter((l) => /^[✓✗] \d /.test(l));

describe('keybound demo', () => {
  it('runs every step against real HTTP servers, explains each in one line and exits 0', async () => {
    const r = await cli(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const steps = stepLines(r.stdout);
    expect(steps).toHaveLength(6);
    for (const line of steps) expect(line.startsWith('✓')).toBe(true);
    expect(r.stdout).toMatch(/→ 200 token_type DPoP, cnf\.jkt/);
    expect(r.stdout).toMatch(/→ 200 \{"message":"hello keybound-demo-client"\}/);
    expect(r.stdout).toMatch(/→ 401 bound_token_as_bearer · WWW-Authenticate: DPoP error="invalid_token"/);
    expect(r.stdout).toMatch(/→ 401 jkt_mismatch · WWW-Authenticate: DPoP error="invalid_token"/);
    expect(r.stdout).toMatch(/→ 401 replay · WWW-Authenticate: DPoP error="invalid_dpop_proof"/);
    expect(r.stdout).toMatch(/all 6 steps behaved as expected/);
  });

  it('never prints the access token or a proof', async () => {
    const r = await cli(['demo']);
    expect(r.stdout).not.toMatch(/eyJ[\w-]{10,}\.[\w-]+\./);
  });

  it('marks the refusals as failed and exits 1 when the API accepts any request', async () => {
    const io = captureIo();
    const code = await runDemo(io, {
      protectedHandler: () => async (_req, res) => sendJson(res, 200, { message: 'ok' }),
    });
    expect(code).toBe(1);
    const marks = stepLines(io.out.join('')).map((l) => l[0]);
    expect(marks).toEqual(['✓', '✓', '✓', '✗', '✗', '✗']);
    expect(io.out.join('')).toMatch(/3 of 6 steps did not behave as expected/);
  });

  it('marks only the replay step as failed when the API forgets used proofs', async () => {
    const io = captureIo();
    const forgetful = { setIfAbsent: async () => true };
    const code = await runDemo(io, {
      protectedHandler: (o) => createProtectedHandler({ ...o, replayStore: forgetful }),
    });
    expect(code).toBe(1);
    const out = io.out.join('');
    expect(stepLines(out).map((l) => l[0])).toEqual(['✓', '✓', '✓', '✓', '✓', '✗']);
    expect(out).toMatch(/→ 200 .*\(expected 401 replay\)/);
  });

  it('refuses extra arguments with exit 2', async () => {
    expect((await cli(['demo', 'now'])).code).toBe(2);
  });
});
