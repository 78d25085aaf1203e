/**
 * `dfc consolidate`: phases 2 and 3 of the guide, as a plan (src/engine/planner.ts) run by the
 * core runner. Builds complete v2 beside the live legacy tables while the application keeps
 * writing to them, and ends in `ready_for_cutover` with capture still running. Every step is
 * journaled in consolidation.engine_runs, so a killed run resumes where it stopped; the backfill
 * resumes at its exact last key.
 */
import type pg from 'pg';
import { ensureBookkeeping } from '../bookkeeping.js';
import { type Faults, NO_FAULTS } from '../core/faults.js';
import { NO_JOURNAL, runPlan, undoPlan } from '../core/runner.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { Session, type SessionPolicy, sessionPolicy } from '../db/session.js';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import {
  ConversionCheck,
  conversionRefusal,
  isConversionRefusal,
  mayBeConversionFailure,
} from './conversion-check.js';
import type { EventSink } from './events.js';
import { runJournal } from './journal.js';
import { type QuarantineReport, quarantineReport } from './late-rows.js';
import { type MappedTable, mapTable } from './mapping.js';
import { planConsolidate } from './planner.js';
import { preflight } from './preflight.js';
import { activeRun, ensureEngineState, type RunRow } from './state.js';
import type { ConsolidateContext, InvalidPolicy } from './steps/context.js';
import { cancelBlockersAfter } from './steps/cutover-blockers.js';
import { DEFAULT_THROTTLE, type ThrottleOptions } from './throttle.js';

export type { InvalidPolicy } from './steps/context.js';

export interface ConsolidateOptions {
  batchSize?: number;
  /**
   * sessions for the concurrent steps (copies, primary keys, indexes, constraints of different
   * shadow tables side by side); default 2, 1 = one at a time
   */
  lanes?: number;
  /**
   * max_parallel_maintenance_workers for every session of the run (its index and primary-key
   * builds); default the server's. On 2 cores with 2 lanes, 0 made the builds alone faster
   * (bench/index-builds, 1M: 4.23 s against 4.69 s with the default 2) but not the whole run under
   * traffic (13.2 / 14.4 s against 13.0 / 13.1 s), so the default is left to the server
   */
  indexWorkers?: number;
  /** after capture:install has tried this long (ms), cancel the sessions blocking it (as `dfc cutover`) */
  cancelBlockersAfterMs?: number;
  throttle?: Partial<ThrottleOptions>;
  /** lock_timeout, statement_timeout and retries (validated: a value ≤ 0 is a DFC_CONFIG error) */
  session?: Partial<Record<keyof SessionPolicy, unknown>>;
  onInvalid?: InvalidPolicy;
  onEvent?: EventSink;
  /** how to walk legacy tables: 'auto' = block ranges on PostgreSQL 14+, keyset before; 'pk' forces keyset */
  backfillMode?: 'auto' | 'pk';
  /** test seam (src/core/faults.ts) */
  faults?: Faults;
  v2?: V2Definition;
}

export interface ConsolidateResult {
  runId: string;
  state: string;
  tables: { table: string; rowsCopied: number }[];
  seconds: number;
  resumed: boolean;
  /** rows quarantined so far (under abort: rows that arrived after the check; cutover will refuse them) */
  quarantine: QuarantineReport;
}

/**
 * 2 sessions, one per core of the machine measured: consolidate at 1M domains, idle, lanes 1 and 2
 * interleaved took 16.6 / 17.9 / 19.2 s and 15.2 / 16.8 / 15.1 s (index builds 7.4 → 5.3 s wall);
 * with the copies on the lanes too 15.5 / 13.4 s and 12.5 / 11.1 s (backfill 4.6 / 4.0 → 3.8 / 2.7 s);
 * under 80 ops/s of traffic 22.6 / 30.0 s and 17.7 / 23.1 s, the application's write p99 during the
 * run 403 / 702 ms and 970 / 903 ms: shorter, felt more (`--lanes 1` and the throttle options for gentler).
 */
export const DEFAULT_LANES = 2;

export function mappedTables(v2: V2Definition = V2): MappedTable[] {
  return v2.tables.map((t) => mapTable(t, v2.tables));
}

async function startOrResumeRun(
  c: pg.ClientBase,
  onInvalid: InvalidPolicy,
  options: object,
): Promise<{ run: RunRow; resumed: boolean }> {
  // an unfinished run is resumed with the policy it started with
  const run = await activeRun(c);
  if (run) return { run, resumed: true };
  const r = await c.query<RunRow>(
    `INSERT INTO consolidation.engine_runs (on_invalid, options) VALUES ($1, $2)
     RETURNING run_id, state, on_invalid, paused, steps_done, started_at, cutover_at`,
    [onInvalid, JSON.stringify(options)],
  );
  return { run: r.rows[0]!, resumed: false };
}

/**
 * The refusal a failed run owes the user instead of its error: the check's own, or — when the copy
 * tripped over a row before the check named it (a failed cast, a constraint) — the check's finding.
 */
async function refusalFor(e: unknown, ctx: ConsolidateContext): Promise<Error | undefined> {
  if (isConversionRefusal(e)) return e;
  if (ctx.onInvalid !== 'abort' || !ctx.conversion?.started || !mayBeConversionFailure(e)) return undefined;
  const bad = await ctx.conversion.result().catch(() => []);
  return bad.length ? conversionRefusal(bad) : undefined;
}

