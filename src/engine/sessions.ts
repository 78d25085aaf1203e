/**
 * `dfc cutover --reset-app-sessions`. A client that cached prepared statements on legacy (pgx by
 * default, JDBC after a few executions, node-postgres named statements) keeps their parameter and
 * result types after cutover: `42804 column "user_id" is of type uuid but expression is of type
 * text`, `0A000 cached plan must not change result type`, until the connection is replaced. So,
 * on request: just before COMMIT the application's statements queued behind the cutover locks are
 * ended (they have not run: retrying them on a new connection is safe); right after COMMIT idle
 * application sessions are ended at once and busy ones as soon as their statement or transaction
 * ends. Never the tool's own sessions (application_name dfc*), superusers', replication or
 * background workers. Pools reconnect and prepare afresh against v2.
 */
import type pg from 'pg';
import type { V2Definition } from '../schema/v2/model.js';
import { mapTable } from './mapping.js';
import { legacyLiveOf, q } from './names.js';

export interface TypeChange {
  table: string;
  column: string;
  legacy: string;
  v2: string;
}

/** Columns whose type differs between legacy (live catalog) and v2: what breaks cached statements. */
export async function columnTypeChanges(c: pg.ClientBase, v2: V2Definition): Promise<TypeChange[]> {
  const items: { table: string; rel: string; column: string; legacyColumn: string; type: string }[] = [];
  for (const def of v2.tables) {
    const t = mapTable(def, v2.tables);
    for (const col of def.columns) {
      const m = def.mapping[col.name];
      const identity = m && /^\(?s\.("?)([a-z_][a-z0-9_]*)\1(::[a-z0-9_ ]+)?\)?$/.exec(m.forward.trim());
      const legacyColumn = m?.legacyColumn ?? identity?.[2] ?? col.name;
      items.push({
        table: t.captureName.forward,
        rel: q(legacyLiveOf(def)),
        column: col.name,
        legacyColumn,
        type: col.type,
      });
    }
  }
  const r = await c.query<TypeChange>(
    `SELECT x.table, x.column, format_type(a.atttypid, a.atttypmod) AS legacy,
            coalesce(format_type(to_regtype(x.type), NULL), x.type) AS v2
       FROM jsonb_to_recordset($1::jsonb) AS x("table" text, rel text, "column" text, "legacyColumn" text, type text)
       JOIN pg_attribute a ON a.attrelid = to_regclass(x.rel) AND a.attname = x."legacyColumn" AND NOT a.attisdropped
      WHERE to_regtype(x.type) IS DISTINCT FROM a.atttypid
      ORDER BY 1, 2`,
    [JSON.stringify(items)],
  );
  return r.rows;
}

/** Sessions that are the application's: client backends of this database, not ours, not superusers. */
const APP_SESSIONS = `
  SELECT a.pid, a.state, a.usename::text AS usename, a.application_name
    FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
   WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
     AND NOT r.rolsuper AND NOT r.rolreplication AND a.application_name NOT LIKE 'dfc%'`;

/** Inside the cutover transaction, just before COMMIT: end application statements waiting for our locks. */
export async function endQueuedStatements(c: pg.ClientBase): Promise<number> {
  const r = await c.query<{ n: string }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(s.pid)) AS n FROM (${APP_SESSIONS}) s
      WHERE pg_backend_pid() = ANY (pg_blocking_pids(s.pid))`,
  );
  return Number(r.rows[0]?.n ?? 0);
}

export interface SessionReset {
  /** statements queued behind the cutover locks, ended before COMMIT (they had not run) */
  endedQueued: number;
  ended: number;
  endedWhenIdle: number;
  /** still busy at the deadline: ended anyway */
  endedAtDeadline: number;
}

/**
 * After COMMIT: end every application session that started before `since` (when the cutover's
 * locks were granted: a session opened later could prepare nothing against legacy, as every
 * legacy table was locked). Idle ones at once; busy
 * ones (active, or inside a transaction) once they are idle, polling; any still busy after
 * `waitMs` are ended then (their transaction rolls back, as on any lost connection).
 */
export async function resetAppSessions(
  c: pg.ClientBase,
  since: string,
  endedQueued: number,
  waitMs = 30_000,
): Promise<SessionReset> {
  const out: SessionReset = { endedQueued, ended: 0, endedWhenIdle: 0, endedAtDeadline: 0 };
  const ended = new Set<number>();
  const deadline = Date.now() + waitMs;
  for (let first = true; ; first = false) {
    const r = await c.query<{ pid: number; state: string | null }>(
      `SELECT s.pid, s.state FROM (${APP_SESSIONS}) s JOIN pg_stat_activity a ON a.pid = s.pid
        WHERE a.backend_start < $1::timestamptz`,
      [since],
    );
    const open = r.rows.filter((x) => !ended.has(x.pid));
    if (open.length === 0) return out;
    const late = Date.now() >= deadline;
    for (const s of open) {
      if (s.state !== 'idle' && !late) continue;
      await c.query('SELECT pg_terminate_backend($1)', [s.pid]);
      ended.add(s.pid);
      if (late) out.endedAtDeadline++;
      else if (first) out.ended++;
      else out.endedWhenIdle++;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}
