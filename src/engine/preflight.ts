/**
 * Checks made before the engine changes anything: the database is DomainFlow at a clean golang-
 * migrate state, the role can do what consolidation does, and no other app depends on what moves.
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';

export async function preflight(c: pg.ClientBase, opts: { requireLegacy: boolean }): Promise<void> {
  const sm = await c.query(`SELECT to_regclass('public.schema_migrations') IS NOT NULL AS ok`);
  if (!sm.rows[0]?.ok)
    throw new DfcError(
      'CONSOLIDATION_01',
      'this is not a DomainFlow database: public.schema_migrations does not exist',
      {
        fix: 'check --database-url / DATABASE_URL points at the DomainFlow database',
      },
    );
  const v = await c.query<{ version: string; dirty: boolean }>(
    'SELECT version, dirty FROM public.schema_migrations',
  );
  const row = v.rows[0];
  if (!row || row.dirty || Number(row.version) !== 17)
    throw new DfcError(
      'CONSOLIDATION_01',
      `migration state is ${row ? `version ${row.version}${row.dirty ? ' (dirty)' : ''}` : 'empty'}; consolidation needs 000017 applied and clean`,
      {
        fix: row?.dirty
          ? 'fix the failed migration, then `dfc migrate force V`'
          : 'apply the history first: `dfc migrate up --legacy`',
      },
    );
  const su = await c.query<{ ok: boolean; name: string }>(
    'SELECT rolsuper AS ok, rolname AS name FROM pg_roles WHERE rolname = current_user',
  );
  if (!su.rows[0]?.ok)
    throw new DfcError('DFC_PRIVILEGE', `role "${su.rows[0]?.name}" is not a superuser`, {
      fix: 'run consolidation as a superuser (it needs session_replication_role to apply captured changes without firing triggers twice)',
    });
  if (opts.requireLegacy) {
    const t = await c.query(`SELECT to_regclass('public.generated_domains') IS NOT NULL AS ok`);
    if (!t.rows[0]?.ok)
      throw new DfcError('CONSOLIDATION_01', 'the legacy table public.generated_domains is missing', {
        fix: 'run `dfc validate` to see how this database differs from DomainFlow 000017',
      });
  }
}
