/**
 * Whole databases on a server: the demo, the benchmarks and verify's scratch install each need a
 * fresh one. `serverUrl` is any URL on the server; databases are created from its `postgres` db.
 */
import { quoteIdent } from '../sql/sql.js';
import { withClient } from './connection.js';

/** The same server URL pointing at another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** DROP DATABASE … WITH (FORCE) where the server has it (13+), plain DROP on 12. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withClient(databaseUrl(serverUrl, 'postgres'), async (c) => {
    await c
      .query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
      .catch(() => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`));
  });
}

/** Drop (if present) and create an empty database; returns its URL. */
export async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  await dropDatabase(serverUrl, name);
  await withClient(databaseUrl(serverUrl, 'postgres'), (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return databaseUrl(serverUrl, name);
}

/** The extensions DomainFlow's schemas need (000001 and 000015 create them too; v2's install expects them). */
export const DOMAINFLOW_EXTENSIONS_SQL =
  'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto';
