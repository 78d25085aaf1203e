/**
 * Cutover and rollback are plans: `dfc cutover --dry-run --json` lists exactly the steps the cutover
 * journals, in order; each instance of the plan is journaled apart, so after a rollback the same
 * run cuts over again running every step (not skipping them as "done").
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import { executeRollback } from '../../src/engine/rollback.js';
import { seedDatabase } from '../../workload/seed.js';
import { dfc, lastJson } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

const journaled = (url: string, prefix: string) =>
  withClient(url, async (c) => {
    const r = await c.query<{ steps_done: string[] }>('SELECT steps_done FROM consolidation.engine_runs');
    expect(r.rows).toHaveLength(1);
    return r.rows[0]!.steps_done.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length));
  });

describe('cutover as a plan', () => {
  it('the dry run lists the steps each cutover journals; a rolled-back run cuts over again through every step', async () => {
    const url = await freshDatabase('legacy', 'coplan');
    await seedDatabase(url, { domains: 600, seed: 5 });
    const early = await dfc(['--database-url', url, '--json', 'cutover', '--dry-run']);
    expect(early.code).toBe(1);
    expect(lastJson(early.stdout)).toMatchObject({ event: 'cutover.plan', ready: false, state: 'none' });

    await consolidate(url, { batchSize: 1000 });
    const dry = await dfc(['--database-url', url, '--json', 'cutover', '--dry-run', '--reset-app-sessions']);
    expect(dry.code).toBe(0);
    const plan = lastJson(dry.stdout) as {
      event: string;
      ready: boolean;
      steps: { id: string; phase: string; tx: string; description: { summary: string } }[];
    };
    expect(plan).toMatchObject({ event: 'cutover.plan', ready: true });
    const planned = plan.steps.map((s) => s.id);
    // capture made current and the surface read before the locked transaction, the surface
    // proved under it (cutover:check-surface)
    expect(planned.slice(0, 4)).toEqual([
      'cutover:capture-ready',
      'cutover:read-surface',
      'cutover:lock',
      'cutover:check-surface',
    ]);
    expect(planned).toContain('cutover:reset-sessions');
    // the locked transaction: from the lock to the mark, consecutive
    expect(plan.steps.filter((s) => s.tx === 'cutover-locks').map((s) => s.id)).toEqual(
      planned.slice(planned.indexOf('cutover:lock'), planned.indexOf('cutover:mark') + 1),
    );
    expect(plan.steps.every((s) => s.description.summary.length > 0)).toBe(true);
    // the dry run changed nothing
    expect(await journaled(url, 'cutover.')).toEqual([]);

    const first = await cutover(url, { resetAppSessions: true });
    expect(await journaled(url, 'cutover.1/')).toEqual(planned);
    const rb = await executeRollback(url, first.rollbackPoint, { reason: 'plan test' });
    expect((await journaled(url, `rollback.${rb.point}/`)).slice(0, 2)).toEqual([
      'rollback:read-surface',
      'rollback:lock',
    ]);
    const again = await cutover(url, { resetAppSessions: true });
    expect(again.validation.every((v) => v.passed)).toBe(true);
    expect(await journaled(url, 'cutover.2/')).toEqual(planned);
    await withClient(url, async (c) => {
      const s = await c.query('SELECT state FROM consolidation.engine_runs');
      expect(s.rows[0].state).toBe('cut_over');
    });
  });
});
