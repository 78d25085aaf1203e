/**
 * The row comparison `rollback test` and `rollback execute` make before the lock (per table, on
 * two sessions at once): a row of the rollback copy changed behind the reverse capture's back is
 * caught in its own table's check only, and execute refuses with CONSOLIDATION_05 changing nothing.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { executeRollback, testRollback } from '../../src/engine/rollback.js';
import { DfcError } from '../../src/errors.js';
import { catalogChecksum } from '../helpers/checksums.js';
import { freshDatabase } from '../helpers/db.js';

describe('rollback row comparison', () => {
  it('names the one table whose copy differs; execute refuses and changes nothing', async () => {
    const url = await freshDatabase('seeded', 'rbcompare');
    await consolidate(url, { batchSize: 500 });
    const co = await cutover(url, { lockTimeoutMs: 1000 });
    const clean = await testRollback(url, co.rollbackPoint);
    expect(clean.valid).toBe(true);
    const rowChecks = clean.checks.filter((x) => x.check.includes('equal the rollback copy'));
    expect(rowChecks.length).toBeGreaterThan(20);

    // the copy has no capture of its own: this change is invisible to the reverse capture
    await withClient(url, (c) =>
      c.query(
        `UPDATE dfc_rollback_public.campaigns SET name = name || ' (edited behind the tool)'
          WHERE id = (SELECT min(id::text)::uuid FROM dfc_rollback_public.campaigns)`,
      ),
    );
    const bad = await testRollback(url, co.rollbackPoint);
    expect(bad.valid).toBe(false);
    const failed = bad.checks.filter((x) => !x.passed).map((x) => x.check);
    expect(failed).toEqual([
      '"public"."campaigns": rows and checksum of the carried columns equal the rollback copy',
    ]);
    // the same checks, in the same order, whatever session ran each
    expect(bad.checks.map((x) => x.check)).toEqual(clean.checks.map((x) => x.check));

    const catalog = await catalogChecksum(url);
    const err = await executeRollback(url, co.rollbackPoint, { reason: 'test', lockTimeoutMs: 1000 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DfcError);
    expect(err.code).toBe('CONSOLIDATION_05');
    expect(err.message).toContain('"public"."campaigns": rows and checksum');
    expect(await catalogChecksum(url)).toBe(catalog);
  });
});
