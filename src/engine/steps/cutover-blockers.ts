/**
 * --cancel-blockers-after MS: once the cutover has tried for MS to get its locks, a second session
 * watches the locking part of each attempt and cancels (pg_cancel_backend) the sessions that block
 * it — only those pg_blocking_pids names that hold a granted lock on a relation the cutover locks,
 * never a superuser's, a replication connection or the tool's own sessions. A session idle in its
 * transaction is out of a cancel's reach (PostgreSQL ignores a cancel between statements): once it
 * has been idle for MS too it is ended with pg_terminate_backend, as idle_in_transaction_session_timeout
 * would (its transaction rolls back, its connection closes); idle for less, it is looked at again
 * (a live transaction between two statements). Each one is reported once per statement (an event
 * and the result): cancelled, terminated, or skipped with the reason. `dfc consolidate` uses the same
 * watch for its one DDL on live tables, the capture triggers (steps/capture-install.ts).
 */
import type pg from 'pg';
import { connect } from '../../db/connection.js';
import { sleep } from '../../db/session.js';
import { DfcError } from '../../errors.js';
import type { EventSink } from '../events.js';
import type { Rel } from '../names.js';
import { q } from '../names.js';

/** The option's value checked: unset, or a positive number of milliseconds. */
export function cancelBlockersAfter(ms: number | undefined): number | undefined {
  if (ms !== undefined && !(Number.isFinite(ms) && ms > 0))
    throw new DfcError(
      'DFC_CONFIG',
      `cancelBlockersAfterMs must be a positive number, got ${JSON.stringify(ms)}`,
      {
        fix: 'pass --cancel-blockers-after with a whole number of milliseconds greater than 0, or leave it out',
      },
    );
  return ms;
}

export interface BlockerReport {
  pid: number;
  user: string | null;
  application: string;
  state: string | null;
  query: string;
  action: 'cancelled' | 'terminated' | 'skipped';
  /** why it was skipped or terminated, or why the signal was refused */
  reason?: string;
  /** pg_cancel_backend's or pg_terminate_backend's answer (false when skipped or already gone) */
  ok: boolean;
}

interface Row {
  pid: number;
  user: string | null;
  application: string;
  state: string | null;
  query: string;
  superuser: boolean | null;
  replication: boolean;
  /** ms since its state last changed (for a session idle in transaction: how long it has been idle) */
  idle_ms: number;
  /** when its current statement started: one statement is cancelled once */
  query_start: string | null;
}

export class BlockerWatch {
  readonly reports: BlockerReport[] = [];
  private active = false;
  private since = 0;
  private stopped = false;
  private loop?: Promise<void>;
  /** reported once: skipped sessions by pid, cancelled statements by pid and start, terminated pids */
  private seen = new Set<string>();

  private constructor(
    private readonly c: pg.Client,
    private readonly target: number,
    private readonly relations: string[],
    private readonly afterMs: number,
    private readonly emit: EventSink,
  ) {}

  /** Watch the session `watched` (the one that will wait for the locks) from a session of its own. */
  static async start(url: string, watched: pg.ClientBase, rels: Rel[], afterMs: number, emit: EventSink) {
    const target = (await watched.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const c = await connect(url, 'dfc-cutover-blockers');
    const w = new BlockerWatch(c, target, rels.map(q), afterMs, emit);
    w.loop = w.run();
    return w;
  }

  /** The cutover starts (or keeps) trying: the clock for MS starts at the first attempt. */
  trying(): void {
    if (!this.since) this.since = Date.now();
  }

  /** The locking part of an attempt begins / ends. */
  locking(on: boolean): void {
    this.active = on;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.active && this.since && Date.now() - this.since >= this.afterMs)
        await this.sweep().catch(() => {});
      await sleep(10);
    }
  }

  private async sweep(): Promise<void> {
    const r = await this.c.query<Row>(
      `SELECT a.pid, a.usename::text AS user, a.application_name AS application, a.state, left(a.query, 200) AS query,
              ro.rolsuper AS superuser, (coalesce(ro.rolreplication, false) OR a.backend_type <> 'client backend') AS replication,
              (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::float8 AS idle_ms, a.query_start::text AS query_start
         FROM pg_stat_activity a LEFT JOIN pg_roles ro ON ro.oid = a.usesysid
        WHERE a.pid = ANY (pg_blocking_pids($1))
          AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation'
                         AND l.relation = ANY (SELECT to_regclass(x) FROM unnest($2::text[]) x))`,
      [this.target, this.relations],
    );
    for (const b of r.rows) {
      const reason = b.superuser
        ? 'superuser'
        : b.replication
          ? 'replication or background process'
          : b.application.startsWith('dfc')
            ? "the tool's own session"
            : undefined;
      if (reason) {
        if (this.once(`skipped ${b.pid}`)) this.report({ ...b, action: 'skipped', reason, ok: false });
        continue;
      }
      if (b.state?.startsWith('idle in transaction')) {
        // between two statements of a transaction that is still working: look again next sweep
        if (b.idle_ms < this.afterMs || !this.once(`terminated ${b.pid}`)) continue;
        const sent = await this.signal('pg_terminate_backend', b.pid);
        const why = `idle in transaction for ${Math.round(b.idle_ms)} ms: a cancel does not reach a session between statements`;
        this.report({
          ...b,
          action: 'terminated',
          reason: sent.refused ? `${why}; ${sent.refused}` : why,
          ok: sent.ok,
        });
        continue;
      }
      const sent = await this.signal('pg_cancel_backend', b.pid);
      if (this.once(`cancelled ${b.pid} ${b.query_start}`))
        this.report({
          ...b,
          action: 'cancelled',
          ok: sent.ok,
          ...(sent.refused ? { reason: sent.refused } : {}),
        });
    }
  }

  /** Send the signal; a role without the right to (pg_signal_backend) is reported, not thrown. */
  private async signal(
    fn: 'pg_cancel_backend' | 'pg_terminate_backend',
    pid: number,
  ): Promise<{ ok: boolean; refused?: string }> {
    try {
      const r = await this.c.query<{ ok: boolean }>(
        fn === 'pg_cancel_backend'
          ? 'SELECT pg_cancel_backend($1) AS ok'
          : 'SELECT pg_terminate_backend($1) AS ok',
        [pid],
      );
      return { ok: Boolean(r.rows[0]?.ok) };
    } catch (e) {
      return {
        ok: false,
        refused: `${fn} refused: ${(e as Error).message} (grant pg_signal_backend to the role dfc runs as)`,
      };
    }
  }

  /** true the first time `key` is seen */
  private once(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  private report(x: Row & Omit<BlockerReport, keyof Row | 'pid'>): void {
    const out: BlockerReport = {
      pid: x.pid,
      user: x.user,
      application: x.application,
      state: x.state,
      query: x.query,
      action: x.action,
      ok: x.ok,
      ...(x.reason ? { reason: x.reason } : {}),
    };
    this.reports.push(out);
    this.emit({ type: 'blocker', ...out });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.c.end().catch(() => {});
  }
}
