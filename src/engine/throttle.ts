/**
 * Back off when the database is under pressure, and honour pause requests
 * (`dfc consolidate pause|resume` flips consolidation.engine_runs.paused). Checked between batches.
 */
import type pg from 'pg';
import { sleep } from '../db/session.js';

export interface ThrottleOptions {
  /** pause between batches, ms */
  batchDelayMs: number;
  /** back off while more than this many other sessions are active */
  maxActiveSessions: number;
  /** back off while more than this many lock requests wait */
  maxLockWaits: number;
  /** back off while any replica's replay lag exceeds this, ms */
  maxReplicationLagMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  batchDelayMs: 0,
  maxActiveSessions: 64,
  maxLockWaits: 8,
  maxReplicationLagMs: 5000,
};

export interface Pressure {
  activeSessions: number;
  lockWaits: number;
  replicationLagMs: number;
  paused: boolean;
}

export async function readPressure(c: pg.ClientBase, runId: string): Promise<Pressure> {
  const r = await c.query<{ active: string; waits: string; lag: string | null; paused: boolean }>(
    `SELECT (SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
              AND backend_type = 'client backend') AS active,
            (SELECT count(*) FROM pg_locks WHERE NOT granted) AS waits,
            (SELECT max(extract(epoch FROM replay_lag) * 1000) FROM pg_stat_replication) AS lag,
            (SELECT paused FROM consolidation.engine_runs WHERE run_id = $1) AS paused`,
    [runId],
  );
  const row = r.rows[0]!;
  return {
    activeSessions: Number(row.active),
    lockWaits: Number(row.waits),
    replicationLagMs: Number(row.lag ?? 0),
    paused: Boolean(row.paused),
  };
}

/** Wait until a batch may run. Reports each wait through onWait. */
export async function throttle(
  c: pg.ClientBase,
  runId: string,
  opts: ThrottleOptions,
  onWait?: (reason: string, p: Pressure) => void,
): Promise<void> {
  if (opts.batchDelayMs > 0) await sleep(opts.batchDelayMs);
  for (let round = 0; ; round++) {
    const p = await readPressure(c, runId);
    const reason = p.paused
      ? 'paused'
      : p.activeSessions > opts.maxActiveSessions
        ? `active sessions ${p.activeSessions} > ${opts.maxActiveSessions}`
        : p.lockWaits > opts.maxLockWaits
          ? `lock waits ${p.lockWaits} > ${opts.maxLockWaits}`
          : p.replicationLagMs > opts.maxReplicationLagMs
            ? `replication lag ${Math.round(p.replicationLagMs)} ms > ${opts.maxReplicationLagMs}`
            : undefined;
    if (!reason) return;
    onWait?.(reason, p);
    await sleep(Math.min(5000, 100 * 2 ** Math.min(round, 6)));
  }
}
