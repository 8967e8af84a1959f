// From `keybound serve`'s options and configuration file to a validated ServeConfig: flags checked
// for form (exit 2 without echoing a URL that may hold a password), the file read, every section
// validated; all problems reported together, each naming its field.
import { clip, stringOption, UsageError } from '../args.js';
import type { CommandIo } from '../io.js';
import { loadConfigFile } from './config-file.js';
import { readServeConfig, type ServeConfig, type ServeFlags } from './serve-config.js';
import { checkServeConfig } from './start-serve.js';

function portOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, not '${clip(value)}'`);
  }
  return Number(value);
}

function urlOption(
  name: string,
  value: string | undefined,
  schemes: RegExp,
  example: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (!schemes.test(value) || !URL.canParse(value)) {
    // the value may hold a password: never echo it
    throw new UsageError(`--${name} must be a URL like ${example}`);
  }
  return value;
}

/** Reads and validates flags and the configuration file; exit 2 (UsageError) on any problem. */
export async function loadServeConfig(
  values: Record<string, string | boolean | undefined>,
  io: CommandIo,
): Promise<ServeConfig> {
  const flags: ServeFlags = {};
  const port = portOption(stringOption(values, 'port'));
  if (port !== undefined) flags.port = port;
  const database = urlOption(
    'database',
    stringOption(values, 'database'),
    /^postgres(ql)?:\/\//,
    'postgres://user@host:5432/db',
  );
  if (database !== undefined) flags.database = database;
  const redis = urlOption('redis', stringOption(values, 'redis'), /^rediss?:\/\//, 'redis://127.0.0.1:6379');
  if (redis !== undefined) flags.redis = redis;
  const file = await loadConfigFile(io, stringOption(values, 'config'));
  const { config, issues } = readServeConfig(file.value, {
    baseDir: file.baseDir,
    env: io.env,
    flags,
    file: file.file,
  });
  checkServeConfig(config, issues);
  return config;
}
