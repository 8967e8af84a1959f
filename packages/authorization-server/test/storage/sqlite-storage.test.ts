import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../../src/storage/sqlite-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { storageContract } from './storage-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'kb-sqlite-'));
const opened: Storage[] = [];
let n = 0;
let shared: string | undefined;

async function openAt(path: string): Promise<Storage> {
  const s = createSqliteStorage({ path });
  opened.push(s);
  await s.migrate();
  return s;
}

afterAll(async () => {
  for (const s of opened) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite storage (a file)', () => {
  storageContract(
    async () => {
      shared = join(dir, `db-${++n}.sqlite`);
      return openAt(shared);
    },
    async () => openAt(shared!),
  );

  it('keeps everything across a close and reopen of the file', async () => {
    const path = join(dir, 'reopen.sqlite');
    const a = await openAt(path);
    await a.insertClient({ clientId: 'persisted', metadata: { x: 1 }, createdAt: 1 });
    await a.close();
    const b = await openAt(path);
    expect((await b.findClient('persisted'))?.metadata).toEqual({ x: 1 });
  });

  it('rolls back a transaction that fails and lets later statements run', async () => {
    const s = createSqliteStorage({ path: ':memory:' });
    opened.push(s);
    await s.migrate();
    await expect(
      s.driver.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO kb_grants (id, client_id, sub, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
          ['g', 'c', 's', 1, 2],
        );
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await s.findGrant('g')).toBeUndefined();
    await s.insertGrant({ id: 'g', clientId: 'c', sub: 's', createdAt: 1, expiresAt: 2 });
    expect(await s.findGrant('g')).toBeDefined();
  });
});
