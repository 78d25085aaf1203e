/**
 * cutover:capture-ready — before the locks, so none of it is DDL under them: forward capture
 * current on every legacy table (an earlier version's row trigger, or a partial set, replaced by
 * the statement triggers, whose functions go dormant as the table moves to the rollback copy),
 * and reverse capture created on every shadow table, dormant until the cutover moves it into
 * public/auth (capture.ts). After a rollback both are already there: nothing to do.
 */
import type { Step } from '../../core/step.js';
import { installCapture } from '../capture.js';
import { legacyLiveOf, shadowOf } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverCaptureReadyStep(): Step<CutoverContext> {
  return {
    id: 'cutover:capture-ready',
    phase: CUTOVER_PHASE,
    // each table's triggers in their own short transaction (installCapture), outside the locked one
    tx: 'none',
    describe: () => ({
      summary:
        'before the locks: forward capture current on every legacy table, reverse capture created on every shadow table (dormant until it moves into public/auth: no trigger DDL under the locks)',
    }),
    async run(ctx) {
      let forward = 0;
      let reverse = 0;
      const onRetry = (what: string) => (attempt: number, waitMs: number) =>
        ctx.emit({ type: 'retry', what, attempt, waitMs });
      for (const t of ctx.present) {
        const legacy = legacyLiveOf(t.def);
        if (
          await installCapture(
            ctx.session,
            t,
            legacy,
            'forward',
            onRetry(`forward capture on ${t.def.legacy.name}`),
          )
        )
          forward++;
        const shadow = shadowOf(t.def);
        if (
          await installCapture(
            ctx.session,
            t,
            shadow,
            'reverse',
            onRetry(`reverse capture on ${shadow.schema}.${shadow.name}`),
          )
        )
          reverse++;
      }
      return { forwardReplaced: forward, reverseCreated: reverse };
    },
  };
}
