/**
 * Applies captured changes by reconciling each changed key from the source's current row:
 * delete the target row, re-insert it transformed if the source still has it. Exact for inserts,
 * updates (including SET col = NULL and primary-key changes: both keys are captured) and deletes,
 * and idempotent, so a crash mid-apply simply applies again. Runs with
 * session_replication_role = replica so target triggers and cascades do not fire twice: every
 * cascaded change on the source was captured as a change of its own.
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';
import { named, quoteIdent } from '../sql/sql.js';
import {
  type Direction,
  endpoints,
  type MappedTable,
  pkJoin,
  pkList,
  pkObject,
  quarantineInsertSql,
} from './mapping.js';
import { q } from './names.js';

/** Delete then re-insert the given keys of one table (keys: jsonb objects of primary-key values). */
export async function reconcileKeys(
  c: pg.ClientBase,
  t: MappedTable,
  direction: Direction,
  keys: unknown[],
  phase: 'delete' | 'insert',
  runId?: string,
): Promise<number> {
  if (keys.length === 0) return 0;
  const { source, target, alias } = endpoints(t, direction);
  const keyRows = `(SELECT DISTINCT ${pkList(t, 'k0')} FROM jsonb_populate_recordset(NULL::${q(source)}, $1::jsonb) k0)`;
  if (phase === 'delete') {
    const r = await c.query({
      ...named('dfc_rk', `DELETE FROM ${q(target)} d USING ${keyRows} k WHERE ${pkJoin(t, 'd', 'k')}`),
      values: [JSON.stringify(keys)],
    });
    return r.rowCount ?? 0;
  }
  const cols = t.targetColumns[direction];
  if (direction === 'forward' && t.issues.length > 0) {
    // the quarantine reflects the rows as they are now: a row fixed (or deleted) since it was
    // quarantined leaves it, so the abort policy's cutover check and the counts stay exact
    await c.query({
      ...named(
        'dfc_rk',
        `DELETE FROM consolidation.engine_quarantine qr USING ${keyRows} k
          WHERE qr.table_name = $2 AND qr.row_key = ${pkObject(t, 'k')}`,
      ),
      values: [JSON.stringify(keys), t.captureName.forward],
    });
    await c.query({
      ...named(
        'dfc_rk',
        quarantineInsertSql(t, runId, `${q(source)} s JOIN ${keyRows} k ON ${pkJoin(t, 's', 'k')}`),
      ),
      values: [JSON.stringify(keys)],
    });
  }
  const where = direction === 'forward' ? `WHERE NOT (${t.excludePredicate})` : '';
  const r = await c.query({
    ...named(
      'dfc_rk',
      `INSERT INTO ${q(target)} (${cols.map((x) => quoteIdent(x.column)).join(', ')})
       SELECT ${cols.map((x) => x.expr).join(', ')} FROM ${q(source)} ${alias} JOIN ${keyRows} k ON ${pkJoin(t, alias, 'k')} ${where}`,
    ),
    values: [JSON.stringify(keys)],
  });
  return r.rowCount ?? 0;
}

interface CaptureRow {
  id: string;
  table_name: string;
  old_key: unknown;
  new_key: unknown;
}

/** The refusal when the capture log names tables this version's v2 definition does not know. */
export function unknownCaptureTables(unknown: string[]): DfcError {
  return new DfcError(
    'CONSOLIDATION_01',
    `the capture log names tables this version's v2 definition does not know: ${unknown.join(', ')}`,
    {
      fix: 'finish (or `dfc consolidate abort`) the run with the dfc version that started it; nothing was applied',
    },
  );
}

/**
 * Apply up to `limit` captured changes of a direction in one REPEATABLE READ transaction (one
 * consistent view of log and source), or in the caller's (`inTransaction`). `onlyTables`: only
 * the changes of these tables (verify applies each table's queue in the session comparing it).
 * Returns how many log rows were applied.
 */
export async function applyCaptureBatch(
  c: pg.ClientBase,
  tables: MappedTable[],
  direction: Direction,
  limit: number,
  opts: { inTransaction?: boolean; runId?: string; onlyTables?: boolean } = {},
): Promise<number> {
  const own = !opts.inTransaction;
  if (own) await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    await c.query('SET LOCAL session_replication_role = replica');
    const rows = await c.query<CaptureRow>(
      `SELECT id, table_name, old_key, new_key FROM consolidation.capture_log
        WHERE direction = $1 AND ($3::text[] IS NULL OR table_name = ANY ($3)) ORDER BY id LIMIT $2`,
      [direction, limit, opts.onlyTables ? tables.map((t) => t.captureName[direction]) : null],
    );
    if (rows.rows.length > 0) {
      // the reconcile statements are named (planned once per session): generic plans from the
      // first execution, as a custom plan could not do better (jsonb_populate_recordset is
      // estimated at 100 rows whatever the batch), so under a cutover's locks they only execute
      // (generated_domains at 100k, one key: 2.3 ms custom, 0.95 ms generic). Restored in the caller's transaction.
      const prev = await c.query<{ mode: string }>(
        `SELECT current_setting('plan_cache_mode') AS mode, set_config('plan_cache_mode', 'force_generic_plan', true)`,
      );
      const byTable = new Map<string, unknown[]>();
      for (const r of rows.rows) {
        const list = byTable.get(r.table_name) ?? [];
        if (r.old_key) list.push(r.old_key);
        if (r.new_key) list.push(r.new_key);
        byTable.set(r.table_name, list);
      }
      const involved = tables.filter((t) => byTable.has(t.captureName[direction]));
      const unknown = [...byTable.keys()].filter((n) => !tables.some((t) => t.captureName[direction] === n));
      if (unknown.length) throw unknownCaptureTables(unknown);
      // all deletes first, then all inserts: a unique value moving between rows never collides
      for (const t of involved)
        await reconcileKeys(c, t, direction, byTable.get(t.captureName[direction])!, 'delete');
      for (const t of involved)
        await reconcileKeys(c, t, direction, byTable.get(t.captureName[direction])!, 'insert', opts.runId);
      await c.query('DELETE FROM consolidation.capture_log WHERE id = ANY ($1::bigint[])', [
        rows.rows.map((r) => r.id),
      ]);
      if (!own) await c.query(`SELECT set_config('plan_cache_mode', $1, true)`, [prev.rows[0]!.mode]);
    }
    if (own) await c.query('COMMIT');
    return rows.rows.length;
  } catch (e) {
    if (own) await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** Apply batches until one comes back short (the log is drained) or maxRounds. Returns the total applied. */
export async function drain(
  c: pg.ClientBase,
  tables: MappedTable[],
  direction: Direction,
  opts: { batch?: number; runId?: string; maxRounds?: number } = {},
): Promise<number> {
  const batch = opts.batch ?? 5000;
  let total = 0;
  for (let round = 0; round < (opts.maxRounds ?? 1_000_000); round++) {
    const n = await applyCaptureBatch(c, tables, direction, batch, { runId: opts.runId });
    total += n;
    if (n < batch) break;
  }
  return total;
}
