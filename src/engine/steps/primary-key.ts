/** pk:<table> — after the copy: captured keys removed, then the primary key built (one transaction). */
import type { Step } from '../../core/step.js';
import type { TableDef } from '../../schema/v2/model.js';
import { attachPrimaryKey } from '../build.js';
import { legacyLiveOf } from '../names.js';
import type { ConsolidateContext } from './context.js';

export function primaryKeyStep(t: TableDef, hasLegacy: boolean): Step<ConsolidateContext> {
  return {
    id: `pk:${t.schema}.${t.name}`,
    phase: 'phase3_optimization',
    tx: 'transaction',
    concurrent: true,
    describe: () => ({
      summary: `primary key ${t.primaryKey.name} on the shadow ${t.schema}.${t.name}${hasLegacy ? ' (captured keys re-applied from the source)' : ''}`,
    }),
    async run(ctx) {
      const mapped = ctx.tables.find((m) => m.def.schema === t.schema && m.def.name === t.name);
      return {
        recopied: await attachPrimaryKey(ctx.session.client, t, mapped ? legacyLiveOf(mapped.def) : null),
      };
    },
  };
}
