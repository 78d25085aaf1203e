/**
 * Who holds locks on some relations right now: named in CONSOLIDATION_03, so the DBA learns which
 * sessions kept the tool out (pid, role, application, state and for how long) without digging
 * through pg_locks. Never the query text: it can hold another application's literals.
 */
import type pg from 'pg';

export interface LockHolder {
  pid: number;
  user: string | null;
  application: string;
  state: string | null;
  /** seconds since its transaction began (null when not visible to this role) */
  transactionSeconds: number | null;
  relations: string[];
}

/** Sessions other than this one holding a granted lock on any of `relations` (regclass text), longest transaction first. */
export async function lockHolders(c: pg.ClientBase, relations: readonly string[]): Promise<LockHolder[]> {
  const r = await c.query<LockHolder>(
    `SELECT l.pid, a.usename::text AS user, coalesce(a.application_name, '') AS application, a.state,
            (extract(epoch FROM clock_timestamp() - a.xact_start))::float8 AS "transactionSeconds",
            array_agg(DISTINCT l.relation::regclass::text ORDER BY l.relation::regclass::text) AS relations
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
        AND l.relation = ANY (SELECT to_regclass(x) FROM unnest($1::text[]) x)
      GROUP BY l.pid, a.usename, a.application_name, a.state, a.xact_start
      ORDER BY a.xact_start NULLS LAST, l.pid`,
    [relations],
  );
  return r.rows;
}

/** One line per holder (at most `max`), for an error message. */
export function describeHolders(holders: LockHolder[], max = 5): string {
  const one = (h: LockHolder) =>
    `pid ${h.pid} (${h.user ?? '?'}, ${h.application || 'no application_name'}, ${h.state ?? 'state not visible'}${h.transactionSeconds === null ? '' : `, transaction open ${h.transactionSeconds.toFixed(1)} s`}) on ${h.relations.join(', ')}`;
  const shown = holders.slice(0, max).map(one).join('; ');
  return holders.length > max ? `${shown}; and ${holders.length - max} more` : shown;
}
