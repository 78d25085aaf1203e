/** cutover:rollback-point — recorded in the cutover transaction, before the moves: it exists exactly when the cutover commits. */
import type { Step } from '../../core/step.js';
import { recordRollbackPoint } from '../rollback-points.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverRollbackPointStep(): Step<CutoverContext> {
  return {
    id: 'cutover:rollback-point',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'record the rollback point (what moves in and out and the legacy functions, read with the surface before the locks; per-table comparison statements); older open points superseded — one statement',
    }),
    async run(ctx) {
      ctx.attempt.rollbackPoint = await recordRollbackPoint(
        ctx.session.client,
        ctx.runId,
        ctx.present,
        ctx.attempt.pointCatalog!,
      );
      return { rollbackPoint: ctx.attempt.rollbackPoint };
    },
  };
}
