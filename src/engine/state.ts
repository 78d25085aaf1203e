/**
 * The engine's own state, in the database so a killed run resumes where it stopped and a DBA can
 * read it with psql. One row per run; per-table progress written in the same transaction as the
 * batch it describes, so the recorded position is exact. The tables are defined by the versioned
 * bookkeeping file db/bookkeeping/0005_engine_state.sql, like every schema dfc owns.
 */
import type pg from 'pg';
import { ensureBookkeeping } from '../bookkeeping.js';

export type RunState =
  | 'preparing'
  | 'capturing'
  | 'backfilling'
  | 'optimizing'
  | 'ready_for_cutover'
  | 'cut_over'
  | 'rolled_back'
  | 'aborted';

export interface RunRow {
  run_id: string;
  state: RunState;
  on_invalid: string;
  paused: boolean;
  steps_done: string[];
  started_at: Date;
  cutover_at: Date | null;
}

/** The engine's tables exist and are current: the one bookkeeping mechanism, nothing ad hoc. */
export async function ensureEngineState(c: pg.ClientBase): Promise<void> {
  await ensureBookkeeping(c);
}

/** The run that is neither cut over nor abandoned, if any. */
export async function activeRun(c: pg.ClientBase): Promise<RunRow | undefined> {
  const exists = await c.query(`SELECT to_regclass('consolidation.engine_runs') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return undefined;
  const r = await c.query<RunRow>(
    `SELECT run_id, state, on_invalid, paused, steps_done, started_at, cutover_at FROM consolidation.engine_runs
      WHERE state NOT IN ('cut_over','rolled_back','aborted')`,
  );
  return r.rows[0];
}

/** The latest run whatever its state. */
export async function latestRun(c: pg.ClientBase): Promise<RunRow | undefined> {
  const exists = await c.query(`SELECT to_regclass('consolidation.engine_runs') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return undefined;
  const r = await c.query<RunRow>(
    `SELECT run_id, state, on_invalid, paused, steps_done, started_at, cutover_at FROM consolidation.engine_runs
      ORDER BY run_id DESC LIMIT 1`,
  );
  return r.rows[0];
}

export async function setRunState(c: pg.ClientBase, runId: string, state: RunState): Promise<void> {
  await c.query('UPDATE consolidation.engine_runs SET state = $2, updated_at = now() WHERE run_id = $1', [
    runId,
    state,
  ]);
}

export async function stepDone(c: pg.ClientBase, runId: string, step: string): Promise<boolean> {
  const r = await c.query(
    'SELECT $2 = ANY (steps_done) AS done FROM consolidation.engine_runs WHERE run_id = $1',
    [runId, step],
  );
  return Boolean(r.rows[0]?.done);
}

export async function captureBacklog(c: pg.ClientBase, direction: 'forward' | 'reverse'): Promise<number> {
  const exists = await c.query(`SELECT to_regclass('consolidation.capture_log') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return 0;
  const r = await c.query<{ n: string }>(
    'SELECT count(*) AS n FROM consolidation.capture_log WHERE direction = $1',
    [direction],
  );
  return Number(r.rows[0]?.n ?? 0);
}
