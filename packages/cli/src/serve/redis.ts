// The Redis connection serve shares between the authorization server's and the API's replay
// stores (ioredis is imported here only: the other packages take any connected client).
import { Redis } from 'ioredis';
import { CommandError } from '../args.js';

/** A URL without its user name and password, for messages and the banner. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Connects, or throws a CommandError naming the server (not the password). Commands fail fast
 * while the connection is down (no offline queue): the replay stores then answer 503, fail closed.
 */
export async function connectRedis(url: string, log: (line: string) => void): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
  });
  let lastLogged = 0;
  client.on('error', (e: Error) => {
    const now = Date.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    log(`Redis ${redactUrl(url)}: ${e.message}`);
  });
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    throw new CommandError(`cannot connect to Redis at ${redactUrl(url)}: ${(e as Error).message}`);
  }
  return client;
}
