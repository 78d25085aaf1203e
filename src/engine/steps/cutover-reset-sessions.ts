/** cutover:reset-sessions — after COMMIT (--reset-app-sessions): application sessions opened before the locks are ended, idle at once, busy when idle. */
import type { Step } from '../../core/step.js';
import { resetAppSessions } from '../sessions.js';
import { AFTER_CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverResetSessionsStep(): Step<CutoverContext> {
  return {
    id: 'cutover:reset-sessions',
    phase: AFTER_CUTOVER_PHASE,
    tx: 'none',
    describe: () => ({
      summary:
        "end the application's sessions opened before the locks (never dfc's, superusers' or replication), so cached prepared statements are made afresh against v2",
    }),
    async run(ctx) {
      ctx.sessions = await resetAppSessions(
        ctx.session.client,
        ctx.attempt.lockedAtDb,
        ctx.attempt.queued,
        ctx.resetWaitMs,
      );
      return { ...ctx.sessions };
    },
  };
}
