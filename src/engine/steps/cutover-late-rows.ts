/** cutover:late-rows — rows that cannot convert and arrived after the check: abort refuses (CONSOLIDATION_04); quarantine reports. */
import type { Step } from '../../core/step.js';
import { refuseLateRows } from '../late-rows.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverLateRowsStep(): Step<CutoverContext> {
  return {
    id: 'cutover:late-rows',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'refuse late rows that cannot convert under --on-invalid abort (CONSOLIDATION_04, naming them); list the column type changes',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      await refuseLateRows(c, ctx.runId, ctx.onInvalid, ctx.present);
      // ctx.attempt.typeChanges: read with the surface (cutover:check-surface)
      return { typeChanges: ctx.attempt.typeChanges.length };
    },
  };
}
