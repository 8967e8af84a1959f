// Gates for tests that need a real Redis or PostgreSQL. Locally a missing service skips those
// tests with a message saying how to start it; under CI=true it fails the test file instead.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const REDIS_URL = process.env.KEYBOUND_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL =
  process.env.KEYBOUND_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const START: Record<Service, string> = {
  redis: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  postgres: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
};

type Service = 'redis' | 'postgres';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Resolves true when the service is reachable. When it is not: throws under CI=true, otherwise
 * prints how to start it and resolves false (use with describe.skipIf(!available)).
 */
export async function serviceAvailable(service: Service): Promise<boolean> {
  const ok = await reachable(service === 'redis' ? REDIS_URL : POSTGRES_URL);
  if (ok) return true;
  const how = `start it with: ${START[service]} (or run bash .ci/run)`;
  if (process.env.CI === 'true')
    throw new Error(`${service} is required under CI=true but is not reachable; ${how}`);
  console.warn(`skipping ${service} tests: ${service} is not reachable; ${how}`);
  return false;
}

/** A key prefix no other test file or run shares. */
export function uniquePrefix(name: string): string {
  return `kbtest:${name}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** A database name no other test file or run shares (create it yourself, drop it after). */
export function uniqueDatabaseName(name: string): string {
  return `kbtest_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
