// The demo's secrets, made on first start and kept in the data directory (mode 0600) so that a
// restart keeps them: the demo user's password, the demo service client's secret, and a DPoP key
// for `keybound proof --key` in the printed curl lines. Random, never built in: anything that can
// reach the port would otherwise know them.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPassword } from '@keybound/authorization-server';
import { exportPrivateJwk, generateDpopKey } from '@keybound/core';
import { CommandError } from '../args.js';

export const DEMO_SPA_CLIENT_ID = 'keybound-demo-spa';
export const DEMO_SERVICE_CLIENT_ID = 'keybound-demo-service';
export const CREDENTIALS_FILE = 'demo-credentials.json';
export const DEMO_KEY_FILE = 'demo-client-key.json';

export interface DemoCredentials {
  password: string;
  /** scrypt hash of the password (hashing takes ~0.1 s: done once, when the password is made). */
  passwordHash: string;
  serviceClientSecret: string;
  /** Absolute path of the demo service's DPoP key file (a private JWK). */
  keyFile: string;
}

interface StoredCredentials {
  password: string;
  password_hash: string;
  service_client_secret: string;
}

function isStored(v: unknown): v is StoredCredentials {
  const o = v as Record<string, unknown>;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof o.password === 'string' &&
    typeof o.password_hash === 'string' &&
    typeof o.service_client_secret === 'string' &&
    o.service_client_secret.length >= 32
  );
}

/** Writes `content` only if the file does not exist yet; resolves with what the file holds. */
async function createOnce(path: string, make: () => Promise<string>): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  const content = await make();
  try {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    return content;
  } catch (e) {
    // another serve process with the same data directory made it first
    if ((e as { code?: string }).code === 'EEXIST') return readFile(path, 'utf8');
    throw e;
  }
}

function unusable(path: string): CommandError {
  return new CommandError(`${path} is not usable: delete it, and serve makes new demo credentials`);
}

export async function loadOrCreateDemoCredentials(dataDir: string): Promise<DemoCredentials> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const credentialsPath = join(dataDir, CREDENTIALS_FILE);
  const text = await createOnce(credentialsPath, async () => {
    const password = randomBytes(12).toString('base64url');
    const stored: StoredCredentials = {
      password,
      password_hash: hashPassword(password),
      service_client_secret: randomBytes(32).toString('base64url'),
    };
    return `${JSON.stringify(stored, null, 2)}\n`;
  });
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    throw unusable(credentialsPath);
  }
  if (!isStored(stored)) throw unusable(credentialsPath);

  const keyFile = join(dataDir, DEMO_KEY_FILE);
  const keyText = await createOnce(keyFile, async () => {
    // a plain private JWK: `keybound proof --key` and @keybound/client/node's keyFromFile read it
    const key = await generateDpopKey('ES256', { extractable: true });
    return `${JSON.stringify({ ...(await exportPrivateJwk(key)), alg: 'ES256' }, null, 2)}\n`;
  });
  try {
    const parsed = JSON.parse(keyText) as { d?: unknown };
    if (typeof parsed.d !== 'string') throw new Error('no private key');
  } catch {
    throw unusable(keyFile);
  }
  return {
    password: stored.password,
    passwordHash: stored.password_hash,
    serviceClientSecret: stored.service_client_secret,
    keyFile,
  };
}
