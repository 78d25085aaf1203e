/** Sampling runs by itself during consolidate / cutover (`--no-monitor` turns it off), recorded and shown. */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { dfc } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

const events = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const recorded = (url: string, phase: string) =>
  withClient(url, async (c) => {
    const r = await c.query<{ n: string }>(
      'SELECT count(*) AS n FROM monitoring.system_metrics WHERE migration_phase = $1',
      [phase],
    );
    return Number(r.rows[0]!.n);
  });

describe('monitoring during long commands', () => {
  it('consolidate samples into system_metrics and emits each sample; cutover --no-monitor records none', async () => {
    const url = await freshDatabase('seeded', 'mondur');
    const cons = await dfc(['--database-url', url, '--json', 'consolidate', '--monitor-interval', '1']);
    expect(cons.code).toBe(0);
    const samples = events(cons.stdout).filter((e) => e.type === 'sample');
    // one at the start, one at the end, any in between
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples[0]).toMatchObject({ phase: 'consolidate' });
    expect(typeof samples[0]!.activeConnections).toBe('number');
    expect(samples.at(-1)!.captureBacklog).toBe(0); // ready_for_cutover: everything applied
    expect(await recorded(url, 'consolidate')).toBe(samples.length);

    const co = await dfc(['--database-url', url, '--json', 'cutover', '--no-monitor']);
    expect(co.code).toBe(0);
    expect(events(co.stdout).filter((e) => e.type === 'sample')).toEqual([]);
    expect(await recorded(url, 'cutover')).toBe(0);
  });

  it('the terminal view prints each sample beside the engine lines', async () => {
    const url = await freshDatabase('seeded', 'mondur2');
    expect((await dfc(['--database-url', url, 'consolidate', '--no-monitor'])).code).toBe(0);
    const co = await dfc(['--database-url', url, 'cutover']);
    expect(co.code).toBe(0);
    expect(co.stdout).toMatch(/◦ cutover: lock waits \d+.*capture backlog \d+/);
    expect(await recorded(url, 'consolidate')).toBe(0);
    expect(await recorded(url, 'cutover')).toBeGreaterThanOrEqual(2);
  });
});
