/** dfc benchmark: suites stored with sane figures, comparisons against measured noise, guide SQL. */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import {
  compareBenchmarks,
  consolidate,
  cutover,
  DfcError,
  listBenchmarks,
  monitorCheck,
  runBenchmark,
} from '../../src/index.js';
import { dfc } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

const QUICK = { iterations: 12, warmup: 2, budgetMs: 2000 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof DfcError ? `${e.code}: ${e.message}` : `not a DfcError: ${String(e)}`;
  }
  return 'no error';
}

describe('dfc benchmark', () => {
  it('stores a suite with sane figures, read-only on DomainFlow data, writes rolled back', async () => {
    const url = await freshDatabase('seeded', 'bench');
    const before = await withClient(url, (c) =>
      c.query('SELECT count(*)::int AS n, max(updated_at) AS u FROM campaigns'),
    );
    const suite = await runBenchmark(url, 'pre_consolidation', { ...QUICK, writes: true });
    expect(suite.layout).toBe('legacy');
    expect(suite.dataSize.generated_domains).toBe(2000);
    const names = suite.tests.map((t) => t.name);
    for (const n of [
      'dashboard_stats_by_user',
      'campaign_list_by_user_status',
      'domains_page[biggest]',
      'dns_work_queue[biggest]',
      'http_work_queue',
      'dns_results_page',
      'http_results_page',
      'session_validate',
      'permission_lookup',
      'audit_by_entity',
      'job_queue',
      'domains_insert_batch',
      'campaign_update_progress',
    ])
      expect(names).toContain(n);
    expect(suite.tests.filter((t) => t.status !== 'passed')).toEqual([]);
    await withClient(url, async (c) => {
      const r = await c.query(
        `SELECT t.* FROM benchmarks.performance_tests t JOIN benchmarks.test_suites s USING (suite_id)
          WHERE s.suite_name = 'pre_consolidation' AND s.completed_at IS NOT NULL`,
      );
      expect(r.rows.length).toBe(suite.tests.length);
      for (const t of r.rows) {
        const [p50, p95, mn, mx] = [t.execution_time_ms, t.p95_ms, t.min_time_ms, t.max_time_ms].map(Number);
        expect(mn).toBeGreaterThan(0);
        expect(mn).toBeLessThanOrEqual(p50!);
        expect(p50).toBeLessThanOrEqual(p95!);
        expect(p95).toBeLessThanOrEqual(mx!);
        expect(Number(t.iterations)).toBe(12);
        expect(Number(t.shared_buffers)).toBeGreaterThanOrEqual(0);
      }
      const page = r.rows.find((t) => t.test_name === 'domains_page[biggest]');
      expect(Number(page.rows_returned)).toBe(50);
      expect(Number(page.shared_buffers)).toBeGreaterThan(0);
      // the rolled-back writes left nothing behind
      const after = await c.query('SELECT count(*)::int AS n, max(updated_at) AS u FROM campaigns');
      expect(after.rows[0]).toEqual(before.rows[0]);
      const gd = await c.query(
        `SELECT count(*)::int AS n FROM generated_domains WHERE source_keyword = 'dfcbench'`,
      );
      expect(gd.rows[0].n).toBe(0);
    });
    const list = await listBenchmarks(url);
    expect(list[0]).toMatchObject({
      label: 'pre_consolidation',
      layout: 'legacy',
      passed_tests: suite.tests.length,
    });
  });

  it('classifies a query slowed by a dropped index as regressed and an untouched one as unchanged', async () => {
    const url = await freshDatabase('seeded', 'benchcmp');
    const only = ['domains_page[biggest]', 'session_validate'];
    // 30,000 more domains in the biggest campaign: without its index the page costs a scan of
    // them, a difference no load on the test machine can hide (2,000 rows could be)
    await withClient(url, (c) =>
      c.query(`INSERT INTO generated_domains
               SELECT (jsonb_populate_record(NULL::generated_domains, to_jsonb(g0) || jsonb_build_object(
                        'id', gen_random_uuid(), 'domain_name', 'bulk' || i || '.example', 'offset_index', m.m + i))).*
                 FROM (SELECT * FROM generated_domains WHERE domain_generation_campaign_id =
                        (SELECT domain_generation_campaign_id FROM generated_domains GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
                       LIMIT 1) g0,
                      (SELECT max(offset_index) AS m FROM generated_domains) m, generate_series(1, 30000) i;
               ANALYZE generated_domains`),
    );
    await runBenchmark(url, 'with_index', { ...QUICK, only });
    await withClient(url, async (c) => {
      // every index that can serve "WHERE campaign = $1 ORDER BY offset_index" (none backs a constraint)
      const idx = await c.query<{ i: string }>(
        `SELECT format('%I.%I', n.nspname, ic.relname) AS i FROM pg_index x
           JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
          WHERE x.indrelid = 'public.generated_domains'::regclass
            AND a.attname IN ('domain_generation_campaign_id', 'offset_index')
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)`,
      );
      expect(idx.rows.length).toBeGreaterThan(0);
      for (const r of idx.rows) await c.query(`DROP INDEX ${r.i}`);
    });
    await runBenchmark(url, 'without_index', { ...QUICK, only });
    const cmp = await compareBenchmarks(url, 'with_index', 'without_index');
    const by = Object.fromEntries(cmp.tests.map((t) => [t.test_name, t]));
    expect(by['domains_page[biggest]']!.performance_status).toBe('regressed');
    expect(by.session_validate!.performance_status).toBe('unchanged');
    expect(by['domains_page[biggest]']!.post_shared_buffers).toBeGreaterThan(
      Number(by['domains_page[biggest]']!.pre_shared_buffers),
    );
    // the guide's Appendix "Performance Comparison" reads the stored per-test fields
    const appendix = await withClient(url, (c) =>
      c.query(`SELECT test_name, pre_consolidation_ms, post_consolidation_ms, improvement_percentage, performance_status
        FROM (SELECT value->>'test_name' as test_name, (value->>'pre_consolidation_ms')::numeric as pre_consolidation_ms,
                     (value->>'post_consolidation_ms')::numeric as post_consolidation_ms,
                     (value->>'improvement_percentage')::numeric as improvement_percentage,
                     value->>'performance_status' as performance_status
                FROM benchmarks.performance_comparisons, jsonb_array_elements(comparison_results->'test_comparisons')
               ORDER BY created_at DESC) latest_comparison ORDER BY improvement_percentage DESC`),
    );
    expect(appendix.rows.map((r) => r.performance_status).sort()).toEqual(['regressed', 'unchanged']);
  });

  it('refuses unknown labels and suites of different data sizes with a coded error', async () => {
    const url = await freshDatabase('seeded', 'benchsize');
    const only = ['session_validate'];
    await runBenchmark(url, 'a', { ...QUICK, only });
    expect(await codeOf(compareBenchmarks(url, 'a', 'nope'))).toMatch(
      /^DFC_CONFIG: no completed benchmark suite labelled "nope"/,
    );
    await withClient(url, (c) =>
      c.query(`DELETE FROM generated_domains WHERE domain_generation_campaign_id =
                 (SELECT domain_generation_campaign_id FROM generated_domains GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)`),
    );
    await runBenchmark(url, 'b', { ...QUICK, only });
    expect(await codeOf(compareBenchmarks(url, 'a', 'b'))).toMatch(
      /^DFC_CONFIG: .*different data sizes \(generated_domains: 2000 vs \d+/,
    );
    const stored = await withClient(url, (c) =>
      c.query('SELECT count(*)::int AS n FROM benchmarks.performance_comparisons'),
    );
    expect(stored.rows[0].n).toBe(0);
    expect(await codeOf(runBenchmark(url, 'bad label; drop', QUICK))).toMatch(
      /^DFC_CONFIG: invalid benchmark label/,
    );
  });

  it('after consolidate + cutover: v2 suite, guide Appendix queries and dashboards return rows', async () => {
    const url = await freshDatabase('seeded', 'benchv2');
    await runBenchmark(url, 'pre_consolidation', QUICK);
    await consolidate(url, {});
    await monitorCheck(url, {});
    await cutover(url, {});
    const post = await runBenchmark(url, 'post_consolidation', QUICK);
    expect(post.layout).toBe('v2');
    const cmp = await compareBenchmarks(url, 'pre_consolidation', 'post_consolidation');
    expect(cmp.tests.length).toBe(post.tests.length);
    expect(cmp.summedRatio).toBeGreaterThan(0);
    await withClient(url, async (c) => {
      const status = await c.query(
        `SELECT version_number, version_name, consolidation_completed, performance_improvement_percentage
           FROM schema_version_info ORDER BY baseline_date DESC`,
      );
      expect(status.rows.length).toBeGreaterThan(0);
      expect(Number(status.rows[0].performance_improvement_percentage)).toBeCloseTo(
        Number(cmp.overallImprovementPercentage),
        1,
      );
      const ops = await c.query(
        `SELECT operation_timestamp, migration_phase, operation_type, operation_target, operation_status, duration_seconds
           FROM monitoring.migration_operations WHERE operation_timestamp > NOW() - INTERVAL '1 hour' ORDER BY operation_timestamp DESC`,
      );
      expect(ops.rows.length).toBeGreaterThan(0);
      const summary = await c.query(
        `SELECT * FROM benchmarks.latest_performance_summary WHERE schema_version = 'post_consolidation'`,
      );
      expect(summary.rows.length).toBe(1);
      const dash = await c.query(
        'SELECT * FROM monitoring.migration_dashboard ORDER BY metric_timestamp DESC LIMIT 10',
      );
      expect(dash.rows.length).toBeGreaterThan(0);
      expect(dash.rows[0].consolidation_progress_pct).not.toBeNull();
      const guide = await c
        .query(`SELECT benchmarks.run_comprehensive_benchmark('post_consolidation')`)
        .catch((e) => e);
      expect(guide.message).toMatch(/cannot run inside one SQL transaction/);
      expect(guide.hint).toMatch(/dfc benchmark run post_consolidation/);
    });
  });

  it('from the command line: run and list with --json, an unknown label exits 1 with DFC_CONFIG', async () => {
    const url = await freshDatabase('seeded', 'benchcli');
    const run = await dfc([
      '--database-url',
      url,
      '--json',
      'benchmark',
      'run',
      'cli_suite',
      '--only',
      'session_validate',
      '--iterations',
      '5',
    ]);
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['benchmark.test', 'benchmark.done']);
    expect(events[1]).toMatchObject({ label: 'cli_suite', layout: 'legacy' });
    const list = await dfc(['--database-url', url, '--json', 'benchmark', 'list']);
    expect(JSON.parse(list.stdout.trim())).toMatchObject({ event: 'benchmark.suite', label: 'cli_suite' });
    const bad = await dfc(['--database-url', url, 'benchmark', 'compare', 'cli_suite', 'missing']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error DFC_CONFIG: no completed benchmark suite labelled "missing"/m);
  });
});
