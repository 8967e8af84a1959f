// Gates for tests that run real programs (nginx, curl, openssl, redis-server, redis-cli). Locally a
// missing program skips those tests with a message saying how to install it; under CI=true it fails
// the test file.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Tool = 'nginx' | 'curl' | 'openssl' | 'redis-server' | 'redis-cli';

const INSTALL: Record<Tool, string> = {
  nginx: 'apt-get install -y nginx-light',
  curl: 'apt-get install -y curl',
  openssl: 'apt-get install -y openssl',
  'redis-server': 'apt-get install -y redis-server',
  'redis-cli': 'apt-get install -y redis-tools',
};

/** The absolute path of a program on PATH (nginx also in /usr/sbin, where Debian puts it). */
export function findTool(tool: Tool): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, tool);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

/**
 * Resolves the paths of the programs when all are installed. When one is not: throws under
 * CI=true, otherwise prints how to install it and returns undefined (use with describe.skipIf).
 */
export function toolsAvailable<T extends Tool>(...tools: T[]): Record<T, string> | undefined {
  const found = {} as Record<T, string>;
  const missing: T[] = [];
  for (const tool of tools) {
    const path = findTool(tool);
    if (path === undefined) missing.push(tool);
    else found[tool] = path;
  }
  if (missing.length === 0) return found;
  const how = missing.map((t) => INSTALL[t]).join(' && ');
  if (process.env.CI === 'true')
    throw new Error(
      `${missing.join(', ')} required under CI=true but not installed; ${how} (or run bash .ci/run)`,
    );
  console.warn(`skipping the tests that run ${missing.join(', ')}: not installed; ${how}`);
  return undefined;
}
