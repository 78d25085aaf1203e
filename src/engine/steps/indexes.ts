/**
 * indexes:<table> — unique constraints and secondary indexes, each CREATE INDEX CONCURRENTLY alone
 * outside any transaction, checked valid (an invalid leftover is dropped and rebuilt).
 */
import type { Step } from '../../core/step.js';
import type { TableDef } from '../../schema/v2/model.js';
import { attachUniqueConstraints, buildIndexConcurrently } from '../build.js';
import { drain } from '../reconcile.js';
import { ASSUMED_INDEX_ROWS_PER_SECOND, type ConsolidateContext } from './context.js';

export function indexesStep(t: TableDef, rows: number): Step<ConsolidateContext> {
  const count = t.indexes.length + t.uniques.length;
  return {
    id: `indexes:${t.schema}.${t.name}`,
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary: `build ${count} indexes CONCURRENTLY on the shadow ${t.schema}.${t.name}, one at a time, checked indisvalid${count ? `: ${[...t.uniques, ...t.indexes].map((i) => i.name).join(', ')}` : ''}`,
      seconds: (count * rows) / ASSUMED_INDEX_ROWS_PER_SECOND + count * 0.05,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      await attachUniqueConstraints(c, t);
      for (const index of t.indexes) {
        await buildIndexConcurrently(c, t, index);
        const applied = await drain(ctx.applier, ctx.tables, 'forward', { runId: ctx.runId, maxRounds: 20 });
        if (applied) ctx.emit({ type: 'capture', applied });
      }
      return { indexes: count };
    },
  };
}
