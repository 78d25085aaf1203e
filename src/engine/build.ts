/**
 * Phase 2/3 building blocks on the shadow: tables (columns, defaults, primary key only, so the
 * copy is fast), then the primary key and each table's unique constraints and indexes as plain
 * builds in one transaction per table (the shadow is invisible to the application),
 * CHECKs and FKs added NOT VALID then VALIDATEd,
 * triggers, row-level security, comments, views and materialized views over the shadow.
 */
import type pg from 'pg';
import type { Session } from '../db/session.js';
import { DfcError } from '../errors.js';
import type { IndexDef, TableDef, V2Definition } from '../schema/v2/model.js';
import * as render from '../schema/v2/render.js';
import { build, ident, join, type SqlQuery, sql } from '../sql/sql.js';
import { type Rel, SHADOW_MAP, SHADOW_SCHEMA, shadowOf } from './names.js';

/** Every table of v2: those consolidated from legacy and those new in v2. */
export const allTables = (v2: V2Definition): TableDef[] => [...v2.tables, ...v2.newTables];

/**
 * The statements of the shadow:create step, in order: fresh shadow schemas, then every table with
 * columns and defaults only, so the bulk copy goes into a heap with no index at all.
 */
export function shadowCreateSql(v2: V2Definition): SqlQuery[] {
  const out: SqlQuery[] = [];
  for (const s of Object.values(SHADOW_SCHEMA)) {
    out.push(build(sql`DROP SCHEMA IF EXISTS ${ident(s)} CASCADE`));
    out.push(build(sql`CREATE SCHEMA ${ident(s)}`));
  }
  // defaults such as uuid_generate_v4() resolve through the extensions in public
  out.push(build(sql`SET LOCAL search_path = public`));
  for (const t of allTables(v2)) {
    out.push({ text: render.createTableSql(t, SHADOW_MAP, { constraints: 'none' }), values: [] });
    // no autovacuum on the shadow: a worker holding its lock would stall the cutover's moves
    // (it yields only after deadlock_timeout); the engine ANALYZEs itself, cutover resets this
    out.push(
      build(
        sql`ALTER TABLE ${ident(shadowOf(t))} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`,
      ),
    );
  }
  return out;
}

/** Drop the shadow schemas (the undo of shadow:create; abort). */
export function dropShadowSql(): SqlQuery[] {
  return Object.values(SHADOW_SCHEMA).map((s) => build(sql`DROP SCHEMA IF EXISTS ${ident(s)} CASCADE`));
}

/**
 * After the copy: remove every row whose key was captured (only such rows can have been copied
 * twice, by a block walk that met both versions; the applier re-inserts them from the source),
 * then build the primary key — a plain CREATE INDEX, since nobody else uses the shadow. Runs in
 * its step's transaction, so a crash leaves no half-built key behind.
 */
export async function attachPrimaryKey(
  c: pg.ClientBase,
  t: TableDef,
  legacySource: Rel | null,
): Promise<number> {
  const target = shadowOf(t);
  if (await constraintExists(c, target.schema, t.name, t.primaryKey.name)) return 0;
  try {
    let removed = 0;
    if (legacySource) {
      const pk = t.primaryKey.columns;
      const name = `${t.legacy.schema}.${t.legacy.name}`;
      const match = join(
        pk.map((col) => sql`d.${ident(col)} = r.${ident(col)}`),
        ' AND ',
      );
      const r = await c.query(
        build(sql`WITH keys AS (
           SELECT old_key AS k FROM consolidation.capture_log WHERE direction = 'forward' AND table_name = ${name} AND old_key IS NOT NULL
           UNION SELECT new_key FROM consolidation.capture_log WHERE direction = 'forward' AND table_name = ${name} AND new_key IS NOT NULL)
         DELETE FROM ${ident(target)} d USING keys, LATERAL jsonb_populate_record(NULL::${ident(legacySource)}, keys.k) r
          WHERE ${match}`),
      );
      removed = r.rowCount ?? 0;
    }
    await c.query(render.primaryKeySql(t, SHADOW_MAP));
    return removed;
  } catch (e) {
    throw new DfcError(
      'CONSOLIDATION_04',
      `building the primary key of the shadow ${t.schema}.${t.name} failed: ${e instanceof Error ? e.message : String(e)}`,
      {
        fix: 'rerun `dfc consolidate` (it resumes); if it fails again, `dfc consolidate abort` and report the message',
        cause: e,
      },
    );
  }
}

/** The table's existing indexes by name: valid or not (one catalog read per table). */
async function indexStates(c: pg.ClientBase, t: TableDef): Promise<Map<string, boolean>> {
  const r = await c.query<{ name: string; valid: boolean }>(
    `SELECT ic.relname AS name, i.indisvalid AND i.indisready AS valid FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)`,
    [build(ident(shadowOf(t))).text],
  );
  return new Map(r.rows.map((x) => [x.name, x.valid]));
}

export async function buildTableIndexes(c: pg.ClientBase, t: TableDef): Promise<number> {
  const schema = SHADOW_SCHEMA[t.schema];
  const target = shadowOf(t);
  const existing = await indexStates(c, t);
  let built = 0;
  for (const u of t.uniques) {
    if (existing.has(u.name) && (await constraintExists(c, target.schema, t.name, u.name))) continue;
    if (existing.has(u.name)) await c.query(build(sql`DROP INDEX ${ident({ schema, name: u.name })}`));
    await c.query(render.uniqueConstraintSql(t, u, SHADOW_MAP));
    built++;
  }
  for (const index of t.indexes) {
    const valid = existing.get(index.name);
    if (valid) continue;
    if (valid === false) await c.query(build(sql`DROP INDEX ${ident({ schema, name: index.name })}`));
    try {
      await c.query(indexBuildSql(t, index));
    } catch (e) {
      throw new DfcError(
        'CONSOLIDATION_04',
        `building index ${schema}.${index.name} failed: ${e instanceof Error ? e.message : String(e)}`,
        {
          fix: 'a unique index fails when the data has duplicates: run `dfc validate` for the offending rows, then rerun `dfc consolidate` (it resumes)',
          cause: e,
        },
      );
    }
    built++;
  }
  return built;
}

