/**
 * Runs a plan: each step once, journaled in the database (inside the step's own transaction where
 * it has one), journaled steps skipped on resume; neighbouring `concurrent` steps side by side on
 * the context's lanes; groups of 'cutover-locks' steps in one retried transaction; and, when
 * asked, the undo of the finished steps in reverse order.
 */
import { sqlstate } from '../errors.js';
import { afterStep, beforeStep } from './faults.js';
import type { Plan, RunContext, Step, StepDetails } from './step.js';
import { planSteps } from './step.js';

/** A finished step as the journal records it. */
export interface StepRecord<C extends RunContext = RunContext> {
  step: Step<C>;
  seconds: number;
  details: StepDetails;
}

/**
 * Where a plan's finished steps are recorded. record() runs inside the step's transaction when it
 * has one; a locked group's steps are recorded together, in one call before its COMMIT.
 */
export interface Journal<C extends RunContext = RunContext> {
  done(ctx: C): Promise<ReadonlySet<string>>;
  record(ctx: C, finished: StepRecord<C>[]): Promise<void>;
}

/** A journal that remembers nothing: every step runs (abort, whose steps are all idempotent). */
export const NO_JOURNAL: Journal = { done: async () => new Set(), record: async () => {} };

export interface PlanResult {
  details: Map<string, StepDetails>;
  /** per group of 'cutover-locks' steps: attempts it took and when it committed (ms epoch) */
  locked: { attempts: number; committedAt: number }[];
}

export async function runPlan<C extends RunContext>(
  plan: Plan<C>,
  ctx: C,
  journal: Journal<C>,
): Promise<PlanResult> {
  const done = await journal.done(ctx);
  const result: PlanResult = { details: new Map(), locked: [] };
  for (const phase of plan.phases) {
    await phase.enter?.(ctx);
    for (let i = 0; i < phase.steps.length; i++) {
      const step = phase.steps[i]!;
      const alike = (s: Step<C>) =>
        step.tx === 'cutover-locks'
          ? s.tx === 'cutover-locks'
          : step.concurrent === true && s.concurrent === true;
      let end = i;
      while (end + 1 < phase.steps.length && alike(phase.steps[end + 1]!)) end++;
      const group = phase.steps.slice(i, end + 1);
      i = end;
      if (step.tx === 'cutover-locks') await runLocked(plan, group, ctx, journal, done, result);
      else if (group.length > 1 && ctx.lanes?.length) await runConcurrent(group, ctx, journal, done, result);
      else for (const s of group) await runOne(s, ctx, journal, done, result);
    }
  }
  return result;
}

async function runOne<C extends RunContext>(
  step: Step<C>,
  ctx: C,
  journal: Journal<C>,
  done: ReadonlySet<string>,
  result: PlanResult,
): Promise<void> {
  if (done.has(step.id)) {
    ctx.emit({ type: 'step', step: step.id, status: 'skipped' });
    return;
  }
  await beforeStep(ctx.faults, step.id);
  const t0 = Date.now();
  ctx.emit({ type: 'step', step: step.id, status: 'start' });
  const body = async () => {
    const details = (await step.run(ctx)) ?? undefined;
    await journal.record(ctx, [{ step, seconds: (Date.now() - t0) / 1000, details }]);
    return details;
  };
  const details = step.tx === 'transaction' ? await ctx.session.transaction(body) : await body();
  result.details.set(step.id, details);
  ctx.emit({ type: 'step', step: step.id, status: 'done', seconds: (Date.now() - t0) / 1000, details });
  await afterStep(ctx.faults, step.id);
}

/** 40P01: two concurrent steps locked each other's tables in opposite orders; the server aborted one. */
const DEADLOCK = '40P01';
const DEADLOCK_RETRIES = 3;

/**
 * Neighbouring `concurrent` steps on the session and its lanes: each lane takes the next step in
 * plan order (the planner puts the longest first) until none is left. After a failure no lane
 * starts another step; the ones running finish (each step is its own transaction) and the first
 * error is thrown.
 */
