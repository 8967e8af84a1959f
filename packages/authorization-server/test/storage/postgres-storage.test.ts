import { afterAll, beforeAll, describe } from 'vitest';
import { createDatabase, dropDatabase } from '../../../../test/support/postgres.js';
import { serviceAvailable, uniqueDatabaseName } from '../../../../test/support/services.js';
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
    url = await createDatabase(database);
  });

  afterAll(async () => {
    for (const s of opened) await s.close();
    await dropDatabase(database);
  });

  // every test shares the file's database: the contract tests use unique ids
  storageContract(open, open);
});
