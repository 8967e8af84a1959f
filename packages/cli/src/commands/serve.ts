// keybound serve: the authorization server, a DPoP-protected demo API and the /demo page on one
// port, on embedded defaults (SQLite under ./.keybound, in-memory replay store, generated signing
// key, demo clients and user), or on PostgreSQL and Redis for several instances. Runs until SIGINT
// or SIGTERM, then closes the listener, the database and Redis, and exits 0.
import { defineCommand } from '../args.js';
import { type CommandIo, EXIT } from '../io.js';
import { banner, keyboundCommand } from '../serve/banner.js';
import { loadServeConfig } from '../serve/load-serve-config.js';
import { type RunningServe, type StartServeOptions, startServe } from '../serve/start-serve.js';

export interface ServeRunOptions extends StartServeOptions {
  /** Stops the server when aborted (tests); SIGINT and SIGTERM always do. */
  signal?: AbortSignal;
  /** Called once listening (tests). */
  onListening?: (running: RunningServe) => void;
}

/** Resolves when stopped by SIGINT, SIGTERM or `signal`. */
function untilStopped(signal: AbortSignal | undefined): { stopped: Promise<string>; dispose: () => void } {
  let resolveStop: (why: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    resolveStop = resolve;
  });
  const onSigint = () => resolveStop('SIGINT');
  const onSigterm = () => resolveStop('SIGTERM');
  const onAbort = () => resolveStop('stop requested');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  return {
    stopped,
    // a second signal while closing gets the default action (the process ends at once)
    dispose: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export async function runServe(
  values: Record<string, string | boolean | undefined>,
  io: CommandIo,
  options: ServeRunOptions = {},
): Promise<number> {
  const config = await loadServeConfig(values, io);
  const log = options.log ?? ((line: string) => io.stdout.write(`${line}\n`));
  const stop = untilStopped(options.signal);
  let running: RunningServe;
  try {
    running = await startServe(config, { ...options, log });
  } catch (e) {
    stop.dispose();
    throw e;
  }
  io.stdout.write(banner(running, keyboundCommand(io.env)));
  options.onListening?.(running);
  const why = await stop.stopped;
  stop.dispose();
  io.stdout.write(
    `keybound serve: ${why}: closing the listener${running.replay === 'memory' ? ' and the storage' : ', the storage and Redis'}\n`,
  );
  await running.close();
  io.stdout.write('keybound serve: stopped\n');
  return EXIT.ok;
}

export const run = defineCommand(
  {
    name: 'serve',
    synopsis: '[--port N] [--config FILE] [--database postgres://…] [--redis redis://…]',
    description:
      'Runs an OAuth authorization server that issues DPoP-bound tokens, a demo API that accepts them\n' +
      'only with their key (@keybound/resource-server), and the /demo page, on one port. Defaults are\n' +
      'embedded: SQLite in ./.keybound, in-memory replay store, generated signing key, demo clients and\n' +
      'a demo user. Prints the URLs and curl lines to try; SIGINT or SIGTERM stop it (exit 0).',
    options: {
      port: {
        type: 'string',
        valueName: 'N',
        description: 'port to listen on (default 4000; 0 picks a free one)',
      },
      config: {
        type: 'string',
        valueName: 'FILE',
        description: 'configuration file, YAML or JSON (default: keybound.config.yaml here, if present)',
      },
      database: {
        type: 'string',
        valueName: 'URL',
        description: 'PostgreSQL for the authorization server (postgres://…) instead of SQLite',
      },
      redis: {
        type: 'string',
        valueName: 'URL',
        description: 'Redis (redis://…) as the replay store shared by the authorization server and the API',
      },
    },
    epilog:
      'configuration: see keybound.config.example.yaml in @keybound/cli (sections server,\n' +
      'authorization_server, api, demo); secrets as env:NAME or file:PATH references.\n' +
      'exit codes: 0 stopped by a signal, 1 could not start (port in use, database or Redis\n' +
      'unreachable), 2 usage or configuration error (the message names the field).',
  },
  async ({ values }, io) => runServe(values, io),
);
