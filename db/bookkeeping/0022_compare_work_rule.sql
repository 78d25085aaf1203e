-- dfc bookkeeping 0022: compare_performance's work rule made conservative. Measured at 200,000
-- domains, dns_work_queue and http_work_queue touch 10-20x more (cached) buffers on v2 yet run
-- faster: twice the buffers alone is not a regression. Within the noise band, buffers now decide
-- only when the fastest runs moved the same way by at least 10 %; everything else as in 0020.

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
           b.min_time_ms AS pre_min, c.min_time_ms AS post_min,
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
           AND greatest(post_buf, pre_buf) >= 2 * greatest(least(post_buf, pre_buf), 1)
           -- more buffers is not always slower (index probes hit cached pages): the fastest runs,
           -- which load disturbs least, must move the same way by at least 10 %
           AND CASE WHEN post_buf > pre_buf THEN post_min >= 1.1 * pre_min ELSE post_min <= 0.9 * pre_min END
           THEN 'buffers'
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
           'pre_min_ms', pre_min, 'post_min_ms', post_min,
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

