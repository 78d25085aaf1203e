/**
 * Closing the rollback window. `dfc finalize` marks the open point finalized first (so no rollback
 * can start on a copy that stops being kept current), then drops reverse capture from each v2 table
 * (each DROP TRIGGER under lock_timeout with retries: the application never queues behind it for
 * longer than that), forgets the reverse backlog, and schedules the copy for cleanup — or drops it
 * now. `rollbackWindow` is what `dfc rollback status` shows: open or not, since when, and its cost.
 */
import type pg from 'pg';
import { ensureBookkeeping, recordOperation } from '../bookkeeping.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { Session, sessionPolicy } from '../db/session.js';
import { DfcError } from '../errors.js';
import { captureState, captureTriggerName, dropCaptureSql } from './capture.js';
import type { EventSink } from './events.js';
import type { Rel } from './names.js';
import { latestRollbackPoint, readRollbackPoints } from './rollback-points.js';

export interface FinalizeOptions {
  /** keep the rollback copy this many days before `dfc rollback cleanup` may drop it (default 7) */
  keepDays?: number;
  /** drop the rollback copy now */
  dropNow?: boolean;
  lockTimeoutMs?: number;
  onEvent?: EventSink;
}

export interface FinalizeResult {
  point: string;
  triggersDropped: number;
  backlogDiscarded: number;
  copyDropped: boolean;
  expiresAt: Date | null;
}

const splitRel = (quoted: string): Rel => {
  const [schema, name] = quoted.split('.').map((x) => x.replace(/^"|"$/g, '').replaceAll('""', '"'));
  return { schema: schema!, name: name! };
};

export async function finalizeCutover(url: string, opts: FinalizeOptions = {}): Promise<FinalizeResult> {
  const keepDays = opts.dropNow ? 0 : (opts.keepDays ?? 7);
  const session = await Session.open(
    url,
    'dfc-finalize',
    sessionPolicy({ lockTimeoutMs: opts.lockTimeoutMs ?? 500 }),
  );
  const c = session.client;
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    await ensureBookkeeping(c);
    const point = await latestRollbackPoint(c);
    // a finalize killed half-way is resumed: the point is already finalized, triggers may remain
    if (!point || (point.state !== 'valid' && point.state !== 'finalized'))
      throw new DfcError(
        'CONSOLIDATION_05',
        `no open rollback window to close (latest point: ${point ? `${point.id}, ${point.state}` : 'none'})`,
        { fix: 'finalize applies after `dfc cutover`; see `dfc rollback list`' },
      );
    await c.query(
      `UPDATE consolidation.rollback_points SET state = 'finalized', finalized_at = coalesce(finalized_at, now()),
              expires_at = now() + make_interval(days => $2) WHERE rollback_point_id = $1`,
      [point.id, keepDays],
    );
    let triggersDropped = 0;
    // reverse capture off v2; and the copy's forward triggers, dormant since the cutover, which
    // no rollback will wake now
    const drops = point.tables.flatMap((t) => [
      { rel: t.v2, d: 'reverse' as const },
      { rel: t.copy, d: 'forward' as const },
    ]);
    for (const { rel, d } of drops) {
      const on = splitRel(rel);
      const there = await c.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [rel]);
      if (!there.rows[0]!.e || (await captureState(c, on, d)) === 'none') continue;
      await session.retry(`${d} capture on ${rel}`, () => c.query(dropCaptureSql(on, d)), {
        onRetry: (attempt, waitMs) =>
          opts.onEvent?.({ type: 'retry', what: `drop ${d} capture on ${rel}`, attempt, waitMs }),
      });
      if (d === 'reverse') triggersDropped++;
    }
    const discarded = await c.query(`DELETE FROM consolidation.capture_log WHERE direction = 'reverse'`);
    let copyDropped = false;
    if (opts.dropNow) {
      const r = await c.query<{ r: { dropped: unknown[] } }>(
        'SELECT safety.cleanup_old_rollback_points(0) AS r',
      );
      copyDropped = r.rows[0]!.r.dropped.length > 0;
    }
    await recordOperation(c, {
      runId: point.runId,
      phase: 'finalize',
      type: 'finalize_cutover',
      target: point.id,
      status: 'completed',
      details: { triggersDropped, backlogDiscarded: discarded.rowCount ?? 0, copyDropped, keepDays },
    });
    const after = await c.query<{ expires_at: Date | null }>(
      'SELECT expires_at FROM consolidation.rollback_points WHERE rollback_point_id = $1',
      [point.id],
    );
    return {
      point: point.id,
      triggersDropped,
      backlogDiscarded: discarded.rowCount ?? 0,
      copyDropped,
      expiresAt: copyDropped ? null : (after.rows[0]?.expires_at ?? null),
    };
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await session.close();
  }
}

