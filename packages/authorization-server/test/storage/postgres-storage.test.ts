import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { POSTGRES_URL, serviceAvailable, uniqueDatabaseName } from '../../../../test/support/services.js';
import { createPostgresStorage } from '../../src/storage/postgres-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { storageContract } from './storage-contract.js';

const available = await serviceAvailable('postgres');
const database = uniqueDatabaseName('as_storage');
const opened: Storage[] = [];
let url = '';

async function open(): Promise<Storage> {
  const s = createPostgresStorage({ connectionString: url, max: 4 });
  opened.push(s);
  await s.migrate();
  return s;
}

describe.skipIf(!available)('PostgreSQL storage (a real database)', () => {
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const u = new URL(POSTGRES_URL);
    u.pathname = `/${database}`;
    url = u.toString();
  });

  afterAll(async () => {
    for (const s of opened) await s.close();
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  // every test shares the file's database: the contract tests use unique ids
  storageContract(open, open);
});
