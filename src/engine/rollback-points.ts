/**
 * Rollback points (consolidation.rollback_points, db/bookkeeping/0040). The cutover records one in
 * its own transaction, before it moves anything, so the point describes exactly what that cutover
 * changes: which relations moved in and out, the legacy functions v2 replaces, and per table the
 * statement that compares v2 with the rollback copy (the SQL test_rollback_procedure runs it too).
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../sql/sql.js';
import { type MappedTable, pkObject } from './mapping.js';
import {
  DF_SCHEMAS,
  legacyRollbackOf,
  liveOf,
  q,
  type Rel,
  ROLLBACK_SCHEMA,
  SHADOW_SCHEMA,
} from './names.js';
import { setChecksumSql } from './support.js';

export interface MovedRel {
  /** live schema (public or auth) */
  schema: 'public' | 'auth';
  name: string;
  /** pg_class.relkind: r, p, v, m */
  kind: string;
}

export interface LegacyFunction {
  signature: string;
  def: string;
  comment: string | null;
}

export interface PointTable {
  /** capture_log name of the legacy table, e.g. public.campaigns */
  table: string;
  /** capture_log name on the v2 side, e.g. public.campaigns */
  reverse: string;
  v2: string;
  copy: string;
  compare_sql: string;
}

export interface PointDetails {
  movedIn: MovedRel[];
  movedOut: MovedRel[];
  functions: LegacyFunction[];
}

export interface RollbackPoint {
  id: string;
  runId: string;
  createdAt: Date;
  state: 'valid' | 'used' | 'finalized' | 'invalid' | 'expired' | 'dropped';
  tables: PointTable[];
  details: PointDetails;
  usedAt: Date | null;
  reason: string | null;
  rollbackSeconds: number | null;
  lockHeldMs: number | null;
  finalizedAt: Date | null;
  expiresAt: Date | null;
}

/** v2 columns that flow back to the copy: compared between both sides. */
export function carriedColumns(t: MappedTable): string[] {
  return t.def.columns
    .filter((col) =>
      t.targetColumns.reverse.some((r) => r.column === (t.def.mapping[col.name]!.legacyColumn ?? col.name)),
    )
    .map((col) => col.name);
}

/**
 * One statement (one snapshot even in READ COMMITTED) comparing v2 with the rollback copy mapped
 * forward: counts and an order-independent checksum of the carried columns, leaving out on both
 * sides the keys that still have a pending reverse change (the drain will carry those).
 */
export function compareSql(t: MappedTable, copy: Rel, v2: Rel): string {
  const columns = carriedColumns(t);
  const forward = new Map(t.targetColumns.forward.map((x) => [x.column, x.expr]));
  const types = new Map(t.def.columns.map((col) => [col.name, col.type]));
  const legacyRow = `ROW(${columns.map((col) => `(${forward.get(col)})::${types.get(col)}`).join(', ')})::text`;
  const v2Row = `ROW(${columns.map((col) => `t.${quoteIdent(col)}`).join(', ')})::text`;
  return `WITH pend AS MATERIALIZED (
  SELECT DISTINCT v.k FROM consolidation.capture_log l, LATERAL (VALUES (l.old_key), (l.new_key)) v(k)
   WHERE l.direction = 'reverse' AND l.table_name = ${quoteLiteral(t.captureName.reverse)} AND v.k IS NOT NULL),
l AS (SELECT count(*) AS n, ${setChecksumSql(legacyRow)} AS sum FROM ${q(copy)} s
       WHERE NOT (${t.excludePredicate}) AND ${pkObject(t, 's')} NOT IN (SELECT k FROM pend)),
v AS (SELECT count(*) AS n, ${setChecksumSql(v2Row)} AS sum FROM ${q(v2)} t
       WHERE ${pkObject(t, 't')} NOT IN (SELECT k FROM pend))
SELECT l.n::bigint AS legacy_rows, v.n::bigint AS v2_rows, (l.n = v.n AND l.sum = v.sum) AS same,
       (SELECT count(*) FROM pend)::bigint AS pending FROM l, v`;
}

