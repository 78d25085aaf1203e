/**
 * Several sessions, one snapshot: the coordinator opens a REPEATABLE READ transaction and exports
 * its snapshot (pg_export_snapshot) before anything else; every worker starts a REPEATABLE READ
 * transaction with SET TRANSACTION SNAPSHOT as its first statement, so each sees exactly the
 * coordinator's data (PostgreSQL guarantees the same snapshot, not an equivalent one). The
 * coordinator's transaction stays open until every worker is done. A worker's own writes (the
 * reverse queue it applies to the rollback-copy tables it owns) are visible only to itself, so a
 * table's queue and its copy-side comparison always run in the same session.
 */
import type pg from 'pg';
import { connect } from '../db/connection.js';
import { quoteLiteral } from '../sql/sql.js';

export interface SnapshotSessions {
  /** sessions[0] is the coordinator (the exporter) */
  sessions: pg.Client[];
  snapshot: string;
  /** COMMIT every worker, then the coordinator */
  commit(): Promise<void>;
  /** ROLLBACK and disconnect everything (after commit: disconnect only) */
  close(): Promise<void>;
}

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$/i;

export async function openSnapshotSessions(
  url: string,
  count: number,
  app: string,
): Promise<SnapshotSessions> {
  const sessions: pg.Client[] = [];
  let committed = false;
  const close = async () => {
    for (const s of sessions.slice().reverse()) {
      if (!committed) await s.query('ROLLBACK').catch(() => {});
      await s.end().catch(() => {});
    }
  };
  try {
    const coordinator = await connect(url, app);
    sessions.push(coordinator);
    await coordinator.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const r = await coordinator.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = r.rows[0]!.id;
    // the id is the server's own, checked before it goes into the one statement that takes no parameters
    if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`unexpected snapshot id ${snapshot}`);
    for (let i = 1; i < count; i++) {
      const w = await connect(url, app);
      sessions.push(w);
      await w.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await w.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    }
    return {
      sessions,
      snapshot,
      async commit() {
        for (const s of sessions.slice(1)) await s.query('COMMIT');
        await sessions[0]!.query('COMMIT');
        committed = true;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface Job<T> {
  name: string;
  /** relative cost: the pool starts the biggest first (longest-processing-time order) */
  cost: number;
  /** the session that must run it (its queue was applied there), else any */
  session?: number;
  run(c: pg.ClientBase, session: number): Promise<T>;
}

export interface JobResult<T> {
  name: string;
  session: number;
  seconds: number;
  value: T;
}

/**
 * Run jobs on the sessions, each session taking the next biggest job it may run as soon as it is
 * free. A failure lets the running jobs finish, then throws the first error.
 */
export async function runJobs<T>(sessions: pg.ClientBase[], jobs: Job<T>[]): Promise<JobResult<T>[]> {
  const pending = [...jobs].sort((a, b) => b.cost - a.cost);
  const out: JobResult<T>[] = [];
  let failure: unknown;
  const worker = async (i: number) => {
    for (;;) {
      if (failure !== undefined) return;
      const k = pending.findIndex((j) => j.session === undefined || j.session === i);
      if (k < 0) return;
      const job = pending.splice(k, 1)[0]!;
      const t0 = process.hrtime.bigint();
      try {
        const value = await job.run(sessions[i]!, i);
        out.push({ name: job.name, session: i, seconds: Number(process.hrtime.bigint() - t0) / 1e9, value });
      } catch (e) {
        failure ??= e;
        return;
      }
    }
  };
  await Promise.all(sessions.map((_, i) => worker(i)));
  if (failure !== undefined) throw failure;
  return out;
}
