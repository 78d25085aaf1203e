/** shadow:create — shadow schemas and every v2 table (columns and defaults only), in one transaction. */
import type { Step } from '../../core/step.js';
import type { V2Definition } from '../../schema/v2/model.js';
import { allTables, dropShadowSql, shadowCreateSql } from '../build.js';
import { SHADOW_SCHEMA } from '../names.js';
import type { ConsolidateContext } from './context.js';

export function shadowCreateStep(v2: V2Definition): Step<ConsolidateContext> {
  return {
    id: 'shadow:create',
    phase: 'phase2_shadow',
    tx: 'transaction',
    describe: () => ({
      summary: `create schemas ${Object.values(SHADOW_SCHEMA).join(', ')} and ${allTables(v2).length} shadow tables (no index, no constraint: a bare heap for the copy)`,
    }),
    async run(ctx) {
      for (const q of shadowCreateSql(ctx.v2)) await ctx.session.client.query(q);
    },
    async undo(ctx) {
      for (const q of dropShadowSql()) await ctx.session.client.query(q);
    },
  };
}
