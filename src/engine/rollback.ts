/**
 * `dfc rollback test | execute` (guide: test_rollback_procedure, execute_emergency_rollback): the
 * cutover in reverse, with the same discipline. One transaction takes ACCESS EXCLUSIVE on the v2
 * tables and the rollback copy under a short lock_timeout and statement_timeout (retried with
 * backoff), applies the last reverse-captured changes, moves v2 back to the shadow schemas and the
 * copy back into public/auth (SET SCHEMA only), advances the legacy sequences past every id v2
 * handed out, restores the legacy functions, swaps reverse capture for forward capture, validates
 * and commits only if that passes. The run is ready_for_cutover again: forward capture keeps the
 * shadow (the former v2 tables) current, so `dfc cutover` needs no new copy.
 */
import { ensureBookkeeping, recordOperation } from '../bookkeeping.js';
import { type Faults, NO_FAULTS } from '../core/faults.js';
import { runPlan } from '../core/runner.js';
import { describePlan as describeSteps } from '../core/step.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { Session } from '../db/session.js';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { allTables } from './build.js';
import { mappedTables } from './consolidate.js';
import { LOCKED_DEFAULTS, lockedPolicy, planRollback } from './cutover-plan.js';
import type { EventSink } from './events.js';
import { runJournal } from './journal.js';
import type { MappedTable } from './mapping.js';
import { liveOf, type Rel } from './names.js';
import { drain } from './reconcile.js';
import { checkPoint, type RollbackCheck } from './rollback-check.js';
import { pointMappedTables, type RollbackPoint, readRollbackPoint, relOf } from './rollback-points.js';
import { freshRollbackAttempt, type RollbackContext } from './steps/rollback-context.js';

export interface RollbackTestReport {
  point: string;
  valid: boolean;
  /** reverse-captured changes applied to the copy before checking */
  drained: number;
  checks: RollbackCheck[];
  /** what `execute` will do, in order */
  plan: string[];
}

export interface RollbackOptions {
  reason: string;
  lockTimeoutMs?: number;
  attempts?: number;
  onEvent?: EventSink;
  /** skip the pre-lock row comparison (faster emergency path; the structural checks still run) */
  skipChecksums?: boolean;
  v2?: V2Definition;
  /** test seam (src/core/faults.ts): failValidation proves a failed rollback changes nothing */
  faults?: Faults;
}

export interface RollbackResult {
  point: string;
  runId: string;
  attempts: number;
  lockHeldMs: number;
  wallSeconds: number;
  drainedBeforeLock: number;
  drainedUnderLock: number;
  validation: RollbackCheck[];
  /** v2-only functions that could not be dropped (something still depends on them) */
  keptFunctions: string[];
}

/** What execute locks: v2 tables, the v2 views and the copy (its materialized views move under lock_timeout). */
function rollbackLocks(point: RollbackPoint, v2: V2Definition): Rel[] {
  return [
    ...allTables(v2).map((t) => liveOf(t)),
    ...point.details.movedIn.filter((m) => m.kind === 'v').map((m) => relOf(m, 'live')),
    ...point.details.movedOut.filter((m) => m.kind !== 'm').map((m) => relOf(m, 'rollback')),
  ];
}

function buildPlan(
  point: RollbackPoint,
  tables: MappedTable[],
  v2: V2Definition,
  o: { lockTimeoutMs: number; attempts: number },
) {
  return planRollback(point, v2, { ...o, toLock: rollbackLocks(point, v2).length, tables: tables.length });
}

/** What `execute` will do, in order: the plan's own step descriptions. */
function describePlan(point: RollbackPoint, tables: MappedTable[], v2: V2Definition): string[] {
  return [
    'drain reverse capture into the rollback copy (no lock)',
    ...describeSteps(buildPlan(point, tables, v2, ROLLBACK_DEFAULTS)).map(
      (s) => `${s.id}: ${s.description.summary}`,
    ),
  ];
}

/** The same lock discipline as the cutover's. */
export const ROLLBACK_DEFAULTS = LOCKED_DEFAULTS;

/**
 * Dry run: drain the reverse capture (it only brings the copy up to date), check the point and
 * print what `execute` will do. Changes nothing else.
 *
 * @example
 *   const r = await testRollback(url, 'rollback_20261201_233000'); // r.valid, r.checks, r.plan
 */
