/**
 * cutover:lock — the first step of the cutover transaction: ACCESS EXCLUSIVE on every legacy
 * table, the legacy views v2 replaces and the shadow tables in one LOCK, bounded by lock_timeout
 * and by statement_timeout (so the application queues behind us for at most the timeout, not
 * tables × timeout). Once held, statements get the session's statement bound, but every further
 * lock wait of the transaction keeps the short lock_timeout (a reader of a materialized view makes
 * the attempt retry instead of stalling the application behind the locks already held).
 */
import type pg from 'pg';
import type { Step } from '../../core/step.js';
import { build, ident, join, type SqlQuery, sql } from '../../sql/sql.js';
import { q, type Rel } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext, freshAttempt } from './cutover-context.js';

export function lockSql(toLock: Rel[]): SqlQuery {
  return build(sql`LOCK TABLE ${join(toLock.map((r) => ident(r)))} IN ACCESS EXCLUSIVE MODE`);
}

/**
 * `rels` in the order to lock them: first those other sessions hold a lock on right now (most
 * holders first), then the rest as given. LOCK TABLE takes its list in order, so the wait for a
 * busy table (a reporting job's long read) happens while the cutover holds nothing yet, instead of
 * queueing the application behind the tables already locked. One catalog read, before the LOCK.
 */
export async function contendedFirst(c: pg.ClientBase, rels: Rel[]): Promise<Rel[]> {
  const r = await c.query<{ i: number }>(
    `SELECT x.i::int AS i FROM unnest($1::text[]) WITH ORDINALITY AS x(rel, i)
      ORDER BY (SELECT count(DISTINCT l.pid) FROM pg_catalog.pg_locks l
                 WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
                   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
                   AND l.relation = pg_catalog.to_regclass(x.rel)) DESC, x.i`,
    [rels.map(q)],
  );
  return r.rows.map((x) => rels[x.i - 1]!);
}

export function cutoverLockStep(count: number): Step<CutoverContext> {
  return {
    id: 'cutover:lock',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `LOCK ${count} relations (legacy tables, the legacy views v2 replaces, the shadow tables; those other sessions hold right now first) IN ACCESS EXCLUSIVE MODE under lock_timeout and statement_timeout; the locked steps are retried whole with jittered backoff`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      ctx.attempt = freshAttempt();
      await ctx.session.setLocalTimeouts(ctx.lockTimeoutMs, ctx.lockTimeoutMs);
      const order = await contendedFirst(c, ctx.toLock);
      ctx.blockers?.locking(true);
      await c.query(lockSql(order));
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
