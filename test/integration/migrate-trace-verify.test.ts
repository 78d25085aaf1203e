/**
 * `migrate trace` (locks, rewrites, durations on a scratch copy) and `migrate verify` (up, down,
 * up again with catalog diffs on a scratch copy), on a database `dfc install` made. Neither may
 * change the target.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { installV2 } from '../../src/install.js';
import { TEMPLATES_DIR } from '../../src/migrate/runner.js';
import { traceMigration } from '../../src/migrate/trace.js';
import { verifyMigrations } from '../../src/migrate/verify.js';
import { dfc, lastJson } from '../helpers/cli.js';
import { adminUrl, freshDatabase } from '../helpers/db.js';

const EXAMPLES = path.join(TEMPLATES_DIR, 'examples');

async function v2Database(): Promise<string> {
  const url = await freshDatabase('empty', 'mtv');
  await installV2(url);
  return url;
}

async function exampleDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dfc-trace-verify-'));
  await cp(EXAMPLES, dir, { recursive: true });
  return dir;
}

const scalar = (url: string, text: string) =>
  withClient(url, async (c) => Object.values((await c.query(text)).rows[0] ?? {})[0]);

const scratchDatabases = () =>
  withClient(adminUrl(), async (c) =>
    (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'dfc_scratch_%'`)).rows.map(
      (r) => r.datname,
    ),
  );

describe('migrate trace', () => {
  it('reports the ACCESS EXCLUSIVE lock and the rewrite of ALTER COLUMN TYPE; a constant default rewrites nothing', async () => {
    const url = await v2Database();
    await withClient(url, (c) =>
      c.query(
        `INSERT INTO campaigns (name, campaign_type, status) SELECT 'c' || g, 'domain_generation', 'pending' FROM generate_series(1, 200) g`,
      ),
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-trace-'));
    const file = path.join(dir, '000018_widen.up.sql');
    await writeFile(
      file,
      "SET lock_timeout = '5s';\n" +
        'ALTER TABLE campaigns ADD COLUMN score integer DEFAULT 0;\n' +
        'ALTER TABLE campaigns ALTER COLUMN score TYPE bigint;\n' +
        'CREATE INDEX CONCURRENTLY campaigns_score_idx ON campaigns (score);\n',
    );
    await writeFile(path.join(dir, '000018_widen.down.sql'), 'SELECT 1;\n');
    const r = await traceMigration(url, file);
    expect(r.statements.map((s) => s.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(r.ok).toBe(true);
    expect(r.scratch).toBe('clone');
    expect(r.statements.map((s) => s.line)).toEqual([1, 2, 3, 4]);

    const [, add, alter, index] = r.statements;
    expect(add!.locks).toContainEqual({ relation: 'public.campaigns', mode: 'ACCESS EXCLUSIVE' });
    expect(add!.rewritten).toEqual([]);
    expect(alter!.locks).toContainEqual({ relation: 'public.campaigns', mode: 'ACCESS EXCLUSIVE' });
    expect(alter!.rewritten.map((w) => w.relation)).toEqual(['public.campaigns']);
    expect(index!.sampled).toBe(true);
    expect(index!.rewritten).toEqual([]);
    expect(index!.locks.find((l) => l.relation === 'public.campaigns')?.mode).not.toBe('ACCESS EXCLUSIVE');

    // the target is untouched and the scratch copy is gone
    expect(
      await scalar(
        url,
        `SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'campaigns' AND column_name = 'score'`,
      ),
    ).toBe(0);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('CLI: --json lines per statement and a failing statement exits 1', async () => {
    const url = await v2Database();
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-trace-'));
    const file = path.join(dir, '000018_bad.up.sql');
    await writeFile(
      file,
      'ALTER TABLE campaigns ADD COLUMN x int;\nALTER TABLE campaigns ADD COLUMN x int;\n',
    );
    await writeFile(path.join(dir, '000018_bad.down.sql'), 'SELECT 1;\n');
    const r = await dfc(['--json', '--database-url', url, 'migrate', 'trace', file]);
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event === 'trace.statement')).toHaveLength(2);
    expect(lines[1].error).toMatch(/column "x" of relation "campaigns" already exists/);
    expect(lastJson(r.stdout)).toMatchObject({ event: 'trace.result', ok: false });
  });
});

describe('migrate verify', () => {
  it('the guide’s example: down restores the catalog, up is repeatable; the target stays at 17', async () => {
    const url = await v2Database();
    const r = await verifyMigrations(url, { dir: await exampleDir() });
    expect(r.steps.map((s) => [s.version, s.downRestores, s.upRepeatable, s.error])).toEqual([
      [18, true, true, undefined],
    ]);
    expect(r.ok).toBe(true);
    expect(await scalar(url, 'SELECT version FROM schema_migrations')).toBe('17');
    expect(await scalar(url, "SELECT to_regclass('public.campaign_analytics')")).toBeNull();
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a down that forgets to drop a column fails verify, naming the column', async () => {
    const url = await v2Database();
    const dir = await exampleDir();
    await writeFile(
      path.join(dir, '000018_add_campaign_analytics.down.sql'),
      "SET lock_timeout = '5s';\nDROP TABLE campaign_analytics;\nALTER TABLE campaigns DROP COLUMN analytics_enabled;\n",
    );
    const r = await verifyMigrations(url, { dir });
    expect(r.ok).toBe(false);
    const step = r.steps[0]!;
    expect(step.downRestores).toBe(false);
    expect(step.downDiff.join('\n')).toContain('analytics_config');

    const cli = await dfc(['--json', '--database-url', url, 'migrate', 'verify', dir]);
    expect(cli.code).toBe(1);
    expect(lastJson(cli.stdout)).toMatchObject({ event: 'verify.result', ok: false, migrations: 1 });
  });
});
