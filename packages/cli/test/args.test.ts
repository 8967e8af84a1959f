import { describe, expect, it } from 'vitest';
import { type CommandSpec, defineCommand, helpText, parseCommandArgs, UsageError } from '../src/args.js';
import { captureIo } from './helpers.js';

const spec: CommandSpec = {
  name: 'sample',
  synopsis: 'THING [--name N]',
  description: 'A sample command.',
  options: {
    name: { type: 'string', valueName: 'N', description: 'a name', required: true },
    loud: { type: 'boolean', description: 'say it loudly' },
  },
  positionals: { min: 1, max: 1, names: 'THING argument' },
};

const usageError = (argv: string[]): string => {
  try {
    parseCommandArgs(argv, spec);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('parseCommandArgs', () => {
  it('returns option values and positionals', () => {
    expect(parseCommandArgs(['thing', '--name', 'n', '--loud'], spec)).toEqual({
      values: { name: 'n', loud: true },
      positionals: ['thing'],
    });
  });

  it('accepts --option=value, including values that start with a dash', () => {
    expect(parseCommandArgs(['t', '--name=-5'], spec).values.name).toBe('-5');
  });

  it('refuses an option given twice', () => {
    expect(usageError(['t', '--name', 'a', '--name', 'b'])).toBe('option --name given more than once');
  });

  it('refuses an option whose value is missing at the end', () => {
    expect(usageError(['t', '--name'])).toBe('option --name needs a value');
  });

  it('refuses an option followed by another option instead of its value', () => {
    expect(usageError(['t', '--name', '--loud'])).toMatch(
      /^option --name needs a value \(for a value starting/,
    );
  });

  it('refuses a value for a boolean option', () => {
    expect(usageError(['t', '--name', 'n', '--help=yes'])).toBe('option --help takes no value');
  });

  it('refuses a missing required option', () => {
    expect(usageError(['t'])).toBe('missing required option --name');
  });

  it('refuses too few and too many positionals', () => {
    expect(usageError(['--name', 'n'])).toBe('missing THING argument');
    expect(usageError(['a', 'b', '--name', 'n'])).toBe('expected one THING argument, received 2 arguments');
  });

  it('does not echo an unexpected positional (it may be a token)', () => {
    const noPositionals: CommandSpec = { ...spec, positionals: undefined, options: {} };
    try {
      parseCommandArgs(['eyJsecret'], noPositionals);
      throw new Error('expected a UsageError');
    } catch (e) {
      expect((e as Error).message).toBe('this command takes no positional arguments');
    }
  });

  it('clips a very long unknown option name', () => {
    expect(usageError(['t', '--name', 'n', `--${'z'.repeat(5000)}`]).length).toBeLessThan(80);
  });

  it('skips the required checks when --help is given', () => {
    expect(parseCommandArgs(['--help'], spec).values.help).toBe(true);
  });
});

describe('defineCommand', () => {
  it('prints help on stdout with every option', async () => {
    const io = captureIo();
    const run = defineCommand(spec, async () => 0);
    expect(await run(['-h'], io)).toBe(0);
    const help = io.out.join('');
    expect(help).toBe(helpText(spec));
    expect(help).toContain('--name N');
    expect(help).toContain('(required)');
    expect(help).toContain('-h, --help');
  });

  it('turns a usage error into exit 2 and one line pointing to --help', async () => {
    const io = captureIo();
    const run = defineCommand(spec, async () => 0);
    expect(await run(['t'], io)).toBe(2);
    expect(io.err.join('')).toBe(
      "keybound sample: missing required option --name; see 'keybound sample --help'\n",
    );
  });

  it('turns a failure in the command into exit 1 and one line', async () => {
    const io = captureIo();
    const run = defineCommand(spec, async () => {
      throw new Error('it broke\nover two lines');
    });
    expect(await run(['t', '--name', 'n'], io)).toBe(1);
    expect(io.err.join('')).toBe('keybound sample: it broke over two lines\n');
  });
});
