/**
 * `dfc consolidate --cancel-blockers-after`: an application statement that holds a write lock on a
 * legacy table for a minute keeps the capture triggers out (CREATE TRIGGER needs SHARE ROW
 * EXCLUSIVE): without the option the run gives up with CONSOLIDATION_03; with it the blocking
 * statement — and only it — is cancelled, reported, and the run resumes to ready_for_cutover.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { consolidate, consolidationStatus, DfcError, withClient } from '../../src/index.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('consolidate --cancel-blockers-after', () => {
  it('cancels only the application statement blocking the capture triggers, reports it, and gets through', async () => {
    const url = await freshDatabase('seeded', 'cblock');
    const app = await createAppRole(url);
    const writer = new pg.Client({ connectionString: app.url, application_name: 'domainflow-app' });
    await writer.connect();
    try {
      const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // one statement, its own transaction: ROW EXCLUSIVE on campaigns for as long as it runs
      const holding = writer
        .query(
          `WITH u AS (UPDATE campaigns SET updated_at = updated_at WHERE false RETURNING 1)
           SELECT pg_sleep(60) FROM (SELECT count(*) FROM u) x`,
        )
        .then(
          () => 'finished',
          (e: { code?: string }) => e.code ?? 'error',
        );
      await sleep(300);

      const refused = await consolidate(url, { session: { lockTimeoutMs: 100, attempts: 3 } }).catch(
        (e) => e,
      );
      expect(refused).toBeInstanceOf(DfcError);
      expect((refused as DfcError).code).toBe('CONSOLIDATION_03');
      expect(String((refused as DfcError).message)).toContain('campaigns');

      const blockers: { pid: number; action: string; user: string | null }[] = [];
      const r = await consolidate(url, {
        session: { lockTimeoutMs: 100, attempts: 20 },
        cancelBlockersAfterMs: 300,
        onEvent: (e) => {
          if (e.type === 'blocker') blockers.push({ pid: e.pid, action: e.action, user: e.user });
        },
      });
      expect(r.state).toBe('ready_for_cutover');
      expect(r.resumed).toBe(true);
      // the writer's statement was cancelled (57014), it was the only session touched, and it was named
      expect(await holding).toBe('57014');
      expect(blockers.length).toBeGreaterThan(0);
      expect(blockers.every((b) => b.pid === pid && b.action === 'cancelled' && b.user === app.role)).toBe(
        true,
      );
      // the connection itself lives on
      expect((await writer.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      expect((await consolidationStatus(url, { exact: false })).state).toBe('ready_for_cutover');
    } finally {
      await writer.end().catch(() => {});
    }
  });

  it('refuses --cancel-blockers-after, --lanes or --index-workers out of range, changing nothing', async () => {
    const url = await freshDatabase('seeded', 'cblockcfg');
    for (const bad of [{ cancelBlockersAfterMs: 0 }, { lanes: 0 }, { lanes: 1.5 }, { indexWorkers: -1 }]) {
      const e = await consolidate(url, bad).catch((x) => x);
      expect(e).toBeInstanceOf(DfcError);
      expect((e as DfcError).code).toBe('DFC_CONFIG');
    }
    // nothing was started: no run journaled, no capture trigger on a legacy table
    const left = await withClient(url, async (c) => {
      const runs = await c.query(`SELECT to_regclass('consolidation.engine_runs') IS NOT NULL AS there`);
      const n = runs.rows[0].there
        ? (await c.query('SELECT count(*)::int AS n FROM consolidation.engine_runs')).rows[0].n
        : 0;
      const triggers = await c.query(
        `SELECT count(*)::int AS n FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
           JOIN pg_namespace ns ON ns.oid = cl.relnamespace WHERE ns.nspname IN ('public', 'auth') AND tg.tgname LIKE 'dfc%'`,
      );
      return { runs: n as number, triggers: triggers.rows[0].n as number };
    });
    expect(left).toEqual({ runs: 0, triggers: 0 });
  });

  it('with indexWorkers 0 the run reaches ready_for_cutover, every table matching', async () => {
    const url = await freshDatabase('seeded', 'idxworkers');
    const r = await consolidate(url, { indexWorkers: 0 });
    expect(r.state).toBe('ready_for_cutover');
    const status = await consolidationStatus(url);
    const off = status.tables.filter((t) => t.legacyRows !== t.shadowRows || !t.checksumsMatch);
    expect(status.tables.length).toBeGreaterThan(20);
    expect(off).toEqual([]);
    expect(status.invalidIndexes).toEqual([]);
  });
});
