-- dfc bookkeeping 0020: what `dfc benchmark run` records per test beyond the median (spread,
-- buffers, parameters), compare_performance judged against the measured noise and refusing suites
-- of different data sizes, and run_comprehensive_benchmark as a pointer to the command.

ALTER TABLE benchmarks.performance_tests
  ADD COLUMN p95_ms numeric(14, 3),
  ADD COLUMN mean_ms numeric(14, 3),
  -- interquartile range of the iterations: the run's own noise, used by compare_performance
  ADD COLUMN iqr_ms numeric(14, 3),
  -- shared buffers (hit + read) of one EXPLAIN (ANALYZE, BUFFERS): the work, independent of load
  ADD COLUMN shared_buffers bigint,
  ADD COLUMN parameters jsonb;

-- Suites must be comparable: same data within 2 % per table (a live service adds a few rows
-- between the two runs; a different seed or a deleted campaign is not "the same data").
CREATE FUNCTION benchmarks.data_size_difference(p_a uuid, p_b uuid)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(format('%s: %s vs %s', k, a.v, b.v), ', ' ORDER BY k)
    FROM (SELECT key AS k, value::bigint AS v FROM benchmarks.test_suites s,
                 jsonb_each_text(s.details -> 'data_size') WHERE s.suite_id = p_a) a
    FULL JOIN (SELECT key AS k, value::bigint AS v FROM benchmarks.test_suites s,
                      jsonb_each_text(s.details -> 'data_size') WHERE s.suite_id = p_b) b USING (k)
   WHERE a.v IS NULL OR b.v IS NULL OR abs(a.v - b.v) > greatest(0.02 * greatest(a.v, b.v), 5);
$$;

-- Guide step 7. Per test, in order: exactly the same shared buffers on both sides and a move of
-- less than 50 % is 'unchanged' (same work: the difference is the machine); medians further apart
-- than the noise band max(10 % of the baseline, 1.5 × the larger IQR, 0.02 ms) decide by time;
-- within that band, a plan doing at least twice the work (>= 16 more shared buffers, a count load
-- cannot move) decides by buffers; else 'unchanged'. 'basis' says which rule decided. Stores and
-- returns the comparison.
CREATE OR REPLACE FUNCTION benchmarks.compare_performance(p_baseline_suite_id uuid, p_comparison_suite_id uuid)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tests jsonb;
  v_overall numeric;
  v_result jsonb;
  v_diff text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM benchmarks.test_suites WHERE suite_id = p_baseline_suite_id)
     OR NOT EXISTS (SELECT 1 FROM benchmarks.test_suites WHERE suite_id = p_comparison_suite_id) THEN
    RAISE EXCEPTION 'benchmark suite not found: % or %', p_baseline_suite_id, p_comparison_suite_id
      USING HINT = 'list suites with dfc benchmark list', ERRCODE = 'no_data_found';
  END IF;
  v_diff := benchmarks.data_size_difference(p_baseline_suite_id, p_comparison_suite_id);
  IF v_diff IS NOT NULL THEN
    RAISE EXCEPTION 'benchmark suites were run on different data sizes (%)', v_diff
      USING HINT = 'compare suites run on the same data: run dfc benchmark run again on this database',
            ERRCODE = 'data_exception';
  END IF;
  WITH pairs AS (
    SELECT b.test_name, b.test_category, b.execution_time_ms AS pre_ms, c.execution_time_ms AS post_ms,
           b.shared_buffers AS pre_buf, c.shared_buffers AS post_buf,
           -- suites stored without a spread (hand-made, pre-0020) keep 0004's fixed ±5 %
           CASE WHEN b.iqr_ms IS NULL AND c.iqr_ms IS NULL THEN 0.05 * b.execution_time_ms
                ELSE greatest(0.10 * b.execution_time_ms, 1.5 * greatest(b.iqr_ms, c.iqr_ms, 0), 0.02) END AS band,
           round(100 * (b.execution_time_ms - c.execution_time_ms) / nullif(b.execution_time_ms, 0), 2) AS pct
      FROM benchmarks.performance_tests b
      JOIN benchmarks.performance_tests c ON c.test_name = b.test_name AND c.suite_id = p_comparison_suite_id
     WHERE b.suite_id = p_baseline_suite_id AND b.status = 'passed' AND c.status = 'passed'
  ), judged AS (
    SELECT *, CASE
      WHEN pre_buf IS NOT NULL AND pre_buf = post_buf AND abs(pct) < 50 THEN 'same work'
      WHEN abs(post_ms - pre_ms) > band THEN 'time'
      WHEN pre_buf IS NOT NULL AND post_buf IS NOT NULL AND abs(post_buf - pre_buf) >= 16
           AND greatest(post_buf, pre_buf) >= 2 * greatest(least(post_buf, pre_buf), 1) THEN 'buffers'
      ELSE 'within noise' END AS basis
      FROM pairs
  ), classified AS (
    SELECT *, CASE basis
      WHEN 'time' THEN CASE WHEN post_ms < pre_ms THEN 'improved' ELSE 'regressed' END
      WHEN 'buffers' THEN CASE WHEN post_buf < pre_buf THEN 'improved' ELSE 'regressed' END
      ELSE 'unchanged' END AS status
      FROM judged
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'test_name', test_name,
           'test_category', test_category,
           'pre_consolidation_ms', pre_ms,
           'post_consolidation_ms', post_ms,
           'ratio', round(post_ms / nullif(pre_ms, 0), 3),
           'noise_band_ms', round(band, 3),
           'pre_shared_buffers', pre_buf,
           'post_shared_buffers', post_buf,
           'improvement_percentage', pct,
           'performance_status', status,
           'basis', basis)
         ORDER BY test_name), '[]'),
         round(100 * (sum(pre_ms) - sum(post_ms)) / nullif(sum(pre_ms), 0), 2)
    INTO v_tests, v_overall
    FROM classified;
  v_result := jsonb_build_object('baseline_suite_id', p_baseline_suite_id,
                                 'comparison_suite_id', p_comparison_suite_id,
                                 'test_comparisons', v_tests,
                                 'overall_improvement_percentage', v_overall);
  INSERT INTO benchmarks.performance_comparisons (baseline_suite_id, comparison_suite_id, comparison_results,
                                                  overall_improvement_percentage)
  VALUES (p_baseline_suite_id, p_comparison_suite_id, v_result, v_overall);
  -- the guide's "Check Migration Status" reads the figure from here (v2 databases only)
  IF to_regclass('public.schema_version_info') IS NOT NULL AND v_overall IS NOT NULL THEN
    EXECUTE 'UPDATE public.schema_version_info SET performance_improvement_percentage = $1
              WHERE version_number = (SELECT version_number FROM public.schema_version_info
                                       ORDER BY baseline_date DESC LIMIT 1)'
      USING greatest(least(v_overall, 999.99), -999.99);
  END IF;
  RETURN v_result;
END $$;

-- Guide step 3/7. A suite cannot be measured correctly inside the caller's transaction: every
-- iteration must see the same committed data (writes rolled back one by one, outside any snapshot
-- the caller holds), the statements must run through the extended protocol with bind parameters
-- as the service sends them, and a long benchmark transaction would hold back vacuum mid-migration.
CREATE FUNCTION benchmarks.run_comprehensive_benchmark(p_label text)
RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'benchmarks.run_comprehensive_benchmark(%) cannot run inside one SQL transaction', p_label
    USING HINT = format('run: dfc benchmark run %s  (it stores the suite in benchmarks.test_suites; then dfc benchmark compare A B)', p_label),
          ERRCODE = 'feature_not_supported';
END $$;
