/**
 * `dfc consolidate abort`: undo an unfinished consolidation cleanly — remove the capture triggers
 * from the legacy tables, drop the shadow schemas and the pending captured changes, and mark the
 * run aborted. The legacy tables and their data are never touched. Not for a run that has cut
 * over (that is a rollback).
 */
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { DfcError } from '../errors.js';
import { quoteIdent } from '../sql/sql.js';
import { captureTriggerName } from './capture.js';
import { DEFAULT_LOCK_POLICY, withLockRetry } from './ddl.js';
import { SHADOW_SCHEMA } from './names.js';
import { activeRun } from './state.js';

export async function abortConsolidation(url: string): Promise<{ runId: string; triggersRemoved: number }> {
  const c = await connect(url, 'dfc-abort');
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    const run = await activeRun(c);
    if (!run)
      throw new DfcError('CONSOLIDATION_01', 'there is no unfinished consolidation to abort', {
        fix: 'nothing to do; `dfc consolidate status` shows the latest run',
      });
    const triggers = await c.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, cl.relname AS table FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE tg.tgname = $1 AND n.nspname IN ('public','auth')`,
      [captureTriggerName('forward')],
    );
    for (const t of triggers.rows)
      await withLockRetry(c, `removing capture from ${t.schema}.${t.table}`, DEFAULT_LOCK_POLICY, () =>
        c.query(
          `DROP TRIGGER IF EXISTS ${quoteIdent(captureTriggerName('forward'))} ON ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`,
        ),
      );
    for (const s of Object.values(SHADOW_SCHEMA))
      await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
    await c.query(`DELETE FROM consolidation.capture_log WHERE direction = 'forward'`);
    await c.query(
      `UPDATE consolidation.engine_runs SET state = 'aborted', updated_at = now() WHERE run_id = $1`,
      [run.run_id],
    );
    return { runId: run.run_id, triggersRemoved: triggers.rows.length };
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await c.end().catch(() => {});
  }
}
