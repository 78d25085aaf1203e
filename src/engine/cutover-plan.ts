/**
 * The cutover plan (and rollback's, which shares its lock discipline): the steps of the one
 * locked transaction in order, what runs before it and after its COMMIT. `dfc cutover` runs it,
 * `dfc cutover --dry-run` prints its describe() output. The locked steps are 'cutover-locks'
 * steps: the core runner opens their transaction, retries it whole under the plan's lock timeout
 * with jittered backoff, and raises CONSOLIDATION_03 when the attempts run out — the one place
 * for that discipline, for cutover and rollback alike.
 */
import type { LockedGroup, Plan, RunContext } from '../core/step.js';
import { type SessionPolicy, sessionPolicy } from '../db/session.js';
import type { V2Definition } from '../schema/v2/model.js';
import type { MappedTable } from './mapping.js';
import { q, type Rel } from './names.js';
import { drain } from './reconcile.js';
import type { RollbackPoint } from './rollback-points.js';
import { cutoverAutovacuumStep } from './steps/cutover-autovacuum.js';
import { cutoverCaptureReadyStep } from './steps/cutover-capture-ready.js';
import { cutoverCarryStep } from './steps/cutover-carry.js';
import { AFTER_CUTOVER_PHASE, CUTOVER_PHASE, type CutoverContext } from './steps/cutover-context.js';
import { cutoverDrainStep } from './steps/cutover-drain.js';
import { cutoverFunctionsStep } from './steps/cutover-functions.js';
import { cutoverLateRowsStep } from './steps/cutover-late-rows.js';
import { cutoverLockStep } from './steps/cutover-lock.js';
import { cutoverMarkStep } from './steps/cutover-mark.js';
import { cutoverMatviewsStep } from './steps/cutover-matviews.js';
import { cutoverMoveStep } from './steps/cutover-move.js';
import { cutoverRefreshStep } from './steps/cutover-refresh.js';
import { cutoverResetSessionsStep } from './steps/cutover-reset-sessions.js';
import { cutoverReverseCaptureStep } from './steps/cutover-reverse-capture.js';
import { cutoverRollbackPointStep } from './steps/cutover-rollback-point.js';
import { cutoverSequencesStep } from './steps/cutover-sequences.js';
import { cutoverSurfaceSteps } from './steps/cutover-surface.js';
import { cutoverValidateStep } from './steps/cutover-validate.js';
import { rollbackCarryBackSteps } from './steps/rollback-carry-back.js';
import { ROLLBACK_PHASE, type RollbackContext } from './steps/rollback-context.js';
import { rollbackDrainStep } from './steps/rollback-drain.js';
import { rollbackLockStep } from './steps/rollback-lock.js';
import { rollbackMarkStep, rollbackRefreshStep } from './steps/rollback-mark.js';
import { rollbackMoveStep } from './steps/rollback-move.js';
import {
  rollbackForwardCaptureStep,
  rollbackFunctionsStep,
  rollbackSequencesStep,
  sequencePairs,
} from './steps/rollback-restore.js';
import { rollbackValidateStep } from './steps/rollback-validate.js';

/**
 * Defaults of the locked transaction, for cutover and rollback alike: the application queues
 * behind an attempt for at most 100 ms; attempts are cheap and jittered (25 ms doubling to 250 ms),
 * so many fit in a bounded time: at most attempts × (lock timeout + 250 ms) ≈ 52 s plus the drains.
 * Against readers that keep 300 ms transactions open on two of the tables one attempt succeeds
 * only when both holders end within the timeout (≈ 1 in 18), hence 150 attempts.
 */
export const LOCKED_DEFAULTS = { lockTimeoutMs: 100, attempts: 150, backoffMs: 25, maxBackoffMs: 250 };

/** The session policy of a plan with a locked group (validated: ≤ 0 is DFC_CONFIG). */
export function lockedPolicy(o: { lockTimeoutMs?: number; attempts?: number }): SessionPolicy {
  return sessionPolicy({
    lockTimeoutMs: o.lockTimeoutMs ?? LOCKED_DEFAULTS.lockTimeoutMs,
    attempts: o.attempts ?? LOCKED_DEFAULTS.attempts,
    backoffMs: LOCKED_DEFAULTS.backoffMs,
    maxBackoffMs: LOCKED_DEFAULTS.maxBackoffMs,
  });
}

export interface LockDiscipline {
  lockTimeoutMs: number;
  attempts: number;
}

/**
 * Before each attempt, outside any transaction: apply the captured backlog (big batches, then
 * small ones until a batch comes back short) so only a handful of changes is left for under the lock.
 */
