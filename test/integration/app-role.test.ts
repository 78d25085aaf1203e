/**
 * Test as production runs: the simulated DomainFlow service connects as an ordinary application
 * role (neither superuser nor owner) while `consolidate` runs. Its writes must not fail once the
 * capture triggers are installed (the capture function runs as the tool's role), and the ledger
 * must verify.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { verifyLedger } from '../../workload/ledger.js';
import { startTraffic } from '../../workload/traffic.js';
import { createAppRole } from '../helpers/app-role.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the application connects as an application role', () => {
  it('writes through consolidate with 0 failures; the role is not superuser and owns nothing', async () => {
    const url = await freshDatabase('seeded', 'app');
    const app = await createAppRole(url);
    await withClient(app.url, async (c) => {
      const me = await c.query(
        `SELECT rolsuper, (SELECT count(*) FROM pg_class WHERE relowner = r.oid) AS owned
           FROM pg_roles r WHERE rolname = current_user`,
      );
      expect(me.rows[0]).toEqual({ rolsuper: false, owned: '0' });
      // the column grant and the default privilege are in place
      const col = await c.query(
        `SELECT has_column_privilege($1, 'public.campaigns', 'name', 'SELECT') AS name_ok,
                has_table_privilege($1, 'public.campaigns', 'SELECT') AS table_ok`,
        [app.reportingRole],
      );
      expect(col.rows[0]).toEqual({ name_ok: true, table_ok: false });
    });
    await withClient(url, async (c) => {
      const d = await c.query(
        `SELECT count(*) AS n FROM pg_default_acl WHERE array_to_string(defaclacl, ',') LIKE '%' || $1 || '=%'`,
        [app.role],
      );
      expect(Number(d.rows[0]!.n)).toBeGreaterThan(0);
    });

    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-app-'));
    const ledgerPath = path.join(dir, 'ledger.jsonl');
    const traffic = startTraffic(app.url, { rate: 80, durationMs: 600_000, ledgerPath, seed: 17 });
    let report: Awaited<typeof traffic.done>;
    try {
      await sleep(1000);
      traffic.markPhase('consolidate');
      const result = await consolidate(url, { batchSize: 500 });
      expect(result.state).toBe('ready_for_cutover');
      traffic.markPhase('ready');
      await sleep(1500);
    } finally {
      traffic.stop();
      report = await traffic.done;
    }
    const failures = report.failures.filter((f) => f.final).map((f) => `${f.op}: ${f.sqlstate} ${f.message}`);
    expect(failures).toEqual([]);
    expect(report.failedWrites).toBe(0);
    expect(report.perPhase.consolidate?.writes.count ?? 0).toBeGreaterThan(0);
    expect(report.perPhase.ready?.writes.count ?? 0).toBeGreaterThan(0);
    const ledger = await verifyLedger(url, ledgerPath);
    expect(ledger.mismatches).toEqual([]);
    // the application's writes during consolidation were captured (and applied to the shadow)
    await withClient(url, async (c) => {
      const p = await c.query(
        `SELECT prosecdef, proconfig FROM pg_proc WHERE oid = 'consolidation.capture_change()'::regprocedure`,
      );
      expect(p.rows[0]).toEqual({ prosecdef: true, proconfig: ['search_path=pg_catalog, pg_temp'] });
    });
  });
});
