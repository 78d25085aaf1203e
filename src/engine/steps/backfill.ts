/**
 * backfill:<table> — copy one legacy table into its shadow in short batches, by block ranges where
 * the server has TID range scans (14+), else by primary key; captured changes wait in the log for
 * pk:<table> and capture:catch-up; throttled; resumes at the exact recorded position. Concurrent: other
 * tables are copied beside it on the run's lanes (each batch is its own transaction on its session).
 */
import type { Step } from '../../core/step.js';
import { type BackfillPosition, backfillBatch, startPosition } from '../backfill.js';
import type { MappedTable } from '../mapping.js';
import { setRunState } from '../state.js';
import { throttle } from '../throttle.js';
import { ASSUMED_ROWS_PER_SECOND, type ConsolidateContext, type LegacyEstimate } from './context.js';

export function backfillStep(
  t: MappedTable,
  est: LegacyEstimate,
  walk: 'block ranges' | 'keyset',
): Step<ConsolidateContext> {
  const name = t.captureName.forward;
  return {
    id: `backfill:${name}`,
    phase: 'phase2_shadow',
    tx: 'none',
    concurrent: true,
    describe: () => ({
      summary: `copy ${name} (~${est.rows} rows, ${(est.bytes / 1048576).toFixed(1)} MiB) by ${walk}; changes captured meanwhile are applied once the primary key is built`,
      rows: est.rows,
      bytes: est.bytes,
      seconds: est.rows / ASSUMED_ROWS_PER_SECOND,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      await setRunState(c, ctx.runId, 'backfilling');
      const st = await c.query<{
        last_key: unknown;
        rows_copied: string;
        rows_estimate: string;
        backfill_done: boolean;
        issue: boolean;
      }>(
        `SELECT last_key, rows_copied, rows_estimate, backfill_done,
                coalesce(r.options->'issue_tables' ? $2, false) AS issue
           FROM consolidation.engine_tables e JOIN consolidation.engine_runs r USING (run_id)
          WHERE run_id = $1 AND table_name = $2`,
        [ctx.runId, name],
      );
      const row = st.rows[0];
      let position: BackfillPosition =
        (row?.last_key as BackfillPosition | null) ??
        (await startPosition(c, t, walk === 'keyset' ? 'pk' : ctx.backfillMode));
      let done = Number(row?.rows_copied ?? 0);
      const total = Math.max(Number(row?.rows_estimate ?? 0), done);
      let finished = Boolean(row?.backfill_done);
      const t0 = Date.now();
      let copiedHere = 0;
      const applyIssues = ctx.onInvalid !== 'abort' || Boolean(row?.issue);
      while (!finished) {
        await throttle(c, ctx.runId, ctx.throttle, (reason) => ctx.emit({ type: 'throttle', reason }));
        const b = await backfillBatch(c, t, ctx.runId, position, { batchSize: ctx.batchSize, applyIssues });
        position = b.position;
        done += b.inserted;
        copiedHere += b.scanned;
        finished = b.done;
        const rate = copiedHere / Math.max(0.001, (Date.now() - t0) / 1000);
        ctx.emit({
          type: 'progress',
          table: name,
          done,
          total: Math.max(total, done),
          rowsPerSecond: Math.round(rate),
          etaSeconds: rate > 0 ? Math.max(0, (total - done) / rate) : null,
        });
      }
      return { rows: done };
    },
  };
}
