/**
 * `dfc cutover` (guide step 6), as a plan (engine/cutover-plan.ts): one transaction — the
 * 'cutover-locks' steps, run by the core runner and retried whole with jittered backoff — takes
 * ACCESS EXCLUSIVE on every legacy table with a short lock_timeout (so the application never
 * queues behind us for longer than that), reads the application surface, drains the last
 * captured changes, records the rollback point, moves legacy relations to the rollback schemas and
 * the shadow relations into place, advances sequences, replaces functions, carries ownership,
 * grants and the surface, starts reverse capture, validates — and commits only if the validation
 * passes. Otherwise it rolls back and the database is exactly as before. After the commit, out of
 * the lock: application sessions reset (on request), materialized views refreshed.
 */
import type pg from 'pg';
import { recordOperation } from '../bookkeeping.js';
import { type Faults, NO_FAULTS } from '../core/faults.js';
import { runPlan } from '../core/runner.js';
import { describePlan, type StepDescription, type TxMode } from '../core/step.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { Session } from '../db/session.js';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { allTables } from './build.js';
import type { CarryResult } from './carry.js';
import { mappedTables } from './consolidate.js';
import { cutoverInstance, LOCKED_DEFAULTS, lockedPolicy, planCutover } from './cutover-plan.js';
import type { EventSink } from './events.js';
import { runJournal } from './journal.js';
import { type QuarantineReport, quarantineReport } from './late-rows.js';
import type { MappedTable } from './mapping.js';
import { legacyLiveOf, type Rel, SHADOW_SCHEMA, shadowOf } from './names.js';
import { columnTypeChanges, type SessionReset, type TypeChange } from './sessions.js';
import { activeRun, latestRun, type RunRow } from './state.js';
import { type BlockerReport, BlockerWatch, cancelBlockersAfter } from './steps/cutover-blockers.js';
import {
  AFTER_CUTOVER_PHASE,
  type CutoverContext,
  freshAttempt,
  type ValidationCheck,
} from './steps/cutover-context.js';

export type { BlockerReport } from './steps/cutover-blockers.js';
export type { ValidationCheck } from './steps/cutover-context.js';
export { validateInTransaction } from './steps/cutover-validate.js';

/** Defaults of the cutover's lock discipline (shared with rollback: engine/cutover-plan.ts). */
export const CUTOVER_DEFAULTS = LOCKED_DEFAULTS;

export interface CutoverOptions {
  lockTimeoutMs?: number;
  attempts?: number;
  onEvent?: EventSink;
  v2?: V2Definition;
  /** test seam (src/core/faults.ts): failValidation proves the rollback leaves nothing changed */
  faults?: Faults;
  /** after COMMIT, end the application's sessions so clients with cached prepared statements reconnect */
  resetAppSessions?: boolean;
  /** how long --reset-app-sessions waits for a busy session to finish before ending it (default 30 s) */
  resetWaitMs?: number;
  /**
   * after trying this long (ms, from the first attempt), cancel the sessions blocking the
   * cutover's locks (never superusers', replication or dfc's); each one is reported
   */
  cancelBlockersAfterMs?: number;
}

export interface CutoverResult {
  runId: string;
  attempts: number;
  lockHeldMs: number;
  drainedUnderLock: number;
  validation: ValidationCheck[];
  /** the rollback point this cutover recorded (`dfc rollback execute <id>`) */
  rollbackPoint: string;
  /** what was carried from legacy to v2 besides the rows (grants, owners, RLS, foreign objects) */
  carried: CarryResult;
  /** rows quarantined by this run (quarantine policy), with legacy = v2 + kept-out per table */
  quarantine: QuarantineReport;
  /** column type changes: clients with cached prepared statements need --reset-app-sessions */
  typeChanges: TypeChange[];
  sessions: SessionReset | null;
  /** sessions that blocked the locks, cancelled or skipped (--cancel-blockers-after) */
  blockers: BlockerReport[];
  /**
   * true: the locked transaction had committed in an earlier run that stopped before its
   * after-commit steps; only those ran now (attempts 0; lockHeldMs is the sum of the committed
   * attempt's locked steps as journaled; carried and validation are in that run's
   * monitoring.migration_operations rows)
   */
  resumed?: boolean;
}

export interface CutoverPlanReport {
  /** the run's state: the plan runs only from ready_for_cutover */
  state: string;
  ready: boolean;
  lockTimeoutMs: number;
  attempts: number;
  steps: { id: string; phase: string; tx: TxMode; description: StepDescription }[];
  typeChanges: TypeChange[];
}

interface Prepared {
  run: RunRow | undefined;
  ctx: CutoverContext;
  plan: ReturnType<typeof planCutover>;
}