export async function testRollback(url: string, pointId: string, opts: { v2?: V2Definition } = {}) {
  const v2 = opts.v2 ?? V2;
  const c = await connect(url, 'dfc-rollback-test');
  try {
    await ensureBookkeeping(c);
    const point = await readRollbackPoint(c, pointId);
    const tables = pointMappedTables(point, mappedTables(v2));
    let drained = 0;
    const structural = await checkPoint(c, point, { checksums: false });
    if (structural.every((x) => x.passed)) drained = await drain(c, tables, 'reverse');
    const checks = structural.every((x) => x.passed) ? await checkPoint(c, point, { url }) : structural;
    return {
      point: point.id,
      valid: checks.every((x) => x.passed),
      drained,
      checks,
      plan: describePlan(point, tables, v2),
    } satisfies RollbackTestReport;
  } finally {
    await c.end().catch(() => {});
  }
}

function refuse(point: string, failed: RollbackCheck[]): DfcError {
  return new DfcError(
    'CONSOLIDATION_05',
    `rollback point ${point} is not usable: ${failed.map((f) => f.check).join('; ')}; nothing was changed`,
    {
      fix: 'run `dfc rollback test` for the details and `dfc rollback list` for the points; a closed or used point cannot be rolled back to',
      details: { checks: failed },
    },
  );
}

/**
 * Roll back to the legacy schema through an open rollback point.
 *
 * @example
 *   await executeRollback(url, 'rollback_20261201_233000', { reason: 'p99 regression', lockTimeoutMs: 500 });
 */
export async function executeRollback(
  url: string,
  pointId: string,
  opts: RollbackOptions,
): Promise<RollbackResult> {
  const v2 = opts.v2 ?? V2;
  const emit: EventSink = opts.onEvent ?? (() => {});
  if (!opts.reason?.trim())
    throw new DfcError('DFC_CONFIG', 'a rollback needs a reason', {
      fix: 'pass --reason TEXT (it is recorded with the point and in monitoring.migration_operations)',
    });
  const policy = lockedPolicy(opts);
  const started = Date.now();
  const session = await Session.open(url, 'dfc-rollback', policy);
  const c = session.client;
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    await ensureBookkeeping(c);
    const point = await readRollbackPoint(c, pointId);
    const checks = await checkPoint(c, point, { checksums: false });
    if (checks.some((x) => !x.passed))
      throw refuse(
        point.id,
        checks.filter((x) => !x.passed),
      );
    const tables = pointMappedTables(point, mappedTables(v2));
    const drainedBeforeLock = await drain(c, tables, 'reverse');
    if (!opts.skipChecksums) {
      const rows = await checkPoint(c, point, { url });
      if (rows.some((x) => !x.passed))
        throw refuse(
          point.id,
          rows.filter((x) => !x.passed),
        );
    }
    const ctx: RollbackContext = {
      session,
      runId: point.runId,
      emit,
      faults: opts.faults ?? NO_FAULTS,
      v2,
      point,
      reason: opts.reason,
      tables,
      toLock: rollbackLocks(point, v2),
      lockTimeoutMs: policy.lockTimeoutMs,
      attempt: freshRollbackAttempt(),
    };
    const plan = buildPlan(point, tables, v2, policy);
    let result: Awaited<ReturnType<typeof runPlan>>;
    try {
      result = await runPlan(plan, ctx, runJournal<RollbackContext>(`rollback.${point.id}`));
    } catch (e) {
      await recordOperation(c, {
        runId: point.runId,
        phase: 'rollback',
        type: 'atomic_rollback',
        target: point.id,
        status: 'failed',
        errorMessage: String(e),
      }).catch(() => {});
      throw e;
    }
    const locked = result.locked[0]!;
    const a = ctx.attempt;
    const lockHeldMs = locked.committedAt - a.lockedAt;
    const wallSeconds = (locked.committedAt - started) / 1000;
    await c.query(
      'UPDATE consolidation.rollback_points SET lock_held_ms = $2, rollback_seconds = $3 WHERE rollback_point_id = $1',
      [point.id, lockHeldMs, wallSeconds],
    );
    await recordOperation(c, {
      runId: point.runId,
      phase: 'rollback',
      type: 'atomic_rollback',
      target: point.id,
      status: 'completed',
      durationSeconds: wallSeconds,
      details: {
        lockHeldMs,
        attempts: locked.attempts,
        drainedBeforeLock,
        drainedUnderLock: a.drainedUnderLock,
        reason: opts.reason,
      },
    });
    emit({
      type: 'phase',
      phase: 'rolled_back',
      message: `rolled back through ${point.id}; ready for cutover`,
    });
    return {
      point: point.id,
      runId: point.runId,
      attempts: locked.attempts,
      lockHeldMs,
      wallSeconds,
      drainedBeforeLock,
      drainedUnderLock: a.drainedUnderLock,
      validation: a.validation,
      keptFunctions: a.keptFunctions,
    };
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await session.close();
  }
}
