/**
 * `dfc consolidate`: phases 2 and 3 of the guide. Builds complete v2 beside the live legacy
 * tables while the application keeps writing to them, and ends in `ready_for_cutover` with
 * capture still running. Every step has a stable id recorded in consolidation.engine_runs, so a
 * killed run resumes where it stopped; the backfill resumes at its exact last key.
 */
import type pg from 'pg';
import { ensureBookkeeping, recordOperation } from '../bookkeeping.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { DfcError } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { type BackfillPosition, backfillBatch, startPosition } from './backfill.js';
import {
  addConstraints,
  allTables,
  attachPrimaryKey,
  attachUniqueConstraints,
  buildIndexConcurrently,
  createShadowSchemas,
  createShadowTables,
  createShadowViews,
  finishShadowTable,
} from './build.js';
import { installCapture } from './capture.js';
import { DEFAULT_LOCK_POLICY, type LockPolicy } from './ddl.js';
import type { EventSink } from './events.js';
import { type QuarantineReport, quarantineReport } from './late-rows.js';
import { type MappedTable, mapTable } from './mapping.js';
import { legacyLiveOf, q, shadowOf } from './names.js';
import { preflight } from './preflight.js';
import { drain } from './reconcile.js';
import { activeRun, ensureEngineState, markStep, type RunRow, setRunState, stepDone } from './state.js';
import { countConversionIssues } from './support.js';
import { DEFAULT_THROTTLE, type ThrottleOptions, throttle } from './throttle.js';

export type InvalidPolicy = 'abort' | 'quarantine';

