/**
 * Backfill: copies a legacy table into its (index-less) shadow in short transactions, each one
 * recording its position in consolidation.engine_tables in the same transaction — so a killed run
 * resumes exactly after the last committed batch. Rows already written by the change applier win
 * (ON CONFLICT DO NOTHING): the applier read them later.
 *
 * Two ways to walk a table:
 * - by physical block ranges (`ctid`), PostgreSQL 14+ (TID range scans): a sequential read, as fast
 *   as a one-shot copy. Correct under concurrent writes because capture was installed first: a row
 *   that moves (UPDATE) or appears (INSERT) after the walk started is in the capture log and is
 *   reconciled by the applier; rows beyond the block count taken at the start can only be such rows.
 *   A rewrite of the table (VACUUM FULL, CLUSTER) changes its relfilenode: the walk then restarts.
 * - by primary key (keyset), the fallback for PostgreSQL 12–13.
 */
import type pg from 'pg';
import { quoteIdent } from '../sql/sql.js';
import {
  endpoints,
  type MappedTable,
  pkDescending,
  pkList,
  pkObject,
  quarantineInsertSql,
} from './mapping.js';
import { q } from './names.js';

/** Where a table's backfill stands (stored as jsonb in engine_tables.last_key). */
export type BackfillPosition =
  | { mode: 'ctid'; nextBlock: number; endBlock: number; filenode: string }
  | { mode: 'pk'; lastKey: unknown | null };

export interface BackfillBatchResult {
  scanned: number;
  inserted: number;
  position: BackfillPosition;
  done: boolean;
}

export interface BackfillOptions {
  /** rows per batch (pk mode); ctid mode takes as many blocks as hold about this many rows */
  batchSize: number;
  /** false when the data had no conversion issue at the check and the policy is abort: skip per-row predicates */
  applyIssues: boolean;
}

/** Start position for a table: ctid mode on PostgreSQL 14+, else keyset. */
export async function startPosition(
  c: pg.ClientBase,
  t: MappedTable,
  mode: 'auto' | 'pk' = 'auto',
): Promise<BackfillPosition> {
  const v = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
  if (mode === 'pk' || (v.rows[0]?.v ?? 0) < 140000) return { mode: 'pk', lastKey: null };
  const { source } = endpoints(t, 'forward');
  const r = await c.query<{ blocks: string; filenode: string }>(
    `SELECT (pg_relation_size(oid) / current_setting('block_size')::int) AS blocks, pg_relation_filenode(oid)::text AS filenode
       FROM pg_class WHERE oid = $1::regclass`,
    [q(source)],
  );
  return { mode: 'ctid', nextBlock: 0, endBlock: Number(r.rows[0]!.blocks), filenode: r.rows[0]!.filenode };
}

