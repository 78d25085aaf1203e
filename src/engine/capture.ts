/**
 * Change capture triggers. Installed on every legacy table before any row is copied (forward),
 * and on every v2 table at cutover (reverse, feeding the rollback copy). Each trigger only appends
 * the changed keys to consolidation.capture_log, so it cannot fail on a conversion problem and the
 * application's write never fails because of us.
 *
 * Statement-level triggers with transition tables: one trigger call per statement, one
 * INSERT … SELECT of just the key columns (bench/capture: a 100-row batch paid 3-4× with the
 * row trigger). Transition tables exist only on single-event triggers, so each table gets four,
 * all calling one generated function per table and direction:
 *   dfc_capture_<d>           AFTER INSERT  … REFERENCING NEW TABLE  (the name the row trigger had:
 *                             the released SQL of 0040 and older tools look it up by that name)
 *   dfc_capture_<d>_update    AFTER UPDATE  … REFERENCING OLD TABLE + NEW TABLE
 *   dfc_capture_<d>_delete    AFTER DELETE  … REFERENCING OLD TABLE
 *   dfc_capture_<d>_truncate  BEFORE TRUNCATE: every key still in the table, so the other side
 *                             deletes them too (the row trigger let a TRUNCATE go unseen)
 * A statement-level UPDATE cannot pair old and new rows: every new key is logged, and every old
 * key no new row has (a primary-key change) as a separate entry. The applier reconciles each key
 * from the source's current row, so that is exactly what the paired entry meant.
 *
 * Capture follows the relation's schema: a function logs only while its table is live in
 * public/auth (TG_TABLE_SCHEMA, read when the trigger fires). So the triggers are made once and
 * never touched under a cutover's or rollback's locks: reverse capture is created on the shadow
 * before the locks and starts as its table moves into place; forward capture stops as the legacy
 * table moves to the rollback copy and starts again if a rollback moves it back. Dormant, a
 * trigger costs the tool's own applier one call per statement (measured 2026-12-02 on an idle
 * 2-core machine: creating the four triggers of 31 tables under the lock took 22-30 ms, dropping
 * them 8-12 ms).
 */
import type pg from 'pg';
import type { Session } from '../db/session.js';
import { quoteIdent, quoteLiteral } from '../sql/sql.js';
import type { Direction, MappedTable } from './mapping.js';
import { DF_SCHEMAS, q, type Rel } from './names.js';

/** The INSERT trigger's name — also the name of the row-level trigger of earlier versions. */
export const captureTriggerName = (d: Direction) => `dfc_capture_${d}`;

/** Every trigger name one table's capture consists of. */
export const captureTriggerNames = (d: Direction) => [
  captureTriggerName(d),
  `${captureTriggerName(d)}_update`,
  `${captureTriggerName(d)}_delete`,
  `${captureTriggerName(d)}_truncate`,
];

/** consolidation.capture_<d>__<schema>__<table>: one function per table and direction. */
export function captureFunctionName(t: MappedTable, d: Direction): string {
  const name = `capture_${d}__${t.captureName[d].replace('.', '__')}`;
  if (Buffer.byteLength(name) > 63) throw new Error(`capture function name too long: ${name}`);
  return name;
}

const fn = (t: MappedTable, d: Direction) => `consolidation.${quoteIdent(captureFunctionName(t, d))}`;

/**
 * The function body. SECURITY DEFINER, so an application role with only table grants can write
 * (EXECUTE is revoked from PUBLIC), with search_path pinned (pg_catalog, then pg_temp last) so no
 * caller can steer it. Pinning costs a GUC save/restore per call — about 1 µs per statement once
 * the trigger runs per statement, not per row (bench/capture --explore, 'stmt-noset') — so it
 * stays; the body is schema-qualified all the same (tables, functions, operators; literals go into
 * columns of known types; transition tables are ephemeral relations, found before any schema; the
 * key comparison is EXCEPT, the type's default equality), and the TRUNCATE branch's dynamic SQL
 * relies on that, as EXECUTE parses it under the pinned path too.
 */
