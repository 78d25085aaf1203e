/**
 * The guide's "Installation and Setup" section and its Appendix queries, run verbatim before any
 * consolidation: on a legacy database after `dfc setup`, and on a fresh `dfc install`. Table-driven:
 * a guide call that lands later is one more row in GUIDE.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOOKKEEPING_DIR, ensureBookkeeping, loadBookkeepingFiles } from '../../src/bookkeeping.js';
import { withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { installV2 } from '../../src/install.js';
import { readCatalog } from '../../src/schema/catalog.js';
import { setupBookkeeping } from '../../src/setup.js';
import { catalogChecksum, dataChecksums } from '../helpers/checksums.js';
import { freshDatabase } from '../helpers/db.js';
import { APPENDIX_PERFORMANCE_COMPARISON } from '../helpers/guide-sql.js';

type Where = 'legacy' | 'v2';

interface GuideCase {
  /** guide section the SQL is copied from */
  section: string;
  /** verbatim from the guide */
  sql: string;
  /** where it must run; elsewhere it must fail with `otherwise` */
  on?: Where[];
  otherwise?: RegExp;
  /** what the result must show beyond "it ran" (last statement's result) */
  check?: (r: pg.QueryResult, where: Where) => void;
}

const GUIDE: GuideCase[] = [
  {
    section: '2. Setup Safety and Monitoring: integrity monitoring',
    sql: 'SELECT safety.setup_standard_integrity_checks();',
    check: (r) =>
      expect(r.rows[0].setup_standard_integrity_checks.added).toContain('orphaned_generated_domains'),
  },
  {
    section: '2. Setup Safety and Monitoring: thresholds',
    sql: 'SELECT monitoring.setup_default_alert_thresholds();',
    check: (r) => expect(r.rows[0].setup_default_alert_thresholds.total).toBeGreaterThan(3),
  },
  {
    section: '2. Setup Safety and Monitoring: emergency procedures',
    sql: 'SELECT safety.setup_default_emergency_procedures();',
  },
  {
    section: '2. Setup Safety and Monitoring: emergency contacts',
    sql: `INSERT INTO safety.emergency_contacts 
(contact_name, contact_role, contact_method, contact_details, escalation_level)
VALUES 
('Your DBA', 'dba', 'email', 'dba@yourcompany.com', 1);`,
    check: (r) => expect(r.rowCount).toBe(1),
  },
  {
    section: 'Step 1: Pre-Migration Validation',
    sql: 'SELECT consolidation.validate_current_schema();',
    // legacy: ready; v2: already consolidated — either way the guide's fields are there
    check: (r, where) =>
      expect(r.rows[0].validate_current_schema.ready_for_consolidation).toBe(where === 'legacy'),
  },
  {
    section: 'Real-Time Monitoring: integrity status',
    sql: 'SELECT safety.get_integrity_status();',
    check: (r) => expect(r.rows[0].get_integrity_status.errors).toBe(0),
  },
  {
    section: 'Real-Time Monitoring: emergency dashboard',
    sql: 'SELECT * FROM safety.emergency_dashboard ORDER BY incident_timestamp DESC LIMIT 5;',
  },
  {
    section: 'Step 2: Create Pre-Consolidation Backup',
    sql: 'SELECT safety.create_pre_consolidation_backup();',
    check: (r) => expect(Number(r.rows[0].create_pre_consolidation_backup.tables)).toBeGreaterThan(10),
  },
  {
    section: 'Step 2: Verify backup integrity (the placeholder name is not a backup)',
    sql: "SELECT safety.verify_backup_integrity('pre_consolidation_YYYYMMDD_HHMMSS');",
    on: [],
    otherwise: /no backup named "pre_consolidation_YYYYMMDD_HHMMSS"/,
  },
  {
    section: 'Rollback Procedures: Emergency Rollback (no rollback point before any cutover)',
    sql: `SELECT safety.initiate_emergency_rollback(
  'Critical performance degradation detected',
  false  -- Set to true to force rollback without validation
);`,
    on: [],
    otherwise: /CONSOLIDATION_05: no valid rollback point/,
  },
  {
    section: 'Troubleshooting 3: Connection Exhaustion',
    sql: `SELECT safety.execute_emergency_response(
  'system_failure', 'critical', 
  'Connection exhaustion during migration', true
);`,
    check: (r) =>
      expect(r.rows[0].execute_emergency_response).toMatchObject({
        procedure: 'connection_exhaustion',
        response_status: 'responding',
      }),
  },
  {
    section: 'Real-Time Monitoring: migration dashboard',
    sql: 'SELECT * FROM monitoring.migration_dashboard ORDER BY metric_timestamp DESC LIMIT 10;',
  },
  {
    section: 'Performance Monitoring: latest summary',
    sql: `SELECT * FROM benchmarks.latest_performance_summary 
WHERE schema_version = 'post_consolidation';`,
  },
  {
    section: 'Appendix: Check Migration Status',
    sql: `SELECT 
  version_number,
  version_name,
  consolidation_completed,
  performance_improvement_percentage
FROM schema_version_info 
ORDER BY baseline_date DESC;`,
    // schema_version_info is a v2 table in public: it arrives with cutover. `dfc setup` creates
    // nothing outside dfc's own schemas, so on legacy the query names a table that is not there yet.
    on: ['v2'],
    otherwise: /relation "schema_version_info" does not exist/,
    check: (r) => expect(r.rows[0]).toMatchObject({ version_number: '2.0', consolidation_completed: true }),
  },
  {
    section: 'Appendix: Monitor Active Operations',
    sql: `SELECT 
  operation_timestamp,
  migration_phase,
  operation_type,
  operation_target,
  operation_status,
  duration_seconds
FROM monitoring.migration_operations 
WHERE operation_timestamp > NOW() - INTERVAL '1 hour'
ORDER BY operation_timestamp DESC;`,
    check: (r) => expect(r.fields.map((f) => f.name)).toContain('operation_status'),
  },
  {
    section: 'Appendix: Performance Comparison',
    sql: APPENDIX_PERFORMANCE_COMPARISON,
    check: (r) => expect(r.fields.map((f) => f.name)).toContain('performance_status'),
  },
  {
    section: 'Manual Rollback: list rollback points',
    sql: 'SELECT consolidation.list_rollback_points();',
    check: (r) => expect(r.rowCount).toBe(0),
  },
  {
    section: 'Manual Rollback: test rollback procedure (no such point before any cutover)',
    sql: "SELECT consolidation.test_rollback_procedure('rollback_YYYYMMDD_HHMMSS');",
    on: [],
    otherwise: /CONSOLIDATION_05: rollback point rollback_YYYYMMDD_HHMMSS does not exist/,
  },
  {
    section: 'Manual Rollback: execute rollback (no such point before any cutover)',
    sql: `SELECT consolidation.execute_emergency_rollback(
  'rollback_YYYYMMDD_HHMMSS',
  'Planned rollback due to [reason]'
);`,
    on: [],
    otherwise: /CONSOLIDATION_05/,
  },
  {
    section: 'Regular Maintenance: rollback point retention',
    sql: 'SELECT safety.cleanup_old_rollback_points(30); -- 30 day retention',
    check: (r) => expect(r.rows[0].cleanup_old_rollback_points).toEqual({ dropped: [], open_windows: [] }),
  },
  {
    section: 'Troubleshooting: clean up backup tables',
    sql: "SELECT consolidation.cleanup_backup_tables('backup_suffix');",
    check: (r) => expect(r.rows[0].cleanup_backup_tables).toEqual({ dropped: [] }),
  },
];

