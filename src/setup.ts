/**
 * `dfc setup`: the tool's own schemas (consolidation, monitoring, safety, benchmarks) on an existing
 * DomainFlow database, so the guide's "Installation and Setup" calls and the Appendix queries work
 * before any consolidation. Idempotent; creates nothing outside those schemas. The database is read
 * first and refused, unchanged, when it is not DomainFlow, is at a migration version dfc does not
 * know, or already holds a schema of ours that other tooling made.
 */
import type pg from 'pg';
import { type BookkeepingResult, ensureBookkeeping } from './bookkeeping.js';
import { withClient } from './db/connection.js';
import { DfcError } from './errors.js';
import { LEGACY_DIR, loadMigrations } from './migrate/runner.js';
import { EXPECTED_MIGRATION_VERSION } from './validate/checks.js';

/** Schemas dfc owns beside `consolidation`; finding one without our ledger means someone else made it. */
const OWN_SCHEMAS = ['monitoring', 'safety', 'benchmarks'];

export interface SetupReport extends BookkeepingResult {
  /** what the database is: the legacy history at `migrationVersion`, or schema v2 */
  schema: 'legacy' | 'v2';
  migrationVersion: number;
}

interface DatabaseShape {
  schema: 'legacy' | 'v2';
  migrationVersion: number;
}

/** Which DomainFlow this is, or a coded refusal. Reads only. */
export async function domainFlowShape(c: pg.ClientBase): Promise<DatabaseShape> {
  const r = await c.query<{ sm: boolean; core: boolean; v2: boolean }>(
    `SELECT to_regclass('public.schema_migrations') IS NOT NULL AS sm,
            (to_regclass('public.campaigns') IS NOT NULL AND to_regclass('public.generated_domains') IS NOT NULL) AS core,
            to_regclass('public.schema_version_info') IS NOT NULL AS v2`,
  );
  const f = r.rows[0]!;
  if (!f.sm || !f.core)
    throw new DfcError(
      'CONSOLIDATION_01',
      `this is not a DomainFlow database: ${f.sm ? 'public.campaigns / public.generated_domains are missing' : 'public.schema_migrations does not exist'}; nothing was changed`,
      {
        fix: 'point --database-url (or DATABASE_URL) at the DomainFlow database; a new database gets v2 and the bookkeeping with `dfc install`',
      },
    );
  const v = await c.query<{ version: string; dirty: boolean }>(
    'SELECT version, dirty FROM public.schema_migrations ORDER BY version DESC',
  );
  const row = v.rows[0];
  const version = row ? Number(row.version) : Number.NaN;
  if (!row || v.rows.length !== 1 || row.dirty)
    throw new DfcError(
      row?.dirty ? 'DFC_DIRTY' : 'CONSOLIDATION_01',
      row?.dirty
        ? `migration ${row.version} failed part-way (schema_migrations is dirty); nothing was changed`
        : `schema_migrations holds ${v.rows.length} rows (golang-migrate keeps exactly one); nothing was changed`,
      {
        fix: row?.dirty
          ? 'repair what that migration left half-done, then `dfc migrate force V`, then rerun `dfc setup`'
          : 'repair schema_migrations by hand (one row: the applied version), then rerun `dfc setup`',
      },
    );
  if (f.v2) {
    if (version !== EXPECTED_MIGRATION_VERSION)
      throw unknownVersion(version, 'schema v2 at golang-migrate 17');
    return { schema: 'v2', migrationVersion: version };
  }
  const known = loadMigrations(LEGACY_DIR).map((m) => m.version);
  if (!known.includes(version))
    throw unknownVersion(
      version,
      `the legacy history (${known.map((n) => String(n).padStart(6, '0')).join(', ')})`,
    );
  return { schema: 'legacy', migrationVersion: version };
}

function unknownVersion(version: number, known: string): DfcError {
  return new DfcError(
    'CONSOLIDATION_01',
    `the database is at migration ${version}, which dfc does not know (it knows ${known}); nothing was changed`,
    {
      fix: 'use the dfc release that matches this DomainFlow version, or bring the database to a version this one knows',
    },
  );
}

/** A schema named like ours that predates our ledger (e.g. the upstream consolidation scripts' `safety`). */
async function assertOwnSchemasFree(c: pg.ClientBase): Promise<void> {
  const r = await c.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
      WHERE nspname = ANY ($1::text[]) AND to_regclass('consolidation.bookkeeping_version') IS NULL ORDER BY 1`,
    [OWN_SCHEMAS],
  );
  if (r.rows.length === 0) return;
  const names = r.rows.map((x) => x.nspname);
  throw new DfcError(
    'DFC_CONFIG',
    `schema ${names.join(', ')} exists but was not created by dfc (consolidation.bookkeeping_version is absent); nothing was changed`,
    {
      fix: `rename it (ALTER SCHEMA ${names[0]} RENAME TO ${names[0]}_old) or drop it if it is left over from the upstream consolidation scripts, then rerun \`dfc setup\``,
      details: { schemas: names },
    },
  );
}

/**
 * Install or upgrade dfc's bookkeeping on an existing DomainFlow database (legacy or v2).
 *
 * @example
 *   const r = await setupBookkeeping('postgresql://dba@db/domainflow');
 *   // { schema: 'legacy', migrationVersion: 17, applied: [1, 2, 3, 4, 5], version: 5, ... }
 *   // then, in psql: SELECT safety.setup_standard_integrity_checks();
 */
export async function setupBookkeeping(url: string): Promise<SetupReport> {
  return withClient(
    url,
    async (c) => {
      const shape = await domainFlowShape(c);
      await assertOwnSchemasFree(c);
      const r = await ensureBookkeeping(c);
      return { ...shape, ...r };
    },
    'dfc-setup',
  );
}
