/** analyze — planner statistics for every shadow table (autovacuum is off on the shadow). */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { shadowOf } from '../names.js';
import type { ConsolidateContext } from './context.js';

export function analyzeStep(): Step<ConsolidateContext> {
  return {
    id: 'analyze',
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({ summary: 'ANALYZE every shadow table' }),
    async run(ctx) {
      for (const t of allTables(ctx.v2))
        await ctx.session.client.query(build(sql`ANALYZE ${ident(shadowOf(t))}`));
    },
  };
}
