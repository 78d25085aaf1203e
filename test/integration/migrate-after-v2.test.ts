/**
 * Life after v2: `migrate new` numbering, and the runner on a database `dfc install` made (version
 * 17, no file for it) with a directory of 000018+ only: the guide's example applies under live
 * traffic with 0 failed writes and a clean ledger, every file is recorded in
 * monitoring.migration_operations, and a failed file leaves (V, dirty) until `force`.
 */
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { installV2 } from '../../src/install.js';
import { newMigration } from '../../src/migrate/new.js';
import {
  forceVersion,
  type MigrateEvent,
  migrateDown,
  migrateUp,
  migrationStatus,
  TEMPLATES_DIR,
} from '../../src/migrate/runner.js';
import { createBackup, listBackups } from '../../src/safety/backup.js';
import { verifyLedger } from '../../workload/ledger.js';
import { startTraffic } from '../../workload/traffic.js';
import { dfc, lastJson } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

const EXAMPLES = path.join(TEMPLATES_DIR, 'examples');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function v2Database(): Promise<string> {
  const url = await freshDatabase('empty', 'mv2');
  await installV2(url);
  return url;
}

async function rows<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(text, values)).rows as T[]);
}

const version = (url: string) =>
  rows<{ version: string; dirty: boolean }>(url, 'SELECT version, dirty FROM schema_migrations').then((r) =>
    r.map((x) => ({ version: Number(x.version), dirty: x.dirty })),
  );

async function failure(p: Promise<unknown>): Promise<DfcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DfcError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

async function exampleDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dfc-after-v2-'));
  await cp(EXAMPLES, dir, { recursive: true });
  return dir;
}

