/**
 * shadow_drift: during a consolidation, legacy and dfc_shadow_* counts of a backfilled table may
 * differ only by what the capture backlog explains. Application writes not yet applied are not
 * drift; rows removed from or added to the shadow behind the engine's back are.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import {
  consolidate,
  consolidationStatus,
  integrityStatus,
  runIntegrityChecks,
  setupIntegrityChecks,
} from '../../src/index.js';
import { freshDatabase } from '../helpers/db.js';

type Drift = {
  table: string;
  legacy_rows: number;
  shadow_rows: number;
  pending_keys: number;
  unexplained: number;
};
const drift = async (url: string) => {
  const r = await runIntegrityChecks(url);
  expect(r.errors).toBe(0);
  const s = (await integrityStatus(url)).find((x) => x.check_name === 'shadow_drift')!;
  return { count: Number(s.last_violation_count), samples: (s.open_violation?.sample_keys ?? []) as Drift[] };
};

describe('integrity: shadow/live drift', () => {
  it('tolerates the capture backlog, reports rows lost from or added to the shadow', async () => {
    const url = await freshDatabase('seeded', 'drift');
    expect((await setupIntegrityChecks(url)).added).toContain('shadow_drift');
    // before any consolidation there is nothing to compare
    expect((await drift(url)).count).toBe(0);
    expect((await consolidate(url, { batchSize: 500 })).state).toBe('ready_for_cutover');
    expect((await drift(url)).count).toBe(0);

    // application writes the capture logged and nobody applied yet: a backlog, not drift
    await withClient(url, async (c) => {
      await c.query(
        'DELETE FROM public.audit_logs WHERE id IN (SELECT id FROM public.audit_logs ORDER BY id LIMIT 7)',
      );
      await c.query(
        `INSERT INTO public.audit_logs (id, action, entity_type, timestamp)
         SELECT uuid_generate_v4(), 'drift_test', 'test', now() FROM generate_series(1, 5)`,
      );
      const p = await c.query(
        `SELECT count(*)::int AS n FROM consolidation.capture_log WHERE table_name = 'public.audit_logs'`,
      );
      expect(p.rows[0].n).toBe(12);
    });
    expect((await consolidationStatus(url, { exact: false })).captureBacklog).toBeGreaterThanOrEqual(12);
    expect((await drift(url)).count).toBe(0);

    // the shadow edited behind the engine's back: 3 rows gone from one table, 2 invented in another
    await withClient(url, async (c) => {
      await c.query(
        'DELETE FROM dfc_shadow_public.generated_domains WHERE id IN (SELECT id FROM dfc_shadow_public.generated_domains ORDER BY id LIMIT 3)',
      );
      await c.query('SET session_replication_role = replica');
      await c.query(
        `INSERT INTO dfc_shadow_public.keyword_sets SELECT (jsonb_populate_record(NULL::dfc_shadow_public.keyword_sets,
                to_jsonb(k) || jsonb_build_object('id', uuid_generate_v4(), 'name', k.name || ' ' || g))).*
           FROM dfc_shadow_public.keyword_sets k, generate_series(1, 2) g WHERE k.id = (SELECT id FROM dfc_shadow_public.keyword_sets ORDER BY id LIMIT 1)`,
      );
    });
    const d = await drift(url);
    expect(d.count).toBe(2);
    expect(d.samples).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: 'public.generated_domains', unexplained: 3, pending_keys: 0 }),
        expect.objectContaining({ table: 'public.keyword_sets', unexplained: 2 }),
      ]),
    );
    // the backlog of audit_logs is still pending and still not reported
    expect(d.samples.map((x) => x.table)).not.toContain('public.audit_logs');
    const s = (await integrityStatus(url)).find((x) => x.check_name === 'shadow_drift')!;
    expect(s.severity).toBe('critical');
  });
});
