/** The guide's Appendix queries, word for word (the guide itself lives outside this repository). */

/** Appendix: Performance Comparison — reads benchmarks.performance_comparisons */
export const APPENDIX_PERFORMANCE_COMPARISON = `SELECT 
  test_name,
  pre_consolidation_ms,
  post_consolidation_ms,
  improvement_percentage,
  performance_status
FROM (
  SELECT 
    value->>'test_name' as test_name,
    (value->>'pre_consolidation_ms')::numeric as pre_consolidation_ms,
    (value->>'post_consolidation_ms')::numeric as post_consolidation_ms,
    (value->>'improvement_percentage')::numeric as improvement_percentage,
    value->>'performance_status' as performance_status
  FROM benchmarks.performance_comparisons,
       jsonb_array_elements(comparison_results->'test_comparisons')
  ORDER BY created_at DESC
  LIMIT 1
) latest_comparison
ORDER BY improvement_percentage DESC;`;