export function captureFunctionSql(t: MappedTable, d: Direction): string {
  const key = (alias: string) =>
    `pg_catalog.jsonb_build_object(${t.primaryKey.map((c) => `${quoteLiteral(c)}, ${alias}.${quoteIdent(c)}`).join(', ')})`;
  const dir = quoteLiteral(d);
  const name = quoteLiteral(t.captureName[d]);
  const log = 'INSERT INTO consolidation.capture_log (direction, table_name, old_key, new_key)';
  const is = (op: string) => `TG_OP OPERATOR(pg_catalog.=) ${quoteLiteral(op)}`;
  // the TRUNCATE branch reads the table by the trigger's own schema and name (it may have been moved)
  const truncateSql = `${log} SELECT $1, $2, ${key('x')}, NULL FROM ONLY %I.%I x`;
  const dormant = DF_SCHEMAS.map((sc) => `TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) ${quoteLiteral(sc)}`).join(
    ' AND ',
  );
  return `CREATE OR REPLACE FUNCTION ${fn(t, d)}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  -- dormant while the table is the shadow or the rollback copy: only the tool writes there
  IF ${dormant} THEN
    RETURN NULL;
  END IF;
  IF ${is('INSERT')} THEN
    ${log} SELECT ${dir}, ${name}, NULL, ${key('n')} FROM dfc_new n;
  ELSIF ${is('UPDATE')} THEN
    ${log} SELECT ${dir}, ${name}, NULL, ${key('n')} FROM dfc_new n
      UNION ALL SELECT ${dir}, ${name}, k, NULL FROM (SELECT ${key('o')} FROM dfc_old o EXCEPT SELECT ${key('n')} FROM dfc_new n) moved(k);
  ELSIF ${is('DELETE')} THEN
    ${log} SELECT ${dir}, ${name}, ${key('o')}, NULL FROM dfc_old o;
  ELSIF ${is('TRUNCATE')} THEN
    EXECUTE pg_catalog.format(${quoteLiteral(truncateSql)}, TG_TABLE_SCHEMA, TG_TABLE_NAME) USING ${dir}, ${name};
  END IF;
  RETURN NULL;
END
$fn$;
REVOKE EXECUTE ON FUNCTION ${fn(t, d)}() FROM PUBLIC`;
}

/**
 * The four CREATE TRIGGERs and one ALTER TABLE making them ENABLE ALWAYS, after dropping whatever
 * capture triggers the table has (an earlier version's row trigger included): in one transaction
 * there is no moment without capture. `fresh`: the table cannot have any (the cutover's v2
 * tables, just moved in) — the drops are skipped, as this runs under the cutover's locks. DDL
 * takes no parameters; names come from the shipped definition.
 */
export function createCaptureTriggerSql(
  t: MappedTable,
  on: Rel,
  d: Direction,
  opts: { fresh?: boolean } = {},
): string {
  const names = captureTriggerNames(d).map(quoteIdent);
  const [ins, upd, del, trunc] = names as [string, string, string, string];
  const table = q(on);
  const call = `EXECUTE FUNCTION ${fn(t, d)}()`;
  // ENABLE ALWAYS: a writer running with session_replication_role = replica (a logical
  // replication apply worker, a bulk loader) must be captured too
  return [
    ...(opts.fresh ? [] : [dropCaptureSql(on, d)]),
    `CREATE TRIGGER ${ins} AFTER INSERT ON ${table} REFERENCING NEW TABLE AS dfc_new FOR EACH STATEMENT ${call}`,
    `CREATE TRIGGER ${upd} AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS dfc_old NEW TABLE AS dfc_new FOR EACH STATEMENT ${call}`,
    `CREATE TRIGGER ${del} AFTER DELETE ON ${table} REFERENCING OLD TABLE AS dfc_old FOR EACH STATEMENT ${call}`,
    `CREATE TRIGGER ${trunc} BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT ${call}`,
    `ALTER TABLE ${table} ${names.map((n) => `ENABLE ALWAYS TRIGGER ${n}`).join(', ')}`,
  ].join(';\n');
}

export function dropCaptureSql(on: Rel, d: Direction): string {
  return captureTriggerNames(d)
    .map((n) => `DROP TRIGGER IF EXISTS ${quoteIdent(n)} ON ${q(on)}`)
    .join(';\n');
}

export type CaptureState = 'none' | 'statement' | 'row' | 'partial';

/**
 * What capture a table has: the four statement triggers, an earlier version's row trigger (still
 * works: it calls consolidation.capture_change(), which writes the same log), none, or a partial
 * set (only by hand; installing replaces it).
 */
