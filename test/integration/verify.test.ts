/**
 * `dfc verify` under live writes: one snapshot for every comparison, the reverse capture's queue
 * applied inside it, so it passes while the application writes to v2 — and fails when a row of
 * the rollback copy is changed behind the capture's back.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { verify } from '../../src/engine/verify.js';
import { startTraffic } from '../../workload/traffic.js';
import { freshDatabase } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('verify while the application runs', () => {
  it('passes under live traffic (queued changes accounted for) and fails on a tampered rollback-copy row', async () => {
    const url = await freshDatabase('seeded', 'ver');
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-verify-'));
    const traffic = startTraffic(url, {
      rate: 120,
      durationMs: 600_000,
      ledgerPath: path.join(dir, 'ledger.jsonl'),
      seed: 21,
    });
    try {
      await sleep(500);
      expect((await consolidate(url, { batchSize: 500 })).state).toBe('ready_for_cutover');
      await cutover(url, { lockTimeoutMs: 500 });
      let appliedInSnapshot = 0;
      for (let round = 0; round < 3; round++) {
        await sleep(700); // let the application queue changes for the rollback copy
        const rep = await verify(url);
        expect(rep.checks.filter((c) => !c.passed)).toEqual([]);
        expect(rep.passed).toBe(true);
        const q = rep.checks.find((c) => c.check.startsWith('changes queued'));
        appliedInSnapshot += (q!.details as { applied: number }).applied;
      }
      // the test proves something only if writes were pending while verify compared
      expect(appliedInSnapshot).toBeGreaterThan(0);
    } finally {
      traffic.stop();
    }
    const report = await traffic.done;
    expect(report.failedWrites).toBe(0);
    // the application's last writes may still be queued for the rollback copy: a verify applies
    // them first, so the tamper below cannot be overwritten by a queued change of the same row
    expect((await verify(url)).passed).toBe(true);

    // behind the capture's back: no trigger fires under session_replication_role = replica
    await withClient(url, async (c) => {
      await c.query('SET session_replication_role = replica');
      const r = await c.query(
        `UPDATE dfc_rollback_public.campaigns SET name = name || ' (tampered)'
          WHERE id = (SELECT id FROM dfc_rollback_public.campaigns ORDER BY id LIMIT 1)`,
      );
      expect(r.rowCount).toBe(1);
    });
    const rep = await verify(url);
    expect(rep.passed).toBe(false);
    expect(rep.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual([
      expect.stringMatching(/^public\.campaigns: checksum of \d+ carried columns equals the rollback copy$/),
    ]);
  });
});
