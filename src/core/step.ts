/**
 * The engine's unit of work. A plan is phases of steps; a step is a value the planner builds from
 * the live catalog and the v2 definition, so the dry run prints exactly what the runner executes.
 */
import type { Session } from '../db/session.js';
import type { EventSink } from '../engine/events.js';
import type { Faults } from './faults.js';

/**
 * How a step runs:
 * - 'transaction': the runner wraps run() and the journal entry in one transaction (exactly once);
 * - 'none': outside any transaction (CREATE INDEX CONCURRENTLY, batches that commit themselves);
 * - 'cutover-locks': consecutive such steps share one transaction opened by the runner and retried
 *   whole (the first of them takes the locks); all commit together or nothing does.
 */
export type TxMode = 'transaction' | 'none' | 'cutover-locks';

/** What a step will do, for the dry run; estimates where the planner can make them. */
export interface StepDescription {
  summary: string;
  rows?: number;
  bytes?: number;
  seconds?: number;
}

export interface RunContext {
  session: Session;
  /**
   * more sessions for `concurrent` steps (none: they run one at a time on `session`); a step that
   * runs on a lane gets a copy of the context whose `session` is that lane
   */
  lanes?: Session[];
  runId: string;
  emit: EventSink;
  faults: Faults;
}

export type StepDetails = Record<string, unknown> | undefined;

export interface Step<C extends RunContext = RunContext> {
  /** stable across versions and resumes: the journal key */
  readonly id: string;
  readonly phase: string;
  readonly tx: TxMode;
  /**
   * may run beside the `concurrent` steps next to it in its phase, each on a session of its own
   * (the runner's lanes); such neighbours must not need each other's work. A deadlock between
   * them (40P01) is retried: run() must be idempotent, as it is for a resume.
   */
  readonly concurrent?: boolean;
  describe(): StepDescription;
  // biome-ignore lint/suspicious/noConfusingVoidType: a step may return nothing
  run(ctx: C): Promise<StepDetails | void>;
  /** undo what run() did; must be idempotent (it also runs for a step that was interrupted) */
  // biome-ignore lint/suspicious/noConfusingVoidType: an undo may return nothing
  undo?(ctx: C): Promise<StepDetails | void>;
}

export interface Phase<C extends RunContext = RunContext> {
  id: string;
  title: string;
  /** runs when the phase is reached, even if all its steps are already journaled (state, events) */
  enter?(ctx: C): Promise<void>;
  steps: Step<C>[];
}

/** How the runner takes and retries the transaction of a group of 'cutover-locks' steps. */
export interface LockedGroup<C extends RunContext = RunContext> {
  what: string;
  lockTimeoutMs: number;
  attempts: number;
  /** outside the transaction, before each attempt (e.g. drain the capture log so the locked part is short) */
  beforeAttempt?(ctx: C): Promise<void>;
  /** the relations the group locks (regclass text): CONSOLIDATION_03 names who holds them */
  relations?(ctx: C): readonly string[];
}

export interface Plan<C extends RunContext = RunContext> {
  name: string;
  phases: Phase<C>[];
  locked?: LockedGroup<C>;
}

export const planSteps = <C extends RunContext>(plan: Plan<C>): Step<C>[] =>
  plan.phases.flatMap((p) => p.steps);

/** The dry-run view of a plan: every step in order with its description. */
export function describePlan<C extends RunContext>(
  plan: Plan<C>,
): { id: string; phase: string; tx: TxMode; concurrent?: true; description: StepDescription }[] {
  return planSteps(plan).map((s) => ({
    id: s.id,
    phase: s.phase,
    tx: s.tx,
    ...(s.concurrent ? { concurrent: true as const } : {}),
    description: s.describe(),
  }));
}