/** What the plan is built from: the run, the legacy tables present, what to lock, the legacy matviews. */
async function prepare(session: Session, opts: CutoverOptions, emit: EventSink): Promise<Prepared> {
  const v2 = opts.v2 ?? V2;
  const { lockTimeoutMs, attempts } = session.policy;
  const c = session.client;
  const run = await activeRun(c);
  const present = await legacyTablesPresent(c, mappedTables(v2));
  // legacy views and materialized views that v2 replaces move too: lock them with the tables,
  // under the same timeout, so a long reader of one cannot stall the locked part
  const views = await c.query<{ schema: 'public' | 'auth'; name: string; kind: string }>(
    `SELECT lv.nspname AS schema, lc.relname AS name, lc.relkind AS kind
       FROM pg_class lc JOIN pg_namespace lv ON lv.oid = lc.relnamespace
      WHERE lv.nspname IN ('public','auth') AND lc.relkind IN ('v','m')
        AND EXISTS (SELECT 1 FROM pg_class sc JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                     WHERE sc.relname = lc.relname AND sn.nspname = ANY ($1) AND sc.relkind IN ('v','m'))
      ORDER BY 1, 2`,
    [Object.values(SHADOW_SCHEMA)],
  );
  const toLock: Rel[] = [
    ...present.map((t) => legacyLiveOf(t.def)),
    ...views.rows.filter((r) => r.kind === 'v').map((r) => ({ schema: r.schema, name: r.name })),
    ...allTables(v2).map((t) => shadowOf(t)),
  ];
  const matviews = views.rows
    .filter((r) => r.kind === 'm')
    .map((r) => ({ rel: { schema: r.schema, name: r.name }, schema: r.schema }));
  const resetAppSessions = Boolean(opts.resetAppSessions);
  const ctx: CutoverContext = {
    session,
    runId: run?.run_id ?? '',
    emit,
    faults: opts.faults ?? NO_FAULTS,
    v2,
    onInvalid: run?.on_invalid ?? 'abort',
    present,
    toLock,
    matviews,
    lockTimeoutMs,
    resetAppSessions,
    resetWaitMs: opts.resetWaitMs,
    attempt: freshAttempt(),
    sessions: null,
  };
  const plan = planCutover({
    lockTimeoutMs,
    attempts,
    toLock: toLock.length,
    matviews: matviews.length,
    resetAppSessions,
  });
  return { run, ctx, plan };
}

function cutoverPolicy(opts: CutoverOptions) {
  cancelBlockersAfter(opts.cancelBlockersAfterMs);
  return lockedPolicy(opts);
}

/**
 * `dfc cutover --dry-run`: the plan `dfc cutover` runs, step by step, from the live catalog;
 * changes nothing.
 */
export async function planCutoverDry(url: string, opts: CutoverOptions = {}): Promise<CutoverPlanReport> {
  const session = await Session.open(url, 'dfc-cutover-plan', cutoverPolicy(opts));
  try {
    await session.client.query('BEGIN READ ONLY');
    const { run, ctx, plan } = await prepare(session, opts, () => {});
    const typeChanges = await columnTypeChanges(session.client, ctx.v2);
    await session.client.query('ROLLBACK');
    return {
      state: run?.state ?? 'none',
      ready: run?.state === 'ready_for_cutover',
      lockTimeoutMs: ctx.lockTimeoutMs,
      attempts: session.policy.attempts,
      steps: describePlan(plan),
      typeChanges,
    };
  } finally {
    await session.close();
  }
}

export async function cutover(url: string, opts: CutoverOptions = {}): Promise<CutoverResult> {
  const emit: EventSink = opts.onEvent ?? (() => {});
  const session = await Session.open(url, 'dfc-cutover', cutoverPolicy(opts));
  const c = session.client;
  let run: RunRow | undefined;
  let ctx: CutoverContext | undefined;
  let plan: Prepared['plan'];
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    ({ run, ctx, plan } = await prepare(session, opts, emit));
    if (!run) {
      const finished = await finishCommitted(ctx, plan);
      if (finished) return finished;
    }
    if (run?.state !== 'ready_for_cutover') {
      const latest = run ?? (await latestRun(c));
      throw new DfcError(
        'CONSOLIDATION_01',
        `no consolidation is ready for cutover (state: ${run?.state ?? (latest ? `${latest.state}, run ${latest.run_id}` : 'none')})`,
        {
          fix:
            latest?.state === 'cut_over'
              ? 'the database is already cut over: `dfc status` shows it; `dfc rollback list` for the way back'
              : 'run `dfc consolidate` until it reports ready_for_cutover',
        },
      );
    }
    if (opts.cancelBlockersAfterMs !== undefined) {
      ctx.blockers = await BlockerWatch.start(
        url,
        c,
        [...ctx.toLock, ...ctx.matviews.map((m) => m.rel)],
        opts.cancelBlockersAfterMs,
        emit,
      );
    }
    let result: Awaited<ReturnType<typeof runPlan>>;
    try {
      result = await runPlan(plan, ctx, runJournal<CutoverContext>(await cutoverInstance(ctx)));
    } catch (e) {
      await recordCutover(c, run.run_id, 'failed', { error: String(e) }).catch(() => {});
      throw e;
    }
    const locked = result.locked[0]!;
    const a = ctx.attempt;
    const lockHeldMs = locked.committedAt - a.lockedAt;
    await c.query('UPDATE consolidation.engine_runs SET cutover_ms = $2 WHERE run_id = $1', [
      run.run_id,
      lockHeldMs,
    ]);
    await recordCutover(
      c,
      run.run_id,
      'completed',
      { attempts: locked.attempts, drained: a.drained },
      lockHeldMs,
    );
    return {
      runId: run.run_id,
      attempts: locked.attempts,
      lockHeldMs,
      drainedUnderLock: a.drained,
      validation: a.validation,
      rollbackPoint: a.rollbackPoint,
      carried: a.carried!,
      quarantine: a.quarantine!,
      typeChanges: a.typeChanges,
      sessions: ctx.sessions,
      blockers: ctx.blockers?.reports ?? [],
    };
  } finally {
    await ctx?.blockers?.stop();
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await session.close();
  }
}

