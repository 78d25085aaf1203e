/**
 * `dfc install`: schema v2 on an empty database, for new DomainFlow installs that skip the legacy
 * history. One transaction (all of v2 or nothing), then golang-migrate's schema_migrations at
 * (17, false) so DomainFlow's own 000018+ migrations apply on top. A database that already holds
 * DomainFlow objects is refused: that is `dfc consolidate`'s job, and install never drops anything.
 */
import type pg from 'pg';
import { ensureBookkeeping } from './bookkeeping.js';
import { connect } from './db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from './db/lock.js';
import { DfcError, serverFields } from './errors.js';
import { renderInstallSql } from './schema/v2/render.js';

export interface InstallReport {
  tables: number;
  materializedViews: number;
  views: number;
  indexes: number;
  triggers: number;
  functions: number;
  constraints: number;
  migrationVersion: number;
  /** highest db/bookkeeping version installed beside v2 (the guide's setup calls work right away) */
  bookkeepingVersion: number;
  seconds: number;
}

/** Relations, functions and types of public/auth that no extension owns: anything here means "not empty". */
const EXISTING_OBJECTS = `
SELECT n.nspname || '.' || c.relname AS name
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT n.nspname || '.' || p.proname || '()'
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('public', 'auth')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
LIMIT 11`;

/** Throws DFC_CONFIG naming what is there when public/auth are not empty. */
export async function assertEmpty(c: pg.ClientBase): Promise<void> {
  const r = await c.query<{ name: string }>(EXISTING_OBJECTS);
  if (r.rows.length === 0) return;
  const names = r.rows.slice(0, 10).map((x) => x.name);
  const df = await c.query<{ domainflow: boolean }>(
    `SELECT (to_regclass('public.campaigns') IS NOT NULL OR to_regclass('auth.users') IS NOT NULL
             OR to_regclass('public.schema_migrations') IS NOT NULL) AS domainflow`,
  );
  const domainflow = Boolean(df.rows[0]?.domainflow);
  throw new DfcError(
    'DFC_CONFIG',
    `the database is not empty: ${names.join(', ')}${r.rows.length > 10 ? ', …' : ''}`,
    {
      fix: domainflow
        ? 'this database already holds DomainFlow: use `dfc validate` then `dfc consolidate` to move it to v2 online; install is only for new databases'
        : 'point --database-url at a new, empty database (CREATE DATABASE ...); install never drops or alters existing objects',
      details: { objects: names },
    },
  );
}

/** Catalog figures of the installed schema (public + auth, extension objects excluded). */
export async function v2CatalogCounts(
  c: pg.ClientBase,
): Promise<Omit<InstallReport, 'migrationVersion' | 'bookkeepingVersion' | 'seconds'>> {
  const r = await c.query(`
    WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('public', 'auth')),
    ext AS (SELECT objid FROM pg_catalog.pg_depend WHERE deptype = 'e')
    SELECT
      (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns) AND relkind = 'r')::int AS tables,
      (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns) AND relkind = 'm')::int AS "materializedViews",
      (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns) AND relkind = 'v')::int AS views,
      (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns) AND relkind = 'i')::int AS indexes,
      (SELECT count(*) FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace IN (SELECT oid FROM ns) AND NOT t.tgisinternal)::int AS triggers,
      (SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace IN (SELECT oid FROM ns) AND oid NOT IN (SELECT objid FROM ext))::int AS functions,
      (SELECT count(*) FROM pg_catalog.pg_constraint WHERE connamespace IN (SELECT oid FROM ns) AND contype IN ('p', 'u', 'f', 'c'))::int AS constraints`);
  return r.rows[0];
}

/**
 * Install schema v2 into the (empty) database at `url`.
 *
 * @example
 *   const report = await installV2('postgresql://app@db/domainflow_new');
 *   // { tables: 33, materializedViews: 3, ..., migrationVersion: 17 }
 */
export async function installV2(url: string): Promise<InstallReport> {
  const started = process.hrtime.bigint();
  const sqlText = renderInstallSql();
  const c = await connect(url, 'dfc-install');
  let bookkeepingVersion = 0;
  try {
    // the consolidation lock: an install and a consolidation never run on one database at once
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    try {
      await c.query('BEGIN');
      try {
        await assertEmpty(c);
        await c.query(sqlText);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        if (e instanceof DfcError) throw e;
        const server = serverFields(e);
        throw new DfcError(
          'DFC_MIGRATION',
          `installing schema v2 failed: ${e instanceof Error ? e.message : String(e)}`,
          {
            fix:
              server?.sqlstate === '42501'
                ? 'connect as a role that may CREATE EXTENSION (uuid-ossp, pgcrypto), CREATE SCHEMA and CREATE ROLE, or have an administrator create them first'
                : 'nothing was installed (one transaction); fix the cause above and rerun `dfc install`',
            cause: e,
          },
        );
      }
      // its own transactions (one per file), after v2 committed: v2 alone is already a valid install
      bookkeepingVersion = await ensureBookkeeping(c)
        .then((r) => r.version)
        .catch((e) => {
          throw new DfcError(
            e instanceof DfcError ? e.code : 'DFC_MIGRATION',
            `schema v2 is installed, but dfc's bookkeeping schemas were not: ${e instanceof Error ? e.message : String(e)}`,
            {
              fix: 'fix the cause above, then run `dfc setup` (install would now refuse the non-empty database)',
              cause: e,
            },
          );
        });
    } finally {
      await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    }
    const counts = await v2CatalogCounts(c);
    const v = await c.query<{ version: string; dirty: boolean }>(
      'SELECT version, dirty FROM public.schema_migrations',
    );
    const row = v.rows[0];
    if (v.rows.length !== 1 || !row || Number(row.version) !== 17 || row.dirty)
      throw new DfcError('DFC_INTERNAL', 'schema_migrations is not (17, false) after install', {
        fix: 'report this; the installed schema is otherwise complete',
      });
    return {
      ...counts,
      migrationVersion: 17,
      bookkeepingVersion,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } finally {
    await c.end().catch(() => {});
  }
}
