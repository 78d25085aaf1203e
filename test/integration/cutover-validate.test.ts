/**
 * The validation inside the cutover transaction, on a database really cut over: every check passes
 * there, and "nothing outside the rollback copy depends on a legacy relation" names each outside
 * object that does (a view, a foreign key, a column default) while the copy's own constraints,
 * triggers, rules and defaults are not reported. The rollback's validation, the same way round:
 * it passes after a real rollback and names a live view still reading a v2 table in the shadow.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate, mappedTables } from '../../src/engine/consolidate.js';
import { cutover, validateInTransaction } from '../../src/engine/cutover.js';
import { executeRollback } from '../../src/engine/rollback.js';
import { pointMappedTables, readRollbackPoint } from '../../src/engine/rollback-points.js';
import { validateRollback } from '../../src/engine/steps/rollback-validate.js';
import { V2 } from '../../src/schema/v2/index.js';
import { seedDatabase } from '../../workload/seed.js';
import { freshDatabase } from '../helpers/db.js';

const DEPENDENTS = 'no object outside the rollback copy depends on a legacy relation';

describe('cutover:validate and rollback:validate', () => {
  it('pass after a real cutover and rollback, and name every outside object still pointing at the other side', async () => {
    const url = await freshDatabase('legacy', 'coval');
    await seedDatabase(url, { domains: 300, seed: 8 });
    await consolidate(url, { batchSize: 1000 });
    const co = await cutover(url);
    await withClient(url, async (c) => {
      const clean = await validateInTransaction(c, V2);
      expect(clean.filter((x) => !x.passed)).toEqual([]);
      expect(clean.map((x) => x.check)).toContain(DEPENDENTS);
      const seq = await c.query<{ s: string }>(
        `SELECT format('%I.%I', n.nspname, s.relname) AS s FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
          WHERE n.nspname IN ('dfc_rollback_public', 'dfc_rollback_auth') AND s.relkind = 'S' ORDER BY 1 LIMIT 1`,
      );
      const sequence = seq.rows[0]?.s;
      expect(sequence).toBeDefined();
      await c.query('BEGIN');
      try {
        await c.query('CREATE SCHEMA reports');
        await c.query('CREATE VIEW reports.old_campaigns AS SELECT id FROM dfc_rollback_public.campaigns');
        await c.query(
          'CREATE TABLE reports.notes (campaign_id uuid REFERENCES dfc_rollback_public.campaigns (id), n bigint)',
        );
        // a default reading a sequence of the copy: an attrdef of an outside table
        await c.query(
          `ALTER TABLE reports.notes ALTER COLUMN n SET DEFAULT nextval('${sequence}'::regclass)`,
        );
        // an object of the copy itself, which is not reported
        await c.query('CREATE RULE keep AS ON DELETE TO dfc_rollback_public.personas DO INSTEAD NOTHING');
        const dirty = await validateInTransaction(c, V2);
        const check = dirty.find((x) => x.check === DEPENDENTS)!;
        expect(check.passed).toBe(false);
        const found = new Set(
          (check.details as { kind: string; legacy_relation: string }[]).map(
            (d) => `${d.kind} ${d.legacy_relation}`,
          ),
        );
        // the foreign key also depends on the copy's primary-key index; the rule on personas is the copy's own
        expect(found).toEqual(
          new Set([
            `pg_attrdef ${sequence!.split('.')[1]}`,
            'pg_constraint campaigns',
            'pg_constraint campaigns_pkey',
            'pg_rewrite campaigns',
          ]),
        );
        // every other check still passes
        expect(dirty.filter((x) => !x.passed).map((x) => x.check)).toEqual([DEPENDENTS]);
      } finally {
        await c.query('ROLLBACK');
      }
    });

    await executeRollback(url, co.rollbackPoint, { reason: 'validation test' });
    await withClient(url, async (c) => {
      const point = await readRollbackPoint(c, co.rollbackPoint);
      const tables = pointMappedTables(point, mappedTables(V2));
      const clean = await validateRollback(c, point, tables);
      expect(clean.filter((x) => !x.passed)).toEqual([]);
      expect(clean).toHaveLength(9);
      await c.query('BEGIN');
      try {
        await c.query('CREATE VIEW public.v2_campaigns AS SELECT id FROM dfc_shadow_public.campaigns');
        const dirty = await validateRollback(c, point, tables);
        expect(dirty.filter((x) => !x.passed)).toEqual([
          {
            check: 'no live object depends on a v2 relation',
            passed: false,
            details: [expect.objectContaining({ kind: 'pg_rewrite', v2_relation: 'campaigns' })],
          },
        ]);
      } finally {
        await c.query('ROLLBACK');
      }
    });
  });
});
