/** cutover:drain — under the locks, apply the last captured changes (nothing new can arrive). */
import type { Step } from '../../core/step.js';
import { applyCaptureBatch } from '../reconcile.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

const BATCH = 10000;

export function cutoverDrainStep(): Step<CutoverContext> {
  return {
    id: 'cutover:drain',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'apply the captured changes left (a handful: the backlog is drained outside the lock before each attempt)',
    }),
    async run(ctx) {
      for (;;) {
        const n = await applyCaptureBatch(ctx.session.client, ctx.present, 'forward', BATCH, {
          inTransaction: true,
          runId: ctx.runId,
        });
        ctx.attempt.drained += n;
        // a short batch drained the log: nothing new can arrive under the locks
        if (n < BATCH) return { drained: ctx.attempt.drained };
      }
    },
  };
}
