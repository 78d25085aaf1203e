import { describe, expect, it } from 'vitest';
import { ensureBookkeeping, loadBookkeepingFiles, recordOperation } from '../../src/bookkeeping.js';
import { connect, withClient } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { adminUrl, freshDatabase } from '../helpers/db.js';
import { APPENDIX_PERFORMANCE_COMPARISON } from '../helpers/guide-sql.js';

/** Everything the bookkeeping schemas define, as one comparable string. */
const BOOKKEEPING_CATALOG = `
SELECT md5(string_agg(x, E'\\n' ORDER BY x)) AS h, count(*) AS n FROM (
  SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('consolidation', 'monitoring', 'safety', 'benchmarks')
  UNION ALL
  SELECT 'col ' || c.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('consolidation', 'monitoring', 'safety', 'benchmarks') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'con ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
   WHERE n.nspname IN ('consolidation', 'monitoring', 'safety', 'benchmarks')
  UNION ALL
  SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname IN ('consolidation', 'monitoring', 'safety', 'benchmarks')
  UNION ALL
  SELECT 'ver ' || version || ' ' || checksum FROM consolidation.bookkeeping_version
) s`;

const catalogOf = (url: string) =>
  withClient(url, async (c) => (await c.query<{ h: string; n: string }>(BOOKKEEPING_CATALOG)).rows[0]!);

/** Every shipped version, in order (other releases add files; each must be applied once). */
const SHIPPED = loadBookkeepingFiles().map((f) => f.version);

describe('ensureBookkeeping', () => {
  it('a connection lost while installing is DFC_CONNECTION (re-run), not a broken bookkeeping file', async () => {
    const url = await freshDatabase('legacy');
    const c = await connect(url, 'dfc-bk-lost');
    try {
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await withClient(adminUrl(), (a) => a.query('SELECT pg_terminate_backend($1)', [pid]));
      const err = await ensureBookkeeping(c).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DfcError);
      expect((err as DfcError).code).toBe('DFC_CONNECTION');
    } finally {
      await c.end().catch(() => {});
    }
  });

  it('installs every numbered file once; a second run changes nothing', async () => {
    const url = await freshDatabase('legacy');
    const files = loadBookkeepingFiles();
    expect(files.map((f) => f.version).slice(0, 5)).toEqual([1, 2, 3, 4, 5]);

    const first = await withClient(url, (c) => ensureBookkeeping(c));
    expect(first.applied).toEqual(SHIPPED);
    expect(first.version).toBe(SHIPPED.at(-1));
    expect(first.checksumMismatches).toEqual([]);
    expect(first.validateFunctionReplaced).toBe(true);
    const before = await catalogOf(url);
    expect(Number(before.n)).toBeGreaterThan(100);

    const second = await withClient(url, (c) => ensureBookkeeping(c));
    expect(second.applied).toEqual([]);
    expect(second.validateFunctionReplaced).toBe(false);
    expect(await catalogOf(url)).toEqual(before);
  });

  it('serialises concurrent installs: each file is applied exactly once', async () => {
    const url = await freshDatabase('legacy');
    const results = await Promise.all([1, 2, 3].map(() => withClient(url, (c) => ensureBookkeeping(c))));
    expect(results.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(SHIPPED);
    const rows = await withClient(url, (c) =>
      c.query('SELECT version FROM consolidation.bookkeeping_version ORDER BY version'),
    );
    expect(rows.rows.map((r) => r.version)).toEqual(SHIPPED);
  });

  it('reports a released file whose text changed instead of re-applying it', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, async (c) => {
      await ensureBookkeeping(c);
      await c.query(`UPDATE consolidation.bookkeeping_version SET checksum = 'edited' WHERE version = 2`);
      const r = await ensureBookkeeping(c);
      expect(r.applied).toEqual([]);
      expect(r.checksumMismatches).toEqual([{ version: 2, name: 'monitoring' }]);
    });
  });

  it('refuses to mix with a schema of the same name left by other tooling, and applies nothing of that file', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, async (c) => {
      await c.query('CREATE SCHEMA safety; CREATE TABLE safety.emergency_contacts (id int)');
      await expect(ensureBookkeeping(c)).rejects.toMatchObject({ code: 'DFC_MIGRATION' });
      const v = await c.query('SELECT version FROM consolidation.bookkeeping_version ORDER BY version');
      expect(v.rows.map((r) => r.version)).toEqual([1, 2]);
      const t = await c.query(`SELECT to_regclass('safety.backup_registry') AS t`);
      expect(t.rows[0].t).toBeNull();
    });
  });
});