/** Copy the next batch and record the new position; one transaction. */
export async function backfillBatch(
  c: pg.ClientBase,
  t: MappedTable,
  runId: string,
  pos: BackfillPosition,
  opts: BackfillOptions,
): Promise<BackfillBatchResult> {
  const { source, target } = endpoints(t, 'forward');
  const cols = t.targetColumns.forward;
  await c.query('BEGIN');
  try {
    await c.query('SET LOCAL session_replication_role = replica');
    let position = pos;
    if (position.mode === 'ctid') {
      const fn = await c.query<{ f: string }>('SELECT pg_relation_filenode($1::regclass)::text AS f', [
        q(source),
      ]);
      if (fn.rows[0]?.f !== position.filenode) position = await startPosition(c, t); // rewritten: walk again
    }
    let batch: string;
    let params: unknown[];
    let blocks = 0;
    if (position.mode === 'ctid') {
      const avg = await c.query<{ per_block: number }>(
        `SELECT greatest(1, CASE WHEN relpages > 0 THEN reltuples / relpages ELSE 50 END)::float8 AS per_block FROM pg_class WHERE oid = $1::regclass`,
        [q(source)],
      );
      blocks = Math.max(1, Math.ceil(opts.batchSize / Math.max(1, avg.rows[0]?.per_block ?? 50)));
      batch = `SELECT s.* FROM ${q(source)} s WHERE s.ctid >= format('(%s,0)', $1::bigint)::tid AND s.ctid < format('(%s,0)', $2::bigint)::tid`;
      params = [position.nextBlock, Math.min(position.nextBlock + blocks, position.endBlock)];
    } else {
      batch = position.lastKey
        ? `SELECT s.* FROM ${q(source)} s WHERE (${pkList(t, 's')}) > (SELECT ${pkList(t, 'k')} FROM jsonb_populate_record(NULL::${q(source)}, $1::jsonb) k) ORDER BY ${pkList(t, 's')} LIMIT $2`
        : `SELECT s.* FROM ${q(source)} s WHERE $1::jsonb IS NULL ORDER BY ${pkList(t, 's')} LIMIT $2`;
      params = [position.lastKey === null ? null : JSON.stringify(position.lastKey), opts.batchSize];
    }
    const columnList = cols.map((x) => quoteIdent(x.column)).join(', ');
    let copied: { scanned: number; inserted: number; lastKey: unknown };
    if (position.mode === 'ctid' && !opts.applyIssues) {
      // nothing to filter or quarantine: one plain INSERT … SELECT over the block range, the
      // one-shot copy's own statement (no CTE to materialize, no RETURNING to count); a row the
      // applier already wrote wins, as below
      const ins = await c.query(
        `INSERT INTO ${q(target)} (${columnList})
         SELECT ${cols.map((x) => t.def.mapping[x.column]!.forward).join(', ')} FROM (${batch}) s
         ON CONFLICT DO NOTHING`,
        params,
      );
      copied = { scanned: ins.rowCount ?? 0, inserted: ins.rowCount ?? 0, lastKey: null };
    } else {
      const filter = opts.applyIssues ? `WHERE NOT (${t.excludePredicate})` : '';
      const exprs = opts.applyIssues
        ? cols.map((x) => x.expr)
        : cols.map((x) => t.def.mapping[x.column]!.forward);
      const r = await c.query<{ scanned: string; inserted: string; last_key: unknown }>(
        `WITH batch AS (${batch}),
         ins AS (INSERT INTO ${q(target)} (${columnList})
                 SELECT ${exprs.join(', ')} FROM batch s ${filter}
                 ON CONFLICT DO NOTHING RETURNING 1)${opts.applyIssues && t.issues.length ? `, quarantined AS (${quarantineInsertSql(t, runId, 'batch s')})` : ''}
         SELECT (SELECT count(*) FROM batch) AS scanned, (SELECT count(*) FROM ins) AS inserted,
                ${position.mode === 'pk' ? `(SELECT ${pkObject(t, 's')} FROM batch s ORDER BY ${pkDescending(t, 's')} LIMIT 1)` : 'NULL::jsonb'} AS last_key`,
        params,
      );
      const row = r.rows[0]!;
      copied = { scanned: Number(row.scanned), inserted: Number(row.inserted), lastKey: row.last_key };
    }
    let next: BackfillPosition;
    let done: boolean;
    if (position.mode === 'ctid') {
      const nextBlock = Math.min(position.nextBlock + blocks, position.endBlock);
      next = { ...position, nextBlock };
      done = nextBlock >= position.endBlock;
    } else {
      next = { mode: 'pk', lastKey: copied.lastKey ?? position.lastKey };
      done = copied.scanned < opts.batchSize;
    }
    await c.query(
      `UPDATE consolidation.engine_tables SET rows_copied = rows_copied + $3, last_key = $4::jsonb,
              backfill_done = $5, updated_at = now() WHERE run_id = $1 AND table_name = $2`,
      [runId, t.captureName.forward, copied.inserted, JSON.stringify(next), done],
    );
    await c.query('COMMIT');
    return { scanned: copied.scanned, inserted: copied.inserted, position: next, done };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