export async function drainToAHandful(
  ctx: RunContext,
  tables: MappedTable[],
  direction: 'forward' | 'reverse',
): Promise<number> {
  const c = ctx.session.client;
  const runId = direction === 'forward' ? ctx.runId : undefined;
  const big = await drain(c, tables, direction, { runId });
  const small = await drain(c, tables, direction, { runId, batch: 50, maxRounds: 20 });
  if (big + small) ctx.emit({ type: 'capture', applied: big + small });
  return big + small;
}

/** The locked group of a plan: lock timeout, attempts and what runs before each attempt. */
export function cutoverLocks<C extends RunContext & { toLock: Rel[] }>(
  what: string,
  d: LockDiscipline,
  beforeAttempt: (ctx: C) => Promise<void>,
): LockedGroup<C> {
  return {
    what,
    lockTimeoutMs: d.lockTimeoutMs,
    attempts: d.attempts,
    beforeAttempt,
    relations: (ctx) => ctx.toLock.map(q),
  };
}

export interface CutoverPlanInput extends LockDiscipline {
  /** relations the LOCK names */
  toLock: number;
  matviews: number;
  resetAppSessions: boolean;
}

export function planCutover(input: CutoverPlanInput): Plan<CutoverContext> {
  const surface = cutoverSurfaceSteps();
  return {
    name: 'cutover',
    locked: cutoverLocks<CutoverContext>(
      'the cutover (legacy tables, their views and the shadow)',
      input,
      async (ctx) => {
        ctx.blockers?.locking(false);
        await drainToAHandful(ctx, ctx.present, 'forward');
        // as close to the LOCK as it can be: the check under the lock then finds it current
        await surface.refresh(ctx);
        ctx.blockers?.trying();
      },
    ),
    phases: [
      {
        id: CUTOVER_PHASE,
        title: 'phase 4: atomic cutover (one transaction)',
        steps: [
          cutoverCaptureReadyStep(),
          surface.preRead,
          cutoverLockStep(input.toLock),
          surface.check,
          // before any DDL of the transaction: CREATE SCHEMA (move-matviews) resets every cached
          // plan of the session, the drain's named statements included (bench:cutover showed no
          // change in the drain's ms at a handful of changes; the order costs nothing)
          cutoverDrainStep(),
          cutoverMatviewsStep(input.matviews),
          // before the moves: the point records what is about to move in and out
          cutoverRollbackPointStep(),
          cutoverLateRowsStep(),
          cutoverMoveStep(),
          cutoverSequencesStep(),
          cutoverFunctionsStep(),
          cutoverReverseCaptureStep(),
          cutoverCarryStep(),
          cutoverValidateStep(),
          cutoverMarkStep(input.resetAppSessions),
        ],
      },
      {
        id: AFTER_CUTOVER_PHASE,
        title: 'after the commit, out of the lock',
        steps: [
          ...(input.resetAppSessions ? [cutoverResetSessionsStep()] : []),
          cutoverAutovacuumStep(),
          cutoverRefreshStep(),
        ],
      },
    ],
  };
}

/** Rollback through a point: the cutover in reverse, under the same locked-group discipline. */
export function planRollback(
  point: RollbackPoint,
  v2: V2Definition,
  input: LockDiscipline & { toLock: number; tables: number },
): Plan<RollbackContext> {
  const carry = rollbackCarryBackSteps(point.details.movedIn);
  return {
    name: 'rollback',
    locked: cutoverLocks<RollbackContext>(
      'the rollback (v2 tables, their views and the copy)',
      input,
      async (ctx) => {
        await drainToAHandful(ctx, ctx.tables, 'reverse');
        await carry.refresh(ctx);
      },
    ),
    phases: [
      {
        id: ROLLBACK_PHASE,
        title: `rollback through ${point.id} (one transaction)`,
        steps: [
          carry.preRead,
          rollbackLockStep(input.toLock, carry.check),
          rollbackDrainStep(),
          rollbackMoveStep(point.details.movedIn, point.details.movedOut),
          rollbackSequencesStep(sequencePairs(v2).length),
          rollbackFunctionsStep(point.details.functions.length),
          rollbackForwardCaptureStep(input.tables),
          carry.carryBack,
          rollbackValidateStep(),
          rollbackMarkStep(),
        ],
      },
      { id: 'rollback_after', title: 'after the commit, out of the lock', steps: [rollbackRefreshStep()] },
    ],
  };
}

/** Which cutover of the run this is: one more than the rollback points it recorded (each committed cutover records one). */
export async function cutoverInstance(ctx: RunContext): Promise<string> {
  const r = await ctx.session.client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM consolidation.rollback_points WHERE run_id = $1',
    [ctx.runId],
  );
  return `cutover.${(r.rows[0]?.n ?? 0) + 1}`;
}
