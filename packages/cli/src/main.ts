// keybound's entry: picks the command from the table in commands/index.ts and runs it.
import { readFileSync } from 'node:fs';
import { clip } from './args.js';
import { COMMANDS } from './commands/index.js';
import { type CommandIo, EXIT } from './io.js';

export function usage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 3;
  return [
    'usage: keybound <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n]!.summary}`),
    '',
    "'keybound <command> --help' shows a command's options.",
    '',
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  // `keybound help proof` is `keybound proof --help`
  const [command, args] = name === 'help' && rest[0] !== undefined ? [rest[0], ['--help']] : [name, rest];
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    io.stderr.write(`keybound: unknown command '${clip(command)}'; see 'keybound --help'\n`);
    return EXIT.usage;
  }
  const { run } = await entry.load();
  return run(args, io);
}
