-- 000018_add_campaign_analytics.up.sql
-- Purpose: add analytics tracking to campaigns (the guide's "Example Future Migration").
--   Adapted: the guide's first line, SELECT safety.create_incremental_backup('latest', '000018_pre_migration'),
--   is left out: the backup belongs to the runner, not to the file it protects. `dfc migrate up` takes that
--   incremental backup before the first file (unless --no-backup). Also added: lock_timeout and a data
--   validation step.
-- Risk: low. Two new columns (nullable / constant default) and a new table; nothing the service reads changes.
-- Expected locks:
--   ACCESS EXCLUSIVE on campaigns for the two ADD COLUMNs (catalog only: a constant default does not rewrite);
--   SHARE ROW EXCLUSIVE on campaigns while campaign_analytics' FOREIGN KEY is created;
--   SHARE UPDATE EXCLUSIVE on campaign_analytics (new and empty) for the concurrent index;
--   EXCLUSIVE on campaign_statistics during the concurrent refresh (reads continue).
-- Rollback notes: 000018_add_campaign_analytics.down.sql drops the table and both columns; the analytics
--   recorded since are lost.

SET lock_timeout = '5s';

-- == Change ==
ALTER TABLE campaigns
  ADD COLUMN analytics_enabled BOOLEAN DEFAULT FALSE,
  ADD COLUMN analytics_config JSONB;

CREATE TABLE campaign_analytics (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  metric_name TEXT NOT NULL,
  metric_value NUMERIC,
  recorded_at TIMESTAMPTZ DEFAULT NOW()
);

-- dfc-lint-ignore: concurrently-multi-statement applied with `dfc migrate up`, which runs this file one statement at a time
CREATE INDEX CONCURRENTLY idx_campaign_analytics_campaign_time
  ON campaign_analytics (campaign_id, recorded_at DESC);

REFRESH MATERIALIZED VIEW CONCURRENTLY campaign_statistics;

-- == Data validation ==
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM campaigns WHERE analytics_enabled IS NULL) THEN
    RAISE EXCEPTION 'campaigns.analytics_enabled is NULL on existing rows';
  END IF;
END
$$;
