/** cutover:refresh — after the commit, out of the lock: materialized views brought up to date (CONCURRENTLY where a unique index allows), statistics refreshed. */
import type { Step } from '../../core/step.js';
import { refreshMaterializedViews } from '../build.js';
import { AFTER_CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverRefreshStep(): Step<CutoverContext> {
  return {
    id: 'cutover:refresh',
    phase: AFTER_CUTOVER_PHASE,
    tx: 'none',
    describe: () => ({
      summary:
        'REFRESH MATERIALIZED VIEW (CONCURRENTLY where a unique index allows: readers are not blocked); ANALYZE',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const mv = await c.query<{ schema: string; name: string }>(
        `SELECT n.nspname AS schema, cl.relname AS name
           FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE cl.relkind = 'm' AND n.nspname IN ('public','auth')`,
      );
      const refreshed = await refreshMaterializedViews(ctx.session, mv.rows);
      await c.query('ANALYZE');
      ctx.emit({
        type: 'phase',
        phase: 'cut_over',
        message: 'cutover committed; materialized views refreshed',
      });
      return { refreshed };
    },
  };
}
