// @keybound/cli: the `keybound` command, importable for tests and for tools that embed it.
export {
  CommandError,
  type CommandSpec,
  clip,
  defineCommand,
  helpText,
  type OptionSpec,
  type ParsedArgs,
  parseCommandArgs,
  stringOption,
  UsageError,
} from './args.js';
export { COMMANDS, type CommandEntry } from './commands/index.js';
export { type CommandIo, type CommandRun, EXIT, type Output } from './io.js';
export { main, usage } from './main.js';
