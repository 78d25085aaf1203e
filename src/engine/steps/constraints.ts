/** checks:<table> / fks:<table> — CHECK or FK constraints added NOT VALID, then VALIDATEd. */
import type { Step } from '../../core/step.js';
import type { TableDef } from '../../schema/v2/model.js';
import { addConstraints } from '../build.js';
import type { ConsolidateContext } from './context.js';

export function constraintsStep(t: TableDef, kind: 'check' | 'fk'): Step<ConsolidateContext> {
  const items = kind === 'check' ? t.checks : t.foreignKeys;
  return {
    id: `${kind === 'check' ? 'checks' : 'fks'}:${t.schema}.${t.name}`,
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary: `${items.length} ${kind === 'check' ? 'CHECK' : 'FOREIGN KEY'} constraints on the shadow ${t.schema}.${t.name}: NOT VALID, then VALIDATE`,
    }),
    run: (ctx) => addConstraints(ctx.session.client, t, kind),
  };
}
