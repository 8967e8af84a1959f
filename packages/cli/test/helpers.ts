// Running keybound commands in-process with captured output, and the RFC examples.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandIo } from '../src/io.js';
import { main } from '../src/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function captureIo(
  cwd = process.cwd(),
  stdin?: CommandIo['stdin'],
): CommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env: {},
    cwd,
    stdin,
  };
}

/** Runs `keybound ...argv` in this process; `stdin` is what standard input holds, if anything. */
export async function cli(argv: string[], cwd?: string, stdin?: CommandIo['stdin']): Promise<CliResult> {
  const io = captureIo(cwd, stdin);
  const code = await main(argv, io);
  return { code, stdout: io.out.join(''), stderr: io.err.join('') };
}

/** stdout parsed as JSON. */
export function json(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

export const vectors = JSON.parse(
  readFileSync(new URL('../../../test/vectors/rfc-vectors.json', import.meta.url), 'utf8'),
);

/** A temporary directory removed by the returned cleanup. */
export function tempDir(): { dir: string; write(name: string, content: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'keybound-cli-'));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Replaces one JWS part (0 header, 1 payload) with the base64url of `value`. */
export function withPart(jwt: string, index: 0 | 1, value: unknown): string {
  const parts = jwt.split('.');
  parts[index] = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  return parts.join('.');
}

export function partOf(jwt: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[index]!, 'base64url').toString('utf8'));
}
