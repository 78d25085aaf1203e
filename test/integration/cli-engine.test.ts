/** The engine's CLI bindings, run as a user would: exit codes and --json output. */
import { describe, expect, it } from 'vitest';
import { dfc, lastJson } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

describe('dfc consolidate / cutover / verify from the command line', () => {
  it('plans, consolidates, reports status, cuts over and verifies, with --json', async () => {
    const url = await freshDatabase('seeded', 'cli');
    const plan = await dfc(['--database-url', url, '--json', 'consolidate', '--dry-run']);
    expect(plan.code).toBe(0);
    expect(lastJson(plan.stdout).event).toBe('consolidate.plan');
    const cons = await dfc(['--database-url', url, '--json', 'consolidate']);
    expect(cons.code).toBe(0);
    expect(lastJson(cons.stdout)).toMatchObject({ event: 'consolidate.done', state: 'ready_for_cutover' });
    const status = await dfc(['--database-url', url, '--json', 'consolidate', 'status']);
    expect(lastJson(status.stdout)).toMatchObject({
      event: 'consolidate.status',
      state: 'ready_for_cutover',
      captureBacklog: 0,
    });
    const co = await dfc(['--database-url', url, '--json', 'cutover']);
    expect(co.code).toBe(0);
    expect(lastJson(co.stdout).event).toBe('cutover.done');
    const v = await dfc(['--database-url', url, '--json', 'verify']);
    expect(v.code).toBe(0);
    expect(lastJson(v.stdout)).toMatchObject({ event: 'verify.done', passed: true });
  });

  it('cutover before any consolidation fails with a coded error, a fix, and exit 1', async () => {
    const url = await freshDatabase('legacy', 'cli2');
    const r = await dfc(['--database-url', url, 'cutover']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CONSOLIDATION_01: no consolidation is ready for cutover/m);
    expect(r.stderr).toMatch(/fix: run `dfc consolidate`/);
  });
});
