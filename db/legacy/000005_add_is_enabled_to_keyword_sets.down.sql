-- 000005_add_is_enabled_to_keyword_sets (down)

ALTER TABLE keyword_sets DROP COLUMN is_enabled;