async function runConcurrent<C extends RunContext>(
  steps: Step<C>[],
  ctx: C,
  journal: Journal<C>,
  done: ReadonlySet<string>,
  result: PlanResult,
): Promise<void> {
  const queue = [...steps];
  let failure: { error: unknown } | undefined;
  const lane = async (session: C['session']) => {
    const laneCtx: C = session === ctx.session ? ctx : { ...ctx, session };
    for (let step = queue.shift(); step && !failure; step = queue.shift()) {
      for (let attempt = 1; ; attempt++) {
        try {
          await runOne(step, laneCtx, journal, done, result);
          break;
        } catch (e) {
          if (sqlstate(e) === DEADLOCK && attempt < DEADLOCK_RETRIES) continue;
          failure ??= { error: e };
          break;
        }
      }
    }
  };
  await Promise.all([ctx.session, ...(ctx.lanes ?? [])].map(lane));
  if (failure) throw failure.error;
}

async function runLocked<C extends RunContext>(
  plan: Plan<C>,
  steps: Step<C>[],
  ctx: C,
  journal: Journal<C>,
  done: ReadonlySet<string>,
  result: PlanResult,
): Promise<void> {
  if (steps.every((s) => done.has(s.id))) {
    for (const s of steps) ctx.emit({ type: 'step', step: s.id, status: 'skipped' });
    return;
  }
  const group = plan.locked;
  if (!group) throw new Error(`plan ${plan.name} has 'cutover-locks' steps but no locked group`);
  let attempts = 0;
  const timings: StepRecord<C>[] = [];
  await ctx.session.retry(
    group.what,
    async () => {
      attempts++;
      timings.length = 0;
      await group.beforeAttempt?.(ctx);
      await ctx.session.transaction(async () => {
        for (const step of steps) {
          await beforeStep(ctx.faults, step.id);
          const t0 = Date.now();
          ctx.emit({ type: 'step', step: step.id, status: 'start' });
          const details = (await step.run(ctx)) ?? undefined;
          timings.push({ step, seconds: (Date.now() - t0) / 1000, details });
          await afterStep(ctx.faults, step.id);
        }
        // every step's entry in one round trip, in the transaction: recorded exactly when it commits
        await journal.record(ctx, timings);
      });
    },
    {
      lockTimeoutMs: group.lockTimeoutMs,
      attempts: group.attempts,
      // statement_timeout bounds the LOCK of all tables together
      alsoRetry: ['57014'],
      onRetry: (attempt, waitMs) => ctx.emit({ type: 'retry', what: group.what, attempt, waitMs }),
      ...(group.relations ? { lockedRelations: () => group.relations!(ctx) } : {}),
    },
  );
  result.locked.push({ attempts, committedAt: Date.now() });
  for (const t of timings) {
    result.details.set(t.step.id, t.details);
    ctx.emit({ type: 'step', step: t.step.id, status: 'done', seconds: t.seconds, details: t.details });
  }
}

/**
 * The plan that undoes `plan` as far as it got: the undo of every finished step and of the one
 * that was interrupted (the first unfinished step may have left part of its work), newest first.
 */
export function undoPlan<C extends RunContext>(plan: Plan<C>, done: ReadonlySet<string>): Plan<C> {
  const steps = planSteps(plan);
  let reached = -1;
  steps.forEach((s, i) => {
    if (done.has(s.id)) reached = i;
  });
  const upTo = Math.min(steps.length - 1, reached + 1);
  const undo: Step<C>[] = steps
    .slice(0, upTo + 1)
    .filter((s) => s.undo)
    .reverse()
    .map((s) => ({
      id: `undo:${s.id}`,
      phase: 'undo',
      tx: s.tx === 'transaction' ? 'transaction' : 'none',
      describe: () => ({ summary: `undo ${s.id}: ${s.describe().summary}` }),
      run: (ctx: C) => s.undo!(ctx),
    }));
  return { name: `undo ${plan.name}`, phases: [{ id: 'undo', title: `undo ${plan.name}`, steps: undo }] };
}
