/**
 * `dfc consolidate status` (guide: validate_migration_step('post_data_migration')): per table,
 * legacy vs shadow row counts and checksums over the carried columns, the capture backlog,
 * invalid indexes, and which steps are left.
 */
import type pg from 'pg';
import { connect } from '../db/connection.js';
import { FOLLOWER_APPLICATION } from '../db/lock.js';
import { V2 } from '../schema/v2/index.js';
import { type QuarantineReport, quarantineReport } from './late-rows.js';
import { mapTable } from './mapping.js';
import { legacyLiveOf, q, SHADOW_SCHEMA, shadowOf } from './names.js';
import { activeRun, captureBacklog, latestRun } from './state.js';
import { compareMappedRows } from './support.js';

export interface TableStatus {
  table: string;
  legacyRows: number;
  shadowRows: number;
  checksumsMatch: boolean;
  backfillDone: boolean;
}

export interface ConsolidationStatus {
  runId: string | null;
  state: string;
  paused: boolean;
  captureBacklog: number;
  reverseBacklog: number;
  /** forward changes not yet applied to the shadow: how many, and the age of the oldest (s) */
  lag: { rows: number; seconds: number };
  /** the `dfc consolidate --follow` session, if one is running */
  follower: { pid: number; since: string } | null;
  invalidIndexes: string[];
  tables: TableStatus[];
  stepsDone: number;
  inSync: boolean;
  /** rows this run quarantined; legacy = v2 + kept out per table (null before any run) */
  quarantine: QuarantineReport | null;
}

export async function consolidationStatus(
  url: string,
  opts: { exact?: boolean } = {},
): Promise<ConsolidationStatus> {
  const c = await connect(url, 'dfc-status');
  try {
    const run = (await activeRun(c)) ?? (await latestRun(c));
    const base = {
      runId: run?.run_id ?? null,
      state: run?.state ?? 'not_started',
      paused: run?.paused ?? false,
      captureBacklog: await captureBacklog(c, 'forward'),
      reverseBacklog: await captureBacklog(c, 'reverse'),
      stepsDone: run?.steps_done.length ?? 0,
    };
    const lag = await captureLag(c);
    const fol = await c.query<{ pid: number; since: Date }>(
      `SELECT pid, backend_start AS since FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() LIMIT 1`,
      [FOLLOWER_APPLICATION],
    );
    const follower = fol.rows[0] ? { pid: fol.rows[0].pid, since: fol.rows[0].since.toISOString() } : null;
    const inv = await c.query<{ name: string }>(
      `SELECT n.nspname || '.' || ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = ic.relnamespace WHERE NOT i.indisvalid AND n.nspname = ANY ($1)`,
      [[...Object.values(SHADOW_SCHEMA), 'public', 'auth']],
    );
    const tables: TableStatus[] = [];
    const shadowExists = await c.query('SELECT to_regnamespace($1) IS NOT NULL AS ok', [
      SHADOW_SCHEMA.public,
    ]);
    if (run && shadowExists.rows[0]?.ok && run.state !== 'cut_over') {
      for (const t of V2.tables.map((t) => mapTable(t, V2.tables))) {
        const legacy = legacyLiveOf(t.def);
        const present = await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [q(legacy)]);
        if (!present.rows[0]?.ok) continue;
        const cmp = await compareMappedRows(
          c,
          t,
          legacy,
          shadowOf(t.def),
          t.targetColumns.forward.map((x) => x.column),
          { checksum: opts.exact !== false },
        );
        const done = await c.query<{ backfill_done: boolean }>(
          'SELECT backfill_done FROM consolidation.engine_tables WHERE run_id = $1 AND table_name = $2',
          [run.run_id, t.captureName.forward],
        );
        tables.push({
          table: t.captureName.forward,
          legacyRows: cmp.legacyRows,
          shadowRows: cmp.v2Rows,
          checksumsMatch: cmp.checksumsMatch,
          backfillDone: Boolean(done.rows[0]?.backfill_done),
        });
      }
    }
    const quarantine = run
      ? await quarantineReport(
          c,
          run.run_id,
          V2.tables.map((t) => mapTable(t, V2.tables)),
          run.state === 'cut_over' ? 'after_cutover' : 'before_cutover',
        ).catch(() => null) // a table already gone (aborted run): the counts have nothing to compare
      : null;
    return {
      ...base,
      lag,
      follower,
      quarantine,
      invalidIndexes: inv.rows.map((r) => r.name),
      tables,
      inSync: tables.length > 0 && tables.every((t) => t.checksumsMatch) && base.captureBacklog === 0,
    };
  } finally {
    await c.end().catch(() => {});
  }
}

/** Forward changes captured and not yet applied: count and the age of the oldest, in seconds. */
export async function captureLag(c: pg.ClientBase): Promise<{ rows: number; seconds: number }> {
  const exists = await c.query(`SELECT to_regclass('consolidation.capture_log') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return { rows: 0, seconds: 0 };
  const r = await c.query<{ n: string; s: number | null }>(
    `SELECT count(*) AS n, extract(epoch FROM clock_timestamp() - min(captured_at))::float8 AS s
       FROM consolidation.capture_log WHERE direction = 'forward'`,
  );
  return { rows: Number(r.rows[0]?.n ?? 0), seconds: Math.max(0, r.rows[0]?.s ?? 0) };
}

export async function setPaused(url: string, paused: boolean): Promise<boolean> {
  const c = await connect(url, 'dfc-pause');
  try {
    const run = await activeRun(c);
    if (!run) return false;
    await c.query('UPDATE consolidation.engine_runs SET paused = $2, updated_at = now() WHERE run_id = $1', [
      run.run_id,
      paused,
    ]);
    return true;
  } finally {
    await c.end().catch(() => {});
  }
}
