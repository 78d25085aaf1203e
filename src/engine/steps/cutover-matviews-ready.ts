/**
 * cutover:matviews-ready — before the locks: the shadow materialized views refreshed over the
 * shadow as it is now, so v2's views are current the moment they move in and nothing heavy runs
 * under the locks (after the commit they are refreshed again, CONCURRENTLY where possible).
 */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { SHADOW_SCHEMA } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverMatviewsReadyStep(): Step<CutoverContext> {
  return {
    id: 'cutover:matviews-ready',
    phase: CUTOVER_PHASE,
    tx: 'none',
    describe: () => ({
      summary:
        'refresh the shadow materialized views (no lock the application waits for: it cannot see them yet), so they are current when they move in',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const mv = await c.query<{ schema: string; name: string; unique_idx: boolean; populated: boolean }>(
        `SELECT n.nspname AS schema, cl.relname AS name, cl.relispopulated AS populated,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cl.oid AND i.indisunique) AS unique_idx
           FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE cl.relkind = 'm' AND n.nspname = ANY ($1)`,
        [Object.values(SHADOW_SCHEMA)],
      );
      for (const m of mv.rows)
        await c.query(
          build(
            m.unique_idx && m.populated
              ? sql`REFRESH MATERIALIZED VIEW CONCURRENTLY ${ident(m)}`
              : sql`REFRESH MATERIALIZED VIEW ${ident(m)}`,
          ),
        );
      return { refreshed: mv.rows.length };
    },
  };
}
