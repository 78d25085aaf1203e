-- 000009_add_performance_indexes (down)
-- Outside a transaction, one statement at a time.

DROP FUNCTION IF EXISTS refresh_campaign_statistics();

DROP INDEX CONCURRENTLY IF EXISTS idx_campaigns_user_status_type;

DROP INDEX CONCURRENTLY IF EXISTS idx_campaigns_user_status_created;
