/**
 * A GRANT and our ALTER TABLE on the same table at the same moment: neither takes a lock the other
 * waits for, so ours waits for the GRANT's catalog row and, when that commits, fails with XX000
 * "tuple concurrently updated". It happened in CI to the cutover's after-commit autovacuum reset
 * (a GRANT that had waited for the cutover's locks on PostgreSQL 18). Session.retry runs it again.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/db/connection.js';
import { isCatalogRace, Session } from '../../src/db/session.js';
import { freshDatabase } from '../helpers/db.js';

/** BEGIN; GRANT … in `other`, run `ours` beside it, commit the GRANT 300 ms later. */
async function besideAGrant<T>(other: pg.Client, role: string, ours: () => Promise<T>): Promise<T> {
  await other.query('BEGIN');
  await other.query(`GRANT SELECT ON race_t TO "${role}"`);
  const result = ours();
  result.catch(() => {}); // awaited below
  await new Promise((r) => setTimeout(r, 300));
  await other.query('COMMIT');
  return result;
}

describe('a catalog race with a GRANT', () => {
  it('fails a plain ALTER TABLE and is retried by Session.retry until it passes', async () => {
    const url = await freshDatabase('none', 'catrace');
    const role = `catrace_${randomBytes(3).toString('hex')}`;
    await withClient(url, (c) =>
      c.query(
        `CREATE TABLE race_t (id int) WITH (autovacuum_enabled = false); CREATE ROLE "${role}" NOLOGIN`,
      ),
    );
    const other = await connect(url, 'catrace-grant');
    const s = await Session.open(url, 'catrace-dfc');
    try {
      // without the retry: the race is real
      const plain = await besideAGrant(other, role, () =>
        s.client.query('ALTER TABLE race_t SET (autovacuum_enabled = false)'),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCatalogRace(plain), String(plain)).toBe(true);

      const retries: number[] = [];
      await besideAGrant(other, role, () =>
        s.retry('reset', () => s.client.query('ALTER TABLE race_t RESET (autovacuum_enabled)'), {
          lockTimeoutMs: 5000, // wait for the GRANT's row (a lock timeout would be retried too, and prove nothing)
          onRetry: (attempt) => retries.push(attempt),
        }),
      );
      expect(retries.length).toBeGreaterThanOrEqual(1);
      const r = await s.client.query<{ opts: string[] | null; granted: boolean }>(
        `SELECT reloptions AS opts, has_table_privilege($1, 'race_t', 'SELECT') AS granted
           FROM pg_class WHERE oid = 'race_t'::regclass`,
        [role],
      );
      expect(r.rows[0]).toEqual({ opts: null, granted: true });
    } finally {
      await s.close();
      await other.end();
      await withClient(url, (c) => c.query(`DROP TABLE race_t; DROP ROLE "${role}"`));
    }
  });
});
