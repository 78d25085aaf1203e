/**
 * `dfc benchmark run LABEL`: time the suite of src/benchmark/cases.ts on the DBA's database and
 * store it in benchmarks.test_suites / performance_tests. Per test: one EXPLAIN (ANALYZE, BUFFERS)
 * for the plan and the shared buffers it touches (also the first warm-up), more warm-up runs, then
 * timed runs through the extended protocol with bind parameters (as the service sends them) until
 * `iterations` runs or the per-test budget is spent (never fewer than 5). Reads run as they are;
 * writes only with `writes: true`, each run inside BEGIN … ROLLBACK so nothing changes.
 */
import type pg from 'pg';
import { ensureBookkeeping } from '../bookkeeping.js';
import { withClient } from '../db/connection.js';
import { DfcError } from '../errors.js';
import { type BenchCase, dataSize, detectLayout, pickCases } from './cases.js';

export interface BenchmarkOptions {
  iterations?: number;
  warmup?: number;
  /** include the write batches (rolled back); default false: the run is read-only on DomainFlow data */
  writes?: boolean;
  /** stop timing a test after this many ms (once 5 runs are in) */
  budgetMs?: number;
  /** only the tests whose name starts with one of these */
  only?: string[];
  onTest?: (t: TestResult) => void;
}

export interface TestResult {
  name: string;
  category: string;
  about: string;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
  iqr: number;
  iterations: number;
  rows: number;
  sharedBuffers: number | null;
  status: 'passed' | 'error';
  error?: string;
}

export interface BenchmarkSuite {
  suiteId: string;
  label: string;
  layout: 'legacy' | 'v2';
  dataSize: Record<string, number>;
  tests: TestResult[];
  totalP50: number;
}

const LABEL_RE = /^[A-Za-z0-9_.:-]{1,100}$/;

export function checkLabel(label: string): void {
  if (!LABEL_RE.test(label))
    throw new DfcError('DFC_CONFIG', `invalid benchmark label "${label}"`, {
      fix: 'use 1-100 letters, digits, _ . : - (e.g. pre_consolidation)',
    });
}

export const quantile = (sorted: number[], q: number): number => {
  if (!sorted.length) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
};

interface PlanNode {
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
}

async function once(c: pg.ClientBase, k: BenchCase, text: string): Promise<pg.QueryResult> {
  if (k.kind === 'read') return c.query(text, k.params);
  await c.query('BEGIN');
  try {
    return await c.query(text, k.params);
  } finally {
    await c.query('ROLLBACK');
  }
}

async function measure(
  c: pg.ClientBase,
  k: BenchCase,
  o: Required<Omit<BenchmarkOptions, 'only' | 'onTest'>>,
) {
  const ex = await once(c, k, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${k.text}`);
  const plan = (ex.rows[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!;
  const top = plan.Plan;
  const sharedBuffers = (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0);
  for (let i = 0; i < o.warmup; i++) await once(c, k, k.text);
  const times: number[] = [];
  let rows = 0;
  const start = performance.now();
  while (times.length < o.iterations && (times.length < 5 || performance.now() - start < o.budgetMs)) {
    const t0 = performance.now();
    const r = await once(c, k, k.text);
    times.push(performance.now() - t0);
    rows = r.rowCount ?? r.rows.length;
  }
  const s = [...times].sort((a, b) => a - b);
  return {
    plan,
    sharedBuffers,
    rows,
    p50: quantile(s, 0.5),
    p95: quantile(s, 0.95),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    min: s[0]!,
    max: s.at(-1)!,
    iqr: quantile(s, 0.75) - quantile(s, 0.25),
    iterations: times.length,
  };
}

export async function runBenchmark(
  url: string,
  label: string,
  opts: BenchmarkOptions = {},
): Promise<BenchmarkSuite> {
  checkLabel(label);
  const o = {
    iterations: opts.iterations ?? 30,
    warmup: opts.warmup ?? 3,
    writes: opts.writes ?? false,
    budgetMs: opts.budgetMs ?? 5000,
  };
  if (!(o.iterations >= 5) || !(o.warmup >= 0))
    throw new DfcError('DFC_CONFIG', 'a suite needs at least 5 iterations and a non-negative warm-up', {
      fix: 'pass --iterations 5 or more',
    });
  return withClient(
    url,
    async (c) => {
      await ensureBookkeeping(c);
      const layout = await detectLayout(c);
      const size = await dataSize(c);
      let cases = await pickCases(c, { writes: o.writes });
      if (opts.only?.length) cases = cases.filter((k) => opts.only!.some((p) => k.name.startsWith(p)));
      if (!cases.length)
        throw new DfcError('DFC_CONFIG', 'the database holds no DomainFlow data to benchmark', {
          fix: 'run the suite on a DomainFlow database with campaigns and generated domains',
        });
      const server = await c.query<{ v: string }>('SHOW server_version');
      const suite = await c.query<{ suite_id: string }>(
        `INSERT INTO benchmarks.test_suites (suite_name, schema_version, details)
         VALUES ($1, $1, $2) RETURNING suite_id`,
        [label, { layout, data_size: size, options: o, server_version: server.rows[0]?.v }],
      );
      const suiteId = suite.rows[0]!.suite_id;
      const tests: TestResult[] = [];
      for (const k of cases) {
        let t: TestResult;
        try {
          const m = await measure(c, k, o);
          t = { name: k.name, category: k.category, about: k.about, status: 'passed', ...m };
          await c.query(
            `INSERT INTO benchmarks.performance_tests (suite_id, test_name, test_category, query_text,
               execution_time_ms, min_time_ms, max_time_ms, iterations, rows_returned, plan, status,
               p95_ms, mean_ms, iqr_ms, shared_buffers, parameters)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'passed', $11, $12, $13, $14, $15)`,
            [
              suiteId,
              k.name,
              k.category,
              k.text,
              m.p50,
              m.min,
              m.max,
              m.iterations,
              m.rows,
              m.plan,
              m.p95,
              m.mean,
              m.iqr,
              m.sharedBuffers,
              { about: k.about, kind: k.kind },
            ],
          );
        } catch (e) {
          if (k.kind === 'write') await c.query('ROLLBACK').catch(() => {});
          const msg = e instanceof Error ? e.message : String(e);
          const nan = Number.NaN;
          t = {
            name: k.name,
            category: k.category,
            about: k.about,
            status: 'error',
            error: msg,
            p50: nan,
            p95: nan,
            mean: nan,
            min: nan,
            max: nan,
            iqr: nan,
            iterations: 1,
            rows: 0,
            sharedBuffers: null,
          };
          await c.query(
            `INSERT INTO benchmarks.performance_tests (suite_id, test_name, test_category, query_text, status, error_message)
             VALUES ($1, $2, $3, $4, 'error', $5)`,
            [suiteId, k.name, k.category, k.text, msg],
          );
        }
        tests.push(t);
        opts.onTest?.(t);
      }
      const passed = tests.filter((t) => t.status === 'passed');
      await c.query(
        `UPDATE benchmarks.test_suites SET completed_at = now(), total_tests = $2, passed_tests = $3, failed_tests = $4
          WHERE suite_id = $1`,
        [suiteId, tests.length, passed.length, tests.length - passed.length],
      );
      return {
        suiteId,
        label,
        layout,
        dataSize: size,
        tests,
        totalP50: passed.reduce((a, t) => a + t.p50, 0),
      };
    },
    'dfc-benchmark',
  );
}