/** The cutover's row in monitoring.migration_operations (`lockHeldMs`: the duration, when known). */
function recordCutover(
  c: pg.ClientBase,
  runId: string,
  status: 'completed' | 'failed',
  details: Record<string, unknown>,
  lockHeldMs?: number,
) {
  return recordOperation(c, {
    runId,
    phase: 'phase4_cutover',
    type: 'atomic_cutover',
    target: 'schema',
    status,
    ...(lockHeldMs === undefined ? {} : { durationSeconds: lockHeldMs / 1000 }),
    details,
  });
}

/**
 * A cutover whose locked transaction committed but whose process stopped before the after-commit
 * steps (materialized views refreshed, --reset-app-sessions) were journaled: run just those, in
 * the committed instance's journal (`cutover.<n>`, n = the rollback points the run recorded).
 * Undefined when the latest run is not cut over or has nothing left to finish.
 */
async function finishCommitted(
  ctx: CutoverContext,
  plan: Prepared['plan'],
): Promise<CutoverResult | undefined> {
  const c = ctx.session.client;
  const run = await latestRun(c);
  if (run?.state !== 'cut_over') return undefined;
  const points = await c.query<{ n: number; id: string | null }>(
    `SELECT count(*)::int AS n, (array_agg(p.rollback_point_id ORDER BY p.created_at DESC, p.rollback_point_id DESC))[1] AS id
       FROM consolidation.rollback_points p WHERE p.run_id = $1`,
    [run.run_id],
  );
  const { n, id } = points.rows[0]!;
  const instance = `cutover.${n}`;
  const after = plan.phases.find((p) => p.id === AFTER_CUTOVER_PHASE)?.steps ?? [];
  if (n === 0 || after.every((st) => run.steps_done.includes(`${instance}/${st.id}`))) return undefined;
  ctx.runId = run.run_id;
  ctx.emit({
    type: 'warning',
    message: `cutover ${instance} of run ${run.run_id} had committed but stopped before its after-commit steps; finishing them now`,
  });
  // the lock time was not recorded (that happens after the after-commit steps): the committed
  // attempt's locked steps as the journal timed them (only that attempt's rows committed)
  const locked = plan.phases.flatMap((p) => p.steps).filter((st) => st.tx === 'cutover-locks');
  const held = await c.query<{ ms: number | null }>(
    `SELECT round(sum(duration_seconds) * 1000)::float8 AS ms FROM monitoring.migration_operations
      WHERE run_id = $1 AND details->>'instance' = $2 AND operation_type || ':' || operation_target = ANY ($3)`,
    [run.run_id, instance, locked.map((st) => st.id)],
  );
  await runPlan(plan, ctx, runJournal<CutoverContext>(instance));
  await recordCutover(c, run.run_id, 'completed', { resumed: true, instance });
  return {
    runId: run.run_id,
    attempts: 0,
    lockHeldMs: held.rows[0]?.ms ?? 0,
    drainedUnderLock: 0,
    validation: [],
    rollbackPoint: id ?? '',
    carried: { relations: 0, grants: 0, carried: [] },
    quarantine: await quarantineReport(c, run.run_id, ctx.present, 'after_cutover'),
    typeChanges: [],
    sessions: ctx.sessions,
    blockers: [],
    resumed: true,
  };
}

async function legacyTablesPresent(c: pg.ClientBase, all: MappedTable[]): Promise<MappedTable[]> {
  const r = await c.query<{ name: string }>(
    `SELECT n.nspname || '.' || cl.relname AS name FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind IN ('r','p') AND n.nspname IN ('public','auth')`,
  );
  const names = new Set(r.rows.map((x) => x.name));
  return all.filter((t) => names.has(t.captureName.forward));
}