/** CREATE INDEX of one shadow index (plain: see buildTableIndexes). */
export function indexBuildSql(t: TableDef, index: IndexDef): string {
  return render.indexSql(t, index, SHADOW_MAP);
}

export async function constraintExists(
  c: pg.ClientBase,
  schema: string,
  table: string,
  name: string,
): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND k.conname = $3`,
    [schema, table, name],
  );
  return (r.rowCount ?? 0) > 0;
}

/** CHECK and FK constraints: NOT VALID (brief lock, no scan), then VALIDATE (scan, no write lock). */
export async function addConstraints(c: pg.ClientBase, t: TableDef, kind: 'check' | 'fk'): Promise<void> {
  const target = shadowOf(t);
  const items = kind === 'check' ? t.checks : t.foreignKeys;
  for (const item of items) {
    if (!(await constraintExists(c, target.schema, t.name, item.name))) {
      const text =
        kind === 'check'
          ? render.checkSql(t, item as TableDef['checks'][number], SHADOW_MAP, { notValid: true })
          : render.foreignKeySql(t, item as TableDef['foreignKeys'][number], SHADOW_MAP, { notValid: true });
      await c.query(text);
    }
    try {
      await c.query(build(sql`ALTER TABLE ${ident(target)} VALIDATE CONSTRAINT ${ident(item.name)}`));
    } catch (e) {
      throw new DfcError(
        'CONSOLIDATION_04',
        `constraint ${t.schema}.${t.name}.${item.name} does not hold on the copied data`,
        {
          fix: 'run `dfc validate` to list the offending rows, fix them (or rerun with --on-invalid quarantine), then rerun `dfc consolidate` (it resumes)',
          cause: e,
        },
      );
    }
  }
}

/**
 * RLS and comments on a shadow table (idempotent: policies are replaced; in its step's transaction). Triggers are created
 * at cutover, after the v2 functions they call exist (creating those earlier would change the
 * legacy tables' trigger behaviour before the switch).
 */
export async function finishShadowTable(c: pg.ClientBase, t: TableDef): Promise<void> {
  const target = ident(shadowOf(t));
  if (t.rowLevelSecurity?.enabled) {
    await c.query(build(sql`ALTER TABLE ${target} ENABLE ROW LEVEL SECURITY`));
    for (const p of t.rowLevelSecurity.policies) {
      await c.query(build(sql`DROP POLICY IF EXISTS ${ident(p.name)} ON ${target}`));
      await c.query(render.policySql(t, p, SHADOW_MAP));
    }
  }
  const comments = render.commentSql(t, SHADOW_MAP);
  if (comments) await c.query(comments);
}

/** Views and materialized views over the shadow tables, in the step's transaction (they bind to the shadow tables' OIDs and move with them). */
export async function createShadowViews(c: pg.ClientBase, v2: V2Definition): Promise<void> {
  {
    await c.query(build(sql`SET LOCAL search_path = ${ident(SHADOW_SCHEMA.public)}, public`));
    // a run killed after this committed but before it was recorded must be able to redo it
    const existing = await c.query<{ schema: string; name: string; kind: string }>(
      `SELECT n.nspname AS schema, cl.relname AS name, cl.relkind AS kind FROM pg_class cl
         JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = ANY ($1) AND cl.relkind IN ('v','m')`,
      [Object.values(SHADOW_SCHEMA)],
    );
    for (const v of existing.rows)
      await c.query(
        build(
          v.kind === 'm'
            ? sql`DROP MATERIALIZED VIEW IF EXISTS ${ident(v)} CASCADE`
            : sql`DROP VIEW IF EXISTS ${ident(v)} CASCADE`,
        ),
      );
    await c.query(v2.views(SHADOW_MAP));
  }
}

/**
 * REFRESH each materialized view, CONCURRENTLY where a unique index allows (readers are not
 * blocked), after a cutover or a rollback committed (the views missed the changes of the switch).
 * Each under the session's short lock waits, retried (a plain REFRESH's ACCESS EXCLUSIVE would
 * queue readers behind it), and retried on a catalog race with a GRANT made beside it.
 */
export async function refreshMaterializedViews(session: Session, views: readonly Rel[]): Promise<number> {
  if (views.length === 0) return 0;
  const unique = await session.client.query<{ unique_idx: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass(x.rel) AND i.indisunique) AS unique_idx
       FROM unnest($1::text[]) WITH ORDINALITY AS x(rel, n) ORDER BY x.n`,
    [views.map((v) => build(ident(v)).text)],
  );
  for (const [i, v] of views.entries())
    await session.retry(`refresh of ${v.schema}.${v.name}`, () =>
      session.query(
        unique.rows[i]?.unique_idx
          ? sql`REFRESH MATERIALIZED VIEW CONCURRENTLY ${ident(v)}`
          : sql`REFRESH MATERIALIZED VIEW ${ident(v)}`,
      ),
    );
  return views.length;
}
