/**
 * indexes:<table> — unique constraints and secondary indexes of one shadow table, plain builds in
 * the step's transaction (the shadow is invisible to the application until cutover; see
 * build.ts buildTableIndexes). Captured changes wait in the log meanwhile (a few seconds' worth:
 * the builds are fast) and are applied by capture:catch-up-2; the applier never runs during a step,
 * so it cannot wait on a build's SHARE lock. Concurrent: other tables' builds run beside it on the
 * run's lanes (each table's own builds stay in one session and one transaction).
 */
import type { Step } from '../../core/step.js';
import type { TableDef } from '../../schema/v2/model.js';
import { buildTableIndexes } from '../build.js';
import { ASSUMED_INDEX_ROWS_PER_SECOND, type ConsolidateContext } from './context.js';

export function indexesStep(t: TableDef, rows: number): Step<ConsolidateContext> {
  const count = t.indexes.length + t.uniques.length;
  return {
    id: `indexes:${t.schema}.${t.name}`,
    phase: 'phase3_optimization',
    tx: 'transaction',
    concurrent: true,
    describe: () => ({
      summary: `build ${count} indexes on the shadow ${t.schema}.${t.name} in one transaction (plain CREATE INDEX: nobody else uses the shadow; a crash leaves none half-built)${count ? `: ${[...t.uniques, ...t.indexes].map((i) => i.name).join(', ')}` : ''}`,
      seconds: (count * rows) / ASSUMED_INDEX_ROWS_PER_SECOND + count * 0.01,
    }),
    async run(ctx) {
      if (count === 0) return { indexes: 0 };
      return { indexes: await buildTableIndexes(ctx.session.client, t) };
    },
  };
}
