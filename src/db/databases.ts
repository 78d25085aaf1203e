/**
 * Whole databases on a server: the demo, the benchmarks and verify's scratch install each need a
 * fresh one. `serverUrl` is any URL on the server; databases are created from its `postgres` db.
 */
import type pg from 'pg';
import { quoteIdent } from '../sql/sql.js';
import { withClient } from './connection.js';

/** The same server URL pointing at another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Whether the server can `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+). */
export async function canForceDrop(c: pg.ClientBase): Promise<boolean> {
  const r = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(r.rows[0]!.v) >= 130000;
}

/**
 * Drop a database whoever is connected to it: WITH (FORCE) where the server has it; on 12, its
 * other sessions are terminated first (same effect, one race wider: a new connection in between
 * makes the DROP fail rather than hang).
 */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withClient(databaseUrl(serverUrl, 'postgres'), async (c) => {
    if (await canForceDrop(c)) {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      return;
    }
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
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
