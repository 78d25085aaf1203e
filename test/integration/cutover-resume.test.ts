/**
 * A cutover that stops after its locked transaction committed, before the after-commit steps
 * (materialized views refreshed): `dfc cutover` again finishes just those, in the same instance's
 * journal, skipping the locked part; a third call says the database is already cut over.
 */
import { describe, expect, it } from 'vitest';
import { InjectedFault } from '../../src/core/faults.js';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import type { EngineEvent } from '../../src/engine/events.js';
import { verify } from '../../src/engine/verify.js';
import { DfcError } from '../../src/errors.js';
import { freshDatabase } from '../helpers/db.js';

const journal = (url: string) =>
  withClient(url, async (c) => {
    const r = await c.query<{ state: string; steps_done: string[] }>(
      'SELECT state, steps_done FROM consolidation.engine_runs ORDER BY run_id DESC LIMIT 1',
    );
    return r.rows[0]!;
  });

describe('a cutover stopped after its COMMIT', () => {
  it('is finished by running dfc cutover again: only the after-commit steps run', async () => {
    const url = await freshDatabase('seeded', 'coresume');
    await consolidate(url, { batchSize: 500 });
    const crashed = await cutover(url, {
      lockTimeoutMs: 1000,
      faults: { crashBefore: 'cutover:refresh' },
    }).catch((e) => e);
    expect(crashed).toBeInstanceOf(InjectedFault);
    const stopped = await journal(url);
    expect(stopped.state).toBe('cut_over'); // the locked part committed
    expect(stopped.steps_done).toContain('cutover.1/cutover:mark');
    expect(stopped.steps_done).not.toContain('cutover.1/cutover:refresh');

    const events: EngineEvent[] = [];
    const r = await cutover(url, { lockTimeoutMs: 1000, onEvent: (e) => events.push(e) });
    expect(r.resumed).toBe(true);
    expect(r.attempts).toBe(0);
    expect(r.lockHeldMs).toBeGreaterThan(0); // from the journal of the committed attempt
    const point = await withClient(
      url,
      async (c) => (await c.query('SELECT rollback_point_id AS id FROM consolidation.rollback_points')).rows,
    );
    expect(point.map((p) => p.id)).toEqual([r.rollbackPoint]); // no second cutover, no second point
    const steps = events.filter((e) => e.type === 'step') as { step: string; status: string }[];
    expect(steps.filter((e) => e.status === 'done').map((e) => e.step)).toEqual(['cutover:refresh']);
    expect(steps.some((e) => e.step === 'cutover:lock' && e.status === 'skipped')).toBe(true);
    expect((await journal(url)).steps_done).toContain('cutover.1/cutover:refresh');

    const again = await cutover(url, { lockTimeoutMs: 1000 }).catch((e) => e);
    expect(again).toBeInstanceOf(DfcError);
    expect(again.code).toBe('CONSOLIDATION_01');
    expect(again.message).toContain('cut_over');
    expect(again.fix).toContain('already cut over');
    expect((await verify(url)).checks.filter((x) => !x.passed)).toEqual([]);
  });
});
