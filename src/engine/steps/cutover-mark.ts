/** cutover:mark — the run is cut over (commits with everything else or not at all); with --reset-app-sessions, statements queued behind the locks are ended just before COMMIT. */
import type { Step } from '../../core/step.js';
import { endQueuedStatements } from '../sessions.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverMarkStep(resetAppSessions: boolean): Step<CutoverContext> {
  return {
    id: 'cutover:mark',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `state cut_over${resetAppSessions ? '; end the application statements queued behind the locks (they have not run)' : ''}; COMMIT releases the locks`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      await c.query(
        `UPDATE consolidation.engine_runs SET state = 'cut_over', cutover_at = now(), updated_at = now() WHERE run_id = $1`,
        [ctx.runId],
      );
      if (resetAppSessions) ctx.attempt.queued = await endQueuedStatements(c);
      return { endedQueued: ctx.attempt.queued };
    },
  };
}