/** The query of currentFunctions (columns signature, def, comment), to embed in a larger one. */
export const CURRENT_FUNCTIONS_SQL = `SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
            pg_get_functiondef(p.oid) AS def, obj_description(p.oid, 'pg_proc') AS comment
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname IN ('public','auth') AND p.prokind = 'f'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
      ORDER BY 1`;

/** Legacy functions of public/auth (not an extension's), as they are now. */
export async function currentFunctions(c: pg.ClientBase): Promise<LegacyFunction[]> {
  return (await c.query<LegacyFunction>(CURRENT_FUNCTIONS_SQL)).rows;
}

const liveSchemaOf = (schema: string): 'public' | 'auth' =>
  DF_SCHEMAS.find((s) => SHADOW_SCHEMA[s] === schema || ROLLBACK_SCHEMA[s] === schema || s === schema)!;

/**
 * What a rollback point records of the catalog: the relations that move in (the shadow) and out
 * (the live relations a shadow relation replaces), and the legacy functions. Read before the
 * cutover's locks with its surface (cutover-surface.ts) and proved under them by the same
 * fingerprint (pg_class of the live and shadow schemas, pg_proc and function comments of the live
 * ones): under the locks only the INSERT runs. The rollback schemas are not read: the cutover
 * empties them under the locks and moves into them only what this lists as moving out.
 */
export async function readPointCatalog(c: pg.ClientBase): Promise<PointDetails> {
  const rels = await c.query<{ side: 'in' | 'out'; schema: string; name: string; kind: string }>(
    `WITH rel AS (
       SELECT n.nspname AS schema, cl.relname AS name, cl.relkind::text AS kind,
              (SELECT m.live FROM unnest($1::text[], $2::text[]) AS m(shadow, live) WHERE m.shadow = n.nspname) AS from_shadow
         FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.relkind IN ('r','p','v','m') AND n.nspname = ANY ($1::text[] || $2::text[]))
     SELECT 'in' AS side, schema, name, kind FROM rel WHERE from_shadow IS NOT NULL
     UNION ALL
     SELECT 'out', schema, name, kind FROM rel
      WHERE schema = ANY ($2::text[]) AND EXISTS (SELECT 1 FROM rel s WHERE s.from_shadow = rel.schema AND s.name = rel.name)
     ORDER BY 1, 2, 3`,
    [DF_SCHEMAS.map((s) => SHADOW_SCHEMA[s]), [...DF_SCHEMAS]],
  );
  const side = (x: 'in' | 'out') =>
    rels.rows
      .filter((r) => r.side === x)
      .map((r) => ({ schema: liveSchemaOf(r.schema), name: r.name, kind: r.kind }));
  return { movedIn: side('in'), movedOut: side('out'), functions: await currentFunctions(c) };
}

/**
 * Record the rollback point of the cutover running in this transaction (call it under the
 * cutover's locks, before the moves), from `details` read by readPointCatalog (before the locks,
 * proved by the surface fingerprint). Any older open point is superseded.
 *
 * @example
 *   await recordRollbackPoint(c, runId, present, details); // INSERT INTO consolidation.rollback_points ...
 */
