/**
 * The follower (`dfc consolidate --follow`): after ready_for_cutover it keeps applying captured
 * changes, so the backlog stays bounded while the DBA waits and the cutover drains only a handful
 * under its locks.
 *
 * It must never collide with a cutover (or rollback, abort, finalize): it holds the consolidation
 * advisory lock only while it applies a batch, checks after every batch whether anyone waits for
 * that lock, and if so lets go at once; acquireAdvisoryLock (src/db/lock.ts) waits for a holder
 * named FOLLOWER_APPLICATION instead of failing. After yielding it polls for the lock again and
 * stops when the run is no longer ready_for_cutover (cut over, aborted). SIGINT (the signal) stops
 * it between batches; nothing is half-applied, since each batch is one transaction.
 */
import type pg from 'pg';
import { connect } from '../db/connection.js';
import {
  advisoryKey,
  advisoryLockWaiters,
  CONSOLIDATION_LOCK,
  FOLLOWER_APPLICATION,
  releaseAdvisoryLock,
} from '../db/lock.js';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import type { EventSink } from './events.js';
import { type MappedTable, mapTable } from './mapping.js';
import { legacyLiveOf, q } from './names.js';
import { applyCaptureBatch } from './reconcile.js';
import { activeRun } from './state.js';
import { captureLag } from './status.js';

export interface FollowOptions {
  /** abort to stop (the CLI wires SIGINT to it) */
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** pause between rounds when the log is empty, ms */
  intervalMs?: number;
  /** log rows per apply transaction */
  batch?: number;
  v2?: V2Definition;
}

export interface FollowResult {
  runId: string | null;
  applied: number;
  rounds: number;
  /** times it let go of the lock because someone waited for it */
  yielded: number;
  stoppedBy: 'signal' | 'state';
  /** the run's state when it stopped */
  state: string;
  seconds: number;
}

async function presentTables(c: pg.ClientBase, v2: V2Definition): Promise<MappedTable[]> {
  const out: MappedTable[] = [];
  for (const t of v2.tables.map((x) => mapTable(x, v2.tables))) {
    const r = await c.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
      q(legacyLiveOf(t.def)),
    ]);
    if (r.rows[0]?.ok) out.push(t);
  }
  return out;
}

async function tryLock(c: pg.ClientBase): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
    advisoryKey(CONSOLIDATION_LOCK).toString(),
  ]);
  return Boolean(r.rows[0]?.ok);
}

const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function follow(url: string, opts: FollowOptions = {}): Promise<FollowResult> {
  const started = Date.now();
  const emit: EventSink = opts.onEvent ?? (() => {});
  const intervalMs = opts.intervalMs ?? 500;
  const batch = opts.batch ?? 5000;
  const c = await connect(url, FOLLOWER_APPLICATION);
  let holding = false;
  const result: FollowResult = {
    runId: null,
    applied: 0,
    rounds: 0,
    yielded: 0,
    stoppedBy: 'signal',
    state: 'unknown',
    seconds: 0,
  };
  try {
    const run = await activeRun(c);
    if (run?.state !== 'ready_for_cutover')
      throw new DfcError(
        'DFC_CONFIG',
        `nothing to follow: ${run ? `the consolidation run ${run.run_id} is ${run.state}` : 'no consolidation run is active'} (the follower starts at ready_for_cutover)`,
        { fix: 'run `dfc consolidate` (with --follow it follows once it is ready)' },
      );
    result.runId = run.run_id;
    result.state = run.state;
    const tables = await presentTables(c, opts.v2 ?? V2);
    emit({
      type: 'phase',
      phase: 'following',
      message: 'following: applying captured changes until cutover',
    });
    while (!opts.signal?.aborted) {
      if (!holding) {
        holding = await tryLock(c);
        if (!holding) {
          await abortableSleep(intervalMs, opts.signal);
          continue;
        }
      }
      // with the lock held, the run's state cannot change under us (every state change takes it)
      const now = await activeRun(c);
      if (!now || now.run_id !== run.run_id || now.state !== 'ready_for_cutover') {
        result.stoppedBy = 'state';
        const last = await c.query<{ state: string }>(
          'SELECT state FROM consolidation.engine_runs WHERE run_id = $1',
          [run.run_id],
        );
        result.state = last.rows[0]?.state ?? 'unknown';
        break;
      }
      let applied = 0;
      let n = batch;
      while (n === batch && !opts.signal?.aborted) {
        n = await applyCaptureBatch(c, tables, 'forward', batch, { runId: run.run_id });
        applied += n;
        if (await advisoryLockWaiters(c, CONSOLIDATION_LOCK)) break;
      }
      result.applied += applied;
      result.rounds++;
      if (applied) {
        emit({ type: 'capture', applied, backlog: (await captureLag(c)).rows });
      }
      if (await advisoryLockWaiters(c, CONSOLIDATION_LOCK)) {
        await releaseAdvisoryLock(c, CONSOLIDATION_LOCK);
        holding = false;
        result.yielded++;
        emit({
          type: 'phase',
          phase: 'follow_yield',
          message: 'follower: another command wants the lock; yielded',
        });
        // give the waiter the lock before polling for it again
        await abortableSleep(intervalMs, opts.signal);
        continue;
      }
      if (n < batch) {
        // idle: let go of the lock while sleeping so nothing has to wait for us at all
        await releaseAdvisoryLock(c, CONSOLIDATION_LOCK);
        holding = false;
        await abortableSleep(intervalMs, opts.signal);
      }
    }
    result.seconds = (Date.now() - started) / 1000;
    emit({
      type: 'phase',
      phase: 'follow_stopped',
      message: `follower stopped (${result.stoppedBy === 'signal' ? 'interrupted' : `run is ${result.state}`}); ${result.applied} changes applied`,
    });
    return result;
  } finally {
    if (holding) await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await c.end().catch(() => {});
  }
}
