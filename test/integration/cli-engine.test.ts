/** The engine's CLI bindings, run as a user would: exit codes and --json output. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/dfc.js');

async function dfc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;

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
