/** The dry run is the real plan: the steps it lists are the steps the run journals, in order. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { consolidate, withClient } from '../../src/index.js';
import { freshDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/dfc.js');

describe('consolidate --dry-run', () => {
  it('lists exactly the step ids the run journals, in the same order', async () => {
    const url = await freshDatabase('seeded', 'dryrun');
    const r = await run(
      process.execPath,
      [BIN, '--database-url', url, '--json', 'consolidate', '--dry-run'],
      {
        env: { ...process.env, DATABASE_URL: '' },
      },
    );
    const plan = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      event: string;
      steps: { id: string; phase: string; tx: string; description: { summary: string } }[];
    };
    expect(plan.event).toBe('consolidate.plan');
    const planned = plan.steps.map((s) => s.id);
    // the plan is more than a few hard-coded lines: one backfill step per legacy table, etc.
    expect(planned.filter((id) => id.startsWith('backfill:')).length).toBeGreaterThanOrEqual(30);
    expect(plan.steps.every((s) => s.description.summary.length > 0)).toBe(true);
    // and the dry run changed nothing: no run was journaled
    const runsBefore = await withClient(url, async (c) => {
      const t = await c.query(`SELECT to_regclass('consolidation.engine_runs') IS NOT NULL AS ok`);
      if (!t.rows[0].ok) return 0;
      return (await c.query('SELECT count(*)::int AS n FROM consolidation.engine_runs')).rows[0].n as number;
    });
    expect(runsBefore).toBe(0);
    await consolidate(url, { batchSize: 1000 });
    const journaled = await withClient(url, (c) =>
      c.query<{ steps_done: string[] }>('SELECT steps_done FROM consolidation.engine_runs ORDER BY run_id'),
    );
    expect(journaled.rows).toHaveLength(1);
    expect(journaled.rows[0]!.steps_done).toEqual(planned);
  });
});
