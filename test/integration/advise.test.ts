import { describe, expect, it } from 'vitest';
import { advise } from '../../src/benchmark/advise.js';
import { withClient } from '../../src/db/connection.js';
import { freshDatabase } from '../helpers/db.js';

describe('dfc advise', () => {
  it('times each rewrite against the statement and the rewrite returns the same rows', async () => {
    const url = await freshDatabase('seeded');
    const advice = await advise(url, { runs: 3 });
    const ids = advice.map((a) => a.id);
    // the seed has a campaign of more than 200 domains and pending/queued jobs; campaign_statistics is v2 only
    expect(ids).toEqual(['keyset_pagination', 'order_by_index']);
    await withClient(url, async (c) => {
      for (const a of advice) {
        expect(a.originalMs).toBeGreaterThan(0);
        expect(a.rewriteMs).toBeGreaterThan(0);
        expect(a.speedup).toBeCloseTo(a.originalMs / a.rewriteMs, 6);
        expect(a.advised).toBe(a.speedup >= 1.2);
        const before = await c.query(a.statement, a.params);
        const after = await c.query(a.rewrite, a.rewriteParams);
        expect(before.rowCount).toBeGreaterThan(0);
        // the same rows in the same order: a rewrite that changed the answer would be no advice
        expect(after.rows).toEqual(before.rows);
      }
    });
  });
});
