/**
 * `dfc cutover` (guide step 6): one transaction that takes ACCESS EXCLUSIVE on every legacy table
 * with a short lock_timeout (retried with backoff, so the application never queues behind us for
 * longer than that), drains the remaining captured changes, moves legacy relations to the
 * rollback schemas and the shadow relations into place, advances sequences, carries ownership and
 * grants, replaces functions, starts reverse capture, validates — and commits only if the
 * validation passes. Otherwise it rolls back and the database is exactly as before.
 */
import type pg from 'pg';
import { recordOperation } from '../bookkeeping.js';
import type { Faults } from '../core/faults.js';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock, CONSOLIDATION_LOCK, releaseAdvisoryLock } from '../db/lock.js';
import { backoffMs as backoff, DEFAULT_SESSION_POLICY, sleep } from '../db/session.js';
import { DfcError, sqlstate } from '../errors.js';
import { V2 } from '../schema/v2/index.js';
import { INSTALL_SCHEMAS, type V2Definition } from '../schema/v2/model.js';
import * as render from '../schema/v2/render.js';
import { quoteIdent } from '../sql/sql.js';
import { allTables } from './build.js';
import { createCaptureTriggerSql, dropCaptureSql } from './capture.js';
import { applySurface, type CarryResult, readSurface, type Surface } from './carry.js';
import { mappedTables } from './consolidate.js';
import type { EventSink } from './events.js';
import { type QuarantineReport, quarantineReport, refuseLateRows } from './late-rows.js';
import type { MappedTable } from './mapping.js';
import { DF_SCHEMAS, legacyLiveOf, liveOf, q, ROLLBACK_SCHEMA, SHADOW_SCHEMA, shadowOf } from './names.js';
import { assertSamePrivileges, type PrivilegeMatrix, privilegeMatrix } from './privileges.js';
import { applyCaptureBatch, drain } from './reconcile.js';
import { recordRollbackPoint } from './rollback-points.js';
import {
  columnTypeChanges,
  endQueuedStatements,
  resetAppSessions,
  type SessionReset,
  type TypeChange,
} from './sessions.js';
import { activeRun } from './state.js';

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
}

export interface ValidationCheck {
  check: string;
  passed: boolean;
  details?: unknown;
}

