/**
 * The online engine under live DomainFlow traffic: consolidate → cutover while the simulator
 * writes (inserts, updates, NULL-setting updates, deletes), then the ledger, `verify` (including
 * the catalog diff against a fresh v2 install) and every FK must agree. The simulator and the
 * ledger verifier are independent instruments: they never import engine code.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { consolidationStatus } from '../../src/engine/status.js';
import { verify } from '../../src/engine/verify.js';
import { DfcError } from '../../src/errors.js';
import { verifyLedger } from '../../workload/ledger.js';
import { seedDatabase } from '../../workload/seed.js';
import { startTraffic } from '../../workload/traffic.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function seeded(domains: number, dirty = false): Promise<string> {
  const url = await freshDatabase('legacy', 'eng');
  await seedDatabase(url, { domains, seed: 11, dirty });
  return url;
}

describe('consolidate + cutover under live traffic', () => {
  it('loses nothing: 0 failed writes, 0 ledger mismatches, verify passes, catalog equals a fresh install', async () => {
    const url = await seeded(4000);
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-ledger-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(url, { rate: 80, durationMs: 600_000, ledgerPath, seed: 3 });
    await sleep(1500);
    traffic.markPhase('consolidate');
    const result = await consolidate(url, { batchSize: 300 });
    expect(result.state).toBe('ready_for_cutover');
    await sleep(1000);
    const status = await consolidationStatus(url);
    expect(status.state).toBe('ready_for_cutover');
    expect(status.invalidIndexes).toEqual([]);
    traffic.markPhase('cutover');
    const co = await cutover(url, { lockTimeoutMs: 500 });
    expect(co.validation.every((v) => v.passed)).toBe(true);
    traffic.markPhase('after');
    await sleep(2000);
    traffic.stop();
    const report = await traffic.done;

    expect(report.failedWrites).toBe(0);
    const summary = Object.values(report.ledgerSummary);
    const total = (k: 'insert' | 'update' | 'update_null' | 'delete') =>
      summary.reduce((a, s) => a + (s[k] ?? 0), 0);
    expect(total('insert')).toBeGreaterThan(0);
    expect(total('update')).toBeGreaterThan(0);
    expect(total('update_null')).toBeGreaterThan(0);
    expect(total('delete')).toBeGreaterThan(0);

    const ledger = await verifyLedger(url, ledgerPath);
    expect(ledger.mismatches).toEqual([]);
    expect(ledger.checked).toBeGreaterThan(0);

    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
    expect(rep.passed).toBe(true);

    await withClient(url, async (c) => {
      const v = await c.query('SELECT version, dirty FROM schema_migrations');
      expect(v.rows).toEqual([{ version: '17', dirty: false }]);
      const info = await c.query('SELECT consolidation_completed FROM schema_version_info');
      expect(info.rows.some((r) => r.consolidation_completed === true)).toBe(true);
      const ops = await c.query(
        `SELECT count(*)::int AS n FROM monitoring.migration_operations WHERE operation_type = 'atomic_cutover' AND operation_status = 'completed'`,
      );
      expect(ops.rows[0].n).toBe(1);
      // a campaign delete cascades cleanly on v2 (pg-osc left a trigger that broke this)
      await c.query('DELETE FROM campaigns WHERE id = (SELECT id FROM campaigns ORDER BY id LIMIT 1)');
    });
  });

  it('the keyset backfill (PostgreSQL 12–13) is as exact under traffic as the block-range one', async () => {
    const url = await seeded(2000);
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-ledger-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    // as an application role that owns nothing: keyset backfill and capture must work for it
    const app = await createAppRole(url);
    const traffic = startTraffic(app.url, { rate: 80, durationMs: 600_000, ledgerPath, seed: 6 });
    await sleep(1000);
    const positions: string[] = [];
    await consolidate(url, { batchSize: 200, backfillMode: 'pk' });
    await withClient(url, async (c) => {
      const r = await c.query(
        `SELECT DISTINCT last_key->>'mode' AS mode FROM consolidation.engine_tables WHERE last_key IS NOT NULL`,
      );
      for (const row of r.rows) positions.push(row.mode);
    });
    expect(positions).toEqual(['pk']);
    await cutover(url, { lockTimeoutMs: 500 });
    await sleep(1000);
    traffic.stop();
    const report = await traffic.done;
    expect(report.failedWrites).toBe(0);
    expect((await verifyLedger(url, ledgerPath)).mismatches).toEqual([]);
    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('keyset backfill in many small batches copies every row once, composite keys included', async () => {
    // PostgreSQL 12-13 walk by key; auth.role_permissions (role_id, permission_id) needs several
    // batches here, so resuming after a batch must compare the whole key (it once sorted only the last column)
    const url = await freshDatabase('seeded');
    await consolidate(url, { batchSize: 16, backfillMode: 'pk' });
    const status = await consolidationStatus(url);
    expect(status.state).toBe('ready_for_cutover');
    const rp = status.tables.find((t) => t.table.endsWith('role_permissions'))!;
    expect(rp.legacyRows).toBeGreaterThan(16 * 2);
    for (const t of status.tables)
      expect({ table: t.table, rows: t.shadowRows, same: t.checksumsMatch }).toEqual({
        table: t.table,
        rows: t.legacyRows,
        same: true,
      });
  });

  it('refuses when rows cannot convert, naming them (CONSOLIDATION_04), and leaves legacy as it was', async () => {
    const url = await seeded(1000, true);
    const state = (c: pg.ClientBase) =>
      c.query(
        `SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname LIKE 'dfc_shadow%') AS shadow,
                (SELECT count(*)::int FROM pg_trigger WHERE tgname LIKE 'dfc_capture%') AS triggers`,
      );
    const before = await withClient(url, state);
    // the count runs beside the copy: whatever the copy made meanwhile is undone before the refusal
    const err = await consolidate(url).catch((e) => e);
    expect(err).toBeInstanceOf(DfcError);
    expect(err.code).toBe('CONSOLIDATION_04');
    expect(err.message).toContain('campaigns.status.not_allowed');
    await withClient(url, async (c) => {
      expect((await state(c)).rows[0]).toEqual(before.rows[0]);
      const log = await c.query(
        `SELECT count(*)::int AS n FROM consolidation.capture_log WHERE direction = 'forward'`,
      );
      expect(log.rows[0].n).toBe(0);
      const runs = await c.query(`SELECT state FROM consolidation.engine_runs`);
      expect(runs.rows).toEqual([{ state: 'aborted' }]);
    });
    // and again: a new run refuses the same way (nothing left over from the first)
    await expect(consolidate(url)).rejects.toMatchObject({ code: 'CONSOLIDATION_04' });
  });

  it('with --on-invalid quarantine keeps every original row in the quarantine table', async () => {
    const url = await seeded(1000, true);
    const result = await consolidate(url, { onInvalid: 'quarantine', batchSize: 500 });
    expect(result.state).toBe('ready_for_cutover');
    await withClient(url, async (c) => {
      const q = await c.query<{ issue_id: string; n: number }>(
        'SELECT issue_id, count(*)::int AS n FROM consolidation.engine_quarantine GROUP BY 1',
      );
      const issues = new Map(q.rows.map((r) => [r.issue_id, r.n]));
      expect(issues.get('campaigns.status.not_allowed')).toBeGreaterThan(0);
      // the excluded campaigns' children followed them into quarantine
      expect([...issues.keys()].some((k) => k.endsWith('.parent_quarantined'))).toBe(true);
    });
    await cutover(url);
    const rep = await verify(url);
    expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
    await withClient(url, async (c) => {
      // nothing lost: every excluded row is still in the rollback copy and in quarantine
      const excluded = await c.query(
        `SELECT count(*)::int AS n FROM consolidation.engine_quarantine q WHERE q.action = 'exclude_row'
           AND q.table_name = 'public.campaigns' AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = (q.row_key->>'id')::uuid)`,
      );
      expect(excluded.rows[0].n).toBeGreaterThan(0);
    });
  });

  it('cutover backs off behind a conflicting lock, never holds the app longer than its timeout, and leaves the database unchanged when it gives up', async () => {
    const url = await seeded(1500);
    await consolidate(url, { batchSize: 1000 });
    await withClient(url, async (blocker) => {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE campaigns IN ACCESS SHARE MODE');
      // an application session that refuses to wait more than 3x the cutover's lock timeout
      await withClient(url, async (app) => {
        await app.query('SET lock_timeout = 1500');
        const probe = (async () => {
          let failures = 0;
          for (let i = 0; i < 20; i++) {
            try {
              await app.query(
                `UPDATE generated_domains SET source_keyword = source_keyword WHERE id = (SELECT id FROM generated_domains LIMIT 1)`,
              );
            } catch {
              failures++;
            }
            await sleep(50);
          }
          return failures;
        })();
        const err = await cutover(url, { lockTimeoutMs: 500, attempts: 3 }).catch((e) => e);
        expect(err).toBeInstanceOf(DfcError);
        expect((err as DfcError).code).toBe('CONSOLIDATION_03');
        expect(await probe).toBe(0);
      });
      const s = await consolidationStatus(url, { exact: false });
      expect(s.state).toBe('ready_for_cutover');
      await blocker.query('ROLLBACK');
    });
    await withClient(url, async (c) => {
      const where = await c.query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname LIKE 'dfc_rollback%'`,
      );
      expect(where.rows[0].n).toBe(0);
    });
    const ok = await cutover(url, { lockTimeoutMs: 500 });
    expect(ok.validation.every((v) => v.passed)).toBe(true);
  });

  it('a long reader of a legacy materialized view makes the cutover back off, not hang holding the table locks', async () => {
    const url = await seeded(600);
    await consolidate(url, { batchSize: 1000 });
    await withClient(url, async (reader) => {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM campaign_statistics');
      const err = await cutover(url, { lockTimeoutMs: 300, attempts: 2 }).catch((e) => e);
      expect((err as DfcError).code).toBe('CONSOLIDATION_03');
      await reader.query('ROLLBACK');
    });
    const ok = await cutover(url, { lockTimeoutMs: 300 });
    expect(ok.validation.every((v) => v.passed)).toBe(true);
  });

  it('a failing in-transaction validation rolls the cutover back completely', async () => {
    const url = await seeded(800);
    await consolidate(url, { batchSize: 1000 });
    const catalogBefore = await withClient(url, (c) =>
      c.query(
        `SELECT n.nspname, count(*)::int AS n FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace GROUP BY 1 ORDER BY 1`,
      ),
    );
    await expect(cutover(url, { faults: { failValidation: true } })).rejects.toMatchObject({
      code: 'CONSOLIDATION_01',
    });
    const catalogAfter = await withClient(url, (c) =>
      c.query(
        `SELECT n.nspname, count(*)::int AS n FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace GROUP BY 1 ORDER BY 1`,
      ),
    );
    expect(catalogAfter.rows).toEqual(catalogBefore.rows);
    const s = await consolidationStatus(url, { exact: false });
    expect(s.state).toBe('ready_for_cutover');
  });
});
