/**
 * `dfc consolidate abort`: undo an unfinished consolidation — the undo of each step the run
 * finished (and of the one it was in), newest first: capture triggers off the legacy tables,
 * shadow schemas dropped; then the pending captured changes discarded and the run marked
 * aborted. The legacy tables and their data are never touched. Not for a run that has cut over
 * (that is a rollback).
 */
import type pg from 'pg';
import { NO_FAULTS } from '../core/faults.js';
import { NO_JOURNAL, runPlan, undoPlan } from '../core/runner.js';
import type { Plan, Step } from '../core/step.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { Session } from '../db/session.js';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import { mappedTables } from './consolidate.js';
import type { EventSink } from './events.js';
import { planConsolidate } from './planner.js';
import { activeRun } from './state.js';
import type { ConsolidateContext } from './steps/context.js';
import { DEFAULT_THROTTLE } from './throttle.js';

const finalSteps: Step<ConsolidateContext>[] = [
  {
    id: 'abort:discard-capture',
    phase: 'abort',
    tx: 'transaction',
    describe: () => ({ summary: 'discard the captured changes not yet applied, and mark the run aborted' }),
    async run(ctx) {
      await ctx.session.client.query(`DELETE FROM consolidation.capture_log WHERE direction = 'forward'`);
      await ctx.session.client.query(
        `UPDATE consolidation.engine_runs SET state = 'aborted', updated_at = now() WHERE run_id = $1`,
        [ctx.runId],
      );
    },
  },
];

export async function abortConsolidation(
  url: string,
  opts: { onEvent?: EventSink } = {},
): Promise<{ runId: string; triggersRemoved: number }> {
  const session = await Session.open(url, 'dfc-abort');
  const c = session.client;
  let applier: pg.Client | undefined;
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    const run = await activeRun(c);
    if (!run)
      throw new DfcError('CONSOLIDATION_01', 'there is no unfinished consolidation to abort', {
        fix: 'nothing to do; `dfc consolidate status` shows the latest run',
      });
    applier = await connect(url, 'dfc-abort-apply');
    const { plan: consolidatePlan, present } = await planConsolidate(session, {
      v2: V2,
      mapped: mappedTables(V2),
      backfillMode: 'auto',
    });
    const undo = undoPlan(consolidatePlan, new Set(run.steps_done));
    const plan: Plan<ConsolidateContext> = {
      name: 'abort',
      phases: [...undo.phases, { id: 'abort', title: 'discard pending changes', steps: finalSteps }],
    };
    const ctx: ConsolidateContext = {
      session,
      runId: run.run_id,
      emit: opts.onEvent ?? (() => {}),
      faults: NO_FAULTS,
      applier,
      v2: V2,
      tables: present,
      onInvalid: 'abort',
      batchSize: 0,
      throttle: DEFAULT_THROTTLE,
      backfillMode: 'auto',
    };
    const r = await runPlan(plan, ctx, NO_JOURNAL as never);
    const removed = r.details.get('undo:capture:install')?.triggersRemoved;
    return { runId: run.run_id, triggersRemoved: Number(removed ?? 0) };
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await session.close();
    await applier?.end().catch(() => {});
  }
}