export interface RollbackWindow {
  open: boolean;
  point: string | null;
  state: string | null;
  since: Date | null;
  /** reverse-captured changes not yet applied to the copy */
  reverseBacklog: number;
  oldestPendingSeconds: number | null;
  /** v2 tables paying the reverse capture trigger on every write */
  tablesWithReverseCapture: number;
  copyBytes: number;
  expiresAt: Date | null;
}

async function windowOf(c: pg.ClientBase): Promise<RollbackWindow> {
  const point = (await readRollbackPoints(c))[0];
  const cost = await c.query<{ backlog: string; oldest: string | null; triggers: string; bytes: string }>(
    `SELECT (SELECT count(*) FROM consolidation.capture_log WHERE direction = 'reverse') AS backlog,
            (SELECT extract(epoch FROM clock_timestamp() - min(captured_at)) FROM consolidation.capture_log WHERE direction = 'reverse') AS oldest,
            (SELECT count(*) FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
              WHERE tg.tgname = $1 AND n.nspname IN ('public','auth')) AS triggers,
            (SELECT coalesce(sum(pg_total_relation_size(cl.oid)), 0) FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
              WHERE n.nspname IN ('dfc_rollback_public','dfc_rollback_auth') AND cl.relkind IN ('r','p','m')) AS bytes`,
    [captureTriggerName('reverse')],
  );
  const r = cost.rows[0]!;
  return {
    open: point?.state === 'valid',
    point: point?.id ?? null,
    state: point?.state ?? null,
    since: point?.createdAt ?? null,
    reverseBacklog: Number(r.backlog),
    oldestPendingSeconds: r.oldest === null ? null : Number(r.oldest),
    tablesWithReverseCapture: Number(r.triggers),
    copyBytes: Number(r.bytes),
    expiresAt: point?.expiresAt ?? null,
  };
}

/** Whether a rollback window is open, since when, and what it costs. */
export async function rollbackWindow(url: string): Promise<RollbackWindow> {
  const c = await connect(url, 'dfc-rollback-status');
  try {
    const exists = await c.query(`SELECT to_regclass('consolidation.capture_log') IS NOT NULL AS ok`);
    if (!exists.rows[0]?.ok)
      return {
        open: false,
        point: null,
        state: null,
        since: null,
        reverseBacklog: 0,
        oldestPendingSeconds: null,
        tablesWithReverseCapture: 0,
        copyBytes: 0,
        expiresAt: null,
      };
    return await windowOf(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export interface CleanupResult {
  dropped: { rollback_point: string; bytes: number }[];
  open_windows: { rollback_point: string; since: string; close_with: string }[];
}

/** `dfc rollback cleanup --older-than Nd`: safety.cleanup_old_rollback_points(N). */
export async function cleanupRollbackPoints(url: string, days: number): Promise<CleanupResult> {
  if (!Number.isInteger(days) || days < 0)
    throw new DfcError('DFC_CONFIG', `retention must be a whole number of days, got ${days}`, {
      fix: 'pass e.g. --older-than 30d',
    });
  const c = await connect(url, 'dfc-rollback-cleanup');
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    await ensureBookkeeping(c);
    const r = await c.query<{ r: CleanupResult }>('SELECT safety.cleanup_old_rollback_points($1) AS r', [
      days,
    ]);
    return r.rows[0]!.r;
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await c.end().catch(() => {});
  }
}

/** `dfc rollback list`: consolidation.list_rollback_points(). */
export async function listRollbackPoints(url: string) {
  const c = await connect(url, 'dfc-rollback-list');
  try {
    await ensureBookkeeping(c);
    const r = await c.query<{
      rollback_point_id: string;
      run_id: string;
      created_at: Date;
      state: string;
      tables: number;
      reverse_backlog: string | null;
      copy_bytes: string | null;
      used_at: Date | null;
      reason: string | null;
      rollback_seconds: string | null;
      lock_held_ms: string | null;
      expires_at: Date | null;
    }>('SELECT * FROM consolidation.list_rollback_points()');
    return r.rows.map((x) => ({
      id: x.rollback_point_id,
      runId: x.run_id,
      createdAt: x.created_at,
      state: x.state,
      tables: x.tables,
      reverseBacklog: x.reverse_backlog === null ? null : Number(x.reverse_backlog),
      copyBytes: x.copy_bytes === null ? null : Number(x.copy_bytes),
      usedAt: x.used_at,
      reason: x.reason,
      rollbackSeconds: x.rollback_seconds === null ? null : Number(x.rollback_seconds),
      lockHeldMs: x.lock_held_ms === null ? null : Number(x.lock_held_ms),
      expiresAt: x.expires_at,
    }));
  } finally {
    await c.end().catch(() => {});
  }
}
