/**
 * verify's sessions share ONE snapshot (pg_export_snapshot / SET TRANSACTION SNAPSHOT): a write
 * committed after they opened is invisible to every one of them, and their snapshots are identical.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { openSnapshotSessions, runJobs } from '../../src/engine/verify-parallel.js';
import { freshDatabase } from '../helpers/db.js';

describe('verify sessions in one snapshot', () => {
  it('every session sees the coordinator snapshot, not what commits after it', async () => {
    const url = await freshDatabase('empty', 'vpar');
    await withClient(url, (c) => c.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)'));
    const s = await openSnapshotSessions(url, 3, 'dfc-verify-test');
    try {
      await withClient(url, (c) => c.query('INSERT INTO t VALUES (2)'));
      const seen = await runJobs(
        s.sessions,
        s.sessions.map((_, i) => ({
          name: `s${i}`,
          cost: 1,
          session: i,
          run: async (c) =>
            (
              await c.query<{ n: number; snap: string }>(
                'SELECT count(*)::int AS n, txid_current_snapshot()::text AS snap FROM t',
              )
            ).rows[0]!,
        })),
      );
      expect(seen.map((x) => x.session).sort()).toEqual([0, 1, 2]);
      expect(seen.map((x) => x.value.n)).toEqual([1, 1, 1]);
      expect(new Set(seen.map((x) => x.value.snap)).size).toBe(1);
      // a session's own write stays its own (why a table's queue and its copy side share a session)
      await s.sessions[1]!.query('INSERT INTO t VALUES (3)');
      const own = await s.sessions[1]!.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
      const other = await s.sessions[2]!.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
      expect([own.rows[0]!.n, other.rows[0]!.n]).toEqual([2, 1]);
      await s.commit();
    } finally {
      await s.close();
    }
    const after = await withClient(url, (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM t'));
    expect(after.rows[0]!.n).toBe(3);
  });

  it('a failing job stops the pool and its error is thrown', async () => {
    const url = await freshDatabase('empty', 'vpar');
    const s = await openSnapshotSessions(url, 2, 'dfc-verify-test');
    try {
      const jobs = [
        { name: 'bad', cost: 2, run: async (c: import('pg').ClientBase) => c.query('SELECT 1/0') },
        { name: 'good', cost: 1, run: async (c: import('pg').ClientBase) => c.query('SELECT 1') },
      ];
      await expect(runJobs(s.sessions, jobs)).rejects.toMatchObject({ code: '22012' });
    } finally {
      await s.close();
    }
  });
});
