/**
 * The run journal: a finished step's id is appended to consolidation.engine_runs.steps_done and a
 * row goes to monitoring.migration_operations — inside the step's transaction when it has one, so
 * a 'transaction' step is recorded exactly when its work commits.
 */
import { recordOperation } from '../bookkeeping.js';
import type { Journal } from '../core/runner.js';
import type { RunContext } from '../core/step.js';
import { markStep } from './state.js';

export function runJournal<C extends RunContext>(): Journal<C> {
  return {
    async done(ctx) {
      const r = await ctx.session.client.query<{ steps_done: string[] }>(
        'SELECT steps_done FROM consolidation.engine_runs WHERE run_id = $1',
        [ctx.runId],
      );
      return new Set(r.rows[0]?.steps_done ?? []);
    },
    async record(ctx, step, seconds, details) {
      await markStep(ctx.session.client, ctx.runId, step.id);
      await recordOperation(ctx.session.client, {
        phase: step.phase,
        type: step.id.split(':')[0]!,
        target: step.id.split(':')[1] ?? 'schema',
        status: 'completed',
        durationSeconds: seconds,
        runId: ctx.runId,
        details: details ?? {},
      });
    },
  };
}
