/**
 * The run journal: a finished step's id is appended to consolidation.engine_runs.steps_done and a
 * row goes to monitoring.migration_operations, in one statement (it runs after every step, inside
 * the cutover's locked transaction too) — inside the step's transaction when it has one, so a
 * 'transaction' step is recorded exactly when its work commits.
 *
 * `instance`: the journal of one instance of a plan on a run (cutover and rollback): step ids are
 * recorded as `<instance>/<step>` and only this instance's entries count as done. A cutover rolled
 * back and cut over again is a new instance, so it runs every step again; a crashed one resumes its own.
 */
import type { Journal } from '../core/runner.js';
import type { RunContext } from '../core/step.js';

export function runJournal<C extends RunContext>(instance?: string): Journal<C> {
  const prefix = instance ? `${instance}/` : '';
  return {
    async done(ctx) {
      const r = await ctx.session.client.query<{ steps_done: string[] }>(
        'SELECT steps_done FROM consolidation.engine_runs WHERE run_id = $1',
        [ctx.runId],
      );
      const all = r.rows[0]?.steps_done ?? [];
      return new Set(all.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length)));
    },
    async record(ctx, step, seconds, details) {
      // the migration_operations row as bookkeeping.ts recordOperation writes it
      await ctx.session.client.query(
        `WITH done AS (
           UPDATE consolidation.engine_runs SET steps_done = array_append(steps_done, $2), updated_at = now()
            WHERE run_id = $1 AND NOT ($2 = ANY (steps_done)))
         INSERT INTO monitoring.migration_operations
           (run_id, migration_phase, operation_type, operation_target, operation_status, duration_seconds, details)
         VALUES ($1, $3, $4, $5, 'completed', $6, $7)`,
        [
          ctx.runId,
          prefix + step.id,
          step.phase,
          step.id.split(':')[0]!,
          step.id.split(':')[1] ?? 'schema',
          seconds,
          JSON.stringify({ ...(instance ? { instance } : {}), ...(details ?? {}) }),
        ],
      );
    },
  };
}