export async function cutover(url: string, opts: CutoverOptions = {}): Promise<CutoverResult> {
  const v2 = opts.v2 ?? V2;
  const emit: EventSink = opts.onEvent ?? (() => {});
  const policy = {
    ...DEFAULT_SESSION_POLICY,
    lockTimeoutMs: opts.lockTimeoutMs ?? 1000,
    attempts: opts.attempts ?? 20,
  };
  const c = await connect(url, 'dfc-cutover');
  try {
    await acquireAdvisoryLock(c, CONSOLIDATION_LOCK);
    const run = await activeRun(c);
    if (run?.state !== 'ready_for_cutover')
      throw new DfcError(
        'CONSOLIDATION_01',
        `no consolidation is ready for cutover (state: ${run?.state ?? 'none'})`,
        {
          fix: 'run `dfc consolidate` until it reports ready_for_cutover',
        },
      );
    const all = mappedTables(v2);
    const present = await legacyTablesPresent(c, all);
    // legacy views and materialized views that v2 replaces move too: lock them with the tables,
    // under the same timeout, so a long reader of one cannot stall the locked part
    const views = await c.query<{ rel: string; kind: string; schema: string }>(
      `SELECT format('%I.%I', lv.nspname, lc.relname) AS rel, lc.relkind AS kind, lv.nspname AS schema
         FROM pg_class lc JOIN pg_namespace lv ON lv.oid = lc.relnamespace
        WHERE lv.nspname IN ('public','auth') AND lc.relkind IN ('v','m')
          AND EXISTS (SELECT 1 FROM pg_class sc JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                       WHERE sc.relname = lc.relname AND sn.nspname = ANY ($1) AND sc.relkind IN ('v','m'))`,
      [Object.values(SHADOW_SCHEMA)],
    );
    const toLock = [
      ...present.map((t) => q(legacyLiveOf(t.def))),
      ...views.rows.filter((r) => r.kind === 'v').map((r) => r.rel),
      ...allTables(v2).map((t) => q(shadowOf(t))),
    ];
    let privilegesBefore: PrivilegeMatrix | undefined;
    let surface: Surface | undefined;
    for (let attempt = 1; ; attempt++) {
      // keep the backlog small so the locked part is short
      await drain(c, present, 'forward', { runId: run.run_id });
      await c.query('BEGIN');
      try {
        // lock_timeout bounds each lock wait; statement_timeout bounds the whole LOCK of all tables,
        // so what the application can queue behind is the timeout, not tables × timeout
        await c.query(`SET LOCAL lock_timeout = ${Math.floor(policy.lockTimeoutMs)}`);
        await c.query(`SET LOCAL statement_timeout = ${Math.floor(policy.lockTimeoutMs)}`);
        await c.query(`LOCK TABLE ${toLock.join(', ')} IN ACCESS EXCLUSIVE MODE`);
        // carry (issue 8): the application surface and privilege matrix, before anything moves
        privilegesBefore = await privilegeMatrix(c);
        surface = await readSurface(
          c,
          present.map((t) => t.captureName.forward),
        );
        // materialized views cannot be LOCKed: moving them out takes their lock, under the same timeouts
        for (const s of DF_SCHEMAS) {
          await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(ROLLBACK_SCHEMA[s])} CASCADE`);
          await c.query(`CREATE SCHEMA ${quoteIdent(ROLLBACK_SCHEMA[s])}`);
        }
        for (const m of views.rows.filter((r) => r.kind === 'm'))
          await c.query(
            `ALTER MATERIALIZED VIEW ${m.rel} SET SCHEMA ${quoteIdent(ROLLBACK_SCHEMA[m.schema as 'public' | 'auth'])}`,
          );
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        const busy = sqlstate(e) === '55P03' || sqlstate(e) === '57014';
        if (busy && attempt < policy.attempts) {
          const wait = backoff(policy, attempt - 1);
          emit({ type: 'retry', what: 'cutover locks', attempt, waitMs: Math.round(wait) });
          await sleep(wait);
          continue;
        }
        if (busy)
          throw new DfcError(
            'CONSOLIDATION_03',
            `cutover could not lock the legacy tables within ${policy.lockTimeoutMs} ms in ${attempt} attempts; nothing was changed`,
            {
              fix: 'find the long transactions holding locks (pg_stat_activity, pg_locks) or retry at a quieter time with --lock-timeout / --attempts',
              cause: e,
            },
          );
        throw e;
      }
      const lockedAt = Date.now();
      const lockedAtDb = (await c.query<{ t: string }>('SELECT clock_timestamp()::text AS t')).rows[0]!.t;
      try {
        await c.query('SET LOCAL lock_timeout = 0');
        await c.query('SET LOCAL statement_timeout = 0');
        const drained = await drainInTransaction(c, present, run.run_id);
        // rollback: the point is recorded in this transaction, so it exists exactly when the cutover commits
        const rollbackPoint = await recordRollbackPoint(c, run.run_id, present);
        // carry (issue 8): late unconvertible rows, the application surface, the privilege matrix
        await refuseLateRows(c, run.run_id, run.on_invalid, present);
        const typeChanges = await columnTypeChanges(c, v2);
        await swap(c, v2, present);
        const carried = await applySurface(c, surface!);
        await assertSamePrivileges(
          privilegesBefore!,
          await privilegeMatrix(c, undefined, undefined, privilegesBefore!.roles),
        );
        const quarantine = await quarantineReport(c, run.run_id, present, 'after_cutover');
        const validation = await validateInTransaction(c, v2);
        if (opts.faults?.failValidation)
          validation.push({ check: 'forced failure (test hook)', passed: false });
        const failed = validation.filter((v) => !v.passed);
        if (failed.length)
          throw new DfcError(
            'CONSOLIDATION_01',
            `cutover validation failed: ${failed.map((f) => f.check).join('; ')}; rolled back, nothing changed`,
            {
              fix: 'inspect the failed checks (details in --json), fix the cause, then run `dfc cutover` again',
              details: { validation },
            },
          );
        await c.query(
          `UPDATE consolidation.engine_runs SET state = 'cut_over', cutover_at = now(), updated_at = now() WHERE run_id = $1`,
          [run.run_id],
        );
        const queued = opts.resetAppSessions ? await endQueuedStatements(c) : 0;
        await c.query('COMMIT');
        const sessions = opts.resetAppSessions
          ? await resetAppSessions(c, lockedAtDb, queued, opts.resetWaitMs)
          : null;
        const lockHeldMs = Date.now() - lockedAt;
        await c.query('UPDATE consolidation.engine_runs SET cutover_ms = $2 WHERE run_id = $1', [
          run.run_id,
          lockHeldMs,
        ]);
        await recordOperation(c, {
          runId: run.run_id,
          phase: 'phase4_cutover',
          type: 'atomic_cutover',
          target: 'schema',
          status: 'completed',
          durationSeconds: lockHeldMs / 1000,
          details: { attempts: attempt, drained },
        });
        await afterCutover(c, emit);
        return {
          runId: run.run_id,
          attempts: attempt,
          lockHeldMs,
          drainedUnderLock: drained,
          validation,
          rollbackPoint,
          carried,
          quarantine,
          typeChanges,
          sessions,
        };
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        await recordOperation(c, {
          runId: run.run_id,
          phase: 'phase4_cutover',
          type: 'atomic_cutover',
          target: 'schema',
          status: 'failed',
          details: { error: String(e) },
        }).catch(() => {});
        throw e;
      }
    }
  } finally {
    await releaseAdvisoryLock(c, CONSOLIDATION_LOCK).catch(() => {});
    await c.end().catch(() => {});
  }
}

async function legacyTablesPresent(c: pg.ClientBase, all: MappedTable[]): Promise<MappedTable[]> {
  const r = await c.query<{ name: string }>(
    `SELECT n.nspname || '.' || cl.relname AS name FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE cl.relkind IN ('r','p') AND n.nspname IN ('public','auth')`,
  );
  const names = new Set(r.rows.map((x) => x.name));
  return all.filter((t) => names.has(t.captureName.forward));
}

async function drainInTransaction(c: pg.ClientBase, tables: MappedTable[], runId: string): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await applyCaptureBatch(c, tables, 'forward', 10000, { inTransaction: true, runId });
    total += n;
    if (n === 0) return total;
  }
}

/** The moves, in one transaction under the locks. No rename: only SET SCHEMA. */
async function swap(c: pg.ClientBase, v2: V2Definition, present: MappedTable[]): Promise<void> {
  for (const t of present) await c.query(dropCaptureSql(legacyLiveOf(t.def), 'forward'));
  // remember what legacy functions looked like, for rollback
  await c.query(
    `UPDATE consolidation.engine_runs SET legacy_functions = (
       SELECT jsonb_agg(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('public','auth') AND p.prokind = 'f'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))
     WHERE state = 'ready_for_cutover'`,
  );
  // relations present in the shadow move in; same-named live relations move out first
  const shadowRels = await c.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, cl.relname AS name, cl.relkind AS kind FROM pg_class cl
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m')`,
    [Object.values(SHADOW_SCHEMA)],
  );
  const kindWord = (k: string) => (k === 'v' ? 'VIEW' : k === 'm' ? 'MATERIALIZED VIEW' : 'TABLE');
  const liveSchemaOf = (shadow: string) => DF_SCHEMAS.find((s) => SHADOW_SCHEMA[s] === shadow)!;
  const liveKinds = await c.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, cl.relname AS name, cl.relkind AS kind FROM pg_class cl
       JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname IN ('public','auth') AND cl.relkind IN ('r','p','v','m')`,
  );
  const live = new Map(liveKinds.rows.map((r) => [`${r.schema}.${r.name}`, r.kind]));
  // views first: they depend on tables but move independently (they follow OIDs)
  const order = (k: string) => (k === 'v' ? 0 : k === 'm' ? 1 : 2);
  for (const r of [...shadowRels.rows].sort((a, b) => order(a.kind) - order(b.kind))) {
    const s = liveSchemaOf(r.schema);
    const liveKind = live.get(`${s}.${r.name}`);
    if (liveKind)
      await c.query(
        `ALTER ${kindWord(liveKind)} ${quoteIdent(s)}.${quoteIdent(r.name)} SET SCHEMA ${quoteIdent(ROLLBACK_SCHEMA[s])}`,
      );
  }
  for (const r of shadowRels.rows) {
    const s = liveSchemaOf(r.schema);
    await c.query(
      `ALTER ${kindWord(r.kind)} ${quoteIdent(r.schema)}.${quoteIdent(r.name)} SET SCHEMA ${quoteIdent(s)}`,
    );
  }
  // sequences continue where legacy's stopped
  for (const t of allTables(v2))
    for (const col of t.columns)
      if (col.ownedSequence) {
        const legacySeq = `${quoteIdent(ROLLBACK_SCHEMA[t.schema])}.${quoteIdent(col.ownedSequence)}`;
        const liveSeq = `${quoteIdent(t.schema)}.${quoteIdent(col.ownedSequence)}`;
        const exists = await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [legacySeq]);
        if (exists.rows[0]?.ok)
          await c.query(
            `SELECT setval('${liveSeq.replaceAll("'", "''")}', last_value, is_called) FROM ${legacySeq}`,
          );
      }
  // functions in their v2 form (same signatures as legacy, so CREATE OR REPLACE)
  await c.query('SET LOCAL search_path = public');
  await c.query(v2.functions);
  for (const t of allTables(v2))
    for (const trg of t.triggers) await c.query(render.triggerSql(t, trg, INSTALL_SCHEMAS));
  await c.query(v2.epilogue(INSTALL_SCHEMAS));
  // ownership and grants the application's roles rely on
  for (const t of present) {
    const legacy = { schema: ROLLBACK_SCHEMA[t.def.legacy.schema], name: t.def.legacy.name };
    const acl = await c.query<{ owner: string; grants: { grantee: string; privilege: string }[] | null }>(
      `SELECT pg_get_userbyid(cl.relowner) AS owner,
              (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                                                   'privilege', a.privilege_type))
                 FROM aclexplode(cl.relacl) a WHERE a.grantee <> cl.relowner) AS grants
         FROM pg_class cl WHERE cl.oid = $1::regclass`,
      [q(legacy)],
    );
    const row = acl.rows[0];
    if (!row) continue;
    await c.query(`ALTER TABLE ${q(liveOf(t.def))} OWNER TO ${quoteIdent(row.owner)}`);
    for (const g of row.grants ?? [])
      await c.query(
        `GRANT ${g.privilege} ON ${q(liveOf(t.def))} TO ${g.grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdent(g.grantee)}`,
      );
  }
  for (const t of allTables(v2))
    await c.query(`ALTER TABLE ${q(liveOf(t))} RESET (autovacuum_enabled, toast.autovacuum_enabled)`);
  // writes to v2 now flow back to the rollback copy
  for (const t of present) await c.query(createCaptureTriggerSql(t, liveOf(t.def), 'reverse'));
  await c.query(
    `DO $$ BEGIN
       IF to_regclass('public.schema_version_info') IS NOT NULL THEN
         INSERT INTO public.schema_version_info (version_number, version_name, baseline_date, migration_count, consolidation_completed, notes)
         VALUES ('2.0', 'Consolidated Schema v2 (online consolidation)', now(), 17, true,
                 'consolidated from legacy 000001-000017 by dfc; legacy tables kept in dfc_rollback_public/dfc_rollback_auth')
         ON CONFLICT (version_number) DO UPDATE SET consolidation_completed = true, baseline_date = now(), notes = EXCLUDED.notes;
       END IF;
     END $$`,
  );
}

/** Checks run inside the cutover transaction; cheap and independent of table size. */
export async function validateInTransaction(c: pg.ClientBase, v2: V2Definition): Promise<ValidationCheck[]> {
  const checks: ValidationCheck[] = [];
  const backlog = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM consolidation.capture_log WHERE direction = 'forward'`,
  );
  checks.push({
    check: 'forward capture fully applied',
    passed: Number(backlog.rows[0]?.n) === 0,
    details: backlog.rows[0],
  });
  const missing = await c.query<{ name: string }>(
    `SELECT x.name FROM unnest($1::text[]) AS x(name) WHERE to_regclass(x.name) IS NULL`,
    [allTables(v2).map((t) => q(liveOf(t)))],
  );
  checks.push({
    check: 'every v2 table is in place',
    passed: missing.rows.length === 0,
    details: missing.rows,
  });
  const leftover = await c.query(
    `SELECT cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','v','m')`,
    [Object.values(SHADOW_SCHEMA)],
  );
  checks.push({
    check: 'shadow schemas are empty',
    passed: leftover.rows.length === 0,
    details: leftover.rows,
  });
  const invalid = await c.query(
    `SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname IN ('public','auth') AND NOT (i.indisvalid AND i.indisready)`,
  );
  checks.push({ check: 'no invalid index', passed: invalid.rows.length === 0, details: invalid.rows });
  const unvalidated = await c.query(
    `SELECT cl.relname, k.conname FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname IN ('public','auth') AND NOT k.convalidated`,
  );
  checks.push({
    check: 'every constraint validated',
    passed: unvalidated.rows.length === 0,
    details: unvalidated.rows,
  });
  // nothing outside the rollback copy may still point at a legacy relation (views, FKs, triggers of other objects)
  const dependents = await c.query(
    `SELECT DISTINCT d.classid::regclass::text AS kind, d.objid, ref.relname AS legacy_relation
       FROM pg_depend d JOIN pg_class ref ON ref.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = ref.relnamespace
      WHERE d.refclassid = 'pg_class'::regclass AND rn.nspname = ANY ($1) AND d.deptype IN ('n','a')
        AND NOT EXISTS (  -- objects that are themselves part of the rollback copy
          SELECT 1 FROM pg_class o JOIN pg_namespace xn ON xn.oid = o.relnamespace
           WHERE d.classid = 'pg_class'::regclass AND o.oid = d.objid AND xn.nspname = ANY ($1))
        AND NOT EXISTS (
          SELECT 1 FROM pg_rewrite rw JOIN pg_class o ON o.oid = rw.ev_class JOIN pg_namespace xn ON xn.oid = o.relnamespace
           WHERE d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid AND xn.nspname = ANY ($1))
        AND NOT EXISTS (
          SELECT 1 FROM pg_constraint k JOIN pg_class o ON o.oid = k.conrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace
           WHERE d.classid = 'pg_constraint'::regclass AND k.oid = d.objid AND xn.nspname = ANY ($1))
        AND NOT EXISTS (
          SELECT 1 FROM pg_trigger tg JOIN pg_class o ON o.oid = tg.tgrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace
           WHERE d.classid = 'pg_trigger'::regclass AND tg.oid = d.objid AND xn.nspname = ANY ($1))
        AND NOT EXISTS (
          SELECT 1 FROM pg_policy po JOIN pg_class o ON o.oid = po.polrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace
           WHERE d.classid = 'pg_policy'::regclass AND po.oid = d.objid AND xn.nspname = ANY ($1))
        AND NOT EXISTS (
          SELECT 1 FROM pg_attrdef ad JOIN pg_class o ON o.oid = ad.adrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace
           WHERE d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid AND xn.nspname = ANY ($1))`,
    [Object.values(ROLLBACK_SCHEMA)],
  );
  checks.push({
    check: 'no object outside the rollback copy depends on a legacy relation',
    passed: dependents.rows.length === 0,
    details: dependents.rows,
  });
  const sm = await c.query<{ version: string; dirty: boolean }>(
    'SELECT version, dirty FROM public.schema_migrations',
  );
  checks.push({
    check: 'schema_migrations is clean at 17',
    passed: sm.rows.length === 1 && Number(sm.rows[0]!.version) === 17 && !sm.rows[0]!.dirty,
    details: sm.rows,
  });
  const noForward = await c.query(`SELECT tgname FROM pg_trigger WHERE tgname = 'dfc_capture_forward'`);
  checks.push({ check: 'forward capture triggers removed', passed: noForward.rows.length === 0 });
  return checks;
}

/** Out of the lock: bring the materialized views up to date and refresh planner statistics. */
async function afterCutover(c: pg.ClientBase, emit: EventSink): Promise<void> {
  const mv = await c.query<{ schema: string; name: string; unique_idx: boolean }>(
    `SELECT n.nspname AS schema, cl.relname AS name,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cl.oid AND i.indisunique) AS unique_idx
       FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE cl.relkind = 'm' AND n.nspname IN ('public','auth')`,
  );
  for (const m of mv.rows) {
    await c.query(
      `REFRESH MATERIALIZED VIEW ${m.unique_idx ? 'CONCURRENTLY ' : ''}${quoteIdent(m.schema)}.${quoteIdent(m.name)}`,
    );
  }
  await c.query('ANALYZE');
  emit({ type: 'phase', phase: 'cut_over', message: 'cutover committed; materialized views refreshed' });
}
