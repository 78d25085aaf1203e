/**
 * cutover:lock — the first step of the cutover transaction: ACCESS EXCLUSIVE on every legacy
 * table, the legacy views v2 replaces and the shadow tables in one LOCK, bounded by lock_timeout
 * and by statement_timeout (so the application queues behind us for at most the timeout, not
 * tables × timeout). Once held, statements get the session's statement bound, but every further
 * lock wait of the transaction keeps the short lock_timeout (a reader of a materialized view makes
 * the attempt retry instead of stalling the application behind the locks already held).
 */
import type { Step } from '../../core/step.js';
import { build, ident, join, type SqlQuery, sql } from '../../sql/sql.js';
import type { Rel } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext, freshAttempt } from './cutover-context.js';

export function lockSql(toLock: Rel[]): SqlQuery {
  return build(sql`LOCK TABLE ${join(toLock.map((r) => ident(r)))} IN ACCESS EXCLUSIVE MODE`);
}

export function cutoverLockStep(count: number): Step<CutoverContext> {
  return {
    id: 'cutover:lock',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `LOCK ${count} relations (legacy tables, the legacy views v2 replaces, the shadow tables) IN ACCESS EXCLUSIVE MODE under lock_timeout and statement_timeout; the locked steps are retried whole with jittered backoff`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      ctx.attempt = freshAttempt();
      await ctx.session.setLocalTimeouts(ctx.lockTimeoutMs, ctx.lockTimeoutMs);
      ctx.blockers?.locking(true);
      await c.query(lockSql(ctx.toLock));
      ctx.attempt.lockedAt = Date.now();
      // one round trip: the server's clock and the session's statement bound back (the short
      // lock_timeout stays for every later lock wait); same settings as session.setLocalTimeouts
      const after = await c.query<{ t: string }>(
        `SELECT clock_timestamp()::text AS t, set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
        [
          `${Math.max(1, Math.floor(ctx.lockTimeoutMs))}ms`,
          `${Math.max(1, Math.floor(ctx.session.policy.statementTimeoutMs))}ms`,
        ],
      );
      ctx.attempt.lockedAtDb = after.rows[0]!.t;
      return { locked: ctx.toLock.length };
    },
  };
}
