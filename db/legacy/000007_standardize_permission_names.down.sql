-- 000007_standardize_permission_names (down)
-- Intentionally changes nothing. The up only rewrites rows that still carried dot-notation names,
-- and which rows those were is not recorded; rewriting every resource:action name back to dots
-- would create a state this database never had (000002 seeds resource:action). The schema is
-- unaffected either way.
SELECT 1 WHERE false;
