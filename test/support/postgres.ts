// Throwaway PostgreSQL databases for tests, on the server at POSTGRES_URL: name them with
// uniqueDatabaseName() from ./services.js, create them before the tests and drop them after.
import pg from 'pg';
import { POSTGRES_URL } from './services.js';

async function administer(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** Creates the database and returns its URL (POSTGRES_URL with the database name as its path). */
export async function createDatabase(name: string): Promise<string> {
  await administer(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the database if it exists, closing the connections still open on it. */
export async function dropDatabase(name: string): Promise<void> {
  await administer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
