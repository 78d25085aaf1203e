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
import type pg from 'pg';
import { ensureBookkeeping, recordOperation } from '../bookkeeping.js';
import type { Faults } from '../core/faults.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { backoffMs as backoff, DEFAULT_SESSION_POLICY, sleep } from '../db/session.js';
import { DfcError, sqlstate } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import type { V2Definition } from '../schema/v2/model.js';
import { build, literal, quoteIdent } from '../sql/sql.js';
import { allTables } from './build.js';
import { captureTriggerName, createCaptureTriggerSql, dropCaptureSql } from './capture.js';
import { mappedTables } from './consolidate.js';
import type { EventSink } from './events.js';
import type { MappedTable } from './mapping.js';
import { legacyLiveOf, liveOf, q, ROLLBACK_SCHEMA, SHADOW_SCHEMA, shadowOf } from './names.js';
import { applyCaptureBatch, drain } from './reconcile.js';
import { checkPoint, type RollbackCheck } from './rollback-check.js';
import {
  currentFunctions,
  kindWord,
  pointMappedTables,
  type RollbackPoint,
  readRollbackPoint,
  relOf,
} from './rollback-points.js';

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

/** Sequences of v2 tables with a legacy counterpart of the same name. */
function sequencePairs(v2: V2Definition): { schema: 'public' | 'auth'; name: string }[] {
  const out: { schema: 'public' | 'auth'; name: string }[] = [];
  for (const t of allTables(v2))
    for (const col of t.columns)
      if (col.ownedSequence) out.push({ schema: t.schema, name: col.ownedSequence });
  return out;
}

