/**
 * cutover:capture-ready — before the locks, so none of it is DDL under them: forward capture
 * current on every legacy table (an earlier version's row trigger, or a partial set, replaced by
 * the statement triggers, whose functions go dormant as the table moves to the rollback copy),
 * and reverse capture created on every shadow table, dormant until the cutover moves it into
 * public/auth (capture.ts). After a rollback both are already there: nothing to do.
 */
import type { Step } from '../../core/step.js';
import { installCaptures } from '../capture.js';
import { legacyLiveOf } from '../names.js';
import { installReverseOnShadow } from './capture-install.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverCaptureReadyStep(): Step<CutoverContext> {
  return {
    id: 'cutover:capture-ready',
    phase: CUTOVER_PHASE,
    // each table lacking triggers gets them in its own short transaction, outside the locked one
    tx: 'none',
    describe: () => ({
      summary:
        'before the locks: forward capture current on every legacy table, reverse capture on every shadow table (dormant until it moves into public/auth: no trigger DDL under the locks)',
    }),
    async run(ctx) {
      const forwardReplaced = await installCaptures(
        ctx.session,
        ctx.present,
        (t) => legacyLiveOf(t.def),
        'forward',
        (rel, attempt, waitMs) =>
          ctx.emit({ type: 'retry', what: `forward capture on ${rel.schema}.${rel.name}`, attempt, waitMs }),
      );
      // normally made by consolidate (capture:reverse); a run that reached ready_for_cutover with
      // an earlier version has none
      const reverseCreated = await installReverseOnShadow(ctx.session, ctx.present, ctx.emit);
      return { forwardReplaced, reverseCreated };
    },
  };
}
