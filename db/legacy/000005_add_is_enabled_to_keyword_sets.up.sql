-- 000005_add_is_enabled_to_keyword_sets
-- Keyword sets can be switched off without deleting them. Existing rows become enabled.

ALTER TABLE keyword_sets ADD COLUMN IF NOT EXISTS is_enabled boolean NOT NULL DEFAULT true;
