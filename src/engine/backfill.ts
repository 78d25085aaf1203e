/**
 * Keyset backfill: walks the legacy table's primary key in batches, each one short transaction
 * that inserts the transformed rows into the (index-less) shadow and records its position in
 * consolidation.engine_tables — so a killed run resumes at the exact next key. Rows already put
 * there by the change applier win (ON CONFLICT DO NOTHING): the applier read them later.
 */
import type pg from 'pg';
import { quoteIdent } from '../sql/sql.js';
import { endpoints, type MappedTable, pkList, pkObject } from './mapping.js';
import { q } from './names.js';

export interface BackfillBatchResult {
  scanned: number;
  inserted: number;
  lastKey: unknown | null;
}

/** Copy one batch after `lastKey` (null = from the start). */
export async function backfillBatch(
  c: pg.ClientBase,
  t: MappedTable,
  runId: string,
  lastKey: unknown | null,
  batchSize: number,
): Promise<BackfillBatchResult> {
  const { source, target } = endpoints(t, 'forward');
  const cols = t.targetColumns.forward;
  const after = lastKey
    ? `WHERE (${pkList(t, 's')}) > (SELECT ${pkList(t, 'k')} FROM jsonb_populate_record(NULL::${q(source)}, $1::jsonb) k)`
    : 'WHERE $1::jsonb IS NULL';
  const quarantineCte = t.issues.length
    ? `, quarantined AS (
        INSERT INTO consolidation.engine_quarantine (run_id, table_name, row_key, issue_id, action, original_row)
        SELECT ${Number(runId)}, i.table_name, ${pkObject(t, 's')}, i.issue_id, i.action, to_jsonb(s)
          FROM batch s JOIN (VALUES ${t.issues
            .map((i, n) => `(${n}, '${t.captureName.forward}', '${i.id}', '${i.quarantine.action}')`)
            .join(', ')}) AS i(n, table_name, issue_id, action) ON ${t.issues
            .map((i, n) => `(i.n = ${n} AND coalesce((${i.predicate}), false))`)
            .join(' OR ')}
        ON CONFLICT (table_name, row_key, issue_id) DO NOTHING RETURNING 1)`
    : '';
  await c.query('BEGIN');
  try {
    await c.query('SET LOCAL session_replication_role = replica');
    const r = await c.query<{ scanned: string; inserted: string; last_key: unknown }>(
      `WITH batch AS (SELECT s.* FROM ${q(source)} s ${after} ORDER BY ${pkList(t, 's')} LIMIT ${Math.floor(batchSize)}),
       ins AS (INSERT INTO ${q(target)} (${cols.map((x) => quoteIdent(x.column)).join(', ')})
               SELECT ${cols.map((x) => x.expr).join(', ')} FROM batch s WHERE NOT (${t.excludePredicate})
               ON CONFLICT DO NOTHING RETURNING 1)${quarantineCte}
       SELECT (SELECT count(*) FROM batch) AS scanned, (SELECT count(*) FROM ins) AS inserted,
              (SELECT ${pkObject(t, 's')} FROM batch s ORDER BY ${pkList(t, 's')} DESC LIMIT 1) AS last_key
              ${t.issues.length ? ', (SELECT count(*) FROM quarantined) AS q' : ''}`,
      [lastKey === null ? null : JSON.stringify(lastKey)],
    );
    const row = r.rows[0]!;
    const scanned = Number(row.scanned);
    await c.query(
      `UPDATE consolidation.engine_tables SET rows_copied = rows_copied + $3, last_key = coalesce($4::jsonb, last_key),
              backfill_done = $5, updated_at = now() WHERE run_id = $1 AND table_name = $2`,
      [
        runId,
        t.captureName.forward,
        Number(row.inserted),
        row.last_key ? JSON.stringify(row.last_key) : null,
        scanned < batchSize,
      ],
    );
    await c.query('COMMIT');
    return { scanned, inserted: Number(row.inserted), lastKey: row.last_key ?? null };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
