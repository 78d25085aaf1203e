/**
 * The conversion count evaluates a predicate once per distinct value of the columns it reads when
 * statistics say there are few: it must give exactly the per-row answer, on a dirty database.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { mappedTables } from '../../src/engine/consolidate.js';
import { legacyLiveOf, q } from '../../src/engine/names.js';
import { countConversionIssues, predicateColumns } from '../../src/engine/support.js';
import { seedDatabase } from '../../workload/seed.js';
import { freshDatabase } from '../helpers/db.js';

describe('conversion count', () => {
  it('reads the columns a predicate uses, or none when it reads the whole row', () => {
    expect(predicateColumns(`s.user_id IS NOT NULL AND NOT (s."user_id" ~* 'x')`)).toEqual(['user_id']);
    expect(
      predicateColumns(`s.a AND EXISTS (SELECT 1 FROM "public"."t" o WHERE o.b = s.b AND o.id < s.id)`),
    ).toEqual(['a', 'b', 'id']);
    expect(predicateColumns(`to_jsonb(s) ? 'x'`)).toBeNull();
    expect(predicateColumns('campaigns.id IS NULL')).toBeNull();
  });

  it('grouped by distinct values, the counts equal a count of every row', async () => {
    const url = await freshDatabase('legacy', 'convcount');
    await seedDatabase(url, { domains: 30000, seed: 31, dirty: true });
    await withClient(url, async (c) => {
      await c.query('ANALYZE');
      const tables = mappedTables();
      const counted = await countConversionIssues(c, tables);
      let grouped = 0;
      for (const t of tables)
        for (const i of t.issues.filter((x) => !x.id.endsWith('.parent_quarantined'))) {
          const r = await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${q(legacyLiveOf(t.def))} s WHERE ${i.predicate}`,
          );
          expect({ id: i.id, count: counted.find((x) => x.id === i.id)?.count }).toEqual({
            id: i.id,
            count: r.rows[0]!.n,
          });
          if (i.id.startsWith('audit_logs.user_id')) grouped++;
        }
      // the dirty seed has rows for the grouped audit_logs.user_id checks
      expect(grouped).toBe(2);
      expect(
        counted.filter((x) => x.id.startsWith('audit_logs.user_id') && x.count > 0).length,
      ).toBeGreaterThan(0);
    });
  });
});