export interface ConsolidateOptions {
  batchSize?: number;
  throttle?: Partial<ThrottleOptions>;
  lockPolicy?: Partial<LockPolicy>;
  onInvalid?: InvalidPolicy;
  onEvent?: EventSink;
  /** how to walk legacy tables: 'auto' = block ranges on PostgreSQL 14+, keyset before; 'pk' forces keyset */
  backfillMode?: 'auto' | 'pk';
  /** test hook: stop (throw) right after the named step completes */
  stopAfterStep?: string;
  /** test hook (env DFC_TEST_HOLD_AFTER_STEP in the CLI): sleep 60 s after the named step completes */
  holdAfterStep?: string;
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

export function mappedTables(v2: V2Definition = V2): MappedTable[] {
  return v2.tables.map((t) => mapTable(t, v2.tables));
}

/** Tables that have a legacy source to copy from (v2-only tables such as schema_version_info have none). */
async function withLegacySource(c: pg.ClientBase, tables: MappedTable[]): Promise<MappedTable[]> {
  const r = await c.query<{ name: string }>(
    `SELECT n.nspname || '.' || cl.relname AS name FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind IN ('r','p') AND n.nspname IN ('public','auth')`,
  );
  const present = new Set(r.rows.map((x) => x.name));
  return tables.filter((t) => present.has(t.captureName.forward));
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

export async function consolidate(url: string, opts: ConsolidateOptions = {}): Promise<ConsolidateResult> {
  const started = Date.now();
  const v2 = opts.v2 ?? V2;
  const emit: EventSink = opts.onEvent ?? (() => {});
  const batchSize = opts.batchSize ?? 50000;
  const throttleOpts = { ...DEFAULT_THROTTLE, ...opts.throttle };
  const lockPolicy = { ...DEFAULT_LOCK_POLICY, ...opts.lockPolicy };
  const onInvalid = opts.onInvalid ?? 'abort';
  const c = await connect(url, 'dfc-consolidate');
  const applier = await connect(url, 'dfc-consolidate-apply');
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    await preflight(c, { requireLegacy: true });
    await ensureEngineState(c);
    await ensureBookkeeping(c);
    const all = await withLegacySource(c, mappedTables(v2));
    const { run, resumed } = await startOrResumeRun(c, onInvalid, { batchSize, throttle: throttleOpts });
    const runId = run.run_id;
    if (run.state === 'ready_for_cutover') {
      emit({
        type: 'phase',
        phase: 'ready_for_cutover',
        message: 'already ready for cutover; nothing to do',
      });
      const quarantine = await quarantineReport(c, runId, all, 'before_cutover');
      return { runId, state: run.state, tables: [], seconds: 0, resumed, quarantine };
    }
    const policy = run.on_invalid as InvalidPolicy;

    const step = async (id: string, fn: () => Promise<unknown>) => {
      if (await stepDone(c, runId, id)) {
        emit({ type: 'step', step: id, status: 'skipped' });
        return;
      }
      const t0 = Date.now();
      emit({ type: 'step', step: id, status: 'start' });
      const details = await fn();
      await markStep(c, runId, id);
      const seconds = (Date.now() - t0) / 1000;
      await recordOperation(c, {
        phase: phaseOf(id),
        type: id.split(':')[0]!,
        target: id.split(':')[1] ?? 'schema',
        status: 'completed',
        durationSeconds: seconds,
        runId,
      });
      emit({ type: 'step', step: id, status: 'done', seconds, details: details as Record<string, unknown> });
      if (opts.stopAfterStep === id) throw new Error(`stopped after step ${id} (test hook)`);
      // test hook: hold still after a step so a crash test can SIGKILL at a known point
      if (opts.holdAfterStep === id) await new Promise((r) => setTimeout(r, 60_000));
    };
    const drainCapture = async () => {
      const applied = await drain(applier, all, 'forward', { runId, maxRounds: 20 });
      if (applied) emit({ type: 'capture', applied });
    };

    // Phase 1 check that needs the v2 definition: rows that cannot convert, before anything is copied.
    // tables whose rows matched a conversion issue at the check: only those pay for per-row
    // predicates in the backfill under the abort policy (anything later is captured and applied
    // with the predicates; a v2-only FK broken later stops the run at VALIDATE with CONSOLIDATION_04)
    const issueTables = new Set<string>();
    await step('check:conversion', async () => {
      const issues = await countConversionIssues(c, all);
      const bad = issues.filter((i) => i.count > 0);
      await c.query(
        `UPDATE consolidation.engine_runs SET options = options || jsonb_build_object('issue_tables', $2::jsonb) WHERE run_id = $1`,
        [runId, JSON.stringify([...new Set(bad.map((i) => i.table))])],
      );
      if (bad.length && policy === 'abort') {
        await c.query(`UPDATE consolidation.engine_runs SET state = 'aborted' WHERE run_id = $1`, [runId]);
        throw new DfcError(
          'CONSOLIDATION_04',
          `${bad.reduce((a, i) => a + i.count, 0)} legacy rows cannot be converted to v2: ${bad.map((i) => `${i.id} (${i.count}, e.g. ${JSON.stringify(i.sample.slice(0, 3))})`).join('; ')}`,
          {
            fix: 'fix the rows (each reason and fix is listed by `dfc validate`), or rerun with --on-invalid quarantine to keep the original rows in consolidation.engine_quarantine and convert the rest; nothing was copied',
            details: { issues: bad },
          },
        );
      }
      return { issues: bad.length };
    });

    const recorded = await c.query<{ t: string[] | null }>(
      `SELECT ARRAY(SELECT jsonb_array_elements_text(options->'issue_tables')) AS t FROM consolidation.engine_runs WHERE run_id = $1`,
      [runId],
    );
    for (const name of recorded.rows[0]?.t ?? []) issueTables.add(name);
    emit({ type: 'phase', phase: 'shadow', message: 'phase 2: shadow tables and change capture' });
    await step('shadow:create', async () => {
      await createShadowSchemas(c);
      await createShadowTables(c, v2);
    });
    await step('capture:install', async () => {
      await setRunState(c, runId, 'capturing');
      for (const t of all) {
        await installCapture(c, t, legacyLiveOf(t.def), 'forward', lockPolicy);
        await c.query(
          `INSERT INTO consolidation.engine_tables (run_id, table_name, rows_estimate)
           SELECT $1, $2, greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $3::regclass
           ON CONFLICT DO NOTHING`,
          [runId, t.captureName.forward, q(legacyLiveOf(t.def))],
        );
      }
      return { tables: all.length };
    });

    await setRunState(c, runId, 'backfilling');
    for (const t of all) {
      await step(`backfill:${t.captureName.forward}`, async () => {
        const st = await c.query<{
          last_key: unknown;
          rows_copied: string;
          rows_estimate: string;
          backfill_done: boolean;
        }>(
          'SELECT last_key, rows_copied, rows_estimate, backfill_done FROM consolidation.engine_tables WHERE run_id = $1 AND table_name = $2',
          [runId, t.captureName.forward],
        );
        let position: BackfillPosition =
          (st.rows[0]?.last_key as BackfillPosition | null) ??
          (await startPosition(c, t, opts.backfillMode ?? 'auto'));
        let done = Number(st.rows[0]?.rows_copied ?? 0);
        const total = Math.max(Number(st.rows[0]?.rows_estimate ?? 0), done);
        let finished = Boolean(st.rows[0]?.backfill_done);
        const t0 = Date.now();
        let copiedHere = 0;
        const applyIssues = policy !== 'abort' || issueTables.has(t.captureName.forward);
        while (!finished) {
          await throttle(c, runId, throttleOpts, (reason) => emit({ type: 'throttle', reason }));
          const b = await backfillBatch(c, t, runId, position, { batchSize, applyIssues });
          position = b.position;
          done += b.inserted;
          copiedHere += b.scanned;
          finished = b.done;
          const rate = copiedHere / Math.max(0.001, (Date.now() - t0) / 1000);
          emit({
            type: 'progress',
            table: t.captureName.forward,
            done,
            total: Math.max(total, done),
            rowsPerSecond: Math.round(rate),
            etaSeconds: rate > 0 ? Math.max(0, (total - done) / rate) : null,
          });
        }
        return { rows: done };
      });
    }

    emit({ type: 'phase', phase: 'optimize', message: 'phase 3: indexes, constraints, views' });
    await setRunState(c, runId, 'optimizing');
    // the copy went into bare heaps; now the keys, then the changes captured meanwhile
    for (const t of allTables(v2)) {
      const mapped = all.find((m) => m.def.schema === t.schema && m.def.name === t.name);
      await step(`pk:${t.schema}.${t.name}`, async () => ({
        recopied: await attachPrimaryKey(c, t, mapped ? legacyLiveOf(mapped.def) : null),
      }));
    }
    await step('capture:catch-up', async () => ({
      applied: await drain(applier, all, 'forward', { runId }),
    }));
    for (const t of allTables(v2)) {
      await step(`indexes:${t.schema}.${t.name}`, async () => {
        await attachUniqueConstraints(c, t);
        for (const index of t.indexes) {
          await buildIndexConcurrently(c, t, index);
          await drainCapture();
        }
        return { indexes: t.indexes.length + t.uniques.length };
      });
    }
    for (const t of allTables(v2))
      await step(`checks:${t.schema}.${t.name}`, () => addConstraints(c, t, 'check'));
    await step('capture:catch-up-2', async () => ({
      applied: await drain(applier, all, 'forward', { runId }),
    }));
    for (const t of allTables(v2)) await step(`fks:${t.schema}.${t.name}`, () => addConstraints(c, t, 'fk'));
    for (const t of allTables(v2)) await step(`finish:${t.schema}.${t.name}`, () => finishShadowTable(c, t));
    await step('views:create', () => createShadowViews(c, v2));
    await step('analyze', async () => {
      for (const t of allTables(v2)) await c.query(`ANALYZE ${q(shadowOf(t))}`);
    });
    await drainCapture();
    await setRunState(c, runId, 'ready_for_cutover');
    const late = await quarantineReport(c, runId, all, 'before_cutover');
    if (late.total && policy === 'abort')
      emit({
        type: 'warning',
        message: `${late.total} row(s) that cannot convert arrived after the check: cutover will refuse (CONSOLIDATION_04) until they are fixed; see consolidation.engine_quarantine`,
      });
    emit({
      type: 'phase',
      phase: 'ready_for_cutover',
      message: 'ready for cutover; change capture keeps the shadow current',
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
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await c.end().catch(() => {});
    await applier.end().catch(() => {});
  }
}

function phaseOf(step: string): string {
  if (step.startsWith('check')) return 'phase1_validation';
  if (step.startsWith('shadow') || step.startsWith('capture') || step.startsWith('backfill'))
    return 'phase2_shadow';
  return 'phase3_optimization';
}
