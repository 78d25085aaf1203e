/** rollback:drain — under the locks, the reverse changes captured since the last drain. */
import type { Step } from '../../core/step.js';
import { applyCaptureBatch } from '../reconcile.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

export function rollbackDrainStep(): Step<RollbackContext> {
  return {
    id: 'rollback:drain',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({ summary: 'apply the reverse changes captured since, under the lock' }),
    async run(ctx) {
      for (;;) {
        const n = await applyCaptureBatch(ctx.session.client, ctx.tables, 'reverse', 10000, {
          inTransaction: true,
        });
        ctx.attempt.drainedUnderLock += n;
        if (n === 0) return { drained: ctx.attempt.drainedUnderLock };
      }
    },
  };
}
