import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands/index.js';
import { cli } from './helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** An argv that reaches each command's own option parser. */
const commandArgv = (name: string): string[] => (name === 'keys' ? ['keys', 'generate'] : [name]);

describe('keybound (dispatch)', () => {
  it('lists every command of the table in its help and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: keybound <command>/);
    for (const name of Object.keys(COMMANDS)) expect(r.stdout).toContain(`  ${name} `);
  });

  it('prints the usage on stderr and exits 2 when no command is given', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: keybound/);
  });

  it('refuses an unknown command with one line and exit 2', async () => {
    const r = await cli(['frobnicate', '--now', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("keybound: unknown command 'frobnicate'; see 'keybound --help'\n");
  });

  it('clips a hostile command name in its error', async () => {
    const r = await cli(['x'.repeat(10_000)]);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(120);
  });

  it('does not treat inherited object members as commands', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect((await cli([name])).code).toBe(2);
    }
  });

  it('prints its version', async () => {
    const r = await cli(['--version']);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('answers "help <command>" like "<command> --help"', async () => {
    const viaHelp = await cli(['help', 'proof']);
    const viaFlag = await cli(['proof', '--help']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
  });

  for (const name of Object.keys(COMMANDS)) {
    it(`${name}: --help prints its usage and exits 0`, async () => {
      const r = await cli([...commandArgv(name), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: keybound ${name}`));
      expect(r.stderr).toBe('');
    });

    it(`${name}: refuses an unknown option with exit 2 and one line on stderr`, async () => {
      const r = await cli([...commandArgv(name), '--no-such-option']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('unknown option --no-such-option');
    });
  }
});
