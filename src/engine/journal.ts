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
    async record(ctx, finished) {
      if (finished.length === 0) return;
      const col = <T>(f: (r: (typeof finished)[number]) => T) => finished.map(f);
      // one statement for all of them; the migration_operations rows as bookkeeping.ts
      // recordOperation writes them
      await ctx.session.client.query(
        `WITH entry AS (
           SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::jsonb[])
                    WITH ORDINALITY AS e(id, phase, type, target, seconds, details, n)),
         done AS (
           UPDATE consolidation.engine_runs
              SET steps_done = steps_done || ARRAY(SELECT e.id FROM entry e WHERE NOT (e.id = ANY (steps_done)) ORDER BY e.n),
                  updated_at = now()
            WHERE run_id = $1)
         INSERT INTO monitoring.migration_operations
           (run_id, migration_phase, operation_type, operation_target, operation_status, duration_seconds, details)
         SELECT $1, e.phase, e.type, e.target, 'completed', e.seconds, e.details FROM entry e ORDER BY e.n`,
        [
          ctx.runId,
          col((r) => prefix + r.step.id),
          col((r) => r.step.phase),
          col((r) => r.step.id.split(':')[0]!),
          col((r) => r.step.id.split(':')[1] ?? 'schema'),
          col((r) => r.seconds),
          col((r) => JSON.stringify({ ...(instance ? { instance } : {}), ...(r.details ?? {}) })),
        ],
      );
    },
  };
}
