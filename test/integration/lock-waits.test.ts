/**
 * The lock-wait sampler (workload/lock-waits.ts), an instrument of the benches: it sees an
 * application session really waiting behind an ACCESS EXCLUSIVE lock, names the relation, and
 * leaves out the tool's own sessions.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startLockWaitSampler } from '../../workload/lock-waits.js';
import { freshDatabase } from '../helpers/db.js';

const client = async (url: string, name: string) => {
  const c = new pg.Client({ connectionString: url, application_name: name });
  await c.connect();
  return c;
};

describe('lock-wait sampler', () => {
  it('measures an application session waiting for a relation lock, not the tool waiting', async () => {
    const url = await freshDatabase('empty', 'lockwait');
    const holder = await client(url, 'dfc-holder');
    const app = await client(url, 'domainflow');
    const tool = await client(url, 'dfc-other');
    try {
      await holder.query('CREATE TABLE busy (id int)');
      const sampler = await startLockWaitSampler(url);
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');
      const appRead = app.query('SELECT count(*) FROM busy');
      const toolRead = tool.query('SELECT count(*) FROM busy');
      await new Promise((r) => setTimeout(r, 400));
      await holder.query('COMMIT');
      await Promise.all([appRead, toolRead]);
      const report = await sampler.stop();
      expect(report.failedSamples).toBe(0);
      expect(report.samples).toBeGreaterThan(10);
      expect(report.waits).toBe(1);
      expect(report.longest).toMatchObject({ applicationName: 'domainflow', relation: 'busy' });
      // it waited the whole hold; sampled every 5 ms, the first and last sightings span most of it
      expect(report.longest!.ms).toBeGreaterThan(200);
    } finally {
      await Promise.all([holder.end(), app.end(), tool.end()]);
    }
  });
});
