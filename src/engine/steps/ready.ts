/** ready — last drain; the run is ready_for_cutover and capture keeps the shadow current. */
import type { Step } from '../../core/step.js';
import { drain } from '../reconcile.js';
import { setRunState } from '../state.js';
import type { ConsolidateContext } from './context.js';

export function readyStep(): Step<ConsolidateContext> {
  return {
    id: 'ready',
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary: 'state ready_for_cutover (change capture keeps running); then `dfc cutover`',
    }),
    async run(ctx) {
      const applied = await drain(ctx.applier, ctx.tables, 'forward', { runId: ctx.runId, maxRounds: 20 });
      if (applied) ctx.emit({ type: 'capture', applied });
      await setRunState(ctx.session.client, ctx.runId, 'ready_for_cutover');
      ctx.emit({
        type: 'phase',
        phase: 'ready_for_cutover',
        message: 'ready for cutover; change capture keeps the shadow current',
      });
    },
  };
}