describe('migrate new', () => {
  it('numbers after the baseline, after an existing 000018, and after the database version', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-new-'));
    const a = await newMigration({ title: 'Add campaign analytics!', dir });
    expect(a.version).toBe(18);
    expect(path.basename(a.up)).toBe('000018_add_campaign_analytics.up.sql');
    expect(path.basename(a.down)).toBe('000018_add_campaign_analytics.down.sql');
    const up = await readFile(a.up, 'utf8');
    for (const h of ['Purpose: Add campaign analytics!', 'Risk:', 'Expected locks:', 'Rollback notes:'])
      expect(up).toContain(h);
    for (const s of ['== Change ==', '== Data validation ==']) expect(up).toContain(s);
    expect(await readFile(a.down, 'utf8')).toContain('== Down steps ==');

    const b = await newMigration({ title: 'second', dir });
    expect(b.version).toBe(19);

    // the database is ahead of the files (another branch applied 20): continue after it
    const url = await v2Database();
    await forceVersion(url, 20);
    const c = await newMigration({ title: 'third', dir, url });
    expect(c).toMatchObject({ version: 21, after: { database: 20, highestFile: 19 } });
    expect((await readdir(dir)).sort()).toHaveLength(6);

    // the template lints clean as created
    const lint = await dfc(['--json', 'migrate', 'lint', dir]);
    expect(lint.code).toBe(0);
    expect(lastJson(lint.stdout)).toMatchObject({ event: 'lint.result', errors: 0, files: 6 });
  });

  it('refuses a title with nothing to name a file with', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-new-'));
    const e = await failure(newMigration({ title: '!!!', dir }));
    expect(e.code).toBe('DFC_CONFIG');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('the runner after consolidation (directory of 000018+ on a v2 database)', () => {
  it('applies the guide’s example under live traffic after an incremental backup: 0 failed writes, clean ledger, recorded', async () => {
    const url = await v2Database();
    await createBackup(url, { name: 'base_full' });
    const dir = await exampleDir();
    const ledgerDir = await mkdtemp(path.join(tmpdir(), 'dfc-after-v2-ledger-'));
    const ledgerPath = path.join(ledgerDir, 'ledger.jsonl');
    const lint = await dfc(['--json', 'migrate', 'lint', dir]);
    expect(lint.code).toBe(0);

    const before = await migrationStatus(url, { dir });
    expect(before).toMatchObject({ version: 17, known: true, baseline: 17 });
    expect(before.pending.map((p) => p.version)).toEqual([18]);

    const traffic = startTraffic(url, { rate: 80, durationMs: 600_000, ledgerPath, seed: 5 });
    await sleep(2000);
    traffic.markPhase('migrate');
    const events: MigrateEvent[] = [];
    const r = await migrateUp(url, { dir, onEvent: (e) => events.push(e) });
    traffic.markPhase('after');
    await sleep(1500);
    traffic.stop();
    const report = await traffic.done;

    expect(r).toMatchObject({ from: 17, to: 18, backup: { taken: true } });
    expect(events.some((e) => e.type === 'backup.done')).toBe(true);
    expect(r.backup?.name).toMatch(/^pre_migration_18_/);
    const inc = (await listBackups(url)).find((b) => b.backup_id === r.backup?.name);
    expect(inc).toMatchObject({ backup_type: 'incremental', base: 'base_full' });
    expect(await version(url)).toEqual([{ version: 18, dirty: false }]);
    expect(report.failedWrites).toBe(0);
    expect(report.writes).toBeGreaterThan(50);
    expect(
      (report.opCounts.campaign_create?.ok ?? 0) + (report.opCounts.campaign_status?.ok ?? 0),
    ).toBeGreaterThan(0);
    const v = await verifyLedger(url, ledgerPath);
    expect(v.mismatches).toEqual([]);

    const [idx] = await rows<{ valid: boolean }>(
      url,
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.idx_campaign_analytics_campaign_time'::regclass`,
    );
    expect(idx?.valid).toBe(true);
    const ops = await rows<{ operation_type: string; operation_target: string; operation_status: string }>(
      url,
      `SELECT operation_type, operation_target, operation_status FROM monitoring.migration_operations
        WHERE migration_phase = 'migrate' ORDER BY id`,
    );
    expect(ops).toEqual([
      {
        operation_type: 'migration_up',
        operation_target: '000018_add_campaign_analytics.up.sql',
        operation_status: 'completed',
      },
    ]);

    // down returns to the baseline (17), not to "no version"
    const d = await migrateDown(url, { dir, backup: false });
    expect(d).toMatchObject({ from: 18, to: 17, backup: { taken: false } });
    expect(await version(url)).toEqual([{ version: 17, dirty: false }]);
    const [gone] = await rows<{ t: string | null }>(
      url,
      "SELECT to_regclass('public.campaign_analytics')::text AS t",
    );
    expect(gone?.t).toBeNull();
    const cols = await rows(
      url,
      `SELECT 1 FROM information_schema.columns WHERE table_name = 'campaigns' AND column_name LIKE 'analytics%'`,
    );
    expect(cols).toEqual([]);
  });

  it('a failed file leaves (V, dirty), is recorded as failed, and is recoverable with force', async () => {
    const url = await v2Database();
    const dir = await exampleDir();
    await writeFile(
      path.join(dir, '000019_bad.up.sql'),
      "SET lock_timeout = '5s';\nALTER TABLE campaigns ADD COLUMN note text;\nALTER TABLE campaigns ADD COLUMN oops no_such_type;\n",
    );
    await writeFile(path.join(dir, '000019_bad.down.sql'), 'ALTER TABLE campaigns DROP COLUMN note;\n');
    const e = await failure(migrateUp(url, { dir, backup: false }));
    expect(e.code).toBe('DFC_MIGRATION');
    expect(e.message).toMatch(/000019_bad\.up\.sql:3: type "no_such_type" does not exist/);
    expect(e.fix).toContain('dfc migrate force 18');
    expect(await version(url)).toEqual([{ version: 19, dirty: true }]);
    const failed = await rows<{ operation_target: string; error_message: string }>(
      url,
      `SELECT operation_target, error_message FROM monitoring.migration_operations WHERE operation_status = 'failed'`,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.operation_target).toBe('000019_bad.up.sql');

    const blocked = await failure(migrateUp(url, { dir, backup: false }));
    expect(blocked.code).toBe('DFC_DIRTY');

    // nothing of 000019 applied (one transaction): force back to 18, fix the file, up again
    const forced = await dfc(['--json', '--database-url', url, 'migrate', 'force', '18']);
    expect(forced.code).toBe(0);
    await writeFile(
      path.join(dir, '000019_bad.up.sql'),
      "SET lock_timeout = '5s';\nALTER TABLE campaigns ADD COLUMN note text;\n",
    );
    const r = await dfc(['--json', '--database-url', url, 'migrate', 'up', '--dir', dir, '--no-backup']);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({
      event: 'migrate.result',
      from: 18,
      to: 19,
      backup: { taken: false },
    });
    expect(await version(url)).toEqual([{ version: 19, dirty: false }]);
  });

  it('without a base backup (and without --no-backup) refuses with CONSOLIDATION_02 and applies nothing', async () => {
    const url = await v2Database();
    const e = await failure(migrateUp(url, { dir: await exampleDir() }));
    expect(e.code).toBe('CONSOLIDATION_02');
    expect(e.fix).toContain('dfc backup create');
    expect(e.fix).toContain('--no-backup');
    expect(await version(url)).toEqual([{ version: 17, dirty: false }]);
    const [t] = await rows<{ t: string | null }>(
      url,
      "SELECT to_regclass('public.campaign_analytics')::text AS t",
    );
    expect(t?.t).toBeNull();
  });

  it('refuses a directory that starts after 17 on a database with no version', async () => {
    const url = await freshDatabase('empty', 'mv2');
    const e = await failure(migrateUp(url, { dir: await exampleDir() }));
    expect(e.code).toBe('DFC_CONFIG');
    expect(e.message).toMatch(/has no migration version, but .* starts after version 17/);
    expect(e.fix).toContain('dfc install');
  });
});
