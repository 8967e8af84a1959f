// Argument parsing for every command: node:util parseArgs in strict mode, plus the rules parseArgs
// leaves out (an option given twice, positional counts). A usage problem becomes one line on stderr
// and exit code 2; `--help` prints the command's help on stdout.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type CommandIo, type CommandRun, EXIT } from './io.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help after the option name, e.g. FILE. */
  valueName?: string;
  description: string;
  required?: boolean;
}

export interface CommandSpec {
  /** As typed after `keybound`: 'proof', 'keys generate'. */
  name: string;
  /** What follows the name on the usage line. */
  synopsis: string;
  /** One or more lines saying what the command does. */
  description: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments accepted (default none). */
  positionals?: { min: number; max: number; names: string };
  /** Further help text (examples), printed last. */
  epilog?: string;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface ParsedArgs {
  values: OptionValues;
  positionals: string[];
}

/** The command was called wrongly: exit 2, message on one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed for a reason the user can act on: exit 1, message on one line. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

function parseConfig(spec: CommandSpec): ParseArgsConfig['options'] {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, o] of Object.entries({ ...spec.options, help: HELP })) {
    options[name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short };
  }
  return options;
}

/** Turns parseArgs' messages (several sentences, sometimes echoing values) into one short line. */
function usageMessage(error: Error & { code?: string }): string {
  // the first quoted part names the option: '--foo', '--htm <value>', '-h, --help'
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  const found = quoted
    .split(/[\s,]+/)
    .filter((t) => t.startsWith('-'))
    .pop();
  const option = found === undefined ? 'option' : clip(found);
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'this command takes no positional arguments';
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(error.message)) return `option ${option} takes no value`;
      if (/ambiguous/.test(error.message)) {
        return `option ${option} needs a value (for a value starting with '-', write ${option}=VALUE)`;
      }
      return `option ${option} needs a value`;
    default:
      return clip(error.message.split('\n')[0] ?? 'invalid arguments', 120);
  }
}

export function parseCommandArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const allowPositionals = (spec.positionals?.max ?? 0) > 0;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseConfig(spec),
      strict: true,
      allowPositionals,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError(usageMessage(e as Error));
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(`option --${token.name} given more than once`);
    seen.add(token.name);
  }
  const values = parsed.values as OptionValues;
  if (values.help === true) return { values, positionals: parsed.positionals };
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.required && values[name] === undefined) throw new UsageError(`missing required option --${name}`);
  }
  const count = parsed.positionals.length;
  const p = spec.positionals;
  if (p !== undefined && count < p.min) throw new UsageError(`missing ${p.names}`);
  if (p !== undefined && count > p.max) {
    throw new UsageError(
      `expected ${p.max === 1 ? 'one' : `at most ${p.max}`} ${p.names}, received ${count} arguments`,
    );
  }
  return { values, positionals: parsed.positionals };
}

export function helpText(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.valueName ? ` ${o.valueName}` : ''}`;
    return [flag, `${o.description}${o.required ? ' (required)' : ''}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = [
    `usage: keybound ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''}`,
    '',
    spec.description,
    '',
    'options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
  ];
  if (spec.epilog) lines.push('', spec.epilog);
  return `${lines.join('\n')}\n`;
}

/** One line naming the command, for stderr. Never includes tokens or proofs: callers pass safe text. */
function report(io: CommandIo, spec: CommandSpec, message: string, hint: boolean): void {
  const line = message.replace(/\s*\n\s*/g, ' ');
  io.stderr.write(`keybound ${spec.name}: ${line}${hint ? `; see 'keybound ${spec.name} --help'` : ''}\n`);
}

/**
 * Builds a command's run function: parses argv against `spec`, answers --help, runs `body`, and
 * turns UsageError into exit 2 and CommandError (or anything unexpected) into exit 1.
 */
export function defineCommand(
  spec: CommandSpec,
  body: (args: ParsedArgs, io: CommandIo) => Promise<number>,
): CommandRun & { spec: CommandSpec } {
  const run = async (argv: readonly string[], io: CommandIo): Promise<number> => {
    try {
      const args = parseCommandArgs(argv, spec);
      if (args.values.help === true) {
        io.stdout.write(helpText(spec));
        return EXIT.ok;
      }
      return await body(args, io);
    } catch (e) {
      if (e instanceof UsageError) {
        report(io, spec, e.message, true);
        return EXIT.usage;
      }
      report(io, spec, e instanceof Error ? e.message : String(e), false);
      return EXIT.failed;
    }
  };
  return Object.assign(run, { spec });
}

/** A string option's value (parseArgs gives strings for type 'string'). */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** At most `max` characters of user input, for messages. */
export function clip(value: string, max = 40): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
