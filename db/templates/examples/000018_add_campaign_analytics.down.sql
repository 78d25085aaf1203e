-- 000018_add_campaign_analytics.down.sql
-- Reverses 000018_add_campaign_analytics.up.sql. Rollback notes: the analytics recorded since are lost.

SET lock_timeout = '5s';

-- == Down steps ==
DROP TABLE campaign_analytics;

ALTER TABLE campaigns
  DROP COLUMN analytics_config,
  DROP COLUMN analytics_enabled;