export async function captureState(c: pg.ClientBase, on: Rel, d: Direction): Promise<CaptureState> {
  const r = await c.query<{ tgname: string; row: boolean }>(
    `SELECT tg.tgname, (tg.tgtype & 1) = 1 AS row FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND tg.tgname = ANY ($3)`,
    [on.schema, on.name, captureTriggerNames(d)],
  );
  if (r.rows.length === 0) return 'none';
  if (r.rows.length === 1 && r.rows[0]!.row) return 'row';
  return r.rows.length === 4 && r.rows.every((x) => !x.row) ? 'statement' : 'partial';
}

/**
 * SQL boolean: the relation `rel` (an SQL expression of type regclass) has complete capture of
 * direction d — the four statement triggers, or an earlier version's row trigger.
 */
export function captureCompleteSql(rel: string, d: Direction): string {
  const names = `ARRAY[${captureTriggerNames(d).map(quoteLiteral).join(', ')}]`;
  return `(EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = ${rel} AND tg.tgname = ${quoteLiteral(captureTriggerName(d))} AND (tg.tgtype & 1) = 1)
    OR (SELECT count(*) FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = ${rel} AND tg.tgname = ANY (${names}) AND (tg.tgtype & 1) = 0 AND tg.tgenabled = 'A') = 4)`;
}

/**
 * Under a cutover's or rollback's locks: complete capture of direction d on every relation `on`
 * gives (made before the locks, so normally one query and nothing to do); a relation without it
 * — its triggers dropped by hand in between — gets them here. Returns how many needed them.
 */
export async function ensureCaptureUnderLock(
  c: pg.ClientBase,
  tables: MappedTable[],
  on: (t: MappedTable) => Rel,
  d: Direction,
): Promise<number> {
  if (tables.length === 0) return 0;
  const missing = await c.query<{ i: string }>(
    `SELECT x.i FROM unnest($1::text[]) WITH ORDINALITY AS x(rel, i) WHERE NOT ${captureCompleteSql('to_regclass(x.rel)', d)}`,
    [tables.map((t) => q(on(t)))],
  );
  const lacking = missing.rows.map((r) => tables[Number(r.i) - 1]!);
  if (lacking.length) {
    await ensureCaptureFunctions(c, lacking, d);
    await c.query(lacking.map((t) => createCaptureTriggerSql(t, on(t), d)).join(';\n'));
  }
  return lacking.length;
}

/**
 * The DROPs of the capture of direction d on those of `rels` that have an earlier version's row
 * trigger (consolidation.capture_change() has no dormancy guard, so it would log the tool's own
 * writes once the relation leaves public/auth); run under the locks before such a move.
 */
