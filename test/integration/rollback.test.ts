/**
 * Rollback after cutover under live DomainFlow traffic (connected as an application role, neither
 * superuser nor owner): the simulator writes before, during and
 * after the cutover and after the rollback; the ledger (an independent instrument) must find every
 * write on the legacy schema; the legacy catalog must be exactly what it was before the cutover; a
 * second cutover must work without a new copy and verify. Faults: unusable points are refused with
 * CONSOLIDATION_05 and change nothing, a held lock makes the rollback back off and succeed later,
 * and a closed window cannot be rolled back to.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import {
  cleanupRollbackPoints,
  finalizeCutover,
  listRollbackPoints,
  rollbackWindow,
} from '../../src/engine/finalize.js';
import { executeRollback, testRollback } from '../../src/engine/rollback.js';
import { consolidationStatus } from '../../src/engine/status.js';
import { verify } from '../../src/engine/verify.js';
import { DfcError } from '../../src/errors.js';
import { diffCatalogs, readCatalog } from '../../src/schema/catalog.js';
import { verifyLedger } from '../../workload/ledger.js';
import { seedDatabase } from '../../workload/seed.js';
import { startTraffic } from '../../workload/traffic.js';
import { createAppRole } from '../helpers/app-role.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const liveCatalog = (url: string) => withClient(url, (c) => readCatalog(c, ['public', 'auth']));

async function seeded(domains: number): Promise<string> {
  const url = await freshDatabase('legacy', 'rb');
  await seedDatabase(url, { domains, seed: 13 });
  return url;
}

async function expectRefused(url: string, point: string, code = 'CONSOLIDATION_05') {
  const catalog = await catalogChecksum(url);
  const data = await dataChecksums(url);
  const err = await executeRollback(url, point, { reason: 'test', lockTimeoutMs: 300 }).catch((e) => e);
  expect(err).toBeInstanceOf(DfcError);
  expect((err as DfcError).code).toBe(code);
  expect(await catalogChecksum(url)).toBe(catalog);
  expect(await dataChecksums(url)).toEqual(data);
  return err as DfcError;
}

describe('rollback after cutover', () => {
  it('under traffic loses nothing, restores the legacy catalog exactly, and cuts over again', async () => {
    const url = await seeded(3000);
    // the service connects as production runs it: an application role, not the superuser
    const app = await createAppRole(url);
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-rollback-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(app.url, { rate: 80, durationMs: 600_000, ledgerPath, seed: 21 });
    await sleep(1000);
    await consolidate(url, { batchSize: 500 });
    const legacyCatalog = await liveCatalog(url);
    traffic.markPhase('cutover');
    const co = await cutover(url, { lockTimeoutMs: 500 });
    expect(co.rollbackPoint).toMatch(/^rollback_\d{8}_\d{6}/);
    traffic.markPhase('v2');
    await sleep(1500);
    const window = await rollbackWindow(url);
    expect(window).toMatchObject({ open: true, point: co.rollbackPoint, tablesWithReverseCapture: 31 });
    expect(window.copyBytes).toBeGreaterThan(0);

    const dry = await testRollback(url, co.rollbackPoint);
    expect(dry.checks.filter((c) => !c.passed)).toEqual([]);
    expect(dry.valid).toBe(true);
    expect(dry.checks.filter((c) => c.check.includes('checksum')).length).toBe(31);
    expect(dry.plan.join('\n')).toMatch(/SET SCHEMA to public\/auth/);
    await withClient(url, async (c) => {
      const sqlTest = await c.query('SELECT consolidation.test_rollback_procedure($1) AS r', [
        co.rollbackPoint,
      ]);
      expect(sqlTest.rows[0].r.valid).toBe(true);
      const listed = await c.query(
        'SELECT rollback_point_id, state FROM consolidation.list_rollback_points()',
      );
      expect(listed.rows).toEqual([{ rollback_point_id: co.rollbackPoint, state: 'valid' }]);
      // one SQL call cannot retry a short lock: it names the command and changes nothing
      const err = await c
        .query('SELECT consolidation.execute_emergency_rollback($1, $2)', [co.rollbackPoint, 'from SQL'])
        .catch((e) => e);
      expect(err.code).toBe('0A000');
      expect(err.hint).toContain(`dfc rollback execute ${co.rollbackPoint}`);
    });

    traffic.markPhase('rollback');
    const rb = await executeRollback(url, co.rollbackPoint, { reason: 'p99 regression', lockTimeoutMs: 500 });
    expect(rb.validation.every((v) => v.passed)).toBe(true);
    expect(rb.keptFunctions).toEqual([]);
    traffic.markPhase('legacy again');
    await sleep(1500);
    expect(
      diffCatalogs(legacyCatalog, await liveCatalog(url), { a: 'before cutover', b: 'after rollback' }),
    ).toEqual([]);
    traffic.stop();
    const report = await traffic.done;
    expect(report.failedWrites).toBe(0);
    for (const phase of ['cutover', 'v2', 'rollback', 'legacy again'])
      expect(report.perPhase[phase]?.ops ?? 0, phase).toBeGreaterThan(0);
    const ledger = await verifyLedger(url, ledgerPath);
    expect(ledger.mismatches).toEqual([]);
    expect(ledger.checked).toBeGreaterThan(100);

    await withClient(url, async (c) => {
      const p = await c.query(
        'SELECT state, reason, lock_held_ms, rollback_seconds FROM consolidation.rollback_points WHERE rollback_point_id = $1',
        [co.rollbackPoint],
      );
      expect(p.rows[0]).toMatchObject({ state: 'used', reason: 'p99 regression' });
      expect(Number(p.rows[0].lock_held_ms)).toBeGreaterThan(0);
      expect(Number(p.rows[0].rollback_seconds)).toBeGreaterThan(0);
      const ops = await c.query(
        `SELECT duration_seconds, details FROM monitoring.migration_operations WHERE operation_type = 'atomic_rollback' AND operation_status = 'completed'`,
      );
      expect(ops.rows).toHaveLength(1);
      expect(Number(ops.rows[0].details.lockHeldMs)).toBe(Number(p.rows[0].lock_held_ms));
      const sm = await c.query('SELECT version, dirty FROM schema_migrations');
      expect(sm.rows).toEqual([{ version: '17', dirty: false }]);
      // every id v2 handed out is behind the legacy sequence now
      const seq = await c.query(
        `SELECT (SELECT last_value FROM auth.auth_audit_log_id_seq) >= (SELECT coalesce(max(id), 0) FROM auth.auth_audit_log) AS ok`,
      );
      expect(seq.rows[0].ok).toBe(true);
    });
    const status = await consolidationStatus(url, { exact: false });
    expect(status.state).toBe('ready_for_cutover');

    // roll forward again: no new copy, forward capture kept the shadow current; writes keep flowing
    const ledger2 = path.join(dir, 'ledger2.jsonl');
    const traffic2 = startTraffic(app.url, { rate: 80, durationMs: 600_000, ledgerPath: ledger2, seed: 22 });
    await sleep(1000);
    const again = await cutover(url, { lockTimeoutMs: 500 });
    expect(again.validation.every((v) => v.passed)).toBe(true);
    expect(again.rollbackPoint).not.toBe(co.rollbackPoint);
    await sleep(1000);
    traffic2.stop();
    expect((await traffic2.done).failedWrites).toBe(0);
    expect((await verifyLedger(url, ledger2)).mismatches).toEqual([]);
    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('refuses unusable points with CONSOLIDATION_05 and changes nothing; backs off behind a held lock; a closed window is closed', async () => {
    const url = await seeded(800);
    await consolidate(url, { batchSize: 1000 });
    const co = await cutover(url, { lockTimeoutMs: 500 });
    await expectRefused(url, 'rollback_19990101_000000');

    // a failing in-transaction validation leaves everything as it was (the failure itself is logged)
    const catalog = await catalogChecksum(url);
    await expect(
      executeRollback(url, co.rollbackPoint, { reason: 'test', faults: { failValidation: true } }),
    ).rejects.toMatchObject({ code: 'CONSOLIDATION_01' });
    expect(await catalogChecksum(url)).toBe(catalog);
    expect((await rollbackWindow(url)).open).toBe(true);

    // another session holds a lock on a v2 table: the rollback backs off, the app is never stalled
    // past its own 3x-the-timeout patience, and the rollback succeeds once the lock is released
    await withClient(url, async (blocker) => {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE campaigns IN ACCESS SHARE MODE');
      const retries: number[] = [];
      let settled = false;
      const running = executeRollback(url, co.rollbackPoint, {
        reason: 'lock test',
        lockTimeoutMs: 300,
        attempts: 30,
        onEvent: (e) => {
          if (e.type === 'retry') retries.push(e.attempt);
        },
      }).finally(() => {
        settled = true;
      });
      const failures = await withClient(url, async (app) => {
        await app.query('SET lock_timeout = 900');
        let n = 0;
        for (let i = 0; i < 15; i++) {
          await app
            .query(
              'UPDATE generated_domains SET source_keyword = source_keyword WHERE id = (SELECT id FROM generated_domains LIMIT 1)',
            )
            .catch(() => n++);
          await sleep(50);
        }
        return n;
      });
      expect(failures).toBe(0);
      while (retries.length < 2 && !settled) await sleep(100);
      await blocker.query('ROLLBACK');
      const r = await running;
      expect(r.attempts).toBeGreaterThan(2);
    });
    await expectRefused(url, co.rollbackPoint); // used

    // a point whose reverse capture is broken (writes since then may be missing) is refused
    const co2 = await cutover(url, { lockTimeoutMs: 500 });
    await withClient(url, (c) => c.query('DROP TRIGGER dfc_capture_reverse ON public.campaign_jobs'));
    const err = await expectRefused(url, co2.rollbackPoint);
    expect(err.message).toMatch(/reverse capture installed/);
    await withClient(url, async (c) => {
      const sqlTest = await c.query('SELECT consolidation.test_rollback_procedure($1) AS r', [
        co2.rollbackPoint,
      ]);
      expect(sqlTest.rows[0].r.valid).toBe(false);
      const e = await c
        .query('SELECT consolidation.execute_emergency_rollback($1, $2)', [co2.rollbackPoint, 'x'])
        .catch((x) => x);
      expect(e.message).toMatch(/^CONSOLIDATION_05/);
    });

    // closing the window: reverse capture gone, the point finalized, rollback refused, copy cleaned up
    const fin = await finalizeCutover(url, { keepDays: 0 });
    // (campaign_jobs' three remaining capture triggers are removed too)
    expect(fin.triggersDropped).toBe(31);
    const closed = await rollbackWindow(url);
    expect(closed).toMatchObject({
      open: false,
      state: 'finalized',
      tablesWithReverseCapture: 0,
      reverseBacklog: 0,
    });
    expect(closed.copyBytes).toBeGreaterThan(0);
    await expectRefused(url, co2.rollbackPoint);
    const cleaned = await cleanupRollbackPoints(url, 30);
    expect(cleaned.dropped.map((d) => d.rollback_point)).toEqual([co2.rollbackPoint]);
    expect((await rollbackWindow(url)).copyBytes).toBe(0);
    const points = await listRollbackPoints(url);
    expect(points.map((p) => p.state)).toEqual(['dropped', 'used']);
    await expectRefused(url, co2.rollbackPoint);
    const rep = await verify(url);
    // v2 itself is intact; only the comparison with the (now dropped) copy is gone
    expect(rep.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual(['rollback copy present']);
  });
});