const lastResult = (r: pg.QueryResult | pg.QueryResult[]) => (Array.isArray(r) ? r.at(-1)! : r);

/** Every schema, and public/auth in detail with their rows: what setup must leave alone. */
async function outsideToolSchemas(url: string) {
  return withClient(url, async (c) => ({
    schemas: (
      await c.query(
        `SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('consolidation', 'monitoring', 'safety', 'benchmarks') ORDER BY 1`,
      )
    ).rows,
    extensions: (await c.query('SELECT extname, extversion FROM pg_extension ORDER BY 1')).rows,
    catalog: await readCatalog(c, ['public', 'auth']),
    data: Object.fromEntries(
      Object.entries(await dataChecksums(url)).filter(([k]) => /^(public|auth)\./.test(k)),
    ),
  }));
}

describe("the guide's Installation and Setup section before any consolidation", () => {
  const dbs: Record<Where, string> = { legacy: '', v2: '' };

  beforeAll(async () => {
    dbs.legacy = await freshDatabase('legacy');
    const untouched = await outsideToolSchemas(dbs.legacy);
    const r = await setupBookkeeping(dbs.legacy);
    expect(r).toMatchObject({ schema: 'legacy', migrationVersion: 17, checksumMismatches: [] });
    expect(r.applied).toEqual(loadBookkeepingFiles().map((f) => f.version));
    expect(await outsideToolSchemas(dbs.legacy)).toEqual(untouched);
    dbs.v2 = await freshDatabase('empty');
    const i = await installV2(dbs.v2);
    expect(i.bookkeepingVersion).toBe(loadBookkeepingFiles().at(-1)!.version);
  });

  for (const where of ['legacy', 'v2'] as const)
    describe(where === 'legacy' ? 'legacy 000017 after dfc setup' : 'fresh dfc install', () => {
      // in guide order: later rows read what earlier rows set up
      for (const g of GUIDE)
        it(g.section, async () => {
          await withClient(dbs[where], async (c) => {
            if (g.on && !g.on.includes(where)) {
              await expect(c.query(g.sql)).rejects.toThrow(g.otherwise!);
              return;
            }
            const r = lastResult(await c.query(g.sql));
            g.check?.(r, where);
          });
        });
    });
});

