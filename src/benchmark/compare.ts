/**
 * `dfc benchmark compare A B` and `dfc benchmark list`. The comparison itself is the SQL function
 * benchmarks.compare_performance (db/bookkeeping/0020): one implementation for the guide's SQL and
 * the command. Labels name the newest suite of that label.
 */
import type pg from 'pg';
import { ensureBookkeeping } from '../bookkeeping.js';
import { withClient } from '../db/connection.js';
import { DfcError, sqlstate } from '../errors.js';
import { checkLabel } from './run.js';

export interface TestComparison {
  test_name: string;
  test_category: string | null;
  pre_consolidation_ms: number;
  post_consolidation_ms: number;
  ratio: number | null;
  /** which rule decided: 'time' (beyond the noise band), 'buffers' (work), 'same work', 'within noise' */
  basis: string;
  noise_band_ms: number;
  pre_shared_buffers: number | null;
  post_shared_buffers: number | null;
  improvement_percentage: number | null;
  performance_status: 'improved' | 'regressed' | 'unchanged';
}

export interface Comparison {
  baseline: string;
  comparison: string;
  baselineSuiteId: string;
  comparisonSuiteId: string;
  tests: TestComparison[];
  overallImprovementPercentage: number | null;
  /** summed p50 of the comparison suite over the baseline's (tests present in both) */
  summedRatio: number | null;
}

export interface SuiteListing {
  suite_id: string;
  label: string;
  layout: string | null;
  started_at: string;
  total_tests: number;
  passed_tests: number;
  total_p50_ms: number | null;
  data_size: Record<string, number> | null;
}

async function suiteId(c: pg.ClientBase, label: string): Promise<string> {
  checkLabel(label);
  const r = await c.query<{ suite_id: string }>(
    `SELECT suite_id FROM benchmarks.test_suites WHERE suite_name = $1 AND completed_at IS NOT NULL
      ORDER BY started_at DESC LIMIT 1`,
    [label],
  );
  if (!r.rows[0])
    throw new DfcError('DFC_CONFIG', `no completed benchmark suite labelled "${label}"`, {
      fix: `run dfc benchmark run ${label} first, or pick a label from dfc benchmark list`,
    });
  return r.rows[0].suite_id;
}

export async function compareBenchmarks(
  url: string,
  baseline: string,
  comparison: string,
): Promise<Comparison> {
  return withClient(url, async (c) => {
    await ensureBookkeeping(c);
    const a = await suiteId(c, baseline);
    const b = await suiteId(c, comparison);
    let result: { test_comparisons: TestComparison[]; overall_improvement_percentage: number | null };
    try {
      const r = await c.query('SELECT benchmarks.compare_performance($1, $2) AS r', [a, b]);
      result = r.rows[0].r;
    } catch (e) {
      if (sqlstate(e) === '22000')
        throw new DfcError(
          'DFC_CONFIG',
          `suites "${baseline}" and "${comparison}" ${(e as Error).message.replace(/^benchmark suites /, '')}`,
          {
            fix: 'compare suites measured on the same data: run dfc benchmark run again for the side whose data changed',
            cause: e,
          },
        );
      throw e;
    }
    const tests = result.test_comparisons;
    const pre = tests.reduce((s, t) => s + Number(t.pre_consolidation_ms), 0);
    const post = tests.reduce((s, t) => s + Number(t.post_consolidation_ms), 0);
    return {
      baseline,
      comparison,
      baselineSuiteId: a,
      comparisonSuiteId: b,
      tests,
      overallImprovementPercentage: result.overall_improvement_percentage,
      summedRatio: pre > 0 ? post / pre : null,
    };
  });
}

export async function listBenchmarks(url: string): Promise<SuiteListing[]> {
  return withClient(url, async (c) => {
    await ensureBookkeeping(c);
    const r = await c.query<SuiteListing>(
      `SELECT s.suite_id, s.suite_name AS label, s.details ->> 'layout' AS layout, s.started_at, s.total_tests,
              s.passed_tests, (SELECT round(sum(t.execution_time_ms), 3)::float8 FROM benchmarks.performance_tests t
                                WHERE t.suite_id = s.suite_id AND t.status = 'passed') AS total_p50_ms,
              s.details -> 'data_size' AS data_size
         FROM benchmarks.test_suites s ORDER BY s.started_at DESC`,
    );
    return r.rows;
  });
}
