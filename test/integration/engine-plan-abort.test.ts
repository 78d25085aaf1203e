/** Dry run changes nothing; abort undoes an unfinished run completely; replica-mode writers are captured. */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { abortConsolidation } from '../../src/engine/abort.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { planConsolidation } from '../../src/engine/plan.js';
import { consolidationStatus, setPaused } from '../../src/engine/status.js';
import { readCatalog } from '../../src/schema/catalog.js';
import { seedDatabase } from '../../workload/seed.js';
import { freshDatabase } from '../helpers/db.js';

async function fingerprint(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const cat = await readCatalog(c, ['public', 'auth']);
    const schemas = await c.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dfc_%' ORDER BY 1`);
    const data = await c.query(
      `SELECT md5(string_agg(x, '' ORDER BY x)) AS h FROM (
         SELECT md5(c::text) AS x FROM campaigns c UNION ALL SELECT md5(g::text) FROM generated_domains g
         UNION ALL SELECT md5(a::text) FROM audit_logs a UNION ALL SELECT md5(u::text) FROM auth.users u) t`,
    );
    return JSON.stringify({ cat, schemas: schemas.rows, data: data.rows[0] });
  });
}

describe('consolidate --dry-run, abort, replica-mode writers', () => {
  it('the dry run plans every table with estimates and transformations and changes nothing', async () => {
    const url = await freshDatabase('seeded', 'plan');
    const before = await fingerprint(url);
    const plan = await planConsolidation(url);
    expect(plan.tables.length).toBeGreaterThanOrEqual(30);
    const gd = plan.tables.find((t) => t.table === 'public.generated_domains')!;
    expect(gd.rowsEstimate).toBeGreaterThan(1000);
    expect(gd.indexes.length).toBeGreaterThan(0);
    const campaigns = plan.tables.find((t) => t.table === 'public.campaigns')!;
    expect(campaigns.transformedColumns.map((x) => x.column)).toContain('user_id');
    expect(plan.estimatedSeconds).toBeGreaterThan(0);
    expect(plan.conversionIssues).toEqual([]);
    expect(await fingerprint(url)).toBe(before);
  });

  it('abort after a run stopped mid-way leaves the legacy database exactly as before', async () => {
    const url = await freshDatabase('seeded', 'abort');
    const before = await fingerprint(url);
    await expect(
      consolidate(url, { batchSize: 500, faults: { crashAfter: 'indexes:public.generated_domains' } }),
    ).rejects.toThrow(/test hook/);
    expect((await consolidationStatus(url, { exact: false })).state).toBe('optimizing');
    const r = await abortConsolidation(url);
    expect(r.triggersRemoved).toBeGreaterThanOrEqual(30);
    expect(await fingerprint(url)).toBe(before);
    expect((await consolidationStatus(url, { exact: false })).state).toBe('aborted');
    // and a new run starts from scratch and completes
    const again = await consolidate(url, { batchSize: 1000 });
    expect(again.resumed).toBe(false);
    expect(again.state).toBe('ready_for_cutover');
  });

  it('pause holds the backfill between batches and resume lets it finish', async () => {
    const url = await freshDatabase('seeded', 'pause');
    await expect(consolidate(url, { faults: { crashAfter: 'capture:install' } })).rejects.toThrow(
      /test hook/,
    );
    expect(await setPaused(url, true)).toBe(true);
    const reasons: string[] = [];
    const run = consolidate(url, {
      batchSize: 200,
      onEvent: (e) => {
        if (e.type === 'throttle') reasons.push(e.reason);
      },
    });
    // wait until the engine reports that it is holding because of the pause
    for (let i = 0; i < 200 && reasons.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(reasons[0]).toBe('paused');
    const copied = await withClient(url, (c) =>
      c.query('SELECT coalesce(sum(rows_copied), 0)::int AS n FROM consolidation.engine_tables'),
    );
    expect(copied.rows[0].n).toBe(0);
    expect(await setPaused(url, false)).toBe(true);
    const done = await run;
    expect(done.state).toBe('ready_for_cutover');
    expect(done.tables.reduce((a, t) => a + t.rowsCopied, 0)).toBeGreaterThan(2000);
  });

  it('captures writes made with session_replication_role = replica (capture triggers fire ALWAYS)', async () => {
    const url = await freshDatabase('legacy', 'replica');
    await seedDatabase(url, { domains: 500, seed: 3 });
    await consolidate(url, { batchSize: 1000 });
    const id = await withClient(url, async (c) => {
      await c.query('SET session_replication_role = replica');
      const r = await c.query(
        `UPDATE generated_domains SET source_keyword = 'written-in-replica-mode' WHERE id = (SELECT min(id::text)::uuid FROM generated_domains) RETURNING id`,
      );
      return r.rows[0].id as string;
    });
    await cutover(url);
    await withClient(url, async (c) => {
      const r = await c.query('SELECT source_keyword FROM generated_domains WHERE id = $1', [id]);
      expect(r.rows[0].source_keyword).toBe('written-in-replica-mode');
    });
  });
});
