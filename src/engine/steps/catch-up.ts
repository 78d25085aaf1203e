/** capture:catch-up* — apply every change captured so far to the shadow. */
import type { Step } from '../../core/step.js';
import { drain } from '../reconcile.js';
import type { ConsolidateContext } from './context.js';

export function catchUpStep(id: string, why: string): Step<ConsolidateContext> {
  return {
    id,
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({ summary: `apply all captured changes (${why})` }),
    async run(ctx) {
      return { applied: await drain(ctx.applier, ctx.tables, 'forward', { runId: ctx.runId }) };
    },
  };
}