describe('dfc setup', () => {
  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    const url = await freshDatabase('legacy');
    await setupBookkeeping(url);
    const before = await catalogChecksum(url);
    const again = await setupBookkeeping(url);
    expect(again.applied).toEqual([]);
    expect(again.validateFunctionReplaced).toBe(false);
    expect(await catalogChecksum(url)).toBe(before);
  });

  it('upgrades in place: engine state made by the unversioned releases is adopted with its rows', async () => {
    const url = await freshDatabase('legacy');
    // a database an older dfc touched: bookkeeping 1-4 recorded, engine tables made ad hoc
    const old = mkdtempSync(path.join(tmpdir(), 'dfc-bk-'));
    for (const f of readdirSync(BOOKKEEPING_DIR).filter((f) => /^000[1-4]_/.test(f)))
      copyFileSync(path.join(BOOKKEEPING_DIR, f), path.join(old, f));
    const engineDdl = loadBookkeepingFiles().find((f) => f.name === 'engine_state')!.sql;
    await withClient(url, async (c) => {
      await ensureBookkeeping(c, old);
      await c.query(engineDdl);
      await c.query(
        `INSERT INTO consolidation.engine_runs (state, steps_done) VALUES ('backfilling', '{shadow:create}')`,
      );
    });
    const r = await setupBookkeeping(url);
    expect(r.applied).toEqual(
      loadBookkeepingFiles()
        .map((f) => f.version)
        .filter((v) => v > 4),
    );
    await withClient(url, async (c) => {
      const runs = await c.query('SELECT state, steps_done FROM consolidation.engine_runs');
      expect(runs.rows).toEqual([{ state: 'backfilling', steps_done: ['shadow:create'] }]);
    });
  });

  const refusals: {
    name: string;
    prepare: (url: string) => Promise<void>;
    template?: 'none';
    code: string;
    message: RegExp;
  }[] = [
    {
      name: 'a database that is not DomainFlow',
      template: 'none',
      prepare: async () => {},
      code: 'CONSOLIDATION_01',
      message: /not a DomainFlow database/,
    },
    {
      name: 'a migration version dfc does not know (000018)',
      prepare: (url) =>
        withClient(url, (c) => c.query('UPDATE schema_migrations SET version = 18')).then(() => {}),
      code: 'CONSOLIDATION_01',
      message: /migration 18, which dfc does not know/,
    },
    {
      name: 'a version the history never had (000003)',
      prepare: (url) =>
        withClient(url, (c) => c.query('UPDATE schema_migrations SET version = 3')).then(() => {}),
      code: 'CONSOLIDATION_01',
      message: /migration 3, which dfc does not know/,
    },
    {
      name: 'a dirty migration state',
      prepare: (url) =>
        withClient(url, (c) => c.query('UPDATE schema_migrations SET dirty = true')).then(() => {}),
      code: 'DFC_DIRTY',
      message: /failed part-way/,
    },
    {
      name: 'a schema of ours made by other tooling',
      prepare: (url) =>
        withClient(url, (c) =>
          c.query('CREATE SCHEMA safety; CREATE TABLE safety.emergency_contacts (id int)'),
        ).then(() => {}),
      code: 'DFC_CONFIG',
      message: /schema safety exists but was not created by dfc/,
    },
  ];
  for (const x of refusals)
    it(`refuses ${x.name} with ${x.code} and changes nothing`, async () => {
      const url = await freshDatabase(x.template ?? 'legacy');
      await x.prepare(url);
      const before = await catalogChecksum(url);
      const e = await setupBookkeeping(url).catch((err) => err);
      expect(e).toBeInstanceOf(DfcError);
      expect(e.code).toBe(x.code);
      expect(e.message).toMatch(x.message);
      expect(e.message).toContain('nothing was changed');
      expect(e.fix.length).toBeGreaterThan(10);
      expect(await catalogChecksum(url)).toBe(before);
    });

  it('the CLI: dfc setup --json reports what it applied; a refusal exits 1 with the code and fix', async () => {
    const run = promisify(execFile);
    const bin = path.resolve(import.meta.dirname, '../../bin/dfc.js');
    const dfc = (args: string[]) =>
      run(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '' } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const url = await freshDatabase('legacy');
    const ok = await dfc(['--database-url', url, '--json', 'setup']);
    expect(ok.code).toBe(0);
    const ev = JSON.parse(ok.stdout.trim().split('\n').at(-1)!);
    expect(ev).toMatchObject({ event: 'setup.done', schema: 'legacy', migrationVersion: 17 });
    expect(ev.applied).toEqual(loadBookkeepingFiles().map((f) => f.version));
    expect(ok.stdout).not.toContain(new URL(url).password || '\u0000');
    const bad = await dfc(['--database-url', await freshDatabase('none'), 'setup']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error CONSOLIDATION_01: this is not a DomainFlow database/m);
    expect(bad.stderr).toMatch(/fix: .*dfc install/);
  });
});