export async function recordRollbackPoint(
  c: pg.ClientBase,
  runId: string,
  present: MappedTable[],
  details: PointDetails,
): Promise<string> {
  const tables: PointTable[] = present.map((t) => ({
    table: t.captureName.forward,
    reverse: t.captureName.reverse,
    v2: q(liveOf(t.def)),
    copy: q(legacyRollbackOf(t.def)),
    compare_sql: compareSql(t, legacyRollbackOf(t.def), liveOf(t.def)),
  }));
  // one statement: older open points superseded, the new one inserted, and the run's record of the
  // legacy function bodies (engine_runs.legacy_functions) taken from the same read
  const r = await c.query<{ id: string }>(
    `WITH superseded AS (
       UPDATE consolidation.rollback_points SET state = 'invalid',
              details = details || '{"invalidated": "superseded by a newer cutover"}' WHERE state = 'valid' RETURNING 1),
     run AS (
       UPDATE consolidation.engine_runs
          SET legacy_functions = (SELECT jsonb_agg(f->'def') FROM jsonb_array_elements($4::jsonb->'functions') f)
        WHERE run_id = $1 RETURNING 1),
     base AS (SELECT 'rollback_' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS') AS b),
     n AS (SELECT count(*) AS k FROM consolidation.rollback_points, base WHERE rollback_point_id LIKE base.b || '%')
     INSERT INTO consolidation.rollback_points (rollback_point_id, run_id, description, state, schemas, tables, details)
     SELECT base.b || CASE WHEN n.k = 0 THEN '' ELSE '_' || (n.k + 1) END, $1, 'recorded by dfc cutover', 'valid', $2, $3, $4
       FROM base, n RETURNING rollback_point_id AS id`,
    [runId, JSON.stringify(ROLLBACK_SCHEMA), JSON.stringify(tables), JSON.stringify(details)],
  );
  return r.rows[0]!.id;
}

interface PointRow {
  rollback_point_id: string;
  run_id: string;
  created_at: Date;
  state: RollbackPoint['state'];
  tables: PointTable[];
  details: PointDetails;
  used_at: Date | null;
  reason: string | null;
  rollback_seconds: string | null;
  lock_held_ms: string | null;
  finalized_at: Date | null;
  expires_at: Date | null;
}

const toPoint = (r: PointRow): RollbackPoint => ({
  id: r.rollback_point_id,
  runId: r.run_id,
  createdAt: r.created_at,
  state: r.state,
  tables: r.tables,
  details: r.details,
  usedAt: r.used_at,
  reason: r.reason,
  rollbackSeconds: r.rollback_seconds === null ? null : Number(r.rollback_seconds),
  lockHeldMs: r.lock_held_ms === null ? null : Number(r.lock_held_ms),
  finalizedAt: r.finalized_at,
  expiresAt: r.expires_at,
});

const POINT_COLUMNS = `rollback_point_id, run_id, created_at, state, tables, details, used_at, reason,
  rollback_seconds, lock_held_ms, finalized_at, expires_at`;

/** Every point, newest first. */
export async function readRollbackPoints(c: pg.ClientBase): Promise<RollbackPoint[]> {
  const exists = await c.query(`SELECT to_regclass('consolidation.rollback_points') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return [];
  const r = await c.query<PointRow>(
    `SELECT ${POINT_COLUMNS} FROM consolidation.rollback_points ORDER BY created_at DESC, rollback_point_id DESC`,
  );
  return r.rows.map(toPoint);
}

/** One point by id; CONSOLIDATION_05 when there is none. `forUpdate` locks its row. */
export async function readRollbackPoint(
  c: pg.ClientBase,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<RollbackPoint> {
  const r = await c.query<PointRow>(
    `SELECT ${POINT_COLUMNS} FROM consolidation.rollback_points WHERE rollback_point_id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  if (!r.rows[0])
    throw new DfcError('CONSOLIDATION_05', `rollback point ${id} does not exist; nothing was changed`, {
      fix: 'list the points with `dfc rollback list` and pass one of their ids',
    });
  return toPoint(r.rows[0]);
}

/** The newest point. */
export async function latestRollbackPoint(c: pg.ClientBase): Promise<RollbackPoint | undefined> {
  return (await readRollbackPoints(c))[0];
}

/** The v2 table definitions whose legacy table the point's copy holds. */
export function pointMappedTables(point: RollbackPoint, all: MappedTable[]): MappedTable[] {
  const names = new Set(point.tables.map((t) => t.table));
  return all.filter((t) => names.has(t.captureName.forward));
}

export const relOf = (m: MovedRel, where: 'live' | 'shadow' | 'rollback'): Rel => ({
  schema:
    where === 'live' ? m.schema : where === 'shadow' ? SHADOW_SCHEMA[m.schema] : ROLLBACK_SCHEMA[m.schema],
  name: m.name,
});

export const kindWord = (k: string) => (k === 'v' ? 'VIEW' : k === 'm' ? 'MATERIALIZED VIEW' : 'TABLE');