export async function consolidate(url: string, opts: ConsolidateOptions = {}): Promise<ConsolidateResult> {
  const started = Date.now();
  const v2 = opts.v2 ?? V2;
  const emit: EventSink = opts.onEvent ?? (() => {});
  const batchSize = opts.batchSize ?? 50000;
  const throttleOpts = { ...DEFAULT_THROTTLE, ...opts.throttle };
  const policy = sessionPolicy(opts.session);
  const cancelBlockersAfterMs = cancelBlockersAfter(opts.cancelBlockersAfterMs);
  const laneCount = opts.lanes ?? DEFAULT_LANES;
  if (!Number.isInteger(laneCount) || laneCount < 1)
    throw new DfcError('DFC_CONFIG', `lanes must be a whole number ≥ 1, got ${JSON.stringify(opts.lanes)}`, {
      fix: 'pass --lanes 1 (one step at a time) or more',
    });
  const indexWorkers = opts.indexWorkers;
  if (
    indexWorkers !== undefined &&
    (!Number.isInteger(indexWorkers) || indexWorkers < 0 || indexWorkers > 1024)
  )
    throw new DfcError(
      'DFC_CONFIG',
      `index workers must be a whole number from 0 to 1024, got ${JSON.stringify(indexWorkers)}`,
      {
        fix: "pass --index-workers 0 (no parallel workers per build) or more; leave it out for the server's max_parallel_maintenance_workers",
      },
    );
  const session = await Session.open(url, 'dfc-consolidate', policy);
  const lanes: Session[] = [];
  let applier: pg.Client | undefined;
  let conversion: ConversionCheck | undefined;
  let ctxRef: ConsolidateContext | undefined;
  const c = session.client;
  try {
    applier = await connect(url, 'dfc-consolidate-apply');
    for (let i = 1; i < laneCount; i++)
      lanes.push(await Session.open(url, `dfc-consolidate-lane-${i + 1}`, policy));
    if (indexWorkers !== undefined)
      for (const s of [session, ...lanes])
        await s.client.query(`SELECT set_config('max_parallel_maintenance_workers', $1, false)`, [
          String(indexWorkers),
        ]);
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    await preflight(c, { requireLegacy: true });
    await ensureEngineState(c);
    await ensureBookkeeping(c);
    const backfillMode = opts.backfillMode ?? 'auto';
    const { plan, present } = await planConsolidate(session, { v2, mapped: mappedTables(v2), backfillMode });
    const { run, resumed } = await startOrResumeRun(c, opts.onInvalid ?? 'abort', {
      batchSize,
      throttle: throttleOpts,
    });
    const runId = run.run_id;
    if (run.state === 'ready_for_cutover') {
      emit({
        type: 'phase',
        phase: 'ready_for_cutover',
        message: 'already ready for cutover; nothing to do',
      });
      const quarantine = await quarantineReport(c, runId, present, 'before_cutover');
      return { runId, state: run.state, tables: [], seconds: 0, resumed, quarantine };
    }
    const ctx: ConsolidateContext = {
      session,
      lanes,
      runId,
      emit,
      faults: opts.faults ?? NO_FAULTS,
      applier,
      v2,
      tables: present,
      onInvalid: run.on_invalid as InvalidPolicy,
      batchSize,
      throttle: throttleOpts,
      backfillMode,
      url,
      cancelBlockersAfterMs,
    };
    conversion = ctx.conversion = new ConversionCheck(url, present);
    ctxRef = ctx;
    const journal = runJournal<ConsolidateContext>();
    try {
      await runPlan(plan, ctx, journal);
    } catch (e) {
      const refusal = await refusalFor(e, ctx);
      if (!refusal) throw e;
      // the count found rows v2 cannot take: undo everything this run made, then refuse
      await runPlan(undoPlan(plan, await journal.done(ctx)), ctx, NO_JOURNAL as never);
      await c.query(`DELETE FROM consolidation.capture_log WHERE direction = 'forward'`);
      await c.query(
        `UPDATE consolidation.engine_runs SET state = 'aborted', updated_at = now() WHERE run_id = $1`,
        [runId],
      );
      throw refusal;
    }
    const late = await quarantineReport(c, runId, present, 'before_cutover');
    if (late.total && ctx.onInvalid === 'abort')
      emit({
        type: 'warning',
        message: `${late.total} row(s) that cannot convert arrived after the check: cutover will refuse (CONSOLIDATION_04) until they are fixed; see consolidation.engine_quarantine`,
      });
    const progress = await c.query<{ table_name: string; rows_copied: string }>(
      'SELECT table_name, rows_copied FROM consolidation.engine_tables WHERE run_id = $1 ORDER BY table_name',
      [runId],
    );
    return {
      runId,
      state: 'ready_for_cutover',
      tables: progress.rows.map((r) => ({ table: r.table_name, rowsCopied: Number(r.rows_copied) })),
      seconds: (Date.now() - started) / 1000,
      resumed,
      quarantine: late,
    };
  } finally {
    await conversion?.stop(c).catch(() => {});
    await ctxRef?.analyzer?.stop(c).catch(() => {});
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await session.close();
    for (const l of lanes) await l.close();
    await applier?.end().catch(() => {});
  }
}
