/** finish:<table> — row-level security and comments on a shadow table. */
import type { Step } from '../../core/step.js';
import type { TableDef } from '../../schema/v2/model.js';
import { finishShadowTable } from '../build.js';
import type { ConsolidateContext } from './context.js';

export function finishTableStep(t: TableDef): Step<ConsolidateContext> {
  return {
    id: `finish:${t.schema}.${t.name}`,
    phase: 'phase3_optimization',
    tx: 'transaction',
    describe: () => ({
      summary: `${t.rowLevelSecurity?.enabled ? `row-level security (${t.rowLevelSecurity.policies.length} policies) and ` : ''}comments on the shadow ${t.schema}.${t.name}`,
    }),
    run: (ctx) => finishShadowTable(ctx.session.client, t),
  };
}
