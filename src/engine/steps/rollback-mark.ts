/** rollback:mark — the point is used and the run is ready_for_cutover again; commits with the rest or not at all. */

import type { Step } from '../../core/step.js';
import { refreshMaterializedViews } from '../build.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

export function rollbackMarkStep(): Step<RollbackContext> {
  return {
    id: 'rollback:mark',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({ summary: 'point → used; run → ready_for_cutover; COMMIT releases the locks' }),
    async run(ctx) {
      const c = ctx.session.client;
      await c.query(
        `UPDATE consolidation.rollback_points SET state = 'used', used_at = now(), used_by = current_user, reason = $2
          WHERE rollback_point_id = $1`,
        [ctx.point.id, ctx.reason],
      );
      await c.query(
        `UPDATE consolidation.engine_runs SET state = 'ready_for_cutover', cutover_at = NULL, updated_at = now() WHERE run_id = $1`,
        [ctx.point.runId],
      );
    },
  };
}

/** rollback:refresh — out of the lock: the legacy materialized views missed every change of the window. */
export function rollbackRefreshStep(): Step<RollbackContext> {
  return {
    id: 'rollback:refresh',
    phase: 'rollback_after',
    tx: 'none',
    describe: () => ({
      summary: 'refresh the legacy materialized views (CONCURRENTLY where a unique index allows)',
    }),
    async run(ctx) {
      const matviews = ctx.point.details.movedOut
        .filter((x) => x.kind === 'm')
        .map((m) => ({ schema: m.schema, name: m.name }));
      return { refreshed: await refreshMaterializedViews(ctx.session, matviews) };
    },
  };
}
