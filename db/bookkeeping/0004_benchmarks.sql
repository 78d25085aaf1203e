-- dfc bookkeeping 0004: the `benchmarks` schema — suites of timed queries, per-test results, and
-- comparisons between two suites (the guide's appendix "Performance Comparison" reads
-- performance_comparisons.comparison_results->'test_comparisons').

-- Plain CREATE SCHEMA: a schema of that name left by other tooling must stop the install, not be
-- silently mixed with ours.
CREATE SCHEMA benchmarks;

CREATE TABLE benchmarks.test_suites (
  suite_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  suite_name     text NOT NULL,
  -- the guide's labels: pre_consolidation | post_consolidation (free text allowed)
  schema_version text NOT NULL,
  run_id         bigint,
  started_at     timestamptz NOT NULL DEFAULT now(),
  completed_at   timestamptz,
  total_tests    integer NOT NULL DEFAULT 0 CHECK (total_tests >= 0),
  passed_tests   integer NOT NULL DEFAULT 0 CHECK (passed_tests >= 0),
  failed_tests   integer NOT NULL DEFAULT 0 CHECK (failed_tests >= 0),
  details        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX test_suites_version ON benchmarks.test_suites (schema_version, started_at DESC);

CREATE TABLE benchmarks.performance_tests (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  suite_id          uuid NOT NULL REFERENCES benchmarks.test_suites (suite_id) ON DELETE CASCADE,
  test_name         text NOT NULL,
  test_category     text,
  query_text        text,
  -- median of the iterations; min/max kept to show the spread
  execution_time_ms numeric(14, 3),
  min_time_ms       numeric(14, 3),
  max_time_ms       numeric(14, 3),
  iterations        integer NOT NULL DEFAULT 1 CHECK (iterations > 0),
  rows_returned     bigint,
  plan              jsonb,
  status            text NOT NULL DEFAULT 'passed' CHECK (status IN ('passed', 'failed', 'error')),
  error_message     text,
  executed_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (suite_id, test_name)
);

CREATE TABLE benchmarks.performance_comparisons (
  comparison_id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  baseline_suite_id              uuid NOT NULL REFERENCES benchmarks.test_suites (suite_id) ON DELETE CASCADE,
  comparison_suite_id            uuid NOT NULL REFERENCES benchmarks.test_suites (suite_id) ON DELETE CASCADE,
  created_at                     timestamptz NOT NULL DEFAULT now(),
  -- {"test_comparisons": [{"test_name", "pre_consolidation_ms", "post_consolidation_ms",
  --   "improvement_percentage", "performance_status"}], ...}
  comparison_results             jsonb NOT NULL,
  overall_improvement_percentage numeric(7, 2),
  CHECK (jsonb_typeof(comparison_results -> 'test_comparisons') = 'array')
);
CREATE INDEX performance_comparisons_created ON benchmarks.performance_comparisons (created_at DESC);

-- The newest suite of each schema_version with its timing figures.
CREATE VIEW benchmarks.latest_performance_summary AS
SELECT s.schema_version,
       s.suite_id,
       s.suite_name,
       s.started_at,
       s.completed_at,
       s.total_tests,
       s.passed_tests,
       s.failed_tests,
       round(avg(t.execution_time_ms), 3) AS avg_execution_time_ms,
       round(min(t.execution_time_ms), 3) AS min_execution_time_ms,
       round(max(t.execution_time_ms), 3) AS max_execution_time_ms,
       round(sum(t.execution_time_ms), 3) AS total_execution_time_ms
  FROM (SELECT DISTINCT ON (schema_version) * FROM benchmarks.test_suites
         ORDER BY schema_version, started_at DESC, suite_id) s
  LEFT JOIN benchmarks.performance_tests t ON t.suite_id = s.suite_id AND t.status = 'passed'
 GROUP BY s.schema_version, s.suite_id, s.suite_name, s.started_at, s.completed_at,
          s.total_tests, s.passed_tests, s.failed_tests;

-- Guide: SELECT benchmarks.compare_performance(baseline_suite, comparison_suite);
-- Pairs the tests by name; ±5 % is noise ('unchanged'). Stores and returns the comparison.
CREATE FUNCTION benchmarks.compare_performance(p_baseline_suite_id uuid, p_comparison_suite_id uuid)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tests jsonb;
  v_overall numeric;
  v_result jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM benchmarks.test_suites WHERE suite_id = p_baseline_suite_id)
     OR NOT EXISTS (SELECT 1 FROM benchmarks.test_suites WHERE suite_id = p_comparison_suite_id) THEN
    RAISE EXCEPTION 'benchmark suite not found: % or %', p_baseline_suite_id, p_comparison_suite_id
      USING HINT = 'list suites with SELECT suite_id, schema_version, started_at FROM benchmarks.test_suites';
  END IF;
  WITH pairs AS (
    SELECT b.test_name, b.execution_time_ms AS pre_ms, c.execution_time_ms AS post_ms,
           round(100 * (b.execution_time_ms - c.execution_time_ms) / nullif(b.execution_time_ms, 0), 2) AS pct
      FROM benchmarks.performance_tests b
      JOIN benchmarks.performance_tests c ON c.test_name = b.test_name AND c.suite_id = p_comparison_suite_id
     WHERE b.suite_id = p_baseline_suite_id AND b.status = 'passed' AND c.status = 'passed'
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'test_name', test_name,
           'pre_consolidation_ms', pre_ms,
           'post_consolidation_ms', post_ms,
           'improvement_percentage', pct,
           'performance_status', CASE WHEN pct > 5 THEN 'improved' WHEN pct < -5 THEN 'regressed' ELSE 'unchanged' END)
         ORDER BY test_name), '[]'),
         round(100 * (sum(pre_ms) - sum(post_ms)) / nullif(sum(pre_ms), 0), 2)
    INTO v_tests, v_overall
    FROM pairs;
  v_result := jsonb_build_object('baseline_suite_id', p_baseline_suite_id,
                                 'comparison_suite_id', p_comparison_suite_id,
                                 'test_comparisons', v_tests,
                                 'overall_improvement_percentage', v_overall);
  INSERT INTO benchmarks.performance_comparisons (baseline_suite_id, comparison_suite_id, comparison_results,
                                                  overall_improvement_percentage)
  VALUES (p_baseline_suite_id, p_comparison_suite_id, v_result, v_overall);
  RETURN v_result;
END $$;