describe("the guide's setup calls and queries, unchanged", () => {
  it('setup functions insert defaults once and are idempotent', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, async (c) => {
      await ensureBookkeeping(c);
      // guide "2. Setup Safety and Monitoring", verbatim
      const guide = `
-- Setup integrity monitoring
SELECT safety.setup_standard_integrity_checks();

-- Setup monitoring thresholds
SELECT monitoring.setup_default_alert_thresholds();

-- Setup emergency procedures
SELECT safety.setup_default_emergency_procedures();

-- Setup emergency contacts (customize as needed)
INSERT INTO safety.emergency_contacts 
(contact_name, contact_role, contact_method, contact_details, escalation_level)
VALUES 
('Your DBA', 'dba', 'email', 'dba@yourcompany.com', 1);
`;
      const res = (await c.query(guide)) as unknown as { rows: Record<string, unknown>[] }[];
      expect(res).toHaveLength(4);
      const integrity = res[0]!.rows[0]!.setup_standard_integrity_checks as {
        added: string[];
        total: number;
      };
      expect(integrity.added).toContain('orphaned_generated_domains');
      expect(integrity.total).toBe(integrity.added.length);
      const counts = async () =>
        (
          await c.query(`SELECT (SELECT count(*) FROM safety.integrity_monitoring) AS i,
                                (SELECT count(*) FROM monitoring.alert_thresholds) AS a,
                                (SELECT count(*) FROM safety.emergency_procedures) AS p`)
        ).rows[0];
      const once = await counts();
      expect(Number(once.i)).toBeGreaterThan(3);
      expect(Number(once.a)).toBeGreaterThan(3);
      expect(Number(once.p)).toBeGreaterThan(3);
      const again = await c.query('SELECT monitoring.setup_default_alert_thresholds() AS r');
      expect(again.rows[0].r.added).toEqual([]);
      expect(again.rows[0].r.total).toBe(Number(once.a));
      await c.query(
        'SELECT safety.setup_standard_integrity_checks(); SELECT safety.setup_default_emergency_procedures()',
      );
      expect(await counts()).toEqual(once);

      // the integrity checks run on legacy data; a dangling domain (FKs bypassed) is found
      const ok = await c.query('SELECT safety.get_integrity_status() AS s');
      expect(ok.rows[0].s.errors).toBe(0);
      expect(ok.rows[0].s.with_violations).toBe(0);
      await c.query(`SET session_replication_role = replica;
        INSERT INTO generated_domains (domain_generation_campaign_id, domain_name) VALUES (gen_random_uuid(), 'lost.example');
        SET session_replication_role = origin`);
      const bad = await c.query('SELECT safety.get_integrity_status() AS s');
      expect(bad.rows[0].s.errors).toBe(0);
      // found twice: by the standard orphan check and by the anti-join generated for its foreign key (0012)
      expect(bad.rows[0].s.with_violations).toBe(2);
      expect(bad.rows[0].s.critical_violations).toBe(2);
      expect(
        bad.rows[0].s.details
          .filter((d: { violations: number }) => d.violations > 0)
          .map((d: { check: string }) => d.check),
      ).toEqual([
        'fk_orphans:public.generated_domains.generated_domains_domain_generation_campaign_id_fkey',
        'orphaned_generated_domains',
      ]);

      // guide "Real-Time Monitoring", verbatim
      await c.query(`SELECT monitoring.collect_system_metrics('preparation')`);
      const dash = await c.query(
        'SELECT * FROM monitoring.migration_dashboard ORDER BY metric_timestamp DESC LIMIT 10;',
      );
      expect(dash.rows).toHaveLength(1);
      expect(dash.rows[0].migration_phase).toBe('preparation');
      await c.query(
        `INSERT INTO safety.emergency_response_log (incident_type, severity_level, description, procedure_name)
         VALUES ('performance', 'high', 'slow backfill', 'performance_degradation')`,
      );
      const em = await c.query(
        'SELECT * FROM safety.emergency_dashboard ORDER BY incident_timestamp DESC LIMIT 5;',
      );
      expect(em.rows).toHaveLength(1);
      expect(em.rows[0].open_incidents).toBe('1');
      expect(em.rows[0].contacts_to_notify).toEqual([
        { name: 'Your DBA', role: 'dba', method: 'email', details: 'dba@yourcompany.com' },
      ]);
    });
  });

  it('alert thresholds raise warnings and criticals from a metrics snapshot', async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, async (c) => {
      await ensureBookkeeping(c);
      await c.query('SELECT monitoring.setup_default_alert_thresholds()');
      const m = await c.query(
        `INSERT INTO monitoring.system_metrics (waiting_locks, buffer_cache_hit_ratio, deadlocks)
         VALUES (30, 90, 0) RETURNING id`,
      );
      const alerts = await c.query('SELECT monitoring.check_alert_thresholds($1) AS a', [m.rows[0].id]);
      expect(alerts.rows[0].a).toEqual([
        { metric: 'buffer_cache_hit_ratio', value: 90, severity: 'warning', threshold: 95 },
        { metric: 'waiting_locks', value: 30, severity: 'critical', threshold: 25 },
      ]);
      const dash = await c.query(
        'SELECT warning_alerts, critical_alerts FROM monitoring.migration_dashboard',
      );
      expect(dash.rows[0]).toEqual({ warning_alerts: '1', critical_alerts: '1' });
    });
  });

  it("the appendix queries 'Monitor Active Operations' and 'Performance Comparison' return what was recorded", async () => {
    const url = await freshDatabase('legacy');
    await withClient(url, async (c) => {
      await ensureBookkeeping(c);
      await recordOperation(c, {
        phase: 'backfill',
        type: 'data_copy',
        target: 'public.campaigns',
        status: 'completed',
        durationSeconds: 1.25,
        details: { rows: 10 },
      });
      await recordOperation(c, {
        runId: 7,
        phase: 'cutover',
        type: 'cutover',
        target: 'all',
        status: 'started',
      });
      const ops = await c.query(`SELECT 
  operation_timestamp,
  migration_phase,
  operation_type,
  operation_target,
  operation_status,
  duration_seconds
FROM monitoring.migration_operations 
WHERE operation_timestamp > NOW() - INTERVAL '1 hour'
ORDER BY operation_timestamp DESC;`);
      expect(ops.rows.map((r) => [r.migration_phase, r.operation_status, r.duration_seconds])).toEqual(
        expect.arrayContaining([
          ['backfill', 'completed', '1.250'],
          ['cutover', 'started', null],
        ]),
      );
      expect(ops.rows).toHaveLength(2);
      await expect(
        recordOperation(c, { phase: 'x', type: 'y', target: 'z', status: 'bogus' as 'started' }),
      ).rejects.toThrow(/check constraint/);

      const suite = async (version: string, times: Record<string, number>) => {
        const s = await c.query(
          `INSERT INTO benchmarks.test_suites (suite_name, schema_version, total_tests, passed_tests)
           VALUES ('guide', $1, $2, $2) RETURNING suite_id`,
          [version, Object.keys(times).length],
        );
        for (const [name, ms] of Object.entries(times))
          await c.query(
            'INSERT INTO benchmarks.performance_tests (suite_id, test_name, execution_time_ms) VALUES ($1, $2, $3)',
            [s.rows[0].suite_id, name, ms],
          );
        return s.rows[0].suite_id as string;
      };
      const pre = await suite('pre_consolidation', { dns_queue: 60, job_list: 10, user_lookup: 1 });
      const post = await suite('post_consolidation', { dns_queue: 1, job_list: 11, user_lookup: 1 });
      const cmp = await c.query('SELECT benchmarks.compare_performance($1, $2) AS r', [pre, post]);
      expect(cmp.rows[0].r.test_comparisons).toHaveLength(3);

      const appendix = await c.query(APPENDIX_PERFORMANCE_COMPARISON);
      // the guide's LIMIT 1 keeps one element of the latest comparison; it runs and reads our columns
      expect(appendix.rows).toHaveLength(1);
      const expected: Record<string, [number, string]> = {
        dns_queue: [98.33, 'improved'],
        job_list: [-10, 'regressed'],
        user_lookup: [0, 'unchanged'],
      };
      const row = appendix.rows[0];
      expect(Object.keys(expected)).toContain(row.test_name);
      expect([Number(row.improvement_percentage), row.performance_status]).toEqual(expected[row.test_name]);
      expect(cmp.rows[0].r.overall_improvement_percentage).toBeCloseTo(81.69, 2);

      const summary = await c.query(`SELECT * FROM benchmarks.latest_performance_summary 
WHERE schema_version = 'post_consolidation';`);
      expect(summary.rows).toHaveLength(1);
      expect(summary.rows[0].suite_id).toBe(post);
      expect(Number(summary.rows[0].total_execution_time_ms)).toBe(13);
    });
  });
});