function describePlan(point: RollbackPoint, tables: MappedTable[], v2: V2Definition): string[] {
  const list = (xs: string[]) =>
    xs.length > 8 ? `${xs.slice(0, 8).join(', ')} … (${xs.length})` : xs.join(', ');
  const out = point.details.movedIn.map((m) => `${kindWord(m.kind)} ${q(relOf(m, 'live'))}`);
  const back = point.details.movedOut.map((m) => `${kindWord(m.kind)} ${q(relOf(m, 'rollback'))}`);
  return [
    'drain reverse capture into the rollback copy (no lock)',
    `BEGIN; lock_timeout and statement_timeout = the lock timeout; LOCK ${tables.length} v2 tables, the v2 views and the copy IN ACCESS EXCLUSIVE MODE (retried with backoff on timeout)`,
    'apply the reverse changes captured since, under the lock',
    `drop reverse capture (${captureTriggerName('reverse')}) and the v2 triggers on the v2 tables`,
    `SET SCHEMA to ${Object.values(SHADOW_SCHEMA).join('/')}: ${list(out)}`,
    `SET SCHEMA to public/auth: ${list(back)}`,
    `advance ${sequencePairs(v2).length} legacy sequences past every value v2 handed out`,
    `restore ${point.details.functions.length} legacy function definitions and comments; drop the functions only v2 has`,
    `install forward capture on ${tables.length} legacy tables (the shadow stays current for the next cutover)`,
    'validate in the transaction (backlog empty, every relation in place, capture swapped, no invalid index, schema_migrations clean at 17); COMMIT only if it passes',
    `point ${point.id} → used; run ${point.runId} → ready_for_cutover; refresh legacy materialized views`,
  ];
}

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
    const checks = structural.every((x) => x.passed) ? await checkPoint(c, point) : structural;
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
  const policy = {
    ...DEFAULT_SESSION_POLICY,
    lockTimeoutMs: opts.lockTimeoutMs ?? 1000,
    attempts: opts.attempts ?? 20,
  };
  const started = Date.now();
  const c = await connect(url, 'dfc-rollback');
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
      const rows = await checkPoint(c, point);
      if (rows.some((x) => !x.passed))
        throw refuse(
          point.id,
          rows.filter((x) => !x.passed),
        );
    }
    const views = point.details.movedIn.filter((m) => m.kind === 'v').map((m) => q(relOf(m, 'live')));
    const toLock = [
      ...allTables(v2).map((t) => q(liveOf(t))),
      ...views,
      ...point.details.movedOut.filter((m) => m.kind !== 'm').map((m) => q(relOf(m, 'rollback'))),
    ];
    for (let attempt = 1; ; attempt++) {
      await drain(c, tables, 'reverse');
      await c.query('BEGIN');
      try {
        await c.query(`SET LOCAL lock_timeout = ${Math.floor(policy.lockTimeoutMs)}`);
        await c.query(`SET LOCAL statement_timeout = ${Math.floor(policy.lockTimeoutMs)}`);
        await c.query(`LOCK TABLE ${toLock.join(', ')} IN ACCESS EXCLUSIVE MODE`);
        // materialized views cannot be LOCKed: moving them takes their lock, under the same timeouts
        for (const s of Object.values(SHADOW_SCHEMA))
          await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)}`);
        for (const m of point.details.movedIn.filter((x) => x.kind === 'm'))
          await c.query(
            `ALTER MATERIALIZED VIEW ${q(relOf(m, 'live'))} SET SCHEMA ${quoteIdent(SHADOW_SCHEMA[m.schema])}`,
          );
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        const busy = sqlstate(e) === '55P03' || sqlstate(e) === '57014';
        if (busy && attempt < policy.attempts) {
          const wait = backoff(policy, attempt - 1);
          emit({ type: 'retry', what: 'rollback locks', attempt, waitMs: Math.round(wait) });
          await sleep(wait);
          continue;
        }
        if (busy)
          throw new DfcError(
            'CONSOLIDATION_03',
            `rollback could not lock the v2 tables within ${policy.lockTimeoutMs} ms in ${attempt} attempts; nothing was changed`,
            {
              fix: 'find the long transactions holding locks (pg_stat_activity, pg_locks) or retry with --lock-timeout / --attempts',
              cause: e,
            },
          );
        throw e;
      }
      const lockedAt = Date.now();
      try {
        await c.query('SET LOCAL lock_timeout = 0');
        await c.query('SET LOCAL statement_timeout = 0');
        let drainedUnderLock = 0;
        for (;;) {
          const n = await applyCaptureBatch(c, tables, 'reverse', 10000, { inTransaction: true });
          drainedUnderLock += n;
          if (n === 0) break;
        }
        const keptFunctions = await swapBack(c, v2, point, tables);
        const validation = await validateRollback(c, point, tables);
        if (opts.faults?.failValidation)
          validation.push({ check: 'forced failure (test hook)', passed: false });
        const failed = validation.filter((v) => !v.passed);
        if (failed.length)
          throw new DfcError(
            'CONSOLIDATION_01',
            `rollback validation failed: ${failed.map((f) => f.check).join('; ')}; rolled back, nothing changed`,
            {
              fix: 'inspect the failed checks (details in --json), fix the cause and run it again',
              details: { validation },
            },
          );
        await c.query(
          `UPDATE consolidation.rollback_points SET state = 'used', used_at = now(), used_by = current_user, reason = $2
            WHERE rollback_point_id = $1`,
          [point.id, opts.reason],
        );
        await c.query(
          `UPDATE consolidation.engine_runs SET state = 'ready_for_cutover', cutover_at = NULL, updated_at = now() WHERE run_id = $1`,
          [point.runId],
        );
        await c.query('COMMIT');
        const lockHeldMs = Date.now() - lockedAt;
        const wallSeconds = (Date.now() - started) / 1000;
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
            attempts: attempt,
            drainedBeforeLock,
            drainedUnderLock,
            reason: opts.reason,
          },
        });
        await refreshLegacyMatviews(c, point);
        emit({
          type: 'phase',
          phase: 'rolled_back',
          message: `rolled back through ${point.id}; ready for cutover`,
        });
        return {
          point: point.id,
          runId: point.runId,
          attempts: attempt,
          lockHeldMs,
          wallSeconds,
          drainedBeforeLock,
          drainedUnderLock,
          validation,
          keptFunctions,
        };
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
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
    }
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await c.end().catch(() => {});
  }
}

/** The moves back, in the rollback transaction under the locks. Returns v2-only functions kept. */
async function swapBack(
  c: pg.ClientBase,
  v2: V2Definition,
  point: RollbackPoint,
  tables: MappedTable[],
): Promise<string[]> {
  for (const t of tables) await c.query(dropCaptureSql(liveOf(t.def), 'reverse'));
  // v2's triggers leave with v2: the next cutover creates them again
  for (const t of allTables(v2))
    for (const trg of t.triggers)
      await c.query(`DROP TRIGGER IF EXISTS ${quoteIdent(trg.name)} ON ${q(liveOf(t))}`);
  const order = (k: string) => (k === 'v' ? 0 : k === 'm' ? 1 : 2);
  const byKind = <T extends { kind: string }>(xs: T[]) =>
    [...xs].sort((a, b) => order(a.kind) - order(b.kind));
  for (const m of byKind(point.details.movedIn.filter((x) => x.kind !== 'm')))
    await c.query(
      `ALTER ${kindWord(m.kind)} ${q(relOf(m, 'live'))} SET SCHEMA ${quoteIdent(SHADOW_SCHEMA[m.schema])}`,
    );
  for (const m of byKind(point.details.movedOut))
    await c.query(`ALTER ${kindWord(m.kind)} ${q(relOf(m, 'rollback'))} SET SCHEMA ${quoteIdent(m.schema)}`);
  // legacy sequences continue past every value v2 handed out (the copy got v2's ids verbatim)
  for (const s of sequencePairs(v2)) {
    const legacy = `${quoteIdent(s.schema)}.${quoteIdent(s.name)}`;
    const shadow = `${quoteIdent(SHADOW_SCHEMA[s.schema])}.${quoteIdent(s.name)}`;
    const ok = await c.query('SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ok', [
      legacy,
      shadow,
    ]);
    if (!ok.rows[0]?.ok) continue;
    await c.query(
      `SELECT setval($1::regclass, greatest(
                (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM ${legacy}),
                (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM ${shadow})), false)`,
      [legacy],
    );
  }
  const kept = await restoreFunctions(c, point);
  for (const t of tables) await c.query(createCaptureTriggerSql(t, legacyLiveOf(t.def), 'forward'));
  // as before the first cutover: no autovacuum worker may hold a shadow lock the next cutover needs
  for (const t of allTables(v2))
    await c.query(
      `ALTER TABLE ${q(shadowOf(t))} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`,
    );
  return kept;
}

/** Legacy function bodies and comments as recorded; functions only v2 defines are dropped where nothing uses them. */
async function restoreFunctions(c: pg.ClientBase, point: RollbackPoint): Promise<string[]> {
  const recorded = new Map(point.details.functions.map((f) => [f.signature, f]));
  const kept: string[] = [];
  for (const f of await currentFunctions(c)) {
    const was = recorded.get(f.signature);
    if (!was) {
      await c.query('SAVEPOINT dfc_drop_fn');
      try {
        await c.query(`DROP FUNCTION ${f.signature}`);
        await c.query('RELEASE SAVEPOINT dfc_drop_fn');
      } catch (e) {
        if (sqlstate(e) !== '2BP01') throw e;
        await c.query('ROLLBACK TO SAVEPOINT dfc_drop_fn');
        kept.push(f.signature);
      }
      continue;
    }
    if (f.def !== was.def) await c.query(was.def);
    if (f.comment !== was.comment || f.def !== was.def)
      await c.query(`COMMENT ON FUNCTION ${f.signature} IS ${build(literal(was.comment)).text}`);
  }
  return kept;
}

/** Checks in the rollback transaction; cheap and independent of table size. */
async function validateRollback(
  c: pg.ClientBase,
  point: RollbackPoint,
  tables: MappedTable[],
): Promise<RollbackCheck[]> {
  const checks: RollbackCheck[] = [];
  const backlog = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM consolidation.capture_log WHERE direction = 'reverse'`,
  );
  checks.push({
    check: 'reverse capture fully applied',
    passed: backlog.rows[0]?.n === '0',
    details: backlog.rows[0],
  });
  const rels = (where: 'live' | 'shadow', ms: RollbackPoint['details']['movedIn']) =>
    ms.map((m) => q(relOf(m, where)));
  const missing = await c.query<{ name: string }>(
    'SELECT x.name FROM unnest($1::text[]) AS x(name) WHERE to_regclass(x.name) IS NULL',
    [[...rels('live', point.details.movedOut), ...rels('shadow', point.details.movedIn)]],
  );
  checks.push({
    check: 'every legacy relation is live and every v2 relation is in the shadow',
    passed: missing.rows.length === 0,
    details: missing.rows,
  });
  const leftover = await c.query(
    `SELECT n.nspname, cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m')`,
    [Object.values(ROLLBACK_SCHEMA)],
  );
  checks.push({
    check: 'rollback schemas are empty',
    passed: leftover.rows.length === 0,
    details: leftover.rows,
  });
  const reverse = await c.query(`SELECT tgrelid::regclass::text AS rel FROM pg_trigger WHERE tgname = $1`, [
    captureTriggerName('reverse'),
  ]);
  checks.push({
    check: 'reverse capture triggers removed',
    passed: reverse.rows.length === 0,
    details: reverse.rows,
  });
  const forward = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_trigger WHERE tgname = $1 AND tgrelid = ANY ($2::regclass[])`,
    [captureTriggerName('forward'), tables.map((t) => q(legacyLiveOf(t.def)))],
  );
  checks.push({
    check: 'forward capture on every legacy table',
    passed: Number(forward.rows[0]?.n) === tables.length,
    details: { expected: tables.length, found: Number(forward.rows[0]?.n) },
  });
  const invalid = await c.query(
    `SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname IN ('public','auth') AND NOT (i.indisvalid AND i.indisready)`,
  );
  checks.push({ check: 'no invalid index', passed: invalid.rows.length === 0, details: invalid.rows });
  // nothing live may still point at a v2 relation now in the shadow (a view, an FK, a trigger)
  const dependents = await c.query(
    `SELECT DISTINCT d.classid::regclass::text AS kind, d.objid, ref.relname AS v2_relation
       FROM pg_depend d JOIN pg_class ref ON ref.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = ref.relnamespace
      WHERE d.refclassid = 'pg_class'::regclass AND rn.nspname = ANY ($1) AND d.deptype IN ('n','a')
        AND COALESCE(
          (SELECT xn.nspname FROM pg_class o JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_class'::regclass AND o.oid = d.objid),
          (SELECT xn.nspname FROM pg_rewrite rw JOIN pg_class o ON o.oid = rw.ev_class JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid),
          (SELECT xn.nspname FROM pg_constraint k JOIN pg_class o ON o.oid = k.conrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_constraint'::regclass AND k.oid = d.objid),
          (SELECT xn.nspname FROM pg_trigger tg JOIN pg_class o ON o.oid = tg.tgrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_trigger'::regclass AND tg.oid = d.objid),
          (SELECT xn.nspname FROM pg_policy po JOIN pg_class o ON o.oid = po.polrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_policy'::regclass AND po.oid = d.objid),
          (SELECT xn.nspname FROM pg_attrdef ad JOIN pg_class o ON o.oid = ad.adrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid),
          '') <> ALL ($1)`,
    [Object.values(SHADOW_SCHEMA)],
  );
  checks.push({
    check: 'no live object depends on a v2 relation',
    passed: dependents.rows.length === 0,
    details: dependents.rows,
  });
  const current = new Map((await currentFunctions(c)).map((f) => [f.signature, f.def]));
  const changed = point.details.functions
    .filter((f) => current.get(f.signature) !== f.def)
    .map((f) => f.signature);
  checks.push({
    check: 'every legacy function as it was before cutover',
    passed: changed.length === 0,
    details: changed,
  });
  const sm = await c.query<{ version: string; dirty: boolean }>(
    'SELECT version, dirty FROM public.schema_migrations',
  );
  checks.push({
    check: 'schema_migrations is clean at 17',
    passed: sm.rows.length === 1 && Number(sm.rows[0]!.version) === 17 && !sm.rows[0]!.dirty,
    details: sm.rows,
  });
  return checks;
}

/** Out of the lock: the legacy materialized views missed every change of the window. */
async function refreshLegacyMatviews(c: pg.ClientBase, point: RollbackPoint): Promise<void> {
  for (const m of point.details.movedOut.filter((x) => x.kind === 'm')) {
    const u = await c.query(
      'SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = $1::regclass AND indisunique) AS ok',
      [q(relOf(m, 'live'))],
    );
    await c.query(`REFRESH MATERIALIZED VIEW ${u.rows[0]?.ok ? 'CONCURRENTLY ' : ''}${q(relOf(m, 'live'))}`);
  }
}
