// What a command may touch: output streams, the environment and the working directory. The CLI
// is the only part of keybound that reads argv, env and files; commands get them through here so
// that tests run them in-process.

/** Anything with write(string): process.stdout, or a buffer in tests. */
export interface Output {
  write(chunk: string): unknown;
}

export interface CommandIo {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
  /** Relative file names given on the command line are resolved against this directory. */
  cwd: string;
  /**
   * Standard input, read whole, for a value given as `-` (a token kept out of argv, where `ps` and
   * shell history would show it). Absent: `-` is refused as a usage error.
   */
  stdin?: Readable | undefined;
}

/** What standard input needs to offer: an async iterable of chunks (process.stdin, a Readable). */
export type Readable = AsyncIterable<string | Uint8Array>;

/** A command: arguments after its name, resolves with the process exit code. */
export type CommandRun = (argv: readonly string[], io: CommandIo) => Promise<number>;

/** Exit codes shared by every command. */
export const EXIT = {
  /** Done; for checks (inspect), the input is valid. */
  ok: 0,
  /** Ran, and the answer is no (invalid input, a demo step misbehaved) or an operation failed. */
  failed: 1,
  /** Called wrongly: unknown or repeated option, missing value, unreadable file named by an option. */
  usage: 2,
} as const;
