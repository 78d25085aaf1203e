/**
 * golang-migrate's bookkeeping, byte for byte, so DomainFlow's Go service (and `migrate` itself)
 * keep working on databases we touch:
 *
 *   CREATE TABLE IF NOT EXISTS "<current_schema>"."schema_migrations"
 *     (version bigint not null primary key, dirty boolean not null)
 *
 * Exactly one row; SetVersion = TRUNCATE + INSERT in one transaction; no version (nil, -1) is an
 * empty table unless dirty, when (-1, true) is written (golang-migrate#330). The advisory lock id
 * is golang-migrate's GenerateAdvisoryLockId(dbname, schema, table):
 * crc32("schema\0table\0dbname") × 1486364155 as uint32.
 */
import { crc32 } from 'node:zlib';
import type pg from 'pg';
import { inTransaction, query } from '../db/connection.js';
import { DfcError, sqlstate } from '../errors.js';
import { ident, type SqlFragment, sql } from '../sql/sql.js';

export const MIGRATIONS_TABLE = 'schema_migrations';
/** golang-migrate's database.NilVersion */
export const NIL_VERSION = -1;

const ADVISORY_LOCK_SALT = 1486364155;

/**
 * golang-migrate's advisory lock id (database/util.go GenerateAdvisoryLockId): the names joined
 * with NUL, additional names first and the database name last, crc32 (IEEE), times the salt,
 * wrapped to uint32, as a decimal string.
 *
 * @example
 *   golangMigrateLockId('domainflow', 'public', 'schema_migrations') // crc32("public\0schema_migrations\0domainflow") × salt
 */
export function golangMigrateLockId(databaseName: string, ...additionalNames: string[]): string {
  const text = additionalNames.length > 0 ? [...additionalNames, databaseName].join('\u0000') : databaseName;
  const sum = crc32(Buffer.from(text, 'utf8'));
  return String(Number((BigInt(sum) * BigInt(ADVISORY_LOCK_SALT)) & 0xffffffffn));
}

export const versionTable = (schema: string): SqlFragment => ident({ schema, name: MIGRATIONS_TABLE });

/** Create the table unless it exists (checked first, so a role without CREATE can still read it). */
export async function ensureVersionTable(c: pg.ClientBase, schema: string): Promise<void> {
  const r = await query(
    c,
    sql`SELECT 1 FROM information_schema.tables WHERE table_schema = ${schema} AND table_name = ${MIGRATIONS_TABLE}`,
  );
  if (r.rowCount) return;
  await query(
    c,
    sql`CREATE TABLE IF NOT EXISTS ${versionTable(schema)} (version bigint not null primary key, dirty boolean not null)`,
  );
}

export interface VersionState {
  /** null = no version (golang-migrate's NilVersion) */
  version: number | null;
  dirty: boolean;
}

/** The current (version, dirty); a missing table is no version. More than one row is refused. */
export async function readVersion(c: pg.ClientBase, schema: string): Promise<VersionState> {
  let rows: { version: string; dirty: boolean }[];
  try {
    rows = (
      await query<{ version: string; dirty: boolean }>(
        c,
        sql`SELECT version, dirty FROM ${versionTable(schema)}`,
      )
    ).rows;
  } catch (e) {
    if (sqlstate(e) === '42P01') return { version: null, dirty: false };
    throw e;
  }
  if (rows.length > 1) {
    throw new DfcError(
      'DFC_DIRTY',
      `${schema}.${MIGRATIONS_TABLE} has ${rows.length} rows; it must have one`,
      {
        fix: 'something other than a migration tool wrote to it; find the true version and run `dfc migrate force V`',
        details: { versions: rows.map((r) => Number(r.version)) },
      },
    );
  }
  const row = rows[0];
  if (!row) return { version: null, dirty: false };
  const v = Number(row.version);
  return { version: v === NIL_VERSION ? null : v, dirty: row.dirty };
}

/** TRUNCATE + INSERT, in the caller's transaction. */
export async function writeVersion(
  c: pg.ClientBase,
  schema: string,
  version: number | null,
  dirty: boolean,
): Promise<void> {
  await query(c, sql`TRUNCATE ${versionTable(schema)}`);
  if (version !== null || dirty) {
    await query(
      c,
      sql`INSERT INTO ${versionTable(schema)} (version, dirty) VALUES (${String(version ?? NIL_VERSION)}, ${dirty})`,
    );
  }
}

/** golang-migrate's SetVersion: its own transaction. */
export async function setVersion(
  c: pg.ClientBase,
  schema: string,
  version: number | null,
  dirty: boolean,
): Promise<void> {
  await inTransaction(c, () => writeVersion(c, schema, version, dirty));
}
