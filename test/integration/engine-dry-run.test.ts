/**
 * The dry run is the real plan: the steps it lists are the steps the run journals, in order —
 * except that steps marked concurrent finish in any order within their group of neighbours.
 */
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
      steps: { id: string; phase: string; tx: string; concurrent?: true; description: { summary: string } }[];
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
    const done = journaled.rows[0]!.steps_done;
    // the same steps, each once
    expect([...done].sort()).toEqual([...planned].sort());
    // in plan order, group by group: a group of concurrent neighbours occupies the same positions
    const groupOf = new Map<string, number>();
    let group = 0;
    plan.steps.forEach((s, i) => {
      if (!(s.concurrent && plan.steps[i - 1]?.concurrent)) group++;
      groupOf.set(s.id, group);
    });
    expect(done.map((id) => groupOf.get(id))).toEqual(planned.map((id) => groupOf.get(id)));
    // the copies, primary keys, indexes and constraints are such groups
    const concurrent = plan.steps.filter((s) => s.concurrent).map((s) => s.id.split(':')[0]);
    expect(new Set(concurrent)).toEqual(new Set(['backfill', 'pk', 'indexes', 'checks', 'fks']));
  });
});