export async function rowCaptureDropsSql(c: pg.ClientBase, rels: Rel[], d: Direction): Promise<string> {
  if (rels.length === 0) return '';
  const r = await c.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, cl.relname AS name FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE tg.tgname = $1 AND (tg.tgtype & 1) = 1 AND tg.tgrelid = ANY ($2::text[]::regclass[])`,
    [captureTriggerName(d), rels.map(q)],
  );
  return r.rows.map((x) => dropCaptureSql(x, d)).join(';\n');
}

/** ALTER TABLE … DISABLE TRIGGER of every capture trigger (benches comparing writes without capture). */
export function disableCaptureSql(on: Rel, d: Direction): string {
  return `ALTER TABLE ${q(on)} ${captureTriggerNames(d)
    .map((n) => `DISABLE TRIGGER ${quoteIdent(n)}`)
    .join(', ')}`;
}

export async function hasTrigger(c: pg.ClientBase, on: Rel, name: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND tg.tgname = $3`,
    [on.schema, on.name, name],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Create (or replace) the capture functions of these tables whose stored body differs from this
 * version's, in one round trip when all are current — cheap enough inside the cutover's locks.
 */
export async function ensureCaptureFunctions(
  c: pg.ClientBase,
  tables: MappedTable[],
  d: Direction,
): Promise<number> {
  if (tables.length === 0) return 0;
  const wanted = tables.map((t) => ({ name: captureFunctionName(t, d), sql: captureFunctionSql(t, d) }));
  const have = await c.query<{ proname: string; prosrc: string; definer: boolean; pinned: boolean }>(
    `SELECT p.proname, p.prosrc, p.prosecdef AS definer,
            coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) AS pinned FROM pg_proc p
      WHERE p.pronamespace = 'consolidation'::regnamespace AND p.proname = ANY ($1)`,
    [wanted.map((w) => w.name)],
  );
  const current = new Map(have.rows.map((r) => [r.proname, r]));
  const stale = wanted.filter((w) => {
    const h = current.get(w.name);
    return !h?.definer || !h.pinned || !w.sql.includes(`$fn$${h.prosrc}$fn$`);
  });
  if (stale.length) await c.query(stale.map((w) => w.sql).join(';\n'));
  return stale.length;
}

/**
 * Install one table's capture (idempotent: a complete statement-level set is kept; an earlier
 * version's row trigger or a partial set is replaced in one transaction), under the session's
 * short lock_timeout with retries.
 */
export async function installCapture(
  s: Session,
  t: MappedTable,
  on: Rel,
  direction: Direction,
  onRetry?: (attempt: number, waitMs: number) => void,
): Promise<boolean> {
  return (await installCaptures(s, [t], () => on, direction, onRetry && ((_, a, w) => onRetry(a, w)))) > 0;
}

/**
 * installCapture for many tables: the functions made current and the tables' trigger sets read in
 * one query each (a run where everything is in place costs three queries, not three per table);
 * each table lacking the statement set gets it in its own short transaction. Returns how many did.
 */
export async function installCaptures(
  s: Session,
  tables: MappedTable[],
  on: (t: MappedTable) => Rel,
  direction: Direction,
  onRetry?: (rel: Rel, attempt: number, waitMs: number) => void,
): Promise<number> {
  if (tables.length === 0) return 0;
  await secureCaptureFunction(s.client);
  await ensureCaptureFunctions(s.client, tables, direction);
  const lacking = await s.client.query<{ i: string }>(
    `SELECT x.i FROM unnest($1::text[]) WITH ORDINALITY AS x(rel, i)
      WHERE (SELECT count(*) FROM pg_trigger tg WHERE tg.tgrelid = to_regclass(x.rel)
                AND tg.tgname = ANY ($2) AND (tg.tgtype & 1) = 0) <> 4`,
    [tables.map((t) => q(on(t))), captureTriggerNames(direction)],
  );
  for (const { i } of lacking.rows) {
    const t = tables[Number(i) - 1]!;
    const rel = on(t);
    await s.retry(
      `the capture trigger on ${rel.schema}.${rel.name}`,
      // one multi-statement query runs as one implicit transaction: no moment without capture
      () => s.client.query(createCaptureTriggerSql(t, rel, direction)),
      {
        onRetry: onRetry && ((attempt, waitMs) => onRetry(rel, attempt, waitMs)),
        lockedRelations: () => [q(rel)],
      },
    );
  }
  return lacking.rows.length;
}

/**
 * consolidation.capture_change() is the row trigger function of earlier versions, kept for a
 * database whose run started with one (its triggers keep firing until replaced). Same property
 * as the generated functions: runs as its owner (the tool's role), not as the writer; search_path
 * pinned (it has unqualified names); EXECUTE revoked from PUBLIC so no one else can attach it to
 * a table of theirs (triggers already created keep firing: EXECUTE is checked when a trigger is
 * created, not when it fires).
 */
export const SECURE_CAPTURE_FUNCTION_SQL = `ALTER FUNCTION consolidation.capture_change() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
  REVOKE EXECUTE ON FUNCTION consolidation.capture_change() FROM PUBLIC`;

async function secureCaptureFunction(c: pg.ClientBase): Promise<void> {
  const r = await c.query<{ ok: boolean }>(
    `SELECT p.prosecdef AND coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) AS ok
       FROM pg_proc p WHERE p.oid = 'consolidation.capture_change()'::regprocedure`,
  );
  if (!r.rows[0]?.ok) await c.query(SECURE_CAPTURE_FUNCTION_SQL);
}

/**
 * Relations whose capture of direction d would log (validation after a move): statement triggers
 * on a live relation, or an earlier version's row trigger anywhere (it has no dormancy guard).
 */
export async function captureThatCanFire(c: pg.ClientBase, d: Direction): Promise<{ rel: string }[]> {
  return (await c.query<{ rel: string }>(captureThatCanFireSql(d))).rows;
}

/** The query of captureThatCanFire (column rel), to embed in a larger one; names are our constants. */
export function captureThatCanFireSql(d: Direction): string {
  const list = (xs: readonly string[]) => `ARRAY[${xs.map(quoteLiteral).join(', ')}]::text[]`;
  return `SELECT DISTINCT tg.tgrelid::regclass::text AS rel FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE tg.tgname = ANY (${list(captureTriggerNames(d))}) AND (n.nspname = ANY (${list(DF_SCHEMAS)}) OR (tg.tgtype & 1) = 1)`;
}
