/**
 * checks:<table> / fks:<table> — CHECK or FK constraints added NOT VALID, then VALIDATEd.
 * Concurrent with the other tables' (lanes): two FKs to the same table wait for each other's
 * brief ADD (SHARE ROW EXCLUSIVE) but not for a VALIDATE (ROW SHARE on the referenced table);
 * a cycle the server breaks (40P01) is retried by the runner, and addConstraints is idempotent.
 */
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
    concurrent: true,
    describe: () => ({
      summary: `${items.length} ${kind === 'check' ? 'CHECK' : 'FOREIGN KEY'} constraints on the shadow ${t.schema}.${t.name}: NOT VALID, then VALIDATE`,
    }),
    run: (ctx) => addConstraints(ctx.session.client, t, kind),
  };
}
