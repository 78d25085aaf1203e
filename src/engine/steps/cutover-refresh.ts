/** cutover:refresh — after the commit, out of the lock: materialized views brought up to date (CONCURRENTLY where a unique index allows), statistics refreshed. */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
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
      const mv = await c.query<{ schema: string; name: string; unique_idx: boolean }>(
        `SELECT n.nspname AS schema, cl.relname AS name,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cl.oid AND i.indisunique) AS unique_idx
           FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE cl.relkind = 'm' AND n.nspname IN ('public','auth')`,
      );
      // short lock waits retried (a plain REFRESH's ACCESS EXCLUSIVE would queue readers), and a
      // catalog race with a GRANT beside it
      for (const m of mv.rows)
        await ctx.session.retry(`refresh of ${m.schema}.${m.name}`, () =>
          c.query(
            build(
              m.unique_idx
                ? sql`REFRESH MATERIALIZED VIEW CONCURRENTLY ${ident(m)}`
                : sql`REFRESH MATERIALIZED VIEW ${ident(m)}`,
            ),
          ),
        );
      await c.query('ANALYZE');
      ctx.emit({
        type: 'phase',
        phase: 'cut_over',
        message: 'cutover committed; materialized views refreshed',
      });
      return { refreshed: mv.rows.length };
    },
  };
}
