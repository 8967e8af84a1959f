// End to end: the built `keybound` executable in its own process (dist, as users run it).
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, vectors } from './helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const tmp = tempDir();

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built bin (with `stdin` piped in, if given); resolves with its exit code and output (never rejects on a non-zero exit). */
function keybound(args: string[], stdin?: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: tmp.dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  await run('flock', ['/tmp/keybound-tsc.lock', 'npx', 'tsc', '-b', 'packages/cli'], { cwd: root });
}, 120_000);
afterAll(() => tmp.cleanup());

describe('the keybound executable', () => {
  it('starts with a node shebang', async () => {
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('prints its usage with --help and exits 0', async () => {
    const r = await keybound(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: keybound <command>/);
  });

  it('exits 2 with one line on stderr for an unknown option', async () => {
    const r = await keybound(['proof', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("keybound proof: unknown option --bogus; see 'keybound proof --help'\n");
  });

  it('generates a key, makes a proof with it, and inspects the proof as valid (exit 0) or tampered (exit 1)', async () => {
    const generated = await keybound(['keys', 'generate', '--alg', 'ES256']);
    expect(generated.code).toBe(0);
    tmp.write('key.json', generated.stdout);
    const { jkt } = JSON.parse(generated.stdout) as { jkt: string };
    const proof = await keybound([
      'proof',
      '--key',
      'key.json',
      '--htm',
      'GET',
      '--htu',
      'https://api.example/x',
      '--token',
      'tok',
    ]);
    expect(proof.code).toBe(0);
    const p = proof.stdout.trim();
    const ok = await keybound([
      'inspect',
      p,
      '--htm',
      'GET',
      '--htu',
      'https://api.example/x',
      '--access-token',
      'tok',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'dpop_proof', valid: true, jkt });
    const bad = await keybound(['inspect', p, '--htm', 'POST', '--htu', 'https://api.example/x']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, code: 'htm_mismatch' });
  });

  it('verifies the RFC 9449 figure 13 proof with --now (exit 0)', async () => {
    const v = vectors.rfc9449.proof_resource_fig13;
    const r = await keybound([
      'inspect',
      v.proof,
      '--htm',
      v.htm,
      '--htu',
      v.htu,
      '--access-token',
      vectors.rfc9449.access_token,
      '--now',
      String(v.iat),
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, jkt: vectors.rfc9449.jkt });
  });

  it("reads a token piped to '-' (proof --token -, inspect -) so it never appears in argv", async () => {
    const v = vectors.rfc9449.proof_resource_fig13;
    const args = ['--htm', v.htm, '--htu', v.htu, '--now', String(v.iat)];
    const piped = await keybound(
      ['inspect', '-', ...args, '--access-token', vectors.rfc9449.access_token],
      `${v.proof}\n`,
    );
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ valid: true, jkt: vectors.rfc9449.jkt });
    tmp.write('stdin-key.json', (await keybound(['keys', 'generate'])).stdout);
    const proof = await keybound(
      ['proof', '--key', 'stdin-key.json', '--htm', 'GET', '--htu', 'https://api.example/x', '--token', '-'],
      'secret-token\n',
    );
    expect(proof.code).toBe(0);
    const ok = await keybound(
      [
        'inspect',
        proof.stdout.trim(),
        '--htm',
        'GET',
        '--htu',
        'https://api.example/x',
        '--access-token',
        '-',
      ],
      'secret-token',
    );
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true });
    const nothing = await keybound(['inspect', '-']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/standard input is empty/);
  });

  it('runs the demo to the end and exits 0 on its own (no server left open)', async () => {
    const r = await keybound(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('✓ '))).toHaveLength(6);
  });
});
