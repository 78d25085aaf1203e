/**
 * rollback:lock — the cutover's lock discipline in reverse: one LOCK of the v2 tables, the v2 views
 * and the copy, bounded by lock_timeout and statement_timeout; the surface check (before anything
 * moves); then the shadow schemas and the v2 materialized views moved into them (their lock under
 * the short lock_timeout left in force).
 */
import type { Step, StepDetails } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { SHADOW_SCHEMA } from '../names.js';
import { relOf } from '../rollback-points.js';
import { contendedFirst, lockSql } from './cutover-lock.js';
import { moveSql } from './cutover-move.js';
import { freshRollbackAttempt, ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

/** `underLock`: what must run right after the LOCK, before anything moves (the surface check). */
export function rollbackLockStep(
  count: number,
  underLock?: (ctx: RollbackContext) => Promise<StepDetails>,
): Step<RollbackContext> {
  return {
    id: 'rollback:lock',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `BEGIN; lock_timeout and statement_timeout = the lock timeout; LOCK ${count} relations (v2 tables, the v2 views and the copy; those other sessions hold right now first) IN ACCESS EXCLUSIVE MODE (retried with backoff on timeout); v2 materialized views to the shadow schemas`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      ctx.attempt = freshRollbackAttempt();
      await ctx.session.setLocalTimeouts(ctx.lockTimeoutMs, ctx.lockTimeoutMs);
      await c.query(lockSql(await contendedFirst(c, ctx.toLock)));
      ctx.attempt.lockedAt = Date.now();
      await ctx.session.setLocalTimeouts(ctx.lockTimeoutMs, ctx.session.policy.statementTimeoutMs);
      const checked = await underLock?.(ctx);
      for (const s of Object.values(SHADOW_SCHEMA))
        await c.query(build(sql`CREATE SCHEMA IF NOT EXISTS ${ident(s)}`));
      const matviews = ctx.point.details.movedIn.filter((x) => x.kind === 'm');
      for (const m of matviews) await c.query(moveSql('m', relOf(m, 'live'), SHADOW_SCHEMA[m.schema]));
      return { locked: ctx.toLock.length, matviews: matviews.length, ...checked };
    },
  };
}
